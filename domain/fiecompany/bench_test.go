package fiecompany_test

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"redengine/commands"
	"redengine/eventstore/sqlite"
	"redengine/fie/fietest"
)

// BenchmarkImportFile100k imports a 100,000-record file (1,000 companies ×
// 50 workers × 2 records) into a SQLite store on disk: parse, validate, one
// event per record on the company streams, the import record last.
func BenchmarkImportFile100k(b *testing.B) {
	files := benchFiles(b, 1000, 50)
	in, s := ingester(b)
	in.Parallel = 16 // as the engine's (engine.FIEIngester)
	b.SetBytes(int64(len(files[0])))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := in.ImportFile(b.Context(), files[i], commands.Meta{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N*100_000)/cpu.Seconds(), "records/cpu-s")
	if st, ok := s.(interface{ Stats() sqlite.Stats }); ok {
		b.ReportMetric(float64(st.Stats().Events)/float64(st.Stats().Commits), "events/commit")
	}
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// shows the work done apart from the wait for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImportFileOneCompany100k imports a 100,000-record file of one
// company (50,000 workers × 2 records): every record on one stream, so the
// chunks are appended one after the other.
func BenchmarkImportFileOneCompany100k(b *testing.B) {
	files := benchFiles(b, 1, 50000)
	in, _ := ingester(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.ImportFile(b.Context(), files[i], commands.Meta{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "records/s")
}

// benchFiles generates b.N different files of companies × workers × 2
// records, before the timer starts.
func benchFiles(b *testing.B, companies, workers int) [][]byte {
	b.Helper()
	files := make([][]byte, b.N)
	for i := range files {
		var buf bytes.Buffer
		if err := fietest.Generate(&buf, companies, workers, 2, int64(100+i)); err != nil {
			b.Fatal(err)
		}
		files[i] = buf.Bytes()
	}
	return files
}
