package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lizhou/fangxin/delivery"
	"github.com/lizhou/fangxin/demo"
	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/incidents"
	"github.com/lizhou/fangxin/projections/linking"
	"github.com/lizhou/fangxin/projections/rules"
)

// Deps are the process-wide things Run is given rather than creating: nothing global.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Stdout receives what a person starting the hub reads (URL, demo keys).
	Stdout io.Writer
	// Started, when set, is called with the bound address once the gateway listens.
	Started func(addr string)
	// Clock drives the rule engine's timers and the gateway's silences (default the wall
	// clock; tests give a rules.FileClock through FANGXIN_CLOCK_FILE).
	Clock rules.Clock
}

// logBackend is what the hub needs of a log beyond watermill's seam.
type logBackend interface {
	Publisher() message.Publisher
	// Subscriber reads as a member of consumer group group; want (nil: every event) picks the
	// events the group handles (eventlog.Interest).
	Subscriber(group string, want eventlog.Interest) (message.Subscriber, error)
	// Lag is how many messages the group has not committed yet.
	Lag(ctx context.Context, group string) (int64, error)
	// ResetGroup makes the group start again from the beginning of the log.
	ResetGroup(ctx context.Context, group string) error
	// Empty reports whether the log holds no event.
	Empty(ctx context.Context) (bool, error)
	Close() error
}

// viewsBackend is a read-model backend: the projector's Store and the gateway's ReadModel.
type viewsBackend interface {
	projections.Store
	gateway.ReadModel
	Close() error
}

// Run runs the hub until ctx is cancelled, then shuts down gracefully. It returns an error when
// the configuration is invalid or a backend cannot be opened.
func Run(ctx context.Context, cfg Config, d Deps) error {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if d.Stdout == nil {
		d.Stdout = io.Discard
	}
	lg, err := openLog(ctx, cfg, d)
	if err != nil {
		return err
	}
	defer lg.Close()

	views, err := openViews(ctx, cfg, d)
	if err != nil {
		return err
	}
	defer views.Close()

	hooks, err := openWebhooks(ctx, cfg, d)
	if err != nil {
		return err
	}
	defer hooks.Close()
	incStore, err := openIncidents(ctx, cfg, d)
	if err != nil {
		return err
	}
	defer incStore.Close()

	keys := gateway.OpenKeyFile(filepath.Join(cfg.DataDir, "keys.json"))
	if cfg.Demo {
		if err := loadDemo(ctx, cfg, lg, keys, d); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8) // more than the goroutines that report: none may block

	var router, lrouter *message.Router
	if cfg.Role != RoleGateway {
		sub, err := lg.Subscriber(projections.ViewsHandler, nil)
		if err != nil {
			return err
		}
		router, err = projections.NewProjector(cfg.Projector, views, sub, lg.Publisher(), d.Logger, d.Registerer)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := router.Run(ctx); err != nil {
				errc <- fmt.Errorf("projector: %w", err)
			}
		}()
		registerLagGauge(d.Registerer, lg)
		groups := []string{projections.ViewsHandler, rules.Handler, incidents.Handler, linking.LinkerHandler}
		if hooks != nil {
			groups = append(groups, delivery.Handler)
		}
		registerConsumerLag(d.Registerer, lg, groups)
		if err := hooks.start(ctx, cfg, d, lg, &wg, errc); err != nil {
			return err
		}
		if !cfg.NoRuleEngine {
			waitIncidents, err := startIncidents(ctx, cfg, d, lg, incStore)
			if err != nil {
				return err
			}
			defer func() { cancel(); waitIncidents() }()
		}

		// The linker, beside the projector: links work orders that name a shop and a street.
		lsub, err := lg.Subscriber(linking.LinkerHandler, linking.Interest)
		if err != nil {
			return err
		}
		var progress linking.Progress
		if p, ok := lg.(logPositions); ok {
			progress = &viewsProgress{lg: p}
		}
		linker := linking.NewLinker(views, progress, lg.Publisher(), linking.DefaultPolicy, d.Logger, d.Registerer)
		lrouter, err = linking.NewRouter(linker, lsub, d.Logger)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := lrouter.Run(ctx); err != nil {
				errc <- fmt.Errorf("linker: %w", err)
			}
		}()
		registerLinkerLagGauge(d.Registerer, lg)
	}

	ready := func(ctx context.Context) error {
		if router != nil {
			select {
			case <-router.Running():
			default:
				return errors.New("projector starting")
			}
		}
		_, err := lg.Lag(ctx, projections.ViewsHandler)
		return err
	}
	var handler http.Handler
	if cfg.Role != RoleProjector {
		webhookAPI, err := hooks.service(cfg)
		if err != nil {
			return err
		}
		pushers, err := loadPushConnectors(cfg.ConnectorsDir)
		if err != nil {
			return err
		}
		srv, err := gateway.New(cfg.Gateway, gateway.Deps{
			Push:      pushers,
			Publisher: lg.Publisher(), ReadModel: views, Keys: keys, Logger: d.Logger,
			Registerer: d.Registerer, Gatherer: d.Gatherer,
			Ready:     ready,
			Incidents: incidentDeps(incStore, d),
			Webhooks:  webhookAPI,
		})
		if err != nil {
			return err
		}
		handler = srv.Handler()
	} else {
		// A projector serves only what operators need: metrics and probes.
		mux := http.NewServeMux()
		if d.Gatherer != nil {
			mux.Handle("GET /metrics", promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{}))
		}
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
			if err := ready(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ready\n")
		})
		handler = mux
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen (FANGXIN_LISTEN) %s: %w", cfg.Listen, err)
	}
	if cfg.DebugListen != "" {
		dln, err := net.Listen("tcp", cfg.DebugListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--debug-listen (FANGXIN_DEBUG_LISTEN) %s: %w", cfg.DebugListen, err)
		}
		ds := &http.Server{Handler: debugMux(), ReadHeaderTimeout: 10 * time.Second}
		d.Logger.Info("profiler listening", "addr", dln.Addr().String())
		go func() { _ = ds.Serve(dln) }()
		go func() { <-ctx.Done(); _ = ds.Close() }()
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	addr := ln.Addr().String()
	d.Logger.Info("listening", "addr", addr, "role", cfg.Role)
	fmt.Fprintf(d.Stdout, "放心舒心消费信息共享平台 Fangxin hub (%s): http://%s/ (API: http://%s/openapi.json)\n", cfg.Role, addr, addr)
	if d.Started != nil {
		d.Started(addr)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = hs.Shutdown(sctx)
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	if router != nil {
		_ = router.Close()
	}
	if hooks != nil && hooks.router != nil {
		_ = hooks.router.Close()
	}
	if lrouter != nil {
		_ = lrouter.Close()
	}
	wg.Wait()
	return runErr
}

func registerLagGauge(reg prometheus.Registerer, lg logBackend) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "fangxin", Subsystem: "projector", Name: "lag_events",
		Help: "Events in the log not yet folded into the views.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := lg.Lag(ctx, projections.ViewsHandler)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// registerConsumerLag exports fangxin_consumer_lag_events{group}: how many events of the log
// each consumer group of this process (views, rules, incidents, linker, webhooks) has not
// handled yet. The hub is quiet when every one is 0 (what the black-box tests wait for).
func registerConsumerLag(reg prometheus.Registerer, lg logBackend, groups []string) {
	desc := prometheus.NewDesc("fangxin_consumer_lag_events", "Events in the log a consumer group has not handled yet (-1: unknown).", []string{"group"}, nil)
	reg.MustRegister(lagCollector{desc: desc, lg: lg, groups: groups})
}

type lagCollector struct {
	desc   *prometheus.Desc
	lg     logBackend
	groups []string
}

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, g := range c.groups {
		n, err := c.lg.Lag(ctx, g)
		if err != nil {
			n = -1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), g)
	}
}

