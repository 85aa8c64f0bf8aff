package esdb

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"redengine/errs"
	"redengine/eventstore"
)

// Append writes events to stream if expected holds. See eventstore.Store.
//
// The hash chain needs the hash of the event before the first one written,
// so Append reads it, and then appends with the revision of that event as
// the expected one: the server refuses the append if the stream moved, so a
// chain is never built on a stale tail. For an explicit revision the event
// read is the one at that revision (immutable, so there is no race); for Any
// and StreamExists it is the current last event, and a lost race is retried.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	const op = errs.Op("esdb.Append")
	if err := eventstore.ValidateAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if rev, ok := expected.Revision(); ok {
		return s.appendExplicit(ctx, op, stream, expected, int64(rev), events)
	}
	if expected.IsNoStream() {
		return s.appendExplicit(ctx, op, stream, expected, -1, events)
	}
	return s.appendLoose(ctx, op, stream, expected, events)
}

// appendExplicit appends after revision at (-1: the stream must not exist).
func (s *Store) appendExplicit(ctx context.Context, op errs.Op, stream string, expected eventstore.ExpectedRevision, at int64, events []eventstore.EventData) (eventstore.AppendResult, error) {
	k := len(events)
	// Read the event at revision at and the k after it: the first gives the
	// previous hash, the others tell whether this is a re-append.
	var prev []byte
	var after []*esdb.RecordedEvent
	start := uint64(max(at, 0))
	recs, err := s.readStream(ctx, op, stream, start, eventstore.Forward, uint64(k)+1)
	var nf *eventstore.StreamNotFoundError
	switch {
	case errors.As(err, &nf):
		if at >= 0 {
			return eventstore.AppendResult{}, conflict(stream, expected, -1)
		}
	case err != nil:
		return eventstore.AppendResult{}, err
	case at >= 0:
		if len(recs) == 0 || recs[0].EventNumber != uint64(at) {
			cur, err := s.lastRevision(ctx, op, stream)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			return eventstore.AppendResult{}, conflict(stream, expected, cur)
		}
		prev = decode(recs[0]).Hash
		after = recs[1:]
	default:
		after = recs
	}
	if r, ok := sameBatch(after, events); ok {
		return r, nil // a re-append: the server would drop it
	}
	return s.send(ctx, op, stream, expected, at, prev, events)
}

// appendLoose appends with Any or StreamExists: at the current tail,
// retrying when another writer gets there first.
func (s *Store) appendLoose(ctx context.Context, op errs.Op, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	k := len(events)
	cur := int64(-1)
	for attempt := 0; ; attempt++ {
		// The tail: its last event gives the previous hash, and the last k
		// tell whether this batch was just appended (a re-append).
		recs, err := s.readStream(ctx, op, stream, eventstore.StreamEnd, eventstore.Backward, uint64(k))
		var nf *eventstore.StreamNotFoundError
		var prev []byte
		switch {
		case errors.As(err, &nf):
			if expected.IsStreamExists() {
				return eventstore.AppendResult{}, conflict(stream, expected, -1)
			}
			cur = -1
		case err != nil:
			return eventstore.AppendResult{}, err
		default:
			cur = int64(recs[0].EventNumber)
			prev = decode(recs[0]).Hash
			tail := make([]*esdb.RecordedEvent, len(recs))
			for i, r := range recs {
				tail[len(recs)-1-i] = r
			}
			if r, ok := sameBatch(tail, events); ok {
				return r, nil
			}
		}
		res, err := s.send(ctx, op, stream, expected, cur, prev, events)
		var wev *eventstore.WrongExpectedVersionError
		if !errors.As(err, &wev) {
			return res, err
		}
		if attempt >= s.opts.appendRetries {
			return eventstore.AppendResult{}, err
		}
		if attempt >= 3 {
			// Many writers on one stream: spread them a little.
			d := time.Duration(rand.N(min(attempt, 20))+1) * time.Millisecond
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return eventstore.AppendResult{}, canceled(op, ctx.Err())
			}
		}
	}
}

// send appends events after revision at (-1: no stream), chaining hashes
// from prev, and reports a refusal as the port's conflict for expected.
func (s *Store) send(ctx context.Context, op errs.Op, stream string, expected eventstore.ExpectedRevision, at int64, prev []byte, events []eventstore.EventData) (eventstore.AppendResult, error) {
	data, err := encode(stream, uint64(at+1), prev, events)
	if err != nil {
		return eventstore.AppendResult{}, errs.E(op, errs.Invalid, err)
	}
	c, err := s.conn(op)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	o := esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}
	if at >= 0 {
		o.ExpectedRevision = esdb.Revision(uint64(at))
	}
	wr, err := c.AppendToStream(ctx, stream, o, data...)
	if err != nil {
		if isWrongExpectedVersion(err) {
			cur, ok := currentFromConflict(err)
			if !ok {
				if cur, err = s.lastRevision(ctx, op, stream); err != nil {
					return eventstore.AppendResult{}, err
				}
			}
			return eventstore.AppendResult{}, conflict(stream, expected, cur)
		}
		return eventstore.AppendResult{}, s.fail(ctx, op, c, err)
	}
	last := uint64(at+1) + uint64(len(events)) - 1
	pos := eventstore.Position{Commit: wr.CommitPosition, Prepare: wr.PreparePosition}
	if len(events) == 1 && !pos.IsZero() {
		return eventstore.AppendResult{NextRevision: last, Position: pos}, nil
	}
	// The reply's position is the last event's only for a single event (for
	// a batch it names the transaction), and there is none when the server
	// dropped a re-append: read the last event's.
	recs, err := s.readStream(ctx, op, stream, last, eventstore.Forward, 1)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if len(recs) != 1 || recs[0].EventNumber != last || recs[0].EventID != events[len(events)-1].ID {
		return eventstore.AppendResult{}, errs.E(op, errs.Internal, "el último evento añadido no está donde EventStoreDB dijo")
	}
	return eventstore.AppendResult{NextRevision: last, Position: toPosition(recs[0].Position)}, nil
}

// sameBatch reports whether recs begin with exactly the events' IDs, in
// order: then the events are already stored, and the result is where the
// last of them is.
func sameBatch(recs []*esdb.RecordedEvent, events []eventstore.EventData) (eventstore.AppendResult, bool) {
	if len(recs) < len(events) {
		return eventstore.AppendResult{}, false
	}
	for i, e := range events {
		if recs[i].EventID != e.ID {
			return eventstore.AppendResult{}, false
		}
	}
	last := recs[len(events)-1]
	return eventstore.AppendResult{NextRevision: last.EventNumber, Position: toPosition(last.Position)}, true
}

// lastRevision is the revision of the stream's last event, -1 if none.
func (s *Store) lastRevision(ctx context.Context, op errs.Op, stream string) (int64, error) {
	recs, err := s.readStream(ctx, op, stream, eventstore.StreamEnd, eventstore.Backward, 1)
	var nf *eventstore.StreamNotFoundError
	if errors.As(err, &nf) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	if len(recs) == 0 {
		return -1, nil
	}
	return int64(recs[0].EventNumber), nil
}

func conflict(stream string, expected eventstore.ExpectedRevision, current int64) error {
	return &eventstore.WrongExpectedVersionError{Stream: stream, Expected: expected, Current: current}
}
