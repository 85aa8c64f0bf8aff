package esdb

import (
	"context"
	"errors"
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"redengine/errs"
	"redengine/eventstore"
)

// page is how many events one read request asks for when the caller wants
// them all.
const page = 4096

// ReadStream reads events of a stream. See eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, dir eventstore.Direction, limit int) ([]eventstore.Event, error) {
	const op = errs.Op("esdb.ReadStream")
	var out []eventstore.Event
	next := from
	for {
		count := uint64(page)
		if limit > 0 {
			count = uint64(limit - len(out))
		}
		recs, err := s.readStream(ctx, op, stream, next, dir, count)
		if err != nil {
			var nf *eventstore.StreamNotFoundError
			if errors.As(err, &nf) && len(out) > 0 {
				break // deleted while paging: keep what was read
			}
			return nil, err
		}
		for _, r := range recs {
			out = append(out, decode(r))
		}
		if uint64(len(recs)) < count || (limit > 0 && len(out) >= limit) {
			break
		}
		last := recs[len(recs)-1].EventNumber
		if dir == eventstore.Backward {
			if last == 0 {
				break
			}
			next = last - 1
		} else {
			next = last + 1
		}
	}
	if out == nil {
		out = []eventstore.Event{}
	}
	return out, nil
}

// readStream makes one read request of up to count events of stream from
// revision from (StreamEnd backwards: the last event). A missing stream is a
// *StreamNotFoundError.
func (s *Store) readStream(ctx context.Context, op errs.Op, stream string, from uint64, dir eventstore.Direction, count uint64) ([]*esdb.RecordedEvent, error) {
	c, err := s.conn(op)
	if err != nil {
		return nil, err
	}
	o := esdb.ReadStreamOptions{Direction: esdb.Forwards, From: esdb.Revision(from)}
	if dir == eventstore.Backward {
		o.Direction = esdb.Backwards
		if from == eventstore.StreamEnd {
			o.From = esdb.End{}
		}
	}
	rs, err := c.ReadStream(ctx, stream, o, count)
	if err != nil {
		return nil, s.fail(ctx, op, c, err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			if isNotFound(err) {
				return nil, errs.E(op, &eventstore.StreamNotFoundError{Stream: stream})
			}
			return nil, s.fail(ctx, op, c, err)
		}
		if r := original(ev); r != nil {
			out = append(out, r)
		}
	}
}

// ReadAll reads the global log after from, skipping system events. See
// eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, from eventstore.Position, limit int) ([]eventstore.Event, error) {
	const op = errs.Op("esdb.ReadAll")
	out := []eventstore.Event{}
	pos := from
	for {
		count := uint64(page)
		if limit > 0 {
			// One more than wanted: a read includes its start.
			count = min(uint64(limit-len(out))+1, page)
		}
		got, err := s.readAll(ctx, op, esdb.Forwards, fromPosition(pos), count, func(r *esdb.RecordedEvent) bool {
			p := toPosition(r.Position)
			if !pos.Less(p) && !(pos.IsZero() && p.IsZero()) {
				return true // the start itself, or before it
			}
			pos = p
			if !isSystem(r) {
				out = append(out, decode(r))
			}
			return limit <= 0 || len(out) < limit
		})
		if err != nil {
			return nil, err
		}
		if got < count || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
	}
}

// readAll makes one read request of $all and hands each event to yield
// until it returns false. It returns how many events the server sent.
func (s *Store) readAll(ctx context.Context, op errs.Op, dir esdb.Direction, from esdb.AllPosition, count uint64, yield func(*esdb.RecordedEvent) bool) (uint64, error) {
	c, err := s.conn(op)
	if err != nil {
		return 0, err
	}
	rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: dir, From: from}, count)
	if err != nil {
		return 0, s.fail(ctx, op, c, err)
	}
	defer rs.Close()
	var n uint64
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, s.fail(ctx, op, c, err)
		}
		n++
		if r := original(ev); r != nil && !yield(r) {
			return count, nil
		}
	}
}

// Head returns the position of the last non-system event of the global log.
// See eventstore.Store.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	const op = errs.Op("esdb.Head")
	const count = 32
	var from esdb.AllPosition = esdb.End{}
	var before *eventstore.Position
	for {
		var head, last eventstore.Position
		found := false
		got, err := s.readAll(ctx, op, esdb.Backwards, from, count, func(r *esdb.RecordedEvent) bool {
			p := toPosition(r.Position)
			if before != nil && !p.Less(*before) {
				return true // a server that includes the start of a backward read
			}
			last = p
			if isSystem(r) {
				return true
			}
			head, found = p, true
			return false
		})
		if err != nil {
			return eventstore.Position{}, err
		}
		if found {
			return head, nil
		}
		if got < count {
			return eventstore.Position{}, nil
		}
		from = fromPosition(last)
		before = &last
	}
}
