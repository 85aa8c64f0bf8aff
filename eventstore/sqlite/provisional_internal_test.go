package sqlite

import (
	"errors"
	"testing"
	"time"

	"redengine/errs"
	"redengine/eventstore"
)

type appended struct {
	res eventstore.AppendResult
	err error
}

// TestProvisionalAnsweredAtTheCommit: a provisional append is answered
// while the sync of its group is still held, readable by ReadStream and
// counted by the next append's expected revision, but subscribers get it
// only once synced — before the durable append that follows it.
func TestProvisionalAnsweredAtTheCommit(t *testing.T) {
	for _, n := range []int{1, maxReturnedEvents + 1, bulkGroup} {
		ctx, s, h := openHeld(t)
		sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		first := make(chan appended, 1)
		go func() {
			res, err := s.AppendProvisional(ctx, "casenumbers-2026", eventstore.NoStream, events(n)...)
			first <- appended{res, err}
		}()
		<-h.entered // committed, its sync held
		var r appended
		select {
		case r = <-first:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d events: no answer while the sync is held", n)
		}
		if r.err != nil || r.res.NextRevision != uint64(n-1) || r.res.Position.Commit != uint64(n) {
			t.Fatalf("%d events: provisional answer: %+v %v", n, r.res, r.err)
		}
		if n <= maxReturnedEvents && (len(r.res.Events) != n || r.res.Mark.IsZero()) {
			t.Fatalf("%d events: the answer lacks its events (%d) or its mark", n, len(r.res.Events))
		}
		got, err := s.ReadStream(ctx, "casenumbers-2026", 0, eventstore.Forward, 0)
		if err != nil || len(got) != n {
			t.Fatalf("%d events: read before the sync: %d, %v", n, len(got), err)
		}
		if head := s.head.Load(); head != 0 {
			t.Fatalf("%d events: subscribers woken up to %d before the sync", n, head)
		}
		// The opening that depends on it: durable, so answered after a sync
		// that covers both.
		second := make(chan appended, 1)
		go func() {
			res, err := s.Append(ctx, "case-1", eventstore.NoStream, events(1)...)
			second <- appended{res, err}
		}()
		h.release <- nil // the provisional group's sync
		<-h.entered
		select {
		case r := <-second:
			t.Fatalf("%d events: the durable append answered before its sync: %+v", n, r)
		default:
		}
		h.release <- nil
		if r := <-second; r.err != nil || r.res.Position.Commit != uint64(n+1) {
			t.Fatalf("%d events: the durable append: %+v %v", n, r.res, r.err)
		}
		for i := range n + 1 {
			e, err := sub.Next(ctx)
			if err != nil || e.Position.Commit != uint64(i+1) {
				t.Fatalf("%d events: subscription %d: %v %v", n, i, e.Position, err)
			}
		}
		sub.Close()
	}
}

// TestProvisionalRefusalWritesNothing: a provisional append at a wrong
// expected revision is refused as Append refuses it, and writes nothing.
func TestProvisionalRefusalWritesNothing(t *testing.T) {
	ctx, s := openStore(t)
	if _, err := s.AppendProvisional(ctx, "casenumbers-2026", eventstore.NoStream, events(1)...); err != nil {
		t.Fatal(err)
	}
	_, err := s.AppendProvisional(ctx, "casenumbers-2026", eventstore.NoStream, events(1)...)
	var wrong *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wrong) || wrong.Current != 0 {
		t.Fatalf("append at NoStream on a stream at 0: %v", err)
	}
	got, err := s.ReadStream(ctx, "casenumbers-2026", 0, eventstore.Forward, 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("stream after the refusal: %d events, %v", len(got), err)
	}
}

// TestProvisionalThenFailedSync: when the sync after a provisional answer
// fails, the durable append that depends on it fails too (the store stops
// appending): nothing acknowledged rests on an event the disk may not hold.
func TestProvisionalThenFailedSync(t *testing.T) {
	ctx, s, h := openHeld(t)
	first := make(chan appended, 1)
	go func() {
		res, err := s.AppendProvisional(ctx, "casenumbers-2026", eventstore.NoStream, events(1)...)
		first <- appended{res, err}
	}()
	<-h.entered
	select {
	case r := <-first:
		if r.err != nil {
			t.Fatal(r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer while the sync is held")
	}
	h.release <- errors.New("EIO")
	_, err := s.Append(ctx, "case-1", eventstore.NoStream, events(1)...)
	if !errs.Is(errs.Unavailable, err) {
		t.Fatalf("the opening after a failed sync: %v, want unavailable", err)
	}
}
