package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/eventstore/storetest"
)

func openTemp(t *testing.T, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// tamper edits a stored event's data with raw SQL, leaving its hash alone.
func tamper(t *testing.T, s eventstore.Store, stream string, revision uint64) {
	t.Helper()
	db, err := sql.Open("sqlite", s.(*sqlite.Store).Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE events SET data = ? WHERE stream = ? AND revision = ?`, []byte(`{"manipulado":true}`), stream, int64(revision))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper changed %d rows", n)
	}
}

func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		// A checkpoint every few events exercises the checkpointer too.
		New:    func(t *testing.T) eventstore.Store { return openTemp(t, sqlite.WithCheckpointEvery(8)) },
		Tamper: tamper,
	})
}

func ev(typ string, n int) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          typ,
		SchemaVersion: 1,
		Data:          json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: eventstore.Metadata{
			CorrelationID: "c",
			Actor:         eventstore.Actor{ID: "u", Role: "admin"},
			OccurredAt:    time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSecondStoreOnSameFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	ctx := ctxT(t)
	a, err := sqlite.Open(ctx, path, sqlite.WithPollInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path, sqlite.WithPollInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if _, err := a.Append(ctx, "x", eventstore.NoStream, ev("E", 0)); err != nil {
		t.Fatal(err)
	}
	sub, err := a.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if e, err := sub.Next(ctx); err != nil || e.Stream != "x" {
		t.Fatalf("catch-up: %v %v", e.Stream, err)
	}
	// b writes; a's subscriber is not woken in-process, the poller sees it.
	e1 := ev("E", 1)
	r1, err := b.Append(ctx, "x", eventstore.Revision(0), e1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sub.Next(ctx)
	if err != nil || got.ID != e1.ID || got.Position != r1.Position {
		t.Fatalf("a's subscription got %v at %s (%v), want b's event at %s", got.ID, got.Position, err, r1.Position)
	}
	// a's writer learns that its cached head of x is stale.
	_, err = a.Append(ctx, "x", eventstore.Revision(0), ev("E", 2))
	var wev *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wev) || wev.Current != 1 {
		t.Fatalf("a appending at a stale revision: %v, want a conflict with current 1", err)
	}
	r2, err := a.Append(ctx, "x", eventstore.Revision(1), ev("E", 3))
	if err != nil || r2.NextRevision != 2 {
		t.Fatalf("a appending after b: %+v %v", r2, err)
	}
	// And the hash chain holds across the two writers.
	rep, err := eventstore.Verify(ctx, b, nil)
	if err != nil || rep.Broken != nil || rep.Events != 3 {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
}

// Two stores on one file taking turns: each writer sees, at every append,
// that the other has committed since its own last commit (SQLite's data
// version of the file), so no append reuses a position or misses the
// other's head, and the log stays one hash chain.
func TestStoresTakingTurnsOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	ctx := ctxT(t)
	var stores [2]*sqlite.Store
	for i := range stores {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	const turns = 40
	for i := range turns {
		s := stores[i%2]
		// One stream both extend at exact revisions, and one of each
		// store's own, which the other never touches.
		exp := eventstore.NoStream
		if i > 0 {
			exp = eventstore.Revision(uint64(i - 1))
		}
		r, err := s.Append(ctx, "compartido", exp, ev("E", i))
		if err != nil || r.NextRevision != uint64(i) {
			t.Fatalf("turn %d on the shared stream: %+v %v", i, r, err)
		}
		own := fmt.Sprintf("propio-%d", i%2)
		if _, err := s.Append(ctx, own, eventstore.Any, ev("E", 1000+i)); err != nil {
			t.Fatalf("turn %d on %s: %v", i, own, err)
		}
	}
	for _, s := range stores {
		rep, err := eventstore.Verify(ctx, s, nil)
		if err != nil || rep.Broken != nil || rep.Events != 2*turns {
			t.Fatalf("Verify: %+v %v, want %d events in one chain", rep, err, 2*turns)
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	ctx := ctxT(t)
	s, err := sqlite.Open(ctx, path, sqlite.WithCheckpointEvery(3))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for i := range 20 {
		e := ev("E", i)
		ids = append(ids, e.ID)
		if _, err := s.Append(ctx, fmt.Sprintf("s-%d", i%3), eventstore.Any, e); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := s.ReadAll(ctx, eventstore.Position{}, 0)
	if st := s.Stats(); st.Commits != 20 || st.Appends != 20 || st.Events != 20 {
		t.Fatalf("Stats = %+v, want 20 commits, appends and events", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Append(ctx, "s-0", eventstore.Any, ev("E", 99)); !errs.Is(errs.Unavailable, err) {
		t.Fatalf("Append after Close: %v, want unavailable", err)
	}
	if _, err := s.ReadAll(ctx, eventstore.Position{}, 0); !errs.Is(errs.Unavailable, err) {
		t.Fatalf("ReadAll after Close: %v, want unavailable", err)
	}

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after, err := s.ReadAll(ctx, eventstore.Position{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 20 {
		t.Fatalf("after reopen: %d events, want 20", len(after))
	}
	for i := range after {
		if after[i].ID != ids[i] || !bytes.Equal(after[i].Hash, before[i].Hash) || after[i].Position != before[i].Position {
			t.Fatalf("event %d changed across reopen", i)
		}
	}
	// The writer continues the chains where they were.
	r, err := s.Append(ctx, "s-0", eventstore.Revision(6), ev("E", 20))
	if err != nil || r.NextRevision != 7 || r.Position != (eventstore.Position{Commit: 21, Prepare: 21}) {
		t.Fatalf("append after reopen: %+v %v", r, err)
	}
	rep, err := eventstore.Verify(ctx, s, nil)
	if err != nil || rep.Broken != nil || rep.Events != 21 || rep.Streams != 3 {
		t.Fatalf("Verify after reopen: %+v %v", rep, err)
	}
}

func TestRecordedAtFromClock(t *testing.T) {
	at := time.Date(2026, 5, 4, 3, 2, 1, 123456789, time.UTC)
	clk := clock.NewManual(at)
	s := openTemp(t, sqlite.WithClock(clk))
	ctx := ctxT(t)
	if _, err := s.Append(ctx, "x", eventstore.NoStream, ev("E", 0)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if _, err := s.Append(ctx, "x", eventstore.Revision(0), ev("E", 1)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadStream(ctx, "x", 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].RecordedAt.Equal(at) || !got[1].RecordedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("RecordedAt = %s, %s; want %s and an hour later", got[0].RecordedAt, got[1].RecordedAt, at)
	}
}

// TestEventIDUniqueWithinStream: an event ID is unique within its stream,
// as in EventStoreDB (schema version 2); another stream may hold the same
// ID.
func TestEventIDUniqueWithinStream(t *testing.T) {
	s := openTemp(t)
	ctx := ctxT(t)
	e := ev("E", 0)
	first, err := s.Append(ctx, "a", eventstore.NoStream, e)
	if err != nil {
		t.Fatal(err)
	}
	// SQLite returns what it recorded (storetest checks it equals a read).
	if len(first.Events) != 1 || first.Events[0].ID != e.ID {
		t.Fatalf("append returned %+v, want the recorded event", first.Events)
	}
	// The same event ID in another stream is another event.
	if _, err := s.Append(ctx, "b", eventstore.NoStream, ev("E", 1), e); err != nil {
		t.Fatalf("same id in another stream: %v", err)
	}
	head, _ := s.Head(ctx)
	// Any re-append of the same event is idempotent, even in a new batch.
	if r, err := s.Append(ctx, "a", eventstore.Any, e); err != nil || r.NextRevision != first.NextRevision || r.Position != first.Position || r.Events != nil {
		t.Fatalf("re-append with Any: %+v %v, want %+v", r, err, first)
	}
	if r, err := s.Append(ctx, "a", eventstore.StreamExists, e); err != nil || r.NextRevision != first.NextRevision || r.Position != first.Position || r.Events != nil {
		t.Fatalf("re-append with StreamExists: %+v %v, want %+v", r, err, first)
	}
	// A batch whose first event was written but not the rest is no re-append.
	_, err = s.Append(ctx, "a", eventstore.Any, e, ev("E", 2))
	if !errs.Is(errs.Conflict, err) {
		t.Fatalf("partial re-append: %v, want a conflict", err)
	}
	// Nor is a new event followed by one the stream already holds.
	_, err = s.Append(ctx, "a", eventstore.Any, ev("E", 3), e)
	if !errs.Is(errs.Conflict, err) {
		t.Fatalf("new event then a taken id: %v, want a conflict", err)
	}
	var wev *eventstore.WrongExpectedVersionError
	if errors.As(err, &wev) {
		t.Fatalf("duplicate id reported as a wrong expected version: %v", err)
	}
	if h, _ := s.Head(ctx); h != head {
		t.Fatalf("head moved from %s to %s", head, h)
	}
	if got, _ := s.ReadStream(ctx, "a", 0, eventstore.Forward, 0); len(got) != 1 {
		t.Fatalf("stream a holds %d events, want 1", len(got))
	}
}

// TestGroupIsolation sends many appends at once, a third of them doomed;
// each answer is its own and the good ones all land.
func TestGroupIsolation(t *testing.T) {
	s := openTemp(t)
	ctx := ctxT(t)
	shared := ev("E", -1)
	if _, err := s.Append(ctx, "taken", eventstore.NoStream, shared); err != nil {
		t.Fatal(err)
	}
	const n = 300
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("g-%d", i)
			switch i % 3 {
			case 0: // fine
				_, results[i] = s.Append(ctx, stream, eventstore.NoStream, ev("E", i), ev("E", i))
			case 1: // wrong expectation
				_, results[i] = s.Append(ctx, stream, eventstore.Revision(3), ev("E", i))
			case 2: // an event ID the stream already holds
				_, results[i] = s.Append(ctx, "taken", eventstore.Any, ev("E", i), shared)
			}
		}()
	}
	wg.Wait()
	for i, err := range results {
		switch i % 3 {
		case 0:
			if err != nil {
				t.Fatalf("good append %d: %v", i, err)
			}
		case 1:
			var wev *eventstore.WrongExpectedVersionError
			if !errors.As(err, &wev) || wev.Current != -1 {
				t.Fatalf("append %d: %v, want a wrong expected version", i, err)
			}
		case 2:
			if !errs.Is(errs.Conflict, err) {
				t.Fatalf("append %d: %v, want a conflict", i, err)
			}
		}
	}
	all, err := s.ReadAll(ctx, eventstore.Position{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1+2*n/3 {
		t.Fatalf("%d events stored, want %d", len(all), 1+2*n/3)
	}
	rep, err := eventstore.Verify(ctx, s, nil)
	if err != nil || rep.Broken != nil {
		t.Fatalf("Verify: %+v %v", rep.Broken, err)
	}
}

func TestLockedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	ctx := ctxT(t)
	s, err := sqlite.Open(ctx, path, sqlite.WithBusyTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "x", eventstore.NoStream, ev("E", 0)); err != nil {
		t.Fatal(err)
	}
	// Another connection holds the write lock.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Append(ctx, "x", eventstore.Revision(0), ev("E", 1), ev("E", 2))
	if !errs.Is(errs.Unavailable, err) {
		t.Fatalf("append on a locked database: %v (kind %s), want unavailable", err, errs.KindOf(err))
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	r, err := s.Append(ctx, "x", eventstore.Revision(0), ev("E", 3))
	if err != nil || r.NextRevision != 1 {
		t.Fatalf("append after the lock is gone: %+v %v", r, err)
	}
}

func TestCloseDrainsWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	ctx := ctxT(t)
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	ok := make([]bool, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Append(ctx, fmt.Sprintf("d-%d", i), eventstore.NoStream, ev("E", i))
			switch {
			case err == nil:
				ok[i] = true
			case !errs.Is(errs.Unavailable, err):
				t.Errorf("append %d: %v", i, err)
			}
		}()
	}
	close(start)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range n {
		_, err := s.ReadStream(ctx, fmt.Sprintf("d-%d", i), 0, eventstore.Forward, 0)
		if ok[i] != (err == nil) {
			t.Fatalf("append %d answered ok=%v, stored: %v", i, ok[i], err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, "x", eventstore.NoStream, ev("E", 0)); err == nil {
		// The writer may have taken it before noticing; then it must be stored.
		if _, err := s.ReadStream(context.Background(), "x", 0, eventstore.Forward, 0); err != nil {
			t.Fatalf("append answered ok but not stored: %v", err)
		}
	}
	if _, err := sqlite.Open(context.Background(), ""); !errs.Is(errs.Invalid, err) {
		t.Fatalf("Open with an empty path: %v", err)
	}
}

// TestOtherProcess appends from a child process (this test binary run
// again) while this process is subscribed to the same file: the poller
// sees the child's appends, and this process's writer continues the
// child's hash chain.
func TestOtherProcess(t *testing.T) {
	if path := os.Getenv("REDENGINE_SQLITE_CHILD"); path != "" {
		childAppend(t, path)
		return
	}
	path := filepath.Join(t.TempDir(), "events.db")
	ctx := ctxT(t)
	s, err := sqlite.Open(ctx, path, sqlite.WithPollInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "padre", eventstore.NoStream, ev("E", 0)); err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{StreamPrefixes: []string{"hijo"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	mark := s.Mark()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOtherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "REDENGINE_SQLITE_CHILD="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for i := range 10 {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e.Stream != "hijo" || e.Revision != uint64(i) {
			t.Fatalf("event %d from the child: %q r%d", i, e.Stream, e.Revision)
		}
	}
	// The child's commits raised the counter the two processes share: a
	// cache of "padre" read before them is no longer vouched for.
	if s.Unchanged("padre", mark) {
		t.Fatal(`"padre" unchanged since before the child's appends`)
	}
	// The child extended "padre" too; this writer must notice.
	r, err := s.Append(ctx, "padre", eventstore.Revision(1), ev("E", 2))
	if err != nil || r.NextRevision != 2 {
		t.Fatalf("append after the child: %+v %v", r, err)
	}
	rep, err := eventstore.Verify(ctx, s, nil)
	if err != nil || rep.Broken != nil || rep.Events != 13 {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
}

func childAppend(t *testing.T, path string) {
	ctx := ctxT(t)
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "padre", eventstore.Revision(0), ev("E", 1)); err != nil {
		t.Fatal(err)
	}
	exp := eventstore.NoStream
	for i := range 10 {
		r, err := s.Append(ctx, "hijo", exp, ev("E", i))
		if err != nil {
			t.Fatal(err)
		}
		exp = eventstore.Revision(r.NextRevision)
	}
}

// TestWALStaysSmall: under steady appends from many writers the WAL is
// checkpointed and started over, instead of growing with the log.
func TestWALStaysSmall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	ctx := ctxT(t)
	s, err := sqlite.Open(ctx, path, sqlite.WithCheckpointEvery(64))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exp := eventstore.NoStream
			for i := range 300 {
				r, err := s.Append(ctx, fmt.Sprint("w-", w), exp, ev("E", i))
				if err != nil {
					t.Error(err)
					return
				}
				exp = eventstore.Revision(r.NextRevision)
			}
		}()
	}
	wg.Wait()
	// Without checkpoints these 4,800 appends leave a WAL of ~20 MB.
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 8<<20 {
		t.Fatalf("WAL is %d MB after %+v", fi.Size()>>20, s.Stats())
	}
}

