// Package clock is the engine's only source of the current time. Everything
// that needs "now" takes a Clock, so tests and the manual mode control time.
package clock

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"redengine/errs"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// System is the machine's clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// Manual is a clock that stands still until Set moves it forward. It is safe
// for concurrent use.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a manual clock at t, read in UTC (as Set moves it):
// the instants the engine records do not carry the offset someone typed.
func NewManual(t time.Time) *Manual { return &Manual{now: t.UTC()} }

// Now returns the clock's instant.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Set moves the clock to t (read in UTC). Moving it back is a precondition
// error: time in the engine never goes backwards.
func (m *Manual) Set(t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !t.Before(Limit()) {
		return errs.E(errs.Op("clock.Set"), errs.Invalid, LimitReason)
	}
	if t.Before(m.now) {
		return errs.E(errs.Op("clock.Set"), errs.Precondition,
			fmt.Sprintf("el reloj no puede retroceder: ahora es %s", m.now.Format(time.RFC3339)))
	}
	m.now = t.UTC()
	return nil
}

// Advance moves the clock forward by d (d >= 0).
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d > 0 {
		m.now = m.now.Add(d)
	}
}

// Limit is the first instant a manual clock may not reach: the engine
// writes four-digit years (case numbers, RFC 3339 in JSON), and a deadline
// set just before it still ends long before year 10000.
func Limit() time.Time { return time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC) }

// LimitReason says why an instant past Limit is refused, in the words of
// the people who set the clock.
const LimitReason = "el reloj manual no admite instantes desde el año 9000"

// Parse reads a clock specification: "" or "system" for the machine's clock,
// "manual:<RFC3339>" for a manual clock standing at that instant.
func Parse(spec string) (Clock, error) {
	switch {
	case spec == "" || spec == "system":
		return System{}, nil
	case strings.HasPrefix(spec, "manual:"):
		t, err := time.Parse(time.RFC3339, strings.TrimPrefix(spec, "manual:"))
		if err != nil {
			return nil, errs.E(errs.Op("clock.Parse"), errs.Invalid, "REDENGINE_CLOCK: instante no válido, se espera manual:<RFC3339>", err)
		}
		if !t.Before(Limit()) {
			return nil, errs.E(errs.Op("clock.Parse"), errs.Invalid, "REDENGINE_CLOCK: "+LimitReason)
		}
		return NewManual(t), nil
	}
	return nil, errs.E(errs.Op("clock.Parse"), errs.Invalid, "REDENGINE_CLOCK: use system o manual:<RFC3339>")
}
