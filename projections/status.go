package projections

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"sort"
	"strings"
	"time"

	"redengine/errs"
	"redengine/eventstore"
)

// LagCap is the most events Status counts behind a checkpoint; a larger lag
// is reported as LagCap with LagCapped set.
const LagCap = 10000

// Status is where a projection stands.
type Status struct {
	Name       string
	Checkpoint eventstore.Position // last event applied (zero: none)
	Head       eventstore.Position // last event of the log
	// Lag is the number of events of the log after the checkpoint, counted
	// by reading them (positions are opaque and, on EventStoreDB, not
	// contiguous, so their difference is not a count). At most LagCap.
	Lag       int
	LagCapped bool
	UpdatedAt time.Time // when the checkpoint last moved
	Running   bool      // this process is running the projection
	LastError string    // the last failure of this process, cleared by the next commit
	ErrorAt   time.Time
}

// Status reports every projection's checkpoint, the log's head and the lag
// between them, from the database (so it also sees projections run by
// another process).
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	const op = errs.Op("projections.Status")
	if err := r.Init(ctx); err != nil {
		return nil, err
	}
	head, err := r.store.Head(ctx)
	if err != nil {
		return nil, errs.E(op, err)
	}
	out := make([]Status, 0, len(r.order))
	for _, pr := range r.order {
		var pos, updated string
		if err := r.db.QueryRowContext(ctx, `SELECT position, updated_at FROM `+CheckpointTable+` WHERE name = ?`, pr.name).Scan(&pos, &updated); err != nil {
			return nil, errs.E(op, errs.Unavailable, err)
		}
		st := Status{Name: pr.name, Head: head}
		if st.Checkpoint, err = eventstore.ParsePosition(pos); err != nil {
			return nil, errs.E(op, errs.Internal, err)
		}
		st.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
		if st.Checkpoint.Less(head) {
			evs, err := r.store.ReadAll(ctx, st.Checkpoint, LagCap+1)
			if err != nil {
				return nil, errs.E(op, err)
			}
			st.Lag = min(len(evs), LagCap)
			st.LagCapped = len(evs) > LagCap
		}
		pr.mu.Lock()
		st.Running, st.LastError, st.ErrorAt = pr.running, pr.lastErr, pr.lastErrAt
		pr.mu.Unlock()
		out = append(out, st)
	}
	return out, nil
}

// pollEvery is how often WaitFor re-reads the checkpoint from the database,
// in case another process is the one applying events. Within the process,
// waiters are woken as each batch commits.
const pollEvery = 250 * time.Millisecond

// WaitFor returns when projection name has applied the event at position pos
// (its checkpoint is at pos or after), for read-your-writes: a command's
// response carries its position, and a query passes it back. It waits at
// most Options.WaitTimeout (or until ctx ends); then it returns an
// errs.Unavailable error, which the API turns into 503 with Retry-After. An
// unknown projection is errs.NotFound.
func (r *Runner) WaitFor(ctx context.Context, name string, pos eventstore.Position) error {
	const op = errs.Op("projections.WaitFor")
	pr, err := r.get(op, name)
	if err != nil {
		return err
	}
	if err := r.Init(ctx); err != nil {
		return err
	}
	if cur, _ := pr.snapshot(); !cur.Less(pos) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.WaitTimeout)
	defer cancel()
	if ctx.Value(backgroundKey{}) == nil {
		r.waiting.Add(1)
		defer r.waiting.Add(-1)
		select {
		case r.waited <- struct{}{}:
		default: // the hub is not gathering, or already told
		}
	}
	if cp, err := r.checkpoint(ctx, name); err == nil {
		pr.advance(cp)
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		cur, woken := pr.snapshot()
		if !cur.Less(pos) {
			return nil
		}
		select {
		case <-woken:
		case <-tick.C:
			if cp, err := r.checkpoint(ctx, name); err == nil {
				pr.advance(cp)
			}
		case <-ctx.Done():
			return errs.E(op, errs.Unavailable,
				fmt.Sprintf("la vista %q aún no refleja la posición %s (va por la %s); vuelva a intentarlo", name, pos, cur), ctx.Err())
		}
	}
}

// Waiting reports how many WaitFor calls are waiting for their position
// now, those on a Background context aside. While any is, the live batches
// are applied at the process's priority (see Options.Nice).
func (r *Runner) Waiting() int { return int(r.waiting.Load()) }

type backgroundKey struct{}

// Background marks ctx for the WaitFor calls of a follower of the log (the
// mailer waiting for the next email, say) rather than of a reader waiting
// for its own write: such a wait does not count in Waiting, nor make the
// live batches run at the process's priority.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// Digest returns a SHA-256 (hex) of the projection's rows: every table in
// name order, every row in the order of all its columns, every value with
// its type. Two models with the same rows have the same digest whatever
// order they were written in, so a live model can be compared with a
// rebuilt one. It reads one consistent snapshot.
func (r *Runner) Digest(ctx context.Context, name string) (string, error) {
	const op = errs.Op("projections.Digest")
	pr, err := r.get(op, name)
	if err != nil {
		return "", err
	}
	if err := r.Init(ctx); err != nil {
		return "", err
	}
	tx, err := r.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return "", errs.E(op, errs.Unavailable, err)
	}
	defer tx.Rollback()
	tables := pr.p.Tables()
	sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
	h := sha256.New()
	for _, t := range tables {
		if err := digestTable(ctx, tx, h, t.Name, t.Name); err != nil {
			return "", errs.E(op, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digestTable writes the rows of table (read from the actual table name
// actual) into h.
func digestTable(ctx context.Context, tx *sql.Tx, h hash.Hash, table, actual string) error {
	n, err := columnCount(ctx, tx, actual)
	if err != nil {
		return err
	}
	order := make([]string, n)
	for i := range order {
		order[i] = fmt.Sprint(i + 1)
	}
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+actual+` ORDER BY `+strings.Join(order, ", "))
	if err != nil {
		return errs.E(errs.Unavailable, err)
	}
	defer rows.Close()
	fmt.Fprintf(h, "table %s %d\n", table, n)
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var buf [8]byte
	field := func(tag byte, b []byte) {
		h.Write([]byte{tag})
		binary.BigEndian.PutUint64(buf[:], uint64(len(b)))
		h.Write(buf[:])
		h.Write(b)
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return errs.E(errs.Internal, err)
		}
		h.Write([]byte{'R'})
		for _, v := range vals {
			switch v := v.(type) {
			case nil:
				field('N', nil)
			case int64:
				binary.BigEndian.PutUint64(buf[:], uint64(v))
				field('I', buf[:])
			case float64:
				binary.BigEndian.PutUint64(buf[:], math.Float64bits(v))
				field('F', buf[:])
			case string:
				field('S', []byte(v))
			case []byte:
				field('B', v)
			case time.Time:
				field('T', []byte(v.UTC().Format(time.RFC3339Nano)))
			default:
				field('?', fmt.Appendf(nil, "%T %v", v, v))
			}
		}
	}
	if err := rows.Err(); err != nil {
		return errs.E(errs.Unavailable, err)
	}
	return nil
}

func columnCount(ctx context.Context, tx *sql.Tx, table string) (int, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?)`, table).Scan(&n); err != nil {
		return 0, errs.E(errs.Unavailable, err)
	}
	if n == 0 {
		return 0, errs.E(errs.NotFound, fmt.Sprintf("no existe la tabla %s", table))
	}
	return n, nil
}
