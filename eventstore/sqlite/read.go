package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"

	"redengine/errs"
	"redengine/eventstore"
)

// columns are what a read selects. The ID and the hashes come in one blob
// (ID, hash, then the previous hash when there is one): every column costs a
// few calls into SQLite, more than the bytes themselves.
const columns = `seq, stream, revision, type, schema_version, data, metadata, recorded_at, ` +
	`CAST(id || hash || COALESCE(prev_hash, x'') AS BLOB)`

// streamColumns are the columns of a read of one stream, whose name the
// caller knows already.
const streamColumns = `seq, NULL, revision, type, schema_version, data, metadata, recorded_at, ` +
	`CAST(id || hash || COALESCE(prev_hash, x'') AS BLOB)`

// byStream selects the events of the stream named by the statement's first
// argument (schema 3: the indexes are keyed by the stream's number).
const byStream = `stream_no = (SELECT no FROM streams WHERE name = ?)`

// numColumns is how many columns a read selects.
const numColumns = 9

// reader is one connection of the read pool with its prepared statements.
// Reads go through the driver directly: database/sql's per-column scanning
// costs more than the rest of a read of small events.
type reader struct {
	conn                  *sql.Conn
	fwd, bwd, all, exists driver.Stmt
	// meta reads the metadata an event shares with an earlier one of its
	// append (schema 4), when a read did not meet that one first.
	meta driver.Stmt
	// Bounded ranges, for reads split over two connections.
	fwdRange, bwdRange, allRange, last driver.Stmt
}

// readPool hands out readers, one caller at a time each.
type readPool struct {
	all  []*reader
	idle chan *reader
}

func (rp *readPool) open(ctx context.Context, db *sql.DB, n int, mmap int64) error {
	rp.idle = make(chan *reader, n)
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA mmap_size=%d", mmap)); err != nil {
			c.Close()
			return err
		}
		r := &reader{conn: c}
		err = c.Raw(func(dc any) error {
			pc, ok := dc.(driver.ConnPrepareContext)
			if !ok {
				return errors.New("sqlite driver cannot prepare with a context")
			}
			var err error
			prep := func(dst *driver.Stmt, q string) {
				if err == nil {
					*dst, err = pc.PrepareContext(ctx, q)
				}
			}
			prep(&r.fwd, `SELECT `+streamColumns+` FROM events WHERE `+byStream+` AND revision >= ? ORDER BY revision LIMIT ?`)
			prep(&r.bwd, `SELECT `+streamColumns+` FROM events WHERE `+byStream+` AND revision <= ? ORDER BY revision DESC LIMIT ?`)
			prep(&r.all, `SELECT `+columns+` FROM events WHERE seq > ? ORDER BY seq LIMIT ?`)
			prep(&r.exists, `SELECT 1 FROM streams WHERE name = ?`)
			prep(&r.fwdRange, `SELECT `+streamColumns+` FROM events WHERE `+byStream+` AND revision >= ? AND revision <= ? ORDER BY revision`)
			prep(&r.bwdRange, `SELECT `+streamColumns+` FROM events WHERE `+byStream+` AND revision >= ? AND revision <= ? ORDER BY revision DESC`)
			prep(&r.allRange, `SELECT `+columns+` FROM events WHERE seq > ? AND seq <= ? ORDER BY seq`)
			prep(&r.last, `SELECT MAX(revision) FROM events WHERE `+byStream)
			prep(&r.meta, `SELECT metadata FROM events WHERE seq = ?`)
			return err
		})
		if err != nil {
			c.Close()
			return err
		}
		rp.all = append(rp.all, r)
		rp.idle <- r
	}
	return nil
}

// close waits for every reader to be returned and closes them.
func (rp *readPool) close() {
	for range rp.all {
		<-rp.idle
	}
	for _, r := range rp.all {
		_ = r.conn.Raw(func(any) error {
			for _, st := range []driver.Stmt{r.fwd, r.bwd, r.all, r.exists, r.fwdRange, r.bwdRange, r.allRange, r.last, r.meta} {
				if st != nil {
					st.Close()
				}
			}
			return nil
		})
		r.conn.Close()
	}
	rp.all = nil
}

