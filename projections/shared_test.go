package projections_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"redengine/clock"
	"redengine/eventstore"
	"redengine/projections"
)

// countingStore counts the subscriptions opened on a store and the events
// they deliver.
type countingStore struct {
	eventstore.Store
	subscriptions, delivered atomic.Int64
}

func (s *countingStore) Subscribe(ctx context.Context, from eventstore.Position, f eventstore.Filter) (eventstore.Subscription, error) {
	sub, err := s.Store.Subscribe(ctx, from, f)
	if err != nil {
		return nil, err
	}
	s.subscriptions.Add(1)
	return countingSub{sub, &s.delivered}, nil
}

type countingSub struct {
	eventstore.Subscription
	n *atomic.Int64
}

func (c countingSub) Next(ctx context.Context) (eventstore.Event, error) {
	e, err := c.Subscription.Next(ctx)
	if err == nil {
		c.n.Add(1)
	}
	return e, err
}

// Live events are read from the log once, by the shared reader, whatever the
// number of projections; each projection still gets the events its filter
// passes and a checkpoint of its own.
func TestSharedReaderReadsTheLogOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	store := &countingStore{Store: e.store}
	db := e.db("readmodels.db")
	projs := []projections.Projection{&counts{}}
	for _, prefix := range []string{"a-", "b-", "c-"} {
		f := &filtered{}
		f.name = "only_" + prefix[:1]
		f.filter = &eventstore.Filter{StreamPrefixes: []string{prefix}}
		projs = append(projs, f)
	}
	r, err := projections.New(db, store, projs, quiet())
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	e.appendN("a", 3, 100)
	e.appendN("b", 2, 50)
	pos := e.appendN("z", 4, 150)
	waitAll(t, r, pos)
	if n := store.subscriptions.Load(); n != 1 {
		t.Fatalf("%d subscriptions for %d projections", n, len(projs))
	}
	// Projections that caught up after the appends began read part of the
	// log themselves; no event is read by more than one subscription.
	if n := store.delivered.Load(); n > 300 {
		t.Fatalf("the subscription delivered %d events of 300", n)
	}
	for table, want := range map[string][2]int{"counts_streams": {9, 300}, "only_a_streams": {3, 100}, "only_b_streams": {2, 50}, "only_c_streams": {0, 0}} {
		if rows, n := sum(t, db, table); rows != want[0] || n != want[1] {
			t.Fatalf("%s: %d rows, %d events; want %v", table, rows, n, want)
		}
	}
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Checkpoint != pos || s.Lag != 0 || !s.Running || s.LastError != "" {
			t.Fatalf("status: %+v", s)
		}
	}
}

// A projection that fails leaves the shared reader; the others keep
// following the log, and it catches up and rejoins once fixed.
func TestSharedReaderKeepsGoingWithoutAFailingProjection(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	good, bad := &counts{name: "good"}, &counts{name: "bad"}
	failures := make(chan struct{}, 100)
	opts := quiet()
	opts.OnError = func(name string, _ error) {
		if name == "bad" {
			select {
			case failures <- struct{}{}:
			default:
			}
		}
	}
	r, err := projections.New(db, e.store, []projections.Projection{good, bad}, opts)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	// Both are live before the poison event arrives.
	pos := e.appendN("a", 2, 40)
	waitAll(t, r, pos)
	poison := "p-0@5"
	bad.poison.Store(&poison)
	e.appendN("p", 1, 10)
	<-failures
	<-failures // retried, failed again
	pos = e.appendN("a", 2, 50)
	if err := r.WaitFor(ctx, "good", pos); err != nil {
		t.Fatal(err)
	}
	if _, n := sum(t, db, "good_streams"); n != 100 {
		t.Fatalf("good while bad fails: %d events, want 100", n)
	}
	st, _ := r.Status(ctx)
	if st[1].LastError == "" || !st[1].Checkpoint.Less(pos) || st[0].LastError != "" {
		t.Fatalf("status while one fails: %+v", st)
	}
	bad.poison.Store(nil) // fixed
	pos = e.appendN("a", 2, 25)
	waitAll(t, r, pos)
	for _, table := range []string{"good_streams", "bad_streams"} {
		if rows, n := sum(t, db, table); rows != 3 || n != 125 {
			t.Fatalf("%s after the fix: %d rows, %d events; want 3, 125", table, rows, n)
		}
	}
	dg, _ := r.Digest(ctx, "good")
	if err := r.Rebuild(ctx, "good", nil); err != nil {
		t.Fatal(err)
	}
	if d, _ := r.Digest(ctx, "good"); d != dg {
		t.Fatal("the live model differs from its rebuild")
	}
}

