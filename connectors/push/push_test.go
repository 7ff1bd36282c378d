package push

import (
	"errors"
	"testing"

	"github.com/lizhou/fangxin/connectors"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		records string
		body    string
		n       int
		want    map[string]any // values of the first record
		bad     bool
	}{
		{"array", "", `[{"a": "x"}, {"a": "y"}]`, 2, map[string]any{"a": "x"}, false},
		{"one object", "", `{"a": 1200.50, "b": true, "c": null}`, 1, map[string]any{"a": "1200.50", "b": "true", "c": nil}, false},
		{"nested", "", `{"shop": {"name": "老张", "addr": {"road": "蜀门北路"}}}`, 1, map[string]any{"shop.name": "老张", "shop.addr.road": "蜀门北路"}, false},
		{"list kept as JSON", "", `{"tags": [1, "a"]}`, 1, map[string]any{"tags": `[1,"a"]`}, false},
		{"records field", "items", `{"items": [{"a": "x"}], "total": 1}`, 1, map[string]any{"a": "x"}, false},
		{"records field missing", "items", `{"rows": []}`, 0, nil, true},
		{"records field not an array", "items", `{"items": {"a": 1}}`, 0, nil, true},
		{"not JSON", "", `{"a":`, 0, nil, true},
		{"trailing data", "", `{"a": 1} {"a": 2}`, 0, nil, true},
		{"a bare string", "", `"x"`, 0, nil, true},
	} {
		c := &Config{Records: tc.records, MaxRecords: 10}
		recs, err := c.Decode([]byte(tc.body))
		if tc.bad {
			if err == nil {
				t.Errorf("%s: no error", tc.name)
			}
			continue
		}
		if err != nil || len(recs) != tc.n {
			t.Errorf("%s: %d records, %v", tc.name, len(recs), err)
			continue
		}
		for k, v := range tc.want {
			if got, ok := recs[0].Values[k]; !ok || got != v {
				t.Errorf("%s: %s = %#v, want %#v", tc.name, k, got, v)
			}
		}
		if recs[0].Position.Key != "#0" {
			t.Errorf("%s: position %+v", tc.name, recs[0].Position)
		}
	}
	c := &Config{MaxRecords: 2}
	if _, err := c.Decode([]byte(`[{}, {}, {}]`)); !errors.Is(err, ErrTooMany) {
		t.Errorf("3 records over a limit of 2: %v", err)
	}
}

func TestValidate(t *testing.T) {
	if err := (&Config{MaxRecords: 0}).Validate(); err == nil {
		t.Error("max_records 0 accepted")
	}
	if err := (&Config{MaxRecords: 10, Records: "a.b"}).Validate(); err == nil {
		t.Error("a dotted records field accepted")
	}
	if err := (&Config{MaxRecords: 10, Records: "items"}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestRegistryAddsOnce(t *testing.T) {
	reg := Registry(connectors.NewRegistry(), Kind)
	reg = Registry(reg, Kind) // a second time: no panic, still one
	if k, ok := reg.Source("push"); !ok || k.Name != "push" || len(reg.Sources()) != 1 {
		t.Errorf("registry %v", reg.Sources())
	}
}

// FuzzDecode: no body makes Decode panic, and every record it returns is positioned and owns a
// map (or is nil for a non-object, which the gateway answers per record).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`[{"a":1}]`, `{"items":[{"a":{"b":[1,2]}}]}`, `{"a":null}`, `[1,"x",{}]`, `{`, `"x"`, `[]`} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), "items")
	}
	f.Fuzz(func(t *testing.T, body []byte, records string) {
		c := &Config{Records: records, MaxRecords: 100}
		recs, err := c.Decode(body)
		if err != nil {
			return
		}
		for i, r := range recs {
			if r.Position.Key == "" {
				t.Fatalf("record %d has no position", i)
			}
		}
	})
}
