package demo

import (
	"math"

	"github.com/lizhou/fangxin/events"
)

// Generate builds the dataset cfg describes. The same Config always gives byte-identical
// events. The total number of events is cfg.Events when the period and register allow it: after
// the register's registrations, the stories and the complaints, inspections, samples and
// their consequences, routine inspections fill what is left.
func Generate(cfg Config) Dataset {
	cfg = cfg.withDefaults()
	g := &gen{cfg: cfg, w: newWindow(cfg)}
	g.register()
	budget := cfg.Events - len(g.drafts)
	g.scale = math.Max(.05, math.Min(1.5, float64(budget)/45000))
	if budget > 0 {
		g.certifications()
		g.gymClosure()
		g.schoolClosure()
		g.nationalDay()
		story := g.count(events.TypeComplaintReceived, events.TypeComplaintAssigned, events.TypeComplaintClosed)
		g.backgroundComplaints(int((float64(budget)*.64 - float64(story)) / 2.75))
		g.inspections(int(float64(budget) * .17))
		g.samplings(int(float64(budget) * .06))
		g.patrols(int(float64(budget) * .003))
		g.creditListings()
		g.seriousListings()
		g.revocations()
		g.typicalCases()
		if rest := cfg.Events - len(g.drafts); rest > 0 {
			g.fillInspections(rest)
		}
	}
	return g.finish()
}
