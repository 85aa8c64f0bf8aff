package projections

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// openUnsynced opens a read-model database in dir and fails the test on error.
func openUnsynced(t *testing.T, path string) *DB {
	t.Helper()
	d, err := OpenUnsynced(context.Background(), path)
	if err != nil {
		t.Fatalf("OpenUnsynced: %v", err)
	}
	if d.Synced {
		t.Fatalf("Synced on Linux: the boot ID is unreadable")
	}
	return d
}

func markers(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(path + markerSuffix + "*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func rows(t *testing.T, d *DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 't'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		return -1
	}
	if err := d.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUnsyncedMarksWhileOpenAndSyncsOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "readmodels.db")
	d := openUnsynced(t, path)
	var sync string
	if err := d.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != "0" {
		t.Fatalf("synchronous = %q, %v; want 0 (OFF)", sync, err)
	}
	m := markers(t, path)
	if len(m) != 1 || !strings.HasSuffix(m[0], markerSuffix+strconv.Itoa(os.Getpid())) {
		t.Fatalf("markers while open: %v", m)
	}
	if b, _ := os.ReadFile(m[0]); strings.TrimSpace(string(b)) != bootID() {
		t.Fatalf("marker holds %q, want the boot ID %q", b, bootID())
	}
	if _, err := d.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if m := markers(t, path); len(m) != 0 {
		t.Fatalf("markers after Close: %v", m)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		t.Fatal("the WAL is left after the last Close")
	}
	d = openUnsynced(t, path)
	defer d.Close()
	if d.Discarded || rows(t, d) != 2 {
		t.Fatalf("reopened: Discarded %v, rows %d; want false, 2", d.Discarded, rows(t, d))
	}
}

func TestUnsyncedDiscardsAFileOfAnotherBoot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "readmodels.db")
	d := openUnsynced(t, path)
	if _, err := d.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// A process that was writing the file when the machine stopped.
	stale := path + markerSuffix + "4242"
	if err := os.WriteFile(stale, []byte("00000000-0000-0000-0000-000000000000\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	d = openUnsynced(t, path)
	defer d.Close()
	if !d.Discarded {
		t.Fatal("Discarded false with a marker of another boot")
	}
	if n := rows(t, d); n != -1 {
		t.Fatalf("the discarded file's table is still there (%d rows)", n)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Fatal("the other boot's marker is left")
	}
}

func TestUnsyncedKeepsWhatAKilledProcessWrote(t *testing.T) {
	if os.Getenv("REDENGINE_UNSYNCED_CHILD") != "" {
		d, err := OpenUnsynced(context.Background(), os.Getenv("REDENGINE_UNSYNCED_CHILD"))
		if err != nil {
			os.Exit(2)
		}
		if _, err := d.Exec(`CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3)`); err != nil {
			os.Exit(3)
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	path := filepath.Join(t.TempDir(), "readmodels.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnsyncedKeepsWhatAKilledProcessWrote$")
	cmd.Env = append(os.Environ(), "REDENGINE_UNSYNCED_CHILD="+path)
	err := cmd.Run()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child did not die by SIGKILL: %v", err)
	}
	if m := markers(t, path); len(m) != 1 {
		t.Fatalf("the killed child's marker: %v", m)
	}
	d := openUnsynced(t, path)
	defer d.Close()
	if d.Discarded {
		t.Fatal("discarded after a kill in this boot: the kernel held every write")
	}
	if n := rows(t, d); n != 3 {
		t.Fatalf("rows after the kill: %d, want 3", n)
	}
	if m := markers(t, path); len(m) != 1 || !strings.HasSuffix(m[0], "."+strconv.Itoa(os.Getpid())) {
		t.Fatalf("markers: %v, want only this process's", m)
	}
}

func TestUnsyncedLeavesALiveProcessMarker(t *testing.T) {
	path := filepath.Join(t.TempDir(), "readmodels.db")
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Skip("no sleep(1):", err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	live := path + markerSuffix + strconv.Itoa(sleeper.Process.Pid)
	if err := os.WriteFile(live, []byte(bootID()+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	d := openUnsynced(t, path)
	if d.Discarded {
		t.Fatal("discarded for a marker of this boot")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("the live process's marker is gone: %v", err)
	}
}

func TestUnsyncedCloseSweepsEndedProcessesMarkers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "readmodels.db")
	d := openUnsynced(t, path)
	// A `projections rebuild` that wrote beside this process and ended
	// while the file was still open here.
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	dead := path + markerSuffix + strconv.Itoa(ended.Process.Pid)
	if err := os.WriteFile(dead, []byte(bootID()+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if m := markers(t, path); len(m) != 0 {
		t.Fatalf("markers after the last Close: %v", m)
	}
}

// startWriteback takes a file with dirty pages; a missing file is an
// error the pacer skips.
func TestStartWriteback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dirty")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := startWriteback(path); err != nil {
		t.Errorf("writeback of a dirty file: %v", err)
	}
	if err := startWriteback(path + "-missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("writeback of a missing file: %v, want not exist", err)
	}
}

// An unsynced database paces its writeback until Close; a zero interval
// sets no pace, and a second call replaces the first.
func TestPaceWritebackUntilClose(t *testing.T) {
	d := openUnsynced(t, filepath.Join(t.TempDir(), "rm.db"))
	d.PaceWriteback(0)
	if d.wbStop != nil {
		t.Fatal("a zero interval started a pace")
	}
	d.PaceWriteback(time.Millisecond)
	first := d.wbDone
	d.PaceWriteback(2 * time.Millisecond)
	select {
	case <-first:
	default:
		t.Fatal("the first pace still runs after the second call")
	}
	if _, err := d.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := d.Exec(`INSERT INTO t VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	done := d.wbDone
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Fatal("the pace runs on after Close")
	}
}
