package calendar

import (
	"cmp"
	"fmt"
	"time"

	"redengine/errs"
)

// Date is a civil date (year, month, day) with no time of day and no
// location: a day in the calendar, as the law counts days. The zero value
// is "no date" (see IsZero); a Date built by ParseDate or DateOf is always a
// real calendar date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d, or an invalid error when that day does not
// exist in the Gregorian calendar (such as 2023-02-29) or the year is not in
// 1..9999.
func NewDate(y int, m time.Month, d int) (Date, error) {
	const op errs.Op = "calendar.NewDate"
	date := Date{y, m, d}
	if y < 1 || y > 9999 {
		return Date{}, errs.E(op, errs.Invalid, "el año debe estar entre 0001 y 9999")
	}
	if !date.Valid() {
		return Date{}, errs.E(op, errs.Invalid, "la fecha no existe en el calendario")
	}
	return date, nil
}

// ParseDate parses a date written exactly as YYYY-MM-DD (ISO 8601, four-digit
// year, two-digit month and day) that exists in the calendar. Surrounding
// spaces are ignored.
func ParseDate(s string) (Date, error) {
	const op errs.Op = "calendar.ParseDate"
	s = trimSpace(s)
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, errs.E(op, errs.Invalid, "la fecha debe tener el formato AAAA-MM-DD")
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, errs.E(op, errs.Invalid, "la fecha debe tener el formato AAAA-MM-DD")
	}
	if y == 0 {
		return Date{}, errs.E(op, errs.Invalid, "el año debe estar entre 0001 y 9999")
	}
	if m < 1 || m > 12 {
		return Date{}, errs.E(op, errs.Invalid, "el mes debe estar entre 01 y 12")
	}
	date := Date{y, time.Month(m), d}
	if !date.Valid() {
		return Date{}, errs.E(op, errs.Invalid, "la fecha no existe en el calendario")
	}
	return date, nil
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	return s
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// DateOf returns the civil date of t in t's own location. Use
// (*Calendar).DateOf for the date in Europe/Madrid.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a real Gregorian date (any year).
func (d Date) Valid() bool {
	if d.Month < time.January || d.Month > time.December || d.Day < 1 || d.Day > 31 {
		return false
	}
	t := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	return t.Day() == d.Day && t.Month() == d.Month && t.Year() == d.Year
}

// String renders d as YYYY-MM-DD (the zero Date renders as 0000-00-00).
func (d Date) String() string {
	if d.Year >= 0 && d.Year <= 9999 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	return fmt.Sprintf("%d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// noon is d at 12:00 UTC, a time safe from any day boundary, used for
// arithmetic on civil dates.
func (d Date) noon() time.Time { return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC) }

// AddDays returns the date n calendar days after d (before it when n < 0).
func (d Date) AddDays(n int) Date { return DateOf(d.noon().AddDate(0, 0, n)) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.noon().Weekday() }

// DaysUntil returns the number of calendar days from d to e (negative when e
// is before d).
func (d Date) DaysUntil(e Date) int {
	return int(e.noon().Sub(d.noon()).Hours() / 24)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmp.Compare(d.Year, e.Year)
	case d.Month != e.Month:
		return cmp.Compare(int(d.Month), int(e.Month))
	default:
		return cmp.Compare(d.Day, e.Day)
	}
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// StartIn returns the first instant (00:00) of d in loc. Where a
// daylight-saving change skips midnight, it is the first instant that exists
// on that day (Go's time.Date normalisation); in Europe/Madrid changes happen
// at 02:00/03:00, so midnight always exists.
func (d Date) StartIn(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// MarshalText renders d as YYYY-MM-DD (JSON strings use it).
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	return []byte(d.String()), nil
}

// UnmarshalText parses YYYY-MM-DD; empty text gives the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
