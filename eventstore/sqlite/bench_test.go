package sqlite_test

// Benchmarks of the embedded event store. Run them with
//
//	go test -run '^$' -bench . -benchtime 20000x ./eventstore/sqlite/
//
// (make bench-eventstore). Each reports its figure with b.ReportMetric:
// appends/s, events/s and latency percentiles in milliseconds.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// benchEvent is an event of a realistic size: ~200 bytes of data and full
// metadata.
func benchEvent(n int) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          "PlazoFijado",
		SchemaVersion: 2,
		Data: json.RawMessage(fmt.Sprintf(`{"caso":"CASO-%08d","plazo":"2026-12-01T23:59:59+01:00","dias":10,`+
			`"motivo":"requerimiento de subsanación del trabajador","autorizacion":"AUT-00012345","n":%d}`, n%100000, n)),
		Metadata: eventstore.Metadata{
			CorrelationID: "0f8fad5b-d9cb-469f-a165-70867728950e",
			CausationID:   "7c9e6679-7425-40de-944b-e07fc1f90ae7",
			CommandID:     "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
			Actor:         eventstore.Actor{ID: "tramitador-17", Role: "tramitador", Authorization: "AUT-00012345"},
			OccurredAt:    time.Date(2026, 11, 27, 9, 30, 0, 123456789, time.UTC),
		},
	}
}

func benchOpen(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkFsync measures the disk: append 4 KiB to a file and sync it, in
// a loop, with fsync(2) and with fdatasync(2), as a WAL commit does.
func BenchmarkFsync(b *testing.B) {
	for _, mode := range []string{"fsync", "fdatasync"} {
		b.Run(mode, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, 4096)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := f.WriteAt(buf, int64(i%1024)*4096); err != nil {
					b.Fatal(err)
				}
				if mode == "fsync" {
					err = f.Sync()
				} else {
					err = syscall.Fdatasync(int(f.Fd()))
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "syncs/s")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
// Other work on the machine slows the wall-clock figures down; the CPU time
// per operation shows what the store itself costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time used since start per item, in µs.
func reportCPU(b *testing.B, start time.Duration, items int) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Microsecond)/float64(items), "cpu-µs/item")
}

// reportLatency adds appends/s and latency percentiles to b.
func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration, unit string) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), unit)
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAppend: durable single-event appends by W concurrent writers,
// each on its own stream, each appending at the revision it last wrote.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := benchOpen(b)
			ctx := context.Background()
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			events := make([]eventstore.EventData, b.N)
			for i := range events {
				events[i] = benchEvent(i)
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stream := fmt.Sprintf("caso-%d", w)
					exp := eventstore.NoStream
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						t0 := time.Now()
						r, err := s.Append(ctx, stream, exp, events[i])
						lat[i] = time.Since(t0)
						if err != nil {
							b.Error(err)
							return
						}
						exp = eventstore.Revision(r.NextRevision)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			reportCPU(b, cpu0, b.N)
			st := s.Stats()
			b.ReportMetric(float64(st.Appends)/float64(st.Commits), "appends/commit")
			reportLatency(b, lat, elapsed, "appends/s")
		})
	}
}

// BenchmarkAppendBatch100: one writer appending batches of 100 events.
func BenchmarkAppendBatch100(b *testing.B) {
	s := benchOpen(b)
	ctx := context.Background()
	batches := make([][]eventstore.EventData, b.N)
	for i := range batches {
		batches[i] = make([]eventstore.EventData, 100)
		for j := range batches[i] {
			batches[i][j] = benchEvent(i*100 + j)
		}
	}
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	exp := eventstore.NoStream
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r, err := s.Append(ctx, "lote", exp, batches[i]...)
		lat[i] = time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		exp = eventstore.Revision(r.NextRevision)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportCPU(b, cpu0, b.N*100)
	b.ReportMetric(float64(b.N*100)/elapsed.Seconds(), "events/s")
	reportLatency(b, lat, elapsed, "batches/s")
}

// populated is a store file shared by the read benchmarks: a 1,000-event
// stream and 100,000 events spread over 1,000 streams.
var populated struct {
	once sync.Once
	dir  string
	err  error
}

const populatedEvents = 100_000

