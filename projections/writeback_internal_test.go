package projections

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// The pacer asks for the writeback of every path at every tick, goes on
// past a refusal (a WAL not there between two connections), and stops
// when told.
func TestPaceWritebackLoop(t *testing.T) {
	stop, tick := make(chan struct{}), make(chan time.Time)
	calls := make(chan string, 16)
	start := func(p string) error {
		calls <- p
		if p == "rm.db-wal" {
			return errors.New("no such file")
		}
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		paceWriteback(stop, tick, start, "rm.db", "rm.db-wal")
	}()
	select {
	case p := <-calls:
		t.Fatalf("%s asked for before any tick", p)
	case <-time.After(10 * time.Millisecond):
	}
	var got []string
	for range 2 {
		tick <- time.Time{}
		got = append(got, <-calls, <-calls)
	}
	if want := []string{"rm.db", "rm.db-wal", "rm.db", "rm.db-wal"}; !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	close(stop)
	<-done
}
