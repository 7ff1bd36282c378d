package delivery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lizhou/fangxin/events"
)

func incident(typ string, data map[string]any) events.Event {
	b, _ := json.Marshal(data)
	return events.Event{SpecVersion: "1.0", ID: "INC-1", Source: events.HubSource, Type: typ, Time: time.Now(), Data: b}
}

func TestFilterMatches(t *testing.T) {
	detected := incident(TypeIncidentDetected, map[string]any{"rule": "merchant-burst", "level": "III", "industry": "R8930",
		"township": "嘉陵街道", "responsible_bureaus": []string{"amr", "commerce"}})
	resolved := incident(TypeIncidentResolved, map[string]any{"incident_id": "INC-1", "rule": "merchant-burst"})
	warning := events.Event{Type: events.TypeWarningIssued, Source: "/bureaus/amr", Data: json.RawMessage(`{"township":"510802002","industry":"R8930"}`)}
	complaint := events.Event{Type: events.TypeComplaintReceived, Data: json.RawMessage(`{}`)}
	for _, tc := range []struct {
		name   string
		bureau string
		f      Filter
		ev     events.Event
		want   bool
	}{
		{"no filter takes incidents", "amr", Filter{}, detected, true},
		{"no filter skips warnings", "amr", Filter{}, warning, false},
		{"never other types", "amr", Filter{Types: []string{events.TypeComplaintReceived}}, complaint, false},
		{"warnings on request", "amr", Filter{Types: []string{events.TypeWarningIssued}}, warning, true},
		{"rule matches", "amr", Filter{Rules: []string{"merchant-burst"}}, detected, true},
		{"rule differs", "amr", Filter{Rules: []string{"category-surge"}}, detected, false},
		{"level in list", "amr", Filter{Levels: []string{"II", "III"}}, detected, true},
		{"level not in list", "amr", Filter{Levels: []string{"I"}}, detected, false},
		{"industry prefix", "amr", Filter{Industries: []string{"R89"}}, detected, true},
		{"industry other", "amr", Filter{Industries: []string{"H62"}}, detected, false},
		{"township by code matches a name", "amr", Filter{Townships: []string{"510802002"}}, detected, true},
		{"township other", "amr", Filter{Townships: []string{"510802100"}}, detected, false},
		{"routed to me: lead", "amr", Filter{RoutedToMe: true}, detected, true},
		{"routed to me: responsible", "commerce", Filter{RoutedToMe: true}, detected, true},
		{"routed to me: not named", "health", Filter{RoutedToMe: true}, detected, false},
		{"inhibited is routed to no one", "amr", Filter{}, incident(TypeIncidentUpdated, map[string]any{"rule": "merchant-burst", "inhibited_by": "INC-0"}), false},
		{"silenced is routed to no one", "amr", Filter{}, incident(TypeIncidentDetected, map[string]any{"rule": "merchant-burst", "silenced_by": "sil-1"}), false},
		{"resolved lacks level: not excluded", "amr", Filter{Levels: []string{"I"}}, resolved, true},
		{"resolved of another rule", "amr", Filter{Rules: []string{"x"}}, resolved, false},
		{"warning township", "amr", Filter{Types: []string{events.TypeWarningIssued}, Townships: []string{"510802100"}}, warning, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Subscription{Bureau: tc.bureau, Filter: tc.f}
			if got := s.Matches(tc.ev); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
			s.Disabled = true
			if s.Matches(tc.ev) {
				t.Fatal("a disabled subscription matched")
			}
		})
	}
}

