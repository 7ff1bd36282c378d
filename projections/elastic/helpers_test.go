package elastic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// esURLs returns the Elasticsearch URLs the distributed tests run against. They run whenever
// FANGXIN_ELASTICSEARCH_URL is set, fail when it is not (a test that passes because its service
// was missing proves nothing), and are skipped only on an explicit FANGXIN_SKIP_DISTRIBUTED=1.
func esURLs(t testing.TB) []string {
	t.Helper()
	if os.Getenv("FANGXIN_SKIP_DISTRIBUTED") == "1" {
		t.Skip("FANGXIN_SKIP_DISTRIBUTED=1: Elasticsearch tests skipped")
	}
	v := os.Getenv(EnvURL)
	if v == "" {
		t.Fatalf("%s is not set: start Elasticsearch with `scripts/stack.sh up` and `eval \"$(scripts/stack.sh env)\"`, "+
			"or set FANGXIN_SKIP_DISTRIBUTED=1 to skip the distributed tests explicitly", EnvURL)
	}
	return strings.Split(v, ",")
}

// uniquePrefix is an index prefix no other test uses, so tests run in parallel.
func uniquePrefix(t testing.TB) string {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "fxt-" + hex.EncodeToString(b[:])
}

// testConfig is a config on a fresh prefix whose indices, aliases and templates are deleted when
// the test ends.
func testConfig(t testing.TB) Config {
	t.Helper()
	cfg := Config{URLs: esURLs(t), IndexPrefix: uniquePrefix(t), VisibleOnReturn: true}
	t.Cleanup(func() { dropPrefix(t, cfg.URLs, cfg.IndexPrefix) })
	return cfg
}

// rawClient is a plain client for what the tests check behind the store's back.
func rawClient(t testing.TB, urls []string) (*es.Client, func()) {
	t.Helper()
	tr := &http.Transport{}
	c, err := es.NewClient(es.Config{Addresses: urls, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	return c, tr.CloseIdleConnections
}

// dropPrefix deletes every index and the templates of prefix (by name: wildcard deletes are
// refused by default).
func dropPrefix(t testing.TB, urls []string, prefix string) {
	t.Helper()
	c, done := rawClient(t, urls)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range indicesOf(t, c, prefix) {
		res, err := esapi.IndicesDeleteRequest{Index: []string{name}}.Do(ctx, c)
		if err != nil {
			t.Errorf("cleanup: delete %s: %v", name, err)
			continue
		}
		res.Body.Close()
	}
	for _, name := range []string{aliasTimeline(prefix), aliasMerchants(prefix)} {
		res, err := esapi.IndicesDeleteIndexTemplateRequest{Name: name}.Do(ctx, c)
		if err == nil {
			res.Body.Close()
		}
	}
}

// indicesOf lists the indices of prefix.
func indicesOf(t testing.TB, c *es.Client, prefix string) []string {
	t.Helper()
	res, err := esapi.CatIndicesRequest{Index: []string{prefix + "-*"}, H: []string{"index"}, Format: "json"}.Do(context.Background(), c)
	if err != nil {
		t.Fatalf("cat indices: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var rows []struct {
		Index string `json:"index"`
	}
	if err := json.Unmarshal(body, &rows); err != nil {
		t.Fatalf("cat indices: %v: %s", err, body)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Index)
	}
	return out
}

func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
