package projections_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/projections"
)

// BenchmarkCatchUp measures a projection catching up with a log of 20,000
// events (one upsert per event), and a rebuild of the same model.
func BenchmarkCatchUp(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	const n = 20000
	for i := 0; i < n; i += 100 {
		evs := make([]eventstore.EventData, 100)
		for j := range evs {
			evs[j] = eventstore.EventData{ID: uuid.New(), Type: "Noted", SchemaVersion: 1, Data: json.RawMessage(`{"x":1}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}}
		}
		if _, err := store.Append(ctx, fmt.Sprintf("s-%d", i/100%50), eventstore.Any, evs...); err != nil {
			b.Fatal(err)
		}
	}
	head, _ := store.Head(ctx)
	b.ResetTimer()
	for i := range b.N {
		db, err := projections.OpenDB(ctx, filepath.Join(dir, fmt.Sprintf("rm%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		r, _ := projections.New(db, store, []projections.Projection{&counts{}}, projections.Options{WaitTimeout: 10 * time.Minute})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		start := time.Now()
		go func() { defer close(done); r.Run(rctx) }()
		if err := r.WaitFor(ctx, "counts", head); err != nil {
			b.Fatal(err)
		}
		catchUp := time.Since(start)
		cancel()
		<-done
		start = time.Now()
		if err := r.Rebuild(ctx, "counts", nil); err != nil {
			b.Fatal(err)
		}
		rebuild := time.Since(start)
		b.ReportMetric(n/catchUp.Seconds(), "catchup-events/s")
		b.ReportMetric(n/rebuild.Seconds(), "rebuild-events/s")
		closeDB(db)
	}
}

func closeDB(db *sql.DB) { db.Close() }

// BenchmarkLiveFollow measures six filtered projections (as many as the
// engine runs) following the log live while 8 writers append 12,000 events,
// 10 per append, over streams of six categories: the wall time until every
// projection has caught up and the process CPU time (appends included) per
// event.
func BenchmarkLiveFollow(b *testing.B) {
	ctx := context.Background()
	const (
		writers = 8
		appends = 150 // per writer
		per     = 10  // events per append
		n       = writers * appends * per
	)
	var wallSum, cpuSum time.Duration
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"))
		if err != nil {
			b.Fatal(err)
		}
		db, err := projections.OpenDB(ctx, filepath.Join(dir, "rm.db"))
		if err != nil {
			b.Fatal(err)
		}
		var projs []projections.Projection
		for k := range 6 {
			f := &filtered{}
			f.name = fmt.Sprintf("p%d", k)
			f.filter = &eventstore.Filter{StreamPrefixes: []string{fmt.Sprintf("c%d-", k)}}
			projs = append(projs, f)
		}
		r, err := projections.New(db, store, projs, projections.Options{WaitTimeout: 10 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); r.Run(rctx) }()
		time.Sleep(100 * time.Millisecond) // let the projections join the live reader
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		errc := make(chan error, writers)
		for w := range writers {
			go func() {
				for a := range appends {
					evs := make([]eventstore.EventData, per)
					for j := range evs {
						evs[j] = eventstore.EventData{ID: uuid.New(), Type: "Noted", SchemaVersion: 1, Data: json.RawMessage(`{"x":1}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}}
					}
					if _, err := store.Append(ctx, fmt.Sprintf("c%d-%d", (w+a)%6, (w*appends+a)%97), eventstore.Any, evs...); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
		}
		for range writers {
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
		}
		head, _ := store.Head(ctx)
		for _, name := range r.Names() {
			if err := r.WaitFor(ctx, name, head); err != nil {
				b.Fatal(err)
			}
		}
		wall, cpu := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		cancel()
		<-done
		db.Close()
		store.Close()
		wallSum += wall
		cpuSum += cpu
	}
	b.ReportMetric(float64(n*b.N)/wallSum.Seconds(), "events/s")
	b.ReportMetric(float64(cpuSum.Microseconds())/float64(n*b.N), "cpu-µs/event")
}

// cpuTime is the CPU time (user and system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
