package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"redengine/clock"
	"redengine/config"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/esdb"
	"redengine/eventstore/sqlite"
)

// OpenStore opens the event store the configuration names: SQLite in the
// data dir by default, with opts after the configuration's own, or
// EventStoreDB for an esdb:// connection string (opts unused).
func OpenStore(ctx context.Context, cfg config.Config, clk clock.Clock, opts ...sqlite.Option) (eventstore.Store, error) {
	const op = errs.Op("engine.OpenStore")
	if strings.HasPrefix(cfg.EventStore, "esdb") {
		s, err := esdb.Open(ctx, cfg.EventStore)
		if err != nil {
			return nil, errs.E(op, err)
		}
		return s, nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.EventsPath()), 0o750); err != nil {
		return nil, errs.E(op, errs.Unavailable, "no se puede crear el directorio del almacén de eventos", err)
	}
	s, err := sqlite.Open(ctx, cfg.EventsPath(), append([]sqlite.Option{sqlite.WithClock(clk), sqlite.WithCommitLinger(cfg.CommitLinger)}, opts...)...)
	if err != nil {
		return nil, errs.E(op, err)
	}
	return s, nil
}
