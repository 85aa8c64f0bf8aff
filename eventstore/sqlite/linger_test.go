package sqlite_test

import (
	"runtime"
	"testing"
	"time"

	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// Concurrent callers' small appends share a commit when the writer waits for
// them: the second append arrives while the writer lingers over the first.
func TestCommitLingerGroupsConcurrentAppends(t *testing.T) {
	s := openTemp(t, sqlite.WithCommitLinger(200*time.Millisecond))
	ctx := ctxT(t)
	before := s.Stats()
	first := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "linger-a", eventstore.NoStream, ev("Paso", 1))
		first <- err
	}()
	for s.Stats().Lingers == before.Lingers {
		if ctx.Err() != nil {
			t.Fatal("the writer never waited over the first append")
		}
		runtime.Gosched()
	}
	if _, err := s.Append(ctx, "linger-b", eventstore.NoStream, ev("Paso", 2)); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	after := s.Stats()
	if got := after.Commits - before.Commits; got != 1 {
		t.Errorf("two concurrent appends took %d commits, want 1", got)
	}
	if got := after.Appends - before.Appends; got != 2 {
		t.Errorf("appends %d, want 2", got)
	}
}

// One caller appending in a loop cannot append again before its answer:
// waiting for it would only slow it down, so the writer stops waiting after
// a few fruitless waits and only tries again now and then.
func TestCommitLingerStopsForALoneAppender(t *testing.T) {
	s := openTemp(t, sqlite.WithCommitLinger(20*time.Millisecond))
	ctx := ctxT(t)
	const n = 200
	for i := range n {
		if _, err := s.Append(ctx, "linger-alone", eventstore.Any, ev("Paso", i)); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Commits < n {
		t.Fatalf("commits %d < %d appends", st.Commits, n)
	}
	// 8 waits before it stops, then one try per 256 commits.
	if max := uint64(8 + n/256 + 1); st.Lingers > max {
		t.Errorf("the writer waited %d times for a lone appender, want at most %d", st.Lingers, max)
	}
}

func TestCommitLingerOff(t *testing.T) {
	s := openTemp(t, sqlite.WithCommitLinger(0))
	ctx := ctxT(t)
	for i := range 20 {
		if _, err := s.Append(ctx, "linger-off", eventstore.Any, ev("Paso", i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Lingers != 0 || st.Commits < 20 {
		t.Errorf("stats %+v: want no waits and a commit per append", st)
	}
}
