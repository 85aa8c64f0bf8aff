package scheduler

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"redengine/errs"
	"redengine/eventstore"
	"redengine/projections"
)

// ChangeKind says whether a Change sets or clears a deadline.
type ChangeKind uint8

// The kinds of change.
const (
	Set   ChangeKind = iota + 1 // create the deadline, or move it (new due time, action, target or payload)
	Clear                       // the deadline no longer applies (done, answered, cancelled)
)

// Change is what an event does to one deadline.
type Change struct {
	Kind       ChangeKind
	DeadlineID string // stable key, e.g. "<caseID>/close_de_oficio"
	DueAt      time.Time
	Action     string          // what the dispatcher must do, e.g. "close_de_oficio"
	Target     string          // what it acts on, e.g. the case ID
	Payload    json.RawMessage // optional data for the dispatcher (JSON)
}

// Mapper tells which deadlines an event sets or clears; most events change
// none (nil). It must be deterministic, as the deadlines model is rebuilt
// from the log like any other. An error fails the event's batch, which is
// retried with backoff.
type Mapper func(e eventstore.Event) ([]Change, error)

// DefaultName is the name of the deadlines projection and its table.
const DefaultName = "deadlines"

// Deadlines is the projection that keeps the deadlines read model: one row
// per deadline ID with its due time, action, target, payload and state
// ("set" or "cleared"). Rows are never deleted, so the model also shows past
// deadlines and when they were cleared.
type Deadlines struct {
	name   string
	mapper Mapper
	filter eventstore.Filter
}

// NewDeadlines returns the deadlines projection, named DefaultName, using
// mapper to turn events into changes. filter, when given, limits the events
// the mapper sees (e.g. to the streams of the aggregates with deadlines).
func NewDeadlines(mapper Mapper, filter ...eventstore.Filter) *Deadlines {
	d := &Deadlines{name: DefaultName, mapper: mapper}
	for _, f := range filter {
		d.filter.StreamPrefixes = append(d.filter.StreamPrefixes, f.StreamPrefixes...)
		d.filter.TypePrefixes = append(d.filter.TypePrefixes, f.TypePrefixes...)
	}
	return d
}

// Name is the projection's name (DefaultName).
func (d *Deadlines) Name() string { return d.name }

// Table is the name of the deadlines table.
func (d *Deadlines) Table() string { return d.name }

// Filter limits the events the projection applies.
func (d *Deadlines) Filter() eventstore.Filter { return d.filter }

// Tables declares the deadlines table. due_ns is the due instant in Unix
// nanoseconds (for ordering and comparison), due_at the same in RFC 3339
// UTC for people.
func (d *Deadlines) Tables() []projections.Table {
	return []projections.Table{{
		Name: d.name,
		Create: func(t string) string {
			return `CREATE TABLE ` + t + ` (
				id            TEXT PRIMARY KEY,
				due_ns        INTEGER NOT NULL,
				due_at        TEXT NOT NULL,
				action        TEXT NOT NULL,
				target        TEXT NOT NULL,
				payload       TEXT NOT NULL,
				state         TEXT NOT NULL CHECK (state IN ('set', 'cleared')),
				set_by        TEXT NOT NULL,
				changed_by    TEXT NOT NULL,
				changed_at    TEXT NOT NULL
			)`
		},
		Indexes: func(t string) []string {
			return []string{`CREATE INDEX ` + t + `_due ON ` + t + ` (state, due_ns, id)`}
		},
	}}
}

// Apply records the changes the mapper finds in e. set_by and changed_by
// are "<stream>@<revision>" of the event that set and last changed the row;
// changed_at is its OccurredAt.
func (d *Deadlines) Apply(ctx context.Context, tx *sql.Tx, tables projections.TableNames, e eventstore.Event) error {
	changes, err := d.mapper(e)
	if err != nil {
		return err
	}
	t := tables[d.name]
	by := fmt.Sprintf("%s@%d", e.Stream, e.Revision)
	at := e.Metadata.OccurredAt.UTC().Format(time.RFC3339Nano)
	for _, c := range changes {
		if c.DeadlineID == "" {
			return errs.E(errs.Internal, fmt.Sprintf("%s: cambio de plazo sin identificador", by))
		}
		switch c.Kind {
		case Set:
			payload := string(c.Payload)
			if payload == "" {
				payload = "null"
			} else if !json.Valid(c.Payload) {
				return errs.E(errs.Internal, fmt.Sprintf("%s: plazo %q con payload que no es JSON", by, c.DeadlineID))
			}
			due := c.DueAt.UTC()
			if _, err := projections.Exec(ctx, tx, `INSERT INTO `+t+` (id, due_ns, due_at, action, target, payload, state, set_by, changed_by, changed_at)
				VALUES (?, ?, ?, ?, ?, ?, 'set', ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET due_ns = excluded.due_ns, due_at = excluded.due_at, action = excluded.action,
					target = excluded.target, payload = excluded.payload, state = 'set', set_by = excluded.set_by,
					changed_by = excluded.changed_by, changed_at = excluded.changed_at`,
				c.DeadlineID, due.UnixNano(), due.Format(time.RFC3339Nano), c.Action, c.Target, payload, by, by, at); err != nil {
				return err
			}
		case Clear:
			if _, err := projections.Exec(ctx, tx, `UPDATE `+t+` SET state = 'cleared', changed_by = ?, changed_at = ? WHERE id = ? AND state = 'set'`,
				by, at, c.DeadlineID); err != nil {
				return err
			}
		default:
			return errs.E(errs.Internal, fmt.Sprintf("%s: plazo %q con tipo de cambio %d", by, c.DeadlineID, c.Kind))
		}
	}
	return nil
}