// withReader runs f with a reader of the pool.
func (s *Store) withReader(ctx context.Context, f func(r *reader) error) error {
	return s.withPool(ctx, &s.reads, f)
}

// withBulkReader is withReader for a read of many events (at least
// splitMin of a stream, logBulkMin of the log): its connections map the
// file in memory (mmap), which is the fastest way through many pages but
// costs an unmap each time the log has changed since the connection's last
// read — far more than a short read of a few pages through the page cache,
// which is what withReader's connections do.
func (s *Store) withBulkReader(ctx context.Context, f func(r *reader) error) error {
	return s.withPool(ctx, &s.bulk, f)
}

func (s *Store) withPool(ctx context.Context, pool *readPool, f func(r *reader) error) error {
	var r *reader
	select {
	case r = <-pool.idle:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errClosed("sqlite.read")
	}
	defer func() { pool.idle <- r }()
	if s.isClosed() {
		return errClosed("sqlite.read")
	}
	return r.conn.Raw(func(any) error { return f(r) })
}

func args(vs ...any) []driver.NamedValue {
	out := make([]driver.NamedValue, len(vs))
	for i, v := range vs {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

func sqlLimit(limit int) int64 {
	if limit <= 0 {
		return -1
	}
	return int64(limit)
}

func clampRev(r uint64) int64 {
	if r > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(r)
}

// Reads of at least splitMin events are split in two halves read at once on
// two connections of the pool: SQLite's per-row cost is CPU, and the machine
// has more than one core. Revisions of a stream and positions of the log are
// dense (0, 1, 2, … and 1, 2, 3, …: the writer numbers events itself and
// never skips a number), so a range splits exactly.
const splitMin = 512

// logBulkMin is the smallest read of the global log that goes to the bulk
// readers. Catch-up reads come in batches of a projection's BatchSize
// (default 500): read through the page cache, a batch of FIE records cost 23
// µs an event, about a third of the FIER read model's time; mapped, the
// model catches up 17,100–18,000 → 20,900–21,600 records/s.
const logBulkMin = 256

// probe is how many events a stream read without a limit takes before it
// asks whether the stream is long enough to split the rest.
const probe = 128

// ReadStream reads events of one stream. See eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, dir eventstore.Direction, limit int) ([]eventstore.Event, error) {
	const op = errs.Op("sqlite.ReadStream")
	first := limit
	if limit <= 0 || limit > probe {
		first = probe
	}
	var out []eventstore.Event
	found := true
	last := int64(-1) // the stream's last revision, when asked
	err := s.withReader(ctx, func(r *reader) error {
		st := r.fwd
		if dir == eventstore.Backward {
			st = r.bwd
		}
		var err error
		out, err = queryEvents(ctx, r, st, args(stream, clampRev(from), int64(first)), nil, stream)
		if err != nil {
			return err
		}
		if len(out) == first && first != limit {
			// More to read: how much?
			last, err = queryInt(ctx, r.last, args(stream))
			return err
		}
		if len(out) > 0 {
			return nil
		}
		// Revisions start at 0: an empty read forward from 0, or backward
		// from anywhere, finds no stream, with no second query (opening a
		// case or an NSS request reads a stream that is not there yet).
		if dir == eventstore.Backward || from == 0 {
			found = false
			return nil
		}
		_, err = queryInt(ctx, r.exists, args(stream))
		if errors.Is(err, sql.ErrNoRows) {
			found, err = false, nil
		}
		return err
	})
	if err != nil {
		return nil, dbErr(op, err)
	}
	if !found {
		return nil, &eventstore.StreamNotFoundError{Stream: stream}
	}
	if last < 0 {
		return out, nil
	}
	// The rest: revisions lo..hi, in the read's direction.
	var lo, hi int64
	if dir == eventstore.Backward {
		hi = int64(out[len(out)-1].Revision) - 1
		lo = 0
		if limit > 0 {
			lo = max(0, hi-int64(limit-len(out))+1)
		}
	} else {
		lo = int64(out[len(out)-1].Revision) + 1
		hi = last
		if limit > 0 {
			hi = min(hi, lo+int64(limit-len(out))-1)
		}
	}
	if lo > hi {
		return out, nil
	}
	rest, err := s.readStreamRange(ctx, stream, lo, hi, dir, out)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return rest, nil
}

// readStreamRange appends to dst the events of stream with revisions lo..hi
// in the direction dir, splitting a long range over two connections.
func (s *Store) readStreamRange(ctx context.Context, stream string, lo, hi int64, dir eventstore.Direction, dst []eventstore.Event) ([]eventstore.Event, error) {
	n := hi - lo + 1
	dst = slices.Grow(dst, int(n))
	with := s.withReader
	if n >= splitMin {
		with = s.withBulkReader
	}
	one := func(lo, hi int64, dst []eventstore.Event) ([]eventstore.Event, error) {
		var out []eventstore.Event
		err := with(ctx, func(r *reader) error {
			st := r.fwdRange
			if dir == eventstore.Backward {
				st = r.bwdRange
			}
			var err error
			out, err = queryEvents(ctx, r, st, args(stream, lo, hi), dst, stream)
			return err
		})
		return out, err
	}
	if n < splitMin || s.cfg.readConns < 2 {
		return one(lo, hi, dst)
	}
	mid := lo + n/2
	// First half in the read's direction into dst, second half apart.
	aLo, aHi, bLo, bHi := lo, mid-1, mid, hi
	if dir == eventstore.Backward {
		aLo, aHi, bLo, bHi = mid, hi, lo, mid-1
	}
	var second []eventstore.Event
	var err2 error
	done := make(chan struct{})
	go func() {
		defer close(done)
		second, err2 = one(bLo, bHi, make([]eventstore.Event, 0, bHi-bLo+1))
	}()
	out, err := one(aLo, aHi, dst)
	<-done
	if err != nil {
		return nil, err
	}
	if err2 != nil {
		return nil, err2
	}
	return append(out, second...), nil
}

// queryInt runs a query of one integer; sql.ErrNoRows when it has no row
// or a NULL.
func queryInt(ctx context.Context, st driver.Stmt, a []driver.NamedValue) (int64, error) {
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, a)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		if err == io.EOF {
			return 0, sql.ErrNoRows
		}
		return 0, err
	}
	n, ok := v[0].(int64)
	if !ok {
		return 0, sql.ErrNoRows
	}
	return n, nil
}

