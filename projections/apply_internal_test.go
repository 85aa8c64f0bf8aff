package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// seen records every event in one table; it fails on the event at failAt.
type seen struct {
	name   string // default "seen"
	failAt uint64
}

func (s seen) Name() string {
	if s.name == "" {
		return "seen"
	}
	return s.name
}
func (s seen) Tables() []Table {
	return []Table{{Name: s.Name(), Create: func(t string) string { return `CREATE TABLE ` + t + ` (id TEXT PRIMARY KEY)` }}}
}
func (s seen) Apply(ctx context.Context, tx *sql.Tx, t TableNames, e eventstore.Event) error {
	if e.Revision == s.failAt {
		return errors.New("fallo a mitad del lote")
	}
	_, err := Exec(ctx, tx, `INSERT INTO `+t[s.Name()]+` (id) VALUES (?)`, e.ID.String())
	return err
}

// fixture is a store holding 50 events of one stream (revisions 0…49), the
// log read back, and a read-model database.
func fixture(t *testing.T) (eventstore.Store, []eventstore.Event, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	evs := make([]eventstore.EventData, 50)
	for i := range evs {
		evs[i] = eventstore.EventData{ID: uuid.New(), Type: "X", SchemaVersion: 1, Data: json.RawMessage(`{}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}}
	}
	if _, err := store.Append(ctx, "s", eventstore.NoStream, evs...); err != nil {
		t.Fatal(err)
	}
	log, err := store.ReadAll(ctx, eventstore.Position{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(ctx, filepath.Join(dir, "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store, log, db
}

func rowsAndCheckpoint(t *testing.T, r *Runner, table string) (int, eventstore.Position) {
	t.Helper()
	var n int
	if err := r.db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	cp, err := r.checkpoint(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return n, cp
}

// The shared reader applies a batch to all its members in one transaction;
// a member whose Apply fails is sent away with its error, with neither rows
// nor checkpoint, and the others get the whole batch.
func TestSharedBatchIsolatesAFailingMember(t *testing.T) {
	ctx := context.Background()
	store, log, db := fixture(t)
	r, err := New(db, store, []Projection{seen{name: "good", failAt: 1 << 60}, seen{name: "bad", failAt: 20}, seen{name: "also", failAt: 1 << 60}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		t.Fatal(err)
	}
	var ms []*member
	for _, name := range r.Names() {
		ms = append(ms, &member{pr: r.by[name], done: make(chan error, 1)})
	}
	bad := ms[1]
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	left, ok := r.applyShared(ctx, conn, slices.Clone(ms), log)
	if !ok || len(left) != 2 || left[0].pr.name != "good" || left[1].pr.name != "also" {
		t.Fatalf("members left: %d", len(left))
	}
	select {
	case err := <-bad.done:
		if err == nil {
			t.Fatal("the failing member was sent away without an error")
		}
	default:
		t.Fatal("the failing member was not sent away")
	}
	for _, name := range []string{"good", "also"} {
		if n, cp := rowsAndCheckpoint(t, r, name); n != 50 || cp != log[49].Position || r.by[name].pos != cp || !ms[0].progressed {
			t.Fatalf("%s: %d rows, checkpoint %s", name, n, cp)
		}
	}
	if n, cp := rowsAndCheckpoint(t, r, "bad"); n != 0 || !cp.IsZero() {
		t.Fatalf("bad: %d rows, checkpoint %s", n, cp)
	}
	// A member ahead of the batch (its checkpoint moved by a rebuild's swap
	// or another process) skips what it already has.
	if left, ok = r.applyShared(ctx, conn, left, log[40:]); !ok || len(left) != 2 {
		t.Fatalf("members left: %d", len(left))
	}
	if n, _ := rowsAndCheckpoint(t, r, "good"); n != 50 {
		t.Fatalf("good after a redelivery: %d rows", n)
	}
}

// A projection joining the shared reader behind it is brought, page by page,
// exactly to the last event the others have applied.
func TestBridgeStopsAtTheReadersPosition(t *testing.T) {
	ctx := context.Background()
	store, log, db := fixture(t)
	r, err := New(db, store, []Projection{seen{failAt: 1 << 60}}, Options{BatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		t.Fatal(err)
	}
	m := &member{pr: r.by["seen"], from: log[4].Position}
	if _, err := r.applyLive(ctx, m.pr, log[:5]); err != nil {
		t.Fatal(err)
	}
	if err := r.bridge(ctx, m, log[29].Position); err != nil {
		t.Fatal(err)
	}
	if n, cp := rowsAndCheckpoint(t, r, "seen"); n != 30 || cp != log[29].Position || !m.progressed {
		t.Fatalf("after the bridge: %d rows, checkpoint %s", n, cp)
	}
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