// DemoKey is the reproducible demo key of a bureau: the same on every machine, so the README can
// show working commands. Only --demo adds them.
func DemoKey(bureau string) string {
	sum := sha256.Sum256([]byte("fangxin demo key " + bureau))
	return "fx_demo_" + bureau + "_" + hex.EncodeToString(sum[:12])
}

func loadDemo(ctx context.Context, cfg Config, lg logBackend, keys *gateway.KeyFile, d Deps) error {
	for _, b := range events.Bureaus() {
		roles := []gateway.Role(nil)
		if b.Code == "amr" {
			roles = []gateway.Role{gateway.RoleOffice, gateway.RoleAdmin}
		}
		if err := keys.Add(DemoKey(b.Code), b.Code, roles, "demo"); err != nil {
			return fmt.Errorf("demo keys: %w", err)
		}
	}
	empty, err := lg.Empty(ctx)
	if err != nil {
		return err
	}
	if empty {
		ds := demo.Generate(demo.Config{})
		start := time.Now()
		pub := lg.Publisher()
		for _, batch := range ds.Batches(1000) {
			msgs := make([]*message.Message, len(batch))
			for i, ev := range batch {
				msgs[i] = eventlog.ToMessage(ev)
			}
			if err := pub.Publish(eventlog.Topic, msgs...); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
		d.Logger.Info("demo data appended to the log", "events", len(ds.Events), "merchants", len(ds.Merchants), "took", time.Since(start))
		fmt.Fprintf(d.Stdout, "演示数据：%d 个经营主体、%d 条事件已写入日志，视图正在后台生成。\n", len(ds.Merchants), len(ds.Events))
	}
	fmt.Fprintln(d.Stdout, "演示密钥（每个单位一个，Authorization: Bearer <密钥>）：")
	for _, b := range events.Bureaus() {
		fmt.Fprintf(d.Stdout, "  %-16s %-24s %s\n", b.Code, b.NameZH, DemoKey(b.Code))
	}
	return nil
}

// debugMux serves net/http/pprof: its handlers, mounted on a mux of their own (the package's
// init registers them on http.DefaultServeMux, which the hub never serves).
func debugMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}
