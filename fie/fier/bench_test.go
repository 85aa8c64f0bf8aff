package fier_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"
	"time"

	"redengine/fie"
	"redengine/fie/fier"
	"redengine/fie/fietest"
)

// cpuTime is the process's user+system CPU time: on a shared machine it
// shows the work done apart from the wait for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakHeap samples the Go heap in use (objects plus unused space in heap
// spans, as MemStats.HeapInuse) every 10 ms until stop is called, which
// returns the highest value seen. It reads runtime/metrics, which does not
// stop the world as runtime.ReadMemStats does.
func peakHeap() (stop func() uint64) {
	var (
		mu      sync.Mutex
		peak    uint64
		done    = make(chan struct{})
		wg      sync.WaitGroup
		samples = []metrics.Sample{
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/memory/classes/heap/unused:bytes"},
		}
	)
	sample := func() {
		metrics.Read(samples)
		v := samples[0].Value.Uint64() + samples[1].Value.Uint64()
		mu.Lock()
		peak = max(peak, v)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		sample()
		return peak
	}
}

// BenchmarkWriteFIER300 is one download of the real service's maximum: 300
// records.
func BenchmarkWriteFIER300(b *testing.B) {
	var recs []fie.Record
	for r := range fietest.Records(300, 300, 1) {
		recs = append(recs, r)
	}
	meta := fier.Meta{CCC: recs[0].CCC, From: fie.D(2021, 3, 1), To: fie.D(2021, 3, 17)}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := fier.WriteFIER(io.Discard, fier.Slice(recs), meta); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkWriteFIERBulk is the bulk export: rows generated lazily (so the
// input holds no memory) into a file on disk; 20,000 and 100,000 rows, to
// show that memory does not grow with the rows. peak-heap-MB is the highest
// Go heap in use, sampled every 10 ms during the export.
func BenchmarkWriteFIERBulk(b *testing.B) {
	for _, n := range []int{20_000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) { benchBulk(b, n) })
	}
}

func benchBulk(b *testing.B, n int) {
	dir := b.TempDir()
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	stop := peakHeap()
	var size int64
	for i := 0; i < b.N; i++ {
		out, err := os.Create(filepath.Join(dir, "fier.xlsx"))
		if err != nil {
			b.Fatal(err)
		}
		rows, err := fier.WriteFIER(out, fietest.Records(n, 1000, int64(i)), fier.Meta{})
		if err != nil || rows != n {
			b.Fatal(rows, err)
		}
		if err := out.Close(); err != nil {
			b.Fatal(err)
		}
		st, _ := os.Stat(out.Name())
		size = st.Size()
	}
	peak := stop()
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(size)/(1<<20), "xlsx-MB")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
