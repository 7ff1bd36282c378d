package postgres_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
	"github.com/lizhou/fangxin/connectors/postgres"
	"github.com/lizhou/fangxin/connectors/push"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/hub"
)

// childEnv names the connector file a child process runs (see TestMain): the test kills that
// process with SIGKILL in the middle of the table.
const childEnv = "FANGXIN_PG_CHILD_CONFIG"

func registry() *connectors.Registry { return push.Registry(kinds.All(), postgres.Kind) }

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		l, err := connectors.Load(path, registry())
		if err == nil {
			_, err = connectors.Run(context.Background(), l, connectors.Options{Once: true})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func pgURL(t *testing.T) string {
	u := os.Getenv("FANGXIN_POSTGRES_URL")
	if u == "" {
		t.Skip("FANGXIN_POSTGRES_URL is not set: scripts/postgres.sh up; eval \"$(scripts/postgres.sh env)\"")
	}
	return u
}

// startHub runs an embedded hub in-process and returns its URL; keys are "k-{bureau}".
func startHub(t *testing.T, bureaus ...string) string {
	dir := t.TempDir()
	keys := gateway.OpenKeyFile(filepath.Join(dir, "keys.json"))
	for _, b := range bureaus {
		if err := keys.Add("k-"+b, b, nil, "test"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	reg := prometheus.NewRegistry()
	go func() {
		done <- hub.Run(ctx, hub.Config{DataDir: dir, Listen: "127.0.0.1:0"}, hub.Deps{
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg, Gatherer: reg,
			Started: func(a string) { addr <- a },
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		t.Fatalf("hub: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("hub did not start")
	}
	return ""
}

// total counts the complaints of bureau in the hub's views.
func total(t *testing.T, hubURL, bureau string) int {
	req, _ := http.NewRequest("GET", hubURL+"/v1/events?type=complaint.received&limit=1&bureau="+bureau, nil)
	req.Header.Set("Authorization", "Bearer k-"+bureau)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r gateway.EventSearchResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/events: %d %v", resp.StatusCode, err)
	}
	return r.Total
}

func waitTotal(t *testing.T, hubURL, bureau string, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := total(t, hubURL, bureau)
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("%s: %d complaints in the hub, want %d", bureau, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const connectorYAML = `# the 12331 food and drug complaint system's database
name: %s
bureau: %s
batch_size: 50
rate: %d
source:
  kind: postgres
  url: ${FANGXIN_POSTGRES_URL}
  table: %s
  watermark: 更新时间
  key: id
  batch_size: 100
  poll_interval: 1s
sink:
  kind: gateway
  url: %s
  key: k-%s
  backoff: 100ms
mapping:
  type: {const: complaint.received}
  key: [%s]
  subject: 统一社会信用代码
  time: 投诉时间
  data:
    complaint_id: 投诉编号
    channel: {const: "12331"}
    category: 问题类别
    summary: 投诉内容
    received_at: 投诉时间
    amount_cny: {column: 涉及金额, optional: true}
`

// TestWatermarkExactlyOnce: a 12331 complaint table of 1000 rows (one with a malformed credit
// code), all stamped with the same updated_at so that the key breaks every tie. A connector
// killed with SIGKILL in the middle of the table and started again delivers every good row
// exactly once and dead-letters the bad one. Rows updated later come back as new events only
// when the mapping's key says a new version is a new record.
func TestWatermarkExactlyOnce(t *testing.T) {
	url := pgURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	table := fmt.Sprintf("投诉登记_%d", rand.Uint32())
	q := pgx.Identifier{table}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE TABLE `+q+` (
		id bigserial PRIMARY KEY,
		投诉编号 text NOT NULL,
		统一社会信用代码 text,
		投诉时间 timestamp NOT NULL,
		问题类别 text NOT NULL,
		投诉内容 text NOT NULL,
		涉及金额 numeric(12,2),
		更新时间 timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `DROP TABLE `+q) })
	const rows, bad = 1000, 500
	batch := &pgx.Batch{}
	for i := 1; i <= rows; i++ {
		code := events.DemoUSCC(i % 40)
		if i == bad {
			code = "91510802MA6B000000" // wrong check character
		}
		var amount any
		if i%3 == 0 {
			amount = fmt.Sprintf("%d.50", i*3)
		}
		batch.Queue(`INSERT INTO `+q+` (投诉编号, 统一社会信用代码, 投诉时间, 问题类别, 投诉内容, 涉及金额) VALUES ($1, $2, $3, $4, $5, $6)`,
			fmt.Sprintf("12331-2018-%05d", i), code, time.Date(2018, 12, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute),
			[]string{"食品安全", "药品质量", "保健食品"}[i%3], fmt.Sprintf("第%d号投诉：购买的食品疑似过期", i), amount)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}

	hubURL := startHub(t, "hotline-12331", "amr")
	dir := t.TempDir()
	write := func(name, bureau, key string, rate int) string {
		p := filepath.Join(dir, name+".yaml")
		body := fmt.Sprintf(connectorYAML, name, bureau, rate, table, hubURL, bureau, key)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	once := func(path string) connectors.Stats {
		t.Helper()
		l, err := connectors.Load(path, registry())
		if err != nil {
			t.Fatal(err)
		}
		st, err := connectors.Run(ctx, l, connectors.Options{Once: true})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	// t=0: connector A (key 投诉编号) starts in a child process, slowed to 400 rows/s, and is
	// killed with SIGKILL once its checkpoint has passed 200 rows.
	a := write("pg-12331", "hotline-12331", "投诉编号", 400)
	checkpoint := filepath.Join(dir, "state", "pg-12331.checkpoint.json")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+a)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var cp connectors.Checkpoint
	deadline := time.Now().Add(60 * time.Second)
	for cp.Records < 200 {
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			t.Fatal("the connector made no progress")
		}
		time.Sleep(10 * time.Millisecond)
		cp, _ = connectors.CheckpointFile{Path: checkpoint}.Load()
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	cp, _ = connectors.CheckpointFile{Path: checkpoint}.Load()
	if cp.Records >= rows {
		t.Fatalf("the connector finished (%d rows) before it was killed: the test proves nothing", cp.Records)
	}
	t.Logf("killed at checkpoint %d rows: %s", cp.Records, cp.Token)

	// t=1: started again, it finishes the table: every good row once, the bad one dead-lettered.
	st := once(a)
	if st.Read == 0 || st.Read > rows-cp.Records+50 {
		t.Errorf("the restart read %d rows; want the rest after %d (and at most one batch again)", st.Read, cp.Records)
	}
	waitTotal(t, hubURL, "hotline-12331", rows-1)
	dl, err := os.ReadFile(filepath.Join(dir, "state", "pg-12331.deadletter.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(dl)))
	lines := 0
	for sc.Scan() {
		lines++
		if !strings.Contains(sc.Text(), fmt.Sprintf("id=%d", bad)) || !strings.Contains(sc.Text(), "subject") {
			t.Errorf("dead letter does not name the row and field: %s", sc.Text())
		}
	}
	if lines == 0 {
		t.Error("the bad row was not dead-lettered")
	}

	// Connector B keys events by number and update time: a new version is a new record.
	b := write("pg-12331-versions", "amr", "投诉编号, 更新时间", 0)
	once(b)
	waitTotal(t, hubURL, "amr", rows-1)

	// t=2: the bureau corrects five complaints. Both connectors read the five rows again; A's
	// events have the ids the hub has (nothing new), B's are five new events.
	if _, err := conn.Exec(ctx, `UPDATE `+q+` SET 投诉内容 = 投诉内容 || '（已补充材料）', 更新时间 = now() WHERE id <= 5`); err != nil {
		t.Fatal(err)
	}
	if st := once(a); st.Read != 5 || st.Sent != 5 {
		t.Errorf("A after the update: %+v, want 5 read and re-sent", st)
	}
	if st := once(b); st.Read != 5 || st.Sent != 5 {
		t.Errorf("B after the update: %+v, want 5 read and sent", st)
	}
	waitTotal(t, hubURL, "amr", rows-1+5)
	if n := total(t, hubURL, "hotline-12331"); n != rows-1 {
		t.Errorf("A: %d complaints after the update, want still %d", n, rows-1)
	}
	// And nothing new: a poll finds no row past the watermark.
	if st := once(a); st.Read != 0 {
		t.Errorf("A polled again: %+v, want nothing", st)
	}
}

// TestConfig: bad settings are all reported; a missing column is named at Open.
func TestConfig(t *testing.T) {
	c := &postgres.Config{URL: "mysql://x", BatchSize: 0, PollInterval: 0, Table: "a.b.c"}
	err := c.Validate()
	for _, want := range []string{"url", "batch_size", "poll_interval", "table"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %s named", err, want)
		}
	}
	url := pgURL(t)
	c = &postgres.Config{URL: url, Table: "pg_catalog.pg_class", Watermark: "no_such_column", BatchSize: 10, PollInterval: time.Second}
	if _, err := c.Open(context.Background(), connectors.Env{}, ""); err == nil || !strings.Contains(err.Error(), "no_such_column") {
		t.Errorf("Open with a missing watermark column: %v", err)
	}
}
