package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"modernc.org/sqlite"

	"redengine/errs"
	"redengine/eventstore"
)

// appendReq is one caller's append, queued for the writer.
type appendReq struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	metas    [][]byte // canonical metadata of each event, computed by the caller
	done     chan struct{}
	// provisional: answered at the commit, before the sync
	// (AppendProvisional).
	provisional bool

	// Set by the writer.
	res        eventstore.AppendResult
	err        error
	checkFirst bool               // an insert hit a unique constraint: check for a re-append first
	written    bool               // the events were inserted (not a re-append)
	firstRev   uint64             // revision of the first event written
	firstSeq   uint64             // position of the first event written
	recorded   int64              // RecordedAt, Unix nanoseconds
	prevHash   []byte             // hash of the event before the first one
	hashes     [][]byte           // hash of each event written (for recordedEvents)
	answered   bool               // a provisional append answered at its commit
	early      []eventstore.Event // its recorded events, for the tail once synced

	// With an Observer.Append: when the append was queued, and when the
	// commit that holds it started and ended.
	queued, committing, committed time.Time
	// the sync that covered it (set by the syncer when timings are observed)
	syncStart, syncEnd time.Time
}

// maxReturnedEvents bounds the appends whose recorded events Append
// returns: a command appends a few; a bulk import's chunks of hundreds
// would only be built to be dropped.
const maxReturnedEvents = 64

// recordedEvents are the events r wrote, as a read returns them.
func (r *appendReq) recordedEvents() []eventstore.Event {
	out := make([]eventstore.Event, len(r.events))
	at := time.Unix(0, r.recorded).UTC()
	prev := r.prevHash
	var meta eventstore.Metadata
	for i := range r.events {
		e := &r.events[i]
		if i == 0 || e.Metadata != r.events[i-1].Metadata {
			meta = e.Metadata
			meta.OccurredAt = meta.OccurredAt.UTC()
		}
		out[i] = eventstore.Event{ID: e.ID, Stream: r.stream, Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data,
			Metadata: meta, Revision: r.firstRev + uint64(i), Position: pos(r.firstSeq + uint64(i)), RecordedAt: at,
			Hash: r.hashes[i], PrevHash: prev}
		prev = r.hashes[i]
	}
	return out
}

// Append writes events to stream if expected holds. See eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	return s.append(ctx, errs.Op("sqlite.Append"), stream, expected, events, false)
}

// AppendProvisional is Append answered at the commit of the group that
// holds it, before the WAL is synced. See eventstore.Provisional: the sync
// of that group, which any later append waits for, makes it durable.
func (s *Store) AppendProvisional(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	return s.append(ctx, errs.Op("sqlite.AppendProvisional"), stream, expected, events, true)
}

func (s *Store) append(ctx context.Context, op errs.Op, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData, provisional bool) (eventstore.AppendResult, error) {
	// Counted from the start, so the writer knows this append is coming.
	s.inflight.Add(1)
	r, err := s.enqueue(ctx, stream, expected, events, provisional)
	if err != nil {
		s.inflight.Add(-1)
		return eventstore.AppendResult{}, errs.E(op, err)
	}
	// Once queued, wait for the answer even if ctx ends: the writer skips a
	// request whose context has ended, so an answer always says what happened.
	// A small append's result carries its recorded events (answerSynced
	// built them, once, for the tail and for this caller).
	<-r.done
	if f := s.cfg.observer.Append; f != nil && r.err == nil && !r.committed.IsZero() {
		t := AppendTiming{Queued: r.committing.Sub(r.queued), Committing: r.committed.Sub(r.committing),
			Provisional: r.provisional}
		if r.provisional || r.syncStart.IsZero() {
			t.Waking = time.Since(r.committed)
		} else {
			t.SyncQueued, t.Syncing, t.Waking = r.syncStart.Sub(r.committed), r.syncEnd.Sub(r.syncStart), time.Since(r.syncEnd)
		}
		f(t)
	}
	return r.res, r.err
}

