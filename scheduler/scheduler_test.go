package scheduler_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/projections"
	"redengine/scheduler"
)

// A task expires at its due time unless it is cancelled first.

type TaskScheduled struct {
	Due time.Time `json:"due"`
}
type TaskExpired struct{}
type TaskCancelled struct{}

type task struct {
	Due                time.Time
	Expired, Cancelled bool
}

var taskAgg = commands.Aggregate[task]{
	Category: "task",
	Codec: commands.NewCodec(
		commands.Type[TaskScheduled]("TaskScheduled", 1),
		commands.Type[TaskExpired]("TaskExpired", 1),
		commands.Type[TaskCancelled]("TaskCancelled", 1),
	),
	Evolve: func(s task, e commands.Event) task {
		switch ev := e.Data.(type) {
		case TaskScheduled:
			s.Due = ev.Due
		case TaskExpired:
			s.Expired = true
		case TaskCancelled:
			s.Cancelled = true
		}
		return s
	},
}

func expire(s task, now time.Time) ([]any, error) {
	switch {
	case s.Expired || s.Cancelled:
		return nil, errs.E(errs.Precondition, "la tarea ya terminó")
	case now.Before(s.Due):
		return nil, errs.E(errs.Precondition, "aún no vence")
	}
	return []any{TaskExpired{}}, nil
}

// mapper sets "<id>/expire" when a task is scheduled and clears it when it
// expires or is cancelled; sticky leaves it set on expiry.
func mapper(sticky bool) scheduler.Mapper {
	return func(e eventstore.Event) ([]scheduler.Change, error) {
		id := e.Stream[len("task-"):]
		v, err := taskAgg.Codec.Decode(e)
		if err != nil {
			return nil, err
		}
		key := id + "/expire"
		switch ev := v.(type) {
		case TaskScheduled:
			return []scheduler.Change{{Kind: scheduler.Set, DeadlineID: key, DueAt: ev.Due, Action: "expire", Target: id, Payload: []byte(`{"n":1}`)}}, nil
		case TaskExpired:
			if sticky {
				return nil, nil
			}
			return []scheduler.Change{{Kind: scheduler.Clear, DeadlineID: key}}, nil
		case TaskCancelled:
			return []scheduler.Change{{Kind: scheduler.Clear, DeadlineID: key}}, nil
		}
		return nil, nil
	}
}

var system = eventstore.Actor{ID: "scheduler", Role: "system"}

type node struct {
	sched   *scheduler.Scheduler
	handler *commands.Handler[task]
	runner  *projections.Runner
	db      *sql.DB
	clk     *clock.Manual
}

type world struct {
	t     *testing.T
	dir   string
	store eventstore.Store
	clk   *clock.Manual
}

var t0 = time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) // the night of a DST change in Madrid

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &world{t: t, dir: dir, store: s, clk: clock.NewManual(t0)}
}

