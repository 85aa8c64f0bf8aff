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
	"hash/maphash"
	"slices"
	"sync"
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
// a conflict, on a newer state. It must not modify the state it receives
// (its slices, maps and pointees may be shared with the handler's cache).
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

// Metadata is the metadata of the events a command with meta appends at
// now: correlation and causation default to the command ID.
func (meta Meta) Metadata(now time.Time) eventstore.Metadata {
	cmd := meta.CommandID.String()
	md := eventstore.Metadata{CorrelationID: meta.CorrelationID, CausationID: meta.CausationID, CommandID: cmd,
		Actor: meta.Actor, OccurredAt: now}
	if md.CorrelationID == "" {
		md.CorrelationID = cmd
	}
	if md.CausationID == "" {
		md.CausationID = cmd
	}
	return md
}

// Loaded is an aggregate's state read from its stream. State may be shared
// with the handler's cache: treat it as read-only (copy slices and maps
// before changing them).
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
	// current state of the stream). It may be shared with the handler's
	// cache: treat it as read-only.
	State S
}

// DefaultMaxAttempts is how many times Handle loads and decides before giving
// up on a stream that keeps changing under it.
const DefaultMaxAttempts = 5

// Handler runs commands for one aggregate type against a store. It is safe
// for concurrent use.
//
// A Handler keeps the folded state of the streams it used last (an LRU of
// WithCacheSize streams): a command on a cached stream reads only the events
// after the cached revision, so it costs O(new events) rather than O(stream
// length), and the first attempt reads nothing. The append still expects
// the revision the decision saw, so events written by anyone else (another
// Handler, node or process) make it fail and the command is decided again on
// them: the cache changes no guarantee.
//
// Commands of one Handler on one stream take turns (in arrival order, as
// far as Go's scheduler goes): a command that would only lose the race to
// another one of this process waits for it instead, and then decides on the
// state it left, already cached.
type Handler[S any] struct {
	store       eventstore.Store
	clock       clock.Clock
	agg         Aggregate[S]
	maxAttempts int
	onConflict  func(stream string, attempt int)
	cache       *stateCache[S]     // nil: disabled
	seed        maphash.Seed       // of the command-ID hashes of cached entries
	changes     eventstore.Changes // the store's, if it tracks changes; else nil

	turnsMu sync.Mutex
	turns   map[string]*streamTurn[S] // streams with a command running or waiting
}

// streamTurn is the turn of one stream's commands in a Handler.
type streamTurn[S any] struct {
	ch      chan struct{} // holds a token while a command runs
	users   int           // commands running or waiting; guarded by turnsMu
	pending []*pending[S] // commands waiting, in arrival order; guarded by turnsMu
}

// pending is a command waiting for its stream's turn. Whoever holds the
// turn may run it (then done is set, and res and err are its answer).
type pending[S any] struct {
	ctx         context.Context
	meta        Meta
	decide      Decide[S]
	provisional bool // answered at the commit (HandleProvisional)
	done        bool
	res         Result[S]
	err         error
}

func (p *pending[S]) finish(res Result[S], err error) { p.res, p.err, p.done = res, err, true }

// maxBatch bounds the commands one turn decides and appends together.
const maxBatch = 64

// turn queues p on stream and waits for the stream's turn; the returned
// func ends it.
func (h *Handler[S]) turn(ctx context.Context, stream string, p *pending[S]) (func(), error) {
	h.turnsMu.Lock()
	if h.turns == nil {
		h.turns = map[string]*streamTurn[S]{}
	}
	t := h.turns[stream]
	if t == nil {
		t = &streamTurn[S]{ch: make(chan struct{}, 1)}
		h.turns[stream] = t
	}
	t.users++
	t.pending = append(t.pending, p)
	h.turnsMu.Unlock()
	leave := func() {
		h.turnsMu.Lock()
		if t.users--; t.users == 0 {
			delete(h.turns, stream)
		}
		h.turnsMu.Unlock()
	}
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; leave() }, nil
	case <-ctx.Done():
		h.turnsMu.Lock()
		if i := slices.Index(t.pending, p); i >= 0 {
			t.pending = slices.Delete(t.pending, i, i+1)
		}
		h.turnsMu.Unlock()
		leave()
		return nil, errs.E(errs.Op("commands.Handle"), errs.Unavailable, ctx.Err())
	}
}

