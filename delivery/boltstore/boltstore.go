// Package boltstore is the embedded delivery.Store: one bbolt file in the data folder
// (webhooks.db). Every write is one fsync'd bbolt transaction, so it is durable on return; bbolt
// serialises writers, which is what makes Claim exclusive. One process at a time opens the file
// (the embedded hub is one process).
package boltstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lizhou/fangxin/delivery"
)

var (
	bSubs  = []byte("subscriptions") // id -> delivery.MarshalStored
	bDeliv = []byte("deliveries")    // id -> delivery JSON
	bDue   = []byte("due")           // be64(unix nanos) | id -> nil, for pending deliveries
	bBySub = []byte("by_sub")        // sub | 0 | be64(created nanos) | id -> nil
)

// Store is the bbolt backend.
type Store struct{ db *bolt.DB }

var _ delivery.Store = (*Store)(nil)

// Open opens (creating) the store at path, waiting at most a second for another process's lock.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("webhook store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bSubs, bDeliv, bDue, bBySub} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) CreateSubscription(_ context.Context, sub delivery.Subscription) error {
	b, err := delivery.MarshalStored(sub)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bSubs)
		if bk.Get([]byte(sub.ID)) != nil {
			return delivery.ErrExists
		}
		return bk.Put([]byte(sub.ID), b)
	})
}

func (s *Store) Subscription(_ context.Context, id string) (sub delivery.Subscription, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bSubs).Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		sub, err = delivery.UnmarshalStored(v)
		return err
	})
	return sub, ok, err
}

func (s *Store) ListSubscriptions(_ context.Context, bureau string) ([]delivery.Subscription, error) {
	var out []delivery.Subscription
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bSubs).ForEach(func(_, v []byte) error {
			sub, err := delivery.UnmarshalStored(v)
			if err != nil {
				return err
			}
			if bureau == "" || sub.Bureau == bureau {
				out = append(out, sub)
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b delivery.Subscription) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare([]byte(a.ID), []byte(b.ID))
	})
	return out, err
}

func (s *Store) UpdateSubscription(_ context.Context, id string, change func(*delivery.Subscription)) (sub delivery.Subscription, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bSubs)
		v := bk.Get([]byte(id))
		if v == nil {
			return delivery.ErrNotFound
		}
		if sub, err = delivery.UnmarshalStored(v); err != nil {
			return err
		}
		change(&sub)
		sub.ID = id
		b, err := delivery.MarshalStored(sub)
		if err != nil {
			return err
		}
		return bk.Put([]byte(id), b)
	})
	return sub, err
}

func (s *Store) DeleteSubscription(_ context.Context, id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bSubs)
		if bk.Get([]byte(id)) == nil {
			return delivery.ErrNotFound
		}
		return bk.Delete([]byte(id))
	})
}

func be64(t time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano()))
	return b[:]
}

func dueKey(at time.Time, id string) []byte { return append(be64(at), id...) }

func subKey(d delivery.Delivery) []byte {
	k := append([]byte(d.Subscription), 0)
	k = append(k, be64(d.CreatedAt)...)
	return append(k, d.ID...)
}

func getDelivery(tx *bolt.Tx, id string) (d delivery.Delivery, ok bool, err error) {
	v := tx.Bucket(bDeliv).Get([]byte(id))
	if v == nil {
		return d, false, nil
	}
	return d, true, json.Unmarshal(v, &d)
}

func putDelivery(tx *bolt.Tx, d delivery.Delivery) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.Bucket(bDeliv).Put([]byte(d.ID), b)
}

// dueAt is when a pending delivery can next be claimed.
func dueAt(d delivery.Delivery) time.Time {
	if d.ClaimedUntil.After(d.NextAt) {
		return d.ClaimedUntil
	}
	return d.NextAt
}

// setState stores d and moves its due entry from the one of old (nil: none) to d's.
func setState(tx *bolt.Tx, old *delivery.Delivery, d delivery.Delivery) error {
	due := tx.Bucket(bDue)
	if old != nil && old.State == delivery.Pending {
		if err := due.Delete(dueKey(dueAt(*old), old.ID)); err != nil {
			return err
		}
	}
	if d.State == delivery.Pending {
		if err := due.Put(dueKey(dueAt(d), d.ID), nil); err != nil {
			return err
		}
	}
	return putDelivery(tx, d)
}

func (s *Store) Enqueue(_ context.Context, d delivery.Delivery) (created bool, err error) {
	d.State, d.Claim, d.ClaimedUntil = delivery.Pending, "", time.Time{}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if _, ok, err := getDelivery(tx, d.ID); err != nil || ok {
			return err
		}
		created = true
		if err := tx.Bucket(bBySub).Put(subKey(d), nil); err != nil {
			return err
		}
		return setState(tx, nil, d)
	})
	return created, err
}

func newClaim() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Store) Claim(_ context.Context, now time.Time, max int, lease time.Duration) ([]delivery.Delivery, error) {
	var out []delivery.Delivery
	err := s.db.Update(func(tx *bolt.Tx) error {
		out = out[:0]
		var ids []string
		c := tx.Bucket(bDue).Cursor()
		limit := be64(now)
		for k, _ := c.First(); k != nil && len(ids) < max && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
			ids = append(ids, string(k[8:]))
		}
		for _, id := range ids {
			d, ok, err := getDelivery(tx, id)
			if err != nil {
				return err
			}
			if !ok || d.State != delivery.Pending {
				continue
			}
			old := d
			d.Claim, d.ClaimedUntil = newClaim(), now.Add(lease)
			if err := setState(tx, &old, d); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

func (s *Store) ClaimID(_ context.Context, id string, now time.Time, lease time.Duration) (d delivery.Delivery, ok bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		var found bool
		if d, found, err = getDelivery(tx, id); err != nil || !found || !d.Claimable(now) {
			return err
		}
		old := d
		d.Claim, d.ClaimedUntil = newClaim(), now.Add(lease)
		ok = true
		return setState(tx, &old, d)
	})
	return d, ok, err
}

func (s *Store) Record(_ context.Context, id, claim string, a delivery.Attempt, next delivery.State, nextAt time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		d, ok, err := getDelivery(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return delivery.ErrNotFound
		}
		if d.State != delivery.Pending || d.Claim != claim || claim == "" {
			return delivery.ErrClaimLost
		}
		old := d
		delivery.ApplyAttempt(&d, a, next, nextAt)
		return setState(tx, &old, d)
	})
}

func (s *Store) Delivery(_ context.Context, id string) (d delivery.Delivery, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		d, ok, err = getDelivery(tx, id)
		return err
	})
	return d, ok, err
}

func (s *Store) ListDeliveries(_ context.Context, subscription string, limit int, after string) ([]delivery.Delivery, error) {
	var out []delivery.Delivery
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(subscription), 0)
		c := tx.Bucket(bBySub).Cursor()
		// Walk the subscription's keys from the newest backwards.
		end := append(bytes.Clone(prefix), 0xff)
		k, _ := c.Seek(end)
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		skipping := after != ""
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Prev() {
			id := string(k[len(prefix)+8:])
			if skipping {
				skipping = id != after
				continue
			}
			d, ok, err := getDelivery(tx, id)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
}

func (s *Store) Redeliver(_ context.Context, id string, now time.Time) (d delivery.Delivery, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		var ok bool
		if d, ok, err = getDelivery(tx, id); err != nil {
			return err
		}
		if !ok {
			return delivery.ErrNotFound
		}
		old := d
		d.State, d.NextAt, d.Claim, d.ClaimedUntil = delivery.Pending, now, "", time.Time{}
		return setState(tx, &old, d)
	})
	return d, err
}
