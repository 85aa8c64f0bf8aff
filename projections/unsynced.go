package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"redengine/errs"
)

// DB is a read-model database whose commits are not synced to disk (see
// OpenUnsynced). Close it with its own Close.
type DB struct {
	*sql.DB
	// Synced reports that the database syncs its commits as OpenDB's does:
	// the system does not tell one boot from the next (see OpenUnsynced).
	Synced bool
	// Discarded reports that OpenUnsynced found the file written without
	// sync before the machine last started, and removed it: the runner
	// builds every model again from the log.
	Discarded bool

	path   string // the database file
	marker string // this process's marker, "" when Synced
	writebackState
}

// markerSuffix begins the name of an unsynced-writer marker:
// <database>.unsynced.<pid>, holding the boot ID of the system it was
// written under.
const markerSuffix = ".unsynced."

// OpenUnsynced opens the read-model database at path like OpenDB, except
// that its commits are never synced (synchronous=OFF): a read model is a
// function of the log, and a sync of its file competes with the event
// store's for the disk — under the load mix the read models' checkpoints
// made one in a hundred syncs of the event log wait 5 to 15 ms.
//
// What that costs: after the process is killed nothing is lost (the
// kernel holds every write, and the next process reads them); after the
// machine stops (power, kernel crash) the file may be torn. So before it
// opens the file, OpenUnsynced writes and syncs a marker
// (<path>.unsynced.<pid>) holding the system's boot ID, and Close removes
// it once the file is synced. A marker of another boot means the file was
// being written without sync when the machine stopped: OpenUnsynced then
// removes the file (DB.Discarded), and the projections rebuild it from the
// log as at a first start. Markers of this boot whose process is gone
// (killed) are removed, the kernel having kept what they wrote.
//
// Where the system gives no boot ID (not Linux), the database is opened
// as OpenDB opens it, synced (DB.Synced).
func OpenUnsynced(ctx context.Context, path string) (*DB, error) {
	const op = errs.Op("projections.OpenUnsynced")
	boot := bootID()
	if boot == "" {
		db, err := OpenDB(ctx, path)
		if err != nil {
			return nil, err
		}
		return &DB{DB: db, Synced: true, path: path}, nil
	}
	d := &DB{path: path, marker: path + markerSuffix + strconv.Itoa(os.Getpid())}
	stale, ended, err := d.sweep(boot)
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	if stale {
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, errs.E(op, errs.Unavailable, fmt.Sprintf("no se puede descartar %s", p), err)
			}
		}
		if err := syncPath(filepath.Dir(path)); err != nil {
			return nil, errs.E(op, errs.Unavailable, err)
		}
		d.Discarded = true
	}
	// The markers go once the file they judged is gone (or judged sound),
	// and this process's is on disk before it writes anything unsynced.
	if err := writeSynced(d.marker, boot); err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	for _, m := range ended {
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			os.Remove(d.marker)
			return nil, errs.E(op, errs.Unavailable, err)
		}
	}
	db, err := openDB(ctx, path, "OFF")
	if err != nil {
		os.Remove(d.marker)
		return nil, errs.E(op, err)
	}
	d.DB = db
	return d, nil
}

// sweep looks at the markers next to the database: it reports whether one
// was written under another boot (the file may be torn), and returns those
// and the ones of this boot whose process has ended, to be removed. A
// marker of a live process of this boot stays: that process writes the
// file now.
func (d *DB) sweep(boot string) (stale bool, ended []string, err error) {
	found, err := filepath.Glob(globQuote(d.path) + markerSuffix + "*")
	if err != nil {
		return false, nil, err
	}
	for _, m := range found {
		pid, perr := strconv.Atoi(strings.TrimPrefix(m, d.path+markerSuffix))
		b, rerr := os.ReadFile(m)
		switch {
		case rerr != nil && errors.Is(rerr, fs.ErrNotExist):
			continue // removed meanwhile by its process
		case rerr != nil:
			return false, nil, rerr
		case strings.TrimSpace(string(b)) != boot:
			stale = true
		case perr == nil && pid != os.Getpid() && alive(pid):
			continue
		}
		ended = append(ended, m)
	}
	return stale, ended, nil
}

// Close closes the database and, when this process closed it last (SQLite
// then copied the WAL into the file and removed it), syncs the file and
// removes the markers of this boot but those of live processes: a clean
// stop leaves models that survive a restart of the machine. While another
// process still has the file open, the marker stays.
func (d *DB) Close() error {
	const op = errs.Op("projections.DB.Close")
	d.stopWriteback()
	err := d.DB.Close()
	if d.marker == "" {
		return err
	}
	if err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	if _, serr := os.Stat(d.path + "-wal"); serr == nil || !errors.Is(serr, fs.ErrNotExist) {
		return nil
	}
	if err := syncPath(d.path); err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	// The WAL's removal is durable before the marker's: a WAL that came
	// back after a crash would be replayed over the synced file.
	if err := syncPath(filepath.Dir(d.path)); err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	// The sync covered what every process of this boot wrote: this
	// process's marker goes, and those of processes that ended without
	// closing the file last (a killed one, or `projections rebuild` beside
	// the server), which would make the next boot discard sound models.
	_, ended, err := d.sweep(bootID())
	if err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	for _, m := range ended {
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errs.E(op, errs.Unavailable, err)
		}
	}
	if err := syncPath(filepath.Dir(d.path)); err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	return nil
}

// writeSynced writes content to a new file at path and syncs it and its
// directory.
func writeSynced(path, content string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	return syncPath(filepath.Dir(path))
}

// syncPath syncs the file or directory at path (a read-only descriptor
// suffices on Linux, the only system that gets here).
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// globQuote escapes the characters filepath.Match gives a meaning to.
func globQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// openDB opens the database with the given synchronous setting (see
// OpenDB).
func openDB(ctx context.Context, path, synchronous string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, errs.E(errs.Internal, err)
	}
	// database/sql keeps 2 idle connections by default: under concurrent
	// reads it closed the others as they were returned and opened new ones
	// (each opening reads the schema, and each prepared statement is
	// prepared again on it): ~3 % of the engine's CPU under the load mix.
	db.SetMaxIdleConns(MaxIdleConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, errs.E(errs.Unavailable, fmt.Sprintf("no se puede abrir %s", path), err)
	}
	return db, nil
}
