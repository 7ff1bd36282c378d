package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// Merchants of the linking case: the same shop name in two townships, and a company.
var (
	LinkJialing  = USCC(900)
	LinkDongba   = USCC(901)
	LinkShuxiang = USCC(902)
)

// LinkingLog is the linking story in log order: three registrations, two work orders that name no
// code, the hub's automatic link of the first to 嘉陵街道's 老张火锅店, then an officer's later
// link of the same work order to the other 老张火锅店 (which must move nothing: the first link
// wins).
func LinkingLog() []LogEntry {
	u1 := Event("hotline-12345", events.TypeComplaintReceived, "", "lk-u1", At(30), events.ComplaintReceived{
		ComplaintID: "12345-0100", Channel: "12345", Category: "食品安全", Summary: "火锅底料疑似回收油",
		ReceivedAt: At(30), Township: Jialing, MerchantName: "老张火锅（万达店）", Address: "广元市利州区嘉陵街道蜀门北路12号",
	})
	u2 := Event("hotline-12345", events.TypeComplaintReceived, "", "lk-u2", At(31), events.ComplaintReceived{
		ComplaintID: "12345-0101", Channel: "12345", Category: "服务", Summary: "修鞋摊收费不明",
		ReceivedAt: At(31), MerchantName: "路边修鞋摊", Address: "广元市利州区东坝街道新民街附近",
	})
	auto := events.Event{
		SpecVersion: events.SpecVersion, ID: "link-lk-u1", Source: events.HubSource, Type: events.TypeMerchantLinked,
		Subject: LinkJialing, Time: At(30), DataContentType: "application/json",
		Data: mustJSON(events.MerchantLinked{EventSource: u1.Source, EventID: u1.ID, USCC: LinkJialing, Method: events.LinkAuto, Score: 0.93}),
	}
	manual := Event("amr", events.TypeMerchantLinked, LinkDongba, "link-lk-u1-manual", At(32), events.MerchantLinked{
		EventSource: u1.Source, EventID: u1.ID, USCC: LinkDongba, Method: events.LinkManual, Note: "电话核实",
	})
	evs := []events.Event{
		registered(LinkJialing, "lk-r1", "广元市利州区嘉陵街道老张火锅店", Jialing, "H6210", "四川省广元市利州区嘉陵街道蜀门北路12号", 29),
		registered(LinkDongba, "lk-r2", "利州区东坝街道老张火锅店", Dongba, "H6210", "四川省广元市利州区东坝街道新民街3号", 29.1),
		registered(LinkShuxiang, "lk-r3", "广元蜀香餐饮管理有限公司", Dongba, "H6210", "四川省广元市利州区东坝街道利州东路一段8号", 29.2),
		u1, u2, auto, manual,
	}
	log := make([]LogEntry, len(evs))
	for i, ev := range evs {
		log[i] = LogEntry{Entry: projections.Redact(ev), Pos: eventlog.Position{Offset: int64(1 + i)}}
	}
	return log
}

