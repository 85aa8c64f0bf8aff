package engine_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"redengine/auth"
	"redengine/config"
	"redengine/engine"
	"redengine/engine/enginetest"
	"redengine/eventstore"
	"redengine/fie"
	"redengine/fie/fietest"
	"redengine/readmodels"
)

// BenchmarkFIEImportHTTP100k imports a 100,000-record FIE 2.0 file (1,000
// companies × 50 workers × 2 records, about 16 MB) through
// POST /v1/fie/imports on loopback, and then waits for the FIER read model to
// reach it. Each iteration imports a different file (a repeat would be a
// duplicate). Run with -benchtime=1x or 3x. The engine holds one imported
// file (100,000 records) before the timed ones.
//
// The collector runs at ServeGCPercent, as in redengine serve, unless GOGC
// is set.
func BenchmarkFIEImportHTTP100k(b *testing.B) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(engine.ServeGCPercent))
	}
	e := enginetest.New(b, func(c *config.Config) { c.MaxBodyBytes = 256 << 20; c.WaitTimeout = 10 * time.Minute })
	inss := e.Token(auth.INSS, "inss.1")
	// One more file than iterations: the first is imported before the
	// timer starts (see below).
	files := make([][]byte, b.N+1)
	for i := range files {
		var buf bytes.Buffer
		if err := fietest.Generate(&buf, 1000, 50, 2, int64(100+i)); err != nil {
			b.Fatal(err)
		}
		files[i] = buf.Bytes()
	}
	b.SetBytes(int64(len(files[0])))
	// importOne imports a file and returns when the engine answered, with
	// the position to wait for.
	importOne := func(file []byte) eventstore.Position {
		// A plain client without the harness's 30 s timeout: on a loaded
		// machine a 100,000-record import may take longer.
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/v1/fie/imports", bytes.NewReader(file))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Authorization", "Bearer "+inss)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("import: %s", resp.Status)
		}
		return benchPos(b, resp.Header.Get("X-Position"))
	}
	// The first import of a fresh process grows its heap and files: on
	// this kind of guest each new page is a minor fault of ~12 µs (tens of
	// thousands of them), which a running server has paid already. It is
	// measured apart (first-records/s), and the timed imports are the
	// steady state.
	start := time.Now()
	pos := importOne(files[b.N])
	first := time.Since(start)
	if err := e.Projections.WaitFor(context.Background(), readmodels.FIEName, pos); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var importTime, projTime, importCPU time.Duration
	for i := 0; i < b.N; i++ {
		start, cpu0 := time.Now(), cpuTime()
		pos := importOne(files[i])
		importTime += time.Since(start)
		importCPU += cpuTime() - cpu0
		if err := e.Projections.WaitFor(context.Background(), readmodels.FIEName, pos); err != nil {
			b.Fatal(err)
		}
		projTime += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(100_000/first.Seconds(), "first-records/s")
	b.ReportMetric(float64(b.N*100_000)/importTime.Seconds(), "records/s")
	b.ReportMetric(float64(b.N*100_000)/projTime.Seconds(), "visible-records/s")
	b.ReportMetric(importTime.Seconds()*1000/float64(b.N), "import-ms")
	b.ReportMetric(importCPU.Seconds()*1000/float64(b.N), "import-cpu-ms")
}

// BenchmarkFierExport300HTTP is one FIER query at the policy's maximum: 300
// records of one CCC, POST /v1/fier/exports (workbook generated and stored)
// then GET …/download, through HTTP on loopback.
func BenchmarkFierExport300HTTP(b *testing.B) {
	e := enginetest.New(b)
	inss := e.Token(auth.INSS, "inss.1")
	tram := e.Token(auth.Tramitador, "tram.1")
	var recs []fie.Record
	for r := range fietest.Records(300, 300, 1) {
		recs = append(recs, r)
	}
	r := e.Post(inss, "/v1/fie/records", recs).Want(b, http.StatusCreated)
	if err := e.Projections.WaitFor(context.Background(), readmodels.FIEName, benchPos(b, r.Header.Get("X-Position"))); err != nil {
		b.Fatal(err)
	}
	day := fie.DateOf(enginetest.Start.In(madrid())).String()
	body := map[string]string{"ccc": recs[0].CCC, "from": day, "to": day}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		x := e.Post(tram, "/v1/fier/exports", body).Want(b, http.StatusCreated).Map(b)
		if x["records"] != float64(300) {
			b.Fatalf("records %v", x["records"])
		}
		d := e.Get(tram, x["downloadUrl"].(string)).Want(b, http.StatusOK)
		if i == 0 {
			b.ReportMetric(float64(len(d.Body)), "xlsx-bytes")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/export")
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/export")
}

func benchPos(b *testing.B, s string) eventstore.Position {
	b.Helper()
	p, err := eventstore.ParsePosition(s)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// cpuTime is the process's user+system CPU time (test client and engine
// together: they share the process).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
