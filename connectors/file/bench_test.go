package file_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/file"
	"github.com/lizhou/fangxin/connectors/kinds"
	"github.com/lizhou/fangxin/connectors/sample"
)

const benchRows = 5000

const benchMapping = "\n" + sample.RegistrationsMapping

func benchFiles(b *testing.B) string {
	dir := b.TempDir()
	tbl := sample.Registrations(benchRows)
	if err := sample.WriteXLSX(filepath.Join(dir, "r.xlsx"), "登记信息", tbl); err != nil {
		b.Fatal(err)
	}
	if err := sample.WriteCSV(filepath.Join(dir, "r.csv"), "gbk", tbl); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkParse reads a register export through the source alone (rows/s is the bare parse
// rate); BenchmarkCheck reads, maps and validates it as `connect check` does.
func BenchmarkParse(b *testing.B) {
	dir := benchFiles(b)
	for _, tc := range []struct {
		name string
		cfg  connectors.SourceConfig
	}{
		{"xlsx", &file.XLSXConfig{Path: "r.xlsx", HeaderRow: 2}},
		{"csv-gbk", &file.CSVConfig{Path: "r.csv", HeaderRow: 2}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if err := connectors.Prepare(tc.cfg, ""); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				src, err := tc.cfg.Open(context.Background(), env(dir), "")
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := src.Read(context.Background()); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
				src.Close()
			}
			b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	dir := benchFiles(b)
	for _, tc := range []struct{ name, source string }{
		{"xlsx", "source: {kind: xlsx, path: r.xlsx, header_row: 2}"},
		{"csv-gbk", "source: {kind: csv, path: r.csv, header_row: 2}"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			path := filepath.Join(dir, tc.name+".yaml")
			os.WriteFile(path, []byte("name: bench\nbureau: amr\n"+tc.source+benchMapping), 0o644)
			l, err := connectors.Load(path, kinds.All())
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				st, err := connectors.Run(context.Background(), l, connectors.Options{DryRun: io.Discard, Errors: io.Discard})
				if err != nil || st.Sent != benchRows {
					b.Fatal(err, st)
				}
			}
			b.ReportMetric(float64(benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
