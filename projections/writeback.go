package projections

import (
	"sync"
	"time"
)

// PaceWriteback makes the kernel write the read models' unsynced pages
// back to disk a little at a time: every interval it asks it to start
// writing back whatever the database file and its WAL hold dirty, without
// waiting for the writes (sync_file_range(2) with SYNC_FILE_RANGE_WRITE on
// Linux; nothing is made durable by it, and nothing waits for it).
//
// Left to itself the kernel writes an unsynced file's dirty pages once
// they are 30 seconds old (vm.dirty_expire_centisecs), all of them at
// once: at 1,000 commands/s some 55 MB in one burst every half minute, and
// the event store's WAL syncs, whose cache flush waits for that burst,
// held commands 50–140 ms. In slices none of the WAL's syncs waited 50 ms.
// The price of a short interval: a page the read models write again
// within it is written back again, where the kernel would have written it
// once — at 100 ms or 1 s a saturating load lost 10–20 % of its commands
// per second; at 5 s (the engine's default, REDENGINE_PROJECTION_WRITEBACK)
// nothing measurable (docs/benchmarks.md, "Morning session of the 29th").
//
// It does nothing for a synced database (DB.Synced), when interval is not
// positive, or where the system has no such call; calling it again
// replaces the earlier pace. Close stops it.
func (d *DB) PaceWriteback(interval time.Duration) {
	d.wbMu.Lock()
	defer d.wbMu.Unlock()
	d.stopWritebackLocked()
	if d.Synced || interval <= 0 || !writebackSupported {
		return
	}
	t := time.NewTicker(interval)
	stop, done := make(chan struct{}), make(chan struct{})
	d.wbStop, d.wbDone = stop, done
	go func() {
		defer close(done)
		defer t.Stop()
		paceWriteback(stop, t.C, startWriteback, d.path, d.path+"-wal")
	}()
}

// stopWriteback stops the pace set by PaceWriteback, if any, and waits for
// its goroutine to end.
func (d *DB) stopWriteback() {
	d.wbMu.Lock()
	defer d.wbMu.Unlock()
	d.stopWritebackLocked()
}

func (d *DB) stopWritebackLocked() {
	if d.wbStop == nil {
		return
	}
	close(d.wbStop)
	<-d.wbDone
	d.wbStop, d.wbDone = nil, nil
}

// paceWriteback calls start on each of paths at every tick until stop is
// closed. A file that is missing (the WAL between two connections) or
// that the call refuses is skipped until the next tick: pacing is an
// optimisation, never an error.
func paceWriteback(stop <-chan struct{}, tick <-chan time.Time, start func(path string) error, paths ...string) {
	for {
		select {
		case <-stop:
			return
		case <-tick:
		}
		for _, p := range paths {
			_ = start(p)
		}
	}
}

// writebackState is the part of DB that PaceWriteback keeps.
type writebackState struct {
	wbMu   sync.Mutex
	wbStop chan struct{}
	wbDone chan struct{}
}
