// Command fangxin is the Fangxin hub's one binary: the server, the view rebuilder and the key
// tool. main only wires: flags and env become a hub.Config, signals become context cancellation.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/hub"
	"github.com/lizhou/fangxin/internal/gctune"
	"github.com/lizhou/fangxin/projections/rules"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "fangxin:", err)
		return 1
	}
	return 0
}

// env returns the value of an environment variable or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

type settings struct {
	dataDir, listen, debugListen, role, logPath, viewsDir, kafka, es, logLevel, namespace string
	demo                                                                                  bool
	hooks                                                                                 webhookSettings
	rulesFile                                                                             string
	noRuleEngine                                                                          bool
}

func (s *settings) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.dataDir, "data-dir", env("FANGXIN_DATA_DIR", "./data"), "data folder of the embedded log, views and keys (FANGXIN_DATA_DIR)")
	f.StringVar(&s.listen, "listen", env("FANGXIN_LISTEN", "127.0.0.1:8080"), "address of the HTTP gateway (FANGXIN_LISTEN)")
	f.StringVar(&s.debugListen, "debug-listen", env("FANGXIN_DEBUG_LISTEN", ""), "address serving Go's profiler at /debug/pprof/ (off unless set; keep it on loopback) (FANGXIN_DEBUG_LISTEN)")
	f.StringVar(&s.role, "role", env("FANGXIN_ROLE", hub.RoleAll), "what this process runs: all, gateway or projector (FANGXIN_ROLE)")
	f.StringVar(&s.logPath, "log-path", env("FANGXIN_LOG_PATH", ""), "embedded log file (default DATA_DIR/log.db) (FANGXIN_LOG_PATH)")
	f.StringVar(&s.viewsDir, "views-dir", env("FANGXIN_VIEWS_DIR", ""), "embedded views folder (default DATA_DIR/views) (FANGXIN_VIEWS_DIR)")
	f.StringVar(&s.kafka, "kafka-brokers", env("FANGXIN_KAFKA_BROKERS", ""), "comma-separated Kafka brokers: use Kafka as the log (FANGXIN_KAFKA_BROKERS)")
	f.StringVar(&s.es, "elasticsearch-url", env("FANGXIN_ELASTICSEARCH_URL", ""), "comma-separated Elasticsearch URLs: use Elasticsearch for the views (FANGXIN_ELASTICSEARCH_URL)")
	f.StringVar(&s.namespace, "namespace", env("FANGXIN_NAMESPACE", ""), "prefix of the Kafka topics and groups and the Elasticsearch indices, so hubs can share clusters (FANGXIN_NAMESPACE)")
	f.StringVar(&s.logLevel, "log-level", env("FANGXIN_LOG_LEVEL", "info"), "debug, info, warn or error (FANGXIN_LOG_LEVEL)")
	s.hooks.bind(f)
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *settings) config() hub.Config {
	c := hub.Config{DataDir: s.dataDir, Listen: s.listen, DebugListen: s.debugListen, Role: s.role, Demo: s.demo, RulesFile: s.rulesFile, NoRuleEngine: s.noRuleEngine}
	c.Webhooks = s.hooks.config()
	if s.logPath != "" || s.kafka == "" {
		c.Log.Embedded = &hub.EmbeddedLogConfig{Path: s.logPath}
	}
	if s.kafka != "" {
		c.Log.Kafka = &hub.KafkaConfig{Brokers: split(s.kafka)}
	}
	if s.viewsDir != "" || s.es == "" {
		c.Views.Embedded = &hub.EmbeddedViewsConfig{Dir: s.viewsDir}
	}
	if s.es != "" {
		c.Views.Elasticsearch = &hub.ElasticsearchConfig{URLs: split(s.es)}
	}
	return c
}

