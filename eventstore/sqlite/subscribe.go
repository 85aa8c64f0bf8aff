package sqlite

import (
	"context"
	"sync"

	"redengine/errs"
	"redengine/eventstore"
)

// subBatch is how many events a subscription reads from the log at a time.
const subBatch = 2048

// Subscribe starts a catch-up subscription after from. See eventstore.Store.
func (s *Store) Subscribe(ctx context.Context, from eventstore.Position, filter eventstore.Filter) (eventstore.Subscription, error) {
	if s.isClosed() {
		return nil, errClosed("sqlite.Subscribe")
	}
	s.subscribers.Add(1)
	return &subscription{s: s, after: from.Commit, filter: filter, closed: make(chan struct{})}, nil
}

// subscription pulls the log in batches after the last position it read,
// and waits for the store's wake-up when it has caught up.
type subscription struct {
	s      *Store
	filter eventstore.Filter
	after  uint64 // last position read from the log
	buf    []eventstore.Event
	next   int

	closeOnce sync.Once
	closed    chan struct{}
}

// Next returns the next event that passes the filter, waiting for one to be
// appended when the subscription has caught up.
func (sub *subscription) Next(ctx context.Context) (eventstore.Event, error) {
	const op = errs.Op("sqlite.Subscription.Next")
	for {
		select {
		case <-sub.closed:
			return eventstore.Event{}, errs.E(op, errs.Unavailable, "la suscripción está cerrada")
		case <-sub.s.done:
			return eventstore.Event{}, errClosed(op)
		case <-ctx.Done():
			return eventstore.Event{}, dbErr(op, ctx.Err())
		default:
		}
		if sub.next < len(sub.buf) {
			e := sub.buf[sub.next]
			sub.buf[sub.next] = eventstore.Event{}
			sub.next++
			return e, nil
		}
		// Take the wake-up channel before reading, so an append committed
		// after the read cannot be missed.
		wake := sub.s.waitChan()
		if head := sub.s.head.Load(); head > sub.after {
			// Up to the head: the events after it may be committed but not
			// yet on disk (see Store.syncer).
			// The latest events come from the store's tail when it holds
			// them all (reads that audit the log, ReadAll and Verify,
			// always read the file).
			limit := int(min(head-sub.after, subBatch))
			evs, ok := sub.s.tail.read(sub.after, limit, head)
			if !ok {
				var err error
				if evs, err = sub.s.readAll(ctx, sub.after, limit); err != nil {
					return eventstore.Event{}, dbErr(op, err)
				}
			}
			if len(evs) > 0 {
				sub.after = evs[len(evs)-1].Position.Commit
				kept := evs[:0]
				for i := range evs {
					if sub.filter.Match(&evs[i]) {
						kept = append(kept, evs[i])
					}
				}
				clear(evs[len(kept):])
				sub.buf, sub.next = kept, 0
				continue
			}
		}
		select {
		case <-wake:
		case <-sub.closed:
		case <-sub.s.done:
		case <-ctx.Done():
		}
	}
}

// Close ends the subscription; a blocked Next returns an error.
func (sub *subscription) Close() error {
	sub.closeOnce.Do(func() {
		close(sub.closed)
		sub.s.subscribers.Add(-1)
	})
	return nil
}
