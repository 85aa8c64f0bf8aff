package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/projections"
)

// counts is a projection with two tables: events per stream and per type.
type counts struct {
	name    string
	version int
	filter  *eventstore.Filter
	poison  atomic.Pointer[string] // stream@revision whose Apply fails
	applied atomic.Int64
}

func (c *counts) Name() string {
	if c.name == "" {
		return "counts"
	}
	return c.name
}

func (c *counts) Version() int { return c.version }

func (c *counts) Tables() []projections.Table {
	p := c.Name() + "_"
	return []projections.Table{
		{
			Name: p + "streams",
			Create: func(t string) string {
				return `CREATE TABLE ` + t + ` (stream TEXT PRIMARY KEY, events INTEGER NOT NULL, last_type TEXT NOT NULL, last_revision INTEGER NOT NULL)`
			},
			Indexes: func(t string) []string {
				return []string{`CREATE INDEX ` + t + `_by_type ON ` + t + ` (last_type)`}
			},
		},
		{
			Name: p + "types",
			Create: func(t string) string {
				return `CREATE TABLE ` + t + ` (type TEXT PRIMARY KEY, n INTEGER NOT NULL)`
			},
		},
	}
}

func (c *counts) Apply(ctx context.Context, tx *sql.Tx, t projections.TableNames, e eventstore.Event) error {
	p := c.Name() + "_"
	if bad := c.poison.Load(); bad != nil && *bad == fmt.Sprintf("%s@%d", e.Stream, e.Revision) {
		return errors.New("evento venenoso")
	}
	if _, err := projections.Exec(ctx, tx, `INSERT INTO `+t[p+"streams"]+` (stream, events, last_type, last_revision) VALUES (?, 1, ?, ?)
		ON CONFLICT (stream) DO UPDATE SET events = events + 1, last_type = excluded.last_type, last_revision = excluded.last_revision`,
		e.Stream, e.Type, e.Revision); err != nil {
		return err
	}
	if _, err := projections.Exec(ctx, tx, `INSERT INTO `+t[p+"types"]+` (type, n) VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1`, e.Type); err != nil {
		return err
	}
	c.applied.Add(1)
	return nil
}

// filtered is counts with a filter.
type filtered struct{ counts }

func (f *filtered) Filter() eventstore.Filter { return *f.filter }

type env struct {
	t     *testing.T
	store eventstore.Store
	dir   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &env{t: t, store: s, dir: dir}
}

func (e *env) db(name string) *sql.DB {
	e.t.Helper()
	db, err := projections.OpenDB(context.Background(), filepath.Join(e.dir, name))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return db
}

// appendN appends n events over streams <prefix>-0 … <prefix>-(k-1), in
// chunks of up to 25 events per append, and returns the position of the last.
func (e *env) appendN(prefix string, k, n int) eventstore.Position {
	e.t.Helper()
	var last eventstore.Position
	for i, chunk := 0, 0; i < n; chunk++ {
		stream := fmt.Sprintf("%s-%d", prefix, chunk%k)
		var evs []eventstore.EventData
		for ; i < n && len(evs) < 25; i++ {
			evs = append(evs, eventstore.EventData{
				ID: uuid.New(), Type: []string{"Opened", "Noted", "Closed"}[i%3], SchemaVersion: 1, Data: json.RawMessage(`{}`),
				Metadata: eventstore.Metadata{OccurredAt: time.Now()},
			})
		}
		res, err := e.store.Append(context.Background(), stream, eventstore.Any, evs...)
		if err != nil {
			e.t.Fatal(err)
		}
		last = res.Position
	}
	return last
}

