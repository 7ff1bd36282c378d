package gateway_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/internal/embeddedtest"
)

// BenchmarkIngest pushes batches of 500 complaints through the gateway's handler (decoding,
// validation, message conversion, the durable append to the embedded log) and, in the same
// process and on the same log, appends the same events bare (ToMessage and Publish, as
// fangxin-bench's baseline does). It reports ns/event for both and logs the gateway's rate as a
// share of the bare append rate.
func BenchmarkIngest(b *testing.B) {
	const perBatch = 500
	lg, store, dir := embeddedtest.Open(b)
	keys := gateway.OpenKeyFile(filepath.Join(dir, "keys.json"))
	if err := keys.Add("k-12315", "hotline-12315", nil, "bench"); err != nil {
		b.Fatal(err)
	}
	srv, err := gateway.New(gateway.Config{}, gateway.Deps{Publisher: lg.Publisher(), ReadModel: store, Keys: keys,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	handler := srv.Handler()

	seq := 0
	nextBatch := func() []events.Event {
		evs := make([]events.Event, perBatch)
		for i := range evs {
			seq++
			evs[i] = events.Example(events.TypeComplaintReceived)
			evs[i].ID = "bench-" + strconv.Itoa(seq)
			evs[i].Subject = events.DemoUSCC(seq % 1000)
		}
		return evs
	}
	perEvent := map[string]float64{}
	b.Run("gateway", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			body, err := events.EncodeBatch(nextBatch())
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
			req.Header.Set("Content-Type", events.MediaTypeBatch)
			req.Header.Set("Authorization", "Bearer k-12315")
			rec := httptest.NewRecorder()
			b.StartTimer()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted {
				b.Fatalf("status %d: %.300s", rec.Code, rec.Body)
			}
		}
		perEvent["gateway"] = float64(b.Elapsed()) / float64(b.N*perBatch)
		b.ReportMetric(perEvent["gateway"], "ns/event")
	})
	b.Run("bare-append", func(b *testing.B) {
		pub := lg.Publisher()
		for b.Loop() {
			b.StopTimer()
			evs := nextBatch()
			b.StartTimer()
			msgs := make([]*message.Message, len(evs))
			for i, ev := range evs {
				msgs[i] = eventlog.ToMessage(ev)
			}
			if err := pub.Publish(eventlog.Topic, msgs...); err != nil {
				b.Fatal(err)
			}
		}
		perEvent["bare"] = float64(b.Elapsed()) / float64(b.N*perBatch)
		b.ReportMetric(perEvent["bare"], "ns/event")
	})
	if g, bare := perEvent["gateway"], perEvent["bare"]; g > 0 && bare > 0 {
		b.Logf("gateway ingest: %.1f µs/event, bare append %.1f µs/event: the gateway runs at %.0f%% of the bare append rate",
			g/float64(time.Microsecond), bare/float64(time.Microsecond), 100*bare/g)
	}
}