// runTurn runs the commands waiting on stream, p (not done) among them,
// holding the stream's turn: several are decided one after the other and
// appended together (runBatch); what cannot be batched runs alone.
func (h *Handler[S]) runTurn(stream string, p *pending[S]) {
	h.turnsMu.Lock()
	t := h.turns[stream]
	var batch []*pending[S]
	if i := slices.Index(t.pending, p); i >= 0 {
		n := max(i+1, min(len(t.pending), maxBatch))
		batch = slices.Clone(t.pending[:n])
		t.pending = slices.Delete(t.pending, 0, n)
	}
	h.turnsMu.Unlock()
	if len(batch) == 0 {
		batch = []*pending[S]{p}
	}
	var alone []*pending[S]
	if len(batch) > 1 && h.cache != nil {
		alone = h.runBatch(stream, batch)
	} else {
		alone = batch
	}
	for _, q := range alone {
		if err := q.ctx.Err(); err != nil {
			q.finish(Result[S]{}, errs.E(errs.Op("commands.Handle"), errs.Unavailable, err))
			continue
		}
		q.finish(h.handleOne(q.ctx, stream, q.meta, q.decide, q.provisional))
	}
}

// runBatch decides the commands of batch one after the other, each on the
// state the previous ones leave, on the state this handler has cached
// (trusted: the append proves it current), and appends all their events in
// one append: one durable write for many commands of a hot stream. Only
// acceptances are batched: a command that is a repeat, refuses, decides
// nothing, or whose batch append fails is returned to run alone (handleOne)
// after the batch, on the stored state.
func (h *Handler[S]) runBatch(stream string, batch []*pending[S]) (alone []*pending[S]) {
	const op = errs.Op("commands.Handle")
	ctx := context.WithoutCancel(batch[0].ctx)
	cur, _, _, err := h.current(ctx, stream, "", true, true)
	if err != nil {
		return batch
	}
	now := h.clock.Now()
	state := cur.State
	type accepted struct {
		p        *pending[S]
		from, to int // its events in proposed
	}
	var (
		taken    []accepted
		proposed []eventstore.EventData
	)
	for _, p := range batch {
		if p.ctx.Err() != nil || cur.cmds.has(h.hash(p.meta.CommandID.String())) {
			alone = append(alone, p)
			continue
		}
		domain, err := p.decide(state, now)
		if err != nil || len(domain) == 0 {
			alone = append(alone, p)
			continue
		}
		md := p.meta.Metadata(now)
		from := len(proposed)
		ok := true
		next := state
		for i, ev := range domain {
			name, version, data, err := h.agg.Codec.Encode(ev)
			if err != nil {
				ok = false
				break
			}
			proposed = append(proposed, eventstore.EventData{ID: EventID(p.meta.CommandID, stream, i), Type: name,
				SchemaVersion: version, Data: data, Metadata: md, Marshaled: true})
			next = h.agg.Evolve(next, Event{Data: ev, Type: name, ID: proposed[len(proposed)-1].ID, Metadata: md})
		}
		if !ok {
			proposed = proposed[:from]
			alone = append(alone, p)
			continue
		}
		state = next
		taken = append(taken, accepted{p: p, from: from, to: len(proposed)})
	}
	if len(taken) == 0 {
		return alone
	}
	back := func() []*pending[S] {
		out := make([]*pending[S], 0, len(taken)+len(alone))
		for _, a := range taken {
			out = append(out, a.p)
		}
		return append(out, alone...)
	}
	expected := eventstore.NoStream
	if cur.Exists {
		expected = eventstore.Revision(cur.Revision)
	}
	provisional := true
	for _, a := range taken {
		provisional = provisional && a.p.provisional
	}
	ar, err := h.append(ctx, provisional, stream, expected, proposed...)
	if err != nil {
		var wrong *eventstore.WrongExpectedVersionError
		if errors.As(err, &wrong) && h.cache != nil && cur.Exists && (wrong.Current < 0 || uint64(wrong.Current) < cur.Revision) {
			h.cache.drop(stream)
		}
		return back() // each on its own, on the stored state
	}
	first := ar.NextRevision + 1 - uint64(len(proposed))
	recorded := ar.Events
	if len(recorded) != len(proposed) {
		if recorded, err = h.store.ReadStream(ctx, stream, first, eventstore.Forward, len(proposed)); err != nil || len(recorded) != len(proposed) {
			if err == nil {
				err = errs.E(errs.Internal, "los eventos recién escritos no están completos")
			}
			for _, a := range taken {
				a.p.finish(Result[S]{}, errs.E(op, "leyendo los eventos recién escritos", err))
			}
			return alone
		}
	}
	state = cur.State
	hashes := make([]uint64, 0, len(taken))
	for _, a := range taken {
		evs := recorded[a.from:a.to]
		for _, e := range evs {
			ev, err := h.decode(e)
			if err != nil {
				a.p.finish(Result[S]{}, errs.E(op, err))
				break
			}
			state = h.agg.Evolve(state, ev)
		}
		hashes = append(hashes, h.hash(a.p.meta.CommandID.String()))
		if a.p.done {
			continue
		}
		last := evs[len(evs)-1]
		dup := !evs[0].Metadata.OccurredAt.Equal(now)
		a.p.finish(Result[S]{Stream: stream, Revision: last.Revision, Position: last.Position, Events: evs, Duplicate: dup, State: state}, nil)
	}
	h.remember(cur, recorded, state, first, ar, hashes)
	return alone
}

