package incidents

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// Bolt is the embedded Store: one bbolt file. Incidents and silences are few (hundreds a
// year), so queries scan and filter them in memory; the feed is a bucket keyed by sequence.
type Bolt struct {
	db    *bolt.DB
	fresh bool
}

var (
	_ Store = (*Bolt)(nil)
	_ Fresh = (*Bolt)(nil)
)

// Fresh reports whether OpenBolt created the store.
func (s *Bolt) Fresh() bool { return s.fresh }

var (
	bIncidents = []byte("incidents") // incident id -> Incident JSON
	bSilences  = []byte("silences")  // silence id -> Silence JSON
	bFeed      = []byte("feed")      // seq (8 bytes big-endian) -> Event JSON
	bSeen      = []byte("seen")      // event key -> seq: Apply is idempotent
)

// OpenBolt opens (creating) the store at path.
func OpenBolt(path string) (*Bolt, error) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return nil, fmt.Errorf("incidents: %s: %w", path, err)
	}
	fresh := false
	err = db.Update(func(tx *bolt.Tx) error {
		fresh = tx.Bucket(bSeen) == nil
		for _, b := range [][]byte{bIncidents, bSilences, bFeed, bSeen} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Bolt{db: db, fresh: fresh}, nil
}

func (s *Bolt) Close() error { return s.db.Close() }

// Apply folds ev in one bbolt transaction (fsync'd on return).
func (s *Bolt) Apply(_ context.Context, ev events.Event) error {
	lifecycle := IsLifecycle(ev.Type)
	silence := ev.Type == events.TypeSilenceCreated || ev.Type == events.TypeSilenceDeleted
	if !lifecycle && !silence {
		return nil
	}
	// Batch: the router applies events of different incidents concurrently, and under a
	// district-wide wave of complaints the rule engine updates many incidents a second; one
	// transaction (one fsync) per event made this projector cost more CPU than the views'
	// group commits. The function only touches the transaction, so bbolt may run it again
	// alone when a batch fails.
	return s.db.Batch(func(tx *bolt.Tx) error {
		seen := tx.Bucket(bSeen)
		key := []byte(ev.Key())
		if seen.Get(key) != nil {
			return nil
		}
		seq, err := tx.Bucket(bFeed).NextSequence()
		if err != nil {
			return err
		}
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], seq)
		if err := seen.Put(key, k[:]); err != nil {
			return err
		}
		if silence {
			return s.foldSilence(tx, ev)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bFeed).Put(k[:], b); err != nil {
			return err
		}
		id := IncidentIDOf(ev)
		if id == "" {
			return nil
		}
		var cur Incident
		if v := tx.Bucket(bIncidents).Get([]byte(id)); v != nil {
			if err := json.Unmarshal(v, &cur); err != nil {
				return err
			}
		}
		if changed, err := FoldIncident(&cur, ev); err != nil || !changed {
			return nil // an event that does not decode changes nothing (validated upstream)
		}
		v, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		return tx.Bucket(bIncidents).Put([]byte(id), v)
	})
}

func (s *Bolt) foldSilence(tx *bolt.Tx, ev events.Event) error {
	var id struct {
		SilenceID string `json:"silence_id"`
	}
	if json.Unmarshal(ev.Data, &id) != nil || id.SilenceID == "" {
		return nil
	}
	var cur Silence
	if v := tx.Bucket(bSilences).Get([]byte(id.SilenceID)); v != nil {
		if err := json.Unmarshal(v, &cur); err != nil {
			return err
		}
	}
	if changed, err := FoldSilence(&cur, ev); err != nil || !changed {
		return nil
	}
	v, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	return tx.Bucket(bSilences).Put([]byte(id.SilenceID), v)
}

func (s *Bolt) Incident(_ context.Context, id string) (Incident, bool, error) {
	var inc Incident
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bIncidents).Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &inc)
	})
	return inc, ok, err
}

func (s *Bolt) Incidents(_ context.Context, f Filter) (Page, error) {
	limit, err := projections.PageLimit(f.Limit)
	if err != nil {
		return Page{}, err
	}
	cur, err := DecodeCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	var all []Incident
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bIncidents).ForEach(func(_, v []byte) error {
			var inc Incident
			if err := json.Unmarshal(v, &inc); err != nil {
				return err
			}
			if f.Match(inc) && cur.After(inc) {
				all = append(all, inc)
			}
			return nil
		})
	})
	if err != nil {
		return Page{}, err
	}
	slices.SortFunc(all, Less)
	var p Page
	if len(all) > limit {
		all = all[:limit]
		last := all[limit-1]
		p.Next = Cursor{DetectedAt: last.DetectedAt, ID: last.IncidentID}.Encode()
	}
	p.Incidents = all
	return p, nil
}

func (s *Bolt) Silence(_ context.Context, id string) (Silence, bool, error) {
	var sil Silence
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bSilences).Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &sil)
	})
	return sil, ok && sil.CreatedBy != "", err
}

func (s *Bolt) Silences(_ context.Context) ([]Silence, error) {
	var out []Silence
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bSilences).ForEach(func(_, v []byte) error {
			var sil Silence
			if err := json.Unmarshal(v, &sil); err != nil {
				return err
			}
			if sil.CreatedBy != "" {
				out = append(out, sil)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Silence) int {
		if c := b.StartsAt.Compare(a.StartsAt); c != 0 {
			return c
		}
		return -compareStrings(a.SilenceID, b.SilenceID)
	})
	return out, err
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Bolt) Feed(_ context.Context, after int64, limit int) ([]FeedEntry, error) {
	if limit <= 0 {
		limit = projections.DefaultLimit
	}
	var out []FeedEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bFeed).Cursor()
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], uint64(after+1))
		for key, v := c.Seek(k[:]); key != nil && len(out) < limit; key, v = c.Next() {
			var ev events.Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			out = append(out, FeedEntry{Seq: int64(binary.BigEndian.Uint64(key)), Event: ev})
		}
		return nil
	})
	return out, err
}
