package scenario_test

import (
	"testing"
	"time"

	"redengine/commands"
	"redengine/commands/scenario"
	"redengine/errs"
)

// A door that is opened and closed, and locks only when closed.

type Opened struct {
	At time.Time `json:"at"`
}
type Closed struct{}
type Locked struct {
	By string `json:"by"`
}

type door struct {
	Open, Locked bool
	Changes      int
	LastAt       time.Time
}

var doorAgg = commands.Aggregate[door]{
	Category: "door",
	Codec: commands.NewCodec(
		commands.Type[Opened]("DoorOpened", 1),
		commands.Type[Closed]("DoorClosed", 1),
		commands.Type[Locked]("DoorLocked", 1),
	),
	Evolve: func(d door, e commands.Event) door {
		switch e.Data.(type) {
		case Opened:
			d.Open = true
		case Closed:
			d.Open = false
		case Locked:
			d.Locked = true
		}
		d.Changes++
		d.LastAt = e.Metadata.OccurredAt
		return d
	},
}

func openDoor(d door, now time.Time) ([]any, error) {
	if d.Locked {
		return nil, errs.E(errs.Precondition, "la puerta está cerrada con llave")
	}
	if d.Open {
		return nil, nil
	}
	return []any{Opened{At: now}}, nil
}

func lock(by string) commands.Decide[door] {
	return func(d door, _ time.Time) ([]any, error) {
		if by == "" {
			return nil, errs.E(errs.Invalid, errs.FieldError{Field: "by", Reason: "es obligatorio"})
		}
		if d.Open {
			return []any{Closed{}, Locked{By: by}}, nil
		}
		return []any{Locked{By: by}}, nil
	}
}

func TestScenario(t *testing.T) {
	now := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	s := scenario.For(doorAgg).At(now)

	s.When(openDoor).Then(t, Opened{At: now}).ThenState(t, func(t testing.TB, d door) {
		if !d.Open || d.Changes != 1 {
			t.Errorf("state %+v", d)
		}
	})
	opened := s.Given(Opened{At: now.Add(-time.Hour)})
	opened.When(openDoor).ThenNothing(t)
	opened.When(lock("ana")).Then(t, Closed{}, Locked{By: "ana"})
	opened.When(lock("")).ThenErrorField(t, "by")
	opened.Given(Closed{}, Locked{By: "ana"}).When(openDoor).ThenError(t, errs.Precondition)
	if st := opened.Given(Closed{}).State(t); st.Open || st.Changes != 2 {
		t.Fatalf("state %+v", st)
	}
	earlier := now.Add(-48 * time.Hour)
	if st := s.GivenAt(earlier, Opened{}).Given(Closed{}).State(t); !st.LastAt.Equal(now) {
		t.Fatalf("given without an instant occurred at %v", st.LastAt)
	}
	if st := s.Given(Opened{}).GivenAt(earlier, Closed{}).State(t); !st.LastAt.Equal(earlier) {
		t.Fatalf("GivenAt occurred at %v", st.LastAt)
	}
	// Given does not change the scenario it is called on.
	if st := opened.State(t); !st.Open || st.Changes != 1 {
		t.Fatalf("shared scenario changed: %+v", st)
	}
}

// fakeT records failures instead of failing the test, to check that a
// scenario reports what it should.
type fakeT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = format
	panic(f)
}
func (f *fakeT) Fatal(args ...any) { f.Fatalf("%v", args...) }
func (f *fakeT) Errorf(format string, args ...any) {
	f.failed = true
}

func fails(t *testing.T, name string, f func(tb testing.TB)) {
	t.Helper()
	ft := &fakeT{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != ft {
				panic(r)
			}
		}()
		f(ft)
	}()
	if !ft.failed {
		t.Errorf("%s: the scenario did not fail", name)
	}
}

func TestScenarioReportsMismatches(t *testing.T) {
	s := scenario.For(doorAgg)
	fails(t, "wrong event", func(tb testing.TB) { s.When(lock("ana")).Then(tb, Locked{By: "bea"}) })
	fails(t, "missing event", func(tb testing.TB) { s.Given(Opened{}).When(lock("ana")).Then(tb, Closed{}) })
	fails(t, "error expected", func(tb testing.TB) { s.When(openDoor).ThenError(tb, errs.Precondition) })
	fails(t, "wrong kind", func(tb testing.TB) { s.When(lock("")).ThenError(tb, errs.Precondition) })
	fails(t, "events expected", func(tb testing.TB) { s.When(lock("")).Then(tb, Locked{}) })
	fails(t, "undeclared given", func(tb testing.TB) { s.Given(struct{}{}).When(openDoor).ThenNothing(tb) })
	fails(t, "undeclared decided", func(tb testing.TB) {
		s.When(func(door, time.Time) ([]any, error) { return []any{struct{ X int }{1}}, nil }).Then(tb, struct{ X int }{1})
	})
}
