// Package sqlite is the embedded event store: one SQLite file in WAL mode,
// whose WAL is synced before an append returns, so an acknowledged append is
// on disk.
//
// Appends are group committed: callers queue their appends, and one writer
// goroutine applies every append waiting in one transaction, checks each
// against its expected revision on its own and commits once; a second
// goroutine syncs the WAL (one fdatasync) and answers each caller, while
// the writer commits the next group (see Store.syncer). A provisional
// append (AppendProvisional: a case number's reservation) is answered at
// its commit and made durable by the next sync. Reads use a separate pool
// of connections, which WAL lets run beside the writer. Subscribers are
// woken in-process after each sync, and a poller of the head position sees
// appends made by other processes on the same file. The writer never
// checkpoints the WAL itself; a background goroutine does, on its own
// connection.
//
// Every event carries the hash of the previous event of its stream and its
// own (eventstore.ComputeHash), so eventstore.Verify detects a row edited in
// the file. Positions are the table's sequence numbers: 1, 2, 3, …
//
// Figures and how to measure them: docs/benchmarks.md, "Event store (SQLite)".
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"redengine/clock"
	"redengine/errs"
	"redengine/eventstore"
)

// DefaultCommitLinger is the writer's default wait for more appends before
// it commits a small group (see WithCommitLinger).
const DefaultCommitLinger = 250 * time.Microsecond

// Option configures Open.
type Option func(*config)

type config struct {
	clock           clock.Clock
	pollInterval    time.Duration
	readConns       int
	busyTimeout     time.Duration
	maxGroup        int
	fdatasync       bool
	checkpointEvery int
	linger          time.Duration
	observer        Observer
}

// WithClock sets the clock that stamps RecordedAt (default clock.System).
func WithClock(c clock.Clock) Option { return func(cf *config) { cf.clock = c } }

// WithPollInterval sets how often the head position is polled to see appends
// made by another process on the same file (default 200 ms; <= 0 disables
// polling, leaving only the in-process wake-up).
func WithPollInterval(d time.Duration) Option { return func(cf *config) { cf.pollInterval = d } }

// WithReadConns sets the size of the read connection pool (default 4).
func WithReadConns(n int) Option { return func(cf *config) { cf.readConns = n } }

// WithBusyTimeout sets how long a statement waits for a lock held by another
// process before failing with errs.Unavailable (default 5 s).
func WithBusyTimeout(d time.Duration) Option { return func(cf *config) { cf.busyTimeout = d } }

// WithMaxGroup bounds how many appends one commit may carry (default 1024).
func WithMaxGroup(n int) Option { return func(cf *config) { cf.maxGroup = n } }

// WithFdatasync makes commits sync with fdatasync(2) instead of fsync(2)
// (default true): SQLite's own syncs (checkpoints) and the store's sync of
// the WAL before it answers an append. fdatasync writes the data and the
// size of the file, which is all a WAL commit needs to survive a crash, and
// skips the timestamps; it is what SQLite's own Linux builds use. The setting of the modernc.org/sqlite
// driver is process-wide: Open turns it on, never off.
func WithFdatasync(on bool) Option { return func(cf *config) { cf.fdatasync = on } }

// WithCheckpointEvery sets after how many appended events the background
// checkpointer copies the WAL into the database file (default 65,536), or
// after 1/256 as many commits, whichever comes first (a commit of a few
// events still writes a few pages). The writer then copies the frames
// appended while that ran, which holds its appends up for a few
// milliseconds (two syncs): bulk appends of large events pause about once
// per 64 MB of WAL, small commits once per 256 (about as often as the
// 2,048 events of earlier releases under the load mix).
func WithCheckpointEvery(events int) Option { return func(cf *config) { cf.checkpointEvery = events } }

// WithCommitLinger sets how long the writer may wait for more appends before
// it commits a small group (default 250 µs; 0 turns waiting off). Each
// commit costs a sync of the WAL and the writing of the pages it touched, so
// when independent callers append a few events at a time (a server's
// commands), letting the next ones join saves syncs and CPU at the cost of
// up to this much latency. The writer waits only while waiting pays: after
// eight waits in a row that nobody joined (one caller appending in a loop,
// which cannot append again before its answer) it stops, and tries again
// once per 256 commits.
func WithCommitLinger(d time.Duration) Option { return func(cf *config) { cf.linger = max(0, d) } }