// Option configures a Handler.
type Option func(*options)

type options struct {
	maxAttempts int
	onConflict  func(string, int)
	cacheSize   int
}

// WithCacheSize sets how many streams the handler keeps folded in memory
// (default DefaultCacheSize); 0 disables the cache, and then every command
// and Load folds its stream from the start.
func WithCacheSize(n int) Option { return func(o *options) { o.cacheSize = n } }

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
	o := options{maxAttempts: DefaultMaxAttempts, cacheSize: DefaultCacheSize}
	for _, f := range opts {
		f(&o)
	}
	if o.maxAttempts < 1 {
		o.maxAttempts = 1
	}
	h := &Handler[S]{store: store, clock: clk, agg: agg, maxAttempts: o.maxAttempts, onConflict: o.onConflict,
		cache: newStateCache[S](o.cacheSize), seed: maphash.MakeSeed()}
	if c, ok := store.(eventstore.Changes); ok && h.cache != nil {
		h.changes = c
	}
	return h
}

// CachedStreams returns how many streams the handler holds folded in memory.
func (h *Handler[S]) CachedStreams() int {
	if h.cache == nil {
		return 0
	}
	return h.cache.len()
}

// Aggregate returns the aggregate the handler serves.
func (h *Handler[S]) Aggregate() Aggregate[S] { return h.agg }

// Handle runs a command on the aggregate with the given ID (its stream is
// Aggregate.Stream(id)):
//
//  1. load: fold the stream into the state, remembering its revision (a
//     missing stream gives the initial state); a cached stream is brought up
//     to date by folding only the events after its cached revision — or, on
//     the first attempt, taken as cached without reading: the append at its
//     revision (step 4) fails if the stream has moved on, and a refusal or
//     an empty decision on it is decided again on a state read from the
//     store. On a store that tracks changes (eventstore.Changes), a cached
//     stream it vouches for is current without a read, and on the first
//     attempt a stream not cached is taken to be missing (the append
//     expecting no stream proves it; see current);
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
//
// Commands of this handler on one stream take turns; the one that gets the
// turn also decides the acceptances queued behind it and appends their
// events with its own in one append (see runBatch). A command whose ctx
// ends while it waits answers errs.Unavailable (it may still have been
// run by the turn's holder: retry with the same command ID).
func (h *Handler[S]) Handle(ctx context.Context, id string, meta Meta, decide Decide[S]) (Result[S], error) {
	return h.handle(ctx, id, meta, decide, false)
}

// HandleProvisional is Handle answered as soon as the events are in the
// log, before they are durable, on a store that offers it
// (eventstore.Provisional; elsewhere it is Handle). It is meant for a step
// nobody is told of until a durable append that follows it is acknowledged
// — a person reserved for the NSS assignment requested next, a number
// issued for the confirmation recorded next: the later append lands after
// it in the log, so its durability covers both, and the pair waits for the
// disk once. A crash before that may lose the step, and with it only
// commands nobody was answered for. Its result must not be reported to
// anyone as done.
func (h *Handler[S]) HandleProvisional(ctx context.Context, id string, meta Meta, decide Decide[S]) (Result[S], error) {
	return h.handle(ctx, id, meta, decide, true)
}

