package events

import (
	"encoding/json"
	"time"
)

// DemoUSCC returns a fictitious but well-formed unified social credit code for demos and tests:
// "91510802MA6B" (an enterprise registered in Lizhou District) followed by n written in the code
// alphabet over five characters and the check character computed by USCCCheckChar. Distinct n in
// [0, 31^5) give distinct codes; other n wrap around.
func DemoUSCC(n int) string {
	const base = len(usccAlphabet)
	const span = base * base * base * base * base
	v := n % span
	if v < 0 {
		v += span
	}
	b := []byte("91510802MA6B00000")
	for i := len(b) - 1; i >= len(b)-5; i-- {
		b[i] = usccAlphabet[v%base]
		v /= base
	}
	c, _ := USCCCheckChar(string(b))
	return string(append(b, c))
}

// exampleZone is China Standard Time, in which the district's systems report.
var exampleZone = time.FixedZone("CST", 8*3600)

func exampleTime(day, hour int) time.Time {
	return time.Date(2018, 12, day, hour, 30, 0, 0, exampleZone)
}

// Example returns a valid event of a catalogue type, as a connector of the bureau that usually
// sends it would: fictitious merchants (DemoUSCC), real townships and industry classes. Each call
// returns a fresh value. For the HubTypes the event is the hub's own (source HubSource, or the
// officer's bureau for a silence) and passes ValidateHub, not Validate. For a type outside the
// catalogue it returns the zero Event.
func Example(typ string) Event {
	gym := DemoUSCC(2) // a fitness club that closed overnight: the plan's typical burst
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	ev := Event{
		SpecVersion:     SpecVersion,
		ID:              "example-" + typ + "-1",
		Type:            typ,
		Subject:         gym,
		DataContentType: "application/json",
	}
	var data any
	switch typ {
	case TypeMerchantRegistered:
		ev.Source, ev.Subject, ev.Time = SourceOf("amr"), DemoUSCC(1), exampleTime(3, 10)
		data = MerchantRegistered{
			Name: "广元市利州区示例味道餐馆", Township: "510802002", Industry: "H6210",
			Address: "广元市利州区嘉陵街道示例路1号", RegisteredAt: exampleTime(3, 10),
		}
	case TypeComplaintReceived:
		ev.Source, ev.Time = SourceOf("hotline-12315"), exampleTime(24, 9)
		data = ComplaintReceived{
			ComplaintID: "12315-20181224-0001", Channel: "12315", Category: "预付卡",
			Summary:    "健身房突然闭店，预付会员卡余额无法退还。",
			ReceivedAt: exampleTime(24, 9), AmountCNY: f(3000), Consumers: i(1),
			Township: "嘉陵街道", Industry: "R8930",
			Consumer: map[string]any{"name": "张某", "phone": "138-0000-0000"},
		}
	case TypeComplaintAssigned:
		ev.Source, ev.Time = SourceOf("hotline-12315"), exampleTime(24, 10)
		data = ComplaintAssigned{ComplaintID: "12315-20181224-0001", ToBureau: "amr", Deadline: exampleTime(31, 17)}
	case TypeComplaintClosed:
		ev.Source, ev.Time = SourceOf("amr"), exampleTime(28, 16)
		data = ComplaintClosed{
			ComplaintID: "12315-20181224-0001", Outcome: "refunded", ClosedAt: exampleTime(28, 16),
			CompensationCNY: f(3000), Satisfaction: i(5),
		}
	case TypeInspectionCompleted:
		ev.Source, ev.Time = SourceOf("amr"), exampleTime(25, 14)
		data = InspectionCompleted{
			InspectionID: "SJ-2018-0457", Kind: "random", Result: "rectify", InspectedAt: exampleTime(25, 14),
			Findings: "未公示预付卡退费规则，责令限期整改。",
		}
	case TypeSamplingCompleted:
		ev.Source, ev.Subject, ev.Time = SourceOf("quality"), DemoUSCC(3), exampleTime(12, 11)
		data = SamplingCompleted{SampleID: "CJ-2018-1203", Product: "桶装饮用水", Result: "pass", SampledAt: exampleTime(12, 11)}
	case TypePenaltyImposed:
		ev.Source, ev.Time = SourceOf("amr"), exampleTime(27, 15)
		data = PenaltyImposed{
			DecisionNo: "利食药工商罚〔2018〕12号", Kind: "fine",
			LegalBasis: "《中华人民共和国消费者权益保护法》第五十六条", DecidedAt: exampleTime(27, 15), FineCNY: f(5000),
		}
	case TypeCertificationGranted:
		ev.Source, ev.Subject, ev.Time = SourceOf("tourism"), DemoUSCC(4), exampleTime(10, 9)
		valid := time.Date(2021, 12, 9, 23, 59, 59, 0, exampleZone)
		data = CertificationGranted{
			CertID: "XJNJL-2018-031", Scheme: "star_farmhouse", GrantedAt: exampleTime(10, 9),
			Level: "四星", ValidUntil: &valid,
		}
	case TypeCertificationRevoked:
		ev.Source, ev.Subject, ev.Time = SourceOf("tourism"), DemoUSCC(4), exampleTime(20, 9)
		data = CertificationRevoked{
			CertID: "XJNJL-2018-031", Scheme: "star_farmhouse", RevokedAt: exampleTime(20, 9),
			Reason: "复核不达标（星级农家乐评定复核）。",
		}
	case TypeCreditListed:
		ev.Source, ev.Time = SourceOf("amr"), exampleTime(29, 10)
		data = CreditListed{List: "abnormal_operation", Reason: "通过登记的住所或者经营场所无法联系。", ListedAt: exampleTime(29, 10)}
	case TypeCreditDelisted:
		ev.Source, ev.Time = SourceOf("amr"), exampleTime(30, 10)
		data = CreditDelisted{List: "abnormal_operation", Reason: "已办理住所变更登记，申请移出。", DelistedAt: exampleTime(30, 10)}
	case TypeWarningIssued:
		ev.Source, ev.Time = SourceOf("amr"), exampleTime(26, 9)
		data = WarningIssued{
			Title:    "关于健身行业预付式消费的消费警示",
			Body:     "近期嘉陵街道发生健身场所闭店事件，提醒消费者谨慎办理大额预付卡，保留合同和付款凭证。",
			IssuedAt: exampleTime(26, 9), Industry: "R8930", Township: "嘉陵街道",
		}
	case TypeIncidentDetected:
		ev.Source, ev.Time = HubSource, exampleTime(24, 12)
		data = IncidentDetected{
			IncidentID: "INC-20181224-001", Rule: "complaint-burst", Scope: "merchant:" + gym,
			Count: 37, Window: "PT2H", FirstAt: exampleTime(24, 9), LastAt: exampleTime(24, 11),
			ResponsibleBureau: []string{"amr", "commerce"},
			Level:             "III", Title: "示例健身会所预付卡集中投诉（2小时内37件）",
			Fingerprint: "5f0c3a9e1b7d2468", Merchant: gym, Industry: "R8930", Township: "嘉陵街道",
			Category: "预付卡", Group: "merchant:" + gym, Sequence: 1,
		}
	case TypeIncidentUpdated:
		ev.Source, ev.Time = HubSource, exampleTime(24, 13)
		data = IncidentDetected{
			IncidentID: "INC-20181224-001", Rule: "complaint-burst", Scope: "merchant:" + gym,
			Count: 52, Window: "PT2H", FirstAt: exampleTime(24, 9), LastAt: exampleTime(24, 13),
			ResponsibleBureau: []string{"amr", "commerce"},
			Level:             "II", Title: "示例健身会所预付卡集中投诉（2小时内52件）",
			Fingerprint: "5f0c3a9e1b7d2468", Merchant: gym, Industry: "R8930", Township: "嘉陵街道",
			Category: "预付卡", Group: "merchant:" + gym, Sequence: 2,
		}
	case TypeIncidentResolved:
		ev.Source, ev.Time = HubSource, exampleTime(26, 13)
		data = IncidentResolved{
			IncidentID: "INC-20181224-001", Rule: "complaint-burst", Fingerprint: "5f0c3a9e1b7d2468",
			ResolvedAt: exampleTime(26, 13), Reason: ResolvedQuietPeriod, Sequence: 3,
		}
	case TypeSilenceCreated:
		ev.Source, ev.Subject, ev.Time = SourceOf("amr"), "", exampleTime(24, 14)
		data = SilenceCreated{
			SilenceID: "SIL-20181224-001", Matchers: SilenceMatchers{Rule: "complaint-burst", Merchant: gym},
			Reason:   "已成立工作专班处置该健身会所闭店事件，暂停重复告警。",
			StartsAt: exampleTime(24, 14), EndsAt: exampleTime(27, 14), CreatedBy: "amr",
		}
	case TypeSilenceDeleted:
		ev.Source, ev.Subject, ev.Time = SourceOf("amr"), "", exampleTime(25, 9)
		data = SilenceDeleted{SilenceID: "SIL-20181224-001", DeletedAt: exampleTime(25, 9), DeletedBy: "amr"}
	case TypeMerchantLinked:
		// The hub links a 12345 work order that named the gym by name and street.
		ev.Source, ev.Time = HubSource, exampleTime(24, 9)
		data = MerchantLinked{EventSource: SourceOf("hotline-12345"), EventID: "12345-20181224-0042", USCC: gym, Method: LinkAuto, Score: 0.93}
	default:
		return Event{}
	}
	b, err := json.Marshal(data)
	if err != nil {
		panic("events: example payload: " + err.Error()) // plain structs: cannot happen
	}
	ev.Data = b
	return ev
}
