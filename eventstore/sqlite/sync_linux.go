package sqlite

import (
	"os"
	"syscall"
)

// fdatasync writes f's data to disk, and the metadata needed to read it.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