// wholeMetadata puts the metadata an event shares with an earlier one of
// its append back in its own row, as versions up to 3 stored it.
const wholeMetadata = `UPDATE events SET metadata = (SELECT m.metadata FROM events m WHERE m.seq = events.metadata)
	WHERE typeof(metadata) = 'integer';
`

// oldLayouts are the SQL that rewrites a current file as earlier versions
// wrote it.
var oldLayouts = map[int]string{
	// Version 1: event IDs unique across the log, no user_version.
	1: wholeMetadata + `ALTER TABLE events RENAME TO events_v3;
CREATE TABLE events (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, revision INTEGER NOT NULL,
	id BLOB NOT NULL UNIQUE, type TEXT NOT NULL, schema_version INTEGER NOT NULL, data BLOB NOT NULL,
	metadata BLOB NOT NULL, recorded_at INTEGER NOT NULL, prev_hash BLOB, hash BLOB NOT NULL,
	UNIQUE (stream, revision));
INSERT INTO events SELECT seq, stream, revision, id, type, schema_version, data, metadata, recorded_at, prev_hash, hash FROM events_v3;
DROP TABLE events_v3;
DROP TABLE streams;
PRAGMA user_version = 0;`,
	// Version 2: event IDs unique within their stream, indexes keyed by the
	// stream's name.
	2: wholeMetadata + `ALTER TABLE events RENAME TO events_v3;
CREATE TABLE events (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, revision INTEGER NOT NULL,
	id BLOB NOT NULL, type TEXT NOT NULL, schema_version INTEGER NOT NULL, data BLOB NOT NULL,
	metadata BLOB NOT NULL, recorded_at INTEGER NOT NULL, prev_hash BLOB, hash BLOB NOT NULL,
	UNIQUE (stream, revision), UNIQUE (stream, id));
INSERT INTO events SELECT seq, stream, revision, id, type, schema_version, data, metadata, recorded_at, prev_hash, hash FROM events_v3;
DROP TABLE events_v3;
DROP TABLE streams;
PRAGMA user_version = 2;`,
	// Version 3: every event's metadata whole.
	3: wholeMetadata + `PRAGMA user_version = 3;`,
}

