// Package examples_test checks every shipped example connector the way `fangxin connect check`
// does: every record maps to a valid event, except the rows the README names as bad on purpose.
package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
	"github.com/lizhou/fangxin/events"
)

// badRows are the rows the README documents as bad on purpose.
// skipped counts the records skip mappings drop on purpose.
var skipped = map[string]int64{"hotline-12345": 1}

var badRows = map[string][]int{
	"quality-sampling": {6},
	"hotline-12345":    {6},
}

func TestExamples(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 9 {
		t.Fatalf("found %d example connectors, want the 9 the README lists", len(files))
	}
	readme, _ := os.ReadFile("README.md")
	types := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(f, ".yaml")
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(string(readme), "`"+f+"`") {
				t.Errorf("README.md does not list %s", f)
			}
			l, err := connectors.Load(f, kinds.All())
			if err != nil {
				t.Fatal(err)
			}
			var out, errs bytes.Buffer
			st, err := connectors.Run(context.Background(), l, connectors.Options{DryRun: &out, Errors: &errs})
			if err != nil {
				t.Fatal(err)
			}
			var gotBad []int
			for _, m := range regexp.MustCompile(`第(\d+)行：`).FindAllStringSubmatch(errs.String(), -1) {
				n, _ := strconv.Atoi(m[1])
				gotBad = append(gotBad, n)
			}
			if !slices.Equal(gotBad, badRows[name]) || st.DeadLettered != int64(len(badRows[name])) {
				t.Errorf("bad rows %v (%d failed), want %v:\n%s", gotBad, st.DeadLettered, badRows[name], errs.String())
			}
			if st.Skipped != skipped[name] {
				t.Errorf("skipped %d records, want %d", st.Skipped, skipped[name])
			}
			if st.Sent == 0 || st.Sent+st.DeadLettered+st.Skipped != st.Read {
				t.Errorf("stats %+v", st)
			}
			ids := map[string]bool{}
			dec := json.NewDecoder(&out)
			for dec.More() {
				var ev events.Event
				if err := dec.Decode(&ev); err != nil {
					t.Fatal(err)
				}
				if ps := events.Validate(ev, l.Bureau); len(ps) > 0 {
					t.Errorf("printed an invalid event %s: %v", ev.ID, ps)
				}
				if ids[ev.ID] {
					t.Errorf("two records got id %s", ev.ID)
				}
				ids[ev.ID] = true
				types[ev.Type] = true
			}
			for _, row := range badRows[name] {
				if !strings.Contains(string(readme), "第"+strconv.Itoa(row)+"行") {
					t.Errorf("README.md does not explain bad row %d", row)
				}
			}
		})
	}
	for _, typ := range []string{events.TypeMerchantRegistered, events.TypePenaltyImposed, events.TypeInspectionCompleted, events.TypeSamplingCompleted,
		events.TypeComplaintReceived, events.TypeCertificationGranted, events.TypeCertificationRevoked,
		events.TypeCreditListed, events.TypeCreditDelisted} {
		if !types[typ] {
			t.Errorf("no example produces %s", typ)
		}
	}
}