// Observer receives timings of the store's work, for metrics. Its
// functions, each optional, are called from the store's goroutines and must
// return quickly.
type Observer struct {
	// Append is called for each append answered with success, from the
	// appending goroutine once it has its answer.
	Append func(AppendTiming)
	// Checkpoint is called after each checkpoint the writer finishes
	// itself, with how long that held the writer (and so every append
	// queued meanwhile): see WithCheckpointEvery.
	Checkpoint func(held time.Duration)
}

// AppendTiming is where one append's time went, from its call to its
// answer. The stages add up to the wait inside the store (the checks
// before queueing aside).
type AppendTiming struct {
	// Queued is from the append's queueing to the start of the commit that
	// holds it: the writer busy with earlier groups (or a checkpoint), the
	// wait for more appends to join (WithCommitLinger), the goroutine
	// waiting for a core.
	Queued time.Duration
	// Committing is the commit of its group: the inserts, the transaction,
	// the WAL written (not synced).
	Committing time.Duration
	// SyncQueued is from the end of that commit to the start of the sync
	// that covers it: the sync in flight, the syncer waiting for a core.
	SyncQueued time.Duration
	// Syncing is that fdatasync of the WAL: the disk.
	Syncing time.Duration
	// Waking is from the end of that sync to the caller running again: the
	// syncer answering the groups it covered, then the caller waiting for
	// a core. A provisional append (AppendProvisional) is answered at its
	// commit: it has no sync, and its Waking is from the commit.
	Waking      time.Duration
	Provisional bool
}

// WithObserver sets functions that receive the timings of appends and of
// the writer's checkpoints (default none).
func WithObserver(o Observer) Option { return func(cf *config) { cf.observer = o } }

// Stats counts the work of a store since Open.
type Stats struct {
	Commits     uint64 // transactions committed by the writer
	Appends     uint64 // appends answered with success (re-appends included)
	Events      uint64 // events written
	Checkpoints uint64 // background WAL checkpoints run
	Lingers     uint64 // waits for more appends before committing a small group (WithCommitLinger)
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Commits:     s.stats.commits.Load(),
		Appends:     s.stats.appends.Load(),
		Events:      s.stats.events.Load(),
		Checkpoints: s.stats.checkpoints.Load(),
		Lingers:     s.stats.lingers.Load(),
	}
}

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	cfg   config
	path  string
	wdb   *sql.DB // one connection, used only by the writer goroutine
	rdb   *sql.DB // read pool
	w     *writer
	reads readPool // short reads: through the page cache, no mmap
	bulk  readPool // reads of many events: mmap (see withBulkReader)

	mu     sync.RWMutex // guards closed against queue sends
	closed bool
	queue  chan *appendReq
	// inflight counts appends between entering the queue and being
	// answered, so the writer can tell whether more are about to arrive.
	inflight atomic.Int64

	notifyMu sync.Mutex
	notify   chan struct{} // closed and replaced when the head moves
	head     atomic.Uint64 // last position known to this process

	done       chan struct{} // closed by Close
	writerDone chan struct{}
	pollerDone chan struct{}
	closeOnce  sync.Once

	cdb    *sql.DB       // the checkpointer's connection
	cpWake chan struct{} // the writer asks for a checkpoint
	// finishCheckpoint asks the writer to checkpoint the rest of the WAL.
	finishCheckpoint atomic.Bool
	cpDone           chan struct{}
	stats            struct{ commits, appends, events, checkpoints, lingers atomic.Uint64 }
	// subscribers counts the open subscriptions: with none, nobody reads
	// the tail, and bulk appends are not copied into it.
	subscribers atomic.Int64
	// syncq takes committed groups to the syncer, which makes them durable
	// and answers them (see syncer).
	syncq    chan *syncBatch
	syncDone chan struct{}
	wal      *os.File // the WAL file, synced by syncWAL
	// failed holds the error of a failed WAL sync: appends are refused.
	failed atomic.Pointer[error]
	// committed is the last position this process's writer committed
	// (synced or not).
	committed atomic.Uint64
	// fdatasync syncs the WAL file (a test may fail it).
	fdatasync func(*os.File) error
	changes   *changes // which streams changed since a mark (Mark, Unchanged)
	// tail keeps the latest synced events for reads that follow the log.
	tail tail
}