// ReadAll reads the global log after from. See eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, from eventstore.Position, limit int) ([]eventstore.Event, error) {
	out, err := s.readAll(ctx, from.Commit, limit)
	if err != nil {
		return nil, dbErr("sqlite.ReadAll", err)
	}
	return out, nil
}

func (s *Store) readAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	// span is how many events the read is expected to return: up to the
	// head as this process knows it (another process may have written
	// more; then the read just does not split), at most limit.
	var span uint64
	if h := s.head.Load(); h > after {
		span = h - after
	}
	if limit > 0 && (span == 0 || uint64(limit) < span) {
		span = uint64(limit)
	}
	with := s.withReader
	if span >= logBulkMin {
		with = s.withBulkReader
	}
	seq := func(after uint64, limit int, dst []eventstore.Event) ([]eventstore.Event, error) {
		var out []eventstore.Event
		err := with(ctx, func(r *reader) error {
			var err error
			out, err = queryEvents(ctx, r, r.all, args(clampRev(after), sqlLimit(limit)), dst, "")
			return err
		})
		return out, err
	}
	if span < splitMin || s.cfg.readConns < 2 {
		return seq(after, limit, nil)
	}
	// (after, mid] on this goroutine, the rest (up to the limit) on another.
	mid := after + span/2
	restLimit := 0 // no limit
	if limit > 0 {
		restLimit = limit - int(mid-after)
	}
	var rest []eventstore.Event
	var errRest error
	done := make(chan struct{})
	go func() {
		defer close(done)
		rest, errRest = seq(mid, restLimit, nil)
	}()
	var first []eventstore.Event
	err := with(ctx, func(r *reader) error {
		var err error
		first, err = queryEvents(ctx, r, r.allRange, args(clampRev(after), clampRev(mid)), make([]eventstore.Event, 0, span), "")
		return err
	})
	<-done
	if err != nil {
		return nil, err
	}
	if errRest != nil {
		return nil, errRest
	}
	if uint64(len(first)) < mid-after && len(rest) > 0 {
		// A gap in the positions (a file not written by this package):
		// the halves do not add up to the limit; read in one go.
		return seq(after, limit, nil)
	}
	return append(first, rest...), nil
}

