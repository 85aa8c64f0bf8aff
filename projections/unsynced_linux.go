package projections

import (
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// bootID is the kernel's random ID of this boot, "" if unreadable.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// alive reports whether a process pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// writebackSupported: Linux has sync_file_range(2).
const writebackSupported = true

// startWriteback asks the kernel to start writing back the dirty pages of
// the file at path, and returns without waiting for them.
func startWriteback(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}
