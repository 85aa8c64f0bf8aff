package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// timings collects what an Observer receives.
type timings struct {
	mu      sync.Mutex
	appends []sqlite.AppendTiming
	holds   []time.Duration
}

func (tm *timings) observer() sqlite.Observer {
	return sqlite.Observer{
		Append: func(a sqlite.AppendTiming) {
			tm.mu.Lock()
			defer tm.mu.Unlock()
			tm.appends = append(tm.appends, a)
		},
		Checkpoint: func(d time.Duration) {
			tm.mu.Lock()
			defer tm.mu.Unlock()
			tm.holds = append(tm.holds, d)
		},
	}
}

func (tm *timings) snapshot() ([]sqlite.AppendTiming, []time.Duration) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return append([]sqlite.AppendTiming(nil), tm.appends...), append([]time.Duration(nil), tm.holds...)
}

// Each successful append reports its stages once, before Append returns,
// durable and provisional apart; a refused append reports nothing.
func TestObserverTimesEachSuccessfulAppend(t *testing.T) {
	var tm timings
	s := openTemp(t, sqlite.WithObserver(tm.observer()))
	ctx := ctxT(t)

	start := time.Now()
	if _, err := s.Append(ctx, "obs-a", eventstore.NoStream, ev("Paso", 1), ev("Paso", 2)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	got, _ := tm.snapshot()
	if len(got) != 1 {
		t.Fatalf("after one append: %d timings, want 1", len(got))
	}
	a := got[0]
	if a.Provisional {
		t.Error("a durable append reported as provisional")
	}
	if a.Queued < 0 || a.Committing <= 0 || a.SyncQueued < 0 || a.Syncing <= 0 || a.Waking < 0 {
		t.Errorf("stages %+v: want queue, sync queue and wake ≥ 0, commit and sync > 0", a)
	}
	if sum := a.Queued + a.Committing + a.SyncQueued + a.Syncing + a.Waking; sum > took {
		t.Errorf("stages add up to %v, more than the %v Append took", sum, took)
	}

	if _, err := s.AppendProvisional(ctx, "obs-b", eventstore.NoStream, ev("Paso", 3)); err != nil {
		t.Fatal(err)
	}
	if got, _ = tm.snapshot(); len(got) != 2 || !got[1].Provisional {
		t.Fatalf("after a provisional append: %+v, want a second timing marked provisional", got)
	}
	if p := got[1]; p.SyncQueued != 0 || p.Syncing != 0 || p.Waking < 0 {
		t.Errorf("provisional append %+v: want no sync stages", p)
	}

	_, err := s.Append(ctx, "obs-a", eventstore.NoStream, ev("Paso", 4))
	if !errs.Is(errs.Conflict, err) {
		t.Fatalf("append to an existing stream expecting none: %v, want a conflict", err)
	}
	if got, _ = tm.snapshot(); len(got) != 2 {
		t.Errorf("a refused append was timed: %d timings, want 2", len(got))
	}
}

// The checkpoints the writer finishes itself report how long they held it.
func TestObserverTimesTheWritersCheckpoints(t *testing.T) {
	var tm timings
	ctx := ctxT(t)
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.WithCheckpointEvery(256), sqlite.WithObserver(tm.observer()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A checkpoint is asked for at every commit here (256 events per
	// checkpoint: one commit); the checkpointer runs beside the writer,
	// which finishes it between two groups: append until one is reported.
	for i := 0; ; i++ {
		if _, holds := tm.snapshot(); len(holds) > 0 {
			if holds[0] <= 0 {
				t.Errorf("checkpoint hold %v, want > 0", holds[0])
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no finished checkpoint reported after %d appends", i)
		}
		if _, err := s.Append(ctx, "obs-cp", eventstore.Any, ev("Paso", i)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Stats().Checkpoints == 0 {
		t.Error("a finished checkpoint was reported before any background checkpoint")
	}
}
