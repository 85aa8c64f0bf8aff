// Package calendar is the legal calendar of the engine: civil dates in
// Europe/Madrid, Spanish national holidays (Viernes Santo included, computed
// from Easter) plus configured extra holidays, and the computation of terms
// ("plazos") after art. 30 Ley 39/2015.
//
// # Conventions
//
// Every instant is turned into a civil date in Europe/Madrid (the zone data
// is embedded with time/tzdata, so a machine without zoneinfo works).
//
// A term of N días naturales counted from an act (TermEnd) runs from the day
// after the act, so its last day is the act's date + N; when that last day is
// a Saturday, a Sunday or a holiday it moves to the next working day (art.
// 30.5). The term ends at the END of its last day. TermEnd returns the
// instant just after the term: 00:00 Europe/Madrid of the day following the
// last day. So:
//
//	deadline has passed  ⇔  now >= TermEnd(act, n)
//	still in time        ⇔  now <  TermEnd(act, n)
//
// CalendarDaysEnd follows the same convention without moving the last day
// (for windows that the law or the seed counts in plain calendar days, such
// as the first alta after an NSS assignment).
//
// The package is pure: no clock reads, no package state. A *Calendar is
// immutable after New and safe for concurrent use.
package calendar

import (
	"sort"
	"sync"
	"time"

	// Embed the zone database so Europe/Madrid loads on a bare machine.
	_ "time/tzdata"
)

// Zone is the IANA name of the legal time zone.
const Zone = "Europe/Madrid"

// LoadMadrid returns the Europe/Madrid location (from the system's zoneinfo
// when present, from the embedded copy otherwise). It is loaded once: a
// Location is immutable, and time.LoadLocation opens and parses the zone
// file on every call (about 2 % of the engine's CPU under the load mix,
// where decisions build calendars per command).
func LoadMadrid() (*time.Location, error) { return loadMadrid() }

var loadMadrid = sync.OnceValues(func() (*time.Location, error) { return time.LoadLocation(Zone) })

// Calendar tells working days and computes terms in Europe/Madrid.
type Calendar struct {
	loc   *time.Location
	extra map[Date]struct{}
}

// New returns the legal calendar with the national holidays and the given
// extra holidays (regional or local ones from configuration, see
// ParseHolidays). Invalid or zero dates among extras are ignored.
func New(extraHolidays ...Date) *Calendar {
	c := &Calendar{loc: mustMadrid(), extra: make(map[Date]struct{}, len(extraHolidays))}
	for _, d := range extraHolidays {
		if d.Valid() {
			c.extra[d] = struct{}{}
		}
	}
	return c
}

func mustMadrid() *time.Location {
	loc, err := LoadMadrid()
	if err != nil {
		// Unreachable: time/tzdata is embedded, so LoadLocation always
		// finds Europe/Madrid.
		panic("calendar: cannot load " + Zone + ": " + err.Error())
	}
	return loc
}

// Location returns Europe/Madrid. A zero or nil Calendar (national holidays
// only) loads it on each call; use New.
func (c *Calendar) Location() *time.Location {
	if c == nil || c.loc == nil {
		return mustMadrid()
	}
	return c.loc
}

// DateOf returns the civil date of t in Europe/Madrid.
func (c *Calendar) DateOf(t time.Time) Date { return DateOf(t.In(c.Location())) }

// StartOf returns 00:00 Europe/Madrid of d.
func (c *Calendar) StartOf(d Date) time.Time { return d.StartIn(c.Location()) }

// Extra returns the configured extra holidays, sorted.
func (c *Calendar) Extra() []Date {
	if c == nil {
		return nil
	}
	out := make([]Date, 0, len(c.extra))
	for d := range c.extra {
		out = append(out, d)
	}
	sortDates(out)
	return out
}

// Holiday reports whether d is a holiday and its name: the national name, or
// "Festivo configurado" for an extra date.
func (c *Calendar) Holiday(d Date) (name string, ok bool) {
	if name, ok := nationalHoliday(d); ok {
		return name, true
	}
	if c == nil {
		return "", false
	}
	if _, ok := c.extra[d]; ok {
		return "Festivo configurado", true
	}
	return "", false
}

// IsHoliday reports whether d is a national or configured holiday.
func (c *Calendar) IsHoliday(d Date) bool {
	_, ok := c.Holiday(d)
	return ok
}

// IsWorkingDay reports whether d is a día hábil: not a Saturday, not a
// Sunday, not a holiday (art. 30.2 Ley 39/2015).
func (c *Calendar) IsWorkingDay(d Date) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return !c.IsHoliday(d)
}

// NextWorkingDay returns d when it is a working day, else the first working
// day after it.
func (c *Calendar) NextWorkingDay(d Date) Date {
	for !c.IsWorkingDay(d) {
		d = d.AddDays(1)
	}
	return d
}

// Holidays returns the holidays of year (national and configured), sorted.
func (c *Calendar) Holidays(year int) []Holiday {
	out := NationalHolidays(year)
	if c == nil {
		return out
	}
	for d := range c.extra {
		if d.Year != year {
			continue
		}
		if _, national := nationalHoliday(d); national {
			continue
		}
		out = append(out, Holiday{Date: d, Name: "Festivo configurado"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// TermLastDay returns the last day of a term of days días naturales from
// act: the act's date in Madrid + days, moved to the next working day when
// it is not one (art. 30.5). A negative days counts as 0.
func (c *Calendar) TermLastDay(act time.Time, days int) Date {
	if days < 0 {
		days = 0
	}
	return c.NextWorkingDay(c.DateOf(act).AddDays(days))
}

// TermEnd returns the instant at which a term of days días naturales from act
// has run out: 00:00 Europe/Madrid of the day after TermLastDay. The
// deadline has passed when now >= TermEnd(act, days).
func (c *Calendar) TermEnd(act time.Time, days int) time.Time {
	return c.StartOf(c.TermLastDay(act, days).AddDays(1))
}

// Passed reports whether a term ending at end (a TermEnd or CalendarDaysEnd
// result) has run out at now: now >= end.
func Passed(now, end time.Time) bool { return !now.Before(end) }

// CalendarDaysLastDay returns the act's date in Madrid + n, with no move to
// a working day. A negative n counts as 0.
func (c *Calendar) CalendarDaysLastDay(act time.Time, n int) Date {
	if n < 0 {
		n = 0
	}
	return c.DateOf(act).AddDays(n)
}

// CalendarDaysEnd returns the end of the nth calendar day after the act's
// day, with no move to a working day: 00:00 Europe/Madrid of the day after
// CalendarDaysLastDay. The window is over when now >= CalendarDaysEnd.
// For the first alta after an NSS assignment: CalendarDaysEnd(assignedAt, 3).
func (c *Calendar) CalendarDaysEnd(act time.Time, n int) time.Time {
	return c.StartOf(c.CalendarDaysLastDay(act, n).AddDays(1))
}

func sortDates(ds []Date) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Before(ds[j]) })
}
