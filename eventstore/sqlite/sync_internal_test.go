package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/errs"
	"redengine/eventstore"
)

// heldSync replaces a store's WAL sync: each call reports on entered and
// returns what the test sends on release.
type heldSync struct {
	entered chan struct{}
	release chan error
}

// openStore opens a store in a fresh directory; the store closes when the
// test ends.
func openStore(t *testing.T) (context.Context, *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return ctx, s
}

// openHeld opens a store as openStore does, with its syncs held.
func openHeld(t *testing.T) (context.Context, *Store, *heldSync) {
	t.Helper()
	ctx, s := openStore(t)
	return ctx, s, holdSyncs(s)
}

func holdSyncs(s *Store) *heldSync {
	h := &heldSync{entered: make(chan struct{}), release: make(chan error)}
	// Set before any append: the writer and the syncer read it after the
	// append's queue send, which orders this write before their reads.
	s.fdatasync = func(*os.File) error {
		h.entered <- struct{}{}
		return <-h.release
	}
	return h
}

func events(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = eventstore.EventData{ID: uuid.New(), Type: "E", SchemaVersion: 1, Data: json.RawMessage(`{"n":1}`),
			Metadata: eventstore.Metadata{CorrelationID: "c", OccurredAt: time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)}}
	}
	return out
}

// TestAnsweredAfterTheSync: an append — of one event, or a bulk group —
// is committed before the WAL is synced, but neither answered nor shown to
// subscribers until the sync returns.
func TestAnsweredAfterTheSync(t *testing.T) {
	for _, n := range []int{1, bulkGroup, 2 * bulkGroup} {
		ctx, s, h := openHeld(t)
		sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			res eventstore.AppendResult
			err error
		}
		done := make(chan result, 1)
		go func() {
			res, err := s.Append(ctx, "bulk-1", eventstore.NoStream, events(n)...)
			done <- result{res, err}
		}()
		<-h.entered // committed, the sync under way
		all, err := s.ReadAll(ctx, eventstore.Position{}, 0)
		if err != nil || len(all) != n {
			t.Fatalf("%d events: committed before the sync: %d events, %v", n, len(all), err)
		}
		select {
		case r := <-done:
			t.Fatalf("%d events: answered before the sync: %+v", n, r)
		default:
		}
		if got := s.head.Load(); got != 0 {
			t.Fatalf("%d events: subscribers woken up to %d before the sync", n, got)
		}
		h.release <- nil
		r := <-done
		if r.err != nil || r.res.Position.Commit != uint64(n) {
			t.Fatalf("%d events: after the sync: %+v %v", n, r.res, r.err)
		}
		for i := range n {
			e, err := sub.Next(ctx)
			if err != nil || e.Position.Commit != uint64(i+1) {
				t.Fatalf("%d events: subscription %d: %v %v", n, i, e.Position, err)
			}
		}
		sub.Close()
	}
}

// TestFailedSyncStopsAppends: an append whose sync fails is answered with
// an unavailable error, and the store refuses every append after it (what
// the disk holds is unknown); reads go on.
func TestFailedSyncStopsAppends(t *testing.T) {
	for _, n := range []int{1, 2 * bulkGroup} {
		ctx, s, h := openHeld(t)
		done := make(chan error, 1)
		go func() {
			_, err := s.Append(ctx, "s-1", eventstore.Any, events(n)...)
			done <- err
		}()
		<-h.entered
		h.release <- syscall.EIO
		if err := <-done; !errs.Is(errs.Unavailable, err) || !errors.Is(err, syscall.EIO) {
			t.Fatalf("%d events: append whose sync failed: %v, want unavailable with EIO", n, err)
		}
		if _, err := s.Append(ctx, "s-2", eventstore.Any, events(1)...); !errs.Is(errs.Unavailable, err) {
			t.Fatalf("%d events: append after a failed sync: %v, want unavailable", n, err)
		}
		if _, err := s.ReadAll(ctx, eventstore.Position{}, 0); err != nil {
			t.Fatalf("%d events: reads after a failed sync: %v", n, err)
		}
	}
}

// TestCommitsWhileSyncing: while the WAL's sync of one group is held, the
// writer commits the next append (readable, not answered); one more sync
// then answers it.
func TestCommitsWhileSyncing(t *testing.T) {
	ctx, s, h := openHeld(t)
	first := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "a-1", eventstore.NoStream, events(1)...)
		first <- err
	}()
	<-h.entered
	second := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "b-1", eventstore.NoStream, events(1)...)
		second <- err
	}()
	// Committed while the first sync is held.
	for i := 0; ; i++ {
		got, err := s.ReadStream(ctx, "b-1", 0, eventstore.Forward, 0)
		if err == nil && len(got) == 1 {
			break
		}
		if i == 1000 {
			t.Fatalf("the second append is not committed while the first sync is held: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-second:
		t.Fatalf("the second append answered before any sync covered it: %v", err)
	default:
	}
	h.release <- nil
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-h.entered
	h.release <- nil
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}