// enqueue validates an append, prepares what can be computed outside the
// writer and queues it.
func (s *Store) enqueue(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData, provisional bool) (*appendReq, error) {
	// The events' canonical metadata, encoded once by the check (those of
	// one append usually share it).
	metas, err := eventstore.CheckAppend(stream, events)
	if err != nil {
		return nil, err
	}
	if err := s.failed.Load(); err != nil {
		return nil, errs.E(errs.Unavailable, "el almacén dejó de aceptar escrituras tras un fallo al asegurar en disco", *err)
	}
	r := &appendReq{ctx: ctx, stream: stream, expected: expected, events: events, metas: metas, done: make(chan struct{}), provisional: provisional}
	if s.cfg.observer.Append != nil {
		r.queued = time.Now()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed("sqlite.Append")
	}
	select {
	case s.queue <- r:
		return r, nil
	case <-ctx.Done():
		return nil, dbErr("sqlite.Append", ctx.Err())
	}
}

// head is the last revision of a stream and its hash; rev -1: no stream
// (and no number yet). no is the stream's number (table streams).
type head struct {
	rev  int64
	hash []byte
	no   int64
}

// maxCachedStreams bounds the writer's cache of stream heads.
const maxCachedStreams = 1 << 16

// Bounds of one group commit.
const (
	maxGroupEvents = 8192 // events
	maxYields      = 4    // times the writer yields to let callers join a group
	bulkGroup      = 256  // events from which a group commits without lingering
)

// writer owns the write connection. Only its goroutine touches it.
type writer struct {
	s               *Store
	conn            *sql.Conn
	ins             *sql.Stmt
	insMany         *sql.Stmt // insertRows rows at once
	head            *sql.Stmt
	byID            *sql.Stmt
	ids             *sql.Stmt
	newStream       *sql.Stmt
	max             *sql.Stmt
	seq             uint64          // last position written (committed or in the open transaction)
	seqStart        uint64          // w.seq when the open transaction began
	version         uint32          // the file's data version after this writer's last commit (see apply)
	versionOK       bool            // version is known and w.seq and w.heads were current at it
	sinceCheckpoint int             // events committed since the checkpointer was last woken
	commitsSince    int             // and commits
	lingerMisses    int             // waits for more appends in a row that nobody joined
	sinceProbe      int             // commits since the last wait while waiting was off
	timer           *time.Timer     // the wait's timer, reused
	heads           map[string]head // committed heads of streams
	over            map[string]head // heads changed by the open transaction
	group           []*appendReq
	args            []any    // the insert's arguments, reused
	streams         []string // the streams a commit appended to, reused
}

// insertRows is how many events one multi-row INSERT writes.
const insertRows = 32

// insertSQL is an INSERT of rows events.
func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (seq, stream, stream_no, revision, id, type, schema_version, data, metadata, recorded_at, prev_hash, hash) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

func newWriter(ctx context.Context, s *Store) (*writer, error) {
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{s: s, conn: conn, heads: make(map[string]head), over: make(map[string]head)}
	// The writer's commits write the WAL without syncing it; the store
	// syncs it before anyone is answered (see Store.syncer).
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
		conn.Close()
		return nil, err
	}
	prep := func(dst **sql.Stmt, q string) {
		if err == nil {
			*dst, err = conn.PrepareContext(ctx, q)
		}
	}
	prep(&w.ins, insertSQL(1))
	prep(&w.insMany, insertSQL(insertRows))
	prep(&w.head, `SELECT stream_no, revision, hash FROM events WHERE `+byStream+` ORDER BY revision DESC LIMIT 1`)
	prep(&w.byID, `SELECT revision FROM events WHERE stream_no = ? AND id = ?`)
	prep(&w.ids, `SELECT seq, id FROM events WHERE stream_no = ? AND revision >= ? AND revision <= ? ORDER BY revision`)
	prep(&w.newStream, `INSERT INTO streams (name) VALUES (?)`)
	prep(&w.max, `SELECT COALESCE(MAX(seq), 0) FROM events`)
	if err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *writer) close() {
	for _, st := range []*sql.Stmt{w.ins, w.insMany, w.head, w.byID, w.ids, w.max, w.newStream} {
		if st != nil {
			st.Close()
		}
	}
	if w.conn != nil {
		w.conn.Close()
	}
}

