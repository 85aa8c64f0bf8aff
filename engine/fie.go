package engine

import (
	"context"
	"path/filepath"

	"redengine/api"
	"redengine/commands"
	"redengine/domain/fiecompany"
	"redengine/eventstore"
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
	}
}

// fieFeature wires the fie capability: its API module and projections.
func (e *Engine) fieFeature(dir *api.Directory) (feature, error) {
	mod := &api.FIE{
		Ingest:   e.FIEIngester(),
		Exports:  commands.NewHandler(e.Store, e.Clock, fiecompany.ExportAggregate(), e.conflictHook()),
		Dir:      dir,
		DB:       e.ReadDB,
		Clock:    e.Clock,
		Policy:   fiecompany.Policy{MaxDays: e.Config.FIERMaxDays, MaxRecords: e.Config.FIERMaxRecords},
		TTL:      e.Config.FIERDownloadTTL,
		FilesDir: e.FIERDir(),
		// The projections runner starts after the features are built.
		Wait: func(ctx context.Context, pos eventstore.Position) error {
			return e.Projections.WaitFor(ctx, readmodels.FIEName, pos)
		},
	}
	return feature{Module: mod, Projections: []projections.Projection{readmodels.NewFIE()}}, nil
}
