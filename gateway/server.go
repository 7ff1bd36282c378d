// Package gateway is the hub's HTTP face: bureaus push CloudEvents, the joint meeting reads the
// shared view of every merchant, operators scrape metrics and probe health. It depends only on
// seams: a watermill Publisher for the log, ReadModel for the views, Keys for authentication.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config configures the gateway. Zero values take the defaults.
type Config struct {
	// MaxBodyBytes caps a POST /v1/events body (default 8 MiB).
	MaxBodyBytes int64
	// MaxBatchEvents caps the events of one batch (default 1000).
	MaxBatchEvents int
	// PublishTimeout bounds how long a push waits for the log to make events durable before it
	// answers 503 (default 10 s).
	PublishTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 8 << 20
	}
	if c.MaxBatchEvents == 0 {
		c.MaxBatchEvents = 1000
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 10 * time.Second
	}
}

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("gateway: MaxBodyBytes must be > 0"))
	}
	if c.MaxBatchEvents < 0 {
		errs = append(errs, errors.New("gateway: MaxBatchEvents must be > 0"))
	}
	if c.PublishTimeout < 0 {
		errs = append(errs, errors.New("gateway: PublishTimeout must be > 0"))
	}
	return errors.Join(errs...)
}

// Deps are what the gateway talks to. Publisher must meet eventlog's contract (durable on
// return). Ready reports whether the hub can serve (log and views open, projector running).
type Deps struct {
	Publisher  message.Publisher
	ReadModel  ReadModel
	Keys       Keys
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	Ready      func(context.Context) error
	// Webhooks, when set, serves /v1/subscriptions and /v1/deliveries.
	Webhooks Webhooks
	// Incidents, when set, serves /v1/incidents and /v1/silences (gateway/incidents.go).
	Incidents *IncidentDeps
	// Push are the push connectors served at POST /v1/connectors/{name}/push, by name.
	Push map[string]PushConnector
}

// Server serves the HTTP API. It is safe for concurrent use.
type Server struct {
	cfg     Config
	pub     message.Publisher
	rm      ReadModel
	keys    Keys
	log     *slog.Logger
	ready   func(context.Context) error
	mux     *http.ServeMux
	metrics *metrics
	// webhooks is nil when the hub runs without webhook delivery.
	webhooks Webhooks
	inc      IncidentDeps
	push     map[string]PushConnector
}

type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	ingested  *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	ackLaten  prometheus.Histogram
	unavailab prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{Namespace: "fangxin", Subsystem: "http",
			Name: "requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: "fangxin", Subsystem: "http",
			Name: "request_duration_seconds", Help: "HTTP request duration by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route"}),
		ingested: f.NewCounterVec(prometheus.CounterOpts{Namespace: "fangxin", Subsystem: "ingest",
			Name: "events_accepted_total", Help: "Events made durable in the log and acknowledged with 202."}, []string{"bureau", "type"}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{Namespace: "fangxin", Subsystem: "ingest",
			Name: "events_rejected_total", Help: "Events rejected, by the first rule they broke."}, []string{"rule"}),
		ackLaten: f.NewHistogram(prometheus.HistogramOpts{Namespace: "fangxin", Subsystem: "ingest",
			Name: "ack_seconds", Help: "Time from request to durable append (the 202).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5}}),
		unavailab: f.NewCounter(prometheus.CounterOpts{Namespace: "fangxin", Subsystem: "ingest",
			Name: "log_unavailable_total", Help: "Pushes answered 503 because the log could not make them durable."}),
	}
}

