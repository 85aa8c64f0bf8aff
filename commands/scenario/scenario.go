// Package scenario tests aggregates in the given/when/then style, purely:
// no store, no clock, just the aggregate's Evolve, a decision and the codec.
//
//	scenario.For(cases.Aggregate).
//		Given(cases.Opened{...}, cases.InfoRequested{...}).
//		At(day(2021, 7, 23)).
//		When(cases.CloseForInactivity()).
//		Then(t, cases.ClosedDeOficio{...})
//
// Every event given and every event decided goes through the aggregate's
// codec (encode, then decode), so a scenario also proves the events are
// declared and survive JSON. Expected and actual events are compared by type
// name and JSON, and a mismatch is reported event by event.
package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
)

// DefaultNow is the instant a scenario decides at unless At says otherwise:
// the day the seed bulletin's changes took effect.
var DefaultNow = time.Date(2021, 7, 2, 9, 0, 0, 0, time.UTC)

// Scenario is an aggregate with a history. Its methods return new scenarios,
// so a common Given can be shared by subtests.
type Scenario[S any] struct {
	agg   commands.Aggregate[S]
	given []given
	now   time.Time
	actor eventstore.Actor
}

// given is a history event and, when set, the instant it occurred.
type given struct {
	event any
	at    time.Time
}

// For starts a scenario for an aggregate with an empty history.
func For[S any](agg commands.Aggregate[S]) Scenario[S] {
	return Scenario[S]{agg: agg, now: DefaultNow}
}

// Given appends domain events to the history. Their OccurredAt is the
// scenario's instant (At) unless GivenAt says otherwise.
func (s Scenario[S]) Given(events ...any) Scenario[S] {
	return s.GivenAt(time.Time{}, events...)
}

// GivenAt appends domain events that occurred at the instant at, for an
// Evolve that reads the metadata's OccurredAt.
func (s Scenario[S]) GivenAt(at time.Time, events ...any) Scenario[S] {
	g := append([]given(nil), s.given...)
	for _, e := range events {
		g = append(g, given{event: e, at: at})
	}
	s.given = g
	return s
}

// At sets the instant the decision sees as now (also the OccurredAt of the
// events given without an instant, and of the decided events in ThenState).
func (s Scenario[S]) At(now time.Time) Scenario[S] {
	s.now = now
	return s
}

// As sets the actor recorded on the given events' metadata.
func (s Scenario[S]) As(actor eventstore.Actor) Scenario[S] {
	s.actor = actor
	return s
}

// State folds the history and returns the state, failing t if an event does
// not go through the codec.
func (s Scenario[S]) State(t testing.TB) S {
	t.Helper()
	st, _, err := s.fold(s.given, s.initial(), 0)
	if err != nil {
		t.Fatalf("given: %v", err)
	}
	return st
}

func (s Scenario[S]) initial() S {
	var st S
	if s.agg.Initial != nil {
		st = s.agg.Initial()
	}
	return st
}

// fold evolves st with events, numbering revisions from rev.
func (s Scenario[S]) fold(events []given, st S, rev uint64) (S, uint64, error) {
	for i, g := range events {
		ev := g.event
		dec, name, err := roundTrip(s.agg.Codec, ev)
		if err != nil {
			return st, rev, fmt.Errorf("event %d (%T): %w", i, ev, err)
		}
		at := g.at
		if at.IsZero() {
			at = s.now
		}
		st = s.agg.Evolve(st, commands.Event{
			Data:     dec,
			Type:     name,
			ID:       uuid.NewSHA1(commands.Namespace, fmt.Appendf(nil, "scenario-%d", rev)),
			Revision: rev,
			Position: eventstore.Position{Commit: rev + 1, Prepare: rev + 1},
			Metadata: eventstore.Metadata{CommandID: "scenario", Actor: s.actor, OccurredAt: at},
		})
		rev++
	}
	return st, rev, nil
}

// When folds the history and runs the decision at the scenario's instant.
func (s Scenario[S]) When(decide commands.Decide[S]) *Outcome[S] {
	o := &Outcome[S]{s: s}
	st, rev, err := s.fold(s.given, s.initial(), 0)
	if err != nil {
		o.setupErr = fmt.Errorf("given: %w", err)
		return o
	}
	o.before = st
	o.rev = rev
	o.events, o.err = decide(st, s.now)
	return o
}

// Outcome is the result of a decision, to be checked with its Then methods.
// Each check fails the test (t.Fatalf) and returns the outcome for chaining.
type Outcome[S any] struct {
	s        Scenario[S]
	setupErr error
	before   S
	rev      uint64
	events   []any
	err      error
}

