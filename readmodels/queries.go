package readmodels

import (
	"context"
	"database/sql"
	"sync"
)

// Queryer runs the read queries of this package: a *sql.DB, or a Prepared
// that keeps them prepared.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// maxPrepared bounds the statements a Prepared keeps: a list query's text
// depends on its filters (and on how many autorizaciones a user has), so the
// shapes are few but not fixed; past the bound a query is prepared per call.
const maxPrepared = 256

// Prepared is the read-model database with each query prepared once, on
// first use, and kept: SQLite's parse and plan of a list query was a
// quarter of the list's cost (docs/benchmarks.md). A statement stays valid
// when a rebuild swaps a table in (SQLite prepares it again on its own). It
// is safe for concurrent use.
type Prepared struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// NewPrepared returns a Prepared over db; Close releases its statements
// (not db).
func NewPrepared(db *sql.DB) *Prepared {
	return &Prepared{db: db, stmts: make(map[string]*sql.Stmt)}
}

// stmt returns query's statement, preparing it the first time; nil when the
// statement cannot be kept (the caller then runs the query unprepared).
func (p *Prepared) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.stmts[query]; ok {
		return st
	}
	if p.stmts == nil || len(p.stmts) >= maxPrepared {
		return nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // reported by the unprepared run
	}
	p.stmts[query] = st
	return st
}

// QueryContext runs query, prepared.
func (p *Prepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query, prepared, for one row.
func (p *Prepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// Close closes the kept statements; queries after it run unprepared.
func (p *Prepared) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first error
	for _, st := range p.stmts {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	p.stmts = nil
	return first
}
