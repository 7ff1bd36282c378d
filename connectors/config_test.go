package connectors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
	"github.com/lizhou/fangxin/connectors/sample"
)

// A connector file with many mistakes gets all of them at once, each naming its field.
func TestParseReportsEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"everything wrong", `
name: "amr penalties"
bureau: amr-office
batch_size: 5000
rate: -1
source: {kind: ftp}
mapping:
  type: {const: penalty.imposed}
  time: 日期
  data: {decision_no: 文号}
mappings:
  - type: {const: penalty.imposed}
    time: 日期
    data: {decision_no: 文号}
`, []string{"name:", "bureau:", "batch_size:", "rate:", `source.kind: 未知类型 "ftp"`, "mapping/mappings"}},
		{"missing blocks", `name: x
bureau: amr
`, []string{"source: 必填", "mapping: 必填"}},
		{"bad source fields", `name: x
bureau: amr
source: {kind: csv, encoding: big5, header_row: 0}
mapping: {type: {const: penalty.imposed}, time: 日期, data: {decision_no: 文号}}
`, []string{"source.path: 必填", "encoding:"}},
		{"unknown field", `name: x
bureau: amr
sourse: {kind: csv}
`, []string{"sourse"}},
		{"unknown source field", `name: x
bureau: amr
source: {kind: csv, path: a.csv, sheet: x}
mapping: {type: {const: penalty.imposed}, time: 日期, data: {decision_no: 文号}}
`, []string{"sheet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := connectors.Parse([]byte(tc.src), t.TempDir(), kinds.All())
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// A sink whose key variable is unset does not stop a check, and stops a run before it reads.
func TestSinkProblemsStopOnlyRun(t *testing.T) {
	dir := t.TempDir()
	sample.WriteCSV(filepath.Join(dir, "r.csv"), "utf-8", sample.Registrations(3))
	src := `name: x
bureau: amr
source: {kind: csv, path: r.csv, header_row: 2}
sink:
  kind: gateway
  url: http://127.0.0.1:1
  key: ${FANGXIN_TEST_UNSET_KEY}
mapping:
  type: {const: merchant.registered}
  subject: 统一社会信用代码
  time: 成立日期
  data: {name: 企业名称, township: 所属乡镇（街道）, industry: 行业, address: 住所（经营场所）, registered_at: 成立日期}
`
	l, err := connectors.Parse([]byte(src), dir, kinds.All())
	if err != nil {
		t.Fatal(err)
	}
	if l.SinkErr == nil || !strings.Contains(l.SinkErr.Error(), "FANGXIN_TEST_UNSET_KEY") {
		t.Fatalf("SinkErr = %v", l.SinkErr)
	}
	var out bytes.Buffer
	st, err := connectors.Run(context.Background(), l, connectors.Options{DryRun: &out, Errors: &out})
	if err != nil || st.Sent != 3 {
		t.Fatalf("check: %v %+v", err, st)
	}
	if _, err := connectors.Run(context.Background(), l, connectors.Options{}); err == nil {
		t.Fatal("run started without a usable sink")
	}
}

// The checkpoint file holds the last saved checkpoint, and a torn or foreign file is an error
// that names it, never a silent restart.
func TestCheckpointFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "c.checkpoint.json")
	f := connectors.CheckpointFile{Path: path}
	if cp, err := f.Load(); err != nil || cp.Token != "" {
		t.Fatalf("missing file: %+v %v", cp, err)
	}
	for i, tok := range []string{`{"row":10}`, `{"row":20}`} {
		if err := f.Save(connectors.Checkpoint{Connector: "c", Token: tok, Records: int64(10 * (i + 1))}); err != nil {
			t.Fatal(err)
		}
	}
	cp, err := f.Load()
	if err != nil || cp.Token != `{"row":20}` || cp.Records != 20 {
		t.Fatalf("Load = %+v, %v", cp, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	os.WriteFile(path, []byte(`{"connector":"c","tok`), 0o644)
	if _, err := f.Load(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("torn file: err = %v", err)
	}
}

// A check run counts in the metrics it is given and draws a progress bar when asked.
func TestRunMetricsAndProgress(t *testing.T) {
	dir := t.TempDir()
	tbl := sample.Registrations(40)
	tbl.Rows[5][5] = "朝天区" // not a Lizhou township
	sample.WriteCSV(filepath.Join(dir, "r.csv"), "gbk", tbl)
	src := `name: reg
bureau: amr
rate: 100000
batch_size: 7
source: {kind: csv, path: r.csv, header_row: 2}
mapping:
  type: {const: merchant.registered}
  key: [统一社会信用代码]
  subject: 统一社会信用代码
  time: 成立日期
  data: {name: 企业名称, township: 所属乡镇（街道）, industry: 行业, address: 住所（经营场所）, registered_at: 成立日期}
`
	l, err := connectors.Parse([]byte(src), dir, kinds.All())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	var out, errs, bar bytes.Buffer
	st, err := connectors.Run(context.Background(), l, connectors.Options{Registerer: reg, DryRun: &out, Errors: &errs, Progress: &bar})
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 40 || st.Sent != 39 || st.DeadLettered != 1 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(errs.String(), "r.csv 第8行") || !strings.Contains(errs.String(), "朝天区") {
		t.Errorf("errors: %s", errs.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 39 {
		t.Errorf("printed %d events, want 39", n)
	}
	var first map[string]any
	json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &first)
	if first["source"] != "/bureaus/amr" {
		t.Errorf("first event %v", first)
	}
	if !strings.Contains(bar.String(), "reg") || !strings.Contains(bar.String(), "100%") {
		t.Errorf("progress bar: %q", bar.String())
	}
	if got := counter(t, reg, "fangxin_connector_records_read_total"); got != 40 {
		t.Errorf("records read metric = %v", got)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// A connector file of any bytes is accepted or refused, never a crash.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"examples/amr-penalties.yaml", "examples/star-farmhouses.yaml", "examples/hotline-12345.yaml"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("name: x\nbureau: amr\nsource: {kind: csv}\nmapping: {type: 1}"))
	reg := kinds.All()
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = connectors.Parse(b, t.TempDir(), reg)
	})
}
