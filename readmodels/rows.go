package readmodels

import "sync"

// rowCache remembers the folded state a projection last wrote to each row,
// with the stream revision it folded, so that the next event of the stream
// is folded onto it without reading the row back and decoding its JSON.
//
// An entry is used only for the event right after its revision: any event
// the cache did not see (one skipped, a batch whose transaction rolled back
// and is applied again, a rebuild by another process) sends the fold back
// to the stored row. Entries are kept per table, so a rebuild into shadow
// tables never meets the live table's entries. States must be immutable once
// cached (the domain's Apply returns a new state).
type rowCache[S any] struct {
	mu   sync.Mutex
	max  int
	rows map[rowKey]cachedRow[S]
}

type rowKey struct{ table, id string }

type cachedRow[S any] struct {
	state    S
	revision uint64
}

func newRowCache[S any](max int) *rowCache[S] {
	return &rowCache[S]{max: max, rows: make(map[rowKey]cachedRow[S])}
}

// before returns the state of the row when the cache holds it at the
// revision just before revision.
func (c *rowCache[S]) before(table, id string, revision uint64) (S, bool) {
	if c == nil || revision == 0 {
		var zero S
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.rows[rowKey{table, id}]
	if !ok || r.revision != revision-1 {
		var zero S
		return zero, false
	}
	return r.state, true
}

// put records the state written to the row at revision. A full cache drops
// an arbitrary entry first.
func (c *rowCache[S]) put(table, id string, revision uint64, state S) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := rowKey{table, id}
	if _, ok := c.rows[k]; !ok && len(c.rows) >= c.max {
		for old := range c.rows {
			delete(c.rows, old)
			break
		}
	}
	c.rows[k] = cachedRow[S]{state: state, revision: revision}
}
