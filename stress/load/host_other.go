//go:build !linux

package load

import "os"

// datasync is the platform's fsync (fdatasync is Linux's).
func datasync(f *os.File) error { return f.Sync() }
