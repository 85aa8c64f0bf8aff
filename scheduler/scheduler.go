// Package scheduler acts on deadlines. Deadlines are data: events set and
// clear them through a Mapper, the Deadlines projection keeps them in a read
// model, and a pass (Due) issues the command of every deadline that is due,
// with a command ID derived from the deadline, so that running a pass twice,
// or on two nodes at once, acts once: the second command is a repeat that
// the commands pipeline recognises and does not apply.
//
// The Ticker runs a pass each minute (Europe/Madrid); it keeps no state and
// has no logic of its own. A pass takes its instant as a parameter, so a pass
// "as of" any instant can be run by hand after an outage.
package scheduler

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
)

// Deadline is a deadline that is due.
type Deadline struct {
	ID      string
	DueAt   time.Time
	Action  string
	Target  string
	Payload json.RawMessage
}

// Meta is the metadata of the command a pass issues for a due deadline:
// the pass's deterministic command ID, the deadline as its cause
// ("deadline:<id>"), and the scheduler as its actor (role system). Every
// kind of deadline records the same, so an auditor tells the scheduler's
// acts from anyone else's by one actor.
func Meta(d Deadline, commandID uuid.UUID) commands.Meta {
	return commands.Meta{CommandID: commandID, CausationID: "deadline:" + d.ID,
		Actor: eventstore.Actor{ID: "scheduler", Role: "system"}}
}

// CommandID is the deterministic command ID of acting on d: UUIDv5 of the
// deadline's ID and due instant. Every pass, on every node, issues the same
// command for the same deadline; a deadline moved to another instant gets
// another ID.
func CommandID(d Deadline) uuid.UUID {
	return uuid.NewSHA1(commands.Namespace, []byte("deadline\x00"+d.ID+"\x00"+d.DueAt.UTC().Format(time.RFC3339Nano)))
}

// Outcome is what a dispatcher did with a due deadline.
type Outcome uint8

// The outcomes.
const (
	// Acted: the command was applied now.
	Acted Outcome = iota
	// AlreadyDone: the command had already been applied (a repeat, found
	// by its command ID), or the deadline turned out moot; nothing changed.
	AlreadyDone
)

// Dispatcher issues the command of a due deadline with the given command ID
// (use it as commands.Meta.CommandID). An error is reported in the pass's
// Report and does not stop the pass; the deadline stays set and the next
// pass tries again.
type Dispatcher func(ctx context.Context, d Deadline, commandID uuid.UUID) (Outcome, error)

// Waiter waits for a projection to reach a position; *projections.Runner
// is one.
type Waiter interface {
	WaitFor(ctx context.Context, name string, pos eventstore.Position) error
}

// Failure is a deadline whose dispatch failed in a pass.
type Failure struct {
	Deadline Deadline
	Err      error
}

// Report is what a pass did.
type Report struct {
	AsOf        time.Time           // the instant the pass ran as of
	Position    eventstore.Position // the log head the deadlines model had reached
	Considered  int                 // deadlines due and still set
	Acted       int
	AlreadyDone int
	Failed      int
	Failures    []Failure
	Took        time.Duration
}

// Config is what a Scheduler needs.
type Config struct {
	// DB is the read-model database holding the deadlines table.
	DB *sql.DB
	// Store is the event store (for its head position).
	Store eventstore.Store
	// Projections waits for the deadlines projection; usually the
	// *projections.Runner that runs Deadlines.
	Projections Waiter
	// Deadlines is the projection keeping the deadlines model.
	Deadlines *Deadlines
	// Dispatch issues the command of a due deadline.
	Dispatch Dispatcher
	// Logger receives dispatch failures (default slog.Default()).
	Logger *slog.Logger
	// OnPass, when set, is called after each pass, also a failed one
	// (metrics).
	OnPass func(r Report, err error)
}

// Scheduler runs passes over the deadlines model. It is safe for concurrent
// use; passes in one process run one at a time.
type Scheduler struct {
	cfg Config
	log *slog.Logger
	mu  sync.Mutex
}

