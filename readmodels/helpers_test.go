package readmodels_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"redengine/clock"
	"redengine/eventstore/sqlite"
	"redengine/projections"
)

// world is a real event store and read-model database in a temporary
// directory, with one projection running until the test ends.
type world struct {
	store  *sqlite.Store
	db     *sql.DB
	runner *projections.Runner
	clk    *clock.Manual
}

// newWorld starts p on a fresh store whose manual clock stands at 23:30 UTC
// on 27 November 2026 — already 28 November in Madrid, so date filters are
// tested across the day boundary.
func newWorld(t *testing.T, p projections.Projection) *world {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	clk := clock.NewManual(time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC))
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	db, err := projections.OpenDB(ctx, filepath.Join(dir, "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := projections.New(db, store, []projections.Projection{p}, projections.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return &world{store: store, db: db, runner: r, clk: clk}
}
