package embedded

import (
	"fmt"
	"testing"

	"github.com/lizhou/fangxin/projections"
)

func TestProfileCache(t *testing.T) {
	p1 := &projections.MerchantProfile{USCC: "A", Name: "老张火锅店"}
	tests := []struct {
		name   string
		max    int
		put    []string // usccs put with encoding "v1"
		get    string
		stored string
		hit    bool
	}{
		{"hit when bbolt holds the cached encoding", 4, []string{"A"}, "A", "v1", true},
		{"miss when bbolt holds another encoding (rolled back, or written elsewhere)", 4, []string{"A"}, "A", "v2", false},
		{"miss for a merchant never cached", 4, []string{"A"}, "B", "v1", false},
		{"off", -1, []string{"A"}, "A", "v1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newProfileCache(tt.max)
			for _, u := range tt.put {
				c.put(u, []byte("v1"), p1)
			}
			enc, p := c.get(tt.get, []byte(tt.stored))
			if (p != nil) != tt.hit {
				t.Fatalf("get(%s, %s) = %v, want hit %v", tt.get, tt.stored, p, tt.hit)
			}
			if tt.hit && (p != p1 || string(enc) != "v1") {
				t.Errorf("hit answered %q %v", enc, p)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		c := newProfileCache(16)
		for i := range 1000 {
			c.put(fmt.Sprint(i), []byte("v"), p1)
			if len(c.entries) > 16 {
				t.Fatalf("%d entries after %d puts, cap 16", len(c.entries), i+1)
			}
		}
		if _, p := c.get("999", []byte("v")); p == nil {
			t.Error("the latest put was evicted")
		}
	})
}

func TestDecodePending(t *testing.T) {
	tests := []struct {
		name  string
		k, v  []byte
		key   string
		flags byte
		ok    bool
	}{
		{"numbered marker", pendingKey(7), append([]byte{pendingRefresh}, "/bureaus/amr c-1"...), "/bureaus/amr c-1", pendingRefresh, true},
		{"the earlier layout: event key -> flags", []byte("/bureaus/amr c-1"), []byte{0}, "/bureaus/amr c-1", 0, true},
		{"an 8-byte event key of the earlier layout", []byte("12345678"), []byte{pendingRefresh}, "12345678", pendingRefresh, true},
		{"numbered marker without a key", pendingKey(7), nil, "", 0, false},
		{"neither layout", []byte("abc"), []byte{1, 2}, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, flags, ok := decodePending(tt.k, tt.v)
			if ok != tt.ok || (ok && (string(key) != tt.key || flags != tt.flags)) {
				t.Errorf("decodePending = %q, %d, %v; want %q, %d, %v", key, flags, ok, tt.key, tt.flags, tt.ok)
			}
		})
	}
}
