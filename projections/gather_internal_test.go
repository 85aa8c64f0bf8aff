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

// TestGatherEndsForAWaitingReader: a reader that begins to wait for its own
// write while the shared reader gathers (for an hour here) has it applied at
// once, well within its five-second bound.
func TestGatherEndsForAWaitingReader(t *testing.T) {
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
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	appendOne := func() eventstore.Position {
		res, err := store.Append(ctx, "s", eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "X", SchemaVersion: 1,
			Data: json.RawMessage(`{}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}})
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
	// held (for an hour), and only a reader's arrival ends the wait.
	for round := 0; round < 100; round++ {
		pos := appendOne()
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
		if err := r.WaitFor(ctx, "seen", pos); err != nil {
			t.Fatalf("a reader arriving while the batch is gathered: %v", err)
		}
		if err := <-applied; err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("the shared reader never gathered")
}