func (h *Handler[S]) handle(ctx context.Context, id string, meta Meta, decide Decide[S], provisional bool) (Result[S], error) {
	if meta.CommandID == uuid.Nil {
		meta.CommandID = NewCommandID()
	}
	stream := h.agg.Stream(id)
	p := &pending[S]{ctx: ctx, meta: meta, decide: decide, provisional: provisional}
	done, err := h.turn(ctx, stream, p)
	if err != nil {
		return Result[S]{}, err
	}
	defer done()
	if !p.done {
		h.runTurn(stream, p)
	}
	return p.res, p.err
}

// handleOne runs one command on stream, holding the stream's turn (see
// Handle).
func (h *Handler[S]) handleOne(ctx context.Context, stream string, meta Meta, decide Decide[S], provisional bool) (Result[S], error) {
	const op = errs.Op("commands.Handle")
	cmd := meta.CommandID.String()
	var lastErr error
	trust := true
	for attempt := 1; attempt <= h.maxAttempts; attempt++ {
		// The first attempt trusts a cached state without reading: the
		// append at its revision fails if the stream moved on since, and
		// the next attempt reads. Only an acceptance is proved fresh that
		// way, so a refusal (or a decision to do nothing) on a trusted state
		// is decided again on a state read from the store.
		cur, prior, trusted, err := h.current(ctx, stream, cmd, trust, trust)
		if err != nil {
			return Result[S]{}, err
		}
		l := cur.Loaded
		if len(prior) > 0 {
			last := prior[len(prior)-1]
			return Result[S]{Stream: stream, Revision: last.Revision, Position: last.Position, Events: prior, Duplicate: true, State: l.State}, nil
		}
		now := h.clock.Now()
		domain, err := decide(l.State, now)
		if trusted && (err != nil || len(domain) == 0) {
			trust = false
			attempt--
			continue
		}
		if err != nil {
			return Result[S]{}, err
		}
		if len(domain) == 0 {
			return Result[S]{Stream: stream, Revision: l.Revision, Position: l.Position, State: l.State}, nil
		}
		md := meta.Metadata(now)
		proposed := make([]eventstore.EventData, len(domain))
		ids := EventIDs(meta.CommandID, stream)
		for i, ev := range domain {
			name, version, data, err := h.agg.Codec.Encode(ev)
			if err != nil {
				return Result[S]{}, errs.E(op, err)
			}
			proposed[i] = eventstore.EventData{ID: ids(i), Type: name, SchemaVersion: version, Data: data, Metadata: md, Marshaled: true}
		}
		expected := eventstore.NoStream
		if l.Exists {
			expected = eventstore.Revision(l.Revision)
		}
		ar, err := h.append(ctx, provisional, stream, expected, proposed...)
		var wrong *eventstore.WrongExpectedVersionError
		if errors.As(err, &wrong) {
			lastErr = err
			if h.cache != nil && l.Exists && (wrong.Current < 0 || uint64(wrong.Current) < l.Revision) {
				// The stream is behind what the cache says (it cannot
				// shrink, but if it did, only a fold from the start is
				// right): forget it.
				h.cache.drop(stream)
			}
			if trusted && !l.Exists {
				// Not a race: the stream taken to be missing exists.
				trust = false
				attempt--
				continue
			}
			if h.onConflict != nil {
				h.onConflict(stream, attempt)
			}
			trust = false
			continue
		}
		if err != nil {
			return Result[S]{}, errs.E(op, err)
		}
		if trusted && !l.Exists && ar.Mark.IsZero() {
			// The stream taken to be missing holds these very events: a
			// repeat of the command that created it. Answer it as any
			// repeat, from the stream as it stands.
			trust = false
			attempt--
			continue
		}
		// The full envelopes (positions, hashes) as stored: those the store
		// returned, or else read back — which also finds, when a concurrent
		// duplicate won the race, its events rather than ours. A failure
		// here is safe to retry: the repeat is found.
		n := uint64(len(proposed))
		first := ar.NextRevision + 1 - n
		recorded := ar.Events
		if len(recorded) != len(proposed) {
			recorded, err = h.store.ReadStream(ctx, stream, first, eventstore.Forward, len(proposed))
			if err != nil {
				return Result[S]{}, errs.E(op, "leyendo los eventos recién escritos", err)
			}
		}
		state := l.State
		var hashes []uint64
		for _, e := range recorded {
			ev, err := h.decode(e)
			if err != nil {
				return Result[S]{}, errs.E(op, err)
			}
			state = h.agg.Evolve(state, ev)
			if h.cache != nil && e.Metadata.CommandID != "" {
				hashes = append(hashes, h.hash(e.Metadata.CommandID))
			}
		}
		h.remember(cur, recorded, state, first, ar, hashes)
		// A concurrent copy of this command (another node, the same command
		// ID) may have appended the same event IDs first: the store then
		// took ours as a repeat and wrote nothing. Its events carry its own
		// OccurredAt; ours carry now.
		dup := len(recorded) > 0 && !recorded[0].Metadata.OccurredAt.Equal(now)
		return Result[S]{Stream: stream, Revision: ar.NextRevision, Position: ar.Position, Events: recorded, Duplicate: dup, State: state}, nil
	}
	return Result[S]{}, errs.E(op, errs.Conflict,
		fmt.Sprintf("el expediente cambió %d veces mientras se procesaba la orden; vuelva a intentarlo", h.maxAttempts), lastErr)
}

