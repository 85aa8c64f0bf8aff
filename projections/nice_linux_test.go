package projections_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"redengine/eventstore"
	"redengine/projections"
)

// niceSeen is counts that records the nice value of the thread its Apply
// runs on, the last one and each stream's. An event of a stream "gate-…"
// waits in Apply, once it has said so on entered, until gate is closed.
type niceSeen struct {
	counts
	nice          atomic.Int64
	mu            sync.Mutex
	byStream      map[string]int
	entered, gate chan struct{}
}

func (n *niceSeen) Apply(ctx context.Context, tx *sql.Tx, t projections.TableNames, e eventstore.Event) error {
	nice, err := threadNice(strconv.Itoa(syscall.Gettid()))
	if err != nil {
		return err
	}
	n.nice.Store(int64(nice))
	n.mu.Lock()
	if n.byStream == nil {
		n.byStream = map[string]int{}
	}
	n.byStream[e.Stream] = nice
	n.mu.Unlock()
	if strings.HasPrefix(e.Stream, "gate-") {
		n.entered <- struct{}{}
		<-n.gate
	}
	return n.counts.Apply(ctx, tx, t, e)
}

func (n *niceSeen) niceOf(stream string) (int, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.byStream[stream]
	return v, ok
}

// threadNice reads the nice value of one of this process's threads.
func threadNice(tid string) (int, error) {
	b, err := os.ReadFile(filepath.Join("/proc/self/task", tid, "stat"))
	if err != nil {
		return 0, err
	}
	// After "pid (comm) ": state is field 3; nice is field 19.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return strconv.Atoi(f[19-3])
}

// lockedNice returns the nice value of the calling goroutine's thread,
// which the caller has locked, and the one a test lowers the batches to:
// 7 more (the test is skipped when that passes 19).
func lockedNice(t *testing.T) (own, want int) {
	t.Helper()
	own, err := threadNice(strconv.Itoa(syscall.Gettid()))
	if err != nil {
		t.Fatal(err)
	}
	if own+7 > 19 {
		t.Skipf("the test runs at nice %d already", own)
	}
	return own, own + 7
}

// threadsAt lists the threads of this process whose nice value is n.
func threadsAt(t *testing.T, n int) []string {
	t.Helper()
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var at []string
	for _, d := range tids {
		nice, err := threadNice(d.Name())
		if err != nil {
			continue // the thread ended meanwhile
		}
		if nice == n {
			at = append(at, d.Name())
		}
	}
	return at
}

