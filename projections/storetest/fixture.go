package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/lizhou/fangxin/eventlog"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
)

// USCC returns the fixture's n-th merchant code: "91510802MA6C" (an enterprise of Lizhou
// District), n in five code characters, and the check character from events.USCCCheckChar.
func USCC(n int) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	b := []byte("91510802MA6C00000")
	for i := len(b) - 1; i >= len(b)-5; i-- {
		b[i] = alphabet[n%len(alphabet)]
		n /= len(alphabet)
	}
	c, ok := events.USCCCheckChar(string(b))
	if !ok {
		panic("storetest: bad code prefix " + string(b))
	}
	return string(append(b, c))
}

// The fixture's merchants.
var (
	LaoZhang = USCC(1) // 老张火锅店, 嘉陵街道, H6210: the merchant whose profile the steps follow
	Fruit    = USCC(2) // 利州区水果超市, 东坝街道, F5223
	Station  = USCC(3) // 火车站餐厅, 河西街道, H6220: shares 火 with 火锅, not the word
	Boiler   = USCC(4) // 锅炉维修部, 河西街道, O8199: shares 锅 with 火锅, not the word
	Farm     = USCC(5) // 皇泽寺农家乐, 荣山镇, H6130: certified
	Corner   = USCC(6) // 凤凰山便利店, 嘉陵街道, F5213: on a credit list
	Noodles  = USCC(7) // 蜀门北路面馆, 东坝街道, H6291: 60 events, for paging
	Unknown  = USCC(8) // complained about, never registered
)

// Township codes of the fixture (data/divisions).
const (
	Dongba   = "510802001" // 东坝街道
	Jialing  = "510802002" // 嘉陵街道
	Hexi     = "510802003" // 河西街道
	Rongshan = "510802100" // 荣山镇
)

// cst is China Standard Time, in which the bureaus' systems report.
var cst = time.FixedZone("CST", 8*3600)

// T0 is the fixture's first hour; At(h) is h hours later.
var T0 = time.Date(2026, 3, 2, 9, 0, 0, 0, cst)

// At returns T0 plus h hours.
func At(h float64) time.Time { return T0.Add(time.Duration(h * float64(time.Hour))) }

// LogEntry is an event as the projector hands it to Apply: redacted, at its log position.
type LogEntry struct {
	Entry projections.TimelineEntry
	Pos   eventlog.Position
}

// Key is the event key.
func (l LogEntry) Key() string { return l.Entry.Event.Key() }

// Event builds a CloudEvents envelope around data, JSON-encoded.
func Event(bureau, typ, subject, id string, at time.Time, data any) events.Event {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return events.Event{
		SpecVersion: events.SpecVersion, ID: id, Source: events.SourceOf(bureau), Type: typ,
		Subject: subject, Time: at, DataContentType: "application/json", Data: raw,
	}
}

func f64(v float64) *float64 { return &v }

func registered(uscc, id, name, township, industry, address string, h float64) events.Event {
	return Event("amr", events.TypeMerchantRegistered, uscc, id, At(h), events.MerchantRegistered{
		Name: name, Township: township, Industry: industry, Address: address, RegisteredAt: At(h),
	})
}

func complaint(bureau, uscc, id, cid, category, summary string, h float64) events.Event {
	channel := map[string]string{"hotline-12315": "12315", "hotline-12345": "12345", "hotline-12331": "12331"}[bureau]
	if channel == "" {
		channel = "visit"
	}
	return Event(bureau, events.TypeComplaintReceived, uscc, id, At(h), events.ComplaintReceived{
		ComplaintID: cid, Channel: channel, Category: category, Summary: summary, ReceivedAt: At(h),
	})
}

func inspection(bureau, uscc, id, result, findings string, h float64) events.Event {
	return Event(bureau, events.TypeInspectionCompleted, uscc, id, At(h), events.InspectionCompleted{
		InspectionID: "JC-" + id, Kind: "random", Result: result, InspectedAt: At(h), Findings: findings,
	})
}

func sampling(bureau, uscc, id, product, result string, h float64) events.Event {
	return Event(bureau, events.TypeSamplingCompleted, uscc, id, At(h), events.SamplingCompleted{
		SampleID: "CJ-" + id, Product: product, Result: result, SampledAt: At(h),
	})
}

func penalty(bureau, uscc, id, kind, basis string, fine *float64, h float64) events.Event {
	return Event(bureau, events.TypePenaltyImposed, uscc, id, At(h), events.PenaltyImposed{
		DecisionNo: "利罚〔2026〕" + id, Kind: kind, LegalBasis: basis, DecidedAt: At(h), FineCNY: fine,
	})
}

// Personal data of LaoZhang's first complaint: kept in TimelineEntry.Private only.
const (
	ConsumerName  = "王小明"
	ConsumerPhone = "13800138000"
)