// TestMigrateFromOldLayouts opens files in the earlier layouts: the events,
// positions and hash chain survive, streams are numbered in the order of
// their first event, the layout becomes version 4, and the file is then
// used as usual.
func TestMigrateFromOldLayouts(t *testing.T) {
	for version, rewrite := range oldLayouts {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			ctx := ctxT(t)
			path := filepath.Join(t.TempDir(), "events.db")
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 7 {
				evs := []eventstore.EventData{ev("E", i)}
				if i == 2 {
					evs = append(evs, ev("E", 100), ev("E", 101)) // one append: metadata stored once
				}
				if _, err := s.Append(ctx, fmt.Sprintf("m-%d", (3-i%3)), eventstore.Any, evs...); err != nil {
					t.Fatal(err)
				}
			}
			before, err := s.ReadAll(ctx, eventstore.Position{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()

			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.Exec(rewrite)
			db.Close()
			if err != nil {
				t.Fatal(err)
			}

			s, err = sqlite.Open(ctx, path)
			if err != nil {
				t.Fatalf("open a version-%d file: %v", version, err)
			}
			defer s.Close()
			after, err := s.ReadAll(ctx, eventstore.Position{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) {
				t.Fatalf("%d events after the migration, want %d", len(after), len(before))
			}
			for i := range before {
				if after[i].ID != before[i].ID || after[i].Position != before[i].Position || !bytes.Equal(after[i].Hash, before[i].Hash) ||
					after[i].Metadata != before[i].Metadata {
					t.Fatalf("event %d changed: %+v, was %+v", i, after[i], before[i])
				}
			}
			if rep, err := eventstore.Verify(ctx, s, nil); err != nil || rep.Broken != nil {
				t.Fatalf("Verify after the migration: %+v %v", rep.Broken, err)
			}
			// Streams read and append as before; a repeated append is
			// still recognised.
			evs, err := s.ReadStream(ctx, "m-2", 0, eventstore.Forward, 0)
			if err != nil || len(evs) != 2 || evs[1].Revision != 1 {
				t.Fatalf("m-2 after the migration: %d events, %v", len(evs), err)
			}
			e0 := before[0]
			again := eventstore.EventData{ID: e0.ID, Type: e0.Type, SchemaVersion: e0.SchemaVersion, Data: e0.Data, Metadata: e0.Metadata}
			if r, err := s.Append(ctx, e0.Stream, eventstore.NoStream, again); err != nil || r.Position != e0.Position {
				t.Fatalf("repeat of the first append after the migration: %+v %v", r, err)
			}
			// Since version 2: the same ID may stand in another stream.
			if _, err := s.Append(ctx, "other", eventstore.NoStream, again); err != nil {
				t.Fatalf("append after the migration: %v", err)
			}
			db, err = sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var v int
			if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != 4 {
				t.Fatalf("user_version = %d (%v), want 4", v, err)
			}
			// Numbered in the order of their first event: m-3, m-2, m-1, other.
			names := queryStrings(t, db, "SELECT name FROM streams ORDER BY no")
			if got := strings.Join(names, ","); got != "m-3,m-2,m-1,other" {
				t.Errorf("streams numbered %s", got)
			}
		})
	}
}

// TestNewerSchemaRefused: a file from a newer version is not touched.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "events.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec("PRAGMA user_version = 99")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(ctx, path); !errs.Is(errs.Precondition, err) {
		t.Fatalf("open a version-99 file: %v, want a precondition error", err)
	}
}

