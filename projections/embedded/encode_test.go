package embedded

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// encodeAll visits every index exactly once, on one goroutine or several, and reports an error
// of any of them.
func TestEncodeAll(t *testing.T) {
	for _, n := range []int{0, 1, encodeMin - 1, encodeMin, 2*encodeMin + 1, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			seen := make([]atomic.Int32, n)
			if err := encodeAll(n, func(i int) error { seen[i].Add(1); return nil }); err != nil {
				t.Fatal(err)
			}
			for i := range seen {
				if c := seen[i].Load(); c != 1 {
					t.Fatalf("index %d visited %d times", i, c)
				}
			}
			if n == 0 {
				return
			}
			boom := errors.New("boom")
			err := encodeAll(n, func(i int) error {
				if i == n-1 {
					return boom
				}
				return nil
			})
			if !errors.Is(err, boom) {
				t.Fatalf("error %v, want boom", err)
			}
		})
	}
}
