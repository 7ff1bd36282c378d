package esstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/lizhou/fangxin/delivery"
	"github.com/lizhou/fangxin/delivery/esstore"
	"github.com/lizhou/fangxin/delivery/storetest"
)

func esURLs(t *testing.T) []string {
	t.Helper()
	if os.Getenv("FANGXIN_SKIP_DISTRIBUTED") == "1" {
		t.Skip("FANGXIN_SKIP_DISTRIBUTED=1: Elasticsearch tests skipped")
	}
	v := os.Getenv("FANGXIN_ELASTICSEARCH_URL")
	if v == "" {
		t.Fatal("FANGXIN_ELASTICSEARCH_URL is not set: start Elasticsearch with `scripts/stack.sh up` and `eval \"$(scripts/stack.sh env)\"`, " +
			"or set FANGXIN_SKIP_DISTRIBUTED=1 to skip the distributed tests explicitly")
	}
	return strings.Split(v, ",")
}

func TestConformance(t *testing.T) {
	urls := esURLs(t)
	storetest.Run(t, func(t *testing.T) (delivery.Store, func() delivery.Store) {
		var b [5]byte
		_, _ = rand.Read(b[:])
		cfg := esstore.Config{URLs: urls, IndexPrefix: "fxt-wh-" + hex.EncodeToString(b[:])}
		open := func() delivery.Store {
			s, err := esstore.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		t.Cleanup(func() { dropIndices(t, urls, cfg.IndexPrefix) })
		return open(), open
	})
}

// Two projector replicas each hold their own client on the same indices: racing for the same
// deliveries, by search and by ID, they never both claim one.
func TestTwoClientsNeverClaimTheSame(t *testing.T) {
	urls := esURLs(t)
	var b [5]byte
	_, _ = rand.Read(b[:])
	cfg := esstore.Config{URLs: urls, IndexPrefix: "fxt-wh-" + hex.EncodeToString(b[:])}
	ctx := context.Background()
	var stores [2]delivery.Store
	for i := range stores {
		s, err := esstore.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	t.Cleanup(func() { dropIndices(t, urls, cfg.IndexPrefix) })
	now := time.Now().UTC()
	const n = 30
	for i := range n {
		key := fmt.Sprintf("/hub INC-%d", i)
		if _, err := stores[0].Enqueue(ctx, delivery.Delivery{ID: delivery.DeliveryID("sub_x", key), Subscription: "sub_x",
			EventKey: key, Payload: []byte(`{}`), CreatedAt: now, NextAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claims := map[string]int{}
	var wg sync.WaitGroup
	for r, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n { // by ID, as each replica does for what it enqueued…
				if r == 1 {
					i = n - 1 - i
				}
				if d, ok, err := s.ClaimID(ctx, delivery.DeliveryID("sub_x", fmt.Sprintf("/hub INC-%d", i)), now, time.Hour); err != nil {
					t.Error(err)
				} else if ok {
					mu.Lock()
					claims[d.ID]++
					mu.Unlock()
				}
			}
			for empty := 0; empty < 3; { // …and by search, as its workers poll
				cl, err := s.Claim(ctx, now, 4, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cl) == 0 {
					empty++
				}
				mu.Lock()
				for _, d := range cl {
					claims[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claims) != n {
		t.Errorf("%d of %d deliveries claimed", len(claims), n)
	}
	for id, c := range claims {
		if c != 1 {
			t.Errorf("delivery %s claimed %d times", id, c)
		}
	}
}

func dropIndices(t *testing.T, urls []string, prefix string) {
	c, err := es.NewClient(es.Config{Addresses: urls})
	if err != nil {
		t.Error(err)
		return
	}
	for _, index := range []string{prefix + "-webhook-subscriptions", prefix + "-webhook-deliveries"} {
		if res, err := (esapi.IndicesDeleteRequest{Index: []string{index}}).Do(context.Background(), c); err == nil {
			res.Body.Close()
		}
	}
}