func TestDestinations(t *testing.T) {
	d := Destinations{Allow: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("127.0.0.1/32")}}
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"203.0.113.7", true}, {"8.8.8.8", true}, {"2001:db8::1", true},
		{"10.20.3.4", true}, {"127.0.0.1", true}, {"::ffff:127.0.0.1", true},
		{"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false}, {"127.0.0.2", false},
		{"169.254.169.254", false}, {"::1", false}, {"fe80::1", false}, {"fd00::1", false},
		{"0.0.0.0", false}, {"100.64.0.1", false}, {"224.0.0.1", false},
	} {
		if got := d.Permitted(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Permitted(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	ctx := context.Background()
	for _, tc := range []struct{ url, rule string }{
		{"https://203.0.113.7/hook", ""},
		{"http://localhost:8080/x", "public-destination"},
		{"http://192.168.0.10/x", "public-destination"},
		{"ftp://203.0.113.7/x", "url"},
		{"/relative", "url"},
		{"https://user:pw@203.0.113.7/", "url"},
		{"https://no-such-host.invalid/", "resolvable"},
	} {
		if rule, _ := (Destinations{}).CheckURL(ctx, tc.url); rule != tc.rule {
			t.Errorf("CheckURL(%s) rule = %q, want %q", tc.url, rule, tc.rule)
		}
	}
}

// verifyIndependently is the Standard Webhooks check written from the spec, not from Sign.
func verifyIndependently(secret, id, ts string, body []byte, header string) bool {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, s := range strings.Split(header, " ") {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

func TestSign(t *testing.T) {
	// The Standard Webhooks spec's own example (standard-webhooks/spec, "Signature scheme").
	const (
		specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		specBody   = `{"test": 2432232314}`
		specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	got, err := Sign(specID, time.Unix(1614265330, 0), []byte(specBody), specSecret)
	if err != nil || got != specSig {
		t.Fatalf("Sign(spec example) = %q, %v; want %q", got, err, specSig)
	}
	a, b := NewSecret(), NewSecret()
	body := []byte(`{"type":"incident.detected","data":{"level":"II"}}`)
	now := time.Now()
	two, err := Sign("msg_1", now, body, a, b)
	if err != nil {
		t.Fatal(err)
	}
	ts := fmt.Sprint(now.Unix())
	if !verifyIndependently(a, "msg_1", ts, body, two) || !verifyIndependently(b, "msg_1", ts, body, two) {
		t.Fatalf("a verifier rejects %q", two)
	}
	if verifyIndependently(NewSecret(), "msg_1", ts, body, two) || verifyIndependently(a, "msg_2", ts, body, two) ||
		verifyIndependently(a, "msg_1", ts, append(body, ' '), two) {
		t.Fatal("a verifier accepts a wrong secret, id or body")
	}
	if _, err := Sign("msg_1", now, body, "not-a-secret"); err == nil {
		t.Fatal("Sign accepted a secret without whsec_")
	}
}

func TestSigningSecretsDuringRotation(t *testing.T) {
	now := time.Now()
	later := now.Add(time.Hour)
	s := Subscription{Secret: "whsec_new", PreviousSecret: "whsec_old", PreviousValidUntil: &later}
	if got := s.signingSecrets(now); len(got) != 2 || got[0] != "whsec_new" {
		t.Fatalf("during the grace period: %v", got)
	}
	if got := s.signingSecrets(later.Add(time.Second)); len(got) != 1 {
		t.Fatalf("after the grace period: %v", got)
	}
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	d := &Deliverer{cfg: Config{InitialBackoff: time.Second, MaxBackoff: time.Minute}}
	for n, ceil := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 7: time.Minute, 100: time.Minute} {
		var maxSeen time.Duration
		for range 2000 {
			w := d.backoff(n)
			if w < 0 || w > ceil {
				t.Fatalf("backoff(%d) = %s outside [0, %s]", n, w, ceil)
			}
			maxSeen = max(maxSeen, w)
		}
		if maxSeen < ceil/2 {
			t.Errorf("backoff(%d) never above %s in 2000 draws: not spread over [0, %s]", n, maxSeen, ceil)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Time
	}{
		{"", time.Time{}}, {"120", now.Add(2 * time.Minute)}, {"-1", time.Time{}}, {"soon", time.Time{}},
		{"Fri, 27 Nov 2026 10:05:00 GMT", now.Add(5 * time.Minute)},
	} {
		if got := retryAfter(tc.v, now); !got.Equal(tc.want) {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := Config{Workers: -1, InitialBackoff: time.Hour, MaxBackoff: time.Minute, AttemptTimeout: -time.Second, AllowCIDRs: []string{"10.0.0.0/8", "nonsense"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"--webhook-workers", "--webhook-attempt-timeout", "--webhook-backoff", "--webhook-allow-cidr"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not name %s: %v", want, err)
		}
	}
	var ok Config
	ok.SetDefaults()
	ok.AllowCIDRs = []string{"10.0.0.0/8", "127.0.0.1"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}
