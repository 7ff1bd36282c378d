package capxml

import (
	"encoding/json"
	"encoding/xml"
	"time"

	"github.com/lizhou/fangxin/events"
)

// Feed is an Atom feed (RFC 4287) of alerts.
type Feed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  Person   `xml:"author"`
	Link    []Link   `xml:"link"`
	Entries []Entry  `xml:"entry"`
}

// Person is an Atom author.
type Person struct {
	Name string `xml:"name"`
}

// Link is an Atom link.
type Link struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

// Entry is one warning: its alert's URL and the alert itself.
type Entry struct {
	ID      string  `xml:"id"`
	Title   string  `xml:"title"`
	Updated string  `xml:"updated"`
	Author  Person  `xml:"author"`
	Link    Link    `xml:"link"`
	Content Content `xml:"content"`
}

// Content carries the alert inline.
type Content struct {
	Type  string `xml:"type,attr"`
	Alert Alert
}

// FeedItem is one warning with the URL of its alert.
type FeedItem struct {
	Event events.Event
	URL   string
}

// NewFeed builds the feed of items (newest first); self is the feed's own URL.
func NewFeed(self string, items []FeedItem) (Feed, error) {
	f := Feed{
		ID: "urn:fangxin:lizhou:warnings", Title: "利州区消费警示（CAP 1.2）",
		Author: Person{Name: "利州区放心舒心消费信息共享平台"},
		Link:   []Link{{Rel: "self", Type: FeedMediaType, Href: self}},
	}
	var updated time.Time
	for _, it := range items {
		a, err := FromWarning(it.Event, it.URL)
		if err != nil {
			return Feed{}, err
		}
		if it.Event.Time.After(updated) {
			updated = it.Event.Time
		}
		f.Entries = append(f.Entries, Entry{
			ID: "urn:fangxin:cap:" + a.Identifier, Title: a.Info.Headline, Updated: a.Sent,
			Author:  Person{Name: a.Info.SenderName},
			Link:    Link{Rel: "alternate", Type: MediaType, Href: it.URL},
			Content: Content{Type: MediaType, Alert: a},
		})
	}
	if updated.IsZero() {
		updated = time.Date(2018, 1, 1, 0, 0, 0, 0, shanghai) // an empty feed: the plan's year
	}
	f.Updated = capTime(updated)
	return f, nil
}

// MarshalFeed encodes a feed as a standalone XML document.
func MarshalFeed(f Feed) ([]byte, error) {
	b, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

func decodeWarning(ev events.Event, w *events.WarningIssued) error {
	return json.Unmarshal(ev.Data, w)
}