// TestNiceLowersOnlyTheBatchThread: with Options.Nice the live batches are
// applied on a thread at that nice value; the rest of the process keeps its
// own, and the thread ends with Run.
func TestNiceLowersOnlyTheBatchThread(t *testing.T) {
	runtime.LockOSThread() // this goroutine's thread, to compare with
	defer runtime.UnlockOSThread()
	own, want := lockedNice(t)
	if at := threadsAt(t, want); len(at) > 0 {
		t.Fatalf("threads at nice %d before the runner: %v", want, at)
	}
	e := newEnv(t)
	db := e.db("readmodels.db")
	p := &niceSeen{}
	opts := quiet()
	opts.Nice = want
	r, err := projections.New(db, e.store, []projections.Projection{p}, opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, r)
	untilLowered(t, e, r, p, want)
	if at := threadsAt(t, want); len(at) != 1 || at[0] == strconv.Itoa(os.Getpid()) {
		t.Errorf("threads at nice %d while running: %v, want the batches' one, not the main thread", want, at)
	}
	if now, _ := threadNice(strconv.Itoa(syscall.Gettid())); now != own {
		t.Errorf("the test's thread went from nice %d to %d", own, now)
	}
	stop()
	// The runtime ends the thread just after its goroutine returns.
	for i := 0; ; i++ {
		at := threadsAt(t, want)
		if len(at) == 0 {
			break
		}
		if i == 500 {
			t.Fatalf("threads still at nice %d after Run ended: %v", want, at)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// untilLowered appends events until three batches in a row have been
// applied at nice want: a projection first catches up on its own goroutine
// (at the process's priority), then joins the shared reader, whose batches
// go to the lowered thread; once there, every batch is applied at want
// while nobody waits.
func untilLowered(t *testing.T, e *env, r *projections.Runner, p *niceSeen, want int) {
	t.Helper()
	ctx := projections.Background(t.Context())
	joined := 0
	for round := 0; joined < 3; round++ {
		if round == 100 {
			t.Fatalf("after %d rounds, batches still applied at nice %d, want %d", round, p.nice.Load(), want)
		}
		pos := e.appendN("n", 3, 10)
		if err := r.WaitFor(ctx, "counts", pos); err != nil {
			t.Fatal(err)
		}
		switch got := p.nice.Load(); {
		case got == int64(want):
			joined++
		case joined > 0:
			t.Fatalf("round %d: a batch applied at nice %d after the shared reader's at %d", round, got, want)
		}
	}
}

// TestNiceWaitingReaderGetsTheProcessPriority: while a WaitFor waits for
// its position, the batches are applied at the process's priority; once
// nobody waits they go back to the lowered thread. (That a Background wait
// does not count is what lets untilLowered, whose waits are Background,
// see its batches lowered: a counted wait there would lift most of them.)
func TestNiceWaitingReaderGetsTheProcessPriority(t *testing.T) {
	ctx := t.Context()
	runtime.LockOSThread() // this goroutine's thread, to compare with
	defer runtime.UnlockOSThread()
	own, want := lockedNice(t)
	e := newEnv(t)
	db := e.db("readmodels.db")
	p := &niceSeen{entered: make(chan struct{}), gate: make(chan struct{})}
	opts := quiet()
	opts.Nice = want
	r, err := projections.New(db, e.store, []projections.Projection{p}, opts)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	untilLowered(t, e, r, p, want)

	// A batch held in Apply on the lowered thread; behind it, an event a
	// reader waits for.
	e.appendN("gate", 1, 1)
	<-p.entered
	pos := e.appendN("read", 1, 1)
	waited := make(chan error, 1)
	go func() { waited <- r.WaitFor(ctx, "counts", pos) }()
	for i := 0; r.Waiting() != 1; i++ {
		if i == 5000 {
			t.Fatalf("Waiting %d, want 1", r.Waiting())
		}
		time.Sleep(time.Millisecond)
	}
	close(p.gate)
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if got, _ := p.niceOf("gate-0"); got != want {
		t.Errorf("the held batch at nice %d, want %d", got, want)
	}
	if got, ok := p.niceOf("read-0"); !ok || got != own {
		t.Errorf("the batch a reader waited for at nice %d (%v), want the process's %d", got, ok, own)
	}
	if n := r.Waiting(); n != 0 {
		t.Errorf("Waiting %d after the wait", n)
	}
	// Nobody waits: lowered again.
	pos = e.appendN("after", 1, 1)
	if err := r.WaitFor(projections.Background(ctx), "counts", pos); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.niceOf("after-0"); got != want {
		t.Errorf("a batch after the wait at nice %d, want %d", got, want)
	}
}

// TestNiceZeroKeepsTheProcessPriority: without Options.Nice the batches run
// at the process's priority.
func TestNiceZeroKeepsTheProcessPriority(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := e.db("readmodels.db")
	p := &niceSeen{}
	p.nice.Store(-100)
	r, err := projections.New(db, e.store, []projections.Projection{p}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	own, err := threadNice(strconv.Itoa(syscall.Gettid()))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		pos := e.appendN("n", 3, 10)
		if err := r.WaitFor(ctx, "counts", pos); err != nil {
			t.Fatal(err)
		}
		if p.nice.Load() != int64(own) {
			t.Fatalf("batches at nice %d, this test at %d", p.nice.Load(), own)
		}
	}
}
