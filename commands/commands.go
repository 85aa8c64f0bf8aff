// Package commands is the one pipeline every aggregate's commands go through:
// load the aggregate by folding its stream, decide (a pure function of the
// state and the current time), append the new events expecting the revision
// that was loaded, and on a concurrency conflict load and decide again, a
// bounded number of times.
//
// Aggregates are explicit values (Aggregate) with their own event Codec; there
// is no global registry. The domain supplies pure Evolve and decide
// functions; this package supplies the rails: metadata on every event,
// deterministic event IDs derived from the command ID, idempotent repeats, and
// reads of the state as of a past instant or revision.
package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/errs"
	"redengine/eventstore"
)

// Event is a recorded event as Evolve sees it: the decoded domain event and
// where and when it was recorded.
type Event struct {
	Data     any // the domain event, a value of a type declared in the codec, at its current schema version
	Type     string
	ID       uuid.UUID
	Revision uint64
	Position eventstore.Position
	Metadata eventstore.Metadata
}

// Aggregate describes one kind of aggregate: the category that prefixes its
// streams ("<Category>-<id>"), the codec of its events, its initial state and
// how an event changes the state. Evolve must be pure and must not mutate
// state shared with the previous value it receives (return a new value, or
// copy maps and slices before changing them).
type Aggregate[S any] struct {
	Category string
	Codec    *Codec
	Initial  func() S // nil: the zero S
	Evolve   func(state S, e Event) S
}

// Stream returns the name of the stream of the aggregate with the given ID.
func (a Aggregate[S]) Stream(id string) string { return a.Category + "-" + id }

// Decide is a command's decision: given the current state and the time now
// (from the engine's clock), it returns the domain events to append, or an
// error (usually errs.Invalid, errs.Precondition or errs.Forbidden) and then
// nothing is appended. It must be pure: the pipeline may call it again after
// a conflict, on a newer state.
type Decide[S any] func(state S, now time.Time) ([]any, error)

// Meta is what a command carries besides its decision, copied onto the
// metadata of every event it appends.
type Meta struct {
	// CommandID identifies the command; repeats of the same ID append
	// nothing and return the first result. Derive it with IDFromKey from an
	// Idempotency-Key, or use NewCommandID. The zero UUID means "new".
	CommandID uuid.UUID
	// CorrelationID groups everything caused by one request (from
	// X-Correlation-ID); empty: the command ID.
	CorrelationID string
	// CausationID is what caused this command (the request, an event ID for
	// a process manager, a deadline for the scheduler); empty: the command ID.
	CausationID string
	// Actor is who issues the command.
	Actor eventstore.Actor
}

// Loaded is an aggregate's state read from its stream.
type Loaded[S any] struct {
	Stream string
	State  S
	// Exists is false when the stream has no events (up to the point asked);
	// then State is the initial state and Revision and Position are zero.
	Exists bool
	// Revision and Position are those of the last event folded.
	Revision uint64
	Position eventstore.Position
	// LastOccurredAt is the OccurredAt of the last event folded.
	LastOccurredAt time.Time
}

// Result is the outcome of a handled command.
type Result[S any] struct {
	Stream string
	// Revision and Position are those of the last event the command wrote
	// (or, for a repeat, wrote the first time). When the decision produced no
	// events they are those of the stream as loaded (zero if it is empty).
	Revision uint64
	Position eventstore.Position
	// Events are the recorded events of the command, as stored.
	Events []eventstore.Event
	// Duplicate is true when the command ID was already in the stream and
	// nothing was appended.
	Duplicate bool
	// State is the aggregate's state after the command (for a repeat: the
	// current state of the stream).
	State S
}

// DefaultMaxAttempts is how many times Handle loads and decides before giving
// up on a stream that keeps changing under it.
const DefaultMaxAttempts = 5

// Handler runs commands for one aggregate type against a store. It is safe
// for concurrent use.
type Handler[S any] struct {
	store       eventstore.Store
	clock       clock.Clock
	agg         Aggregate[S]
	maxAttempts int
	onConflict  func(stream string, attempt int)
}

// Option configures a Handler.
type Option func(*options)

type options struct {
	maxAttempts int
	onConflict  func(string, int)
}

// WithMaxAttempts sets how many load-decide-append rounds Handle tries
// before returning an errs.Conflict error (default DefaultMaxAttempts).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithConflictHook calls fn each time an append loses a concurrency race and
// the command is retried (for metrics).
func WithConflictHook(fn func(stream string, attempt int)) Option {
	return func(o *options) { o.onConflict = fn }
}

