package incidents_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lizhou/fangxin/projections/incidents"
	"github.com/lizhou/fangxin/projections/incidents/incidentstest"
)

var esRun atomic.Int64

// TestElasticConformance runs the suite on the Elasticsearch of FANGXIN_ELASTICSEARCH_URL
// (skipped when unset), each store under its own index prefix, deleted afterwards.
func TestElasticConformance(t *testing.T) {
	url := os.Getenv("FANGXIN_ELASTICSEARCH_URL")
	if url == "" {
		t.Skip("FANGXIN_ELASTICSEARCH_URL is not set (eval \"$(scripts/stack.sh env)\")")
	}
	incidentstest.Run(t, func(t *testing.T) incidents.Store {
		prefix := fmt.Sprintf("test-incidents-%d-%d", time.Now().UnixNano(), esRun.Add(1))
		s, err := incidents.OpenElastic(context.Background(), incidents.ElasticConfig{URLs: strings.Split(url, ","), IndexPrefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, idx := range []string{"-incidents-v1", "-silences-v1", "-incident-feed-v1"} {
				req, _ := http.NewRequest(http.MethodDelete, strings.Split(url, ",")[0]+"/"+prefix+idx, nil)
				if res, err := http.DefaultClient.Do(req); err == nil {
					res.Body.Close()
				}
			}
		})
		return s
	})
}
