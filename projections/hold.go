package projections

import (
	"slices"
	"sync"
	"time"
)

// Gate is a switch that bulk writers close while they run, so that the
// projections Options.Hold ties to it wait instead of competing with them
// for the cores (see Options.Hold). Holds nest: the gate opens when the last
// one is released. The zero value is an open gate.
type Gate struct {
	mu   sync.Mutex
	n    int
	open chan struct{} // closed when n drops to 0
}

// NewGate returns an open gate.
func NewGate() *Gate { return &Gate{} }

// Hold closes the gate until release is called (more than once is harmless).
func (g *Gate) Hold() (release func()) {
	g.mu.Lock()
	if g.n == 0 {
		g.open = make(chan struct{})
	}
	g.n++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.n--; g.n == 0 {
				close(g.open)
			}
		})
	}
}

// Held returns nil while the gate is open, else a channel closed when it
// opens.
func (g *Gate) Held() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == 0 {
		return nil
	}
	return g.open
}

// heldError sends a held projection away from the shared reader, or stops
// its catch-up, until it may go on.
type heldError struct {
	until <-chan struct{}
}

func (*heldError) Error() string { return "en espera mientras se escribe en bloque" }

// holdRecheck is how often a held projection checks again whether it has
// waited MaxHold (its channel may stay open that long).
const holdRecheck = time.Second

// held returns the channel a projection must wait on, or nil when it may
// go on: Options.Hold says so, and it has not been held for MaxHold in a
// row (by the runner's clock) — a stream of imports one after the other
// must not keep a read model behind for ever.
func (r *Runner) held(pr *proj) <-chan struct{} {
	if r.opts.Hold == nil {
		return nil
	}
	ch := r.opts.Hold(pr.name)
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if ch == nil {
		pr.heldSince = time.Time{}
		return nil
	}
	now := r.opts.Clock.Now()
	if pr.heldSince.IsZero() {
		pr.heldSince = now
	}
	if now.Sub(pr.heldSince) >= r.opts.MaxHold {
		return nil
	}
	return ch
}

// dropHeld sends the held members away from the shared reader and returns
// the others.
func (r *Runner) dropHeld(members []*member) []*member {
	if r.opts.Hold == nil {
		return members
	}
	return slices.DeleteFunc(members, func(m *member) bool {
		ch := r.held(m.pr)
		if ch == nil {
			return false
		}
		m.done <- &heldError{until: ch}
		return true
	})
}
