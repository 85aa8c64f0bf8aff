package calendar

import (
	"strings"
	"testing"
	"time"

	"redengine/errs"
)

func madrid(t testing.TB) *time.Location {
	t.Helper()
	loc, err := LoadMadrid()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func d(y int, m time.Month, day int) Date { return Date{y, m, day} }

func TestEasterAndGoodFriday(t *testing.T) {
	cases := []struct {
		year           int
		easter, vSanto Date
	}{
		{1818, d(1818, 3, 22), d(1818, 3, 20)}, // earliest possible Easter
		{1943, d(1943, 4, 25), d(1943, 4, 23)}, // latest possible Easter
		{2000, d(2000, 4, 23), d(2000, 4, 21)},
		{2019, d(2019, 4, 21), d(2019, 4, 19)},
		{2021, d(2021, 4, 4), d(2021, 4, 2)},
		{2022, d(2022, 4, 17), d(2022, 4, 15)},
		{2023, d(2023, 4, 9), d(2023, 4, 7)},
		{2024, d(2024, 3, 31), d(2024, 3, 29)},
		{2025, d(2025, 4, 20), d(2025, 4, 18)},
		{2026, d(2026, 4, 5), d(2026, 4, 3)},
		{2027, d(2027, 3, 28), d(2027, 3, 26)},
		{2038, d(2038, 4, 25), d(2038, 4, 23)},
	}
	for _, c := range cases {
		if got := Easter(c.year); got != c.easter {
			t.Errorf("Easter(%d) = %v, want %v", c.year, got, c.easter)
		}
		if got := GoodFriday(c.year); got != c.vSanto {
			t.Errorf("GoodFriday(%d) = %v, want %v", c.year, got, c.vSanto)
		}
		if c.vSanto.Weekday() != time.Friday {
			t.Errorf("%v is not a Friday", c.vSanto)
		}
	}
}

func TestNationalHolidays(t *testing.T) {
	got := NationalHolidays(2026)
	want := []Date{
		d(2026, 1, 1), d(2026, 1, 6), d(2026, 4, 3), d(2026, 5, 1), d(2026, 8, 15),
		d(2026, 10, 12), d(2026, 11, 1), d(2026, 12, 6), d(2026, 12, 8), d(2026, 12, 25),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d holidays, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Date != want[i] || got[i].Name == "" {
			t.Errorf("holiday %d = %+v, want %v", i, got[i], want[i])
		}
	}
	c := New(d(2026, 3, 19), d(2026, 1, 6)) // San José + a duplicate of a national one
	hs := c.Holidays(2026)
	if len(hs) != 11 || hs[2].Date != d(2026, 3, 19) || hs[2].Name != "Festivo configurado" {
		t.Errorf("Holidays with extras = %+v", hs)
	}
	if name, ok := c.Holiday(d(2026, 4, 3)); !ok || name != "Viernes Santo" {
		t.Errorf("Holiday(2026-04-03) = %q, %v", name, ok)
	}
}

func TestIsWorkingDay(t *testing.T) {
	c := New(d(2021, 3, 19))
	cases := []struct {
		date Date
		want bool
	}{
		{d(2021, 7, 2), true},   // Friday
		{d(2021, 7, 3), false},  // Saturday
		{d(2021, 7, 4), false},  // Sunday
		{d(2021, 1, 1), false},  // Año Nuevo
		{d(2021, 1, 6), false},  // Reyes
		{d(2021, 4, 1), true},   // Jueves Santo is not national
		{d(2021, 4, 2), false},  // Viernes Santo
		{d(2021, 4, 5), true},   // Lunes de Pascua is not national
		{d(2021, 3, 19), false}, // configured extra
		{d(2022, 3, 18), true},  // the extra date is for 2021 only
		{d(2021, 10, 12), false},
		{d(2021, 12, 6), false},
		{d(2021, 12, 8), false},
		{d(2021, 12, 24), true},
	}
	for _, tc := range cases {
		if got := c.IsWorkingDay(tc.date); got != tc.want {
			t.Errorf("IsWorkingDay(%v %v) = %v, want %v", tc.date, tc.date.Weekday(), got, tc.want)
		}
	}
}

func TestTermEnd(t *testing.T) {
	loc := madrid(t)
	at := func(y int, m time.Month, day, h, min int) time.Time { return time.Date(y, m, day, h, min, 0, 0, loc) }
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name     string
		extra    []Date
		act      time.Time
		days     int
		lastDay  Date
		end      time.Time // as an absolute instant
		endLocal string    // the same instant in Madrid, for the reader
	}{
		{"plain weekday (seed date 2021-07-02)", nil, at(2021, 7, 2, 10, 0), 20,
			d(2021, 7, 22), utc("2021-07-22T22:00:00Z"), "2021-07-23T00:00:00+02:00"},
		{"last day Sunday moves to Monday", nil, at(2021, 7, 5, 9, 0), 20,
			d(2021, 7, 26), utc("2021-07-26T22:00:00Z"), "2021-07-27T00:00:00+02:00"},
		{"act just after midnight in Madrid, still 1 July in UTC", nil, utc("2021-07-01T22:30:00Z"), 20,
			d(2021, 7, 22), utc("2021-07-22T22:00:00Z"), "2021-07-23T00:00:00+02:00"},
		{"act at 23:59 Madrid counts as that day", nil, utc("2021-07-02T21:59:59Z"), 20,
			d(2021, 7, 22), utc("2021-07-22T22:00:00Z"), "2021-07-23T00:00:00+02:00"},
		{"act at 00:00 Madrid is the next day", nil, utc("2021-07-02T22:00:00Z"), 20,
			d(2021, 7, 23), utc("2021-07-23T22:00:00Z"), "2021-07-24T00:00:00+02:00"},
		{"configured holiday on the last day", []Date{d(2021, 7, 22)}, at(2021, 7, 2, 10, 0), 20,
			d(2021, 7, 23), utc("2021-07-23T22:00:00Z"), "2021-07-24T00:00:00+02:00"},
		{"year end: last day 6 January (Thursday)", nil, at(2021, 12, 17, 12, 0), 20,
			d(2022, 1, 7), utc("2022-01-07T23:00:00Z"), "2022-01-08T00:00:00+01:00"},
		{"year end: last day 1 January, a holiday followed by a weekend", nil, at(2020, 12, 12, 8, 0), 20,
			d(2021, 1, 4), utc("2021-01-04T23:00:00Z"), "2021-01-05T00:00:00+01:00"},
		{"Christmas: 10 days ending on Saturday 25 December", nil, at(2021, 12, 15, 18, 0), 10,
			d(2021, 12, 27), utc("2021-12-27T23:00:00Z"), "2021-12-28T00:00:00+01:00"},
		{"Easter 2025: last day Viernes Santo, then weekend, Lunes de Pascua works", nil, at(2025, 3, 29, 11, 0), 20,
			d(2025, 4, 21), utc("2025-04-21T22:00:00Z"), "2025-04-22T00:00:00+02:00"},
		{"Easter 2024: Viernes Santo, weekend with the March DST change", nil, at(2024, 3, 9, 11, 0), 20,
			d(2024, 4, 1), utc("2024-04-01T22:00:00Z"), "2024-04-02T00:00:00+02:00"},
		{"Easter 2021: Viernes Santo 2 April", nil, at(2021, 3, 13, 11, 0), 20,
			d(2021, 4, 5), utc("2021-04-05T22:00:00Z"), "2021-04-06T00:00:00+02:00"},
		{"Easter 2026: Viernes Santo 3 April", nil, at(2026, 3, 14, 11, 0), 20,
			d(2026, 4, 6), utc("2026-04-06T22:00:00Z"), "2026-04-07T00:00:00+02:00"},
		{"act in winter time, end in summer time (DST 2021-03-28)", nil, at(2021, 3, 8, 23, 30), 20,
			d(2021, 3, 29), utc("2021-03-29T22:00:00Z"), "2021-03-30T00:00:00+02:00"},
		{"act in summer time, last day 31 October (DST end) then 1 November", nil, at(2021, 10, 11, 10, 0), 20,
			d(2021, 11, 2), utc("2021-11-02T23:00:00Z"), "2021-11-03T00:00:00+01:00"},
		{"act on the DST change day itself", nil, at(2025, 10, 26, 2, 30), 1,
			d(2025, 10, 27), utc("2025-10-27T23:00:00Z"), "2025-10-28T00:00:00+01:00"},
		{"zero days: the act's own day, moved to a working day", nil, at(2021, 7, 3, 10, 0), 0,
			d(2021, 7, 5), utc("2021-07-05T22:00:00Z"), "2021-07-06T00:00:00+02:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(tc.extra...)
			if got := c.TermLastDay(tc.act, tc.days); got != tc.lastDay {
				t.Errorf("TermLastDay = %v (%v), want %v", got, got.Weekday(), tc.lastDay)
			}
			end := c.TermEnd(tc.act, tc.days)
			if !end.Equal(tc.end) {
				t.Errorf("TermEnd = %v, want %v", end, tc.end)
			}
			if got := end.In(loc).Format(time.RFC3339); got != tc.endLocal {
				t.Errorf("TermEnd in Madrid = %s, want %s", got, tc.endLocal)
			}
			if end.Location().String() != Zone {
				t.Errorf("TermEnd location = %v, want Europe/Madrid", end.Location())
			}
			// The deadline has passed at end, not one nanosecond before.
			if passed := !end.Add(-time.Nanosecond).Before(end); passed {
				t.Error("end - 1ns should be before end")
			}
		})
	}
}

