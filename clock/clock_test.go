package clock

import (
	"testing"
	"time"

	"redengine/errs"
)

func TestManualNeverGoesBack(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	m := NewManual(t0)
	if !m.Now().Equal(t0) {
		t.Fatal("start")
	}
	m.Advance(time.Hour)
	m.Advance(-5 * time.Hour) // ignored
	if !m.Now().Equal(t0.Add(time.Hour)) {
		t.Errorf("advance: %v", m.Now())
	}
	if err := m.Set(t0); !errs.Is(errs.Precondition, err) {
		t.Errorf("moving back: %v", err)
	}
	if err := m.Set(t0.Add(48 * time.Hour)); err != nil || !m.Now().Equal(t0.Add(48*time.Hour)) {
		t.Errorf("set forward: %v %v", err, m.Now())
	}
	// Not to year 9000 or later: the engine writes four-digit years.
	if err := m.Set(Limit()); !errs.Is(errs.Invalid, err) || !m.Now().Equal(t0.Add(48*time.Hour)) {
		t.Errorf("set to the limit: %v, now %v", err, m.Now())
	}
	if err := m.Set(Limit().Add(-time.Second)); err != nil {
		t.Errorf("set just before the limit: %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec   string
		manual bool
		bad    bool
	}{
		{"", false, false},
		{"system", false, false},
		{"manual:2026-01-01T00:00:00+01:00", true, false},
		{"manual:yesterday", false, true},
		{"manual:8999-12-31T23:59:59Z", true, false},
		{"manual:9000-01-01T00:00:00Z", false, true},
		{"manual:9999-12-31T23:59:59Z", false, true},
		{"wall", false, true},
	} {
		c, err := Parse(tc.spec)
		if tc.bad {
			if !errs.Is(errs.Invalid, err) {
				t.Errorf("%q: want invalid, got %v", tc.spec, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		if _, ok := c.(*Manual); ok != tc.manual {
			t.Errorf("%q: manual=%v", tc.spec, ok)
		}
	}
}

// TestManualReadsInUTC: the offset an instant was given with does not reach
// the instants the engine records.
func TestManualReadsInUTC(t *testing.T) {
	madrid := time.FixedZone("CET", 3600)
	m := NewManual(time.Date(2026, 12, 1, 10, 0, 0, 0, madrid))
	if now := m.Now(); now.Location() != time.UTC || now.Hour() != 9 {
		t.Errorf("NewManual: %v", now)
	}
	if err := m.Set(time.Date(2026, 12, 22, 0, 0, 0, 0, madrid)); err != nil {
		t.Fatal(err)
	}
	if now := m.Now(); now.Location() != time.UTC || now.Format(time.RFC3339) != "2026-12-21T23:00:00Z" {
		t.Errorf("Set: %v", now)
	}
}
