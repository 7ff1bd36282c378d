package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/eventlog/kafkalog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/elastic"
)

// distributed is the distributed phase: on the Kafka and Elasticsearch named in
// FANGXIN_KAFKA_BROKERS and FANGXIN_ELASTICSEARCH_URL, in a namespace of its own (deleted at the
// end), the same events go
//
//  1. through a raw kafka-go Writer set up like the hub's (acks all, murmur2 keys, 2 ms linger),
//     in the gateway's batch size from the same number of clients: the produce baseline;
//  2. through a gateway process (--role gateway): its ingest rate;
//  3. through elastic.RawBulk (the documents Apply writes, bulk-indexed with no checks): the
//     bulk baseline;
//  4. through a projector process (--role projector) started once the log holds them all: its
//     rate from ready to lag 0;
//
// then, with both processes running, single-event pushes at a steady rate give ack latency and
// freshness (202 to visible in history).
func distributed(r *report, work string, evs []events.Event) error {
	brokers, esURL := os.Getenv("FANGXIN_KAFKA_BROKERS"), os.Getenv("FANGXIN_ELASTICSEARCH_URL")
	if brokers == "" || esURL == "" {
		r.add("distributed phase", "skipped", "set FANGXIN_KAFKA_BROKERS and FANGXIN_ELASTICSEARCH_URL (scripts/stack.sh up; eval \"$(scripts/stack.sh env)\")")
		return nil
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	ns := "bench-" + hex.EncodeToString(b[:])
	ctx := context.Background()
	defer dropNamespace(brokers, esURL, ns)
	rawCfg := elastic.Config{URLs: strings.Split(esURL, ","), IndexPrefix: ns + "-raw"} // RawBulk's scratch generations

	// 0. Warm-up, discarded: a freshly started broker and Elasticsearch node run their first
	// hundred thousand records several times slower (the JVMs are still compiling their hot
	// paths); a run right after `stack.sh up` measured raw bulk at ~1,300 µs of Elasticsearch CPU
	// per event, against 156–346 µs once warm, and one warm-up round was not enough (session 8:
	// raw bulk at 730 µs per event, projector 1,066 ev/s, then 2,548 ev/s three runs later).
	// Rounds go on until the bulk rate gains less than 15% on the round before.
	prev := 0.0
	for round := 1; round <= *warmRounds; round++ {
		if _, err := rawProduce(ctx, strings.Split(brokers, ","), fmt.Sprintf("%s.warm%d", ns, round), evs); err != nil {
			return fmt.Errorf("warm-up produce: %w", err)
		}
		bulk, err := elastic.RawBulk(ctx, rawCfg, fmt.Sprintf("warm%d", round), rawEntries(evs))
		if err != nil {
			return fmt.Errorf("warm-up bulk: %w", err)
		}
		fmt.Fprintf(os.Stderr, "distributed warm-up %d: raw bulk %s\n", round, rate(bulk))
		if bulk < prev*1.15 {
			break
		}
		prev = bulk
	}
	// The hub's own paths warm up apart from raw bulk's (real-time gets, versioned writes, the
	// incident view): on a node that had done five raw bulk rounds, the projector still cost
	// Elasticsearch 691 µs per event against raw bulk's 334 (session 8). One pass of the whole
	// flow, gateway to projector, in a namespace of its own.
	if *warmRounds > 0 {
		if err := warmHub(work, ns+"-warm", brokers, esURL, evs); err != nil {
			return fmt.Errorf("warm-up hub: %w", err)
		}
	}

	// 1. Raw produce.
	produce, err := rawProduce(ctx, strings.Split(brokers, ","), ns+".raw", evs)
	if err != nil {
		return fmt.Errorf("raw produce: %w", err)
	}
	r.add(fmt.Sprintf("distributed: raw kafka-go produce (batches of %d, %d clients)", *batch, *clients), rate(produce), "baseline")

	// 2. Gateway ingest.
	dir := filepath.Join(work, "distributed")
	gw, c, err := startGateway(dir, ns, brokers, esURL, merchantsOf(evs)[0])
	if err != nil {
		return err
	}
	defer gw.stop()
	ingest, lat, _, err := c.ingest(evs)
	if err != nil {
		return err
	}
	// The baseline again, right after, into a topic of its own (the gateway is idle now): on a
	// machine whose speed drifts, the ratio is taken against the mean of the runs around it.
	produce2, err := rawProduce(ctx, strings.Split(brokers, ","), ns+".raw2", evs)
	if err != nil {
		return fmt.Errorf("raw produce: %w", err)
	}
	r.add("distributed: raw kafka-go produce again, after the gateway", rate(produce2), "baseline")
	produceMean := (produce + produce2) / 2
	r.add(fmt.Sprintf("distributed: gateway ingest on Kafka (batches of %d, %d clients)", *batch, *clients), rate(ingest),
		fmt.Sprintf("%.0f%% of raw produce, the mean of the runs before and after (target ≥ 70%%); ack per batch p50 / p99 %s / %s",
			100*ingest/produceMean, ms(pct(lat, 50)), ms(pct(lat, 99))))

	// 3. Raw bulk.
	entries := rawEntries(evs)
	es0 := elastic.NodesCPU([]string{esURL})
	bulk, err := elastic.RawBulk(ctx, rawCfg, "1", entries)
	if err != nil {
		return fmt.Errorf("raw bulk: %w", err)
	}
	esBulk := (elastic.NodesCPU([]string{esURL}) - es0) / float64(len(evs))
	r.add("distributed: raw bulk indexing (esutil.BulkIndexer, same documents)", rate(bulk),
		fmt.Sprintf("baseline; Elasticsearch CPU %s per event", us(esBulk)))

	// 4. Projector catching up with the whole log.
	pr, err := startRole(dir, "projector", ns, brokers, esURL, strings.Fields(*projectorArgs)...)
	if err != nil {
		return err
	}
	defer pr.stop()
	pStart, es1, pc1 := time.Now(), elastic.NodesCPU([]string{esURL}), procCPU(pr.cmd.Process.Pid)
	if err := pr.caughtUp(30 * time.Minute); err != nil {
		return err
	}
	proj := float64(len(evs)) / time.Since(pStart).Seconds()
	esProj := (elastic.NodesCPU([]string{esURL}) - es1) / float64(len(evs))
	pcProj := (procCPU(pr.cmd.Process.Pid) - pc1) / float64(len(evs))
	n := float64(len(evs))
	tGets, mGets := float64(esGets(esURL, ns+"-fangxin-timeline"))/n, float64(esGets(esURL, ns+"-fangxin-merchants"))/n
	r.add("distributed: projector (Kafka → Elasticsearch, ready → lag 0)", rate(proj),
		fmt.Sprintf("%.0f%% of raw bulk (target ≥ 70%%); CPU per event: Elasticsearch %s (raw bulk %s), projector process %s; real-time gets per event: %.2f timeline, %.2f profiles",
			100*proj/bulk, us(esProj), us(esBulk), us(pcProj), tGets, mGets))

	// Steady load: ack latency and freshness.
	acks, err := c.paced(nil, 50, 10*time.Second, nil)
	if err != nil {
		return err
	}
	r.add("distributed: ack latency, single events at 50/s, p50 / p99", fmt.Sprintf("%s / %s", ms(pct(acks, 50)), ms(pct(acks, 99))), "target p99 ≤ 50 ms")
	load, err := c.steadyLoad(merchantsOf(evs), stepEvents(200, 10*time.Second))
	if err != nil {
		return err
	}
	fresh, _, err := c.freshness(load, 200, 10*time.Second)
	if err != nil {
		return err
	}
	r.add("distributed: freshness at 200 ev/s, p50 / p99", fmt.Sprintf("%s / %s", ms(pct(fresh, 50)), ms(pct(fresh, 99))), "target p99 ≤ 2 s")

	// Raw bulk again, the hub idle, to show how far the machine drifted during the projector run.
	if err := pr.caughtUp(time.Minute); err != nil {
		return err
	}
	es2 := elastic.NodesCPU([]string{esURL})
	bulk2, err := elastic.RawBulk(ctx, rawCfg, "2", entries)
	if err != nil {
		return fmt.Errorf("raw bulk: %w", err)
	}
	r.add("distributed: raw bulk indexing again, after the projector", rate(bulk2),
		fmt.Sprintf("baseline; Elasticsearch CPU %s per event; the projector's rate is %.0f%% of the mean of both raw bulk runs",
			us((elastic.NodesCPU([]string{esURL})-es2)/float64(len(evs))), 200*proj/(bulk+bulk2)))
	return nil
}

// rawEntries gives evs the log positions RawBulk indexes them at: any stable split keeping a
// merchant's events in one partition, offsets counted per partition.
func rawEntries(evs []events.Event) []elastic.RawEntry {
	entries := make([]elastic.RawEntry, len(evs))
	offsets := map[int]int64{}
	for i, ev := range evs {
		h := fnv.New32a()
		h.Write([]byte(ev.PartitionKey()))
		p := int(h.Sum32() % kafkalog.DefaultPartitions)
		offsets[p]++
		entries[i] = elastic.RawEntry{Entry: projections.Redact(ev), Pos: eventlog.Position{Partition: int32(p), Offset: offsets[p]}}
	}
	return entries
}

// rawProduce writes evs to a new topic of DefaultPartitions partitions with a raw kafka-go
// Writer, the records as the hub's publisher encodes them (CloudEvents binary mode), in batches
// of *batch from *clients goroutines, and returns messages/s.
func rawProduce(ctx context.Context, brokers []string, topic string, evs []events.Event) (float64, error) {
	kc := &kafka.Client{Addr: kafka.TCP(brokers...)}
	res, err := kc.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: kafkalog.DefaultPartitions, ReplicationFactor: 1}}})
	if err != nil {
		return 0, err
	}
	if err := res.Errors[topic]; err != nil {
		return 0, err
	}
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers...), Topic: topic, Balancer: kafka.Murmur2Balancer{Consistent: true},
		RequiredAcks: kafka.RequireAll, BatchTimeout: kafkalog.DefaultLinger, BatchSize: kafkalog.DefaultBatchSize,
		MaxAttempts: kafkalog.DefaultMaxAttempts,
	}
	defer w.Close()
	recs := make([]kafka.Message, len(evs))
	for i, ev := range evs {
		m := eventlog.ToMessage(ev)
		km := kafka.Message{Key: []byte(ev.PartitionKey()), Value: m.Payload,
			Headers: []kafka.Header{{Key: kafkalog.HeaderUUID, Value: []byte(m.UUID)}}}
		keys := make([]string, 0, len(m.Metadata))
		for k := range m.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			km.Headers = append(km.Headers, kafka.Header{Key: k, Value: []byte(m.Metadata[k])})
		}
		recs[i] = km
	}
	// Warm up: metadata and connections.
	if err := w.WriteMessages(ctx, recs[0]); err != nil {
		return 0, err
	}
	jobs := make(chan []kafka.Message)
	go func() {
		for i := 0; i < len(recs); i += *batch {
			jobs <- recs[i:min(i+*batch, len(recs))]
		}
		close(jobs)
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := w.WriteMessages(ctx, j...); err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return float64(len(recs)) / time.Since(start).Seconds(), firstErr
}