func TestTermEndNegativeDays(t *testing.T) {
	c := New()
	act := time.Date(2021, 7, 2, 10, 0, 0, 0, c.Location())
	if !c.TermEnd(act, -5).Equal(c.TermEnd(act, 0)) {
		t.Error("negative days should count as 0")
	}
}

func TestCalendarDaysEnd(t *testing.T) {
	c := New()
	loc := c.Location()
	cases := []struct {
		act     time.Time
		n       int
		lastDay Date
		end     string
	}{
		// NSS assigned on Friday: the window ends at the end of Monday.
		{time.Date(2021, 7, 2, 10, 0, 0, 0, loc), 3, d(2021, 7, 5), "2021-07-06T00:00:00+02:00"},
		// Assigned on Thursday: last day is a Sunday and does NOT move.
		{time.Date(2021, 7, 1, 23, 59, 0, 0, loc), 3, d(2021, 7, 4), "2021-07-05T00:00:00+02:00"},
		// Across the year end and a holiday, no move either.
		{time.Date(2021, 12, 29, 9, 0, 0, 0, loc), 3, d(2022, 1, 1), "2022-01-02T00:00:00+01:00"},
		// Across the March DST change.
		{time.Date(2021, 3, 26, 9, 0, 0, 0, loc), 3, d(2021, 3, 29), "2021-03-30T00:00:00+02:00"},
	}
	for _, tc := range cases {
		if got := c.CalendarDaysLastDay(tc.act, tc.n); got != tc.lastDay {
			t.Errorf("CalendarDaysLastDay(%v, %d) = %v, want %v", tc.act, tc.n, got, tc.lastDay)
		}
		if got := c.CalendarDaysEnd(tc.act, tc.n).In(loc).Format(time.RFC3339); got != tc.end {
			t.Errorf("CalendarDaysEnd(%v, %d) = %s, want %s", tc.act, tc.n, got, tc.end)
		}
	}
}