// TestLargeAppend writes an append longer than one multi-row insert: every
// event lands once, in order, on an unbroken hash chain.
func TestLargeAppend(t *testing.T) {
	s := openTemp(t)
	ctx := ctxT(t)
	evs := make([]eventstore.EventData, 70)
	for i := range evs {
		evs[i] = ev("E", i)
	}
	res, err := s.Append(ctx, "big", eventstore.NoStream, evs...)
	if err != nil {
		t.Fatal(err)
	}
	if res.NextRevision != 69 {
		t.Fatalf("NextRevision = %d, want 69", res.NextRevision)
	}
	got, err := s.ReadStream(ctx, "big", 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("%d events read, want %d", len(got), len(evs))
	}
	for i, e := range got {
		if e.ID != evs[i].ID || e.Revision != uint64(i) || !bytes.Equal(e.Data, evs[i].Data) {
			t.Fatalf("event %d = %+v", i, e)
		}
	}
	if rep, err := eventstore.Verify(ctx, s, nil); err != nil || rep.Broken != nil {
		t.Fatalf("Verify: %+v %v", rep.Broken, err)
	}
	// The same append again is a re-append.
	if again, err := s.Append(ctx, "big", eventstore.NoStream, evs...); err != nil || again.NextRevision != res.NextRevision || again.Position != res.Position || again.Events != nil {
		t.Fatalf("re-append: %+v %v, want %+v", again, err, res)
	}
}