// node starts a scheduler with its own read-model database over the shared
// store; fail names targets whose dispatch fails.
func (w *world) node(name string, sticky bool, fail ...string) *node {
	t := w.t
	t.Helper()
	db, err := projections.OpenDB(context.Background(), filepath.Join(w.dir, name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	deadlines := scheduler.NewDeadlines(mapper(sticky), eventstore.Filter{StreamPrefixes: []string{"task-"}})
	runner, err := projections.New(db, w.store, []projections.Projection{deadlines},
		projections.Options{WaitTimeout: time.Minute, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); runner.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h := commands.NewHandler(w.store, w.clk, taskAgg)
	bad := map[string]bool{}
	for _, f := range fail {
		bad[f] = true
	}
	dispatch := func(ctx context.Context, d scheduler.Deadline, cmd uuid.UUID) (scheduler.Outcome, error) {
		if bad[d.Target] {
			return 0, errors.New("destino averiado")
		}
		if d.Target == "panic" {
			panic("boom")
		}
		res, err := h.Handle(ctx, d.Target, commands.Meta{CommandID: cmd, CausationID: "deadline:" + d.ID, Actor: system}, expire)
		if err != nil {
			return 0, err
		}
		if res.Duplicate {
			return scheduler.AlreadyDone, nil
		}
		return scheduler.Acted, nil
	}
	s := scheduler.New(scheduler.Config{DB: db, Store: w.store, Projections: runner, Deadlines: deadlines, Dispatch: dispatch})
	return &node{sched: s, handler: h, runner: runner, db: db, clk: w.clk}
}

func (w *world) schedule(n *node, id string, due time.Time) {
	w.t.Helper()
	_, err := n.handler.Handle(context.Background(), id, commands.Meta{Actor: system}, func(task, time.Time) ([]any, error) {
		return []any{TaskScheduled{Due: due}}, nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) expirations(id string) int {
	w.t.Helper()
	evs, err := w.store.ReadStream(context.Background(), "task-"+id, 0, eventstore.Forward, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == "TaskExpired" {
			n++
		}
	}
	return n
}

// pass moves the clock to now (the commands a pass issues decide with the
// engine's clock, as in production) and runs a pass as of now.
func pass(t *testing.T, n *node, now time.Time) scheduler.Report {
	t.Helper()
	n.clk.Set(now)
	rep, err := n.sched.Due(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func counts(r scheduler.Report) [4]int { return [4]int{r.Considered, r.Acted, r.AlreadyDone, r.Failed} }

func TestActsAtItsTimeAndOnce(t *testing.T) {
	w := newWorld(t)
	n := w.node("rm", false)
	due := t0.Add(2 * time.Hour) // 03:30 Madrid summer time, after the clock jumped
	w.schedule(n, "a", due)
	w.schedule(n, "later", due.Add(24*time.Hour))

	if r := pass(t, n, due.Add(-time.Second)); counts(r) != [4]int{0, 0, 0, 0} {
		t.Fatalf("a second early: %+v", r)
	}
	if w.expirations("a") != 0 {
		t.Fatal("acted early")
	}
	r := pass(t, n, due)
	if counts(r) != [4]int{1, 1, 0, 0} {
		t.Fatalf("at its time: %+v", r)
	}
	head, _ := w.store.Head(context.Background())
	if r.Position.IsZero() || !r.AsOf.Equal(due) || r.Position.Less(eventstore.Position{}) || head.Less(r.Position) {
		t.Fatalf("report %+v", r)
	}
	// The expiry cleared the deadline: the next pass, even much later, sees
	// only the other task.
	if r := pass(t, n, due.Add(time.Hour)); counts(r) != [4]int{0, 0, 0, 0} {
		t.Fatalf("second pass: %+v", r)
	}
	if w.expirations("a") != 1 {
		t.Fatalf("%d expirations", w.expirations("a"))
	}
	pending, err := n.sched.Pending(context.Background())
	if err != nil || len(pending) != 1 || pending[0].ID != "later/expire" || !pending[0].DueAt.Equal(due.Add(24*time.Hour)) || string(pending[0].Payload) != `{"n":1}` {
		t.Fatalf("pending %+v %v", pending, err)
	}
}

func TestRepeatedPassIsIdempotent(t *testing.T) {
	w := newWorld(t)
	n := w.node("rm", true) // the expiry does not clear: every pass sees the deadline again
	w.schedule(n, "a", t0)
	if r := pass(t, n, t0); counts(r) != [4]int{1, 1, 0, 0} {
		t.Fatalf("first pass: %+v", r)
	}
	for range 3 {
		if r := pass(t, n, t0.Add(time.Minute)); counts(r) != [4]int{1, 0, 1, 0} {
			t.Fatalf("repeated pass: %+v", r)
		}
	}
	if w.expirations("a") != 1 {
		t.Fatalf("%d expirations", w.expirations("a"))
	}
}

func TestTwoNodesConcurrentlyActOnce(t *testing.T) {
	w := newWorld(t)
	a, b := w.node("rm-a", false), w.node("rm-b", false)
	const tasks = 12
	for i := range tasks {
		w.schedule(a, fmt.Sprint("t", i), t0.Add(time.Duration(i)*time.Second))
	}
	now := t0.Add(time.Hour)
	w.clk.Set(now)
	var wg sync.WaitGroup
	reps := make([]scheduler.Report, 2)
	for i, n := range []*node{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := n.sched.Due(context.Background(), now)
			if err != nil {
				t.Error(err)
			}
			reps[i] = r
		}()
	}
	wg.Wait()
	for i := range tasks {
		if n := w.expirations(fmt.Sprint("t", i)); n != 1 {
			t.Fatalf("task %d expired %d times", i, n)
		}
	}
	if reps[0].Failed+reps[1].Failed != 0 || reps[0].Acted+reps[1].Acted < tasks {
		t.Fatalf("reports: %+v / %+v", reps[0], reps[1])
	}
	for _, n := range []*node{a, b} {
		if r := pass(t, n, now); r.Considered != 0 {
			t.Fatalf("after both passes: %+v", r)
		}
	}
}

func TestFailuresAreReportedNotFatal(t *testing.T) {
	w := newWorld(t)
	n := w.node("rm", false, "broken")
	w.schedule(n, "broken", t0)
	w.schedule(n, "panic", t0.Add(time.Second))
	w.schedule(n, "fine", t0.Add(2*time.Second))
	r := pass(t, n, t0.Add(time.Minute))
	if counts(r) != [4]int{3, 1, 0, 2} || len(r.Failures) != 2 {
		t.Fatalf("report %+v", r)
	}
	if r.Failures[0].Deadline.ID != "broken/expire" || r.Failures[1].Deadline.ID != "panic/expire" || !errs.Is(errs.Internal, r.Failures[1].Err) {
		t.Fatalf("failures %+v", r.Failures)
	}
	// The failed ones stay set and are tried again.
	if r := pass(t, n, t0.Add(2*time.Minute)); counts(r) != [4]int{2, 0, 0, 2} {
		t.Fatalf("next pass %+v", r)
	}
}

func TestMovedAndClearedDeadlines(t *testing.T) {
	w := newWorld(t)
	n := w.node("rm", false)
	w.schedule(n, "m", t0)
	w.schedule(n, "m", t0.Add(time.Hour)) // moved later
	w.schedule(n, "c", t0)
	if _, err := n.handler.Handle(context.Background(), "c", commands.Meta{Actor: system}, func(task, time.Time) ([]any, error) {
		return []any{TaskCancelled{}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if r := pass(t, n, t0.Add(time.Minute)); r.Considered != 0 {
		t.Fatalf("moved or cleared deadline acted on: %+v", r)
	}
	if r := pass(t, n, t0.Add(time.Hour)); counts(r) != [4]int{1, 1, 0, 0} {
		t.Fatalf("moved deadline at its new time: %+v", r)
	}
	d1 := scheduler.Deadline{ID: "m/expire", DueAt: t0}
	d2 := scheduler.Deadline{ID: "m/expire", DueAt: t0.Add(time.Hour)}
	if scheduler.CommandID(d1) == scheduler.CommandID(d2) || scheduler.CommandID(d1) != scheduler.CommandID(scheduler.Deadline{ID: "m/expire", DueAt: t0.In(time.FixedZone("x", 3600))}) {
		t.Fatal("command IDs not derived from ID and instant")
	}
}

func TestDeadlinesRebuildMatchesLive(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	n := w.node("rm", false)
	for i := range 5 {
		w.schedule(n, fmt.Sprint("t", i), t0.Add(time.Duration(i)*time.Minute))
	}
	pass(t, n, t0.Add(2*time.Minute))
	head, _ := w.store.Head(ctx)
	if err := n.runner.WaitFor(ctx, scheduler.DefaultName, head); err != nil {
		t.Fatal(err)
	}
	live, err := n.runner.Digest(ctx, scheduler.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.runner.Rebuild(ctx, scheduler.DefaultName, nil); err != nil {
		t.Fatal(err)
	}
	if rebuilt, _ := n.runner.Digest(ctx, scheduler.DefaultName); rebuilt != live {
		t.Fatal("rebuilt deadlines differ from live")
	}
	var set, cleared int
	n.db.QueryRow(`SELECT count(*) FILTER (WHERE state = 'set'), count(*) FILTER (WHERE state = 'cleared') FROM deadlines`).Scan(&set, &cleared)
	if set != 2 || cleared != 3 {
		t.Fatalf("%d set, %d cleared", set, cleared)
	}
}

func TestValidateAsOf(t *testing.T) {
	future := time.Now().Add(time.Hour)
	if err := scheduler.ValidateAsOf(clock.System{}, future); !errs.Is(errs.Precondition, err) {
		t.Fatalf("future with the system clock: %v", err)
	}
	if err := scheduler.ValidateAsOf(clock.System{}, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := scheduler.ValidateAsOf(clock.NewManual(time.Now()), future); err != nil {
		t.Fatalf("future with a manual clock: %v", err)
	}
}