// append appends to the store, provisionally if asked (HandleProvisional).
func (h *Handler[S]) append(ctx context.Context, provisional bool, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if provisional {
		return eventstore.AppendProvisional(ctx, h.store, stream, expected, events...)
	}
	return h.store.Append(ctx, stream, expected, events...)
}

// Load folds the whole stream of the aggregate with the given ID (a cached
// stream: from its cached state, the events after it). A missing stream is
// not an error: Exists is false and State is the initial state.
func (h *Handler[S]) Load(ctx context.Context, id string) (Loaded[S], error) {
	e, _, _, err := h.current(ctx, h.agg.Stream(id), "", true, false)
	if err != nil {
		return Loaded[S]{}, err
	}
	return e.Loaded, nil
}

// Peek returns the state of the aggregate as this handler last saw it,
// without reading the store when the stream is cached (otherwise it loads
// it, like Load). The state may be behind the store (another node may have
// written since): use it only for facts that never change once written —
// which autorización a case belongs to, that it exists — and let Handle
// decide on the current state.
func (h *Handler[S]) Peek(ctx context.Context, id string) (Loaded[S], error) {
	if l, ok := h.Cached(id); ok {
		return l, nil
	}
	return h.Load(ctx, id)
}

// Cached returns the state of the aggregate as this handler holds it in
// memory, without any I/O, and whether it holds it at all. Like Peek's, the
// state may be behind the store.
func (h *Handler[S]) Cached(id string) (Loaded[S], bool) {
	if h.cache == nil {
		return Loaded[S]{}, false
	}
	if e := h.cache.get(h.agg.Stream(id)); e != nil {
		return e.Loaded, true
	}
	return Loaded[S]{}, false
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
// gives Exists false. It always folds from the start of the stream (the
// cache holds only the latest state).
func (h *Handler[S]) LoadAt(ctx context.Context, id string, at Point) (Loaded[S], error) {
	e, _, err := h.load(ctx, h.agg.Stream(id), &at, "", false)
	if err != nil {
		return Loaded[S]{}, err
	}
	l := e.Loaded
	if at.byRev && (!l.Exists || l.Revision < at.revision) {
		return Loaded[S]{}, errs.E(errs.Op("commands.LoadAt"), errs.NotFound,
			fmt.Sprintf("la revisión %d no existe en %s", at.revision, l.Stream))
	}
	return l, nil
}

// readPage is how many events load reads from the store at a time.
const readPage = 512

// initial returns the Loaded of a stream with no events.
func (h *Handler[S]) initial(stream string) Loaded[S] {
	l := Loaded[S]{Stream: stream}
	if h.agg.Initial != nil {
		l.State = h.agg.Initial()
	}
	return l
}

func (h *Handler[S]) hash(cmd string) uint64 { return maphash.String(h.seed, cmd) }

// current returns stream folded up to its last event and the events whose
// command ID is cmd (when not empty). With the cache on, a cached stream is
// brought up to date by folding only the events after its cached revision
// (found: the cache is updated); a stream not cached, or one whose cached
// command IDs may include cmd (a repeat of an older command, rare), is
// folded from the start. With trust, a cached stream whose command IDs
// do not include cmd is returned as cached, without reading: the caller
// appends at its revision, which fails if the stream has moved on. With
// vouch, a cached stream the store vouches for (eventstore.Changes) is
// returned as cached and not trusted: it is current. A command that lost an
// append race asks without vouch: a process that committed may not have
// counted its commit yet (it does before it answers).
func (h *Handler[S]) current(ctx context.Context, stream, cmd string, vouch, trust bool) (e *entry[S], prior []eventstore.Event, trusted bool, err error) {
	if h.cache == nil {
		e, prior, err = h.load(ctx, stream, nil, cmd, false)
		return e, prior, false, err
	}
	base := h.cache.get(stream)
	if base == nil && trust && cmd != "" && !h.mark().IsZero() {
		// A stream the handler has not cached is taken to be missing (a
		// case opening, an NSS request: new streams, nothing to read). The
		// append expecting no stream proves it; if the stream exists, the
		// append fails, or — a repeat of the command that created it —
		// writes nothing and carries no mark, and the command runs again
		// on the stream as read (handleOne). Only on a store that tracks
		// changes: its marks tell a written append from a repeat.
		return &entry[S]{Loaded: h.initial(stream)}, nil, true, nil
	}
	if base == nil || (cmd != "" && base.cmds.has(h.hash(cmd))) {
		e, prior, err = h.load(ctx, stream, nil, cmd, true)
		return e, prior, false, err
	}
	if vouch && h.vouched(stream, base) {
		// As good as a read: the store vouches that nothing was appended
		// to the stream since the cached state was read or written.
		return base, nil, false, nil
	}
	if trust {
		return base, nil, true, nil
	}
	e, prior, err = h.refresh(ctx, stream, cmd, base)
	return e, prior, false, err
}

// refresh brings the cached base of stream up to date.
func (h *Handler[S]) refresh(ctx context.Context, stream, cmd string, base *entry[S]) (*entry[S], []eventstore.Event, error) {
	e := &entry[S]{Loaded: base.Loaded, mark: h.mark()}
	var hashes []uint64
	// Read from the cached last event itself, not the one after it: the
	// read is never empty (an empty read of an existing stream costs the
	// SQLite adapter a second query), and the event, checked against the
	// cached ID, proves the cache still describes this stream.
	prior, folded, lastID, ok, err := h.fold(ctx, &e.Loaded, base.Revision, &base.lastID, nil, cmd, &hashes)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		// The stream is not what the cache says: it is missing, shorter, or
		// another event is at the cached revision. Streams are neither
		// deleted nor rewritten, but if one was, only a fold from the start
		// is right.
		h.cache.drop(stream)
		return h.load(ctx, stream, nil, cmd, true)
	}
	if folded == 0 {
		if !e.mark.IsZero() {
			// The same state, vouched for from a later moment.
			fresh := *base
			fresh.mark = e.mark
			h.cache.put(stream, &fresh)
		}
		return base, nil, nil
	}
	e.lastID = lastID
	e.cmds = base.cmds.with(hashes)
	h.cache.put(stream, e)
	return e, prior, nil
}