func TestParseHolidays(t *testing.T) {
	in := "\ufeff# festivos de la Comunidad de Madrid\n2026-03-19  # San José\n\n   \n2026-05-02\r\n2026-07-25 \n"
	got, err := ParseHolidays(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Date{d(2026, 3, 19), d(2026, 5, 2), d(2026, 7, 25)}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("date %d = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []struct{ in, line string }{
		{"2026-03-19\n2026-02-30\n", "línea 2"},
		{"# x\n\n19/03/2026\n", "línea 3"},
		{"2026-3-19\n", "línea 1"},
		{"2026-03-19 2026-03-20\n", "línea 1"},
	} {
		_, err := ParseHolidays(strings.NewReader(bad.in))
		if !errs.Is(errs.Invalid, err) || !strings.Contains(err.Error(), bad.line) {
			t.Errorf("ParseHolidays(%q) = %v, want invalid naming %s", bad.in, err, bad.line)
		}
	}
	empty, err := ParseHolidays(strings.NewReader(""))
	if err != nil || len(empty) != 0 {
		t.Errorf("empty file = %v, %v", empty, err)
	}
}

func TestPassed(t *testing.T) {
	c := New()
	end := c.TermEnd(time.Date(2021, 7, 2, 10, 0, 0, 0, c.Location()), 20)
	if Passed(end.Add(-time.Nanosecond), end) {
		t.Error("passed one nanosecond before the end")
	}
	if !Passed(end, end) || !Passed(end.Add(time.Hour), end) {
		t.Error("not passed at or after the end")
	}
}

func TestZeroCalendar(t *testing.T) {
	var zero Calendar
	var nilCal *Calendar
	act := time.Date(2021, 7, 5, 9, 0, 0, 0, time.UTC)
	want := New().TermEnd(act, 20)
	if got := zero.TermEnd(act, 20); !got.Equal(want) {
		t.Errorf("zero Calendar TermEnd = %v, want %v", got, want)
	}
	if got := nilCal.TermEnd(act, 20); !got.Equal(want) {
		t.Errorf("nil Calendar TermEnd = %v, want %v", got, want)
	}
	if nilCal.IsWorkingDay(d(2021, 4, 2)) || len(nilCal.Holidays(2021)) != 10 || nilCal.Extra() != nil {
		t.Error("nil Calendar holidays")
	}
}
