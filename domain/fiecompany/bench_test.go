package fiecompany_test

import (
	"bytes"
	"testing"

	"redengine/commands"
	"redengine/fie/fietest"
)

// BenchmarkImportFile100k imports a 100,000-record file (1,000 companies ×
// 50 workers × 2 records) into a SQLite store on disk: parse, validate, one
// event per record on the company streams, the import record last.
func BenchmarkImportFile100k(b *testing.B) {
	files := make([][]byte, b.N)
	for i := range files {
		var buf bytes.Buffer
		if err := fietest.Generate(&buf, 1000, 50, 2, int64(100+i)); err != nil {
			b.Fatal(err)
		}
		files[i] = buf.Bytes()
	}
	in, _ := ingester(b)
	b.SetBytes(int64(len(files[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.ImportFile(b.Context(), files[i], commands.Meta{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "records/s")
}
