package esstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

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
		t.Cleanup(func() {
			c, err := es.NewClient(es.Config{Addresses: urls})
			if err != nil {
				t.Error(err)
				return
			}
			for _, index := range []string{cfg.IndexPrefix + "-webhook-subscriptions", cfg.IndexPrefix + "-webhook-deliveries"} {
				if res, err := (esapi.IndicesDeleteRequest{Index: []string{index}}).Do(context.Background(), c); err == nil {
					res.Body.Close()
				}
			}
		})
		return open(), open
	})
}