// startGateway creates a key for every bureau in the data folder dir, starts `fangxin serve
// --role gateway` on it in namespace ns and pushes one complaint on merchant uscc through it
// before it returns, as the raw produce baseline writes one record first: the gateway's
// producer opens its connections and reads the topic's metadata on its first write.
func startGateway(dir, ns, brokers, esURL, uscc string) (*hubProc, *client, error) {
	keys := map[string]string{}
	for _, bu := range events.Bureaus() {
		k, err := exec.Command(*bin, "keys", "create", "--data-dir", dir, "--bureau", bu.Code).Output()
		if err != nil {
			return nil, nil, err
		}
		keys[bu.Code] = strings.TrimSpace(string(k))
	}
	gw, err := startRole(dir, "gateway", ns, brokers, esURL)
	if err != nil {
		return nil, nil, err
	}
	c := &client{url: gw.url, keys: keys}
	if _, err := c.post("hotline-12315", []events.Event{c.fresh(uscc)}); err != nil {
		gw.stop()
		return nil, nil, fmt.Errorf("gateway warm-up push: %w", err)
	}
	return gw, c, nil
}

// warmHub pushes evs through a gateway in namespace ns, lets a projector catch up with them,
// stops both and drops the namespace: a warm-up whose figures are discarded.
func warmHub(work, ns, brokers, esURL string, evs []events.Event) error {
	defer dropNamespace(brokers, esURL, ns)
	dir := filepath.Join(work, ns)
	gw, c, err := startGateway(dir, ns, brokers, esURL, merchantsOf(evs)[0])
	if err != nil {
		return err
	}
	defer gw.stop()
	if _, _, _, err := c.ingest(evs); err != nil {
		return err
	}
	pr, err := startRole(dir, "projector", ns, brokers, esURL, strings.Fields(*projectorArgs)...)
	if err != nil {
		return err
	}
	defer pr.stop()
	start := time.Now()
	if err := pr.caughtUp(30 * time.Minute); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "distributed warm-up: projector %s\n", rate(float64(len(evs))/time.Since(start).Seconds()))
	return nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// startRole starts `fangxin serve --role role` on the services in namespace ns.