// queryEvents runs a query of the columns above on r and appends the events
// to dst. stream, when not empty, is the stream of every row (the query
// selects NULL in its place).
//
// An event whose metadata column holds the position of an earlier event
// (schema 4: the events of one append share their metadata, stored once)
// takes that event's metadata, decoded once: from the row just read (a
// read forward), from a row read later in the same result (backward), or
// else, after the rows, from the file.
func queryEvents(ctx context.Context, r *reader, st driver.Stmt, a []driver.NamedValue, dst []eventstore.Event, stream string) ([]eventstore.Event, error) {
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, a)
	if err != nil {
		return nil, err
	}
	out := dst
	if out == nil {
		out = make([]eventstore.Event, 0, 64)
	}
	dest := make([]driver.Value, numColumns)
	var streamV driver.Value = stream // boxed once, not per row
	var lastStream, lastType string
	// The latest metadata stored whole, and the references not resolved.
	lastMetaSeq := int64(-1)
	var lastMeta eventstore.Metadata
	var pending []metaRef
	var stored map[int64]eventstore.Metadata // whole metadata met after a pending reference
	for {
		if err := rows.Next(dest); err != nil {
			rows.Close()
			if err != io.EOF {
				return nil, err
			}
			break
		}
		if stream != "" {
			dest[1] = streamV
		}
		e, ref, err := eventOf(dest)
		if err != nil {
			rows.Close()
			return nil, err
		}
		// Share the strings of consecutive events of one stream or type.
		if e.Stream == lastStream {
			e.Stream = lastStream
		}
		lastStream = e.Stream
		if e.Type == lastType {
			e.Type = lastType
		}
		lastType = e.Type
		switch {
		case ref == 0:
			lastMetaSeq, lastMeta = int64(e.Position.Commit), e.Metadata
			if pending != nil {
				if stored == nil {
					stored = map[int64]eventstore.Metadata{}
				}
				stored[lastMetaSeq] = e.Metadata
			}
		case ref == lastMetaSeq:
			e.Metadata = lastMeta
		default:
			pending = append(pending, metaRef{at: len(out), seq: ref})
		}
		out = append(out, e)
	}
	if len(pending) > 0 && stored == nil {
		stored = map[int64]eventstore.Metadata{}
	}
	for _, p := range pending {
		m, ok := stored[p.seq]
		if !ok {
			if m, err = r.metadataAt(ctx, p.seq); err != nil {
				return nil, errs.E(errs.Internal, "metadatos corruptos en la posición "+out[p.at].Position.String(), err)
			}
			stored[p.seq] = m
		}
		out[p.at].Metadata = m
	}
	return out, nil
}

// metaRef is an event of a read (its index) whose metadata is that of the
// event at position seq.
type metaRef struct {
	at  int
	seq int64
}

// metadataAt reads and decodes the metadata stored whole at position seq.
func (r *reader) metadataAt(ctx context.Context, seq int64) (eventstore.Metadata, error) {
	var m eventstore.Metadata
	rows, err := r.meta.(driver.StmtQueryContext).QueryContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: seq}})
	if err != nil {
		return m, err
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		if err == io.EOF {
			return m, fmt.Errorf("no hay evento en la posición %d", seq)
		}
		return m, err
	}
	b, ok := v[0].([]byte)
	if t, isText := v[0].(string); isText {
		b, ok = []byte(t), true
	}
	if !ok {
		return m, fmt.Errorf("la posición %d no guarda metadatos completos", seq)
	}
	err = decodeMetadata(b, &m)
	return m, err
}