// NewHandler returns the command pipeline of an aggregate. It panics if the
// aggregate has no Category, Codec or Evolve (a programming error).
func NewHandler[S any](store eventstore.Store, clk clock.Clock, agg Aggregate[S], opts ...Option) *Handler[S] {
	if agg.Category == "" || agg.Codec == nil || agg.Evolve == nil {
		panic("commands: aggregate needs Category, Codec and Evolve")
	}
	o := options{maxAttempts: DefaultMaxAttempts}
	for _, f := range opts {
		f(&o)
	}
	if o.maxAttempts < 1 {
		o.maxAttempts = 1
	}
	return &Handler[S]{store: store, clock: clk, agg: agg, maxAttempts: o.maxAttempts, onConflict: o.onConflict}
}

// Aggregate returns the aggregate the handler serves.
func (h *Handler[S]) Aggregate() Aggregate[S] { return h.agg }

// Handle runs a command on the aggregate with the given ID (its stream is
// Aggregate.Stream(id)):
//
//  1. load: fold the stream into the state, remembering its revision (a
//     missing stream gives the initial state);
//  2. if an event of the stream already carries meta.CommandID, return the
//     result of that first run with Duplicate set, appending nothing;
//  3. decide with the clock's now; an error is returned as it is, and nothing
//     is appended;
//  4. append with the loaded revision as the expected one (NoStream when the
//     stream was missing); on a *eventstore.WrongExpectedVersionError go back
//     to 1, at most the configured number of attempts, then fail with
//     errs.Conflict.
//
// Every event gets the command's metadata, OccurredAt from the clock and an ID
// derived from the command ID and its index (EventID), so a retried append of
// the same decision is idempotent at the store as well.
func (h *Handler[S]) Handle(ctx context.Context, id string, meta Meta, decide Decide[S]) (Result[S], error) {
	const op = errs.Op("commands.Handle")
	if meta.CommandID == uuid.Nil {
		meta.CommandID = NewCommandID()
	}
	cmd := meta.CommandID.String()
	if meta.CorrelationID == "" {
		meta.CorrelationID = cmd
	}
	if meta.CausationID == "" {
		meta.CausationID = cmd
	}
	stream := h.agg.Stream(id)
	var lastErr error
	for attempt := 1; attempt <= h.maxAttempts; attempt++ {
		l, prior, err := h.load(ctx, stream, nil, cmd)
		if err != nil {
			return Result[S]{}, err
		}
		if len(prior) > 0 {
			last := prior[len(prior)-1]
			return Result[S]{Stream: stream, Revision: last.Revision, Position: last.Position, Events: prior, Duplicate: true, State: l.State}, nil
		}
		now := h.clock.Now()
		domain, err := decide(l.State, now)
		if err != nil {
			return Result[S]{}, err
		}
		if len(domain) == 0 {
			return Result[S]{Stream: stream, Revision: l.Revision, Position: l.Position, State: l.State}, nil
		}
		md := eventstore.Metadata{
			CorrelationID: meta.CorrelationID,
			CausationID:   meta.CausationID,
			CommandID:     cmd,
			Actor:         meta.Actor,
			OccurredAt:    now,
		}
		proposed := make([]eventstore.EventData, len(domain))
		for i, ev := range domain {
			name, version, data, err := h.agg.Codec.Encode(ev)
			if err != nil {
				return Result[S]{}, errs.E(op, err)
			}
			proposed[i] = eventstore.EventData{ID: EventID(meta.CommandID, stream, i), Type: name, SchemaVersion: version, Data: data, Metadata: md}
		}
		expected := eventstore.NoStream
		if l.Exists {
			expected = eventstore.Revision(l.Revision)
		}
		ar, err := h.store.Append(ctx, stream, expected, proposed...)
		var wrong *eventstore.WrongExpectedVersionError
		if errors.As(err, &wrong) {
			lastErr = err
			if h.onConflict != nil {
				h.onConflict(stream, attempt)
			}
			continue
		}
		if err != nil {
			return Result[S]{}, errs.E(op, err)
		}
		// Read back what is stored: the full envelopes (positions, hashes),
		// and, when a concurrent duplicate won the race, its events rather
		// than ours. A failure here is safe to retry: the repeat is found.
		n := uint64(len(proposed))
		first := ar.NextRevision + 1 - n
		recorded, err := h.store.ReadStream(ctx, stream, first, eventstore.Forward, len(proposed))
		if err != nil {
			return Result[S]{}, errs.E(op, "leyendo los eventos recién escritos", err)
		}
		state := l.State
		for _, e := range recorded {
			ev, err := h.decode(e)
			if err != nil {
				return Result[S]{}, errs.E(op, err)
			}
			state = h.agg.Evolve(state, ev)
		}
		return Result[S]{Stream: stream, Revision: ar.NextRevision, Position: ar.Position, Events: recorded, State: state}, nil
	}
	return Result[S]{}, errs.E(op, errs.Conflict,
		fmt.Sprintf("el expediente cambió %d veces mientras se procesaba la orden; vuelva a intentarlo", h.maxAttempts), lastErr)
}

