package linking_test

import (
	"testing"

	"github.com/lizhou/fangxin/demo"
	"github.com/lizhou/fangxin/events"
	"github.com/lizhou/fangxin/projections"
	"github.com/lizhou/fangxin/projections/linking"
)

func TestTmpEval(t *testing.T) {
	ds := demo.Generate(registerConfig)
	var hits []projections.MerchantHit
	for _, m := range ds.Merchants {
		code, name := events.NormalizeTownship(m.Township)
		hits = append(hits, projections.MerchantHit{USCC: m.USCC, Name: m.Name, Address: m.Address, Township: code, TownshipName: name})
	}
	tp, fp, fn := 0, 0, 0
	for _, c := range loadCases(t) {
		ranked := linking.Rank(linking.Query{Name: c.Name, Address: c.Address, Township: c.Township}, hits)
		got, ok := linking.DefaultPolicy.Pick(ranked)
		switch {
		case ok && got.USCC == c.Want:
			tp++
		case ok:
			fp++
			t.Logf("WRONG %s %q %q -> %s %s %.2f n%.2f a%.2f %s", c.Kind, c.Name, c.Address, got.Name, got.Address, got.Score, got.NameScore, got.AddressScore, got.Township)
		case c.Want != "":
			fn++
			b := ranked[0]
			s := ranked[1]
			t.Logf("MISS %s %q %q -> %s %s %.2f n%.2f a%.2f %s | 2nd %s %.2f", c.Kind, c.Name, c.Address, b.Name, b.Address, b.Score, b.NameScore, b.AddressScore, b.Township, s.Name, s.Score)
		}
	}
	t.Logf("tp %d fp %d fn %d", tp, fp, fn)
}