var _ eventstore.Store = (*Store)(nil)

// The bulk read pool: two connections (a long read splits over two) with
// the file mapped in memory.
const (
	bulkReaders = 2
	bulkMmap    = 256 << 20
)

// schemaVersion is the layout of the events table, kept in PRAGMA
// user_version.
//
// Version 2 made an event ID unique within its stream (as in EventStoreDB)
// instead of across the whole log: the IDs the engine writes derive from a
// command ID and the stream (commands.EventID), so IDs of different streams
// never meet, and a log-wide index on random IDs cost every append a write
// to a random B-tree page (half the WAL written by a bulk import).
//
// Version 3 numbers the streams in the order they were created (table
// streams) and keys the two per-stream indexes by that number instead of
// the name. Stream names are mostly random (case-<uuid>), so with the name
// as key each appended event wrote a random leaf page of both indexes —
// under the load mix ~50 of the ~67 pages a commit wrote to the WAL. Keyed
// by creation order, the streams that are written to (new ones, recent
// cases) share the last few pages of each index; the name index of streams
// is written once per new stream. The events keep their stream's name (a
// read of the log needs it, and so does anyone reading the file with
// sqlite3).
//
// Version 4 stores the metadata of an append once: the events of one append
// almost always share it (a FIE import's chunk: 500 events, the same 251
// bytes of JSON each), so an event whose metadata equals the previous
// event's holds, in the metadata column, the position (seq) of the event of
// its append that has it whole — an INTEGER where the JSON would be, so
// version 3 files need no rewrite, only the new version number, which keeps
// older programs (that would misread the references) out.
const schemaVersion = 4

const schema = `
CREATE TABLE IF NOT EXISTS streams (
	no   INTEGER PRIMARY KEY,
	name TEXT    NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS events (
	seq            INTEGER PRIMARY KEY,
	stream         TEXT    NOT NULL,
	stream_no      INTEGER NOT NULL,
	revision       INTEGER NOT NULL,
	id             BLOB    NOT NULL,
	type           TEXT    NOT NULL,
	schema_version INTEGER NOT NULL,
	data           BLOB    NOT NULL,
	metadata       BLOB    NOT NULL,
	recorded_at    INTEGER NOT NULL,
	prev_hash      BLOB,
	hash           BLOB    NOT NULL,
	UNIQUE (stream_no, revision),
	UNIQUE (stream_no, id)
);
`

// migrateOld moves a version-1 or -2 events table (keyed by stream name) to
// the current layout, rows and positions unchanged, in one transaction:
// streams are numbered in the order of their first event.
const migrateOld = `
ALTER TABLE events RENAME TO events_old;
` + schema + `
INSERT INTO streams (name) SELECT stream FROM events_old GROUP BY stream ORDER BY MIN(seq);
INSERT INTO events SELECT e.seq, e.stream, s.no, e.revision, e.id, e.type, e.schema_version, e.data, e.metadata,
	e.recorded_at, e.prev_hash, e.hash FROM events_old e JOIN streams s ON s.name = e.stream ORDER BY e.seq;
DROP TABLE events_old;
`

