package incidents_test

import (
	"path/filepath"
	"testing"

	"github.com/lizhou/fangxin/projections/incidents"
	"github.com/lizhou/fangxin/projections/incidents/incidentstest"
)

func TestBoltConformance(t *testing.T) {
	incidentstest.Run(t, func(t *testing.T) incidents.Store {
		s, err := incidents.OpenBolt(filepath.Join(t.TempDir(), "incidents.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestBoltFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "incidents.db")
	s, err := incidents.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Fresh() {
		t.Errorf("a new file is not fresh")
	}
	s.Close()
	if s, err = incidents.OpenBolt(path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Fresh() {
		t.Errorf("an existing file is fresh")
	}
}
