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