// Open opens (creating if needed) the event store in the SQLite file at
// path.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	const op = errs.Op("sqlite.Open")
	cfg := config{
		clock:           clock.System{},
		pollInterval:    200 * time.Millisecond,
		readConns:       4,
		busyTimeout:     5 * time.Second,
		maxGroup:        1024,
		fdatasync:       true,
		checkpointEvery: 1 << 16,
		linger:          DefaultCommitLinger,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.readConns < 1 {
		cfg.readConns = 1
	}
	if cfg.maxGroup < 1 {
		cfg.maxGroup = 1
	}
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, errs.E(op, errs.Invalid, "ruta del almacén de eventos no válida: "+path)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "cache_size(-16384)")
	q.Add("_pragma", "mmap_size(0)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Add("_pragma", "journal_size_limit(67108864)")
	wdb, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)

	rq := url.Values{}
	rq.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds()))
	rq.Add("_pragma", "query_only(1)")
	rq.Add("_pragma", "cache_size(-8192)")
	rq.Add("_pragma", "mmap_size(0)") // bulk readers turn it on (withBulkReader)
	rdb, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		wdb.Close()
		return nil, errs.E(op, errs.Internal, err)
	}
	// The pool's readers hold readConns connections; one more serves Head
	// and the poller.
	rdb.SetMaxOpenConns(cfg.readConns + bulkReaders + 1)
	rdb.SetMaxIdleConns(cfg.readConns + bulkReaders + 1)
	rdb.SetConnMaxLifetime(0)
	rdb.SetConnMaxIdleTime(0)

	if cfg.fdatasync {
		_, _ = sqlite.Fdatasync(true) // not available on every OS: fsync stays
	}
	cq := url.Values{}
	cq.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds()))
	cq.Add("_pragma", "journal_size_limit(67108864)")
	cdb, err := sql.Open("sqlite", path+"?"+cq.Encode())
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, errs.E(op, errs.Internal, err)
	}
	cdb.SetMaxOpenConns(1)
	cdb.SetMaxIdleConns(1)
	cdb.SetConnMaxLifetime(0)
	cdb.SetConnMaxIdleTime(0)

	s := &Store{
		cfg:        cfg,
		path:       path,
		wdb:        wdb,
		rdb:        rdb,
		queue:      make(chan *appendReq, 4096),
		notify:     make(chan struct{}),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		pollerDone: make(chan struct{}),
		cdb:        cdb,
		cpWake:     make(chan struct{}, 1),
		cpDone:     make(chan struct{}),
		syncq:      make(chan *syncBatch, 1024),
		syncDone:   make(chan struct{}),
		fdatasync:  (*os.File).Sync,
		changes:    openChanges(path + "-changes"),
	}
	fail := func(err error) (*Store, error) {
		s.changes.close()
		if s.w != nil {
			s.w.close()
		}
		s.reads.close()
		s.bulk.close()
		rdb.Close()
		wdb.Close()
		cdb.Close()
		return nil, dbErr(op, err)
	}
	if err := migrate(ctx, wdb); err != nil {
		return fail(err)
	}
	if s.w, err = newWriter(ctx, s); err != nil {
		return fail(err)
	}
	if err := s.reads.open(ctx, rdb, cfg.readConns, 0); err != nil {
		return fail(err)
	}
	if err := s.bulk.open(ctx, rdb, bulkReaders, bulkMmap); err != nil {
		return fail(err)
	}
	head, err := s.readHead(ctx)
	if err != nil {
		return fail(err)
	}
	s.head.Store(head)
	if cfg.fdatasync {
		s.fdatasync = fdatasync
	}
	// The WAL exists once a connection has opened the file in WAL mode, and
	// stays while this store has connections on it.
	if s.wal, err = os.OpenFile(path+"-wal", os.O_RDWR, 0); err != nil {
		return fail(err)
	}
	go s.w.loop()
	go s.syncer()
	go s.poll()
	go s.checkpointer()
	return s, nil
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// Close stops accepting appends, lets the writer finish those already
// queued, ends subscriptions and closes the file. It is safe to call more
// than once.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
		<-s.writerDone
		<-s.syncDone
		s.wal.Close()
		close(s.done)
		<-s.pollerDone
		<-s.cpDone
		s.w.close()
		s.reads.close()
		s.bulk.close()
		err = errors.Join(s.rdb.Close(), s.wdb.Close(), s.cdb.Close(), s.changes.close())
		if err != nil {
			err = dbErr("sqlite.Close", err)
		}
	})
	return err
}

// Head returns the position of the last event of the log.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if s.isClosed() {
		return eventstore.Position{}, errClosed("sqlite.Head")
	}
	h, err := s.readHead(ctx)
	if err != nil {
		return eventstore.Position{}, dbErr("sqlite.Head", err)
	}
	return pos(h), nil
}

func (s *Store) readHead(ctx context.Context) (uint64, error) {
	var h int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&h); err != nil {
		return 0, err
	}
	return uint64(h), nil
}

