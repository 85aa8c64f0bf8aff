//go:build unix

package sqlite

import (
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// counterFileSize is the size of the counter file: one page, of which the
// first 8 bytes hold the counter.
const counterFileSize = 4096

// mapCounter opens (creating it if needed) the counter file at path and maps
// it shared: every process that maps it sees the same counter.
func mapCounter(path string) (*atomic.Uint64, func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close() // the mapping outlives the descriptor
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() < counterFileSize {
		if err := f.Truncate(counterFileSize); err != nil {
			return nil, nil, err
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, counterFileSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	// The page is aligned, so its first 8 bytes are an aligned uint64 that
	// atomic operations read and change for every process at once.
	return (*atomic.Uint64)(unsafe.Pointer(&mem[0])), func() error { return syscall.Munmap(mem) }, nil
}
