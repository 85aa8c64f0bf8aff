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

// numColumns is how many columns a read selects.
const numColumns = 9

// reader is one connection of the read pool with its prepared statements.
// Reads go through the driver directly: database/sql's per-column scanning
// costs more than the rest of a read of small events.
type reader struct {
	conn                  *sql.Conn
	fwd, bwd, all, exists driver.Stmt
}

// readPool hands out readers, one caller at a time each.
type readPool struct {
	all  []*reader
	idle chan *reader
}

func (rp *readPool) open(ctx context.Context, db *sql.DB, n int) error {
	rp.idle = make(chan *reader, n)
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
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
			prep(&r.fwd, `SELECT `+streamColumns+` FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?`)
			prep(&r.bwd, `SELECT `+streamColumns+` FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`)
			prep(&r.all, `SELECT `+columns+` FROM events WHERE seq > ? ORDER BY seq LIMIT ?`)
			prep(&r.exists, `SELECT 1 FROM events WHERE stream = ? LIMIT 1`)
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
			for _, st := range []driver.Stmt{r.fwd, r.bwd, r.all, r.exists} {
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
	var r *reader
	select {
	case r = <-s.reads.idle:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errClosed("sqlite.read")
	}
	defer func() { s.reads.idle <- r }()
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

// ReadStream reads events of one stream. See eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, dir eventstore.Direction, limit int) ([]eventstore.Event, error) {
	const op = errs.Op("sqlite.ReadStream")
	var out []eventstore.Event
	found := true
	err := s.withReader(ctx, func(r *reader) error {
		st := r.fwd
		if dir == eventstore.Backward {
			st = r.bwd
		}
		var err error
		out, err = queryEvents(ctx, st, args(stream, clampRev(from), sqlLimit(limit)), limit, stream)
		if err != nil || len(out) > 0 {
			return err
		}
		rows, err := r.exists.(driver.StmtQueryContext).QueryContext(ctx, args(stream))
		if err != nil {
			return err
		}
		defer rows.Close()
		found = rows.Next(make([]driver.Value, 1)) == nil
		return nil
	})
	if err != nil {
		return nil, dbErr(op, err)
	}
	if !found {
		return nil, &eventstore.StreamNotFoundError{Stream: stream}
	}
	return out, nil
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
	var out []eventstore.Event
	err := s.withReader(ctx, func(r *reader) error {
		var err error
		out, err = queryEvents(ctx, r.all, args(clampRev(after), sqlLimit(limit)), limit, "")
		return err
	})
	return out, err
}

// queryEvents runs a query of the columns above and builds the events.
// stream, when not empty, is the stream of every row (the query selects
// NULL in its place).
func queryEvents(ctx context.Context, st driver.Stmt, a []driver.NamedValue, limit int, stream string) ([]eventstore.Event, error) {
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, a)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	capHint := limit
	if capHint <= 0 || capHint > 1024 {
		capHint = 64
	}
	out := make([]eventstore.Event, 0, capHint)
	dest := make([]driver.Value, numColumns)
	var streamV driver.Value = stream // boxed once, not per row
	var lastStream, lastType string
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				return out, nil
			}
			return nil, err
		}
		if stream != "" {
			dest[1] = streamV
		}
		e, err := eventOf(dest)
		if err != nil {
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
		out = append(out, e)
	}
}

// eventOf builds an event from a row of the columns above.
func eventOf(v []driver.Value) (eventstore.Event, error) {
	var e eventstore.Event
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
	if v[5] == nil {
		ok5 = true // an empty blob comes back as NULL
	}
	if !(ok0 && ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) || len(ids) < 16+32 {
		return e, errs.E(errs.Internal, fmt.Sprintf("fila corrupta en la posición %v", v[0]))
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
	if err := decodeMetadata(meta, &e.Metadata); err != nil {
		return e, errs.E(errs.Internal, "metadatos corruptos en la posición "+e.Position.String(), err)
	}
	return e, nil
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