// loop takes queued appends and commits them in groups until the queue is
// closed and drained.
func (w *writer) loop() {
	defer close(w.s.writerDone)
	defer close(w.s.syncq)
	q := w.s.queue
	for {
		r, ok := <-q
		if !ok {
			return
		}
		w.group = append(w.group[:0], r)
		n := len(r.events)
		for yields := 0; ; yields++ {
			before := len(w.group)
			n = w.drain(q, n)
			// Callers that entered Append but are not queued yet are a
			// few instructions away: let them run once or twice so that
			// they share this commit instead of waiting for the next.
			if yields == maxYields || len(w.group) >= int(w.s.inflight.Load()) ||
				(yields > 0 && len(w.group) == before) || len(w.group) >= w.s.cfg.maxGroup {
				break
			}
			runtime.Gosched()
		}
		if n < bulkGroup && w.room(n) {
			w.linger(q, n)
		}
		w.commitGroup(w.group)
		clear(w.group)
		if w.s.finishCheckpoint.Swap(false) {
			if f := w.s.cfg.observer.Checkpoint; f != nil {
				t0 := time.Now()
				w.finishCheckpoint()
				f(time.Since(t0))
			} else {
				w.finishCheckpoint()
			}
		}
		// Callers answered meanwhile (by the syncer, or provisionally at
		// this commit) often append again at once: let them run before
		// the next group is taken, so they can join it.
		runtime.Gosched()
	}
}

// Bounds of the wait for more appends (see WithCommitLinger).
const (
	lingerMaxMisses = 8   // fruitless waits in a row before waiting stops
	lingerProbe     = 256 // commits between two tries while it is stopped (under 1 % of a lone caller's appends)
)

// linger waits up to the configured time for more appends to join a small
// group of n events, while such waits pay.
func (w *writer) linger(q chan *appendReq, n int) {
	d := w.s.cfg.linger
	if d <= 0 {
		return
	}
	if w.lingerMisses >= lingerMaxMisses {
		if w.sinceProbe++; w.sinceProbe < lingerProbe {
			return
		}
		w.sinceProbe = 0
	}
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	defer w.timer.Stop()
	w.s.stats.lingers.Add(1)
	before := len(w.group)
	for n < bulkGroup && w.room(n) {
		select {
		case r, ok := <-q:
			if !ok {
				return
			}
			n = w.add(r, n)
		case <-w.timer.C:
			if len(w.group) > before {
				w.lingerMisses = 0
			} else {
				w.lingerMisses++
			}
			return
		}
	}
	w.lingerMisses = 0
}

// room reports whether a group of n events may take another append.
func (w *writer) room(n int) bool { return len(w.group) < w.s.cfg.maxGroup && n < maxGroupEvents }

// add puts r in the group of n events and returns the group's events.
func (w *writer) add(r *appendReq, n int) int {
	w.group = append(w.group, r)
	return n + len(r.events)
}

// drain adds to the group the appends queued now, up to the group's bounds,
// and returns the group's events.
func (w *writer) drain(q chan *appendReq, n int) int {
	for w.room(n) {
		select {
		case r, ok := <-q:
			if !ok {
				return n
			}
			n = w.add(r, n)
		default:
			return n
		}
	}
	return n
}

