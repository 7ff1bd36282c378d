package gateway_test

import (
	"encoding/xml"
	"net/url"
	"strings"
	"testing"

	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/gateway/capxml/captest"
)

func TestWarningsAsCAP(t *testing.T) {
	sp := loadSpec(t)
	h := newHub(t, gateway.Config{})
	amr := testKeys["amr"]
	w1 := events.Example(events.TypeWarningIssued) // amr, 嘉陵街道, R8930
	w2 := variant(t, events.TypeWarningIssued, "w-tourism", "tourism", "", map[string]any{"title": "关于“黄金周”旅游购物的消费提示", "township": nil})
	w3 := variant(t, events.TypeWarningIssued, w1.ID, "tourism", "", map[string]any{"title": "同一编号的另一条警示"})
	h.call(t, sp, "POST", "/v1/events", "/v1/events", amr, ctHeader(events.MediaTypeStructured), structured(t, w1), 202)
	h.call(t, sp, "POST", "/v1/events", "/v1/events", testKeys["tourism"], ctHeader(events.MediaTypeBatch), batch(t, w2, w3), 202)

	const feed = "/v1/warnings/cap.xml"
	var entries int
	waitFor(t, "three warnings in the feed", func() bool {
		resp, b := h.do(t, "GET", feed, "", nil, nil)
		entries = strings.Count(string(b), "<entry>")
		return resp.StatusCode == 200 && entries == 3
	})
	b := h.call(t, sp, "GET", feed, feed, "", nil, nil, 200)
	var f struct {
		Entries []struct {
			Link struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(b, &f); err != nil || len(f.Entries) != 3 {
		t.Fatalf("feed: %v\n%s", err, b)
	}

	// Every entry's link serves a CAP 1.2 alert (validated against the OASIS schema last: the
	// check skips the test when xmllint is missing).
	var alerts [][]byte
	for _, e := range f.Entries {
		u, err := url.Parse(e.Link.Href)
		if err != nil {
			t.Fatal(err)
		}
		alert := h.call(t, sp, "GET", "/v1/warnings/{file}", u.RequestURI(), "", nil, nil, 200)
		if !strings.Contains(string(alert), "<language>zh-CN</language>") {
			t.Errorf("%s: %s", u, alert)
		}
		alerts = append(alerts, alert)
	}

	// The same id from two bureaus needs bureau; unknown ids and paths are 404.
	file := "/v1/warnings/" + url.PathEscape(w1.ID) + ".cap.xml"
	h.call(t, sp, "GET", "/v1/warnings/{file}", file, "", nil, nil, 409)
	b = h.call(t, sp, "GET", "/v1/warnings/{file}", file+"?bureau=amr", "", nil, nil, 200)
	if !strings.Contains(string(b), "<sender>amr@fangxin.lizhou.gov.cn</sender>") {
		t.Errorf("bureau=amr served another bureau's alert: %s", b)
	}
	h.call(t, sp, "GET", "/v1/warnings/{file}", file+"?bureau=nobody", "", nil, nil, 400)
	h.call(t, sp, "GET", "/v1/warnings/{file}", "/v1/warnings/none.cap.xml", "", nil, nil, 404)
	h.call(t, sp, "GET", "/v1/warnings/{file}", "/v1/warnings/w-tourism.json", "", nil, nil, 404)

	for _, alert := range alerts {
		if err := captest.Validate(t, alert); err != nil {
			t.Errorf("served alert fails CAP-v1.2.xsd: %v\n%s", err, alert)
		}
	}
}