func testLinking(t *testing.T, o opener) {
	b := o.fresh(t)
	ctx := ctxOf(t)
	log := LinkingLog()
	regs, u1, u2, auto, manual := log[:3], log[3], log[4], log[5], log[6]
	for _, l := range regs {
		apply(t, b, l)
	}

	// The link arrives before its target (another partition of the log): refused, nothing changes.
	if _, err := b.Apply(ctx, auto.Entry, auto.Pos, projections.FoldProfile); !errors.Is(err, projections.ErrLinkTarget) {
		t.Fatalf("link before its target: %v, want ErrLinkTarget", err)
	}
	if p := profile(t, b, LinkJialing); p.EventCount != 1 {
		t.Errorf("after a refused link the profile holds %d events, want 1", p.EventCount)
	}
	for _, l := range []LogEntry{u1, u2} {
		apply(t, b, l)
	}
	if u, err := b.Unlinked(ctx, 0); err != nil || len(u) != 2 {
		t.Fatalf("Unlinked before the link: %d, %v; want 2", len(u), err)
	}

	// Now the link: the work order moves to the merchant, once, however often it is delivered.
	if !apply(t, b, auto) {
		t.Fatal("link: applied=false")
	}
	if apply(t, b, auto) {
		t.Error("link redelivered: applied=true")
	}
	dup := auto
	dup.Pos.Offset += 100
	if apply(t, b, dup) {
		t.Error("link duplicated: applied=true")
	}
	if !apply(t, b, manual) {
		t.Error("second link: applied=false (it is a new event; it moves nothing)")
	}

	u, err := b.Unlinked(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	equalKeys(t, "Unlinked after the link", keysOf(u), []string{u2.Key()})

	h := allHistory(t, b, projections.HistoryQuery{USCC: LinkJialing}, 2)
	equalKeys(t, "history of the linked merchant", keysOf(h), []string{u1.Key(), auto.Key(), regs[0].Key()}) // same time: ties by key
	for _, e := range h {
		if e.Event.Key() == u1.Key() {
			want := projections.Link{USCC: LinkJialing, By: auto.Key(), Method: events.LinkAuto, Score: 0.93}
			if e.Linked == nil || *e.Linked != want {
				t.Errorf("linked entry: Linked = %+v, want %+v", e.Linked, want)
			}
			if e.Event.Subject != "" {
				t.Errorf("linked entry: the event is changed (subject %q); it must be kept as sent", e.Event.Subject)
			}
		} else if e.Linked != nil {
			t.Errorf("%s: Linked = %+v, want nil", e.Event.Key(), e.Linked)
		}
	}
	p := profile(t, b, LinkJialing)
	if p.EventCount != 3 || p.CountsByType[events.TypeComplaintReceived] != 1 || p.CountsByType[events.TypeMerchantLinked] != 1 ||
		p.CountsByBureau["hotline-12345"] != 1 || len(p.OpenComplaints) != 1 || p.OpenComplaints[0].ComplaintID != "12345-0100" {
		t.Errorf("profile of the linked merchant: %+v", p)
	}
	other := profile(t, b, LinkDongba)
	if other.CountsByType[events.TypeComplaintReceived] != 0 || other.CountsByType[events.TypeMerchantLinked] != 1 || len(other.OpenComplaints) != 0 {
		t.Errorf("profile of the merchant of the second link: %+v", other)
	}
	h = allHistory(t, b, projections.HistoryQuery{USCC: LinkDongba}, 2)
	equalKeys(t, "history of the second link's merchant", keysOf(h), []string{manual.Key(), regs[1].Key()})

	e, ok, err := b.Event(ctx, u1.Entry.Event.Source, u1.Entry.Event.ID)
	if err != nil || !ok || e.Linked == nil || e.Linked.USCC != LinkJialing {
		t.Errorf("Event(u1) = %+v, %v, %v; want it linked to %s", e, ok, err, LinkJialing)
	}
	e, ok, err = b.Event(ctx, u2.Entry.Event.Source, u2.Entry.Event.ID)
	if err != nil || !ok || e.Linked != nil || e.Event.ID != "lk-u2" {
		t.Errorf("Event(u2) = %+v, %v, %v; want it unlinked", e, ok, err)
	}
	if _, ok, err := b.Event(ctx, "/bureaus/amr", "no-such-event"); ok || err != nil {
		t.Errorf("Event of an unknown key: ok %v, %v", ok, err)
	}
	r, err := b.SearchEvents(ctx, projections.EventQuery{Q: "回收油"})
	if err != nil || r.Total != 1 || r.Entries[0].Linked == nil {
		t.Errorf("SearchEvents finds the linked work order: %+v, %v", r, err)
	}

	t.Run("Candidates", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			want []string // among the candidates
			not  []string
		}{
			{"老张火锅", []string{LinkJialing, LinkDongba}, []string{LinkShuxiang}},
			{"蜀香餐饮", []string{LinkShuxiang}, []string{LinkJialing, LinkDongba}},
			{"修鞋摊", nil, []string{LinkJialing, LinkDongba, LinkShuxiang}},
		} {
			hits, err := b.Candidates(ctx, projections.CandidateQuery{Name: tc.name, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.USCC)
				if h.Name == "" || h.Township == "" {
					t.Errorf("%s: candidate %+v lacks its name or township", tc.name, h)
				}
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("Candidates(%s) = %v, want %s among them", tc.name, got, w)
				}
			}
			for _, n := range tc.not {
				if slices.Contains(got, n) {
					t.Errorf("Candidates(%s) = %v, want no %s", tc.name, got, n)
				}
			}
		}
		if hits, err := b.Candidates(ctx, projections.CandidateQuery{Name: "老张火锅", Limit: 1}); err != nil || len(hits) != 1 {
			t.Errorf("Candidates limit 1: %d, %v", len(hits), err)
		}
		if _, err := b.Candidates(ctx, projections.CandidateQuery{Name: "老张", Limit: -1}); !errors.Is(err, projections.ErrBadQuery) {
			t.Errorf("Candidates limit -1: %v, want ErrBadQuery", err)
		}
	})

	t.Run("RebuildEqual", func(t *testing.T) {
		sameSnapshots(t, b, applyInOrder(t, o, log), []string{LinkJialing, LinkDongba, LinkShuxiang}, "views built in another order differ from a rebuild")
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
