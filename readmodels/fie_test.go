package readmodels_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"redengine/clock"
	"redengine/commands"
	"redengine/domain/fiecompany"
	"redengine/eventstore/sqlite"
	"redengine/fie"
	"redengine/fie/fietest"
	"redengine/projections"
	"redengine/readmodels"
)

func TestFieReadModel(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, readmodels.NewFIE())
	store, db, r, clk := w.store, w.db, w.runner, w.clk

	in := &fiecompany.Ingester{
		Companies: commands.NewHandler(store, clk, fiecompany.Aggregate()),
		Imports:   commands.NewHandler(store, clk, fiecompany.ImportAggregate()),
	}
	var recs []fie.Record
	for rec := range fietest.Records(12, 6, 4) { // two companies of 6
		recs = append(recs, rec)
	}
	res, err := in.ReceiveRecords(ctx, recs, commands.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitFor(ctx, readmodels.FIEName, res.Position); err != nil {
		t.Fatal(err)
	}
	ccc := recs[0].CCC
	nov28 := fie.D(2026, 11, 28)
	if n, err := readmodels.FIECount(ctx, db, ccc, nov28, nov28); err != nil || n != 6 {
		t.Fatalf("count %d, %v", n, err)
	}
	if n, _ := readmodels.FIECount(ctx, db, ccc, fie.D(2026, 11, 27), fie.D(2026, 11, 27)); n != 0 {
		t.Errorf("received on the 27th in Madrid: %d", n)
	}

	// A day later, an update of one process: still one row, the latest.
	clk.Set(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC))
	upd := recs[1]
	upd.DIT.End, upd.DIT.EndCause, upd.DIT.Annulled = upd.DIT.Start.AddDays(5), "02", fie.Si
	res, err = in.ReceiveRecords(ctx, []fie.Record{upd}, commands.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitFor(ctx, readmodels.FIEName, res.Position); err != nil {
		t.Fatal(err)
	}
	var got []readmodels.FIERow
	for row, err := range readmodels.FIERecords(ctx, db, ccc, nov28, fie.D(2026, 11, 29), 0) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row)
	}
	if len(got) != 6 {
		t.Fatalf("%d rows, want 6", len(got))
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1].Record, got[i].Record
		if a.NAF > b.NAF || (a.NAF == b.NAF && b.DIT.Start.Before(a.DIT.Start)) {
			t.Errorf("rows not in NAF, start order at %d", i)
		}
	}
	for _, row := range got {
		if row.Record.Key() != upd.Key() {
			if row.Observations != 1 || row.ReceivedOn != nov28 {
				t.Errorf("untouched row %+v", row)
			}
			continue
		}
		if row.Observations != 2 || row.ReceivedOn != fie.D(2026, 11, 29) || row.Record.DIT.End != upd.DIT.End ||
			row.Record.DIT.Annulled != fie.Si || row.Source != fiecompany.SourceAPI {
			t.Errorf("updated row %+v", row)
		}
	}
	if n, _ := readmodels.FIECount(ctx, db, ccc, nov28, nov28); n != 5 {
		t.Errorf("the updated process moved to the 29th: %d on the 28th", n)
	}
	var desc string
	if err := db.QueryRowContext(ctx, `SELECT contingency_desc FROM fie_records WHERE ccc = ? AND naf = ?`, ccc, recs[0].NAF).Scan(&desc); err != nil ||
		desc != recs[0].DIT.Contingency.Description() {
		t.Errorf("contingency description %q, %v", desc, err)
	}
	n := 0
	for range readmodels.FIERecords(ctx, db, ccc, nov28, fie.D(2026, 11, 29), 2) {
		n++
	}
	if n != 2 {
		t.Errorf("limit 2 gave %d", n)
	}

	// Rebuilding from the log gives the same rows.
	before, err := r.Digest(ctx, readmodels.FIEName)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Rebuild(ctx, readmodels.FIEName, nil); err != nil {
		t.Fatal(err)
	}
	if after, _ := r.Digest(ctx, readmodels.FIEName); after != before {
		t.Errorf("rebuild changed the model")
	}
}

// BenchmarkFIEProjection measures the FIE read model catching up on 20,000
// record events (one company stream per 500 records).
func BenchmarkFIEProjection(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	clk := clock.NewManual(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.WithClock(clk))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	in := &fiecompany.Ingester{
		Companies: commands.NewHandler(store, clk, fiecompany.Aggregate()),
		Imports:   commands.NewHandler(store, clk, fiecompany.ImportAggregate()),
	}
	var recs []fie.Record
	for rec := range fietest.Records(20_000, 500, 4) {
		recs = append(recs, rec)
	}
	res, err := in.ReceiveRecords(ctx, recs, commands.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := projections.OpenDB(ctx, filepath.Join(dir, fmt.Sprintf("rm%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		r, err := projections.New(db, store, []projections.Projection{readmodels.NewFIE()}, projections.Options{Clock: clk, WaitTimeout: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		b.StartTimer()
		go func() { defer close(done); r.Run(runCtx) }()
		if err := r.WaitFor(ctx, readmodels.FIEName, res.Position); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		stop()
		<-done
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}
