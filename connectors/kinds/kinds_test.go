package kinds_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
)

const docPath = "../../docs/connectors.md"

// docs/connectors.md is generated from the specs; this fails when someone changed a config
// field and not the doc. UPDATE_SPEC=1 rewrites it.
func TestReferenceIsCurrent(t *testing.T) {
	var want bytes.Buffer
	if err := connectors.WriteSpec(&want, kinds.All()); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_SPEC") == "1" {
		if err := os.WriteFile(docPath, want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("%s is stale: run `UPDATE_SPEC=1 go test ./connectors/kinds/` (or `fangxin connect spec > docs/connectors.md`)", docPath)
	}
}

// Every registered kind documents every field and builds its config.
func TestKindsDescribeThemselves(t *testing.T) {
	reg := kinds.All()
	check := func(kind string, cfg any) {
		fs := connectors.SpecOf(cfg)
		if len(fs) == 0 {
			t.Errorf("%s: no config fields", kind)
		}
		for _, f := range fs {
			if f.Description == "" {
				t.Errorf("%s.%s: no desc tag", kind, f.Name)
			}
		}
	}
	for _, k := range reg.Sources() {
		if k.Summary == "" {
			t.Errorf("source %s: no summary", k.Name)
		}
		check(k.Name, k.Config())
	}
	for _, k := range reg.Sinks() {
		if k.Summary == "" {
			t.Errorf("sink %s: no summary", k.Name)
		}
		check(k.Name, k.Config())
	}
	check("connector file", &connectors.Config{})
	check("mapping", &connectors.Mapping{})
	check("value", &connectors.Value{})
}