// commitGroup applies a group of appends in one transaction, has it synced
// (by itself or by the syncer) and answers each caller.
func (w *writer) commitGroup(group []*appendReq) {
	const op = errs.Op("sqlite.Append")
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = dbErr(op, err)
			w.answer(r)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	timed := w.s.cfg.observer.Append != nil
	if timed {
		now := time.Now()
		for _, r := range live {
			r.committing = now
		}
	}
	ctx := context.Background()
	var seqBefore uint64
	for {
		failed, err := w.apply(ctx, live)
		seqBefore = w.seqStart
		if err == nil {
			break
		}
		w.rollback(ctx)
		if failed >= 0 && isUniqueViolation(err) && !live[failed].checkFirst {
			// Another append already used one of its event IDs: retry the
			// group with that append checked for a re-append first.
			live[failed].checkFirst = true
			continue
		}
		if failed >= 0 && !storageFailure(err) {
			// A fault of this append alone: answer it and retry the
			// group without it.
			r := live[failed]
			r.res, r.err = eventstore.AppendResult{}, dbErr(op, err)
			w.answer(r)
			live = append(live[:failed:failed], live[failed+1:]...)
			if len(live) == 0 {
				return
			}
			continue
		}
		// The transaction is gone: nobody's append was written.
		clear(w.heads)
		w.seq, w.versionOK = 0, false
		for _, r := range live {
			r.res, r.err = eventstore.AppendResult{}, dbErr(op, err)
			w.answer(r)
		}
		return
	}
	_, err := w.conn.ExecContext(ctx, "COMMIT")
	// Counted before any answer, committed or not (a failed COMMIT may
	// still have reached the file): see changes.
	w.streams = w.streams[:0]
	for _, r := range live {
		if r.written {
			w.streams = append(w.streams, r.stream)
		}
	}
	mark := w.s.changes.committed(w.streams)
	clear(w.streams)
	if err != nil {
		w.rollback(ctx)
		clear(w.heads)
		w.seq, w.versionOK = 0, false
		for _, r := range live {
			r.res, r.err = eventstore.AppendResult{}, dbErr(op, err)
			w.answer(r)
		}
		return
	}
	w.version, w.versionOK = w.dataVersion()
	if len(w.heads)+len(w.over) > maxCachedStreams {
		clear(w.heads)
	}
	for k, v := range w.over {
		w.heads[k] = v
	}
	clear(w.over)
	events := int(w.seq - seqBefore)
	w.s.committed.Store(w.seq)
	if timed {
		now := time.Now()
		for _, r := range live {
			r.committed = now
		}
	}
	for _, r := range live {
		if r.provisional && r.err == nil {
			// Answered now; its events reach the tail (and subscribers)
			// once synced, from early: the caller owns r.res from here.
			if r.written {
				r.res.Mark = mark
				if len(r.events) <= maxReturnedEvents {
					r.early = r.recordedEvents()
					r.res.Events = r.early
				}
			}
			r.answered = true
			close(r.done)
		}
	}
	b := &syncBatch{reqs: live, seq: w.seq, events: events, mark: mark}
	w.s.inflight.Add(-int64(len(live)))
	// The syncer answers the group once an fdatasync of the WAL covers
	// it; meanwhile this goroutine commits the next group instead of
	// waiting for the disk (see Store.syncer), so an append waits for the
	// sync in flight and its own, not for a whole cycle of linger, commit
	// and sync before its own. live is this commit's own slice, so the
	// syncer may keep it.
	w.s.syncq <- b
	w.sinceCheckpoint += events
	if w.commitsSince++; w.sinceCheckpoint >= w.s.cfg.checkpointEvery || w.commitsSince >= max(1, w.s.cfg.checkpointEvery/256) {
		w.sinceCheckpoint, w.commitsSince = 0, 0
		select {
		case w.s.cpWake <- struct{}{}:
		default:
		}
	}
}

// finishCheckpoint copies into the database file the WAL frames written
// since the background checkpoint, with no transaction open, so that the
// next transaction starts the WAL over. A failure only leaves the WAL longer
// until the next time.
func (w *writer) finishCheckpoint() {
	var busy, log, done int64
	_ = w.conn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
}

