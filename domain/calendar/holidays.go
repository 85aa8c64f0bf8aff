package calendar

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"redengine/errs"
)

// Holiday is a named holiday.
type Holiday struct {
	Date Date
	Name string
}

// Easter returns Easter Sunday of year in the Gregorian calendar (the
// "Anonymous Gregorian algorithm", Meeus/Jones/Butcher).
func Easter(year int) Date {
	a := year % 19
	b := year / 100
	c := year % 100
	d := b / 4
	e := b % 4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i := c / 4
	k := c % 4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}

// GoodFriday returns Viernes Santo of year (two days before Easter Sunday).
func GoodFriday(year int) Date { return Easter(year).AddDays(-2) }

type fixedHoliday struct {
	month time.Month
	day   int
	name  string
}

// fixed are the national holidays on a fixed date.
var fixed = [...]fixedHoliday{
	{time.January, 1, "Año Nuevo"},
	{time.January, 6, "Epifanía del Señor"},
	{time.May, 1, "Fiesta del Trabajo"},
	{time.August, 15, "Asunción de la Virgen"},
	{time.October, 12, "Fiesta Nacional de España"},
	{time.November, 1, "Todos los Santos"},
	{time.December, 6, "Día de la Constitución Española"},
	{time.December, 8, "Inmaculada Concepción"},
	{time.December, 25, "Natividad del Señor"},
}

const goodFridayName = "Viernes Santo"

func nationalHoliday(d Date) (string, bool) {
	for _, f := range fixed {
		if d.Month == f.month && d.Day == f.day {
			return f.name, true
		}
	}
	if (d.Month == time.March || d.Month == time.April) && d == GoodFriday(d.Year) {
		return goodFridayName, true
	}
	return "", false
}

// NationalHolidays returns the national holidays of year, sorted: 1 Jan,
// 6 Jan, Viernes Santo, 1 May, 15 Aug, 12 Oct, 1 Nov, 6 Dec, 8 Dec, 25 Dec.
// Holidays that the autonomous communities move or add come from
// configuration.
func NationalHolidays(year int) []Holiday {
	out := make([]Holiday, 0, len(fixed)+1)
	for i, f := range fixed {
		out = append(out, Holiday{Date{year, f.month, f.day}, f.name})
		if i == 1 {
			out = append(out, Holiday{GoodFriday(year), goodFridayName})
		}
	}
	return out
}

// ParseHolidays reads extra holidays, one YYYY-MM-DD per line (the format of
// the REDENGINE_HOLIDAYS file). Text after '#' is a comment; blank lines are
// skipped; a UTF-8 byte-order mark is allowed. Any other line is an invalid
// error naming its line number. The dates come back in file order
// (duplicates kept; New ignores them).
func ParseHolidays(r io.Reader) ([]Date, error) {
	const op errs.Op = "calendar.ParseHolidays"
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	var out []Date
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		d, err := ParseDate(text)
		if err != nil {
			return nil, errs.E(op, errs.Invalid, fmt.Sprintf("línea %d: %q: %s", line, text, errs.MessageOf(err)))
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		return nil, errs.E(op, errs.Invalid, fmt.Sprintf("línea %d: no se puede leer el fichero de festivos", line+1), err)
	}
	return out, nil
}
