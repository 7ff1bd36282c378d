package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/lizhou/fangxin/delivery"
	"github.com/lizhou/fangxin/delivery/boltstore"
	"github.com/lizhou/fangxin/delivery/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (delivery.Store, func() delivery.Store) {
		path := filepath.Join(t.TempDir(), "webhooks.db")
		s, err := boltstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		reopen := func() delivery.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			var err error
			if s, err = boltstore.Open(path); err != nil {
				t.Fatal(err)
			}
			return s
		}
		return s, reopen
	})
}