func (s *settings) deps(stdout, stderr io.Writer) (hub.Deps, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.logLevel)); err != nil {
		return hub.Deps{}, fmt.Errorf("--log-level (FANGXIN_LOG_LEVEL): %q is not debug, info, warn or error", s.logLevel)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d := hub.Deps{
		Logger:     slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		Registerer: reg, Gatherer: reg, Stdout: stdout,
	}
	// A test seam, deliberately not a flag: black-box tests drive the rule engine's clock by
	// writing an RFC 3339 time into this file.
	if path := os.Getenv("FANGXIN_CLOCK_FILE"); path != "" {
		d.Clock = &rules.FileClock{Path: path}
	}
	return d, nil
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "fangxin",
		Short:         "Fangxin hub: Lizhou District's consumer-protection information-sharing hub (放心舒心消费信息共享平台)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServe(stdout, stderr), newRebuild(stdout, stderr), newKeys(stdout))
	root.AddCommand(newConnect(stdout, stderr))
	return root
}

func newServe(stdout, stderr io.Writer) *cobra.Command {
	var s settings
	var connectorsDir string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hub (gateway and projector; embedded log and views unless Kafka/Elasticsearch are set)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := s.deps(stdout, stderr)
			if err != nil {
				return err
			}
			c := s.config()
			c.ConnectorsDir = connectorsDir
			gctune.Apply() // a long-running server: see the package (GOGC, GOMEMLIMIT win)
			return hub.Run(hub.WithNamespace(cmd.Context(), hub.Namespace(s.namespace)), c, d)
		},
	}
	s.bind(cmd)
	cmd.Flags().StringVar(&s.rulesFile, "rules", env("FANGXIN_RULES", ""), "incident rules YAML replacing the embedded defaults (FANGXIN_RULES)")
	cmd.Flags().BoolVar(&s.noRuleEngine, "no-rule-engine", env("FANGXIN_NO_RULE_ENGINE", "") == "1", "do not run the rule engine and incident projector here; exactly one process of a hub runs them (FANGXIN_NO_RULE_ENGINE=1)")
	cmd.Flags().StringVar(&connectorsDir, "connectors-dir", env("FANGXIN_CONNECTORS_DIR", ""), "folder of push connector files (source kind push) served at POST /v1/connectors/{name}/push (FANGXIN_CONNECTORS_DIR)")
	cmd.Flags().BoolVar(&s.demo, "demo", env("FANGXIN_DEMO", "") == "1", "load the reproducible demo data into an empty hub and print one key per bureau (FANGXIN_DEMO=1)")
	return cmd
}

func newRebuild(stdout, stderr io.Writer) *cobra.Command {
	var s settings
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild every view from the log (embedded views: stop the hub first; Elasticsearch views are rebuilt beside the live ones and swapped in)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := s.deps(stdout, stderr)
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			n, took, err := hub.Rebuild(hub.WithNamespace(cmd.Context(), hub.Namespace(s.namespace)), s.config(), d)
			if err != nil {
				return err
			}
			rate := float64(n) / took.Seconds()
			fmt.Fprintf(stdout, "rebuilt the views from %d events in %s (%.0f events/s)\n", n, took.Round(1e6), rate)
			return nil
		},
	}
	s.bind(cmd)
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the rebuild to this file")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

func newKeys(stdout io.Writer) *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage bureau keys"}
	var dataDir, bureau, roles, note string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a key for a bureau; prints it once and stores only its hash",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, ok := events.LookupBureau(bureau); !ok {
				return fmt.Errorf("--bureau: %q is not a registered bureau code (see GET /v1/bureaus)", bureau)
			}
			var rs []gateway.Role
			for _, r := range split(roles) {
				switch gateway.Role(r) {
				case gateway.RoleOffice, gateway.RoleAdmin:
					rs = append(rs, gateway.Role(r))
				default:
					return fmt.Errorf("--roles: %q is not office or admin", r)
				}
			}
			key, err := gateway.OpenKeyFile(dataDir+"/keys.json").Create(bureau, rs, note)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, key)
			return nil
		},
	}
	create.Flags().StringVar(&dataDir, "data-dir", env("FANGXIN_DATA_DIR", "./data"), "data folder (FANGXIN_DATA_DIR)")
	create.Flags().StringVar(&bureau, "bureau", "", "bureau code, e.g. amr, hotline-12345 (required)")
	create.Flags().StringVar(&roles, "roles", "", "extra roles: office, admin (comma-separated)")
	create.Flags().StringVar(&note, "note", "", "who the key is for")
	_ = create.MarkFlagRequired("bureau")
	keys.AddCommand(create)
	return keys
}
