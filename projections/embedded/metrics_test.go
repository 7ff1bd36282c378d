package embedded

import (
	"bufio"
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/storetest"
)

// scrape returns the samples reg exposes, by series as printed (name{labels}).
func scrape(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// The live stages report their groups and index writes: every applied call is counted in
// fangxin_views_group_events, and a search that waits for the indexer finds a write counted.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openWith(t, t.TempDir(), Options{Registerer: reg})
	defer s.Close()
	log := storetest.Fixture()
	if err := storetest.ApplyAll(context.Background(), s, log); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SearchEvents(context.Background(), projections.EventQuery{Q: "火锅"}); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, reg)
	for _, name := range []string{"fangxin_views_commit_seconds", "fangxin_views_group_events", "fangxin_views_index_seconds", "fangxin_views_index_documents"} {
		if m[name+"_count"] == 0 {
			t.Errorf("%s: no observation", name)
		}
	}
	if got := m["fangxin_views_group_events_sum"]; got != float64(len(log)) {
		t.Errorf("group_events counts %v calls, want %d", got, len(log))
	}
}