// New builds a Server.
func New(cfg Config, d Deps) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Publisher == nil || d.ReadModel == nil || d.Keys == nil || d.Logger == nil || d.Registerer == nil {
		return nil, errors.New("gateway: Publisher, ReadModel, Keys, Logger and Registerer are required")
	}
	if d.Ready == nil {
		d.Ready = func(context.Context) error { return nil }
	}
	s := &Server{cfg: cfg, pub: d.Publisher, rm: d.ReadModel, keys: d.Keys, log: d.Logger, ready: d.Ready,
		mux: http.NewServeMux(), metrics: newMetrics(d.Registerer), push: d.Push}
	s.route("POST /v1/events", s.authenticate(s.postEvents))
	s.route("GET /v1/merchants", s.authenticate(s.searchMerchants))
	s.route("GET /v1/merchants/{uscc}", s.authenticate(s.getMerchant))
	s.route("GET /v1/merchants/{uscc}/history", s.authenticate(s.getHistory))
	s.route("GET /v1/events", s.authenticate(s.searchEvents))
	s.route("GET /v1/unlinked", s.authenticate(s.getUnlinked))
	s.route("POST /v1/unlinked/{bureau}/{id}/link", s.authenticate(s.postLink))
	s.route("POST /v1/connectors/{name}/push", s.authenticate(s.postPush))
	s.route("GET /open311/v2/services.json", s.open311Services)
	s.route("GET /open311/v2/services/{file}", s.open311Definition)
	s.route("POST /open311/v2/requests.json", s.open311Post)
	s.route("GET /open311/v2/requests.json", s.open311List)
	s.route("GET /open311/v2/requests/{file}", s.open311Get)
	s.route("GET /v1/bureaus", s.getBureaus)
	s.route("GET /v1/schemas/{type}", s.getSchema)
	s.route("GET /v1/warnings/cap.xml", s.getWarningsFeed) // warnings.go
	s.route("GET /v1/warnings/{file}", s.getWarningCAP)    // {id}.cap.xml
	s.route("GET /openapi.json", s.getOpenAPI)
	if d.Webhooks != nil { // webhooks.go
		s.webhooks = d.Webhooks
		s.route("POST /v1/subscriptions", s.authenticate(s.postSubscription))
		s.route("GET /v1/subscriptions", s.authenticate(s.listSubscriptions))
		s.route("GET /v1/subscriptions/{id}", s.authenticate(s.getSubscription))
		s.route("DELETE /v1/subscriptions/{id}", s.authenticate(s.deleteSubscription))
		s.route("POST /v1/subscriptions/{id}/rotate-secret", s.authenticate(s.rotateSecret))
		s.route("GET /v1/deliveries", s.authenticate(s.listDeliveries))
		s.route("POST /v1/deliveries/{id}/redeliver", s.authenticate(s.redeliver))
	}
	s.route("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.route("GET /readyz", s.getReady)
	if d.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{}))
	}
	if d.Incidents != nil {
		s.registerIncidents(*d.Incidents)
	}
	s.route("GET /{$}", s.getConsole)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, problem(http.StatusNotFound, "not-found", "没有这个地址", "Not found",
			"请求的地址不存在，接口说明见 /openapi.json。"))
	})
	return s, nil
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.mux }

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) { r.code = code; r.ResponseWriter.WriteHeader(code) }
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// route registers h under pattern with metrics and panic recovery: a bug answers 500, it never
// takes the process down.
func (s *Server) route(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "route", pattern, "panic", v)
				writeProblem(rec, r, problem(http.StatusInternalServerError, "internal", "服务内部错误", "Internal error",
					"处理请求时发生内部错误，请稍后重试；问题已记录。"))
			}
			s.metrics.requests.WithLabelValues(pattern, statusText(rec.code)).Inc()
			s.metrics.duration.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
		}()
		h(rec, r)
	})
}

func statusText(code int) string {
	const digits = "0123456789"
	if code < 100 || code > 999 {
		return "other"
	}
	return string([]byte{digits[code/100], digits[code/10%10], digits[code%10]})
}

func (s *Server) getReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		writeProblem(w, r, problem(http.StatusServiceUnavailable, "not-ready", "服务尚未就绪", "Not ready", err.Error()))
		return
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}