// New returns a scheduler. It panics when a required part of cfg is missing
// (a programming error).
func New(cfg Config) *Scheduler {
	if cfg.DB == nil || cfg.Store == nil || cfg.Projections == nil || cfg.Deadlines == nil || cfg.Dispatch == nil {
		panic("scheduler: Config needs DB, Store, Projections, Deadlines and Dispatch")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{cfg: cfg, log: log}
}

// Due runs one pass as of now: it waits until the deadlines model has caught
// up with the log's head (so it sees every deadline set or cleared before
// the pass began; if it cannot, the pass fails with errs.Unavailable and does
// nothing), lists the deadlines due at now (due_at <= now) that are still
// set, oldest first, and dispatches each with its CommandID. A failed
// dispatch (an error or a panic) is counted and reported, and the pass goes
// on. The error is nil unless the pass could not run or ctx ended.
func (s *Scheduler) Due(ctx context.Context, now time.Time) (rep Report, err error) {
	const op = errs.Op("scheduler.Due")
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	rep.AsOf = now
	defer func() {
		rep.Took = time.Since(start)
		if s.cfg.OnPass != nil {
			s.cfg.OnPass(rep, err)
		}
	}()
	head, err := s.cfg.Store.Head(ctx)
	if err != nil {
		return rep, errs.E(op, err)
	}
	if err := s.cfg.Projections.WaitFor(ctx, s.cfg.Deadlines.Name(), head); err != nil {
		return rep, errs.E(op, err)
	}
	rep.Position = head
	due, err := s.list(ctx, now)
	if err != nil {
		return rep, errs.E(op, err)
	}
	rep.Considered = len(due)
	for _, d := range due {
		if err := ctx.Err(); err != nil {
			return rep, errs.E(op, errs.Unavailable, "pasada interrumpida", err)
		}
		out, err := s.dispatch(ctx, d)
		switch {
		case err != nil:
			rep.Failed++
			rep.Failures = append(rep.Failures, Failure{Deadline: d, Err: err})
			s.log.Error("deadline dispatch failed", "deadline", d.ID, "action", d.Action, "due", d.DueAt, "error", err)
		case out == AlreadyDone:
			rep.AlreadyDone++
		default:
			rep.Acted++
		}
	}
	return rep, nil
}

// dispatch calls the dispatcher, turning a panic into an error.
func (s *Scheduler) dispatch(ctx context.Context, d Deadline) (out Outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errs.E(errs.Internal, fmt.Sprintf("pánico al ejecutar el plazo %s: %v", d.ID, p))
		}
	}()
	return s.cfg.Dispatch(ctx, d, CommandID(d))
}

// list returns the deadlines due at now that are still set, by due time.
func (s *Scheduler) list(ctx context.Context, now time.Time) ([]Deadline, error) {
	rows, err := s.cfg.DB.QueryContext(ctx, `SELECT id, due_ns, action, target, payload FROM `+s.cfg.Deadlines.Table()+`
		WHERE state = 'set' AND due_ns <= ? ORDER BY due_ns, id`, now.UnixNano())
	if err != nil {
		return nil, errs.E(errs.Unavailable, err)
	}
	defer rows.Close()
	var out []Deadline
	for rows.Next() {
		var d Deadline
		var ns int64
		var payload string
		if err := rows.Scan(&d.ID, &ns, &d.Action, &d.Target, &payload); err != nil {
			return nil, errs.E(errs.Internal, err)
		}
		d.DueAt = time.Unix(0, ns).UTC()
		if payload != "null" {
			d.Payload = json.RawMessage(payload)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E(errs.Unavailable, err)
	}
	return out, nil
}

// Pending lists the deadlines still set, due or not, by due time (for
// operators and tests).
func (s *Scheduler) Pending(ctx context.Context) ([]Deadline, error) {
	return s.list(ctx, time.Unix(0, 1<<63-1))
}

// ValidateAsOf checks the instant of a pass run by hand: with the system
// clock a pass in the future is refused (errs.Precondition): it would act on
// deadlines before their time. With a manual clock any instant is accepted.
func ValidateAsOf(clk clock.Clock, asOf time.Time) error {
	if _, manual := clk.(*clock.Manual); manual {
		return nil
	}
	if now := clk.Now(); asOf.After(now) {
		return errs.E(errs.Op("scheduler.ValidateAsOf"), errs.Precondition,
			fmt.Sprintf("no se puede ejecutar una pasada en el futuro (%s) con el reloj del sistema (%s)", asOf.Format(time.RFC3339), now.Format(time.RFC3339)))
	}
	return nil
}