// Load folds the whole stream of the aggregate with the given ID. A missing
// stream is not an error: Exists is false and State is the initial state.
func (h *Handler[S]) Load(ctx context.Context, id string) (Loaded[S], error) {
	l, _, err := h.load(ctx, h.agg.Stream(id), nil, "")
	return l, err
}

// Point says where LoadAt stops folding: at an instant or at a revision.
type Point struct {
	asOf     time.Time
	revision uint64
	byRev    bool
}

// AsOf stops at the last event whose OccurredAt (the engine clock's time
// when the command ran) is not after t.
func AsOf(t time.Time) Point { return Point{asOf: t} }

// AtRevision stops at revision r (included).
func AtRevision(r uint64) Point { return Point{revision: r, byRev: true} }

func (p Point) includes(e *eventstore.Event) bool {
	if p.byRev {
		return e.Revision <= p.revision
	}
	return !e.Metadata.OccurredAt.After(p.asOf)
}

// LoadAt folds the stream of the aggregate up to a point: the state as it
// was then (GET …?asOf= or ?revision=). Asking for a revision the stream has
// not reached is an errs.NotFound error; an instant before the first event
// gives Exists false.
func (h *Handler[S]) LoadAt(ctx context.Context, id string, at Point) (Loaded[S], error) {
	l, _, err := h.load(ctx, h.agg.Stream(id), &at, "")
	if err != nil {
		return l, err
	}
	if at.byRev && (!l.Exists || l.Revision < at.revision) {
		return Loaded[S]{}, errs.E(errs.Op("commands.LoadAt"), errs.NotFound,
			fmt.Sprintf("la revisión %d no existe en %s", at.revision, l.Stream))
	}
	return l, nil
}

// readPage is how many events load reads from the store at a time.
const readPage = 512

// load folds stream (up to at, when not nil) and collects the events whose
// command ID is cmd (when not empty).
func (h *Handler[S]) load(ctx context.Context, stream string, at *Point, cmd string) (Loaded[S], []eventstore.Event, error) {
	const op = errs.Op("commands.Load")
	l := Loaded[S]{Stream: stream}
	if h.agg.Initial != nil {
		l.State = h.agg.Initial()
	}
	var prior []eventstore.Event
	var from uint64
	for {
		page, err := h.store.ReadStream(ctx, stream, from, eventstore.Forward, readPage)
		var nf *eventstore.StreamNotFoundError
		if errors.As(err, &nf) {
			return l, nil, nil
		}
		if err != nil {
			return Loaded[S]{}, nil, errs.E(op, err)
		}
		for i := range page {
			e := &page[i]
			if at != nil && !at.includes(e) {
				return l, prior, nil
			}
			ev, err := h.decode(*e)
			if err != nil {
				return Loaded[S]{}, nil, errs.E(op, err)
			}
			l.State = h.agg.Evolve(l.State, ev)
			l.Exists = true
			l.Revision = e.Revision
			l.Position = e.Position
			l.LastOccurredAt = e.Metadata.OccurredAt
			if cmd != "" && e.Metadata.CommandID == cmd {
				prior = append(prior, *e)
			}
		}
		if len(page) < readPage {
			return l, prior, nil
		}
		from = page[len(page)-1].Revision + 1
	}
}

func (h *Handler[S]) decode(e eventstore.Event) (Event, error) {
	v, err := h.agg.Codec.Decode(e)
	if err != nil {
		return Event{}, err
	}
	return Event{Data: v, Type: e.Type, ID: e.ID, Revision: e.Revision, Position: e.Position, Metadata: e.Metadata}, nil
}
