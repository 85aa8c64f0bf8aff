//go:build !unix

package sqlite

import (
	"errors"
	"sync/atomic"
)

// mapCounter is not available here: the store does not track changes, and
// command handlers read a cached stream's new events each time.
func mapCounter(string) (*atomic.Uint64, func() error, error) {
	return nil, nil, errors.New("sqlite: no shared counter on this system")
}
