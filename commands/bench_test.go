package commands_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"redengine/clock"
	"redengine/commands"
	"redengine/eventstore/sqlite"
)

// BenchmarkHandle measures whole commands (load, decide, append, read back):
// creating tickets from parallel goroutines, and noting on tickets with a
// 20-event history.
func BenchmarkHandle(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	h := commands.NewHandler(store, clock.NewManual(t0), ticketAgg)
	var n atomic.Int64
	b.Run("create-parallel", func(b *testing.B) {
		b.SetParallelism(8)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := fmt.Sprint("c", n.Add(1))
				if _, err := h.Handle(ctx, id, commands.Meta{Actor: alice}, open("x")); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commands/s")
	})
	b.Run("note-20-event-history", func(b *testing.B) {
		const streams = 64
		for i := range streams {
			id := fmt.Sprint("h", i)
			h.Handle(ctx, id, commands.Meta{Actor: alice}, open("x"))
			for range 19 {
				h.Handle(ctx, id, commands.Meta{Actor: alice}, note("n"))
			}
		}
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			if _, err := h.Handle(ctx, fmt.Sprint("h", i%streams), commands.Meta{Actor: alice}, note("n")); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commands/s")
	})
}