// load folds stream from the start (up to at, when not nil) and collects
// the events whose command ID is cmd (when not empty). With cache, the
// result (of an existing stream) is put in the cache.
func (h *Handler[S]) load(ctx context.Context, stream string, at *Point, cmd string, cache bool) (*entry[S], []eventstore.Event, error) {
	e := &entry[S]{Loaded: h.initial(stream)}
	var hashes *[]uint64
	if cache {
		hashes = new([]uint64)
		e.mark = h.mark()
	}
	prior, _, lastID, found, err := h.fold(ctx, &e.Loaded, 0, nil, at, cmd, hashes)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return &entry[S]{Loaded: h.initial(stream)}, nil, nil
	}
	if cache && e.Exists {
		e.lastID = lastID
		e.cmds = (*cmdSet)(nil).with(*hashes)
		h.cache.put(stream, e)
	}
	return e, prior, nil
}

// fold reads l.Stream from revision from on, in pages, and folds it into l,
// stopping before the first event past at (when not nil). With anchor not
// nil, the event at from is the last one already folded into l: it must be
// there with that ID, and it is skipped. fold returns the events whose
// command ID is cmd (when not empty), how many events it folded and the ID
// of the last, and ok false when the stream does not exist or the anchor
// does not match. With hashes not nil it appends the hash of the command ID
// of each event folded.
func (h *Handler[S]) fold(ctx context.Context, l *Loaded[S], from uint64, anchor *uuid.UUID, at *Point, cmd string, hashes *[]uint64) (prior []eventstore.Event, folded int, lastID uuid.UUID, ok bool, err error) {
	const op = errs.Op("commands.Load")
	var lastCmd string
	for {
		page, err := h.store.ReadStream(ctx, l.Stream, from, eventstore.Forward, readPage)
		var nf *eventstore.StreamNotFoundError
		if errors.As(err, &nf) {
			return nil, folded, lastID, false, nil
		}
		if err != nil {
			return nil, folded, lastID, false, errs.E(op, err)
		}
		full := len(page) == readPage
		if anchor != nil {
			if len(page) == 0 || page[0].Revision != from || page[0].ID != *anchor {
				return nil, folded, lastID, false, nil
			}
			page, anchor = page[1:], nil
		}
		for i := range page {
			e := &page[i]
			if at != nil && !at.includes(e) {
				return prior, folded, lastID, true, nil
			}
			ev, err := h.decode(*e)
			if err != nil {
				return nil, folded, lastID, false, errs.E(op, err)
			}
			l.State = h.agg.Evolve(l.State, ev)
			l.Exists = true
			l.Revision = e.Revision
			l.Position = e.Position
			l.LastOccurredAt = e.Metadata.OccurredAt
			lastID = e.ID
			folded++
			if c := e.Metadata.CommandID; c != "" {
				if c == cmd {
					prior = append(prior, *e)
				}
				if hashes != nil && c != lastCmd {
					*hashes = append(*hashes, h.hash(c))
					lastCmd = c
				}
			}
		}
		if !full {
			return prior, folded, lastID, true, nil
		}
		from = page[len(page)-1].Revision + 1
	}
}

