package api

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"redengine/clock"
	"redengine/commands"
	"redengine/domain/cases"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// TestReserveNumber: numbers are consecutive and unique under concurrent
// openings, a repeated command gets its number back without appending, and
// the stream folds (cases.SequenceAggregate) to the last number.
func TestReserveNumber(t *testing.T) {
	ctx := t.Context()
	clk := clock.NewManual(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)) // already 2027 in Madrid
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := &Cases{Store: store, Clock: clk, Numbers: cases.SequenceAggregate()}
	year := cases.NumberYear(clk.Now())
	if year != 2027 {
		t.Fatalf("year %d", year)
	}
	actor := eventstore.Actor{ID: "ana", Role: "autorizado", Authorization: "A0001"}
	first := commands.Meta{CommandID: commands.IDFromKey("ana", "k1"), Actor: actor}
	n1, err := m.reserveNumber(ctx, first, year, "case-1")
	if err != nil || n1.N != 1 || n1.Year != 2027 {
		t.Fatalf("first: %+v %v", n1, err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]bool{}
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			meta := commands.Meta{CommandID: commands.IDFromKey("ana", fmt.Sprintf("c%d", i)), Actor: actor}
			n, err := m.reserveNumber(ctx, meta, year, fmt.Sprintf("case-c%d", i))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if got[n.N] {
				t.Errorf("number %d twice", n.N)
			}
			got[n.N] = true
		}()
	}
	wg.Wait()
	for n := 2; n <= 21; n++ {
		if !got[n] {
			t.Errorf("number %d missing", n)
		}
	}

	again, err := m.reserveNumber(ctx, first, year, "case-1")
	if err != nil || again != n1 {
		t.Errorf("repeat: %+v %v, want %+v", again, err, n1)
	}
	h := commands.NewHandler(store, clk, cases.SequenceAggregate())
	l, err := h.Load(ctx, cases.SequenceID(year))
	if err != nil {
		t.Fatal(err)
	}
	if l.State.Last != 21 || l.Revision != 20 {
		t.Errorf("sequence folds to %+v at revision %d", l.State, l.Revision)
	}
	evs, err := store.ReadStream(ctx, "casenumbers-2027", 0, eventstore.Forward, 1)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].ID != commands.EventID(first.CommandID, "casenumbers-2027", 0) || evs[0].Metadata.CommandID != first.CommandID.String() ||
		evs[0].Metadata.Actor != actor {
		t.Errorf("event identity and metadata: %+v", evs[0])
	}
}

// TestReserveNumberTwoNodes: two processes' sequencers on one store (each
// with its own cached tail) hand out every number once, consecutively;
// each finds its repeats even after the other one wrote.
func TestReserveNumberTwoNodes(t *testing.T) {
	ctx := t.Context()
	clk := clock.NewManual(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	nodes := []*Cases{
		{Store: store, Clock: clk, Numbers: cases.SequenceAggregate()},
		{Store: store, Clock: clk, Numbers: cases.SequenceAggregate()},
	}
	const per = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	byCmd := map[string]int{}
	seen := map[int]string{}
	for i := range 2 * per {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", i)
			meta := commands.Meta{CommandID: commands.IDFromKey("ana", key)}
			n, err := nodes[i%2].reserveNumber(ctx, meta, 2026, "case-"+key)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, ok := seen[n.N]; ok {
				t.Errorf("number %d for %s and %s", n.N, other, key)
			}
			seen[n.N], byCmd[key] = key, n.N
		}()
	}
	wg.Wait()
	for n := 1; n <= 2*per; n++ {
		if _, ok := seen[n]; !ok {
			t.Errorf("number %d missing", n)
		}
	}
	// Each node finds the other's reservations too.
	for i := range 2 * per {
		key := fmt.Sprintf("k%d", i)
		meta := commands.Meta{CommandID: commands.IDFromKey("ana", key)}
		if byCmd[key] <= 2*per-reservationWindow {
			continue // outside the window
		}
		n, err := nodes[(i+1)%2].reserveNumber(ctx, meta, 2026, "case-"+key)
		if err != nil || n.N != byCmd[key] {
			t.Errorf("repeat of %s on the other node: %+v %v, want %d", key, n, err, byCmd[key])
		}
	}
	evs, err := store.ReadStream(ctx, "casenumbers-2026", 0, eventstore.Forward, 0)
	if err != nil || len(evs) != 2*per {
		t.Fatalf("%d reservations stored (%v), want %d", len(evs), err, 2*per)
	}
}

// TestReserveNumberOldRepeat: a repeat older than the window of recent
// reservations is refused as a conflict without failing the openings
// batched with it, and a request whose context has ended gets no number.
func TestReserveNumberOldRepeat(t *testing.T) {
	ctx := t.Context()
	clk := clock.NewManual(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := &Cases{Store: store, Clock: clk, Numbers: cases.SequenceAggregate()}
	meta := func(k string) commands.Meta { return commands.Meta{CommandID: commands.IDFromKey("ana", k)} }
	for i := range reservationWindow + 5 {
		if _, err := m.reserveNumber(ctx, meta(fmt.Sprintf("k%d", i)), 2026, "c"); err != nil {
			t.Fatal(err)
		}
	}
	// Queue the old repeat and fresh openings behind a held turn, so they
	// form one batch.
	q := m.numbers.of(2026)
	q.turn <- struct{}{}
	var wg sync.WaitGroup
	results := make([]error, 5)
	numbers := make([]int, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := fmt.Sprintf("new%d", i)
			if i == 0 {
				k = "k0"
			}
			n, err := m.reserveNumber(ctx, meta(k), 2026, "c")
			results[i], numbers[i] = err, n.N
		}()
	}
	for {
		q.mu.Lock()
		n := len(q.pending)
		q.mu.Unlock()
		if n == 5 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	<-q.turn
	wg.Wait()
	if !errs.Is(errs.Conflict, results[0]) {
		t.Errorf("old repeat: %v, want a conflict", results[0])
	}
	got := map[int]bool{}
	for i := 1; i < 5; i++ {
		if results[i] != nil {
			t.Errorf("opening %d: %v", i, results[i])
		}
		got[numbers[i]] = true
	}
	for n := reservationWindow + 6; n <= reservationWindow+9; n++ {
		if !got[n] {
			t.Errorf("number %d not handed out: %v", n, numbers)
		}
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.reserveNumber(ended, meta("late"), 2026, "c"); err == nil {
		t.Error("a request with an ended context got a number")
	}
	if n, err := m.reserveNumber(ctx, meta("after"), 2026, "c"); err != nil || n.N != reservationWindow+10 {
		t.Errorf("after the ended request: %+v %v, want %d", n, err, reservationWindow+10)
	}
}
