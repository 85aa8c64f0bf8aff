//go:build !linux

package projections

// bootID is "" where the system does not tell one boot from the next: the
// read models are then synced (see OpenUnsynced).
func bootID() string { return "" }

func alive(int) bool { return true }

// writebackSupported: PaceWriteback has nothing to call here (and the read
// models are synced anyway, see bootID).
const writebackSupported = false

func startWriteback(string) error { return nil }
