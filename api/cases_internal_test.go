package api

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"redengine/clock"
	"redengine/commands"
	"redengine/domain/cases"
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