func startRole(dir, role, ns, brokers, esURL string, extra ...string) (*hubProc, error) {
	env := append(os.Environ(), "FANGXIN_KAFKA_BROKERS=", "FANGXIN_ELASTICSEARCH_URL=", "FANGXIN_NAMESPACE=", "FANGXIN_DEBUG_LISTEN=")
	args := []string{"serve", "--role", role, "--data-dir", dir, "--listen", "127.0.0.1:0", "--log-level", "warn",
		"--namespace", ns, "--kafka-brokers", brokers, "--elasticsearch-url", esURL}
	if *debugPorts {
		port := map[string]string{"gateway": "6061", "projector": "6062"}[role]
		fmt.Fprintf(os.Stderr, "%s: profiler at http://127.0.0.1:%s/debug/pprof/\n", role, port)
		args = append(args, "--debug-listen", "127.0.0.1:"+port)
	}
	return launch(env, append(args, extra...)...)
}

var projectorArgs = flag.String("projector-args", "", "extra flags of the distributed phase's projector process, e.g. --no-rule-engine to measure the views alone")

var warmRounds = flag.Int("warm-rounds", 5, "most warm-up rounds (raw produce and raw bulk of the dataset, discarded) before the distributed phase; they stop once the bulk rate gains less than 15%")

