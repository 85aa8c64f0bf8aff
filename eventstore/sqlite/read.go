package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/google/uuid"

	"redengine/errs"
	"redengine/eventstore"
)

const columns = `seq, stream, revision, id, type, schema_version, data, metadata, recorded_at, prev_hash, hash`

// readStmts are the prepared statements of the read pool.
type readStmts struct {
	fwd, bwd, all, exists *sql.Stmt
}

func (r *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	var err error
	prep := func(dst **sql.Stmt, q string) {
		if err == nil {
			*dst, err = db.PrepareContext(ctx, q)
		}
	}
	prep(&r.fwd, `SELECT `+columns+` FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?`)
	prep(&r.bwd, `SELECT `+columns+` FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`)
	prep(&r.all, `SELECT `+columns+` FROM events WHERE seq > ? ORDER BY seq LIMIT ?`)
	prep(&r.exists, `SELECT 1 FROM events WHERE stream = ? LIMIT 1`)
	return err
}

func (r *readStmts) close() {
	for _, st := range []*sql.Stmt{r.fwd, r.bwd, r.all, r.exists} {
		if st != nil {
			st.Close()
		}
	}
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
	if s.isClosed() {
		return nil, errClosed(op)
	}
	st := s.reads.fwd
	if dir == eventstore.Backward {
		st = s.reads.bwd
	}
	rows, err := st.QueryContext(ctx, stream, clampRev(from), sqlLimit(limit))
	if err != nil {
		return nil, dbErr(op, err)
	}
	out, err := scanEvents(rows, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	if len(out) == 0 {
		var one int
		err := s.reads.exists.QueryRowContext(ctx, stream).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &eventstore.StreamNotFoundError{Stream: stream}
		}
		if err != nil {
			return nil, dbErr(op, err)
		}
	}
	return out, nil
}

// ReadAll reads the global log after from. See eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, from eventstore.Position, limit int) ([]eventstore.Event, error) {
	const op = errs.Op("sqlite.ReadAll")
	if s.isClosed() {
		return nil, errClosed(op)
	}
	out, err := s.readAll(ctx, from.Commit, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}

func (s *Store) readAll(ctx context.Context, after uint64, limit int) ([]eventstore.Event, error) {
	rows, err := s.reads.all.QueryContext(ctx, clampRev(after), sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	return scanEvents(rows, limit)
}

// scanEvents reads rows of the columns above and closes them.
func scanEvents(rows *sql.Rows, limit int) ([]eventstore.Event, error) {
	defer rows.Close()
	capHint := limit
	if capHint <= 0 || capHint > 1024 {
		capHint = 64
	}
	out := make([]eventstore.Event, 0, capHint)
	var (
		seq, rev, sv, rec  int64
		streamB, idB, typB sql.RawBytes
		metaB              sql.RawBytes
		data, prev, hash   []byte
		lastStream         string
		lastType           string
	)
	for rows.Next() {
		if err := rows.Scan(&seq, &streamB, &rev, &idB, &typB, &sv, &data, &metaB, &rec, &prev, &hash); err != nil {
			return nil, err
		}
		if string(streamB) != lastStream {
			lastStream = string(streamB)
		}
		if string(typB) != lastType {
			lastType = string(typB)
		}
		e := eventstore.Event{
			Stream:        lastStream,
			Type:          lastType,
			SchemaVersion: int(sv),
			Data:          json.RawMessage(data),
			Revision:      uint64(rev),
			Position:      pos(uint64(seq)),
			RecordedAt:    time.Unix(0, rec).UTC(),
			PrevHash:      prev,
			Hash:          hash,
		}
		if len(idB) != 16 {
			return nil, errs.E(errs.Internal, "identificador de evento corrupto en la posición "+e.Position.String())
		}
		e.ID = uuid.UUID(idB)
		if err := decodeMetadata(metaB, &e.Metadata); err != nil {
			return nil, errs.E(errs.Internal, "metadatos corruptos en la posición "+e.Position.String(), err)
		}
		out = append(out, e)
		data, prev, hash = nil, nil, nil
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func decodeMetadata(b []byte, m *eventstore.Metadata) error {
	return json.Unmarshal(b, m)
}
