package sqlite

import (
	"sync"
	"testing"
	"time"

	"redengine/eventstore"
)

// TestTimingsSplitTheSyncStage: an append whose WAL sync the disk holds
// reports the hold as Syncing; an append committed meanwhile reports its
// wait for that sync as SyncQueued, then its own sync.
func TestTimingsSplitTheSyncStage(t *testing.T) {
	var (
		mu  sync.Mutex
		got []AppendTiming // in the order the appends return
	)
	ctx, s := openStore(t)
	h := holdSyncs(s)
	s.cfg.observer.Append = func(a AppendTiming) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, a)
	}
	const hold = 20 * time.Millisecond
	first := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "split-a", eventstore.NoStream, events(1)...)
		first <- err
	}()
	<-h.entered // the first group's sync is running
	done := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "split-b", eventstore.NoStream, events(1)...)
		done <- err
	}()
	for s.committed.Load() < 2 { // the second group is committed, waiting
		time.Sleep(time.Millisecond)
	}
	time.Sleep(hold) // the disk holds the first sync
	h.release <- nil
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-h.entered // the second group's own sync
	h.release <- nil
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d timings, want 2", len(got))
	}
	a, b := got[0], got[1]
	if a.Syncing < hold {
		t.Errorf("first append: Syncing %v while its sync was held %v", a.Syncing, hold)
	}
	if b.SyncQueued < hold {
		t.Errorf("second append: SyncQueued %v while the sync before its own was held %v", b.SyncQueued, hold)
	}
	if b.Syncing <= 0 || b.Waking < 0 {
		t.Errorf("second append: %+v", b)
	}
}
