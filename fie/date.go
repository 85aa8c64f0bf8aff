package fie

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// Date is a civil date (no time, no zone), as FIE 2.0 writes it: yyyyMMdd,
// with 00000000 meaning "no date". The zero Date is that empty date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// D builds a Date; it does not check it (see Date.Valid).
func D(year int, month time.Month, day int) Date { return Date{year, month, day} }

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the empty date (00000000).
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is empty or a real calendar date between the
// years 1900 and 9999.
func (d Date) Valid() bool {
	if d.IsZero() {
		return true
	}
	if d.Year < 1900 || d.Year > 9999 || d.Month < 1 || d.Month > 12 || d.Day < 1 {
		return false
	}
	return d.Day <= daysIn(d.Year, d.Month)
}

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(y int, m time.Month) int {
	if m == time.February && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return 29
	}
	return monthDays[m]
}

// Time returns d at midnight UTC; the zero time for the empty date.
func (d Date) Time() time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after e. The
// empty date sorts first.
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

// AddDays returns d moved n calendar days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// String renders d as YYYY-MM-DD, or "" for the empty date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	var b [16]byte
	return string(d.appendISO(b[:0]))
}

// appendISO appends the YYYY-MM-DD form of d to b.
func (d Date) appendISO(b []byte) []byte {
	b = appendPadded(b, d.Year, 4)
	b = append(b, '-')
	b = appendPadded(b, int(d.Month), 2)
	b = append(b, '-')
	return appendPadded(b, d.Day, 2)
}

// FIE renders d as FIE 2.0 writes it: yyyyMMdd, 00000000 for the empty date.
func (d Date) FIE() string {
	if d.IsZero() {
		return "00000000"
	}
	return fmt.Sprintf("%04d%02d%02d", d.Year, int(d.Month), d.Day)
}

// appendFIE appends the yyyyMMdd form of d to b without allocating.
func (d Date) appendFIE(b []byte) []byte {
	b = appendPadded(b, d.Year, 4)
	b = appendPadded(b, int(d.Month), 2)
	return appendPadded(b, d.Day, 2)
}

func appendPadded(b []byte, v, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// ParseDate reads a date as YYYY-MM-DD; "" gives the empty date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	if d, ok := parseISO(s); ok {
		return d, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("fecha %q no válida: se espera AAAA-MM-DD", s)
	}
	d := DateOf(t)
	if !d.Valid() {
		return Date{}, fmt.Errorf("fecha %q fuera del rango admitido (1900-9999)", s)
	}
	return d, nil
}

// parseFIEDate reads yyyyMMdd; 00000000 gives the empty date. The reason is
// in Spanish, for the person who sent the file.
func parseFIEDate(s string) (Date, string) {
	if len(s) != 8 || !allDigits(s) {
		return Date{}, fmt.Sprintf("fecha «%s» no válida: se esperan 8 dígitos AAAAMMDD", s)
	}
	if s == "00000000" {
		return Date{}, ""
	}
	y, _ := strconv.Atoi(s[0:4])
	m, _ := strconv.Atoi(s[4:6])
	dd, _ := strconv.Atoi(s[6:8])
	d := Date{y, time.Month(m), dd}
	if d.IsZero() || !d.Valid() {
		return Date{}, fmt.Sprintf("fecha «%s» no existe en el calendario", s)
	}
	return d, ""
}

// MarshalJSON renders "YYYY-MM-DD", or null for the empty date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, 12)
	b = append(b, '"')
	b = d.appendISO(b)
	return append(b, '"'), nil
}

// parseISO reads exactly DDDD-DD-DD into a valid date without time.Parse
// (dates are decoded for every record a read model or an export reads);
// anything else is left to ParseDate's general path, which gives the same
// answers and the error messages.
func parseISO(s string) (Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, false
	}
	num := func(from, to int) (int, bool) {
		v := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	m, ok2 := num(5, 7)
	dd, ok3 := num(8, 10)
	d := Date{Year: y, Month: time.Month(m), Day: dd}
	if !ok1 || !ok2 || !ok3 || d.IsZero() || !d.Valid() {
		return Date{}, false
	}
	return d, true
}

// UnmarshalJSON reads "YYYY-MM-DD"; null and "" give the empty date.
func (d *Date) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*d = Date{}
		return nil
	}
	if len(b) == 12 && b[0] == '"' && b[11] == '"' {
		if v, ok := parseISO(string(b[1:11])); ok {
			*d = v
			return nil
		}
	}
	// A *json.UnmarshalTypeError, so that encoding/json names the field
	// ("dit.startDate") and the API says what it wanted (JSONWants).
	bad := &json.UnmarshalTypeError{Value: "string " + string(b), Type: reflect.TypeFor[Date]()}
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return bad
	}
	v, err := ParseDate(s)
	if err != nil {
		return bad
	}
	*d = v
	return nil
}

// JSONWants says, in the words of an API's error, what a JSON date must be.
func (Date) JSONWants() string { return "una fecha AAAA-MM-DD que exista (o null)" }
