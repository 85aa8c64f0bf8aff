package fie_test

import (
	"bytes"
	"testing"

	"redengine/fie"
	"redengine/fie/fietest"
)

// benchFile is a generated FIE file with 100,000 benefit records (100
// companies × 100 workers × 10 processes).
func benchFile(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := fietest.Generate(&buf, 100, 100, 10, 1); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkParse100k parses a whole 100,000-record file into memory.
func BenchmarkParse100k(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := fie.Parse(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, n := f.Counts(); n != 100_000 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkParseRecords100k streams the same file record by record.
func BenchmarkParseRecords100k(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := fie.ParseRecords(bytes.NewReader(data), func(fie.Record) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 100_000 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkHash100k hashes the same file (the import's dedupe key).
func BenchmarkHash100k(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := fie.Hash(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
