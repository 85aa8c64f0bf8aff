package projections

import (
	"context"
	"database/sql"
	"sync"
)

// The modernc SQLite driver does not cache prepared statements: every
// tx.ExecContext parses and plans its SQL again, which under load costs about
// as much as running it. The runner therefore keeps the statements of Apply
// code (and its own checkpoint statements) prepared, keyed by their SQL text,
// and hands them to Apply through its context; Exec and QueryRow below use
// them when they are there and fall back to the transaction's own methods
// otherwise (a projection applied outside the runner, a test).
//
// Keys are the full SQL text, table names included, so a rebuild's shadow
// tables get statements of their own: a rebuild uses a cache of its own,
// closed when it ends. After the swap, the live statements name the renamed
// tables; SQLite prepares a statement again by itself when the schema it was
// prepared against changed.

// maxCachedStmts bounds a cache; past it, statements are run unprepared.
const maxCachedStmts = 256

// stmtCache keeps statements prepared on the read-model database, shared by
// every transaction of a runner (database/sql prepares each once per
// connection and reuses it: Tx.StmtContext).
type stmtCache struct {
	db *sql.DB

	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the statement for query, preparing it the first time; nil when
// it cannot be cached (the cache is full or closed, or the statement does not
// prepare outside the transaction — e.g. a table the transaction created).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.m[query]
	full := c.closed || len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[query]; ok || c.closed || len(c.m) >= maxCachedStmts {
		st.Close()
		return old
	}
	c.m[query] = st
	return st
}

// close closes every statement; later gets return nil.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// txStmts are the cache's statements bound to one transaction; it is used by
// the goroutine running the transaction only.
type txStmts struct {
	tx    *sql.Tx
	cache *stmtCache
	bound map[string]*sql.Stmt
}

type stmtsKey struct{}

// withStmts returns ctx carrying the statements of c for tx, for Exec and
// QueryRow. A nil c returns ctx.
func withStmts(ctx context.Context, c *stmtCache, tx *sql.Tx) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, stmtsKey{}, &txStmts{tx: tx, cache: c, bound: map[string]*sql.Stmt{}})
}

// stmtFor returns the prepared statement for query bound to tx, or nil.
func stmtFor(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	ts, _ := ctx.Value(stmtsKey{}).(*txStmts)
	if ts == nil || ts.tx != tx {
		return nil
	}
	if st, ok := ts.bound[query]; ok {
		return st
	}
	parent := ts.cache.get(ctx, query)
	if parent == nil {
		return nil
	}
	// Closed by database/sql when the transaction ends; the statement on
	// the connection stays prepared for the next transaction.
	st := tx.StmtContext(ctx, parent)
	ts.bound[query] = st
	return st
}

// Exec is tx.ExecContext(ctx, query, args...) with the statement prepared
// once per runner rather than on every call, when ctx is the one the runner
// passed to Apply. Apply code should use it (and QueryRow) for statements it
// runs per event.
func Exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := stmtFor(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// QueryRow is tx.QueryRowContext(ctx, query, args...) with a prepared
// statement, like Exec. Scan the row before running the same query again in
// the transaction: both would use the one prepared statement.
func QueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := stmtFor(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}