// TestChanges: a store vouches that a stream is unchanged since a mark
// until an append to it here, or any commit of another store on the file
// (another process: here a second Store, with its own mapping of the
// counter file), or another store opening it.
func TestChanges(t *testing.T) {
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "events.db")
	open := func() *sqlite.Store {
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	m := a.Mark()
	if m.IsZero() || !a.Unchanged("x", m) {
		t.Fatalf("mark %+v: not vouched for with nothing appended", m)
	}
	if a.Unchanged("x", eventstore.Mark{}) {
		t.Fatal("the zero mark vouched for")
	}
	first := ev("E", 0)
	r, err := a.Append(ctx, "x", eventstore.NoStream, first)
	if err != nil {
		t.Fatal(err)
	}
	if a.Unchanged("x", m) {
		t.Fatal(`"x" unchanged after an append to it`)
	}
	if !a.Unchanged("y", m) {
		t.Fatal(`"y" not vouched for after an append to "x" only`)
	}
	if r.Mark.IsZero() || !a.Unchanged("x", r.Mark) {
		t.Fatalf("the append's mark %+v not vouched for", r.Mark)
	}
	// Appends that write nothing change nothing and carry no mark.
	rep, err := a.Append(ctx, "x", eventstore.NoStream, first)
	if err != nil || !rep.Mark.IsZero() {
		t.Fatalf("re-append: %+v %v, want no mark", rep, err)
	}
	var wrong *eventstore.WrongExpectedVersionError
	if _, err := a.Append(ctx, "x", eventstore.NoStream, ev("E", 1)); !errors.As(err, &wrong) {
		t.Fatalf("append at a wrong revision: %v", err)
	}
	if !a.Unchanged("x", r.Mark) {
		t.Fatal(`"x" not vouched for after appends that wrote nothing`)
	}

	// Another store's commit: this one cannot tell which stream changed.
	m2 := a.Mark()
	if _, err := b.Append(ctx, "y", eventstore.NoStream, ev("E", 0)); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"x", "y"} {
		if a.Unchanged(stream, m2) || a.Unchanged(stream, r.Mark) {
			t.Fatalf("%q vouched for after another store's commit", stream)
		}
	}
	if !b.Unchanged("y", b.Mark()) {
		t.Fatal("a fresh mark of the other store not vouched for")
	}
	m3 := a.Mark()
	if !a.Unchanged("x", m3) {
		t.Fatal("a mark taken after the other store's commit not vouched for")
	}
	// A store opening the file raises the counter (an append whose process
	// died before counting it is seen when the process starts again).
	open()
	if a.Unchanged("x", m3) {
		t.Fatal("vouched for after another store opened the file")
	}
	m4 := a.Mark()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Unchanged("x", m4) || !a.Mark().IsZero() {
		t.Fatal("a closed store vouches")
	}
}

