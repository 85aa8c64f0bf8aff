package sqlite

import (
	"sync"

	"redengine/eventstore"
)

// Bounds of the events the tail keeps (about 1 KB each under the load mix
// or in a FIE file). Small appends keep it at tailCap, enough for readers
// that follow the log closely; a bulk append lets it grow to tailBulkCap
// (about 16 MB), more than one group commit of a file import
// (maxGroupEvents), so that a reader a group behind, as the projections'
// shared reader is during an import, still finds its events here. The next
// small append trims it back: under a load of commands the larger tail only
// made the heap, and each garbage collection, larger.
const (
	tailCap     = 4096
	tailBulkCap = 16384
)

// tail keeps the latest events this process appended, once synced, exactly
// as a read of the log returns them, so that a read that follows the log
// closely — a subscription that has caught up, the projections' shared
// reader — takes them from memory instead of a read transaction that finds
// its page cache cold (every commit invalidates it) and reads the pages
// just written back from the WAL. It holds one run of consecutive
// positions; anything it cannot vouch for (another process's events,
// groups answered out of order, a bulk append nobody follows) starts the
// run again, and the reads it cannot serve whole go to the file as before.
type tail struct {
	mu    sync.Mutex
	first uint64             // position of evs[0]
	evs   []eventstore.Event // consecutive positions first, first+1, …
}

// add records the events of one append, the first at position first;
// evs nil means an append the tail does not keep (it forgets what it has).
func (t *tail) add(first uint64, evs []eventstore.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if evs == nil {
		clear(t.evs)
		t.evs = t.evs[:0]
		return
	}
	if len(t.evs) == 0 || t.first+uint64(len(t.evs)) != first {
		clear(t.evs)
		t.evs, t.first = t.evs[:0], first
	}
	limit := tailCap
	if len(evs) > maxReturnedEvents {
		limit = tailBulkCap
	}
	if len(t.evs)+len(evs) > limit {
		// Keep the newer half: the run stays contiguous, copying is rare.
		drop := min(len(t.evs), len(t.evs)+len(evs)-limit/2)
		n := copy(t.evs, t.evs[drop:])
		clear(t.evs[n:])
		t.evs, t.first = t.evs[:n], t.first+uint64(drop)
	}
	t.evs = append(t.evs, evs...)
}

// read returns the events after position after, at most limit (0: no
// limit), when the tail holds all of them up to upTo (or up to after+limit
// if sooner); ok is false when it cannot serve the read whole.
func (t *tail) read(after uint64, limit int, upTo uint64) (out []eventstore.Event, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.evs) == 0 || after+1 < t.first {
		return nil, false
	}
	end := t.first + uint64(len(t.evs)) - 1 // last position held
	want := upTo
	if limit > 0 && after+uint64(limit) < want {
		want = after + uint64(limit)
	}
	if want <= after || end < want {
		return nil, false
	}
	from := int(after + 1 - t.first)
	n := int(want - after)
	return append(make([]eventstore.Event, 0, n), t.evs[from:from+n]...), true
}
