package projections

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"redengine/errs"
	"redengine/eventstore"
)

// shadowSuffix names a table's shadow during a rebuild. Table names may not
// contain "__", so a shadow never collides with a live table.
const shadowSuffix = "__rebuild"

// Rebuild rebuilds a projection's read model from the start of the log
// while the live model keeps serving reads (and keeps being updated by Run),
// then swaps the rebuilt one in atomically:
//
//  1. create shadow tables (<table>__rebuild), dropping leftovers of an
//     interrupted rebuild;
//  2. apply every event of the log to them, in batched transactions;
//  3. in one write transaction: apply the events appended meanwhile, drop
//     the live tables, rename the shadows to the live names (re-creating
//     their indexes under the live names), and set the checkpoint to the
//     last event applied.
//
// Readers see the old model until the swap commits and the new one after,
// never a half-built one. Because the swap holds the write lock and brings
// the shadow up to the log's head, the new checkpoint is at or after the live
// one, and Run (in this or another process) skips what is already applied.
//
// progress, when not nil, is called after each batch with the events done
// and the total (counted by reading the log first; the log may grow while
// rebuilding, so done may pass total). Only one rebuild of a projection runs
// at a time in a process; a second gets errs.Conflict.
func (r *Runner) Rebuild(ctx context.Context, name string, progress func(done, total int)) error {
	const op = errs.Op("projections.Rebuild")
	pr, err := r.get(op, name)
	if err != nil {
		return err
	}
	if !pr.rebuilding.TryLock() {
		return errs.E(op, errs.Conflict, fmt.Sprintf("ya se está reconstruyendo la vista %q", name))
	}
	defer pr.rebuilding.Unlock()
	if err := r.Init(ctx); err != nil {
		return err
	}
	start := time.Now()
	total := 0
	if progress != nil {
		if total, err = r.countLog(ctx); err != nil {
			return errs.E(op, err)
		}
		progress(0, total)
	}
	shadow := TableNames{}
	for _, t := range pr.p.Tables() {
		shadow[t.Name] = t.Name + shadowSuffix
	}
	if err := r.inTx(ctx, func(tx *sql.Tx) error {
		for _, t := range pr.p.Tables() {
			if err := createTable(ctx, tx, t, shadow[t.Name]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return errs.E(op, err)
	}
	// The shadow tables' statements are cached for the rebuild only.
	stmts := newStmtCache(r.db)
	defer stmts.close()
	var pos eventstore.Position
	done := 0
	var ahead <-chan page // the next page, read while this one is applied
	for {
		p := page{}
		if ahead != nil {
			p = <-ahead
			ahead = nil
		} else {
			p.evs, p.err = r.store.ReadAll(ctx, pos, r.opts.BatchSize)
		}
		evs := p.evs
		if p.err != nil {
			return errs.E(op, p.err)
		}
		if len(evs) == 0 {
			break
		}
		if len(evs) == r.opts.BatchSize {
			ahead = r.readAhead(ctx, evs[len(evs)-1].Position)
		}
		if err := r.inTx(ctx, func(tx *sql.Tx) error {
			pos, err = r.applyTo(withStmts(batchContext(ctx), stmts, tx), tx, pr, shadow, pos, evs)
			return err
		}); err != nil {
			r.dropShadow(pr, shadow)
			return errs.E(op, err)
		}
		done += len(evs)
		if progress != nil {
			progress(done, total)
		}
		if len(evs) < r.opts.BatchSize {
			break
		}
	}
	// The swap.
	var live eventstore.Position
	err = r.inTx(ctx, func(tx *sql.Tx) error {
		if live, err = lockCheckpoint(ctx, tx, name); err != nil {
			return err
		}
		for {
			evs, err := r.store.ReadAll(ctx, pos, r.opts.BatchSize)
			if err != nil {
				return err
			}
			if pos, err = r.applyTo(withStmts(ctx, stmts, tx), tx, pr, shadow, pos, evs); err != nil {
				return err
			}
			done += len(evs)
			if len(evs) < r.opts.BatchSize {
				break
			}
		}
		if pos.Less(live) {
			return errs.E(errs.Internal, fmt.Sprintf("el log acaba en %s y la vista viva va por %s", pos, live))
		}
		for _, t := range pr.p.Tables() {
			if err := swapTable(ctx, tx, t, shadow[t.Name]); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE `+CheckpointTable+` SET position = ?, updated_at = ? WHERE name = ?`,
			pos.String(), r.opts.Clock.Now().UTC().Format(time.RFC3339Nano), name)
		return err
	})
	if err != nil {
		r.dropShadow(pr, shadow)
		return errs.E(op, err)
	}
	pr.set(pos)
	if progress != nil {
		progress(done, max(total, done))
	}
	r.log.Info("read model rebuilt", "projection", name, "events", done, "position", pos.String(),
		"previous_position", live.String(), "took", time.Since(start))
	return nil
}

// swapTable replaces live table t by its shadow, within tx.
func swapTable(ctx context.Context, tx *sql.Tx, t Table, shadow string) error {
	stmts := []string{
		`DROP TABLE IF EXISTS ` + t.Name,
		`ALTER TABLE ` + shadow + ` RENAME TO ` + t.Name,
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return errs.E(errs.Internal, s, err)
		}
	}
	if t.Indexes == nil {
		return nil
	}
	// The renamed table keeps its shadow-named indexes; recreate them under
	// the live names so the next rebuild's shadow indexes do not collide.
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, t.Name)
	if err != nil {
		return errs.E(errs.Internal, err)
	}
	var old []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return errs.E(errs.Internal, err)
		}
		old = append(old, n)
	}
	rows.Close()
	for _, n := range old {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+n+`"`); err != nil {
			return errs.E(errs.Internal, err)
		}
	}
	for _, s := range t.Indexes(t.Name) {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return errs.E(errs.Internal, s, err)
		}
	}
	return nil
}

// dropShadow removes the shadow tables after a failed rebuild.
func (r *Runner) dropShadow(pr *proj, shadow TableNames) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.inTx(ctx, func(tx *sql.Tx) error {
		for _, n := range shadow {
			if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		r.log.Warn("could not drop the shadow tables of a failed rebuild", "projection", pr.name, "error", err)
	}
}

// countLog counts the events of the log.
func (r *Runner) countLog(ctx context.Context) (int, error) {
	var pos eventstore.Position
	n := 0
	const page = 4096
	for {
		evs, err := r.store.ReadAll(ctx, pos, page)
		if err != nil {
			return 0, err
		}
		n += len(evs)
		if len(evs) < page {
			return n, nil
		}
		pos = evs[len(evs)-1].Position
	}
}

// inTx runs f in a write transaction and commits it when f succeeds.
func (r *Runner) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return errs.E(errs.Unavailable, err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return errs.E(errs.Unavailable, err)
	}
	return nil
}
