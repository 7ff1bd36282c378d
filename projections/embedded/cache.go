package embedded

import (
	"bytes"

	"github.com/lizhou/fangxin/projections"
)

// profileCache keeps the decoded profiles of the merchants the live commit stage folded or read
// last, so a merchant's next event does not decode its profile from JSON again. It is owned by
// the commit goroutine (no locking).
//
// An entry is trusted only when its encoding equals, byte for byte, what bbolt holds for the
// merchant in the transaction at hand: a rolled-back commit, a restart or any other writer can
// therefore never make it answer stale data, and nothing has to be invalidated. Cached profiles
// are never changed in place (folds work on copies, foldCopy); the cache owns both values.
type profileCache struct {
	max     int
	entries map[string]cachedProfile
}

type cachedProfile struct {
	enc  []byte
	prof *projections.MerchantProfile
}

func newProfileCache(max int) *profileCache {
	return &profileCache{max: max, entries: map[string]cachedProfile{}}
}

// get returns the cached profile of uscc if its encoding is stored, else nil.
func (c *profileCache) get(uscc string, stored []byte) ([]byte, *projections.MerchantProfile) {
	e, ok := c.entries[uscc]
	if !ok || !bytes.Equal(e.enc, stored) {
		return nil, nil
	}
	return e.enc, e.prof
}

// put records prof, encoded as enc (committed). When the cache is full, arbitrary entries make
// room (Go's map order): a miss costs one decode, so no recency bookkeeping is worth its price.
func (c *profileCache) put(uscc string, enc []byte, prof *projections.MerchantProfile) {
	if c.max <= 0 || prof == nil {
		return
	}
	if _, ok := c.entries[uscc]; !ok && len(c.entries) >= c.max {
		drop := max(c.max/8, 1)
		for k := range c.entries {
			delete(c.entries, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.entries[uscc] = cachedProfile{enc: enc, prof: prof}
}
