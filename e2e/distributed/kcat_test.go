package distributed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	kit "github.com/lizhou/fangxin/e2e/e2ekit"
	"github.com/lizhou/fangxin/events"
)

// kcatProduce writes one record with kcat (librdkafka: a producer in C, not Go): CloudEvents
// Kafka binding in binary mode, ce_ attributes as headers, the key given, and the Java
// client's partitioner.
func kcatProduce(t *testing.T, brokers, topic, key string, headers map[string]string, value string) {
	t.Helper()
	args := []string{"-P", "-b", brokers, "-t", topic, "-X", "topic.partitioner=murmur2_random", "-X", "acks=all", "-c", "1"}
	if key != "" {
		args = append(args, "-k", key)
	}
	for k, v := range headers {
		args = append(args, "-H", k+"="+v)
	}
	cmd := exec.Command("kcat", args...)
	cmd.Stdin = strings.NewReader(value + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// kcatRecord is a record as `kcat -C -J` prints it.
type kcatRecord struct {
	Partition int      `json:"partition"`
	Offset    int64    `json:"offset"`
	Key       *string  `json:"key"`
	Payload   string   `json:"payload"`
	Headers   []string `json:"headers"` // name, value, name, value, ...
}

func (r kcatRecord) header(name string) string {
	for i := 0; i+1 < len(r.Headers); i += 2 {
		if r.Headers[i] == name {
			return r.Headers[i+1]
		}
	}
	return ""
}

// kcatConsume reads every record of topic with kcat.
func kcatConsume(t *testing.T, brokers, topic string) []kcatRecord {
	t.Helper()
	cmd := exec.Command("kcat", "-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-J", "-q")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat -C %s: %v\n%s", topic, err, stderr.String())
	}
	var recs []kcatRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r kcatRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("kcat -J line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// Events written straight into Kafka by kcat are projected like the gateway's; two malformed
// ones (no ce_type; data that fails the schema) land in the poison topic with the reason, read
// back with kcat, and the events after them flow on.
func TestKcatProducedEventsAndThePoisonTopic(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatal("kcat is not installed (Debian's kcat; scripts/stack.sh installs it): this test produces with a non-Go client")
	}
	env := sharedEnv(t)
	key := env.key(t, "amr")
	h := env.start(t, "all")
	c := newClient(t, h.URL, key)
	topic, poison := env.ns+".fangxin.events.v1", env.ns+".fangxin.poison.v1"

	// t=0: the gateway registers three merchants (so their partitions are known).
	l := newLedger()
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, kit.Shanghai)
	var regs []events.Event
	for i := 0; i < 3; i++ {
		regs = append(regs, kit.Registration(kit.USCC(500+i), fmt.Sprintf("利州区第%d水果超市", i+1), t0))
	}
	code, b := c.PushBatch(regs)
	if code != 202 {
		t.Fatalf("registrations: %d %s", code, b)
	}
	l.record(code, regs)

	// t=1: the 12345 hotline's own system writes complaints with kcat, interleaved with two
	// malformed records.
	ce := func(id, subject string, at time.Time) map[string]string {
		return map[string]string{"ce_specversion": "1.0", "ce_id": id, "ce_source": "/bureaus/hotline-12345",
			"ce_type": "complaint.received", "ce_subject": subject, "ce_time": at.Format(time.RFC3339), "content-type": "application/json"}
	}
	data := func(id string, at time.Time) string {
		return fmt.Sprintf(`{"complaint_id":%q,"channel":"12345","category":"计量","summary":"水果超市缺斤短两","received_at":%q}`, id, at.Format(time.RFC3339))
	}
	kcatIDs := map[string]string{}
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("kcat-%d", i)
		m := kit.USCC(500 + i%3)
		at := t0.Add(time.Duration(i+1) * time.Minute)
		kcatProduce(t, env.brokers, topic, m, ce(id, m, at), data(id, at))
		kcatIDs[id] = m
		switch i {
		case 3: // no ce_type: not a CloudEvent
			hd := ce("kcat-bad-notype", m, at)
			delete(hd, "ce_type")
			kcatProduce(t, env.brokers, topic, m, hd, data("kcat-bad-notype", at))
		case 7: // a CloudEvent whose data fails the schema (no complaint_id, a channel that does not exist)
			kcatProduce(t, env.brokers, topic, m, ce("kcat-bad-data", m, at), `{"channel":"pigeon","summary":"?"}`)
		}
	}
	for id, m := range kcatIDs {
		l.acked[id] = m // durable in the log: kcat waited for acks=all
	}
	// t=2: the gateway goes on after them.
	after := kit.Complaint("hotline-12315", "after-kcat", kit.USCC(501), t0.Add(time.Hour), "水果超市缺斤短两")
	hk := newClient(t, h.URL, env.key(t, "hotline-12315"))
	code, b = hk.Push(after)
	if code != 202 {
		t.Fatalf("push after kcat: %d %s", code, b)
	}
	l.record(code, []events.Event{after})
	h.caughtUp(60 * time.Second)

	// kcat's partitioner put each merchant where the hub's producer puts it: one partition per
	// merchant, so its events stay in order.
	parts := map[string]map[int]bool{}
	for _, r := range kcatConsume(t, env.brokers, topic) {
		if r.Key == nil {
			t.Errorf("record %d/%d has no key", r.Partition, r.Offset)
			continue
		}
		if parts[*r.Key] == nil {
			parts[*r.Key] = map[int]bool{}
		}
		parts[*r.Key][r.Partition] = true
	}
	for k, ps := range parts {
		if len(ps) != 1 {
			t.Errorf("merchant %s's records are in partitions %v: the gateway and kcat disagree on the partitioner", k, ps)
		}
	}

	// The malformed records are in the poison topic, each with the reason, read back by kcat.
	var poisoned []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		poisoned = poisoned[:0]
		for _, r := range kcatConsume(t, env.brokers, poison) {
			reason := r.header("reason_poisoned")
			id := r.header("ce_id")
			poisoned = append(poisoned, id)
			if reason == "" {
				t.Errorf("poisoned record %s has no reason_poisoned header: %v", id, r.Headers)
			}
			t.Logf("poison: %s: %s", id, reason)
		}
		if len(poisoned) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.Join(poisoned, ",") != "kcat-bad-notype,kcat-bad-data" && strings.Join(poisoned, ",") != "kcat-bad-data,kcat-bad-notype" {
		t.Errorf("poison topic holds %v, want kcat-bad-notype and kcat-bad-data once each", poisoned)
	}

	// Every kcat event is in the shared views like a gateway event, and the profile folded them.
	hist := c.FullHistory(kit.USCC(501))
	var ids []string
	for _, ev := range hist {
		ids = append(ids, ev.ID)
		if ev.ID == "kcat-bad-data" || ev.ID == "kcat-bad-notype" {
			t.Errorf("malformed event %s is in the views", ev.ID)
		}
	}
	if len(hist) != 6 || hist[0].ID != "after-kcat" || hist[len(hist)-1].ID != "reg-"+kit.USCC(501) {
		t.Errorf("history of %s: %v, want after-kcat, 4 kcat complaints, the registration", kit.USCC(501), ids)
	}
	var p kit.Profile
	c.Get("/v1/merchants/"+kit.USCC(501), &p)
	if p.CountsByBureau["hotline-12345"] != 4 || len(p.OpenComplaints) != 5 {
		t.Errorf("profile of %s: %+v", kit.USCC(501), p)
	}
	l.exactlyOnce(t, c, 30*time.Second)
}
