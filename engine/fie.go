package engine

import (
	"context"
	"fmt"
	"io"
	"iter"
	"path/filepath"

	"redengine/api"
	"redengine/commands"
	"redengine/domain/fiecompany"
	"redengine/eventstore"
	"redengine/fie"
	"redengine/fie/fier"
	"redengine/fie/fietest"
	"redengine/projections"
	"redengine/readmodels"
)

// FIERDir is the directory of the data dir that holds generated FIER
// workbooks until they expire.
func (e *Engine) FIERDir() string { return filepath.Join(e.Config.DataDir, "fier") }

// FIEIngester returns the FIE ingestion service over the engine's store.
func (e *Engine) FIEIngester() *fiecompany.Ingester {
	return &fiecompany.Ingester{
		Companies: commands.NewHandler(e.Store, e.Clock, fiecompany.Aggregate(), e.conflictHook()),
		Imports:   commands.NewHandler(e.Store, e.Clock, fiecompany.ImportAggregate(), e.conflictHook()),
		Store:     e.Store,
		Clock:     e.Clock,
		Parallel:  16,
		Hold:      e.imports.Hold,
	}
}

// fieFeature wires the fie capability: its API module and projections.
func (e *Engine) fieFeature(dir *api.Directory) (feature, error) {
	mod := &api.FIE{
		Ingest:       e.FIEIngester(),
		Exports:      commands.NewHandler(e.Store, e.Clock, fiecompany.ExportAggregate(), e.conflictHook()),
		Dir:          dir,
		DB:           e.Reads,
		Clock:        e.Clock,
		Policy:       fiecompany.Policy{MaxDays: e.Config.FIERMaxDays, MaxRecords: e.Config.FIERMaxRecords},
		TTL:          e.Config.FIERDownloadTTL,
		FilesDir:     e.FIERDir(),
		MaxFileBytes: e.Config.MaxImportBytes,
		// The projections runner starts after the features are built.
		Wait: func(ctx context.Context, pos eventstore.Position) error {
			return e.Projections.WaitFor(ctx, readmodels.FIEName, pos)
		},
	}
	return feature{Module: mod, Projections: []projections.Projection{readmodels.NewFIE()}}, nil
}

// CatchUpFIE brings the FIE read model up to the log's end (for the command
// line, which does not serve), alone: the other read models catch up when
// the engine next serves.
func (e *Engine) CatchUpFIE(ctx context.Context) error {
	return e.Projections.CatchUp(ctx, readmodels.FIEName)
}

// ExportFIER writes the FIER workbook of ccc for the processes received
// between from and to (both included) to w, with no policy limit, from the
// read model as it is (call CatchUpFIE first). progress, when not nil, is
// called every 1,000 rows and at the end with the rows written and the total.
// It returns the number of rows; none is errs.NotFound.
func (e *Engine) ExportFIER(ctx context.Context, ccc string, from, to fie.Date, w io.Writer, progress func(done, total int)) (int, error) {
	total, err := readmodels.FIECount(ctx, e.ReadDB, ccc, from, to)
	if err != nil {
		return 0, err
	}
	if err := (fiecompany.Policy{}).CheckCount(total); err != nil {
		return 0, err
	}
	rows := prefetch(ctx, readmodels.FIERecordsOnly(readmodels.FIERecords(ctx, e.ReadDB, ccc, from, to, 0)))
	if progress != nil {
		inner := rows
		rows = func(yield func(fie.Record, error) bool) {
			n := 0
			for r, err := range inner {
				if !yield(r, err) {
					return
				}
				if n++; n%1000 == 0 {
					progress(n, total)
				}
			}
			progress(n, total)
		}
	}
	return fier.WriteFIER(w, rows, fier.Meta{CCC: ccc, From: from, To: to, GeneratedAt: e.Clock.Now()})
}

// prefetch reads seq in its own goroutine, a batch ahead, so that reading
// and decoding rows overlaps with writing the workbook. A consumer that stops
// early stops the reader.
func prefetch(ctx context.Context, seq iter.Seq2[fie.Record, error]) iter.Seq2[fie.Record, error] {
	const batch = 256
	type chunk struct {
		recs []fie.Record
		err  error
	}
	return func(yield func(fie.Record, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		ch := make(chan chunk, 2)
		go func() {
			defer close(ch)
			buf := make([]fie.Record, 0, batch)
			send := func(c chunk) bool {
				select {
				case ch <- c:
					return true
				case <-ctx.Done():
					return false
				}
			}
			for r, err := range seq {
				if err != nil {
					send(chunk{err: err})
					return
				}
				if buf = append(buf, r); len(buf) == batch {
					if !send(chunk{recs: buf}) {
						return
					}
					buf = make([]fie.Record, 0, batch)
				}
			}
			if len(buf) > 0 {
				send(chunk{recs: buf})
			}
		}()
		defer func() {
			cancel()
			for range ch { // wait for the reader, which stops at its next send
			}
		}()
		for c := range ch {
			if c.err != nil {
				yield(fie.Record{}, c.err)
				return
			}
			for _, r := range c.recs {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
}

// DemoFIECCCs are the CCCs of the demo autorizaciones that LoadFIEDemo fills.
var DemoFIECCCs = []string{"28123456742", "23123456750"}

// LoadFIEDemo receives 40 synthetic IT processes for each demo CCC, as the
// INSS would publish them, so FIER has something to show on a fresh demo.
// Its commands are keyed: running it again appends nothing.
func (e *Engine) LoadFIEDemo(ctx context.Context) error {
	in := e.FIEIngester()
	for i, ccc := range DemoFIECCCs {
		var recs []fie.Record
		for r, err := range fietest.Records(40, 40, int64(2021+i)) {
			if err != nil {
				return err
			}
			r.Regimen, r.CCC = "0111", ccc
			recs = append(recs, r)
		}
		meta := commands.Meta{CommandID: commands.IDFromKey("demo", "fie-"+ccc), Actor: demoActor}
		meta.Actor.Role = "inss"
		if _, err := in.ReceiveRecords(ctx, recs, meta); err != nil {
			return fmt.Errorf("demo FIE %s: %w", ccc, err)
		}
	}
	e.Log.Info("demo FIE records loaded", "cccs", len(DemoFIECCCs))
	return nil
}
