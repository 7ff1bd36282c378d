package rules

import (
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// Shanghai is the zone the district's working days are counted in. A fixed +08:00 offset:
// China has kept no daylight saving time since 1991, and the hub must not depend on the host's
// tz database.
var Shanghai = time.FixedZone("CST", 8*3600)

// WorkingDay reports whether the calendar day of t (in Shanghai) is a working day on China's
// official calendar: Monday to Friday unless an official holiday, and a weekend day that is an
// adjusted workday (调休上班) — from lunar-go's HolidayUtil, which carries the State Council's
// holiday arrangements.
func WorkingDay(t time.Time) bool {
	t = t.In(Shanghai)
	if h := HolidayUtil.GetHolidayByYmd(t.Year(), int(t.Month()), t.Day()); h != nil {
		return h.IsWork()
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// EffectiveDeadline is when a time limit (限时办结) expires: the deadline itself when its day is
// a working day, otherwise the end of the next working day (期间的最后一日是法定休假日的，以法定
// 休假日结束的次日为期间的最后一日), i.e. 00:00 Shanghai of the day after it.
func EffectiveDeadline(deadline time.Time) time.Time { return effectiveDeadline(deadline, WorkingDay) }

func effectiveDeadline(deadline time.Time, working func(time.Time) bool) time.Time {
	if working(deadline) {
		return deadline
	}
	d := deadline.In(Shanghai)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, Shanghai)
	for {
		day = day.AddDate(0, 0, 1)
		if working(day) {
			return day.AddDate(0, 0, 1)
		}
	}
}

// calendar memoises WorkingDay per day (the holiday table lookup is a linear search).
type calendar map[int]bool

func (c calendar) working(t time.Time) bool {
	t = t.In(Shanghai)
	key := t.Year()*10000 + int(t.Month())*100 + t.Day()
	w, ok := c[key]
	if !ok {
		w = WorkingDay(t)
		c[key] = w
	}
	return w
}