func populatedStore(b *testing.B) *sqlite.Store {
	b.Helper()
	populated.once.Do(func() {
		populated.dir, populated.err = os.MkdirTemp("", "eventstore-bench-")
		if populated.err != nil {
			return
		}
		ctx := context.Background()
		s, err := sqlite.Open(ctx, filepath.Join(populated.dir, "events.db"))
		if err != nil {
			populated.err = err
			return
		}
		defer s.Close()
		batch := make([]eventstore.EventData, 100)
		n := 0
		for i := 0; n < populatedEvents; i++ {
			for j := range batch {
				batch[j] = benchEvent(n + j)
			}
			stream := fmt.Sprintf("caso-%d", i%1000)
			if i < 10 {
				stream = "largo"
			}
			if _, err := s.Append(ctx, stream, eventstore.Any, batch...); err != nil {
				populated.err = err
				return
			}
			n += len(batch)
		}
	})
	if populated.err != nil {
		b.Fatal(populated.err)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(populated.dir, "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if populated.dir != "" {
		os.RemoveAll(populated.dir)
	}
	os.Exit(code)
}

// BenchmarkReadStream1000 reads a whole 1,000-event stream.
func BenchmarkReadStream1000(b *testing.B) {
	s := populatedStore(b)
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		evs, err := s.ReadStream(ctx, "largo", 0, eventstore.Forward, 0)
		if err != nil || len(evs) != 1000 {
			b.Fatalf("%d events, %v", len(evs), err)
		}
	}
	reportCPU(b, cpu0, b.N*1000)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/read")
}

// BenchmarkReadAll pages through the whole 100,000-event log.
func BenchmarkReadAll(b *testing.B) {
	s := populatedStore(b)
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	total := 0
	for i := 0; i < b.N; i++ {
		var from eventstore.Position
		for {
			evs, err := s.ReadAll(ctx, from, 4096)
			if err != nil {
				b.Fatal(err)
			}
			total += len(evs)
			if len(evs) < 4096 {
				break
			}
			from = evs[len(evs)-1].Position
		}
	}
	reportCPU(b, cpu0, total)
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSubscribeCatchUp subscribes from the start and takes every event
// of the 100,000-event log.
func BenchmarkSubscribeCatchUp(b *testing.B) {
	s := populatedStore(b)
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	total := 0
	for i := 0; i < b.N; i++ {
		sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{})
		if err != nil {
			b.Fatal(err)
		}
		for range populatedEvents {
			if _, err := sub.Next(ctx); err != nil {
				b.Fatal(err)
			}
			total++
		}
		sub.Close()
	}
	reportCPU(b, cpu0, total)
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkNaiveAppend is the baseline the store is measured against: the
// same schema, one transaction (one fsync) per append, 64 writers sharing
// one connection. It runs under the same conditions as BenchmarkAppend, so
// the ratio of the two shows what group commit buys on this machine.
func BenchmarkNaiveAppend(b *testing.B) {
	path := filepath.Join(b.TempDir(), "naive.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, revision INTEGER NOT NULL,
		id BLOB NOT NULL UNIQUE, type TEXT NOT NULL, schema_version INTEGER NOT NULL, data BLOB NOT NULL,
		metadata BLOB NOT NULL, recorded_at INTEGER NOT NULL, prev_hash BLOB, hash BLOB NOT NULL, UNIQUE (stream, revision))`); err != nil {
		b.Fatal(err)
	}
	const writers = 64
	events := make([]eventstore.EventData, b.N)
	for i := range events {
		events[i] = benchEvent(i)
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("caso-%d", w)
			for rev := 0; ; rev++ {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				e := events[i]
				meta, _ := eventstore.CanonicalMetadata(e.Metadata)
				hash := eventstore.ComputeHash(nil, stream, uint64(rev), e.Type, e.SchemaVersion, e.Data, meta)
				t0 := time.Now()
				_, err := db.Exec(`INSERT INTO events (stream, revision, id, type, schema_version, data, metadata, recorded_at, prev_hash, hash)
					VALUES (?,?,?,?,?,?,?,?,?,?)`, stream, rev, e.ID[:], e.Type, e.SchemaVersion, []byte(e.Data), meta, time.Now().UnixNano(), nil, hash)
				lat[i] = time.Since(t0)
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	reportCPU(b, cpu0, b.N)
	reportLatency(b, lat, elapsed, "appends/s")
}
