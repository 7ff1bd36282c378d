package events

import (
	"errors"
	"testing"
)

func TestCheckUSCC(t *testing.T) {
	for _, tc := range []struct {
		code string
		want error
	}{
		{"91110000600037341L", nil}, // a published code (Peking University Founder Group style)
		{"91350100M000100Y43", nil},
		{"91350100M000100Y4", ErrUSCCLength},
		{"91350100M000100Y44", ErrUSCCCheck},
		{"91350100M0001O0Y43", ErrUSCCAlphabet},
		{"", ErrUSCCLength},
	} {
		if got := CheckUSCC(tc.code); !errors.Is(got, tc.want) {
			t.Errorf("CheckUSCC(%q) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

func FuzzCheckUSCC(f *testing.F) {
	f.Add("91350100M000100Y43")
	f.Fuzz(func(t *testing.T, s string) {
		if CheckUSCC(s) == nil {
			c, ok := USCCCheckChar(s[:17])
			if !ok || c != s[17] {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}
