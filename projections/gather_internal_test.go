package projections

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/eventstore"
)

// heldLive runs a runner of one projection with Options.Gather of an hour
// until its shared reader holds an event, gathering; it returns the
// runner, a function appending n events in one append (returning the last
// one's position) and the held event's position. The runner stops with the
// test.
func heldLive(t *testing.T) (*Runner, func(n int) eventstore.Position, eventstore.Position) {
	t.Helper()
	store, log, db := fixture(t)
	opts := Options{Gather: time.Hour, WaitTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)}
	r, err := New(db, store, []Projection{seen{failAt: ^uint64(0)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	gathering := make(chan struct{}, 1)
	r.gathering = func() {
		select {
		case gathering <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	appendN := func(n int) eventstore.Position {
		evs := make([]eventstore.EventData, n)
		for i := range evs {
			evs[i] = eventstore.EventData{ID: uuid.New(), Type: "X", SchemaVersion: 1,
				Data: json.RawMessage(`{}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}}
		}
		res, err := store.Append(ctx, "s", eventstore.Any, evs...)
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	if err := r.WaitFor(ctx, "seen", log[len(log)-1].Position); err != nil {
		t.Fatal(err)
	}
	// Until the projection has joined the shared reader, each event is
	// applied by its catch-up; once joined, the hub gathers: the event is
	// held (for an hour).
	for round := 0; round < 100; round++ {
		pos := appendN(1)
		applied := make(chan error, 1)
		go func() { applied <- r.WaitFor(Background(ctx), "seen", pos) }()
		select {
		case err := <-applied:
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			continue
		case <-gathering:
		}
		return r, appendN, pos
	}
	t.Fatal("the shared reader never gathered")
	return nil, nil, eventstore.Position{}
}

// TestGatherEndsForAWaitingReader: a reader that begins to wait for its own
// write while the shared reader gathers (for an hour here) has it applied at
// once, well within its five-second bound.
func TestGatherEndsForAWaitingReader(t *testing.T) {
	r, _, pos := heldLive(t)
	if err := r.WaitFor(context.Background(), "seen", pos); err != nil {
		t.Fatalf("a reader arriving while the batch is gathered: %v", err)
	}
}

// TestGatherStopsAtMaxGathered: a gathered batch is applied once it holds
// 64 events (maxGathered), though nobody waits and the gather has an hour
// left.
func TestGatherStopsAtMaxGathered(t *testing.T) {
	r, appendN, _ := heldLive(t)
	last := appendN(63) // the held event and these
	if err := r.WaitFor(Background(context.Background()), "seen", last); err != nil {
		t.Fatalf("a batch of 64 events still gathered: %v", err)
	}
}
