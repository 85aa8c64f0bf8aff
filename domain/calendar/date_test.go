package calendar

import (
	"encoding/json"
	"testing"
	"time"

	"redengine/errs"
)

func TestParseDate(t *testing.T) {
	valid := []struct {
		in   string
		want Date
	}{
		{"2021-07-02", d(2021, 7, 2)},
		{" 2024-02-29 ", d(2024, 2, 29)},
		{"2000-02-29", d(2000, 2, 29)},
		{"0001-01-01", d(1, 1, 1)},
		{"9999-12-31", d(9999, 12, 31)},
	}
	for _, tc := range valid {
		got, err := ParseDate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if again, err := ParseDate(got.String()); err != nil || again != got {
			t.Errorf("round trip of %v = %v, %v", got, again, err)
		}
	}
	invalid := []struct{ in, reason string }{
		{"", "la fecha debe tener el formato AAAA-MM-DD"},
		{"2021-7-2", "la fecha debe tener el formato AAAA-MM-DD"},
		{"02/07/2021", "la fecha debe tener el formato AAAA-MM-DD"},
		{"2021-07-02T10:00:00Z", "la fecha debe tener el formato AAAA-MM-DD"},
		{"2021/07/02", "la fecha debe tener el formato AAAA-MM-DD"},
		{"20x1-07-02", "la fecha debe tener el formato AAAA-MM-DD"},
		{"+021-07-02", "la fecha debe tener el formato AAAA-MM-DD"},
		{"0000-01-01", "el año debe estar entre 0001 y 9999"},
		{"2021-13-01", "el mes debe estar entre 01 y 12"},
		{"2021-00-01", "el mes debe estar entre 01 y 12"},
		{"2023-02-29", "la fecha no existe en el calendario"},
		{"1900-02-29", "la fecha no existe en el calendario"},
		{"2021-04-31", "la fecha no existe en el calendario"},
		{"2021-01-00", "la fecha no existe en el calendario"},
		{"2021-01-32", "la fecha no existe en el calendario"},
	}
	for _, tc := range invalid {
		_, err := ParseDate(tc.in)
		if !errs.Is(errs.Invalid, err) || errs.MessageOf(err) != tc.reason {
			t.Errorf("ParseDate(%q) = %v; want invalid %q", tc.in, err, tc.reason)
		}
	}
}

func TestNewDate(t *testing.T) {
	if _, err := NewDate(2021, 2, 29); !errs.Is(errs.Invalid, err) {
		t.Errorf("NewDate(2021-02-29) = %v", err)
	}
	if _, err := NewDate(10000, 1, 1); !errs.Is(errs.Invalid, err) {
		t.Errorf("NewDate(10000-01-01) = %v", err)
	}
	if got, err := NewDate(2021, 12, 31); err != nil || got != d(2021, 12, 31) {
		t.Errorf("NewDate(2021-12-31) = %v, %v", got, err)
	}
}

func TestDateArithmetic(t *testing.T) {
	if got := d(2021, 12, 31).AddDays(1); got != d(2022, 1, 1) {
		t.Errorf("AddDays across year end = %v", got)
	}
	if got := d(2024, 3, 1).AddDays(-1); got != d(2024, 2, 29) {
		t.Errorf("AddDays back into a leap day = %v", got)
	}
	if got := d(2021, 3, 27).AddDays(2); got != d(2021, 3, 29) {
		t.Errorf("AddDays across DST = %v", got)
	}
	if n := d(2021, 7, 2).DaysUntil(d(2021, 7, 22)); n != 20 {
		t.Errorf("DaysUntil = %d", n)
	}
	if n := d(2022, 1, 1).DaysUntil(d(2021, 12, 31)); n != -1 {
		t.Errorf("DaysUntil backwards = %d", n)
	}
	if d(2021, 7, 2).Weekday() != time.Friday {
		t.Error("2021-07-02 is a Friday")
	}
	if !d(2021, 7, 2).Before(d(2021, 7, 3)) || !d(2022, 1, 1).After(d(2021, 12, 31)) || d(2021, 7, 2).Compare(d(2021, 7, 2)) != 0 {
		t.Error("Compare")
	}
	if !(Date{}).IsZero() || d(2021, 1, 1).IsZero() {
		t.Error("IsZero")
	}
	loc := madrid(t)
	// Instants near midnight belong to the Madrid day.
	c := New()
	if got := c.DateOf(time.Date(2021, 12, 31, 23, 30, 0, 0, time.UTC)); got != d(2022, 1, 1) {
		t.Errorf("DateOf(31 Dec 23:30Z) in Madrid = %v", got)
	}
	if got := c.StartOf(d(2021, 3, 28)); got.Format(time.RFC3339) != "2021-03-28T00:00:00+01:00" || got.Location().String() != loc.String() {
		t.Errorf("StartOf DST day = %v", got)
	}
	if got := c.StartOf(d(2021, 3, 29)); got.Format(time.RFC3339) != "2021-03-29T00:00:00+02:00" {
		t.Errorf("StartOf day after DST = %v", got)
	}
}

func TestDateJSON(t *testing.T) {
	type doc struct {
		When Date  `json:"when"`
		Opt  *Date `json:"opt,omitempty"`
	}
	b, err := json.Marshal(doc{When: d(2021, 7, 2)})
	if err != nil || string(b) != `{"when":"2021-07-02"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back doc
	if err := json.Unmarshal(b, &back); err != nil || back.When != d(2021, 7, 2) {
		t.Errorf("Unmarshal = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"when":"2021-02-30"}`), &back); err == nil {
		t.Error("Unmarshal accepted 2021-02-30")
	}
}