// dataVersion reads SQLite's data version of the events file on the
// writer's connection (SQLITE_FCNTL_DATA_VERSION): it changes whenever the
// file's content does, by this connection's commits or another's seen at
// the start of a transaction. ok is false if it cannot be read.
func (w *writer) dataVersion() (v uint32, ok bool) {
	err := w.conn.Raw(func(dc any) error {
		fc, isFC := dc.(sqlite.FileControl)
		if !isFC {
			return errors.ErrUnsupported
		}
		var err error
		v, err = fc.FileControlDataVersion("main")
		return err
	})
	return v, err == nil
}

// answer wakes the caller of r, whose append wrote nothing.
func (w *writer) answer(r *appendReq) {
	w.s.inflight.Add(-1)
	close(r.done)
}

// syncBatch is a committed group waiting for the WAL to be synced.
type syncBatch struct {
	reqs   []*appendReq
	seq    uint64          // last position the group wrote
	events int             // events it wrote
	mark   eventstore.Mark // the change counter after its commit
}

// syncer makes committed groups durable and answers them. The writer
// commits with synchronous=NORMAL (SQLite writes the WAL frames and does
// not sync them), hands each group here and commits the next while the
// disk syncs this one. One fdatasync of the WAL covers every group
// committed before it began, so the groups committed while a sync runs
// share the next. A provisional append (AppendProvisional) was answered
// at its commit; everything else waits: nobody is answered, and no
// subscriber woken, before a sync that covers the append returns: an acknowledged
// append is on disk. A failed sync fails the groups it was to cover and
// stops the store's appends, since what the disk holds is then unknown
// (an fsync error is not retried; docs/reliability.md).
func (s *Store) syncer() {
	defer close(s.syncDone)
	var pending []*syncBatch
	for b := range s.syncq {
		pending = append(pending[:0], b)
	drain:
		for {
			select {
			case b, ok := <-s.syncq:
				if !ok {
					break drain
				}
				pending = append(pending, b)
			default:
				break drain
			}
		}
		timed := s.cfg.observer.Append != nil
		var start time.Time
		if timed {
			start = time.Now()
		}
		err := s.syncWAL()
		if timed {
			end := time.Now()
			for _, b := range pending {
				for _, r := range b.reqs {
					if !r.answered { // a provisional caller may be reading r already
						r.syncStart, r.syncEnd = start, end
					}
				}
			}
		}
		for _, b := range pending {
			s.answerSynced(b, err)
		}
		clear(pending)
	}
}

// syncWAL syncs the WAL file: every commit before the call is then on
// disk. After a failure it fails at once.
func (s *Store) syncWAL() *error {
	if err := s.failed.Load(); err != nil {
		return err
	}
	if err := s.fdatasync(s.wal); err != nil {
		s.failed.CompareAndSwap(nil, &err)
		return s.failed.Load()
	}
	return nil
}