// Events returns the decided domain events.
func (o *Outcome[S]) Events() []any { return o.events }

// Err returns the decision's error.
func (o *Outcome[S]) Err() error { return o.err }

func (o *Outcome[S]) ok(t testing.TB) {
	t.Helper()
	if o.setupErr != nil {
		t.Fatal(o.setupErr)
	}
}

// Then checks that the decision succeeded with exactly the want events, in
// order, compared by type and JSON.
func (o *Outcome[S]) Then(t testing.TB, want ...any) *Outcome[S] {
	t.Helper()
	o.ok(t)
	if o.err != nil {
		t.Fatalf("decision failed (kind %s): %v\nwant events:\n%s", errs.KindOf(o.err), o.err, o.render(want))
	}
	var diffs []string
	for i, ev := range o.events {
		if _, _, err := roundTrip(o.s.agg.Codec, ev); err != nil {
			diffs = append(diffs, fmt.Sprintf("event %d (%T) does not go through the codec: %v", i, ev, err))
		}
	}
	for i := 0; i < max(len(want), len(o.events)); i++ {
		var g, w string
		if i < len(o.events) {
			g = o.show(o.events[i])
		}
		if i < len(want) {
			w = o.show(want[i])
		}
		if g != w {
			diffs = append(diffs, fmt.Sprintf("event %d:\n   got: %s\n  want: %s", i, orNone(g), orNone(w)))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("decided events differ:\n%s", strings.Join(diffs, "\n"))
	}
	return o
}

// ThenNothing checks that the decision succeeded and produced no events.
func (o *Outcome[S]) ThenNothing(t testing.TB) *Outcome[S] {
	t.Helper()
	return o.Then(t)
}

// ThenError checks that the decision failed with an error of the given
// kind. An error that wraps no kind counts as errs.Internal.
func (o *Outcome[S]) ThenError(t testing.TB, kind errs.Kind) *Outcome[S] {
	t.Helper()
	o.ok(t)
	if o.err == nil {
		t.Fatalf("decision succeeded, want a %s error; events:\n%s", kind, o.render(o.events))
	}
	if got := errs.KindOf(o.err); got != kind {
		t.Fatalf("decision failed with kind %s, want %s: %v", got, kind, o.err)
	}
	return o
}

// ThenErrorField checks that the decision failed with an errs.Invalid error
// naming field among its field errors.
func (o *Outcome[S]) ThenErrorField(t testing.TB, field string) *Outcome[S] {
	t.Helper()
	o.ThenError(t, errs.Invalid)
	var names []string
	for _, f := range errs.FieldsOf(o.err) {
		if f.Field == field {
			return o
		}
		names = append(names, f.Field)
	}
	t.Fatalf("invalid error has no field %q (fields: %v): %v", field, names, o.err)
	return o
}

// ThenState folds the decided events onto the state and hands the result to
// check, to test Evolve together with the decision.
func (o *Outcome[S]) ThenState(t testing.TB, check func(t testing.TB, state S)) *Outcome[S] {
	t.Helper()
	o.ok(t)
	if o.err != nil {
		t.Fatalf("decision failed (kind %s): %v", errs.KindOf(o.err), o.err)
	}
	decided := make([]given, len(o.events))
	for i, e := range o.events {
		decided[i] = given{event: e}
	}
	st, _, err := o.s.fold(decided, o.before, o.rev)
	if err != nil {
		t.Fatalf("decided %v", err)
	}
	check(t, st)
	return o
}

func (o *Outcome[S]) render(events []any) string {
	if len(events) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for i, e := range events {
		fmt.Fprintf(&b, "  %d: %s\n", i, o.show(e))
	}
	return b.String()
}

// show renders an event as "Type {json}" through the codec, or a Go
// rendering when the codec refuses it.
func (o *Outcome[S]) show(ev any) string {
	name, _, data, err := o.s.agg.Codec.Encode(ev)
	if err != nil {
		return fmt.Sprintf("%T %+v (not in codec: %v)", ev, ev, err)
	}
	var v any
	if json.Unmarshal(data, &v) == nil {
		if canon, err := json.Marshal(v); err == nil {
			data = canon
		}
	}
	return name + " " + string(data)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// roundTrip encodes ev with the codec and decodes it back, as the store would.
func roundTrip(c *commands.Codec, ev any) (any, string, error) {
	name, version, data, err := c.Encode(ev)
	if err != nil {
		return nil, "", err
	}
	if !json.Valid(data) || bytes.Equal(data, []byte("null")) {
		return nil, "", fmt.Errorf("encodes to %s", data)
	}
	dec, err := c.Decode(eventstore.Event{Type: name, SchemaVersion: version, Data: data})
	return dec, name, err
}