func TestGateNests(t *testing.T) {
	g := projections.NewGate()
	if g.Held() != nil {
		t.Fatal("a new gate is closed")
	}
	r1, r2 := g.Hold(), g.Hold()
	held := g.Held()
	r1()
	r1() // twice is harmless
	select {
	case <-held:
		t.Fatal("the gate opened with a hold left")
	default:
	}
	r2()
	select {
	case <-held:
	default:
		t.Fatal("the gate stayed closed with no hold left")
	}
	if g.Held() != nil {
		t.Fatal("Held after the last release")
	}
}

// A projection held by a gate applies nothing while held, without an error,
// the others carry on, and it catches up once released — or once held for
// MaxHold by the runner's clock.
func TestHeldProjectionWaitsForTheGate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	held, other := &counts{name: "held"}, &counts{name: "other"}
	gate := projections.NewGate()
	clk := clock.NewManual(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	opts := quiet()
	opts.Clock = clk
	opts.MaxHold = time.Minute
	opts.Hold = func(name string) <-chan struct{} {
		if name == "held" {
			return gate.Held()
		}
		return nil
	}
	r, err := projections.New(db, e.store, []projections.Projection{held, other}, opts)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	pos := e.appendN("a", 2, 40)
	waitAll(t, r, pos)

	release := gate.Hold()
	pos = e.appendN("a", 2, 100)
	if err := r.WaitFor(ctx, "other", pos); err != nil {
		t.Fatal(err)
	}
	if _, n := sum(t, db, "held_streams"); n != 40 {
		t.Fatalf("held projection applied %d events, want the 40 before the hold", n)
	}
	if st, _ := r.Status(ctx); st[0].LastError != "" {
		t.Fatalf("a held projection reports an error: %+v", st[0])
	}
	release()
	if err := r.WaitFor(ctx, "held", pos); err != nil {
		t.Fatal(err)
	}
	if _, n := sum(t, db, "held_streams"); n != 140 {
		t.Fatalf("released projection has %d events, want 140", n)
	}

	// Held for longer than MaxHold: it goes on regardless.
	release = gate.Hold()
	defer release()
	pos = e.appendN("a", 2, 10)
	if err := r.WaitFor(ctx, "other", pos); err != nil {
		t.Fatal(err)
	}
	if _, n := sum(t, db, "held_streams"); n != 140 {
		t.Fatalf("held projection applied %d events, want 140", n)
	}
	clk.Advance(2 * time.Minute)
	if err := r.WaitFor(ctx, "held", pos); err != nil {
		t.Fatal(err)
	}
}

// waitAll waits until every projection of r has applied the log up to pos.
func waitAll(t *testing.T, r *projections.Runner, pos eventstore.Position) {
	t.Helper()
	for _, name := range r.Names() {
		if err := r.WaitFor(context.Background(), name, pos); err != nil {
			t.Fatal(err)
		}
	}
}

// CatchUp brings one projection to the end of the log, without Run, and
// leaves the others where they were.
func TestCatchUpOne(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	one, other := &counts{name: "one"}, &counts{name: "other"}
	r, err := projections.New(db, e.store, []projections.Projection{one, other}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	pos := e.appendN("a", 3, 1234) // pages of 500: two full, one short
	if err := r.CatchUp(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if rows, n := sum(t, db, "one_streams"); rows != 3 || n != 1234 {
		t.Fatalf("after CatchUp: %d rows, %d events; want 3, 1234", rows, n)
	}
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Checkpoint != pos || st[1].Checkpoint != (eventstore.Position{}) {
		t.Fatalf("checkpoints after CatchUp of one: %+v", st)
	}
	if err := r.CatchUp(ctx, "missing"); err == nil {
		t.Fatal("CatchUp of an unknown projection")
	}
}