// LaoZhangSteps is the story of 老张火锅店 in log order, in steps after which its profile is
// checked (see the profile case of RunAll).
func LaoZhangSteps() [][]events.Event {
	c1 := complaint("hotline-12315", LaoZhang, "lz-c1", "12315-0001", "食品安全", "顾客反映火锅底料疑似重复使用", 1)
	var d map[string]any
	_ = json.Unmarshal(c1.Data, &d)
	d["consumer"] = map[string]any{"name": ConsumerName, "phone": ConsumerPhone}
	d["amount_cny"] = 268
	c1.Data, _ = json.Marshal(d)
	return [][]events.Event{
		{registered(LaoZhang, "lz-reg", "老张火锅店", Jialing, "H6210", "利州区嘉陵街道蜀门北路12号", 0)},
		{c1},
		{Event("hotline-12315", events.TypeComplaintAssigned, LaoZhang, "lz-c1-assign", At(2), events.ComplaintAssigned{
			ComplaintID: "12315-0001", ToBureau: "amr", Deadline: At(2 + 7*24),
		})},
		{complaint("hotline-12345", LaoZhang, "lz-c2", "12345-0002", "环境污染", "夜间排烟扰民", 3)},
		{
			inspection("amr", LaoZhang, "lz-insp1", "rectify", "后厨地面油污严重，责令限期整改", 4),
			sampling("amr", LaoZhang, "lz-samp1", "牛油火锅底料", "fail", 5),
			penalty("amr", LaoZhang, "lz-pen1", "fine", "《中华人民共和国食品安全法》第一百二十四条", f64(5000.5), 6),
		},
		{Event("amr", events.TypeComplaintClosed, LaoZhang, "lz-c1-close", At(7), events.ComplaintClosed{
			ComplaintID: "12315-0001", Outcome: "refunded", ClosedAt: At(7), CompensationCNY: f64(268),
		})},
		{penalty("urban", LaoZhang, "lz-pen2", "fine", "《城市市容和环境卫生管理条例》第三十六条", f64(200), 8)},
		{Event("amr", events.TypeCertificationGranted, LaoZhang, "lz-cert", At(9), events.CertificationGranted{
			CertID: "SF-2026-001", Scheme: "demo_unit", GrantedAt: At(9), Level: "A",
		})},
		{Event("amr", events.TypeCertificationRevoked, LaoZhang, "lz-uncert", At(10), events.CertificationRevoked{
			CertID: "SF-2026-001", Scheme: "demo_unit", RevokedAt: At(10), Reason: "抽检不合格",
		})},
		{Event("amr", events.TypeCreditListed, LaoZhang, "lz-list", At(11), events.CreditListed{
			List: "abnormal_operation", Reason: "通过登记的住所无法联系", ListedAt: At(11),
		})},
		{
			// Two events at the same time: the history orders them by key.
			Event("amr", events.TypeCreditDelisted, LaoZhang, "lz-delist", At(12), events.CreditDelisted{
				List: "abnormal_operation", Reason: "已变更住所", DelistedAt: At(12),
			}),
			inspection("health", LaoZhang, "lz-insp2", "pass", "从业人员健康证齐全", 12),
		},
	}
}

// NoodlesEvents is 蜀门北路面馆's long history: 60 events, two at each time, of several types and
// bureaus, for paging and filters.
func NoodlesEvents() []events.Event {
	out := []events.Event{registered(Noodles, "nd-reg", "蜀门北路面馆", Dongba, "H6291", "利州区东坝街道蜀门北路88号", 20)}
	for i := 1; len(out) < 60; i++ {
		h := 21 + float64(i/2)*0.5 // two events at each time
		id := fmt.Sprintf("nd-%02d", i)
		alt := (i / 4) % 2
		switch i % 4 {
		case 0:
			b := []string{"hotline-12315", "hotline-12345"}[alt]
			out = append(out, complaint(b, Noodles, id, "NC-"+id, "商品质量", "面条分量不足", h))
		case 1:
			b := []string{"amr", "health"}[alt]
			out = append(out, inspection(b, Noodles, id, "pass", "餐具消毒记录完整", h))
		case 2:
			b := []string{"quality", "amr"}[alt]
			out = append(out, sampling(b, Noodles, id, "手工面条", "pass", h))
		case 3:
			b := []string{"amr", "urban"}[alt]
			out = append(out, penalty(b, Noodles, id, "warning", "《四川省食品小作坊、小经营店及摊贩管理条例》第三十条", nil, h))
		}
	}
	return out
}

