package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/boltlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/projections/incidents"
)

// testNow is the test hub's clock for silences: the day of the example incident.
var testNow = time.Date(2018, 12, 24, 14, 0, 0, 0, time.FixedZone("CST", 8*3600))

// incidentView runs the incident projector of the test hub on its log.
func incidentView(t *testing.T, ctx context.Context, lg *boltlog.Log, logger *slog.Logger) incidents.Store {
	t.Helper()
	store, err := incidents.OpenBolt(filepath.Join(t.TempDir(), "incidents.db"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := lg.Subscriber(boltlog.SubscriberConfig{ConsumerGroup: incidents.Handler, CommitInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = incidents.Run(ctx, store, sub, logger) }()
	t.Cleanup(func() { cancel(); <-done; _ = store.Close() })
	return store
}

// TestOpenAPIIncidents: the incident and silence routes answer as openapi.json says, success and
// error, on a real log and incident view.
func TestOpenAPIIncidents(t *testing.T) {
	sp := loadSpec(t)
	h := newHub(t, gateway.Config{})
	amr, quality := testKeys["amr"], testKeys["quality"]

	// The hub's own lifecycle events, as the rule engine appends them.
	var msgs []*message.Message
	for _, typ := range []string{events.TypeIncidentDetected, events.TypeIncidentUpdated} {
		msgs = append(msgs, eventlog.ToMessage(events.Example(typ)))
	}
	if err := h.log.Publisher().Publish(eventlog.Topic, msgs...); err != nil {
		t.Fatal(err)
	}
	inc := events.Example(events.TypeIncidentDetected)
	var d events.IncidentDetected
	_ = json.Unmarshal(inc.Data, &d)

	var list gateway.IncidentsResponse
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b := h.call(t, sp, "GET", "/v1/incidents", "/v1/incidents", amr, nil, nil, 200)
		list = decode[gateway.IncidentsResponse](t, b)
		if len(list.Incidents) == 1 && list.Incidents[0].Sequence == 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(list.Incidents) != 1 || list.Incidents[0].Level != "II" || list.Incidents[0].Status != incidents.StatusOpen {
		t.Fatalf("incidents %+v", list)
	}
	// Live stream, opened once both are folded: it starts with what comes next, the resolution.
	streamed, connected := make(chan string, 1), make(chan struct{})
	go func() {
		req, _ := http.NewRequest("GET", h.url+"/v1/incidents/stream", nil)
		req.Header.Set("Authorization", "Bearer "+amr)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		close(connected) // the stream's starting point is fixed before its headers are sent
		if err != nil {
			streamed <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/event-stream") {
			streamed <- "status " + resp.Status + " " + ct
			return
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: ") {
				streamed <- strings.TrimPrefix(sc.Text(), "event: ")
				return
			}
		}
	}()

	for _, query := range []string{"?rule=complaint-burst&level=II&status=open&bureau=commerce&township=嘉陵街道&industry=R8930&limit=5",
		"?from=2018-12-24T00:00:00%2B08:00&to=2018-12-25T00:00:00%2B08:00&merchant=" + d.Merchant} {
		b := h.call(t, sp, "GET", "/v1/incidents", "/v1/incidents"+query, amr, nil, nil, 200)
		if got := decode[gateway.IncidentsResponse](t, b); len(got.Incidents) != 1 {
			t.Errorf("%s: %d incidents", query, len(got.Incidents))
		}
	}
	for _, query := range []string{"?level=V", "?status=closed", "?township=朝阳区", "?bureau=nobody", "?cursor=zzz", "?limit=0", "?merchant=123"} {
		h.call(t, sp, "GET", "/v1/incidents", "/v1/incidents"+query, amr, nil, nil, 400)
	}
	h.call(t, sp, "GET", "/v1/incidents", "/v1/incidents", "", nil, nil, 401)
	b := h.call(t, sp, "GET", "/v1/incidents/{id}", "/v1/incidents/"+d.IncidentID, quality, nil, nil, 200)
	if got := decode[incidents.Incident](t, b); got.Count != 52 || !got.Routed {
		t.Errorf("incident %+v", got)
	}
	h.call(t, sp, "GET", "/v1/incidents/{id}", "/v1/incidents/INC-nothing", amr, nil, nil, 404)

	<-connected
	resolved := events.Example(events.TypeIncidentResolved)
	if err := h.log.Publisher().Publish(eventlog.Topic, eventlog.ToMessage(resolved)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-streamed:
		if got != events.TypeIncidentResolved {
			t.Errorf("stream: %s, want %s", got, events.TypeIncidentResolved)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("the stream showed nothing within 60 s")
	}
	h.call(t, sp, "GET", "/v1/incidents/stream", "/v1/incidents/stream", amr, http.Header{"Last-Event-ID": {"x"}}, nil, 400)
	h.call(t, sp, "GET", "/v1/incidents/stream", "/v1/incidents/stream?bureau=nobody", amr, nil, nil, 400)

	// Silences.
	ok, _ := json.Marshal(map[string]any{"matchers": map[string]string{"merchant": d.Merchant}, "reason": "专班处置中", "duration": "72h"})
	b = h.call(t, sp, "POST", "/v1/silences", "/v1/silences", amr, ctHeader("application/json"), ok, 201)
	sil := decode[gateway.SilenceView](t, b)
	if !sil.Active || sil.CreatedBy != "amr" || !sil.EndsAt.Equal(testNow.Add(72*time.Hour)) {
		t.Errorf("silence %+v", sil)
	}
	for _, body := range []string{
		`{"matchers":{},"reason":"x","duration":"1h"}`,
		`{"matchers":{"rule":"x"},"reason":"","duration":"1h"}`,
		`{"matchers":{"rule":"x"},"reason":"x"}`,
		`{"matchers":{"rule":"x"},"reason":"x","duration":"800h"}`,
		`{"matchers":{"rule":"x"},"reason":"x","ends_at":"2018-12-01T00:00:00+08:00"}`,
		`{"matchers":{"township":"朝阳区"},"reason":"x","duration":"1h"}`,
	} {
		h.call(t, sp, "POST", "/v1/silences", "/v1/silences", amr, ctHeader("application/json"), []byte(body), 422)
	}
	h.call(t, sp, "POST", "/v1/silences", "/v1/silences", amr, ctHeader("application/json"), []byte(`{"matchers":`), 400)
	h.call(t, sp, "POST", "/v1/silences", "/v1/silences", amr, ctHeader("application/json"), []byte(`{"colour":"red"}`), 400)
	deadline = time.Now().Add(30 * time.Second)
	var silences struct {
		Silences []gateway.SilenceView `json:"silences"`
	}
	for time.Now().Before(deadline) && len(silences.Silences) == 0 {
		silences.Silences = nil
		_ = json.Unmarshal(h.call(t, sp, "GET", "/v1/silences", "/v1/silences", quality, nil, nil, 200), &silences)
		time.Sleep(50 * time.Millisecond)
	}
	if len(silences.Silences) != 1 || !silences.Silences[0].Active {
		t.Fatalf("silences %+v", silences)
	}
	path := "/v1/silences/" + url.PathEscape(sil.SilenceID)
	h.call(t, sp, "DELETE", "/v1/silences/{id}", path, quality, nil, nil, 403)
	h.call(t, sp, "DELETE", "/v1/silences/{id}", "/v1/silences/SIL-none", amr, nil, nil, 404)
	b = h.call(t, sp, "DELETE", "/v1/silences/{id}", path, amr, nil, nil, 200)
	if got := decode[gateway.SilenceView](t, b); got.Active || got.DeletedAt == nil {
		t.Errorf("deleted silence %+v", got)
	}
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r, _ := h.do(t, "DELETE", path, amr, nil, nil); r.StatusCode == 409 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.call(t, sp, "DELETE", "/v1/silences/{id}", path, amr, nil, nil, 409)
}
