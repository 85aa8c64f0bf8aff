package engine

import (
	"context"
	"errors"
	"time"

	"redengine/eventstore"
	"redengine/metrics"
)

// countingStore counts the outcome of every append for /metrics.
type countingStore struct {
	eventstore.Store
	m *metrics.Metrics
}

// countingChanges is a countingStore of a store that tracks changes: it
// keeps Mark and Unchanged visible to the command handlers (a wrapper that
// hid them would make every load read its stream again).
type countingChanges struct {
	countingStore
	eventstore.Changes
}

// counting wraps store in a countingStore, keeping eventstore.Changes.
func counting(store eventstore.Store, m *metrics.Metrics) eventstore.Store {
	cs := countingStore{Store: store, m: m}
	if c, ok := store.(eventstore.Changes); ok {
		return countingChanges{countingStore: cs, Changes: c}
	}
	return cs
}

func (s countingStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	r, err := s.Store.Append(ctx, stream, expected, events...)
	return r, s.count(err)
}

// AppendProvisional keeps the store's provisional appends (the case
// numbers) provisional through the counting.
func (s countingStore) AppendProvisional(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	r, err := eventstore.AppendProvisional(ctx, s.Store, stream, expected, events...)
	return r, s.count(err)
}

func (s countingStore) count(err error) error {
	var wrong *eventstore.WrongExpectedVersionError
	switch {
	case err == nil:
		s.m.Append("ok")
	case errors.As(err, &wrong):
		s.m.Append("conflict")
	default:
		s.m.Append("error")
	}
	return err
}

// watchLag refreshes the projection-lag gauge every interval until ctx ends.
func (e *Engine) watchLag(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if sts, err := e.Projections.Status(ctx); err == nil {
			for _, s := range sts {
				e.Metrics.Lag(s.Name, float64(s.Lag))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
