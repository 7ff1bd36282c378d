// Package hotlines_test checks the hotline examples: the 12331 export maps every row to a valid
// event, the database connector loads, and the push sample maps every record.
package hotlines_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/lizhou/fangxin/connectors"
	"github.com/lizhou/fangxin/connectors/kinds"
	"github.com/lizhou/fangxin/connectors/postgres"
	"github.com/lizhou/fangxin/connectors/push"
	"github.com/lizhou/fangxin/events"
)

func registry() *connectors.Registry {
	return push.Registry(kinds.All(), postgres.Kind, push.Kind)
}

func TestHotline12331Export(t *testing.T) {
	l, err := connectors.Load("hotline-12331.yaml", registry())
	if err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	st, err := connectors.Run(context.Background(), l, connectors.Options{DryRun: &out, Errors: &errs})
	if err != nil {
		t.Fatal(err)
	}
	if st.Read != 7 || st.Sent != 7 || st.DeadLettered != 0 {
		t.Fatalf("stats %+v, errors:\n%s", st, errs.String())
	}
	withCode, without := 0, 0
	dec := json.NewDecoder(&out)
	for dec.More() {
		var ev events.Event
		if err := dec.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		if ps := events.Validate(ev, "hotline-12331"); len(ps) > 0 {
			t.Errorf("%s: %v", ev.ID, ps)
		}
		var d events.ComplaintReceived
		_ = json.Unmarshal(ev.Data, &d)
		if d.Channel != "12331" || d.Consumer["phone"] == nil {
			t.Errorf("%s: %+v", ev.ID, d)
		}
		if ev.Subject != "" {
			withCode++
		} else {
			without++
		}
		if ev.ID == "hotline-12331:complaint.received:12331-5108-2018-00421" && (d.AmountCNY == nil || *d.AmountCNY != 23000) {
			t.Errorf("2.3万 read as %v", d.AmountCNY)
		}
	}
	if withCode != 2 || without != 5 {
		t.Errorf("%d orders with a code, %d without; want 2 and 5", withCode, without)
	}
}

func TestHotline12331Database(t *testing.T) {
	t.Setenv("HOTLINE_12331_DB_URL", "postgres://reader@127.0.0.1:5432/complaints")
	l, err := connectors.Load("hotline-12331-db.yaml", registry())
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := l.Source.(*postgres.Config); !ok || c.Watermark != "更新时间" || c.Key != "id" {
		t.Errorf("source %+v", l.Source)
	}
}

func TestPushSample(t *testing.T) {
	l, err := connectors.Load("12345-push.yaml", registry())
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("12345-push.json")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := l.Source.(*push.Config).Decode(body)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for _, rec := range recs {
		push.FillAbsent(l.Mappings, rec)
		ev, err := connectors.MapRecord(l.Mappings, rec)
		if err != nil {
			t.Fatalf("%s: %v", rec.Position, err)
		}
		if ps := events.Validate(ev, "hotline-12345"); len(ps) > 0 {
			t.Errorf("%s: %v", ev.ID, ps)
		}
	}
}