// remember puts in the cache the state after a successful append: cur (the
// state the decision saw) plus recorded, the events read back. Only when
// recorded follows cur without a gap, so the entry is the fold of a prefix
// of the stream, as every entry must be.
func (h *Handler[S]) remember(cur *entry[S], recorded []eventstore.Event, state S, first uint64, ar eventstore.AppendResult, hashes []uint64) {
	if h.cache == nil || len(recorded) == 0 {
		return
	}
	next := uint64(0)
	if cur.Exists {
		next = cur.Revision + 1
	}
	last := &recorded[len(recorded)-1]
	if first != next || recorded[0].Revision != first || last.Revision != ar.NextRevision ||
		uint64(len(recorded)) != ar.NextRevision+1-first {
		return
	}
	h.cache.put(cur.Stream, &entry[S]{
		Loaded: Loaded[S]{Stream: cur.Stream, State: state, Exists: true, Revision: last.Revision,
			Position: last.Position, LastOccurredAt: last.Metadata.OccurredAt},
		lastID: last.ID,
		cmds:   cur.cmds.with(hashes),
		mark:   ar.Mark,
	})
}

// mark returns the store's moment now, taken before a read whose result the
// cache keeps (the zero Mark when the store does not track changes).
func (h *Handler[S]) mark() eventstore.Mark {
	if h.changes == nil {
		return eventstore.Mark{}
	}
	return h.changes.Mark()
}

// vouched reports whether the store vouches that the cached entry of
// stream is still its latest state.
func (h *Handler[S]) vouched(stream string, e *entry[S]) bool {
	return h.changes != nil && !e.mark.IsZero() && h.changes.Unchanged(stream, e.mark)
}

func (h *Handler[S]) decode(e eventstore.Event) (Event, error) {
	v, err := h.agg.Codec.Decode(e)
	if err != nil {
		return Event{}, err
	}
	return Event{Data: v, Type: e.Type, ID: e.ID, Revision: e.Revision, Position: e.Position, Metadata: e.Metadata}, nil
}