// start runs the runner until the test ends (or stop is called).
func start(t *testing.T, r *projections.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func quiet() projections.Options {
	return projections.Options{WaitTimeout: time.Minute, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

func sum(t *testing.T, db *sql.DB, table string) (rows, events int) {
	t.Helper()
	if err := db.QueryRow(`SELECT count(*), coalesce(sum(events), 0) FROM `+table).Scan(&rows, &events); err != nil {
		t.Fatal(err)
	}
	return rows, events
}

func TestCatchUpThenLive(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.appendN("a", 7, 1234)
	db := e.db("readmodels.db")
	var batches atomic.Int64
	opts := quiet()
	opts.BatchSize = 500
	opts.OnBatch = func(string, int, eventstore.Position) { batches.Add(1) }
	p := &counts{}
	r, err := projections.New(db, e.store, []projections.Projection{p}, opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Lag != 1234 || !st[0].Checkpoint.IsZero() {
		t.Fatalf("status before running: %+v", st[0])
	}
	start(t, r)
	head, _ := e.store.Head(ctx)
	if err := r.WaitFor(ctx, "counts", head); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx); !errs.Is(errs.Conflict, err) {
		t.Fatalf("a second Run: %v", err)
	}
	if rows, n := sum(t, db, "counts_streams"); rows != 7 || n != 1234 {
		t.Fatalf("after catch-up: %d streams, %d events", rows, n)
	}
	if b := batches.Load(); b < 3 {
		t.Fatalf("%d batches for 1234 events at 500 per batch", b)
	}
	// Live.
	pos := e.appendN("b", 2, 10)
	if err := r.WaitFor(ctx, "counts", pos); err != nil {
		t.Fatal(err)
	}
	if rows, n := sum(t, db, "counts_streams"); rows != 8 || n != 1244 {
		t.Fatalf("after live: %d streams, %d events", rows, n)
	}
	st, err = r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Lag != 0 || st[0].Checkpoint != pos || st[0].Head != pos || !st[0].Running || st[0].UpdatedAt.IsZero() {
		t.Fatalf("status: %+v", st[0])
	}
}

func TestRestartResumesWithoutDuplicates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	e.appendN("a", 3, 300)
	p := &counts{}
	r, _ := projections.New(db, e.store, []projections.Projection{p}, quiet())
	stop := start(t, r)
	head, _ := e.store.Head(ctx)
	if err := r.WaitFor(ctx, "counts", head); err != nil {
		t.Fatal(err)
	}
	stop()
	pos := e.appendN("a", 3, 30)
	r2, _ := projections.New(db, e.store, []projections.Projection{p}, quiet())
	start(t, r2)
	if err := r2.WaitFor(ctx, "counts", pos); err != nil {
		t.Fatal(err)
	}
	if _, n := sum(t, db, "counts_streams"); n != 330 || p.applied.Load() != 330 {
		t.Fatalf("events counted %d, applied %d, want 330", n, p.applied.Load())
	}
}

func TestFailedBatchRollsBackModelAndCheckpoint(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	e.appendN("a", 1, 50) // a-0@0 … a-0@49
	p := &counts{}
	bad := "a-0@30"
	p.poison.Store(&bad)
	failures := make(chan error, 100)
	opts := quiet()
	opts.OnError = func(_ string, err error) {
		select {
		case failures <- err:
		default:
		}
	}
	r, _ := projections.New(db, e.store, []projections.Projection{p}, opts)
	start(t, r)
	<-failures
	<-failures // retried, failed again: a poison event is retried with backoff
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Batches are cut where the subscription pauses, so the checkpoint may
	// be anywhere before the poison event; the model must match it exactly.
	cp := st[0].Checkpoint
	if cp.Commit >= 31 || st[0].LastError == "" || st[0].Lag != int(50-cp.Commit) {
		t.Fatalf("status while failing: %+v", st[0])
	}
	if _, n := sum(t, db, "counts_streams"); n != int(cp.Commit) {
		t.Fatalf("model has %d events, checkpoint says %d", n, cp.Commit)
	}
	p.poison.Store(nil) // fixed
	head, _ := e.store.Head(ctx)
	if err := r.WaitFor(ctx, "counts", head); err != nil {
		t.Fatal(err)
	}
	if _, n := sum(t, db, "counts_streams"); n != 50 {
		t.Fatalf("after the fix: %d events counted, want 50", n)
	}
	st, _ = r.Status(ctx)
	if st[0].LastError != "" || st[0].Lag != 0 {
		t.Fatalf("status after the fix: %+v", st[0])
	}
}

func TestRebuildSwapsAtomically(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	e.appendN("a", 11, 1000)
	p := &counts{}
	opts := quiet()
	opts.BatchSize = 128
	r, _ := projections.New(db, e.store, []projections.Projection{p}, opts)
	start(t, r)
	head, _ := e.store.Head(ctx)
	if err := r.WaitFor(ctx, "counts", head); err != nil {
		t.Fatal(err)
	}
	live, err := r.Digest(ctx, "counts")
	if err != nil {
		t.Fatal(err)
	}

	// A reader checks, all along, that the model it sees never shrinks: a
	// half-built model would show fewer events.
	readerCtx, stopReader := context.WithCancel(ctx)
	readerDone := make(chan error, 1)
	go func() {
		seen := 0
		for readerCtx.Err() == nil {
			var n int
			if err := db.QueryRowContext(readerCtx, `SELECT coalesce(sum(events), 0) FROM counts_streams`).Scan(&n); err != nil {
				if readerCtx.Err() != nil {
					break
				}
				readerDone <- err
				return
			}
			if n < seen {
				readerDone <- fmt.Errorf("reader saw %d events after %d", n, seen)
				return
			}
			seen = n
			time.Sleep(time.Millisecond) // pace the reader; not a timing assertion
		}
		readerDone <- nil
	}()

	var calls, lastDone, lastTotal int
	if err := r.Rebuild(ctx, "counts", func(done, total int) { calls++; lastDone, lastTotal = done, total }); err != nil {
		t.Fatal(err)
	}
	if calls < 1000/128 || lastDone != 1000 || lastTotal != 1000 {
		t.Fatalf("progress: %d calls, last %d/%d", calls, lastDone, lastTotal)
	}
	rebuilt, err := r.Digest(ctx, "counts")
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt != live {
		t.Fatalf("rebuilt digest %s, live %s", rebuilt, live)
	}

	// Rebuild again while events keep arriving and Run keeps applying them.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.appendN("b", 5, 300)
	}()
	if err := r.Rebuild(ctx, "counts", nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	stopReader()
	if err := <-readerDone; err != nil {
		t.Fatal(err)
	}
	head, _ = e.store.Head(ctx)
	if err := r.WaitFor(ctx, "counts", head); err != nil {
		t.Fatal(err)
	}
	if _, n := sum(t, db, "counts_streams"); n != 1300 {
		t.Fatalf("after a rebuild racing appends: %d events counted, want 1300", n)
	}
	d1, _ := r.Digest(ctx, "counts")
	if err := r.Rebuild(ctx, "counts", nil); err != nil {
		t.Fatal(err)
	}
	d2, _ := r.Digest(ctx, "counts")
	if d1 != d2 {
		t.Fatal("live and rebuilt digests differ after concurrent appends")
	}
	// The indexes carry the live names after the swaps.
	var ix string
	if err := db.QueryRow(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'counts_streams' AND sql IS NOT NULL`).Scan(&ix); err != nil || ix != "counts_streams_by_type" {
		t.Fatalf("index %q, %v", ix, err)
	}
	var shadows int
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name LIKE '%__rebuild%'`).Scan(&shadows)
	if shadows != 0 {
		t.Fatalf("%d shadow objects left", shadows)
	}
}

func TestRebuildFailureKeepsLiveModel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	e.appendN("a", 2, 40)
	p := &counts{}
	r, _ := projections.New(db, e.store, []projections.Projection{p}, quiet())
	stop := start(t, r)
	head, _ := e.store.Head(ctx)
	if err := r.WaitFor(ctx, "counts", head); err != nil {
		t.Fatal(err)
	}
	stop()
	before, _ := r.Digest(ctx, "counts")
	bad := "a-1@7"
	p.poison.Store(&bad)
	if err := r.Rebuild(ctx, "counts", nil); err == nil {
		t.Fatal("rebuild over a poison event succeeded")
	}
	after, _ := r.Digest(ctx, "counts")
	if before != after {
		t.Fatal("a failed rebuild changed the live model")
	}
}

func TestWaitFor(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	opts := quiet()
	opts.WaitTimeout = 50 * time.Millisecond
	// Only streams "keep-" pass the filter; others still move the checkpoint.
	f := &filtered{}
	f.name = "kept"
	f.filter = &eventstore.Filter{StreamPrefixes: []string{"keep-"}}
	r, err := projections.New(db, e.store, []projections.Projection{f, &counts{}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitFor(ctx, "nope", eventstore.Position{}); !errs.Is(errs.NotFound, err) {
		t.Fatalf("unknown projection: %v", err)
	}
	if err := r.WaitFor(ctx, "kept", eventstore.Position{}); err != nil {
		t.Fatalf("zero position: %v", err)
	}
	start(t, r)
	far := eventstore.Position{Commit: 1 << 40, Prepare: 1 << 40}
	if err := r.WaitFor(ctx, "kept", far); !errs.Is(errs.Unavailable, err) {
		t.Fatalf("unreachable position: %v", err)
	}

	// A waiter started before the write is woken by it.
	r2, _ := projections.New(db, e.store, []projections.Projection{f, &counts{}}, quiet())
	got := make(chan error, 1)
	target := make(chan eventstore.Position, 1)
	go func() { got <- r2.WaitFor(ctx, "kept", <-target) }()
	e.appendN("keep", 1, 2)
	pos := e.appendN("skip", 1, 3) // the last event does not pass the filter
	target <- pos
	if err := <-got; err != nil {
		t.Fatalf("WaitFor through another runner's progress: %v", err)
	}
	if rows, n := sum(t, db, "kept_streams"); rows != 1 || n != 2 {
		t.Fatalf("filtered model: %d rows, %d events", rows, n)
	}
	if err := r.WaitFor(ctx, "counts", pos); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaChangeResetsModel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	pos := e.appendN("a", 2, 20)
	r, _ := projections.New(db, e.store, []projections.Projection{&counts{}}, quiet())
	stop := start(t, r)
	if err := r.WaitFor(ctx, "counts", pos); err != nil {
		t.Fatal(err)
	}
	stop()
	db.Exec(`UPDATE counts_streams SET events = 999`) // a model that no longer matches its code
	r2, _ := projections.New(db, e.store, []projections.Projection{&counts{version: 2}}, quiet())
	start(t, r2)
	if err := r2.WaitFor(ctx, "counts", pos); err != nil {
		t.Fatal(err)
	}
	if _, n := sum(t, db, "counts_streams"); n != 20 {
		t.Fatalf("after a version change: %d events, want 20", n)
	}
}

func TestNewRefusesBadDefinitions(t *testing.T) {
	e := newEnv(t)
	db := e.db("readmodels.db")
	if _, err := projections.New(db, e.store, []projections.Projection{&counts{}, &counts{}}, quiet()); err == nil {
		t.Fatal("duplicate names accepted")
	}
	if _, err := projections.New(db, e.store, []projections.Projection{&counts{name: "x__y"}}, quiet()); err == nil {
		t.Fatal("table name with __ accepted")
	}
}

// TestLiveBatchesOnOneConnection: caught up, the runner applies batch after
// batch on one connection of its own (kept while it runs, so its page cache
// stays valid), and gives it back when it stops.
func TestLiveBatchesOnOneConnection(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	r, err := projections.New(db, e.store, []projections.Projection{&counts{}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, r)
	for i := range 20 {
		pos := e.appendN(fmt.Sprintf("live%d", i), 1, 3)
		if err := r.WaitFor(ctx, "counts", pos); err != nil {
			t.Fatal(err)
		}
	}
	// Between batches, the hub's connection is the only one in use; API
	// reads (here: the sum) take others.
	if st := db.Stats(); st.InUse != 1 {
		t.Errorf("%d connections in use between live batches, want the runner's one", st.InUse)
	}
	if rows, n := sum(t, db, "counts_streams"); rows != 20 || n != 60 {
		t.Fatalf("%d streams, %d events", rows, n)
	}
	stop()
	if st := db.Stats(); st.InUse != 0 {
		t.Errorf("%d connections in use after the runner stopped", st.InUse)
	}
}

// TestOpenDBKeepsConnections: concurrent reads return their connections to
// the pool instead of closing them (database/sql keeps 2 by default, and
// every new SQLite connection reads the schema and prepares statements
// again).
func TestOpenDBKeepsConnections(t *testing.T) {
	ctx := context.Background()
	db, err := projections.OpenDB(ctx, filepath.Join(t.TempDir(), "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var n int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if st := db.Stats(); st.MaxIdleClosed != 0 {
		t.Errorf("%d connections closed for want of room in the pool after %d were opened", st.MaxIdleClosed, st.OpenConnections)
	}
}
