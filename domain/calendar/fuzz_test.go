package calendar

import (
	"testing"
	"time"
)

// FuzzTermEnd checks the invariants of TermEnd for any act and term length:
// the end is 00:00 Madrid, after act + days, the day before it is a working
// day, and every day between the nominal last day and that one is not.
func FuzzTermEnd(f *testing.F) {
	for _, s := range []struct {
		unix int64
		days uint16
	}{
		{1625212800, 20}, // 2021-07-02
		{1639735200, 20}, // 2021-12-17
		{1743240000, 20}, // 2025-03-29
		{1616625000, 3},  // DST week 2021
		{1635544800, 1},  // 2021-10-30 (DST end eve)
		{0, 0},
		{4102444800, 365},
	} {
		f.Add(s.unix, s.days)
	}
	c := New(Date{2021, time.March, 19}, Date{2025, time.April, 17})
	loc := c.Location()
	f.Fuzz(func(t *testing.T, unix int64, days uint16) {
		// Keep to years 1901..2199 and terms up to ~3 years.
		const lo, hi = -2177452800, 7258118400
		if unix < lo || unix > hi {
			unix = lo + (unix%(hi-lo)+(hi-lo))%(hi-lo)
		}
		n := int(days % 1100)
		act := time.Unix(unix, 0)
		end := c.TermEnd(act, n)
		local := end.In(loc)
		if local.Hour() != 0 || local.Minute() != 0 || local.Second() != 0 || local.Nanosecond() != 0 {
			t.Fatalf("TermEnd(%v, %d) = %v is not midnight in Madrid", act, n, local)
		}
		if !end.After(act) {
			t.Fatalf("TermEnd(%v, %d) = %v is not after the act", act, n, end)
		}
		nominal := c.DateOf(act).AddDays(n)
		if !end.After(c.StartOf(nominal)) {
			t.Fatalf("TermEnd(%v, %d) = %v ends before the nominal last day %v", act, n, end, nominal)
		}
		if n > 0 && end.Sub(act) < time.Duration(n)*24*time.Hour-time.Hour {
			t.Fatalf("TermEnd(%v, %d) = %v is less than %d days after the act", act, n, end, n)
		}
		last := c.DateOf(end).AddDays(-1)
		if last != c.TermLastDay(act, n) {
			t.Fatalf("day before TermEnd %v != TermLastDay %v", last, c.TermLastDay(act, n))
		}
		if !c.IsWorkingDay(last) {
			t.Fatalf("TermEnd(%v, %d): last day %v is not a working day", act, n, last)
		}
		for x := nominal; x.Before(last); x = x.AddDays(1) {
			if c.IsWorkingDay(x) {
				t.Fatalf("TermEnd(%v, %d) skipped working day %v", act, n, x)
			}
		}
		cd := c.CalendarDaysEnd(act, n)
		if cd.After(end) || c.DateOf(cd) != nominal.AddDays(1) {
			t.Fatalf("CalendarDaysEnd(%v, %d) = %v inconsistent with TermEnd %v", act, n, cd, end)
		}
	})
}

// FuzzParseDate checks that ParseDate never panics and that an accepted
// date renders back to text that parses to the same date.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2021-07-02", "2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31", " 2021-01-01", "2021-1-01", "abcd-ef-gh", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dt, err := ParseDate(s)
		if err != nil {
			return
		}
		if !dt.Valid() {
			t.Fatalf("ParseDate(%q) accepted invalid %v", s, dt)
		}
		again, err := ParseDate(dt.String())
		if err != nil || again != dt {
			t.Fatalf("round trip of %q: %v -> %v, %v", s, dt, again, err)
		}
		if dt.AddDays(1).AddDays(-1) != dt || dt.DaysUntil(dt.AddDays(7)) != 7 {
			t.Fatalf("arithmetic broken around %v", dt)
		}
	})
}
