package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
	"github.com/lizhou/fangxin/connectors/sample"
)

var connRows = flag.Int("connectors", 0, "instead of the hub benchmark, import a register export of this many rows as XLSX and as GBK CSV through `fangxin connect run` into the embedded hub, against the bare parse rate")

const connMapping = "\nbatch_size: 1000\n" + sample.RegistrationsMapping

// benchConnectors measures, per format: the bare parse rate (the source read to its end, no
// mapping), the check rate (read, map, validate: `connect check`), and the end-to-end import
// (`fangxin connect run` as its own process into a fresh embedded hub: until the connector
// exits, every event durable in the log; and until the views hold them all).
func benchConnectors(work string, n int) error {
	r := &report{}
	tbl := sample.Registrations(n)
	formats := []struct{ name, file, source string }{
		{"XLSX", "register.xlsx", "source: {kind: xlsx, path: register.xlsx, sheet: 登记信息, header_row: 2}"},
		{"CSV (GBK)", "register.csv", "source: {kind: csv, path: register.csv, header_row: 2, encoding: auto}"},
	}
	t0 := time.Now()
	if err := sample.WriteXLSX(filepath.Join(work, formats[0].file), "登记信息", tbl); err != nil {
		return err
	}
	if err := sample.WriteCSV(filepath.Join(work, formats[1].file), "gbk", tbl); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d-row files in %s\n", n, time.Since(t0).Round(time.Millisecond))
	r.add("rows per file", fmt.Sprint(n), "AMR register export (9 columns, Chinese text, Excel dates in the xlsx)")
	for i, f := range formats {
		if st, err := os.Stat(filepath.Join(work, f.file)); err == nil {
			r.add(f.name+" file size", fmt.Sprintf("%.1f MiB", float64(st.Size())/(1<<20)), "")
		}
		dir := filepath.Join(work, fmt.Sprintf("c%d", i))
		os.MkdirAll(dir, 0o755)
		os.Rename(filepath.Join(work, f.file), filepath.Join(dir, f.file))
		key, err := exec.Command(*bin, "keys", "create", "--data-dir", filepath.Join(dir, "hub"), "--bureau", "amr").Output()
		if err != nil {
			return err
		}
		h, err := start(filepath.Join(dir, "hub"))
		if err != nil {
			return err
		}
		stopped := false
		defer func() {
			if !stopped {
				h.stop()
			}
		}()
		cfg := fmt.Sprintf("name: bench\nbureau: amr\n%s\nsink:\n  kind: gateway\n  url: %s\n  key: ${FANGXIN_KEY}\n%s", f.source, h.url, connMapping)
		cfgPath := filepath.Join(dir, "bench.yaml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			return err
		}
		l, err := connectors.Load(cfgPath, kinds.All())
		if err != nil {
			return err
		}

		// Baseline 1: bare parse.
		ps := time.Now()
		src, err := l.Source.Open(context.Background(), connectors.Env{Dir: dir, Logger: slog.New(slog.DiscardHandler)}, "")
		if err != nil {
			return err
		}
		read := 0
		for {
			if _, err := src.Read(context.Background()); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
			read++
		}
		src.Close()
		parse := float64(read) / time.Since(ps).Seconds()
		r.add(f.name+": bare parse (source only)", rows(parse), "baseline")

		// Baseline 2: check (parse, map, validate; nothing sent).
		cs := time.Now()
		st, err := connectors.Run(context.Background(), l, connectors.Options{DryRun: io.Discard, Errors: os.Stderr})
		if err != nil {
			return err
		}
		check := float64(st.Read) / time.Since(cs).Seconds()
		r.add(f.name+": connect check (parse, map, validate)", rows(check), fmt.Sprintf("%.0f%% of bare parse", 100*check/parse))

		// End to end.
		es := time.Now()
		cmd := exec.Command(*bin, "connect", "run", cfgPath, "--log-level", "warn")
		cmd.Env = append(os.Environ(), "FANGXIN_KEY="+strings.TrimSpace(string(key)))
		var out strings.Builder
		cmd.Stderr = &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("connect run: %v: %s", err, out.String())
		}
		durable := time.Since(es)
		if !strings.Contains(out.String(), fmt.Sprintf("sent %d,", n)) {
			return fmt.Errorf("connect run did not send all %d rows: %s", n, out.String())
		}
		e2e := float64(n) / durable.Seconds()
		r.add(f.name+": connect run → hub, all durable (202)", rows(e2e), fmt.Sprintf("%.0f%% of bare parse; batches of 1000", 100*e2e/parse))
		if err := h.caughtUp(30 * time.Minute); err != nil {
			return err
		}
		visible := float64(n) / time.Since(es).Seconds()
		r.add(f.name+": connect run → views caught up", rows(visible), "")
		h.stop()
		stopped = true
	}
	fmt.Printf("\nConnectors, %s, %d CPUs:\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU())
	r.print()
	return nil
}

func rows(v float64) string { return fmt.Sprintf("%.0f rows/s", v) }
