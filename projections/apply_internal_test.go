package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// seen records every event in one table; it fails on the event at failAt.
type seen struct{ failAt uint64 }

func (seen) Name() string { return "seen" }
func (seen) Tables() []Table {
	return []Table{{Name: "seen", Create: func(t string) string { return `CREATE TABLE ` + t + ` (id TEXT PRIMARY KEY)` }}}
}
func (s seen) Apply(ctx context.Context, tx *sql.Tx, t TableNames, e eventstore.Event) error {
	if e.Revision == s.failAt {
		return errors.New("fallo a mitad del lote")
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+t["seen"]+` (id) VALUES (?)`, e.ID.String())
	return err
}

// A batch whose Apply fails half-way leaves neither rows nor checkpoint: the
// model and its checkpoint commit together or not at all, so a crash (or an
// error) between applying and checkpointing cannot apply anything twice.
func TestFailingBatchRollsBackRowsAndCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	evs := make([]eventstore.EventData, 50)
	for i := range evs {
		evs[i] = eventstore.EventData{ID: uuid.New(), Type: "X", SchemaVersion: 1, Data: json.RawMessage(`{}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}}
	}
	if _, err := store.Append(ctx, "s", eventstore.NoStream, evs...); err != nil {
		t.Fatal(err)
	}
	batch, err := store.ReadAll(ctx, eventstore.Position{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(ctx, filepath.Join(dir, "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := New(db, store, []Projection{seen{failAt: 30}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		t.Fatal(err)
	}
	pr := r.by["seen"]
	if _, err := r.applyLive(ctx, pr, batch); err == nil {
		t.Fatal("the batch did not fail")
	}
	var rows int
	db.QueryRow(`SELECT count(*) FROM seen`).Scan(&rows)
	cp, _ := r.checkpoint(ctx, "seen")
	if rows != 0 || !cp.IsZero() {
		t.Fatalf("after a failed batch: %d rows, checkpoint %s", rows, cp)
	}

	// The same batch applied twice (a redelivery) applies it once.
	r2, _ := New(db, store, []Projection{seen{failAt: 1 << 60}}, Options{})
	r2.Init(ctx)
	for range 2 {
		if _, err := r2.applyLive(ctx, r2.by["seen"], batch); err != nil {
			t.Fatal(err)
		}
	}
	db.QueryRow(`SELECT count(*) FROM seen`).Scan(&rows)
	cp, _ = r2.checkpoint(ctx, "seen")
	if rows != 50 || cp != batch[49].Position {
		t.Fatalf("after a redelivered batch: %d rows, checkpoint %s", rows, cp)
	}
}