func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// waitChan returns a channel closed the next time the head moves.
func (s *Store) waitChan() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notify
}

// advance records a new head and wakes every waiting subscriber.
func (s *Store) advance(head uint64) {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if head <= s.head.Load() {
		return
	}
	s.head.Store(head)
	close(s.notify)
	s.notify = make(chan struct{})
}

// poll watches the head for appends made by other processes.
func (s *Store) poll() {
	defer close(s.pollerDone)
	if s.cfg.pollInterval <= 0 {
		<-s.done
		return
	}
	t := time.NewTicker(s.cfg.pollInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.busyTimeout)
		h, err := s.readHead(ctx)
		cancel()
		// A head no further than this process's last commit is its own,
		// and the syncer advances to it once it is on disk.
		if err == nil && h > s.committed.Load() {
			s.advance(h)
		}
	}
}

// checkpointer copies the WAL into the database file when the writer asks,
// on its own connection, so that appends do not wait for the bulk of it. A
// PASSIVE checkpoint runs beside the writer and readers. The WAL can only
// start over from the beginning once it is wholly copied at the moment the
// writer begins a transaction, which a checkpoint running beside a busy
// writer never achieves; so the writer then copies the few frames left
// itself (see writer.finishCheckpoint).
func (s *Store) checkpointer() {
	defer close(s.cpDone)
	for {
		select {
		case <-s.done:
			return
		case <-s.cpWake:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var busy, log, done int64
		err := s.cdb.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
		cancel()
		if err == nil {
			s.stats.checkpoints.Add(1)
			// The writer finishes the job between two groups: only it can
			// copy the frames appended meanwhile with none arriving, which
			// lets its next transaction start the WAL over instead of
			// growing it.
			s.finishCheckpoint.Store(true)
		}
	}
}

func pos(seq uint64) eventstore.Position { return eventstore.Position{Commit: seq, Prepare: seq} }

func errClosed(op errs.Op) error {
	return errs.E(op, errs.Unavailable, "el almacén de eventos está cerrado")
}

// dbErr classifies an error of the database: a busy or locked file, a full
// or failing disk are errs.Unavailable (retry later); a cancelled context
// keeps its cause; anything else is errs.Internal.
func dbErr(op errs.Op, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*errs.Error](err); ok {
		return errs.E(op, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errs.E(op, errs.Unavailable, "operación cancelada", err)
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errs.E(op, errs.Unavailable, "la base de datos de eventos está bloqueada", err)
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_NOMEM:
			return errs.E(op, errs.Unavailable, "no se puede escribir o leer el disco del almacén de eventos", err)
		}
	}
	return errs.E(op, errs.Internal, err)
}

// storageFailure reports whether err is a failure of the database as a
// whole (locked, disk, memory), not of one statement's data.
func storageFailure(err error) bool {
	se, ok := errors.AsType[*sqlite.Error](err)
	if !ok {
		return true
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE:
		return false
	}
	return true
}

func isUniqueViolation(err error) bool {
	se, ok := errors.AsType[*sqlite.Error](err)
	if !ok {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || c&0xff == sqlite3.SQLITE_CONSTRAINT
}

// migrate creates the events table, or brings an older one to
// schemaVersion, under the write lock so that two processes opening the
// file at once do it once. A file written by a newer version is refused.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version == schemaVersion {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	var tables int
	err = conn.QueryRowContext(ctx, "SELECT (SELECT user_version FROM pragma_user_version), count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'").Scan(&version, &tables)
	if err != nil {
		return err
	}
	var stmts string
	switch {
	case version == schemaVersion:
		stmts = "" // another process migrated it meanwhile
	case version > schemaVersion:
		return errs.E(errs.Precondition, fmt.Sprintf("el almacén tiene el esquema %d, más nuevo que el de este programa (%d)", version, schemaVersion))
	case tables == 0:
		stmts = schema
	case version == 3:
		stmts = ";" // version 4 reads version 3 rows as they are
	default:
		stmts = migrateOld
	}
	if stmts != "" {
		if _, err := conn.ExecContext(ctx, stmts+fmt.Sprintf(";PRAGMA user_version = %d;", schemaVersion)); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}
