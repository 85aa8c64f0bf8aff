// Package projections keeps the engine's read models: named projections, each
// catching up from its checkpoint on its own and then fed, with the others, by
// one shared subscription to the global log, each writing its tables in an
// SQLite database (<data dir>/readmodels.db) together with its checkpoint, in
// the same transaction. A model can be rebuilt into shadow
// tables and swapped in atomically, its lag measured, its content digested,
// and a reader can wait until a projection has reached a given position
// (read-your-writes).
package projections

import (
	"context"
	"database/sql"

	"redengine/errs"
	"redengine/eventstore"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Table is one table of a read model. Its statements are functions of the
// table's actual name, because Rebuild creates the same table under a shadow
// name first.
type Table struct {
	// Name is the table's name (its live name), unique in the database. It
	// is a plain SQL identifier: letters, digits and underscores.
	Name string
	// Create returns the CREATE TABLE statement for a table called table.
	Create func(table string) string
	// Indexes returns the CREATE INDEX statements for a table called table;
	// each index name must be derived from table (e.g. table+"_by_due"), as
	// index names are global in SQLite. May be nil.
	Indexes func(table string) []string
}

// TableNames maps each Table.Name of a projection to the name to write to:
// the live table, or its shadow during a rebuild. Apply must always go
// through it (tables["cases"]), never name a table directly.
type TableNames map[string]string

// Projection turns events into rows of its read model.
type Projection interface {
	// Name identifies the projection (and its checkpoint); it is stable.
	Name() string
	// Tables lists the projection's tables.
	Tables() []Table
	// Apply changes the read model for one event, inside tx, writing only to
	// the tables named by tables. It must be deterministic: rebuilding from
	// the start must give the same rows. An error rolls back the whole batch,
	// checkpoint included, and the batch is retried later. ctx carries the
	// runner's values but is not cancelled during a batch (the runner stops
	// between batches): Apply does no I/O beyond tx.
	Apply(ctx context.Context, tx *sql.Tx, tables TableNames, e eventstore.Event) error
}

// Filtered is implemented by a projection that wants only some events. The
// filter is applied by the runner: events that do not match still move the
// checkpoint, so WaitFor works for any position.
type Filtered interface {
	Filter() eventstore.Filter
}

// Versioned is implemented by a projection whose Apply logic changed in a way
// that needs its model rebuilt: bumping the version resets the model at the
// next start, like a change in its tables' statements does.
type Versioned interface {
	Version() int
}

// MaxIdleConns is how many connections of the read-model database OpenDB
// keeps open between uses: enough for the API's concurrent reads and the
// projections' writer (a SQLite connection is a file handle, its schema and
// a page cache that grows as used).
const MaxIdleConns = 32

// OpenDB opens (creating it if needed) the read-model database at path with
// the settings the runner expects: WAL (readers never block the writer nor
// see a half-applied batch), synchronous=NORMAL (a crash may lose the last
// batches but never splits a batch from its checkpoint; they are re-applied
// from the log), a busy timeout, and write transactions that take the write
// lock when they begin. It keeps MaxIdleConns connections open.
func OpenDB(ctx context.Context, path string) (*sql.DB, error) {
	db, err := openDB(ctx, path, "NORMAL")
	if err != nil {
		return nil, errs.E(errs.Op("projections.OpenDB"), err)
	}
	return db, nil
}

func validIdent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
