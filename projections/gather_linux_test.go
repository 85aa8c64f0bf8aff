package projections_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/eventstore"
	"redengine/projections"
)

// gathering starts a runner of one niceSeen projection with Options.Gather
// of an hour and batches of at most 5 events, brings it to the shared
// reader (untilLowered: its 10-event appends fill two batches each), and
// returns it with the sizes of the batches applied from then on.
func gathering(t *testing.T) (*env, *projections.Runner, func() []int) {
	t.Helper()
	_, want := lockedNice(t)
	e := newEnv(t)
	db := e.db("readmodels.db")
	p := &niceSeen{}
	var (
		mu     sync.Mutex
		sizes  []int
		record bool
	)
	opts := quiet()
	opts.Nice = want
	opts.Gather = time.Hour
	opts.BatchSize = 5
	opts.WaitTimeout = 5 * time.Second
	opts.OnBatch = func(_ string, events int, _ eventstore.Position) {
		mu.Lock()
		defer mu.Unlock()
		if record {
			sizes = append(sizes, events)
		}
	}
	r, err := projections.New(db, e.store, []projections.Projection{p}, opts)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	untilLowered(t, e, r, p, want)
	mu.Lock()
	record = true
	mu.Unlock()
	return e, r, func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), sizes...)
	}
}

// appendOne appends one event to stream and returns its position.
func appendOne(t *testing.T, e *env, stream string) eventstore.Position {
	t.Helper()
	res, err := e.store.Append(context.Background(), stream, eventstore.Any, eventstore.EventData{
		ID: uuid.New(), Type: "Noted", SchemaVersion: 1, Data: json.RawMessage(`{}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Position
}

// TestGatherFillsLiveBatches: with Options.Gather, events appended one at
// a time are applied together, in full batches, while nobody waits for a
// position.
func TestGatherFillsLiveBatches(t *testing.T) {
	e, r, sizes := gathering(t)
	var pos eventstore.Position
	for range 5 {
		pos = appendOne(t, e, "g-1")
	}
	if err := r.WaitFor(projections.Background(t.Context()), "counts", pos); err != nil {
		t.Fatal(err)
	}
	if got := sizes(); len(got) != 1 || got[0] != 5 {
		t.Fatalf("batches of five events appended one at a time: %v, want [5]", got)
	}
}
