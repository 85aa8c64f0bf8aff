package commands

import (
	"container/list"
	"slices"
	"sync"

	"github.com/google/uuid"

	"redengine/eventstore"
)

// DefaultCacheSize is how many streams a Handler keeps folded in memory by
// default (WithCacheSize).
const DefaultCacheSize = 4096

// entry is a stream folded up to a revision, as the cache keeps it. It is
// immutable once built: readers share it without locks, and a newer fold
// is a new entry. Its State comes from Evolve, which must not mutate the
// state it receives, and is handed to Decide and returned in Result and
// Loaded, which must treat it as read-only.
type entry[S any] struct {
	Loaded[S]
	// lastID is the ID of the event at Revision: a command checks that the
	// stream still has it there before trusting the entry.
	lastID uuid.UUID
	// cmds holds a hash of the command ID of every event folded (a hash,
	// so a long stream costs 8 bytes per command; a collision only sends a
	// command down the slow path, which compares the IDs themselves).
	cmds *cmdSet
	// mark is the store's moment taken before the read (or the append)
	// that gave this entry: while the store says the stream is unchanged
	// since, the entry is its latest state (eventstore.Changes). Zero:
	// none, the entry must be brought up to date by a read.
	mark eventstore.Mark
}

// stateCache is a bounded LRU map from stream name to its latest known
// entry. It is safe for concurrent use.
type stateCache[S any] struct {
	mu    sync.Mutex
	max   int
	byKey map[string]*list.Element // of *cacheItem[S]
	lru   list.List                // front: most recently used
}

type cacheItem[S any] struct {
	stream string
	e      *entry[S]
}

func newStateCache[S any](size int) *stateCache[S] {
	if size <= 0 {
		return nil
	}
	return &stateCache[S]{max: size, byKey: make(map[string]*list.Element, min(size, 1024))}
}

// get returns the entry of stream, or nil.
func (c *stateCache[S]) get(stream string) *entry[S] {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[stream]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheItem[S]).e
}

// put records e as the entry of stream unless the cache already holds a
// later revision of it (a slower concurrent command finishing last must not
// move the cache back; a stale entry would still be correct, only slower).
// An entry of the same revision with a mark replaces the held one: it was
// just vouched for.
func (c *stateCache[S]) put(stream string, e *entry[S]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[stream]; ok {
		it := el.Value.(*cacheItem[S])
		if it.e.Revision < e.Revision || (it.e.Revision == e.Revision && !e.mark.IsZero()) {
			it.e = e
		}
		c.lru.MoveToFront(el)
		return
	}
	c.byKey[stream] = c.lru.PushFront(&cacheItem[S]{stream: stream, e: e})
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.byKey, old.Value.(*cacheItem[S]).stream)
	}
}

// drop forgets stream.
func (c *stateCache[S]) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[stream]; ok {
		c.lru.Remove(el)
		delete(c.byKey, stream)
	}
}

// len returns how many streams are cached.
func (c *stateCache[S]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// cmdSet is an immutable set of command-ID hashes: a chain of sorted runs,
// each more than twice as long as the one after it, so a lookup searches
// O(log n) runs and extending the set copies O(log n) hashes per hash
// (amortised) instead of the whole set. Extending returns a new set and
// never changes a run that another entry may share.
type cmdSet struct {
	ids    []uint64 // sorted, no repeats
	parent *cmdSet
}

// has reports whether h is in the set.
func (s *cmdSet) has(h uint64) bool {
	for ; s != nil; s = s.parent {
		if _, ok := slices.BinarySearch(s.ids, h); ok {
			return true
		}
	}
	return false
}

// with returns the set plus add (which it may reorder; the caller must not
// use it afterwards).
func (s *cmdSet) with(add []uint64) *cmdSet {
	if len(add) == 0 {
		return s
	}
	slices.Sort(add)
	add = slices.Compact(add)
	n := &cmdSet{ids: add, parent: s}
	for n.parent != nil && len(n.parent.ids) <= 2*len(n.ids) {
		n = &cmdSet{ids: mergeSorted(n.parent.ids, n.ids), parent: n.parent.parent}
	}
	return n
}

// mergeSorted merges two sorted runs into a new one, without repeats.
func mergeSorted(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
