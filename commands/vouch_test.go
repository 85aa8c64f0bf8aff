package commands_test

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"

	"redengine/clock"
	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// countedSQLite is a SQLite store that counts stream reads; embedding the
// concrete store keeps its Mark and Unchanged (eventstore.Changes).
type countedSQLite struct {
	*sqlite.Store
	reads atomic.Int64
}

func (c *countedSQLite) ReadStream(ctx context.Context, stream string, from uint64, dir eventstore.Direction, limit int) ([]eventstore.Event, error) {
	c.reads.Add(1)
	return c.Store.ReadStream(ctx, stream, from, dir, limit)
}

// TestVouchedCacheReadsNothing: on a store that tracks changes, a cached
// stream is used without a read while the store vouches for it (loads,
// commands, refusals), and read again after another handler of the same
// store or another store on the file (another process) appended to it.
func TestVouchedCacheReadsNothing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t).(*sqlite.Store)
	c := &countedSQLite{Store: s}
	clk := clock.NewManual(t0)
	h := commands.NewHandler(c, clk, ticketAgg)
	if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, open("x")); err != nil {
		t.Fatal(err)
	}
	reads := func(want int64, what string) {
		t.Helper()
		if got := c.reads.Swap(0); got != want {
			t.Fatalf("%s: %d stream reads, want %d", what, got, want)
		}
	}
	c.reads.Store(0)
	for range 3 {
		if l, err := h.Load(ctx, "t"); err != nil || l.State.Title != "x" {
			t.Fatalf("Load: %+v %v", l, err)
		}
	}
	reads(0, "loads after the handler's own append")
	if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, closeTicket("fin")); err != nil {
		t.Fatal(err)
	}
	// A refusal on a vouched-for state is final: no second look.
	if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, note("tarde")); !errs.Is(errs.Precondition, err) {
		t.Fatalf("note on a closed ticket: %v, want precondition", err)
	}
	reads(0, "a command and a refusal on a vouched-for state")

	// Another handler of the same store appends.
	other := commands.NewHandler(s, clk, ticketAgg)
	if _, err := other.Handle(ctx, "u", commands.Meta{Actor: alice}, open("u")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Load(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	c.reads.Store(0)
	if _, err := other.Handle(ctx, "u", commands.Meta{Actor: alice}, note("de otro")); err != nil {
		t.Fatal(err)
	}
	l, err := h.Load(ctx, "u")
	if err != nil || !reflect.DeepEqual(l.State.Notes, []string{"de otro"}) {
		t.Fatalf("Load after another handler's append: %+v %v", l.State, err)
	}
	reads(1, "a load after another handler appended")
	if _, err := h.Load(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	reads(0, "a load of a stream the other handler left alone")

	// Another process (a second store on the file) appends.
	s2, err := sqlite.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	if _, err := h.Load(ctx, "u"); err != nil { // vouched for again, after s2 opened
		t.Fatal(err)
	}
	c.reads.Store(0)
	if _, err := commands.NewHandler(s2, clk, ticketAgg).Handle(ctx, "u", commands.Meta{Actor: alice}, note("de otro proceso")); err != nil {
		t.Fatal(err)
	}
	l, err = h.Load(ctx, "u")
	if err != nil || !reflect.DeepEqual(l.State.Notes, []string{"de otro", "de otro proceso"}) {
		t.Fatalf("Load after another process's append: %+v %v", l.State, err)
	}
	if c.reads.Swap(0) == 0 {
		t.Fatal("a load after another process appended read nothing")
	}
	if _, err := h.Load(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	reads(0, "the next load")
}

// TestUncachedStreamTakenMissing: on a store that tracks changes, a command
// on a stream the handler has not cached is first decided on the initial
// state and appended expecting no stream — a new stream costs no read —
// and when the stream exists the answer is the one a read would have given:
// an acceptance on the stored state, a refusal, a repeat of the creating
// command with its first result (even with the clock standing still), and
// no conflict reported.
func TestUncachedStreamTakenMissing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t).(*sqlite.Store)
	c := &countedSQLite{Store: s}
	clk := clock.NewManual(t0)
	var conflicts int
	handler := func() *commands.Handler[ticket] {
		return commands.NewHandler(c, clk, ticketAgg, commands.WithConflictHook(func(string, int) { conflicts++ }))
	}
	h := handler()
	key := commands.NewCommandID()
	first, err := h.Handle(ctx, "t", commands.Meta{Actor: alice, CommandID: key}, open("x"))
	if err != nil || first.Revision != 0 || first.Duplicate {
		t.Fatalf("open: %+v %v", first, err)
	}
	if n := c.reads.Swap(0); n != 0 {
		t.Fatalf("opening a new stream: %d reads", n)
	}
	if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, note("a")); err != nil {
		t.Fatal(err)
	}

	// Handlers that have cached nothing (another node, a restart).
	rep, err := handler().Handle(ctx, "t", commands.Meta{Actor: alice, CommandID: key}, open("x"))
	if err != nil || !rep.Duplicate || rep.Revision != 0 || !reflect.DeepEqual(rep.State.Notes, []string{"a"}) {
		t.Fatalf("repeat of the opening: %+v %v; want its first result, on the current state", rep, err)
	}
	if _, err := handler().Handle(ctx, "t", commands.Meta{Actor: alice}, open("y")); !errs.Is(errs.Precondition, err) {
		t.Fatalf("opening an existing ticket: %v, want precondition", err)
	}
	res, err := handler().Handle(ctx, "t", commands.Meta{Actor: alice}, note("b"))
	if err != nil || res.Revision != 2 || !reflect.DeepEqual(res.State.Notes, []string{"a", "b"}) {
		t.Fatalf("note on an existing uncached ticket: %+v %v", res, err)
	}
	if _, err := handler().Handle(ctx, "nadie", commands.Meta{Actor: alice}, note("c")); !errs.Is(errs.NotFound, err) {
		t.Fatalf("note on a missing ticket: %v, want not found", err)
	}
	if conflicts != 0 {
		t.Fatalf("%d conflicts reported", conflicts)
	}
	all, err := s.ReadAll(ctx, eventstore.Position{}, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("%d events in the log, want 3 (opened, a, b): %v", len(all), err)
	}
}
