package sqlite

import (
	"sync"
	"sync/atomic"

	"redengine/eventstore"
)

// changes tracks which streams this store appended to and, through a
// counter kept in a small file beside the database (<file>-changes) that
// every process on the file maps and increments after each of its commits,
// whether another process appended: with it a command handler can use a
// cached stream without reading it again (eventstore.Changes).
//
// A mark is (commits of this store, shared counter). Since the mark, the
// shared counter rose by as much as this store's commits exactly when no
// other process committed; this store's own commits are known by stream.
// The counter rises after the commit and before the append is answered, so
// an acknowledged append is always counted; a store starts by raising it,
// so an append whose process died between its commit and the increment
// (never acknowledged) is seen when that process starts again.
type changes struct {
	mu     sync.Mutex
	shared *atomic.Uint64 // in the mapped file; nil: not tracking (every answer is "unsure")
	unmap  func() error
	own    uint64            // commits of this store
	last   map[string]uint64 // stream → own just after its last append here
	floor  uint64            // marks before it may predate appends forgotten from last
}

// maxTrackedStreams bounds last; past it, the map starts over and older
// marks turn unsure.
const maxTrackedStreams = 1 << 16

// openChanges maps the counter file at path and raises the counter. If the
// file cannot be mapped, the store does not track changes.
func openChanges(path string) *changes {
	c := &changes{last: make(map[string]uint64)}
	shared, unmap, err := mapCounter(path)
	if err != nil {
		return c
	}
	c.shared, c.unmap = shared, unmap
	c.shared.Add(1)
	return c
}

// close stops tracking and unmaps the file.
func (c *changes) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shared == nil {
		return nil
	}
	c.shared = nil
	return c.unmap()
}

// committed records a commit of this store that appended to streams (or may
// have: a failed commit counts too) and returns the mark just after it.
func (c *changes) committed(streams []string) eventstore.Mark {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shared == nil {
		return eventstore.Mark{}
	}
	if len(c.last)+len(streams) > maxTrackedStreams {
		clear(c.last)
		c.floor = c.own
	}
	c.own++
	sh := c.shared.Add(1)
	for _, s := range streams {
		c.last[s] = c.own
	}
	return eventstore.Mark{Local: c.own, Shared: sh}
}

// mark returns the moment now (the zero Mark when not tracking).
func (c *changes) mark() eventstore.Mark {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shared == nil {
		return eventstore.Mark{}
	}
	return eventstore.Mark{Local: c.own, Shared: c.shared.Load()}
}

// unchanged reports whether no commit of another process, and no commit of
// this store that appended to stream, came after m.
func (c *changes) unchanged(stream string, m eventstore.Mark) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shared == nil || m.IsZero() || m.Local > c.own {
		return false
	}
	if c.shared.Load()-m.Shared != c.own-m.Local {
		return false // another process committed
	}
	if m.Local < c.floor {
		return false
	}
	return c.last[stream] <= m.Local
}

// Mark returns the moment now, for Unchanged (eventstore.Changes).
func (s *Store) Mark() eventstore.Mark { return s.changes.mark() }

// Unchanged reports whether no append to stream has been acknowledged, by
// this store or another process on the same file, since m
// (eventstore.Changes). It reads no database page: a mutex and two
// counters.
func (s *Store) Unchanged(stream string, m eventstore.Mark) bool {
	return s.changes.unchanged(stream, m)
}

var _ eventstore.Changes = (*Store)(nil)
