package api

import (
	"context"
	"errors"
	"slices"
	"sync"

	"redengine/commands"
	"redengine/domain/cases"
	"redengine/errs"
	"redengine/eventstore"
)

// Number reservation limits.
const (
	// numberAttempts bounds the rounds of a batch of openings that keeps
	// losing the race for the year's next numbers to another node.
	numberAttempts = 100
	// reservationWindow is how many of the latest reservations a repeated
	// opening looks through for its own.
	reservationWindow = 64
	// maxNumberBatch bounds the reservations appended at once.
	maxNumberBatch = 256
)

// numberSequences holds one numberSequence per year; the zero value is
// ready to use.
type numberSequences struct {
	mu    sync.Mutex
	years map[int]*numberSequence
}

func (ns *numberSequences) of(year int) *numberSequence {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.years == nil {
		ns.years = map[int]*numberSequence{}
	}
	q := ns.years[year]
	if q == nil {
		q = &numberSequence{turn: make(chan struct{}, 1)}
		ns.years[year] = q
	}
	return q
}

// numberSequence serialises this process's reservations on one year's
// sequence stream and batches them: the opening that gets the turn
// appends every reservation queued meanwhile in one append (one durable
// write for many openings), at the revision it knows. It keeps the
// stream's tail in memory (the last number, the revision and the latest
// reservations), so that while this process is the only writer an
// opening reads nothing; an append that finds the stream moved (another
// node reserved) reads the tail again and retries.
type numberSequence struct {
	turn chan struct{} // held by the process doing a batch

	mu      sync.Mutex // guards pending
	pending []*numberRequest

	// The tail, owned by whoever holds turn.
	known    bool
	expected eventstore.ExpectedRevision
	seq      cases.Sequence
	recent   []numberEntry // the latest reservations, oldest first, at most reservationWindow
}

type numberEntry struct {
	cmd string
	n   cases.NumberReserved
}

type numberRequest struct {
	ctx    context.Context
	meta   commands.Meta
	caseID string
	done   bool // set by the batch that served it, under turn
	n      cases.NumberReserved
	err    error
}

// reserveNumber reserves the next case number of year for caseID on the
// sequence stream casenumbers-<year>, with the sequence aggregate's decision
// (cases.ReserveNumber) and event, appended at the revision known, so two
// nodes racing for a number conflict and the loser reads again. The last
// reservation is the whole state of the sequence (cases.SequenceAggregate
// folds to the same), so an opening costs the same on the first and the
// millionth case of the year. A repeat of the command (the same command ID,
// e.g. a retry after a failure between the reservation and the opening)
// finds its own reservation among the latest ones and gets the same number
// back. The event has the pipeline's ID (commands.EventID) and metadata.
func (m *Cases) reserveNumber(ctx context.Context, meta commands.Meta, year int, caseID string) (cases.NumberReserved, error) {
	q := m.numbers.of(year)
	r := &numberRequest{ctx: ctx, meta: meta, caseID: caseID}
	q.mu.Lock()
	q.pending = append(q.pending, r)
	q.mu.Unlock()
	select {
	case q.turn <- struct{}{}:
	case <-ctx.Done():
		// Still queued: a batch may serve it, or skip it as ended.
		return cases.NumberReserved{}, errs.E(errs.Op("api.cases.reserveNumber"), errs.Unavailable, ctx.Err())
	}
	defer func() { <-q.turn }()
	if !r.done {
		q.mu.Lock()
		batch := q.pending
		if len(batch) > maxNumberBatch {
			// r is in the batch: requests are served in order.
			i := slices.Index(batch, r)
			batch = batch[:max(i+1, maxNumberBatch)]
		}
		q.pending = slices.Clone(q.pending[len(batch):])
		q.mu.Unlock()
		m.reserveBatch(q, year, batch)
	}
	return r.n, r.err
}

