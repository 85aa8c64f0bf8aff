package esdb

import (
	"context"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"redengine/errs"
	"redengine/eventstore"
)

// Subscribe starts a catch-up subscription to $all after from. The
// subscription lives until Close or the store's Close; ctx bounds only the
// call that starts it. See eventstore.Store.
func (s *Store) Subscribe(ctx context.Context, from eventstore.Position, filter eventstore.Filter) (eventstore.Subscription, error) {
	const op = errs.Op("esdb.Subscribe")
	life, cancel := context.WithCancel(s.life)
	sub := &subscription{
		s:      s,
		filter: filter,
		life:   life,
		cancel: cancel,
		events: make(chan eventstore.Event, 256),
		done:   make(chan struct{}),
		last:   from,
	}
	// The first subscription is made here, so that an unreachable server is
	// the caller's error; stop the attempt if ctx ends first.
	stop := context.AfterFunc(ctx, cancel)
	inner, err := sub.open(op)
	stopped := !stop()
	if err != nil || stopped {
		cancel()
		if err == nil {
			_ = inner.Close()
			err = canceled(op, ctx.Err())
		}
		return nil, err
	}
	go sub.run(inner)
	return sub, nil
}

// subscription pumps events from the client's subscription into a buffered
// channel that Next reads, and resumes the client's subscription after the
// last event it handled when the server drops it.
type subscription struct {
	s      *Store
	filter eventstore.Filter
	life   context.Context
	cancel context.CancelFunc
	events chan eventstore.Event
	done   chan struct{} // closed when run returns
	err    error         // why run returned; read after done
	last   eventstore.Position

	closeOnce sync.Once
}

// serverFilter is the part of the filter that the server can apply: one
// kind of prefix list. The rest is applied here; system events are always
// skipped here too.
func (sub *subscription) serverFilter() *esdb.SubscriptionFilter {
	switch {
	case len(sub.filter.StreamPrefixes) > 0:
		return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: sub.filter.StreamPrefixes}
	case len(sub.filter.TypePrefixes) > 0:
		return &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Prefixes: sub.filter.TypePrefixes}
	}
	return esdb.ExcludeSystemEventsFilter()
}

// open subscribes to $all after sub.last.
func (sub *subscription) open(op errs.Op) (*esdb.Subscription, error) {
	c, err := sub.s.conn(op)
	if err != nil {
		return nil, err
	}
	inner, err := c.SubscribeToAll(sub.life, esdb.SubscribeToAllOptions{
		From:   fromPosition(sub.last),
		Filter: sub.serverFilter(),
	})
	if err != nil {
		return nil, sub.s.fail(sub.life, op, c, err)
	}
	return inner, nil
}

// run delivers events until the subscription is closed or cannot be
// resumed.
func (sub *subscription) run(inner *esdb.Subscription) {
	const op = errs.Op("esdb.Subscription")
	defer close(sub.done)
	defer func() { _ = inner.Close() }()
	for {
		m := inner.Recv()
		switch {
		case m.EventAppeared != nil:
			r := original(m.EventAppeared)
			if r == nil {
				continue
			}
			p := toPosition(r.Position)
			if !sub.last.Less(p) && !sub.last.IsZero() {
				continue // already handled (a server repeating its start)
			}
			if !isSystem(r) {
				e := decode(r)
				if sub.filter.Match(&e) {
					select {
					case sub.events <- e:
					case <-sub.life.Done():
						sub.err = errs.E(op, errs.Unavailable, "la suscripción está cerrada")
						return
					}
				}
			}
			sub.last = p
		case m.SubscriptionDropped != nil:
			_ = inner.Close()
			if sub.life.Err() != nil {
				sub.err = errs.E(op, errs.Unavailable, "la suscripción está cerrada")
				return
			}
			sub.s.log.Warn("suscripción cortada por EventStoreDB; se reanuda", "after", sub.last.String(), "err", m.SubscriptionDropped.Error)
			next, err := sub.resume(op)
			if err != nil {
				sub.err = err
				return
			}
			inner = next
		}
		// Checkpoints, caught-up and fell-behind need nothing: the resume
		// point is the last event seen, which is always safe.
	}
}

// resume subscribes again after sub.last: at once, then with a doubling
// wait, up to the configured number of attempts.
func (sub *subscription) resume(op errs.Op) (*esdb.Subscription, error) {
	o := sub.s.opts
	delay := o.backoffMin
	var lastErr error
	for attempt := 0; attempt < max(o.resubscribeMax, 1); attempt++ {
		if attempt > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-sub.life.Done():
				t.Stop()
				return nil, errs.E(op, errs.Unavailable, "la suscripción está cerrada")
			}
			delay = min(delay*2, o.backoffMax)
		}
		inner, err := sub.open(op)
		if err == nil {
			return inner, nil
		}
		if sub.life.Err() != nil {
			return nil, errs.E(op, errs.Unavailable, "la suscripción está cerrada")
		}
		lastErr = err
		sub.s.log.Warn("no se pudo reanudar la suscripción", "attempt", attempt+1, "err", err)
	}
	return nil, errs.E(op, errs.Unavailable, "no se pudo reanudar la suscripción a EventStoreDB", lastErr)
}

// Next returns the next event. See eventstore.Subscription.
func (sub *subscription) Next(ctx context.Context) (eventstore.Event, error) {
	const op = errs.Op("esdb.Subscription.Next")
	if sub.life.Err() != nil {
		return eventstore.Event{}, errs.E(op, errs.Unavailable, "la suscripción está cerrada")
	}
	select {
	case e := <-sub.events:
		return e, nil
	case <-sub.done:
		// Events delivered before run ended still count.
		select {
		case e := <-sub.events:
			return e, nil
		default:
		}
		return eventstore.Event{}, errs.E(op, sub.err)
	case <-sub.life.Done():
		return eventstore.Event{}, errs.E(op, errs.Unavailable, "la suscripción está cerrada")
	case <-ctx.Done():
		return eventstore.Event{}, canceled(op, ctx.Err())
	}
}

// Close ends the subscription and waits for its pump to stop.
func (sub *subscription) Close() error {
	sub.closeOnce.Do(func() {
		sub.cancel()
		<-sub.done
	})
	return nil
}
