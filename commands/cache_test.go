package commands_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/esdb"
	"redengine/eventstore/esdb/esdbtest"
)

// readLog wraps a real store and records where each ReadStream started, to
// tell a fold from the start from an incremental one.
type readLog struct {
	eventstore.Store
	mu    sync.Mutex
	froms []uint64
}

func (r *readLog) ReadStream(ctx context.Context, stream string, from uint64, dir eventstore.Direction, limit int) ([]eventstore.Event, error) {
	r.mu.Lock()
	r.froms = append(r.froms, from)
	r.mu.Unlock()
	return r.Store.ReadStream(ctx, stream, from, dir, limit)
}

// take returns the starts recorded since the last call.
func (r *readLog) take() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.froms
	r.froms = nil
	return out
}

// stores runs f against each adapter: SQLite on a file, and the EventStoreDB
// adapter against the wire-level test server on loopback.
func stores(t *testing.T, f func(t *testing.T, store eventstore.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, newStore(t)) })
	t.Run("esdb", func(t *testing.T) {
		url, _ := esdbtest.Start(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := esdb.Open(ctx, url, esdb.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		f(t, s)
	})
}

// seen is a decision that records the notes it was shown and adds one.
func seen(into *[]string, text string) commands.Decide[ticket] {
	return func(s ticket, now time.Time) ([]any, error) {
		*into = append([]string(nil), s.Notes...)
		return note(text)(s, now)
	}
}

// TestCacheSeesOtherWriters: a second handler (another node) writes between
// two commands of the first; the first reads those events, and only those,
// before deciding, so it neither loses the update nor decides on a stale
// state.
func TestCacheSeesOtherWriters(t *testing.T) {
	stores(t, func(t *testing.T, store eventstore.Store) {
		ctx := context.Background()
		log := &readLog{Store: store}
		clk := clock.NewManual(t0)
		h1 := commands.NewHandler(log, clk, ticketAgg)
		h2 := commands.NewHandler(store, clk, ticketAgg)
		if _, err := h1.Handle(ctx, "t", commands.Meta{Actor: alice}, open("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := h1.Handle(ctx, "t", commands.Meta{Actor: alice}, note("a")); err != nil {
			t.Fatal(err)
		}
		if h1.CachedStreams() != 1 {
			t.Fatalf("cached streams %d, want 1", h1.CachedStreams())
		}
		if _, err := h2.Handle(ctx, "t", commands.Meta{Actor: alice}, note("b")); err != nil {
			t.Fatal(err)
		}
		log.take()
		var shown []string
		res, err := h1.Handle(ctx, "t", commands.Meta{Actor: alice}, seen(&shown, "c"))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(shown, []string{"a", "b"}) {
			t.Fatalf("decision saw notes %v, want [a b]", shown)
		}
		if res.Revision != 3 || !reflect.DeepEqual(res.State.Notes, []string{"a", "b", "c"}) {
			t.Fatalf("result %+v", res)
		}
		// The first attempt trusts the cache and reads nothing; its append
		// at revision 1 is refused, so the second reads incrementally from
		// the cached revision 1 (to check that event is still there). A
		// store that returns the recorded events is not read back; another
		// is, at the event written at 3.
		want := []uint64{1}
		if strings.Contains(t.Name(), "esdb") {
			want = []uint64{1, 3}
		}
		if got := log.take(); !reflect.DeepEqual(got, want) {
			t.Fatalf("reads started at %v, want %v", got, want)
		}

		// The other node closes the ticket: the first must refuse a note,
		// not decide on its cached "open" state.
		if _, err := h2.Handle(ctx, "t", commands.Meta{Actor: alice}, closeTicket("fin")); err != nil {
			t.Fatal(err)
		}
		if _, err := h1.Handle(ctx, "t", commands.Meta{Actor: alice}, note("tarde")); !errs.Is(errs.Precondition, err) {
			t.Fatalf("note on a ticket closed by another node: %v, want precondition", err)
		}
		l, err := h1.Load(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := commands.NewHandler(store, clk, ticketAgg, commands.WithCacheSize(0)).Load(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(l, fresh) {
			t.Fatalf("cached load differs from a fold from the start:\ncached %+v\nfresh  %+v", l, fresh)
		}
		if l.Revision != 5 || !l.State.Closed {
			t.Fatalf("loaded %+v", l)
		}
	})
}

// TestCacheConflictStorm: 32 goroutines (over two handlers) note on one
// stream at once; every accepted command is appended exactly once and the
// cached state is the fold of the stream.
func TestCacheConflictStorm(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	clk := clock.NewManual(t0)
	h1 := commands.NewHandler(store, clk, ticketAgg, commands.WithMaxAttempts(1000))
	h2 := commands.NewHandler(store, clk, ticketAgg, commands.WithMaxAttempts(1000))
	if _, err := h1.Handle(ctx, "storm", commands.Meta{Actor: alice}, open("x")); err != nil {
		t.Fatal(err)
	}
	const n = 32
	cmds := make([]uuid.UUID, n)
	results := make([]commands.Result[ticket], n)
	errc := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		cmds[i] = uuid.New()
		h := h1
		if i%2 == 1 {
			h = h2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errc[i] = h.Handle(ctx, "storm", commands.Meta{CommandID: cmds[i], Actor: alice}, note(fmt.Sprint(i)))
		}()
	}
	close(start)
	wg.Wait()
	all, err := store.ReadStream(ctx, "ticket-storm", 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range all {
		count[e.Metadata.CommandID]++
	}
	accepted := 0
	for i, err := range errc {
		c := cmds[i].String()
		if err != nil {
			if !errs.Is(errs.Conflict, err) {
				t.Fatalf("command %d: %v", i, err)
			}
			if count[c] != 0 {
				t.Fatalf("command %d failed but has %d events", i, count[c])
			}
			continue
		}
		accepted++
		r := results[i]
		if count[c] != 1 || r.Duplicate || len(r.Events) != 1 || r.Events[0].Metadata.CommandID != c {
			t.Fatalf("command %d: %d events in the stream, result %+v", i, count[c], r)
		}
		if all[r.Revision].Metadata.CommandID != c || len(r.State.Notes) != int(r.Revision) {
			t.Fatalf("command %d: result revision %d, state notes %d", i, r.Revision, len(r.State.Notes))
		}
	}
	if accepted != n || len(all) != n+1 {
		t.Fatalf("accepted %d of %d, stream has %d events", accepted, n, len(all))
	}
	fresh, err := commands.NewHandler(store, clk, ticketAgg, commands.WithCacheSize(0)).Load(ctx, "storm")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []*commands.Handler[ticket]{h1, h2} {
		l, err := h.Load(ctx, "storm")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(l, fresh) {
			t.Fatalf("cached load differs from a fold from the start:\ncached %+v\nfresh  %+v", l, fresh)
		}
	}
}

// TestCacheRepeats: a repeated command returns its first result, whether
// its events are older than the cached state (slow path), newer (written by
// another node after the cache was filled), or the stream was evicted.
func TestCacheRepeats(t *testing.T) {
	stores(t, func(t *testing.T, store eventstore.Store) {
		ctx := context.Background()
		clk := clock.NewManual(t0)
		h := commands.NewHandler(store, clk, ticketAgg, commands.WithCacheSize(1))
		other := commands.NewHandler(store, clk, ticketAgg)
		if _, err := h.Handle(ctx, "t1", commands.Meta{Actor: alice}, open("x")); err != nil {
			t.Fatal(err)
		}
		cmd := uuid.New()
		first, err := h.Handle(ctx, "t1", commands.Meta{CommandID: cmd, Actor: alice}, closeTicket("hecho"))
		if err != nil {
			t.Fatal(err)
		}
		check := func(name string, again commands.Result[ticket], err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !again.Duplicate || again.Revision != first.Revision || again.Position != first.Position || !sameEvents(first.Events, again.Events) {
				t.Fatalf("%s: result differs:\nfirst %+v\nagain %+v", name, first, again)
			}
			if !again.State.Closed {
				t.Fatalf("%s: state %+v", name, again.State)
			}
		}
		repeat := func() (commands.Result[ticket], error) {
			return h.Handle(ctx, "t1", commands.Meta{CommandID: cmd, Actor: alice}, closeTicket("hecho"))
		}
		again, err := repeat()
		check("while cached", again, err)
		if _, err := h.Handle(ctx, "t2", commands.Meta{Actor: alice}, open("y")); err != nil {
			t.Fatal(err)
		}
		again, err = repeat()
		check("after eviction", again, err)
		again, err = repeat()
		check("cached again", again, err)

		// Another node runs a command after h cached t1; its repeat on h is
		// found among the events h reads incrementally.
		cmd2 := uuid.New()
		byOther, err := other.Handle(ctx, "t1", commands.Meta{CommandID: cmd2, Actor: alice}, func(ticket, time.Time) ([]any, error) {
			return []any{Noted{Text: "otro nodo"}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.Handle(ctx, "t1", commands.Meta{CommandID: cmd2, Actor: alice}, func(ticket, time.Time) ([]any, error) {
			return nil, errs.E(errs.Internal, "a repeat must not decide")
		})
		if err != nil || !got.Duplicate || got.Revision != byOther.Revision || !sameEvents(got.Events, byOther.Events) {
			t.Fatalf("repeat of another node's command: %+v %v", got, err)
		}
		all, err := store.ReadStream(ctx, "ticket-t1", 0, eventstore.Forward, 0)
		if err != nil || len(all) != 4 {
			t.Fatalf("stream has %d events (%v), want 4", len(all), err)
		}
	})
}

// TestCacheDisabled: with size 0 nothing is cached and every command folds
// the stream from the start, with the same results as with the cache.
func TestCacheDisabled(t *testing.T) {
	run := func(size int) ([]commands.Result[ticket], []commands.Loaded[ticket], []uint64, int) {
		ctx := context.Background()
		log := &readLog{Store: newStore(t)}
		clk := clock.NewManual(t0)
		h := commands.NewHandler(log, clk, ticketAgg, commands.WithCacheSize(size))
		other := commands.NewHandler(log.Store, clk, ticketAgg)
		cmd := commands.IDFromKey("alice", "k")
		var out []commands.Result[ticket]
		step := func(h *commands.Handler[ticket], meta commands.Meta, d commands.Decide[ticket]) {
			t.Helper()
			clk.Advance(time.Minute)
			r, err := h.Handle(ctx, "t", meta, d)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		step(h, commands.Meta{Actor: alice}, open("x"))
		step(h, commands.Meta{CommandID: cmd, Actor: alice}, note("uno"))
		step(other, commands.Meta{Actor: alice}, note("dos"))
		step(h, commands.Meta{Actor: alice}, note("tres"))
		step(h, commands.Meta{CommandID: cmd, Actor: alice}, note("uno"))
		log.take()
		step(h, commands.Meta{Actor: alice}, closeTicket("fin"))
		froms := log.take()
		var loads []commands.Loaded[ticket]
		for _, at := range []commands.Point{commands.AtRevision(2), commands.AsOf(t0.Add(3 * time.Minute))} {
			l, err := h.LoadAt(ctx, "t", at)
			if err != nil {
				t.Fatal(err)
			}
			loads = append(loads, l)
		}
		l, err := h.Load(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		loads = append(loads, l)
		return out, loads, froms, h.CachedStreams()
	}
	offRes, offLoads, offFroms, offCached := run(0)
	onRes, onLoads, onFroms, onCached := run(commands.DefaultCacheSize)
	if offCached != 0 || onCached != 1 {
		t.Fatalf("cached streams: off %d, on %d", offCached, onCached)
	}
	// Without the cache the last command folds the stream from 0; with it,
	// it trusts the cached state and reads nothing. Neither reads back:
	// the SQLite store returns the recorded events.
	if !reflect.DeepEqual(offFroms, []uint64{0}) || len(onFroms) != 0 {
		t.Fatalf("reads of the last command: cache off from %v, on from %v", offFroms, onFroms)
	}
	if len(offRes) != len(onRes) || !onRes[4].Duplicate || !offRes[4].Duplicate {
		t.Fatalf("results: off %+v\non %+v", offRes, onRes)
	}
	for i := range offRes {
		a, b := offRes[i], onRes[i]
		if a.Revision != b.Revision || a.Duplicate != b.Duplicate || !reflect.DeepEqual(a.State, b.State) || len(a.Events) != len(b.Events) {
			t.Fatalf("result %d: off %+v\non %+v", i, a, b)
		}
	}
	if !reflect.DeepEqual(stripStream(offLoads), stripStream(onLoads)) {
		t.Fatalf("loads: off %+v\non %+v", offLoads, onLoads)
	}
}

// stripStream drops what differs between two stores holding the same
// history: nothing but the positions, which depend on each store's log.
func stripStream(ls []commands.Loaded[ticket]) []commands.Loaded[ticket] {
	out := make([]commands.Loaded[ticket], len(ls))
	for i, l := range ls {
		l.Position = eventstore.Position{}
		out[i] = l
	}
	return out
}

// TestCacheDetectsReplacedStream: if the stream under a cached entry is not
// the one that was cached (as after a restore from an older backup), the
// handler folds it from the start instead of trusting the cache.
func TestCacheDetectsReplacedStream(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(t0)
	build := func(notes ...string) eventstore.Store {
		s := newStore(t)
		h := commands.NewHandler(s, clk, ticketAgg)
		if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, open("x")); err != nil {
			t.Fatal(err)
		}
		for _, n := range notes {
			if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, note(n)); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	long, short, other := build("a", "b", "c"), build("a"), build("x", "y", "z")
	store := &readLog{Store: long}
	h := commands.NewHandler(store, clk, ticketAgg)
	if l, err := h.Load(ctx, "t"); err != nil || l.Revision != 3 {
		t.Fatalf("load %+v %v", l, err)
	}
	for _, c := range []struct {
		name  string
		store eventstore.Store
		notes []string
	}{{"shorter", short, []string{"a"}}, {"other events", other, []string{"x", "y", "z"}}, {"back", long, []string{"a", "b", "c"}}} {
		store.Store = c.store
		l, err := h.Load(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(l.State.Notes, c.notes) || l.Revision != uint64(len(c.notes)) {
			t.Fatalf("%s: loaded %+v, want notes %v", c.name, l, c.notes)
		}
		res, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, note("nueva"))
		if err != nil || res.Revision != uint64(len(c.notes))+1 {
			t.Fatalf("%s: note after the change: %+v %v", c.name, res, err)
		}
	}
}

// TestTrustedRefusalDecidedAgain: a decision that refuses on the cached
// state is decided again on the stored one, so another node's change that
// makes the command acceptable is not missed.
func TestTrustedRefusalDecidedAgain(t *testing.T) {
	stores(t, func(t *testing.T, store eventstore.Store) {
		ctx := context.Background()
		clk := clock.NewManual(t0)
		h1 := commands.NewHandler(store, clk, ticketAgg)
		h2 := commands.NewHandler(store, clk, ticketAgg)
		if _, err := h1.Handle(ctx, "t", commands.Meta{Actor: alice}, open("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := h1.Handle(ctx, "t", commands.Meta{Actor: alice}, note("a")); err != nil {
			t.Fatal(err)
		}
		if _, err := h2.Handle(ctx, "t", commands.Meta{Actor: alice}, note("b")); err != nil {
			t.Fatal(err)
		}
		// Accepted only once the ticket has two notes.
		second := func(s ticket, now time.Time) ([]any, error) {
			if len(s.Notes) < 2 {
				return nil, errs.E(errs.Precondition, "hace falta una segunda nota")
			}
			return note("c")(s, now)
		}
		res, err := h1.Handle(ctx, "t", commands.Meta{Actor: alice}, second)
		if err != nil {
			t.Fatalf("refused on the cached state: %v", err)
		}
		if !reflect.DeepEqual(res.State.Notes, []string{"a", "b", "c"}) || res.Revision != 3 {
			t.Fatalf("result %+v", res)
		}
		// And a decision to do nothing is checked the same way.
		if _, err := h2.Handle(ctx, "t", commands.Meta{Actor: alice}, note("d")); err != nil {
			t.Fatal(err)
		}
		none, err := h1.Handle(ctx, "t", commands.Meta{Actor: alice}, func(ticket, time.Time) ([]any, error) { return nil, nil })
		if err != nil || none.Revision != 4 || len(none.State.Notes) != 4 {
			t.Fatalf("no-op on a stale cache answered %+v %v, want revision 4", none, err)
		}
	})
}

// peekWorld is a handler h whose reads are logged, and another handler on
// the same store that has opened ticket "t" (unseen by h).
type peekWorld struct {
	store    eventstore.Store
	log      *readLog
	clk      *clock.Manual
	h, other *commands.Handler[ticket]
}

func newPeekWorld(t *testing.T) (context.Context, peekWorld) {
	t.Helper()
	ctx := context.Background()
	store := newStore(t)
	w := peekWorld{store: store, log: &readLog{Store: store}, clk: clock.NewManual(t0)}
	w.h = commands.NewHandler(w.log, w.clk, ticketAgg)
	w.other = commands.NewHandler(store, w.clk, ticketAgg)
	if _, err := w.other.Handle(ctx, "t", commands.Meta{Actor: alice}, open("x")); err != nil {
		t.Fatal(err)
	}
	w.log.take()
	return ctx, w
}

// TestPeek: Peek answers a cached stream from memory, possibly behind the
// store, and loads a stream it has not seen.
func TestPeek(t *testing.T) {
	ctx, w := newPeekWorld(t)
	h, other, log := w.h, w.other, w.log
	l, err := h.Peek(ctx, "t")
	if err != nil || !l.Exists || l.Revision != 0 {
		t.Fatalf("Peek of an unseen stream: %+v %v", l, err)
	}
	if got := log.take(); len(got) == 0 {
		t.Fatal("Peek of an unseen stream read nothing")
	}
	if _, err := other.Handle(ctx, "t", commands.Meta{Actor: alice}, note("a")); err != nil {
		t.Fatal(err)
	}
	l, err = h.Peek(ctx, "t")
	if err != nil || l.Revision != 0 {
		t.Fatalf("Peek of a cached stream: %+v %v, want the cached revision 0", l, err)
	}
	if got := log.take(); len(got) != 0 {
		t.Fatalf("Peek of a cached stream read from %v", got)
	}
	if l, err := h.Load(ctx, "t"); err != nil || l.Revision != 1 {
		t.Fatalf("Load after Peek: %+v %v, want revision 1", l, err)
	}
	if l, err := h.Peek(ctx, "missing"); err != nil || l.Exists {
		t.Fatalf("Peek of a missing stream: %+v %v", l, err)
	}
}

// TestCached: Cached answers only from memory — a stream this handler has
// not seen is not cached (and nothing is read), one it wrote is — and a
// handler without a cache holds nothing.
func TestCached(t *testing.T) {
	ctx, w := newPeekWorld(t)
	h, store, clk, log := w.h, w.store, w.clk, w.log
	if l, ok := h.Cached("t"); ok || l.Exists {
		t.Fatalf("Cached of a stream the handler has not seen: %+v %v", l, ok)
	}
	if got := log.take(); len(got) != 0 {
		t.Fatalf("Cached read from %v", got)
	}
	if _, err := h.Handle(ctx, "u", commands.Meta{Actor: alice}, open("y")); err != nil {
		t.Fatal(err)
	}
	if l, ok := h.Cached("u"); !ok || !l.Exists || l.Revision != 0 {
		t.Fatalf("Cached of a stream the handler wrote: %+v %v", l, ok)
	}
	off := commands.NewHandler(store, clk, ticketAgg, commands.WithCacheSize(0))
	if _, err := off.Handle(ctx, "v", commands.Meta{Actor: alice}, open("z")); err != nil {
		t.Fatal(err)
	}
	if _, ok := off.Cached("v"); ok {
		t.Fatal("a handler without a cache holds a stream")
	}
}

// TestOneHandlerTakesTurns: concurrent commands of one handler on one
// stream wait for each other instead of conflicting: none is retried, each
// appends once, and a waiter whose context ends leaves without deciding.
func TestOneHandlerTakesTurns(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	var conflicts atomic.Int64
	h := commands.NewHandler(store, clock.NewManual(t0), ticketAgg,
		commands.WithConflictHook(func(string, int) { conflicts.Add(1) }))
	if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, open("x")); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.Handle(ctx, "t", commands.Meta{Actor: alice}, note(fmt.Sprint(i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if c := conflicts.Load(); c != 0 {
		t.Errorf("%d conflicts among one handler's commands", c)
	}
	l, err := h.Load(ctx, "t")
	if err != nil || l.Revision != n || len(l.State.Notes) != n {
		t.Fatalf("after %d notes: revision %d, %d notes (%v)", n, l.Revision, len(l.State.Notes), err)
	}
	// A command holds the turn; another waits and its context ends.
	inside, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = h.Handle(ctx, "t", commands.Meta{Actor: alice}, func(s ticket, now time.Time) ([]any, error) {
			close(inside)
			<-release
			return note("primera")(s, now)
		})
	}()
	<-inside
	waiting, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := h.Handle(waiting, "t", commands.Meta{Actor: alice}, func(ticket, time.Time) ([]any, error) {
			return nil, errs.E(errs.Internal, "decided without the turn")
		})
		errc <- err
	}()
	cancel()
	if err := <-errc; !errs.Is(errs.Unavailable, err) {
		t.Errorf("waiter with an ended context: %v, want unavailable", err)
	}
	close(release)
}