// eventOf builds an event from a row of the columns above. ref is the
// position of the event whose metadata this one shares (schema 4), and 0
// when the row holds its metadata whole (then decoded into the event).
func eventOf(v []driver.Value) (e eventstore.Event, ref int64, err error) {
	seq, ok0 := v[0].(int64)
	stream, ok1 := v[1].(string)
	rev, ok2 := v[2].(int64)
	typ, ok3 := v[3].(string)
	sv, ok4 := v[4].(int64)
	data, ok5 := v[5].([]byte)
	meta, ok6 := v[6].([]byte)
	rec, ok7 := v[7].(int64)
	ids, ok8 := v[8].([]byte)
	// A row edited by hand may hold text where a blob belongs; read it as
	// bytes so that verification reports the altered event instead of
	// failing to read it.
	if t, ok := v[5].(string); ok {
		data, ok5 = []byte(t), true
	}
	if t, ok := v[6].(string); ok {
		meta, ok6 = []byte(t), true
	}
	if r, ok := v[6].(int64); ok && r > 0 && r < seq {
		ref, ok6 = r, true
	}
	if v[5] == nil {
		ok5 = true // an empty blob comes back as NULL
	}
	if !(ok0 && ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || len(ids) < 16+32 {
		return e, 0, errs.E(errs.Internal, fmt.Sprintf("fila corrupta en la posición %v", v[0]))
	}
	e = eventstore.Event{
		ID:            uuid.UUID(ids[:16]),
		Stream:        stream,
		Type:          typ,
		SchemaVersion: int(sv),
		Data:          json.RawMessage(data),
		Revision:      uint64(rev),
		Position:      pos(uint64(seq)),
		RecordedAt:    time.Unix(0, rec).UTC(),
		Hash:          ids[16:48:48],
	}
	if len(ids) > 48 {
		e.PrevHash = ids[48:]
	}
	if ref != 0 {
		return e, ref, nil
	}
	if err := decodeMetadata(meta, &e.Metadata); err != nil {
		return e, 0, errs.E(errs.Internal, "metadatos corruptos en la posición "+e.Position.String(), err)
	}
	return e, 0, nil
}

// decodeMetadata decodes stored metadata. The bytes are what
// eventstore.CanonicalMetadata wrote, so a short parser of exactly that shape
// reads them several times faster than encoding/json; anything it does not
// expect (an escape, an unknown key) falls back to json.Unmarshal.
func decodeMetadata(b []byte, m *eventstore.Metadata) error {
	if fastMetadata(b, m) {
		return nil
	}
	*m = eventstore.Metadata{}
	return json.Unmarshal(b, m)
}

// metaParser reads the canonical metadata JSON. It works on one string
// made of the whole document, so the fields it returns share its memory.
type metaParser struct {
	b  string
	i  int
	ok bool
}

func (p *metaParser) byte(c byte) {
	if p.ok && p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return
	}
	p.ok = false
}

func (p *metaParser) peek(c byte) bool { return p.ok && p.i < len(p.b) && p.b[p.i] == c }

// str reads a JSON string with no escapes.
func (p *metaParser) str() string {
	p.byte('"')
	if !p.ok {
		return ""
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s
		case c == '\\' || c < 0x20:
			p.ok = false
			return ""
		}
		p.i++
	}
	p.ok = false
	return ""
}

// key reads `"key":` and reports whether there is one, or the object ends.
func (p *metaParser) key(first bool) (string, bool) {
	if first {
		p.byte('{')
		if p.peek('}') {
			p.i++
			return "", false
		}
	} else {
		if p.peek('}') {
			p.i++
			return "", false
		}
		p.byte(',')
	}
	k := p.str()
	p.byte(':')
	return k, p.ok
}

func fastMetadata(b []byte, m *eventstore.Metadata) bool {
	p := metaParser{b: string(b), ok: true}
	for k, more := p.key(true); more; k, more = p.key(false) {
		switch k {
		case "correlationId":
			m.CorrelationID = p.str()
		case "causationId":
			m.CausationID = p.str()
		case "commandId":
			m.CommandID = p.str()
		case "actor":
			for k, more := p.key(true); more; k, more = p.key(false) {
				switch k {
				case "id":
					m.Actor.ID = p.str()
				case "role":
					m.Actor.Role = p.str()
				case "authorization":
					m.Actor.Authorization = p.str()
				default:
					return false
				}
			}
		case "occurredAt":
			s := p.str()
			if !p.ok {
				return false
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return false
			}
			m.OccurredAt = t
		default:
			return false
		}
	}
	return p.ok && p.i == len(p.b)
}
