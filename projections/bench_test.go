package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/projections"
)

// BenchmarkCatchUp measures a projection catching up with a log of 20,000
// events (one upsert per event), and a rebuild of the same model.
func BenchmarkCatchUp(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	const n = 20000
	for i := 0; i < n; i += 100 {
		evs := make([]eventstore.EventData, 100)
		for j := range evs {
			evs[j] = eventstore.EventData{ID: uuid.New(), Type: "Noted", SchemaVersion: 1, Data: json.RawMessage(`{"x":1}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}}
		}
		if _, err := store.Append(ctx, fmt.Sprintf("s-%d", i/100%50), eventstore.Any, evs...); err != nil {
			b.Fatal(err)
		}
	}
	head, _ := store.Head(ctx)
	b.ResetTimer()
	for i := range b.N {
		db, err := projections.OpenDB(ctx, filepath.Join(dir, fmt.Sprintf("rm%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		r, _ := projections.New(db, store, []projections.Projection{&counts{}}, projections.Options{WaitTimeout: 10 * time.Minute})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		start := time.Now()
		go func() { defer close(done); r.Run(rctx) }()
		if err := r.WaitFor(ctx, "counts", head); err != nil {
			b.Fatal(err)
		}
		catchUp := time.Since(start)
		cancel()
		<-done
		start = time.Now()
		if err := r.Rebuild(ctx, "counts", nil); err != nil {
			b.Fatal(err)
		}
		rebuild := time.Since(start)
		b.ReportMetric(n/catchUp.Seconds(), "catchup-events/s")
		b.ReportMetric(n/rebuild.Seconds(), "rebuild-events/s")
		closeDB(db)
	}
}

func closeDB(db *sql.DB) { db.Close() }
