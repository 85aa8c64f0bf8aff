package scheduler

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/projections"
)

func TestTickerPassesAsOfTheClock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db, err := projections.OpenDB(ctx, filepath.Join(dir, "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := NewDeadlines(func(eventstore.Event) ([]Change, error) { return nil, nil })
	runner, err := projections.New(db, store, []projections.Projection{d}, projections.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var passes []time.Time
	s := New(Config{DB: db, Store: store, Projections: runner, Deadlines: d,
		Dispatch: func(context.Context, Deadline, uuid.UUID) (Outcome, error) { return Acted, nil },
		OnPass:   func(r Report, err error) { passes = append(passes, r.AsOf) }})
	clk := clock.NewManual(time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC))
	tk := NewTicker(s, clk, nil)
	tk.tick(ctx)
	clk.Advance(time.Minute)
	tk.tick(ctx)
	if len(passes) != 2 || !passes[0].Equal(time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC)) || !passes[1].Equal(passes[0].Add(time.Minute)) {
		t.Fatalf("passes %v", passes)
	}
	// Run starts the cron and returns when ctx ends.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tk.Run(rctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