var debugPorts = flag.Bool("debug-ports", false, "serve the profilers of the embedded hub on 127.0.0.1:6060, the distributed phase's gateway and projector on :6061 and :6062, and this load generator on :6063 (go tool pprof http://127.0.0.1:6062/debug/pprof/profile)")

// dropNamespace deletes what the phase created: its topics, consumer groups and indices.
func dropNamespace(brokers, esURL, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...)}
	topics := []string{ns + ".raw", ns + ".raw2", ns + ".fangxin.events.v1", ns + ".fangxin.poison.v1"}
	for round := 1; round <= *warmRounds; round++ {
		topics = append(topics, fmt.Sprintf("%s.warm%d", ns, round))
	}
	_, _ = kc.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
	_, _ = kc.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{ns + ".views"}})
	// Elasticsearch refuses to delete indices by wildcard (action.destructive_requires_name):
	// list them, then delete them by name.
	base := strings.Split(esURL, ",")[0]
	esDo := func(method, path string) []byte {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	for _, prefix := range []string{ns + "-fangxin", ns + "-raw"} {
		if names := strings.Fields(string(esDo("GET", "/_cat/indices/"+prefix+"-*?h=index"))); len(names) > 0 {
			esDo("DELETE", "/"+strings.Join(names, ","))
		}
		esDo("DELETE", "/_index_template/"+prefix+"-timeline,"+prefix+"-merchants")
	}
}

// procCPU returns the CPU seconds (user and system) process pid has used, 0 when /proc does not
// say.
func procCPU(pid int) float64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
	f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	sy, _ := strconv.Atoi(f[12])
	return float64(u+sy) / 100 // USER_HZ
}

// us formats seconds as microseconds.
func us(s float64) string { return fmt.Sprintf("%.0f µs", s*1e6) }

// esGets returns how many real-time gets the indices behind the given names have answered
// (index stats; 0 when they do not say): the projector's reads, one figure a busy machine does
// not distort.
func esGets(esURL, names string) int64 {
	resp, err := http.Get(strings.Split(esURL, ",")[0] + "/" + names + "/_stats/get?filter_path=_all.primaries.get.total")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var out struct {
		All struct {
			Primaries struct {
				Get struct {
					Total int64 `json:"total"`
				} `json:"get"`
			} `json:"primaries"`
		} `json:"_all"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0
	}
	return out.All.Primaries.Get.Total
}
