package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

var t0 = time.Date(2026, 3, 27, 10, 0, 0, 0, time.UTC)

func newStore(t *testing.T) eventstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var alice = eventstore.Actor{ID: "alice", Role: "tramitador"}

func TestUpcastV1ReadAsV2(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	h := commands.NewHandler(store, clock.NewManual(t0), ticketAgg)

	// A version-1 event, stored raw as an older release wrote it.
	_, err := store.Append(ctx, ticketAgg.Stream("old"), eventstore.NoStream, eventstore.EventData{
		ID: uuid.New(), Type: "TicketOpened", SchemaVersion: 1,
		Data:     json.RawMessage(`{"name":"impresora"}`),
		Metadata: eventstore.Metadata{OccurredAt: t0},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := store.ReadStream(ctx, ticketAgg.Stream("old"), 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	if raw[0].SchemaVersion != 1 {
		t.Fatalf("stored version %d", raw[0].SchemaVersion)
	}
	v, err := ticketAgg.Codec.Decode(raw[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v, (Opened{Title: "impresora", Priority: 3}); got != want {
		t.Fatalf("decoded %#v, want %#v", got, want)
	}

	l, err := h.Load(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if !l.Exists || l.State.Title != "impresora" || l.State.Priority != 3 {
		t.Fatalf("loaded %+v", l)
	}
	// New events are written at the current version.
	res, err := h.Handle(ctx, "old", commands.Meta{Actor: alice}, note("hola"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision != 1 || res.Events[0].SchemaVersion != 1 {
		t.Fatalf("result %+v", res)
	}
}

func TestCodecErrors(t *testing.T) {
	c := ticketAgg.Codec
	if _, _, _, err := c.Encode(struct{ X int }{}); !errs.Is(errs.Internal, err) {
		t.Fatalf("undeclared type: %v", err)
	}
	if _, err := c.Decode(eventstore.Event{Type: "Nope", SchemaVersion: 1, Data: []byte(`{}`)}); !errs.Is(errs.Internal, err) {
		t.Fatalf("unknown type: %v", err)
	}
	if _, err := c.Decode(eventstore.Event{Type: "TicketNoted", SchemaVersion: 2, Data: []byte(`{}`)}); !errs.Is(errs.Internal, err) {
		t.Fatalf("future version: %v", err)
	}
	name, v, data, err := c.Encode(&Noted{Text: "x"})
	if err != nil || name != "TicketNoted" || v != 1 || string(data) != `{"text":"x"}` {
		t.Fatalf("encode pointer: %s %d %s %v", name, v, data, err)
	}
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	mustPanic("duplicate name", func() {
		commands.NewCodec(commands.Type[Noted]("A", 1), commands.Type[Closed]("A", 1))
	})
	mustPanic("duplicate type", func() {
		commands.NewCodec(commands.Type[Noted]("A", 1), commands.Type[Noted]("B", 1))
	})
	mustPanic("upcaster from current", func() {
		commands.NewCodec(commands.Type[Noted]("A", 1).Upcast(1, openedV1toV2))
	})
}

func TestHandleMetadataAndIDs(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	clk := clock.NewManual(t0)
	h := commands.NewHandler(store, clk, ticketAgg)

	cmd := commands.IDFromKey("alice POST /v1/tickets", "key-1")
	id := commands.DeriveID(cmd, ticketAgg.Category)
	res, err := h.Handle(ctx, id, commands.Meta{CommandID: cmd, CorrelationID: "corr-1", Actor: alice}, open("impresora"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.Stream != "ticket-"+id || res.Revision != 0 || len(res.Events) != 1 {
		t.Fatalf("result %+v", res)
	}
	if !res.State.Exists || res.State.Title != "impresora" {
		t.Fatalf("state %+v", res.State)
	}
	e := res.Events[0]
	if e.ID != commands.EventID(cmd, res.Stream, 0) {
		t.Fatalf("event ID %s not derived from the command ID", e.ID)
	}
	if e.Position != res.Position || e.SchemaVersion != 2 || e.Type != "TicketOpened" {
		t.Fatalf("event %+v", e)
	}
	m := e.Metadata
	if m.CommandID != cmd.String() || m.CorrelationID != "corr-1" || m.CausationID != cmd.String() || m.Actor != alice || !m.OccurredAt.Equal(t0) {
		t.Fatalf("metadata %+v", m)
	}

	clk.Advance(time.Hour)
	res2, err := h.Handle(ctx, id, commands.Meta{Actor: alice}, closeTicket("resuelto"))
	if err != nil {
		t.Fatal(err)
	}
	if res2.Revision != 2 || len(res2.Events) != 2 || res2.Events[0].Revision != 1 || !res2.State.Closed {
		t.Fatalf("result %+v", res2)
	}
	if res2.Events[1].Metadata.CorrelationID != res2.Events[1].Metadata.CommandID || !res2.Events[1].Metadata.OccurredAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("metadata %+v", res2.Events[1].Metadata)
	}
}

func TestIDFromKeyScoped(t *testing.T) {
	a := commands.IDFromKey("alice POST /v1/cases", "k")
	if a != commands.IDFromKey("alice POST /v1/cases", "k") {
		t.Fatal("not deterministic")
	}
	if a == commands.IDFromKey("bob POST /v1/cases", "k") || a == commands.IDFromKey("alice POST /v1/other", "k") {
		t.Fatal("scopes collide")
	}
	if x, y := commands.NewCommandID(), commands.NewCommandID(); x == y {
		t.Fatal("new IDs repeat")
	}
	cmd := uuid.New()
	if commands.DeriveID(cmd, "case") == commands.DeriveID(cmd, "ticket") {
		t.Fatal("categories collide")
	}
}

func TestHandleRepeatReturnsFirstResult(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	clk := clock.NewManual(t0)
	h := commands.NewHandler(store, clk, ticketAgg)
	if _, err := h.Handle(ctx, "t1", commands.Meta{Actor: alice}, open("x")); err != nil {
		t.Fatal(err)
	}
	cmd := commands.IDFromKey("alice", "close-1")
	first, err := h.Handle(ctx, "t1", commands.Meta{CommandID: cmd, Actor: alice}, closeTicket("hecho"))
	if err != nil {
		t.Fatal(err)
	}
	// Someone else writes in between; the repeat must still find the first run.
	if _, err := h.Handle(ctx, "t1", commands.Meta{Actor: alice}, func(ticket, time.Time) ([]any, error) {
		return []any{Noted{Text: "después"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	again, err := h.Handle(ctx, "t1", commands.Meta{CommandID: cmd, Actor: alice}, closeTicket("hecho"))
	if err != nil {
		t.Fatalf("repeat: %v (a repeat must not re-decide)", err)
	}
	if !again.Duplicate || first.Duplicate {
		t.Fatalf("duplicate flags: first %v, again %v", first.Duplicate, again.Duplicate)
	}
	if again.Revision != first.Revision || again.Position != first.Position || !sameEvents(first.Events, again.Events) {
		t.Fatalf("repeat result differs:\nfirst %+v\nagain %+v", first, again)
	}
	all, _ := store.ReadStream(ctx, "ticket-t1", 0, eventstore.Forward, 0)
	if len(all) != 4 {
		t.Fatalf("stream has %d events, want 4", len(all))
	}
}

func sameEvents(a, b []eventstore.Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Revision != b[i].Revision || a[i].Position != b[i].Position || string(a[i].Hash) != string(b[i].Hash) {
			return false
		}
	}
	return true
}

func TestConcurrentDuplicatesAppendOnce(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	h := commands.NewHandler(store, clock.NewManual(t0), ticketAgg)

	// Creating: 16 copies of one request race to create the same ticket.
	cmd := commands.IDFromKey("alice POST /v1/tickets", "same-key")
	id := commands.DeriveID(cmd, ticketAgg.Category)
	results := race(t, 16, func() (commands.Result[ticket], error) {
		return h.Handle(ctx, id, commands.Meta{CommandID: cmd, Actor: alice}, open("carrera"))
	})
	checkOnce(t, store, "ticket-"+id, results, 1)

	// Updating: 16 copies of one close race on the existing stream.
	cmd2 := uuid.New()
	results = race(t, 16, func() (commands.Result[ticket], error) {
		return h.Handle(ctx, id, commands.Meta{CommandID: cmd2, Actor: alice}, closeTicket("fin"))
	})
	checkOnce(t, store, "ticket-"+id, results, 3)
}

func race(t *testing.T, n int, f func() (commands.Result[ticket], error)) []commands.Result[ticket] {
	t.Helper()
	out := make([]commands.Result[ticket], n)
	errc := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errc[i] = f()
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errc {
		if err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
	}
	return out
}

func checkOnce(t *testing.T, store eventstore.Store, stream string, results []commands.Result[ticket], wantLen int) {
	t.Helper()
	all, err := store.ReadStream(context.Background(), stream, 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != wantLen {
		t.Fatalf("stream has %d events, want %d", len(all), wantLen)
	}
	for i, r := range results {
		if r.Revision != results[0].Revision || r.Position != results[0].Position || !sameEvents(r.Events, results[0].Events) {
			t.Fatalf("result %d differs: %+v vs %+v", i, r, results[0])
		}
	}
}

func TestConflictReloadsAndRedecides(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	h := commands.NewHandler(store, clock.NewManual(t0), ticketAgg)
	if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, open("x")); err != nil {
		t.Fatal(err)
	}
	var calls int
	var seen []int
	res, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, func(s ticket, now time.Time) ([]any, error) {
		calls++
		seen = append(seen, len(s.Notes))
		if calls == 1 {
			// A concurrent writer gets in between this load and the append.
			other := commands.NewHandler(store, clock.NewManual(t0), ticketAgg)
			if _, err := other.Handle(ctx, "t", commands.Meta{Actor: alice}, note("intruso")); err != nil {
				t.Error(err)
			}
		}
		return []any{Noted{Text: "mío"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || seen[0] != 0 || seen[1] != 1 {
		t.Fatalf("decide calls %d, notes seen %v", calls, seen)
	}
	if res.Revision != 2 || len(res.State.Notes) != 2 || res.State.Notes[1] != "mío" {
		t.Fatalf("result %+v", res)
	}
}

func TestConflictBounded(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	h := commands.NewHandler(store, clock.NewManual(t0), ticketAgg)
	if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, open("x")); err != nil {
		t.Fatal(err)
	}
	other := commands.NewHandler(store, clock.NewManual(t0), ticketAgg)
	var calls, conflicts int
	h = commands.NewHandler(store, clock.NewManual(t0), ticketAgg, commands.WithConflictHook(func(string, int) { conflicts++ }))
	// Cached first: a stream the handler has not cached is first taken to
	// be missing, one decision more (see TestUncachedStreamTakenMissing).
	if _, err := h.Load(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	_, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, func(s ticket, now time.Time) ([]any, error) {
		calls++
		if _, err := other.Handle(ctx, "t", commands.Meta{Actor: alice}, note("siempre antes")); err != nil {
			t.Error(err)
		}
		return []any{Noted{Text: "nunca"}}, nil
	})
	if !errs.Is(errs.Conflict, err) {
		t.Fatalf("want conflict, got %v", err)
	}
	var wrong *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wrong) {
		t.Fatalf("cause not kept: %v", err)
	}
	if calls != commands.DefaultMaxAttempts || conflicts != commands.DefaultMaxAttempts {
		t.Fatalf("decide called %d times, %d conflicts", calls, conflicts)
	}
}

func TestConcurrentWritersAllLandOrConflict(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	h := commands.NewHandler(store, clock.NewManual(t0), ticketAgg, commands.WithMaxAttempts(64))
	if _, err := h.Handle(ctx, "busy", commands.Meta{Actor: alice}, open("x")); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Handle(ctx, "busy", commands.Meta{Actor: alice}, note(string(rune('a'+i)))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l, err := h.Load(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	if l.Revision != n || len(l.State.Notes) != n {
		t.Fatalf("revision %d, notes %d, want %d", l.Revision, len(l.State.Notes), n)
	}
}

func TestDecideErrorAppendsNothing(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	h := commands.NewHandler(store, clock.NewManual(t0), ticketAgg)
	_, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, open(""))
	if !errs.Is(errs.Invalid, err) || len(errs.FieldsOf(err)) != 1 {
		t.Fatalf("want invalid with a field, got %v", err)
	}
	if _, err := store.ReadStream(ctx, "ticket-t", 0, eventstore.Forward, 0); !errs.Is(errs.NotFound, err) {
		t.Fatalf("stream exists after a refused command: %v", err)
	}
	sentinel := errs.E(errs.Forbidden, "no")
	_, err = h.Handle(ctx, "t", commands.Meta{Actor: alice}, func(ticket, time.Time) ([]any, error) { return nil, sentinel })
	if err != sentinel {
		t.Fatalf("decide error not returned as is: %v", err)
	}
	// A decision with no events appends nothing and is not an error.
	res, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, func(ticket, time.Time) ([]any, error) { return nil, nil })
	if err != nil || len(res.Events) != 0 || res.State.Exists {
		t.Fatalf("empty decision: %+v %v", res, err)
	}
	l, err := h.Load(ctx, "t")
	if err != nil || l.Exists {
		t.Fatalf("load of a missing stream: %+v %v", l, err)
	}
}

func TestLoadAt(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	clk := clock.NewManual(t0)
	h := commands.NewHandler(store, clk, ticketAgg)
	for i, d := range []commands.Decide[ticket]{open("x"), note("uno"), note("dos"), closeTicket("fin")} {
		if i > 0 {
			clk.Advance(24 * time.Hour)
		}
		if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, d); err != nil {
			t.Fatal(err)
		}
	}
	// Revisions: 0 opened (t0), 1 uno (+1d), 2 dos (+2d), 3-4 close (+3d).
	l, err := h.LoadAt(ctx, "t", commands.AsOf(t0.Add(36*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if l.Revision != 1 || len(l.State.Notes) != 1 || l.State.Closed {
		t.Fatalf("as of +36h: %+v", l)
	}
	l, err = h.LoadAt(ctx, "t", commands.AsOf(t0.Add(-time.Second)))
	if err != nil || l.Exists {
		t.Fatalf("before the first event: %+v %v", l, err)
	}
	l, err = h.LoadAt(ctx, "t", commands.AtRevision(2))
	if err != nil || l.Revision != 2 || len(l.State.Notes) != 2 {
		t.Fatalf("at revision 2: %+v %v", l, err)
	}
	if _, err := h.LoadAt(ctx, "t", commands.AtRevision(9)); !errs.Is(errs.NotFound, err) {
		t.Fatalf("revision beyond the end: %v", err)
	}
	l, err = h.LoadAt(ctx, "t", commands.AsOf(t0.Add(100*24*time.Hour)))
	if err != nil || l.Revision != 4 || !l.State.Closed {
		t.Fatalf("as of the future: %+v %v", l, err)
	}
}

// frontRunner is a store on which another node's copy of every append lands
// first: the same event IDs, a second earlier, so the store takes the
// handler's own append as a repeat and writes nothing.
type frontRunner struct{ eventstore.Store }

func (f frontRunner) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, evs ...eventstore.EventData) (eventstore.AppendResult, error) {
	other := make([]eventstore.EventData, len(evs))
	for i, e := range evs {
		e.Metadata.OccurredAt = e.Metadata.OccurredAt.Add(-time.Second)
		other[i] = e
	}
	if _, err := f.Store.Append(ctx, stream, expected, other...); err != nil {
		return eventstore.AppendResult{}, err
	}
	return f.Store.Append(ctx, stream, expected, evs...)
}

// TestRaceLostToACopyIsADuplicate: when a concurrent copy of the command
// (another node acting on the same deadline) appended first, the result says
// Duplicate and carries the copy's events, so a scheduler pass does not count
// the action as its own.
func TestRaceLostToACopyIsADuplicate(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	clk := clock.NewManual(t0)
	plain := commands.NewHandler(store, clk, ticketAgg)
	if _, err := plain.Handle(ctx, "t9", commands.Meta{Actor: alice}, open("x")); err != nil {
		t.Fatal(err)
	}
	raced := commands.NewHandler(frontRunner{store}, clk, ticketAgg)
	res, err := raced.Handle(ctx, "t9", commands.Meta{CommandID: commands.IDFromKey("node", "deadline-1"), Actor: alice}, closeTicket("plazo"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Duplicate || len(res.Events) != 2 || !res.Events[0].Metadata.OccurredAt.Equal(t0.Add(-time.Second)) {
		t.Fatalf("lost race: duplicate %v, events %+v", res.Duplicate, res.Events)
	}
	won, err := plain.Handle(ctx, "t9", commands.Meta{Actor: alice}, func(ticket, time.Time) ([]any, error) {
		return []any{Noted{Text: "nota"}}, nil
	})
	if err != nil || won.Duplicate {
		t.Fatalf("a plain command: duplicate %v, %v", won.Duplicate, err)
	}
	all, _ := store.ReadStream(ctx, "ticket-t9", 0, eventstore.Forward, 0)
	if len(all) != 4 {
		t.Fatalf("stream has %d events, want 4 (open, the copy's two, the note)", len(all))
	}
}