// OtherEvents are the other merchants' events and the unlinked ones.
func OtherEvents() []events.Event {
	return []events.Event{
		registered(Fruit, "fr-reg", "利州区水果超市", Dongba, "F5223", "利州区东坝街道万缘路8号", 0.5),
		complaint("hotline-12315", Fruit, "fr-c1", "12315-0003", "商品质量", "售卖腐烂水果", 13),
		registered(Station, "st-reg", "火车站餐厅", Hexi, "H6220", "利州区河西街道车站路1号", 0.5),
		complaint("hotline-12315", Station, "st-c1", "12315-0004", "价格", "盒饭价格未明码标价", 14),
		registered(Boiler, "bo-reg", "锅炉维修部", Hexi, "O8199", "利州区河西街道滨河路3号", 0.5),
		inspection("safety", Boiler, "bo-insp", "fail", "压力容器未按期检验", 15),
		registered(Farm, "fa-reg", "皇泽寺农家乐", Rongshan, "H6130", "利州区荣山镇皇泽村2组", 0.5),
		Event("tourism", events.TypeCertificationGranted, Farm, "fa-cert", At(16), events.CertificationGranted{
			CertID: "XJNJL-2026-007", Scheme: "star_farmhouse", GrantedAt: At(16), Level: "四星",
		}),
		registered(Corner, "co-reg", "凤凰山便利店", Jialing, "F5213", "利州区嘉陵街道凤凰山路5号", 0.5),
		Event("amr", events.TypeCreditListed, Corner, "co-list", At(17), events.CreditListed{
			List: "serious_violation", Reason: "销售假冒伪劣商品", ListedAt: At(17),
		}),
		complaint("hotline-12315", Unknown, "un-c1", "12315-0005", "服务", "理发店办卡后无法退费", 18),
		// Unlinked: a shop and a street, no code.
		Event("hotline-12345", events.TypeComplaintReceived, "", "ul-c1", At(18.5), events.ComplaintReceived{
			ComplaintID: "12345-0006", Channel: "12345", Category: "环境污染", Summary: "烧烤摊夜间排烟扰民",
			ReceivedAt: At(18.5), Township: Hexi, MerchantName: "河西街道某烧烤摊", Address: "利州区河西街道滨河路",
		}),
		Event("hotline-12345", events.TypeComplaintReceived, "", "ul-c2", At(19), events.ComplaintReceived{
			ComplaintID: "12345-0007", Channel: "12345", Category: "价格", Summary: "早餐店价格欺诈",
			ReceivedAt: At(19), Township: Jialing, MerchantName: "嘉陵街道某早餐店", Address: "利州区嘉陵街道今日路",
		}),
		Event("amr", events.TypeWarningIssued, "", "ul-w1", At(19.5), events.WarningIssued{
			Title: "关于预付式消费的消费警示", Body: "提醒消费者谨慎办理大额预付卡，保留合同和付款凭证。",
			IssuedAt: At(19.5), Township: Jialing,
		}),
	}
}

// Fixture is the whole fixture log: every event redacted and at its position (partition 0,
// offsets from 1), merchants interleaved as connectors would send them, each merchant's events
// in order.
func Fixture() []LogEntry {
	var streams [][]events.Event
	var lz []events.Event
	for _, step := range LaoZhangSteps() {
		lz = append(lz, step...)
	}
	streams = append(streams, lz, NoodlesEvents())
	// Each of the other events is its own stream, except that a merchant's stay in order.
	byKey := map[string]int{}
	for _, ev := range OtherEvents() {
		k := ev.PartitionKey()
		if i, ok := byKey[k]; ok {
			streams[i] = append(streams[i], ev)
			continue
		}
		byKey[k] = len(streams)
		streams = append(streams, []events.Event{ev})
	}
	// Round-robin interleave.
	var log []LogEntry
	for more := true; more; {
		more = false
		for i := range streams {
			if len(streams[i]) == 0 {
				continue
			}
			more = true
			log = append(log, LogEntry{
				Entry: projections.Redact(streams[i][0]),
				Pos:   eventlog.Position{Partition: 0, Offset: int64(len(log) + 1)},
			})
			streams[i] = streams[i][1:]
		}
	}
	return log
}

// ApplyAll applies log as the projector does: each partition key's events one at a time and in
// order, different keys concurrently. It returns the first error.
func ApplyAll(ctx context.Context, s projections.Store, log []LogEntry) error {
	streams := map[string][]LogEntry{}
	var keys []string
	for _, l := range log {
		k := l.Entry.Event.PartitionKey()
		if _, ok := streams[k]; !ok {
			keys = append(keys, k)
		}
		streams[k] = append(streams[k], l)
	}
	sort.Strings(keys)
	var wg sync.WaitGroup
	errs := make(chan error, len(keys))
	for _, k := range keys {
		wg.Add(1)
		go func(stream []LogEntry) {
			defer wg.Done()
			for _, l := range stream {
				if _, err := s.Apply(ctx, l.Entry, l.Pos, projections.FoldProfile); err != nil {
					errs <- fmt.Errorf("apply %s at %v: %w", l.Key(), l.Pos, err)
					return
				}
			}
		}(streams[k])
	}
	wg.Wait()
	close(errs)
	return <-errs
}
