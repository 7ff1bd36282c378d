package distributed

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// An unreachable broker or a wrong Elasticsearch URL stops the start at once with one message
// naming the setting to fix.
func TestBadSettingsFailAtStartNamingTheSetting(t *testing.T) {
	needStack(t)
	for _, tc := range []struct {
		name, brokers, es, want string
	}{
		{"unreachable broker", "127.0.0.1:1", esURL, "FANGXIN_KAFKA_BROKERS"},
		{"broker port that is not Kafka", strings.TrimPrefix(esURL, "http://"), esURL, "FANGXIN_KAFKA_BROKERS"},
		{"nothing at the Elasticsearch URL", kafkaURL, "http://127.0.0.1:1", "FANGXIN_ELASTICSEARCH_URL"},
		{"Kafka at the Elasticsearch URL", kafkaURL, "http://" + kafkaURL, "FANGXIN_ELASTICSEARCH_URL"},
		{"not a URL", kafkaURL, "127.0.0.1:9200", "FANGXIN_ELASTICSEARCH_URL"},
		{"bad namespace", kafkaURL, esURL, "FANGXIN_NAMESPACE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "e2e-settings"
			if tc.want == "FANGXIN_NAMESPACE" {
				ns = "Not_A_Namespace"
			}
			cmd := exec.Command(binPath, "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
				"--kafka-brokers", tc.brokers, "--elasticsearch-url", tc.es, "--namespace", ns)
			cmd.Env = append(os.Environ(), "FANGXIN_KAFKA_BROKERS=", "FANGXIN_ELASTICSEARCH_URL=", "FANGXIN_NAMESPACE=")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("fangxin started with %s", tc.name)
				}
			case <-time.After(25 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("fangxin neither failed nor stopped within 25 s: %s", stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("want one line naming %s, got:\n%s", tc.want, stderr.String())
			}
			t.Logf("%s, after %s: %s", tc.name, time.Since(start).Round(time.Millisecond), lines[0])
		})
	}
}
