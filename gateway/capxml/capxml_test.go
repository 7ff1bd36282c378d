package capxml_test

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway/capxml"
	"github.com/lizhou/fangxin/gateway/capxml/captest"
)

func warning(id, bureau string, set map[string]any) events.Event {
	ev := events.Example(events.TypeWarningIssued)
	ev.ID, ev.Source = id, events.SourceOf(bureau)
	var data map[string]any
	_ = json.Unmarshal(ev.Data, &data)
	for k, v := range set {
		if v == nil {
			delete(data, k)
		} else {
			data[k] = v
		}
	}
	ev.Data, _ = json.Marshal(data)
	return ev
}

func TestSchemaCheckWorks(t *testing.T) {
	example, err := os.ReadFile("testdata/CAP-v1.2-example.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := captest.Validate(t, example); err != nil {
		t.Fatalf("the specification's own example fails the schema: %v", err)
	}
	broken := strings.Replace(string(example), "<status>Actual</status>", "<status>Real</status>", 1)
	if captest.Validate(t, []byte(broken)) == nil {
		t.Fatal("an alert with status Real passed the schema: the check cannot fail")
	}
}

func TestAlertsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   events.Event
	}{
		{"example", events.Example(events.TypeWarningIssued)},
		{"district-wide", warning("w-2", "amr", map[string]any{"township": nil, "industry": nil})},
		{"markup and an odd id", warning("w 3,<&>", "cca", map[string]any{"title": "“双11”预付卡<提示> & 说明", "body": "a < b & c > d"})},
		{"township by code", warning("w-4", "commerce", map[string]any{"township": "510802100"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := capxml.FromWarning(tc.ev, "https://hub.example/v1/warnings/x.cap.xml")
			if err != nil {
				t.Fatal(err)
			}
			doc, err := capxml.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			if err := captest.Validate(t, doc); err != nil {
				t.Fatalf("alert fails CAP-v1.2.xsd:\n%v\n%s", err, doc)
			}
			s := string(doc)
			for _, want := range []string{"<language>zh-CN</language>", "@fangxin.lizhou.gov.cn</sender>", "+08:00</sent>", "<scope>Public</scope>"} {
				if !strings.Contains(s, want) {
					t.Errorf("alert lacks %s:\n%s", want, s)
				}
			}
			if strings.ContainsAny(a.Identifier, " ,<&") {
				t.Errorf("identifier %q has a character CAP forbids", a.Identifier)
			}
		})
	}
}

func TestFeed(t *testing.T) {
	items := []capxml.FeedItem{
		{Event: warning("w-1", "amr", nil), URL: "https://hub.example/v1/warnings/w-1.cap.xml?bureau=amr"},
		{Event: warning("w-2", "cca", map[string]any{"township": nil}), URL: "https://hub.example/v1/warnings/w-2.cap.xml?bureau=cca"},
	}
	items[1].Event.Time = items[0].Event.Time.Add(time.Hour)
	f, err := capxml.NewFeed("https://hub.example/v1/warnings/cap.xml", items)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := capxml.MarshalFeed(f)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Updated string `xml:"updated"`
		Entries []struct {
			Content struct {
				Inner []byte `xml:",innerxml"`
			} `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(doc, &back); err != nil || len(back.Entries) != 2 {
		t.Fatalf("feed does not parse back with two entries: %v\n%s", err, doc)
	}
	if want := items[1].Event.Time.In(time.FixedZone("", 8*3600)).Format("2006-01-02T15:04:05-07:00"); back.Updated != want {
		t.Errorf("feed updated %s, want the newest warning's time %s", back.Updated, want)
	}
	// Each inline alert is a CAP 1.2 alert on its own.
	for i, e := range back.Entries {
		alert := append([]byte(xml.Header), e.Content.Inner...)
		if err := captest.Validate(t, alert); err != nil {
			t.Fatalf("entry %d's alert fails the schema: %v\n%s", i, err, alert)
		}
	}
}
