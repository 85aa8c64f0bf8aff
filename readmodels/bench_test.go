package readmodels_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"redengine/catalog/casia"
	"redengine/clock"
	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/projections"
	"redengine/readmodels"
)

// BenchmarkCasesProjection measures the cases read model catching up on
// 5,000 cases of 4 events each (opening, routing, two replies) in
// transactions of 16 events, about what the live runner commits under load:
// events per second, process CPU and bytes written per event.
func BenchmarkCasesProjection(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	clk := clock.NewManual(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.WithClock(clk))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	h := commands.NewHandler(store, clk, cases.Aggregate())
	dec := cases.NewDecider(casia.Default(), calendar.New(), []byte("key"))
	ana := eventstore.Actor{ID: "ana", Role: cases.RoleAutorizado, Authorization: "A0001"}
	const n, replies = 5000, 2
	var last eventstore.Position
	for i := range n {
		id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		res, err := h.Handle(ctx, id, commands.Meta{Actor: ana}, dec.Open(cases.OpenCase{CaseID: id, Number: fmt.Sprintf("CAS-2026-%06d", i+1),
			Actor: ana, Authorization: "A0001", Type: casia.Consulta, Materia: "Afiliación (altas y bajas)", Categoria: "Altas",
			Subcategoria: "Alta fuera de plazo", Subject: "Alta", Body: "Solicitud",
			ExtraData: map[string]string{"ccc": "28123456742", "naf": "281234567840", "fechaReal": "2021-07-01"}}))
		if err != nil {
			b.Fatal(err)
		}
		last = res.Position
	}
	for r := range replies {
		for i := range n {
			id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
			res, err := h.Handle(ctx, id, commands.Meta{Actor: ana}, dec.Reply(cases.TextCommand{Actor: ana, Text: fmt.Sprintf("respuesta %d", r)}))
			if err != nil {
				b.Fatal(err)
			}
			last = res.Position
		}
	}
	b.ResetTimer()
	var took time.Duration
	var written int64
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := projections.OpenDB(ctx, filepath.Join(dir, fmt.Sprintf("rm%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		r, err := projections.New(db, store, []projections.Projection{readmodels.NewCases()}, projections.Options{Clock: clk, WaitTimeout: time.Hour, BatchSize: 16})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Init(ctx); err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		b.StartTimer()
		start, w0, cpu0 := time.Now(), bytesWritten(), cpuTime()
		go func() { defer close(done); r.Run(runCtx) }()
		if err := r.WaitFor(ctx, readmodels.CasesName, last); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		written += bytesWritten() - w0
		cpu += cpuTime() - cpu0
		b.StopTimer()
		stop()
		<-done
		db.Close()
	}
	events := float64(n * (2 + replies) * b.N)
	b.ReportMetric(events/took.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/events, "cpu-µs/event")
	if written > 0 {
		b.ReportMetric(float64(written)/events, "written-B/event")
	}
}

// cpuTime is the CPU time (user and system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bytesWritten is what the process has written to files so far (Linux:
// /proc/self/io), or 0. Unlike a duration it does not depend on the load of
// the machine.
func bytesWritten() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
