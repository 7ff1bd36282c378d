package demo

import (
	"time"
)

// window is the generated period [start, end).
type window struct {
	start, end time.Time
	days       int
}

func newWindow(cfg Config) window {
	return window{start: cfg.Start, end: cfg.Start.AddDate(0, 0, cfg.Days), days: cfg.Days}
}

func (w window) day(i int) time.Time { return w.start.AddDate(0, 0, i) }

func (w window) contains(t time.Time) bool { return !t.Before(w.start) && t.Before(w.end) }

// springFestival is the first day of the lunar new year (春节), for the years the generator may
// be asked about.
var springFestival = map[int]time.Time{
	2018: time.Date(2018, 2, 16, 0, 0, 0, 0, zone), 2019: time.Date(2019, 2, 5, 0, 0, 0, 0, zone),
	2020: time.Date(2020, 1, 25, 0, 0, 0, 0, zone), 2021: time.Date(2021, 2, 12, 0, 0, 0, 0, zone),
	2022: time.Date(2022, 2, 1, 0, 0, 0, 0, zone), 2023: time.Date(2023, 1, 22, 0, 0, 0, 0, zone),
	2024: time.Date(2024, 2, 10, 0, 0, 0, 0, zone), 2025: time.Date(2025, 1, 29, 0, 0, 0, 0, zone),
	2026: time.Date(2026, 2, 17, 0, 0, 0, 0, zone), 2027: time.Date(2027, 2, 6, 0, 0, 0, 0, zone),
	2028: time.Date(2028, 1, 26, 0, 0, 0, 0, zone), 2029: time.Date(2029, 2, 13, 0, 0, 0, 0, zone),
	2030: time.Date(2030, 2, 3, 0, 0, 0, 0, zone),
}

// between reports whether d (a midnight) falls on or between month/day a and month/day b of
// its year.
func between(d time.Time, am time.Month, ad int, bm time.Month, bd int) bool {
	a := time.Date(d.Year(), am, ad, 0, 0, 0, 0, zone)
	b := time.Date(d.Year(), bm, bd, 0, 0, 0, 0, zone)
	return !d.Before(a) && !d.After(b)
}

// season is how much busier complaints of group g are on day d than on an ordinary day: the
// Spring Festival (春节), 3·15, May Day (五一), the summer holidays, the start of the school
// year, National Day (国庆) and the 11·11 online sales.
func season(g group, d time.Time) float64 {
	m := 1.0
	if sf, ok := springFestival[d.Year()]; ok {
		if off := d.Sub(sf).Hours() / 24; off >= -12 && off <= 7 {
			switch g {
			case gCatering, gFoodRetail, gFarmhouse:
				m *= 1.6
			case gLodging, gTravel, gGoodsRetail:
				m *= 1.3
			case gTraining:
				m *= .5
			}
		}
	}
	if between(d, 3, 10, 3, 20) {
		m *= 1.3
	}
	if between(d, 5, 1, 5, 5) {
		switch g {
		case gFarmhouse, gTravel:
			m *= 2
		case gLodging, gCatering:
			m *= 1.3
		}
	}
	if between(d, 7, 5, 8, 31) {
		switch g {
		case gTraining:
			m *= 1.6
		case gFitness, gFarmhouse:
			m *= 1.3
		}
	}
	if between(d, 9, 1, 9, 15) && g == gTraining {
		m *= 1.4
	}
	if between(d, 10, 1, 10, 7) {
		switch g {
		case gFarmhouse, gTravel:
			m *= 2.4
		case gLodging:
			m *= 2
		case gCatering:
			m *= 1.4
		}
	}
	if between(d, 11, 10, 11, 20) {
		switch g {
		case gOnline:
			m *= 3
		case gGoodsRetail:
			m *= 1.4
		}
	}
	return m
}

func weekend(d time.Time) bool { return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday }

// hourWeights is when people call the hotlines, by hour of the day.
var hourWeights = newWeighted([]float64{
	.2, .1, .1, .1, .1, .2, .5, 1.2, 3, 5, 5.5, 5, 3.5, 3, 4.5, 5, 5, 4.5, 3.5, 3, 2.8, 2, 1, .5,
})

// callTime draws a time of day for a call on day d.
func callTime(r *rng, d time.Time) time.Time {
	h := hourWeights.pick(r)
	return d.Add(time.Duration(h*3600+r.intn(3600)) * time.Second)
}

// workTime draws a time within office hours (9:00-12:00, 14:30-18:00) on day d.
func workTime(r *rng, d time.Time) time.Time {
	var sec int
	if r.chance(.45) {
		sec = 9*3600 + r.intn(3*3600)
	} else {
		sec = 14*3600 + 1800 + r.intn(3*3600+1800)
	}
	return d.Add(time.Duration(sec) * time.Second)
}

// nextWorkday returns the first weekday on or after d's date, at midnight.
func nextWorkday(d time.Time) time.Time {
	d = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, zone)
	for weekend(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// midnight returns the start of t's day.
func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, zone)
}

// laterWork returns a working-hours time at least minDelay after t: the next moment an office
// would act on something that arrived at t.
func laterWork(r *rng, t time.Time, minDelay time.Duration) time.Time {
	at := t.Add(minDelay).Truncate(time.Second)
	d := midnight(at)
	for range 14 {
		if !weekend(d) {
			if c := workTime(r, d); c.After(at) {
				return c
			}
			if end := d.Add(18 * time.Hour); at.Before(end) {
				return at.Add(time.Duration(1+r.intn(int(end.Sub(at)/time.Second))) * time.Second)
			}
		}
		d = d.AddDate(0, 0, 1)
	}
	return at
}

// dayPicker draws days of the window for a group, in proportion to season() and, for office
// channels, skipping weekends.
type dayPicker struct {
	w  window
	wd weighted
}

func newDayPicker(w window, g group, weekdays bool) dayPicker {
	ws := make([]float64, w.days)
	for i := range ws {
		d := w.day(i)
		ws[i] = season(g, d)
		if weekend(d) {
			if weekdays {
				ws[i] = 0
			} else {
				ws[i] *= .85
			}
		}
	}
	return dayPicker{w: w, wd: newWeighted(ws)}
}

// pick returns the midnight of a drawn day.
func (p dayPicker) pick(r *rng) time.Time {
	i := p.wd.pick(r)
	if i < 0 {
		i = r.intn(p.w.days)
	}
	return p.w.day(i)
}
