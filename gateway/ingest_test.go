package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
)

// TestIngestCountsAcceptedEvents: a batch updates the accepted-events counter once per type
// with the number of events of that type it made durable, and never for a rejected one.
func TestIngestCountsAcceptedEvents(t *testing.T) {
	h := newHub(t, gateway.Config{})
	body := batch(t,
		variant(t, events.TypeMerchantRegistered, "count-1", "amr", events.DemoUSCC(101), nil),
		variant(t, events.TypePenaltyImposed, "count-2", "amr", events.DemoUSCC(101), nil),
		variant(t, events.TypeMerchantRegistered, "count-3", "amr", events.DemoUSCC(102), nil),
		variant(t, events.TypeMerchantRegistered, "count-4", "amr", events.DemoUSCC(103), map[string]any{"township": "nowhere"}),
	)
	resp, b := h.do(t, http.MethodPost, "/v1/events", testKeys["amr"], ctHeader(events.MediaTypeBatch), body)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("status %d, want 207\n%s", resp.StatusCode, b)
	}
	_, metrics := h.do(t, http.MethodGet, "/metrics", "", nil, nil)
	for _, want := range []string{
		`fangxin_ingest_events_accepted_total{bureau="amr",type="merchant.registered"} 2`,
		`fangxin_ingest_events_accepted_total{bureau="amr",type="penalty.imposed"} 1`,
		`fangxin_ingest_events_rejected_total{rule="township"} 1`,
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}
