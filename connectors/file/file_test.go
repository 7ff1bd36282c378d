package file_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/file"
	"github.com/lizhou/fangxin/connectors/sample"
)

func env(dir string) connectors.Env {
	return connectors.Env{Dir: dir, Logger: slog.New(slog.DiscardHandler)}
}

func readAll(t *testing.T, src connectors.Source) []connectors.Record {
	t.Helper()
	var out []connectors.Record
	for {
		rec, err := src.Read(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

func prepare(t *testing.T, cfg connectors.SourceConfig) {
	t.Helper()
	if err := connectors.Prepare(cfg, "source."); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// Every encoding a bureau's office software writes reads back to the same records, with the
// rows numbered as a spreadsheet shows them (title row 1, header row 2, data from row 3).
func TestCSVEncodings(t *testing.T) {
	dir := t.TempDir()
	tbl := sample.Registrations(50)
	for _, tc := range []struct{ write, declare, detected string }{
		{"utf-8", "auto", "utf-8"},
		{"utf-8-bom", "auto", "utf-8"},
		{"gbk", "auto", "gb18030"},
		{"gb18030", "auto", "gb18030"},
		{"gbk", "gbk", "gbk"},
		{"utf-8", "utf-8", "utf-8"},
	} {
		t.Run(tc.write+"/"+tc.declare, func(t *testing.T) {
			path := filepath.Join(dir, tc.write+".csv")
			if err := sample.WriteCSV(path, tc.write, tbl); err != nil {
				t.Fatal(err)
			}
			if tc.declare == "auto" {
				b, _ := os.ReadFile(path)
				if got := file.DetectEncoding(b); got != tc.detected {
					t.Errorf("DetectEncoding = %s, want %s", got, tc.detected)
				}
			}
			cfg := &file.CSVConfig{Path: filepath.Base(path), Encoding: tc.declare, HeaderRow: 2}
			prepare(t, cfg)
			src, err := cfg.Open(context.Background(), env(dir), "")
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			recs := readAll(t, src)
			if len(recs) != 50 {
				t.Fatalf("read %d records, want 50", len(recs))
			}
			first := recs[0]
			if first.Position.Row != 3 || first.Position.File != filepath.Base(path) {
				t.Errorf("first position = %+v, want row 3", first.Position)
			}
			m := sample.MerchantN(0)
			if first.Values["企业名称"] != m.Name || first.Values["统一社会信用代码"] != m.USCC || first.Values["成立日期"] != "2018-01-01" {
				t.Errorf("first record = %v", first.Values)
			}
			if recs[49].Position.Row != 52 {
				t.Errorf("last row = %d, want 52", recs[49].Position.Row)
			}
		})
	}
}

// GBK bytes read as UTF-8 are refused with the row and the setting to change, not mangled.
func TestCSVDeclaredUTF8ButGBK(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gbk.csv")
	if err := sample.WriteCSV(path, "gbk", sample.Registrations(3)); err != nil {
		t.Fatal(err)
	}
	cfg := &file.CSVConfig{Path: "gbk.csv", Encoding: "utf-8"}
	prepare(t, cfg)
	_, err := cfg.Open(context.Background(), env(dir), "")
	if err == nil || !strings.Contains(err.Error(), "encoding: gbk") {
		t.Fatalf("err = %v, want advice to set encoding: gbk", err)
	}
}

// A checkpoint resumes right after its record; a changed file is read again from the top.
func TestCSVResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.csv")
	if err := sample.WriteCSV(path, "utf-8", sample.Registrations(20)); err != nil {
		t.Fatal(err)
	}
	cfg := &file.CSVConfig{Path: "r.csv", HeaderRow: 2}
	prepare(t, cfg)
	src, _ := cfg.Open(context.Background(), env(dir), "")
	recs := readAll(t, src)
	src.Close()

	src, err := cfg.Open(context.Background(), env(dir), recs[6].Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	rest := readAll(t, src)
	src.Close()
	if len(rest) != 13 || rest[0].Position.Row != recs[7].Position.Row {
		t.Fatalf("resumed with %d records from row %d, want 13 from row %d", len(rest), rest[0].Position.Row, recs[7].Position.Row)
	}

	// The bureau exports the file again: start over.
	if err := sample.WriteCSV(path, "utf-8", sample.Registrations(21)); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	src, _ = cfg.Open(context.Background(), env(dir), recs[6].Checkpoint)
	if n := len(readAll(t, src)); n != 21 {
		t.Errorf("after the file changed read %d records, want all 21", n)
	}
	src.Close()
}

// An xlsx written by excelize reads back with dates as Excel serials (which the mapping's
// time type reads), blank rows skipped but counted, the sheet chosen by name.
func TestXLSX(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "登记.xlsx")
	tbl := sample.Registrations(30)
	tbl.Rows[10] = []any{"", "", ""} // a blank row in the middle
	if err := sample.WriteXLSX(path, "登记信息", tbl); err != nil {
		t.Fatal(err)
	}
	cfg := &file.XLSXConfig{Path: "登记.xlsx", Sheet: "登记信息", HeaderRow: 2}
	prepare(t, cfg)
	src, err := cfg.Open(context.Background(), env(dir), "")
	if err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, src)
	src.Close()
	if len(recs) != 29 {
		t.Fatalf("read %d records, want 29 (one blank)", len(recs))
	}
	if recs[10].Position.Row != 14 || recs[10].Position.Sheet != "登记信息" {
		t.Errorf("record after the blank row at %+v, want row 14", recs[10].Position)
	}
	d, err := connectors.ParseTime(connectors.Text(recs[0].Values["成立日期"]))
	if err != nil || !d.Equal(time.Date(2018, 1, 1, 0, 0, 0, 0, connectors.Shanghai)) {
		t.Errorf("成立日期 %v reads as %v, %v", recs[0].Values["成立日期"], d, err)
	}

	src, _ = cfg.Open(context.Background(), env(dir), recs[19].Checkpoint)
	rest := readAll(t, src)
	src.Close()
	if len(rest) != 9 || rest[0].Position.Row != recs[20].Position.Row {
		t.Errorf("resumed with %d records, want 9 from row %d", len(rest), recs[20].Position.Row)
	}

	bad := &file.XLSXConfig{Path: "登记.xlsx", Sheet: "处罚"}
	prepare(t, bad)
	if _, err := bad.Open(context.Background(), env(dir), ""); err == nil || !strings.Contains(err.Error(), "登记信息") {
		t.Errorf("unknown sheet: err = %v, want the sheet list", err)
	}
	// A CSV is not a workbook.
	os.WriteFile(filepath.Join(dir, "x.xlsx"), []byte("a,b\n1,2\n"), 0o644)
	notX := &file.XLSXConfig{Path: "x.xlsx"}
	prepare(t, notX)
	if _, err := notX.Open(context.Background(), env(dir), ""); err == nil {
		t.Error("a CSV opened as xlsx")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []connectors.SourceConfig{
		&file.CSVConfig{Path: "a.csv", Encoding: "big5", Delimiter: ",", HeaderRow: 1},
		&file.CSVConfig{Path: "a.csv", Encoding: "auto", Delimiter: ";;", HeaderRow: 1},
		&file.CSVConfig{Path: "a.csv", Encoding: "auto", Delimiter: ",", HeaderRow: -1},
		&file.XLSXConfig{Path: "a.xlsx", HeaderRow: -2},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v: Validate = nil", c)
		}
	}
}

// Progress follows the parser, not the read-ahead: early in a 3 MiB file it is near the start,
// at the end it is the file's size.
func TestCSVProgress(t *testing.T) {
	dir := t.TempDir()
	if err := sample.WriteCSV(filepath.Join(dir, "big.csv"), "gbk", sample.Registrations(20000)); err != nil {
		t.Fatal(err)
	}
	cfg := &file.CSVConfig{Path: "big.csv", HeaderRow: 2}
	prepare(t, cfg)
	src, err := cfg.Open(context.Background(), env(dir), "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p := src.(connectors.Progresser)
	if _, err := src.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	done, total := p.Progress()
	if total < 2<<20 || done > total/10 {
		t.Errorf("after one record: %d of %d bytes", done, total)
	}
	last := done
	for {
		if _, err := src.Read(context.Background()); errors.Is(err, io.EOF) {
			break
		}
		d, _ := p.Progress()
		if d < last {
			t.Fatalf("progress went back from %d to %d", last, d)
		}
		last = d
	}
	if done, total = p.Progress(); done != total {
		t.Errorf("at the end: %d of %d bytes", done, total)
	}
}