// answerSynced answers a synced group (err nil), or fails its appends that
// were to succeed (a refusal keeps its own error: it wrote nothing).
func (s *Store) answerSynced(b *syncBatch, err *error) {
	const op = errs.Op("sqlite.Append")
	if err != nil {
		for _, r := range b.reqs {
			if r.answered {
				continue // the store now refuses appends: nothing depends on it durably
			}
			if r.err == nil {
				r.res, r.err = eventstore.AppendResult{}, errs.E(op, errs.Unavailable, "no se pudo asegurar en disco", *err)
			}
			close(r.done)
		}
		return
	}
	// Count before answering, so a caller that reads Stats after its
	// append returns sees it counted.
	s.stats.commits.Add(1)
	s.stats.events.Add(uint64(b.events))
	for _, r := range b.reqs {
		if r.err == nil {
			s.stats.appends.Add(1)
		}
	}
	// The tail gets the events before subscribers are woken; the appender
	// of a few gets the same envelopes (built once). A bulk append's are
	// built for the tail alone, here on the syncer's goroutine (a bulk
	// group is answered there, beside the writer): the projections' shared
	// reader follows a file import from memory. With no subscription open
	// (a command-line import) nobody would read them.
	following := s.subscribers.Load() > 0
	for _, r := range b.reqs {
		if !r.written || r.err != nil {
			continue
		}
		if r.answered {
			if r.early == nil {
				s.tail.add(0, nil) // too many to have been built: the tail starts over
			} else {
				s.tail.add(r.firstSeq, r.early)
			}
			continue
		}
		if len(r.events) > maxReturnedEvents && !following {
			s.tail.add(0, nil)
			continue
		}
		evs := r.recordedEvents()
		if len(r.events) <= maxReturnedEvents {
			r.res.Events = evs
		}
		s.tail.add(r.firstSeq, evs)
	}
	s.advance(b.seq)
	for _, r := range b.reqs {
		if r.answered {
			continue
		}
		if r.written && r.err == nil {
			// Only an append that wrote its events leaves the stream's head
			// where its result says (a re-append's may be further on).
			r.res.Mark = b.mark
		}
		close(r.done)
	}
}

func (w *writer) rollback(ctx context.Context) {
	clear(w.over)
	// ROLLBACK fails harmlessly when no transaction is open.
	_, _ = w.conn.ExecContext(ctx, "ROLLBACK")
}

// apply runs the group inside an open transaction. On a statement error it
// returns the index of the append that failed (-1 if none) and the error;
// the caller rolls back.
func (w *writer) apply(ctx context.Context, group []*appendReq) (int, error) {
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return -1, err
	}
	// The file's data version moves when another connection (another
	// process's writer among them) has committed since this writer's last
	// commit; only then may the last position and the cached heads be
	// stale, and the log's end is read again.
	if v, ok := w.dataVersion(); !ok || !w.versionOK || v != w.version {
		var maxSeq int64
		if err := w.max.QueryRowContext(ctx).Scan(&maxSeq); err != nil {
			return -1, err
		}
		if uint64(maxSeq) != w.seq {
			// Another process wrote (or this is the first group): the
			// cached heads may be stale.
			clear(w.heads)
			w.seq = uint64(maxSeq)
		}
	}
	startSeq := w.seq // on failure the caller rolls back: forget this attempt
	w.seqStart = startSeq
	recorded := w.s.cfg.clock.Now().UnixNano()
	args := w.args[:0]
	defer func() { clear(args); w.args = args[:0] }()
	for i, r := range group {
		r.res, r.err, r.written = eventstore.AppendResult{}, nil, false
		h, err := w.headOf(ctx, r.stream)
		if err != nil {
			w.seq = startSeq
			return i, err
		}
		if r.checkFirst || !r.expected.Matches(h.rev) {
			res, ok, err := w.reappend(ctx, r, h)
			if err != nil {
				w.seq = startSeq
				return i, err
			}
			switch {
			case ok:
				r.res = res
			case !r.expected.Matches(h.rev):
				r.err = &eventstore.WrongExpectedVersionError{Stream: r.stream, Expected: r.expected, Current: h.rev}
			default:
				r.err = errs.E(errs.Op("sqlite.Append"), errs.Conflict, "un identificador de evento ya está en el almacén")
			}
			continue
		}
		if h.rev < 0 {
			// A new stream gets the next number.
			res, err := w.newStream.ExecContext(ctx, r.stream)
			if err == nil {
				h.no, err = res.LastInsertId()
			}
			if err != nil {
				w.seq = startSeq
				return i, err
			}
		}
		prev := h.hash
		r.firstRev, r.firstSeq, r.recorded, r.prevHash = uint64(h.rev+1), w.seq+1, recorded, h.hash
		metaSeq := int64(0) // the event of this append whose metadata the next may share
		r.hashes = r.hashes[:0]
		for j := 0; j < len(r.events); {
			// Many events go insertRows at a time: one statement
			// execution instead of insertRows.
			st, rows := w.ins, 1
			if len(r.events)-j >= insertRows {
				st, rows = w.insMany, insertRows
			}
			args = args[:0]
			for k := j; k < j+rows; k++ {
				e := &r.events[k]
				rev := uint64(h.rev + 1 + int64(k))
				hash := eventstore.ComputeHash(prev, r.stream, rev, e.Type, e.SchemaVersion, e.Data, r.metas[k])
				w.seq++
				// Metadata equal to the previous event's is stored once,
				// the events after it naming its position (schema 4).
				var meta any = r.metas[k]
				if k > 0 && bytes.Equal(r.metas[k], r.metas[k-1]) {
					meta = metaSeq
				} else {
					metaSeq = int64(w.seq)
				}
				args = append(args, int64(w.seq), r.stream, h.no, int64(rev), e.ID[:], e.Type, e.SchemaVersion,
					[]byte(e.Data), meta, recorded, nullable(prev), hash)
				r.hashes = append(r.hashes, hash) // for recordedEvents
				prev = hash
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				w.seq = startSeq
				return i, err
			}
			j += rows
		}
		last := h.rev + int64(len(r.events))
		r.written = true
		w.over[r.stream] = head{rev: last, hash: prev, no: h.no}
		r.res = eventstore.AppendResult{NextRevision: uint64(last), Position: pos(w.seq)}
	}
	return -1, nil
}