// TestCheckpointAfterSmallCommits: small commits wake the checkpointer by
// their number, long before their events reach the threshold (each still
// writes pages to the WAL).
func TestCheckpointAfterSmallCommits(t *testing.T) {
	ctx := ctxT(t)
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.WithCheckpointEvery(256*10))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 9 {
		if _, err := s.Append(ctx, "s", eventstore.Any, ev("E", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Stats().Checkpoints; got != 0 {
		t.Fatalf("after 9 commits of one event: %d checkpoints, want 0", got)
	}
	if _, err := s.Append(ctx, "s", eventstore.Any, ev("E", 9)); err != nil {
		t.Fatal(err)
	}
	// The checkpointer runs beside the writer: wait for it to report.
	for s.Stats().Checkpoints == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("no checkpoint after 10 commits (2,560 events per checkpoint, so 10 commits)")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestMetadataStoredOncePerAppend: the events of one append that share
// their metadata store it once (schema 4), and every read gives each event
// its own metadata back — forward, backward, starting in the middle of an
// append, one event at a time — with the hash chain intact; a reference
// that leads nowhere is reported, not guessed.
func TestMetadataStoredOncePerAppend(t *testing.T) {
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other := ev("E", 0).Metadata
	other.CommandID, other.Actor.ID = "otro", "v"
	var in []eventstore.EventData
	for i := range 7 {
		e := ev("E", i)
		if i == 3 {
			e.Metadata = other // a run of one between two runs of the first
		}
		in = append(in, e)
	}
	if _, err := s.Append(ctx, "before", eventstore.NoStream, ev("E", 99)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "m", eventstore.NoStream, in...); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := queryStrings(t, db, "SELECT typeof(metadata) || CASE WHEN typeof(metadata) = 'integer' THEN ':' || metadata ELSE '' END FROM events WHERE stream = 'm' ORDER BY seq")
	// Positions 2–8: whole at 2, 5 (the other metadata) and 6 (the first again).
	if got := strings.Join(stored, " "); got != "blob integer:2 integer:2 blob blob integer:6 integer:6" {
		t.Fatalf("stored metadata %s", got)
	}
	want := func(t *testing.T, evs []eventstore.Event) {
		t.Helper()
		for _, e := range evs {
			if e.Stream != "m" {
				continue
			}
			m := in[e.Revision].Metadata
			if e.Metadata != m {
				t.Errorf("revision %d: metadata %+v, want %+v", e.Revision, e.Metadata, m)
			}
		}
	}
	for _, from := range []uint64{0, 1, 2, 5, 6} {
		fwd, err := s.ReadStream(ctx, "m", from, eventstore.Forward, 0)
		if err != nil || len(fwd) != 7-int(from) {
			t.Fatalf("forward from %d: %d events, %v", from, len(fwd), err)
		}
		want(t, fwd)
		bwd, err := s.ReadStream(ctx, "m", from, eventstore.Backward, 0)
		if err != nil || len(bwd) != int(from)+1 {
			t.Fatalf("backward from %d: %d events, %v", from, len(bwd), err)
		}
		want(t, bwd)
	}
	for p := range uint64(8) {
		one, err := s.ReadAll(ctx, eventstore.Position{Commit: p, Prepare: p}, 1)
		if err != nil || len(one) != 1 {
			t.Fatalf("ReadAll after %d: %v", p, err)
		}
		want(t, one)
	}
	if rep, err := eventstore.Verify(ctx, s, nil); err != nil || rep.Broken != nil {
		t.Fatalf("Verify: %+v %v", rep.Broken, err)
	}
	// A reference to a later event, or to one that does not hold its
	// metadata whole, is a corrupt row.
	for _, bad := range []string{"UPDATE events SET metadata = 8 WHERE seq = 4", "UPDATE events SET metadata = 3 WHERE seq = 4"} {
		if _, err := db.Exec(bad); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadStream(ctx, "m", 2, eventstore.Forward, 1); err == nil {
			t.Errorf("%s: read without error", bad)
		} else if !errs.Is(errs.Internal, err) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// queryStrings returns the one text column of every row q selects.
func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
