package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
)

// newConnect is `fangxin connect`: run, check and describe connectors (connectors/).
func newConnect(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "Feed a bureau's records to the hub (连接器): run, check or describe connectors",
	}
	cmd.AddCommand(newConnectRun(stderr), newConnectCheck(stdout, stderr), newConnectSpec(stdout))
	return cmd
}

func newConnectRun(stderr io.Writer) *cobra.Command {
	var once bool
	var metricsAddr, logLevel string
	cmd := &cobra.Command{
		Use:   "run CONFIG",
		Short: "Read the connector's source and send its events, resuming from the checkpoint",
		Long: `Reads the source of the connector file CONFIG from its checkpoint on, maps every record to
an event, validates it and sends it to the sink. Bad records go to the dead-letter file and the
run goes on. Files are read to their end; database and push sources keep polling (--once stops
at the end). Safe to kill and start again: nothing is sent twice into the hub's views.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %q is not debug, info, warn or error", logLevel)
			}
			logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
			l, err := connectors.Load(args[0], kinds.All())
			if err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			if metricsAddr != "" {
				ln, err := net.Listen("tcp", metricsAddr)
				if err != nil {
					return fmt.Errorf("--metrics-listen: %w", err)
				}
				srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
				go srv.Serve(ln)
				defer srv.Close()
			}
			opt := connectors.Options{Logger: logger, Registerer: reg, Once: once}
			if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				opt.Progress = stderr
			}
			st, err := connectors.Run(cmd.Context(), l, opt)
			if errors.Is(err, context.Canceled) {
				fmt.Fprintln(stderr, "已停止，下次从检查点继续 (stopped; the next run resumes from the checkpoint)")
				err = nil
			}
			fmt.Fprintf(stderr, "%s: 读取 %d 条，发送 %d 条，死信 %d 条，跳过 %d 条 (read %d, sent %d, dead-lettered %d, skipped %d)\n",
				l.Name, st.Read, st.Sent, st.DeadLettered, st.Skipped, st.Read, st.Sent, st.DeadLettered, st.Skipped)
			if st.DeadLettered > 0 {
				fmt.Fprintf(stderr, "死信文件 dead letters: %s\n", l.DeadLetterPath())
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "stop when the source has no more records, even a polling one")
	cmd.Flags().StringVar(&metricsAddr, "metrics-listen", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9464)")
	cmd.Flags().StringVar(&logLevel, "log-level", env("FANGXIN_LOG_LEVEL", "info"), "debug, info, warn or error (FANGXIN_LOG_LEVEL)")
	return cmd
}

func newConnectCheck(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "check CONFIG [FILE]",
		Short: "Dry run: print the events the connector would send and every error, send nothing",
		Long: `Reads the whole source of the connector file CONFIG (or FILE instead of the configured file)
from the top, prints every event it would send as one JSON line on stdout and every record that
fails (row, column, reason in Chinese and English) on stderr. Sends nothing, touches neither the
checkpoint nor the dead-letter file. Exits non-zero when any record fails.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := connectors.Load(args[0], kinds.All())
			if err != nil {
				return err
			}
			if l.SinkErr != nil {
				fmt.Fprintf(stderr, "注意 note: sink 配置有问题，run 时会失败 (the sink block has problems; run would fail): %v\n", l.SinkErr)
			}
			if len(args) == 2 {
				ps, ok := l.Source.(interface{ SetPath(string) })
				if !ok {
					return fmt.Errorf("source kind %s reads no file: FILE cannot replace it", l.SourceKind)
				}
				abs, err := filepath.Abs(args[1])
				if err != nil {
					return err
				}
				ps.SetPath(abs)
			}
			st, err := connectors.Run(cmd.Context(), l, connectors.Options{DryRun: stdout, Errors: stderr})
			fmt.Fprintf(stderr, "%s: 读取 %d 条，可发送 %d 条，错误 %d 条，跳过 %d 条 (read %d, would send %d, failed %d, skipped %d)\n",
				l.Name, st.Read, st.Sent, st.DeadLettered, st.Skipped, st.Read, st.Sent, st.DeadLettered, st.Skipped)
			if err != nil {
				return err
			}
			if st.DeadLettered > 0 {
				return errors.New("有记录未通过检查 (some records failed the check)")
			}
			return nil
		},
	}
}

func newConnectSpec(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "spec",
		Short: "Print the reference of every connector kind and config field (Markdown, docs/connectors.md)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return connectors.WriteSpec(stdout, kinds.All())
		},
	}
}