func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// headOf returns the head of a stream as the open transaction sees it.
func (w *writer) headOf(ctx context.Context, stream string) (head, error) {
	if h, ok := w.over[stream]; ok {
		return h, nil
	}
	if h, ok := w.heads[stream]; ok {
		return h, nil
	}
	h := head{rev: -1}
	err := w.head.QueryRowContext(ctx, stream).Scan(&h.no, &h.rev, &h.hash)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	if err != nil {
		return head{}, err
	}
	w.heads[stream] = h
	return h, nil
}

// reappend reports whether r repeats an append already written: its event
// IDs stand, in order, in the stream right after the revision it expected
// (for Any and StreamExists: wherever its first event stands). If so it
// returns the original append's result.
func (w *writer) reappend(ctx context.Context, r *appendReq, h head) (eventstore.AppendResult, bool, error) {
	var start int64
	if r.expected.IsNoStream() {
		start = 0
	} else if rev, ok := r.expected.Revision(); ok {
		start = int64(rev) + 1
	} else {
		if h.rev < 0 {
			return eventstore.AppendResult{}, false, nil
		}
		err := w.byID.QueryRowContext(ctx, h.no, r.events[0].ID[:]).Scan(&start)
		if errors.Is(err, sql.ErrNoRows) {
			return eventstore.AppendResult{}, false, nil
		}
		if err != nil {
			return eventstore.AppendResult{}, false, err
		}
	}
	end := start + int64(len(r.events)) - 1
	if start < 0 || end > h.rev {
		return eventstore.AppendResult{}, false, nil
	}
	rows, err := w.ids.QueryContext(ctx, h.no, start, end)
	if err != nil {
		return eventstore.AppendResult{}, false, err
	}
	defer rows.Close()
	var seq int64
	i := 0
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&seq, &id); err != nil {
			return eventstore.AppendResult{}, false, err
		}
		if i >= len(r.events) || len(id) != 16 || uuid.UUID(id) != r.events[i].ID {
			return eventstore.AppendResult{}, false, rows.Close()
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return eventstore.AppendResult{}, false, err
	}
	if i != len(r.events) {
		return eventstore.AppendResult{}, false, nil
	}
	return eventstore.AppendResult{NextRevision: uint64(end), Position: pos(uint64(seq))}, true, nil
}
