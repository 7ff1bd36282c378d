// Package demo generates a realistic, reproducible year of events for the Fangxin hub: a
// district register of merchants in Lizhou's real townships and streets with valid unified social
// credit codes (GB 32100-2015), and the complaints, transfers (转办件), inspections (双随机、一公开,
// 专项检查, 日常检查), product sampling, penalties, certifications (放心舒心消费示范单位, 星级农家乐…),
// credit listings and consumer warnings that the district's units would send about them.
//
// Everything is fictitious: names, codes, addresses (street names are illustrative) and
// complaints. The townships and industry classes are the real reference data of package events.
//
// The data tells a few stories a newcomer can find in the console:
//   - 利州区东坝街道动感健身会所, a prepaid-card gym (预付卡健身房), closes overnight: about 200
//     complaints about 退卡退费 reach 12315 and 12345 within a few hours, followed by a listing in
//     the 经营异常名录, a penalty and a listing in the 严重违法失信名单; its 放心舒心消费示范单位
//     title is revoked (一处失信、处处受限).
//   - 利州区优学教育培训学校, a training school, stops classes at the end of the summer holidays.
//   - During the National Day holidays (国庆) tourists complain about farmhouses (农家乐) and
//     homestays around 月坝 in 白朝乡: a seasonal hotspot in one township.
//   - 12345 work orders that name a shop and a street but no code (unlinked complaints).
//
// Generate is deterministic: the same Config gives byte-identical events on every run and every
// Go release (the package uses its own random number generator).
package demo

import (
	"time"

	"github.com/lizhou/fangxin/events"
)

// Defaults of Config.
const (
	DefaultSeed      int64 = 2018 // the year of the plan, 广利府办发〔2018〕101号
	DefaultMerchants       = 5000
	DefaultEvents          = 50000
	DefaultDays            = 365
)

// zone is China Standard Time: every generated time carries the +08:00 offset.
var zone = time.FixedZone("CST", 8*3600)

// defaultStart is the first instant of the default period.
var defaultStart = time.Date(2025, 12, 1, 0, 0, 0, 0, zone)

// Config says what to generate. Zero fields take the defaults.
type Config struct {
	Seed      int64     // default DefaultSeed
	Merchants int       // merchants in the register; default DefaultMerchants
	Events    int       // events in total, registrations included (approximately); default DefaultEvents
	Start     time.Time // first instant of the period; default 2025-12-01T00:00:00+08:00; converted to +08:00
	Days      int       // length of the period; default DefaultDays
}

func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Merchants <= 0 {
		c.Merchants = DefaultMerchants
	}
	if c.Events <= 0 {
		c.Events = DefaultEvents
	}
	if c.Start.IsZero() {
		c.Start = defaultStart
	}
	c.Start = c.Start.In(zone).Truncate(time.Second)
	if c.Days <= 0 {
		c.Days = DefaultDays
	}
	return c
}

// Merchant is one market entity of the generated register (市场主体).
type Merchant struct {
	USCC         string    `json:"uscc"`          // 统一社会信用代码, valid per GB 32100-2015
	Name         string    `json:"name"`          // registered name, e.g. 利州区嘉陵街道老张火锅店
	Township     string    `json:"township"`      // nine-digit statistical code, e.g. 510802002
	TownshipName string    `json:"township_name"` // e.g. 嘉陵街道
	Industry     string    `json:"industry"`      // GB/T 4754-2017 class (小类), e.g. H6210
	Address      string    `json:"address"`
	Individual   bool      `json:"individual"` // 个体工商户 (code kind 2) rather than a company (kind 1)
	RegisteredAt time.Time `json:"registered_at"`
}

// Dataset is what Generate returns.
type Dataset struct {
	// Events in time order (ties in a fixed order); per merchant always causally right: its
	// registration first, a complaint received before it is assigned and assigned before it is
	// closed, a certification granted before it is revoked, a listing before its delisting.
	Events []events.Event
	// Merchants in the order they were generated; every one has a merchant.registered event.
	Merchants []Merchant
}

// Batches cuts the events, in order, into batches of at most n (n < 1 means one batch) for
// pushing to the gateway. The batches share the Dataset's backing array: do not modify them.
func (d Dataset) Batches(n int) [][]events.Event {
	if len(d.Events) == 0 {
		return nil
	}
	if n < 1 {
		n = len(d.Events)
	}
	out := make([][]events.Event, 0, (len(d.Events)+n-1)/n)
	for i := 0; i < len(d.Events); i += n {
		out = append(out, d.Events[i:min(i+n, len(d.Events)):min(i+n, len(d.Events))])
	}
	return out
}