// reserveBatch serves a batch of requests, holding q's turn.
func (m *Cases) reserveBatch(q *numberSequence, year int, batch []*numberRequest) {
	const op = errs.Op("api.cases.reserveNumber")
	agg := m.Numbers
	stream := agg.Stream(cases.SequenceID(year))
	finish := func(r *numberRequest, n cases.NumberReserved, err error) {
		r.n, r.err, r.done = n, err, true
	}
	defer func() {
		for _, r := range batch {
			if !r.done {
				finish(r, cases.NumberReserved{}, errs.E(op, errs.Internal, "reserva no atendida"))
			}
		}
	}()
	var lastErr error
	// single: append one reservation at a time, after a batch was refused
	// because one of its event IDs was already in the stream (a repeat
	// older than the window), so that only that request fails.
	single := false
	for attempt := 0; attempt < numberAttempts; {
		if !q.known {
			if err := m.readTail(context.WithoutCancel(batch[0].ctx), q, stream); err != nil {
				for _, r := range batch {
					if !r.done {
						finish(r, cases.NumberReserved{}, errs.E(op, err))
					}
				}
				return
			}
		}
		// Repeats get their reservation back; ended requests are skipped.
		now := m.Clock.Now()
		seq := q.seq
		var (
			served   []*numberRequest
			reserved []cases.NumberReserved
			proposed []eventstore.EventData
		)
		for _, r := range batch {
			if r.done {
				continue
			}
			cmd := r.meta.CommandID.String()
			if i := slices.IndexFunc(q.recent, func(e numberEntry) bool { return e.cmd == cmd }); i >= 0 {
				finish(r, q.recent[i].n, nil)
				continue
			}
			if err := r.ctx.Err(); err != nil {
				finish(r, cases.NumberReserved{}, errs.E(op, errs.Unavailable, err))
				continue
			}
			decided, err := cases.ReserveNumber(year, r.caseID)(seq, now)
			if err == nil && len(decided) != 1 {
				err = errs.E(op, errs.Internal, "la reserva del número debe dar un evento")
			}
			if err != nil {
				finish(r, cases.NumberReserved{}, err)
				continue
			}
			n := decided[0].(cases.NumberReserved)
			name, version, data, err := agg.Codec.Encode(n)
			if err != nil {
				finish(r, cases.NumberReserved{}, errs.E(op, err))
				continue
			}
			seq = agg.Evolve(seq, commands.Event{Data: n, Type: name})
			proposed = append(proposed, eventstore.EventData{ID: commands.EventID(r.meta.CommandID, stream, 0),
				Type: name, SchemaVersion: version, Data: data, Metadata: r.meta.Metadata(now), Marshaled: true})
			served = append(served, r)
			reserved = append(reserved, n)
			if single {
				break
			}
		}
		if len(proposed) == 0 {
			return
		}
		// Provisional where the store offers it: the opening appended
		// next is durable only with this reservation before it, so the
		// pair waits for the disk once (eventstore.Provisional).
		res, err := eventstore.AppendProvisional(context.WithoutCancel(served[0].ctx), m.Store, stream, q.expected, proposed...)
		var wrong *eventstore.WrongExpectedVersionError
		switch {
		case errors.As(err, &wrong):
			// Another node reserved meanwhile: read the tail again.
			q.known, lastErr = false, err
			attempt++
			continue
		case errs.Is(errs.Conflict, err) && len(served) > 1:
			q.known, single = false, true
			continue
		case err != nil:
			q.known = false
			for _, r := range served {
				finish(r, cases.NumberReserved{}, errs.E(op, err))
			}
			if !single {
				return
			}
			continue
		}
		q.expected = eventstore.Revision(res.NextRevision)
		q.seq = seq
		for i, r := range served {
			finish(r, reserved[i], nil)
			q.remember(numberEntry{cmd: r.meta.CommandID.String(), n: reserved[i]})
		}
		if !single {
			return
		}
	}
	for _, r := range batch {
		if !r.done {
			finish(r, cases.NumberReserved{}, errs.E(op, errs.Conflict, "demasiadas aperturas simultáneas; vuelva a intentarlo", lastErr))
		}
	}
}

// readTail loads the stream's latest reservations into q.
func (m *Cases) readTail(ctx context.Context, q *numberSequence, stream string) error {
	agg := m.Numbers
	tail, err := m.Store.ReadStream(ctx, stream, eventstore.StreamEnd, eventstore.Backward, reservationWindow)
	var nf *eventstore.StreamNotFoundError
	if err != nil && !errors.As(err, &nf) {
		return err
	}
	q.seq, q.expected, q.recent = cases.Sequence{}, eventstore.NoStream, q.recent[:0]
	for i := len(tail) - 1; i >= 0; i-- {
		e := tail[i]
		v, err := agg.Codec.Decode(e)
		if err != nil {
			return err
		}
		n, ok := v.(cases.NumberReserved)
		if !ok {
			return errs.E(errs.Internal, "evento inesperado en "+stream+": "+e.Type)
		}
		q.remember(numberEntry{cmd: e.Metadata.CommandID, n: n})
		if i == 0 {
			q.seq = agg.Evolve(q.seq, commands.Event{Data: n, Type: e.Type, ID: e.ID, Revision: e.Revision, Position: e.Position, Metadata: e.Metadata})
			q.expected = eventstore.Revision(e.Revision)
		}
	}
	q.known = true
	return nil
}

func (q *numberSequence) remember(e numberEntry) {
	if len(q.recent) == reservationWindow {
		q.recent = append(q.recent[:0], q.recent[1:]...)
	}
	q.recent = append(q.recent, e)
}
