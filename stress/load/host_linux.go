package load

import (
	"os"
	"syscall"
)

// datasync is fdatasync(2), as the engine's store syncs its WAL.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
