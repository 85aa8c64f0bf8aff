package commands

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"redengine/clock"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// modeStore is the SQLite store counting its durable and provisional
// appends.
type modeStore struct {
	*sqlite.Store
	durable, provisional atomic.Int64
}

func (m *modeStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	m.durable.Add(1)
	return m.Store.Append(ctx, stream, expected, events...)
}

func (m *modeStore) AppendProvisional(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	m.provisional.Add(1)
	return m.Store.AppendProvisional(ctx, stream, expected, events...)
}

func openModeStore(t *testing.T) *modeStore {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &modeStore{Store: s}
}

var provisionalNow = time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)

// TestHandleProvisional: HandleProvisional appends provisionally, its
// events read back and counted by the next command; Handle stays durable;
// a repeat appends nothing.
func TestHandleProvisional(t *testing.T) {
	ctx := context.Background()
	store := openModeStore(t)
	h := NewHandler(store, clock.NewManual(provisionalNow), tallyAgg)
	meta := Meta{CommandID: IDFromKey("k", "1")}
	res, err := h.HandleProvisional(ctx, "t", meta, add("reserva"))
	if err != nil || res.Revision != 0 || len(res.Events) != 1 {
		t.Fatalf("provisional: %+v %v", res, err)
	}
	if d, p := store.durable.Load(), store.provisional.Load(); d != 0 || p != 1 {
		t.Fatalf("%d durable and %d provisional appends, want 0 and 1", d, p)
	}
	again, err := h.HandleProvisional(ctx, "t", meta, add("reserva"))
	if err != nil || !again.Duplicate || again.Revision != 0 {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	next, err := h.Handle(ctx, "t", Meta{}, add("solicitud"))
	if err != nil || next.Revision != 1 || len(next.State.Texts) != 2 {
		t.Fatalf("durable after it: %+v %v", next, err)
	}
	if d, p := store.durable.Load(), store.provisional.Load(); d != 1 || p != 1 {
		t.Fatalf("%d durable and %d provisional appends, want 1 and 1", d, p)
	}
	evs, err := store.ReadStream(ctx, "tally-t", 0, eventstore.Forward, 10)
	if err != nil || len(evs) != 2 {
		t.Fatalf("stream: %d events, %v", len(evs), err)
	}
}

// TestHandleProvisionalOnADurableStore: on a store that cannot answer at
// the commit, HandleProvisional is a durable append.
func TestHandleProvisionalOnADurableStore(t *testing.T) {
	ctx := context.Background()
	s := openModeStore(t)
	store := &countingStore{Store: s.Store} // hides AppendProvisional
	h := NewHandler(store, clock.NewManual(provisionalNow), tallyAgg)
	if _, err := h.HandleProvisional(ctx, "t", Meta{}, add("reserva")); err != nil {
		t.Fatal(err)
	}
	if n := store.appends.Load(); n != 1 {
		t.Fatalf("%d durable appends, want 1", n)
	}
}

// TestBatchProvisionalOnlyWhenAllAre: commands queued behind a running one
// are appended together provisionally only when every one of them asked
// for it; one durable command among them makes the batch durable.
func TestBatchProvisionalOnlyWhenAllAre(t *testing.T) {
	for _, tc := range []struct {
		name        string
		modes       []bool // provisional, per queued command
		durable     int64  // batch appends, durable
		provisional int64  // batch appends, provisional
	}{
		{"all provisional", []bool{true, true, true}, 0, 1},
		{"one durable", []bool{true, false, true}, 1, 0},
		{"all durable", []bool{false, false}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store := openModeStore(t)
			h := NewHandler(store, clock.NewManual(provisionalNow), tallyAgg)
			if _, err := h.Handle(ctx, "t", Meta{}, add("0")); err != nil {
				t.Fatal(err)
			}
			inside, release := make(chan struct{}), make(chan struct{})
			held := make(chan error, 1)
			go func() {
				_, err := h.Handle(ctx, "t", Meta{}, func(s tally, now time.Time) ([]any, error) {
					close(inside)
					<-release
					return add("hold")(s, now)
				})
				held <- err
			}()
			<-inside
			var wg sync.WaitGroup
			errc := make(chan error, len(tc.modes))
			for i, provisional := range tc.modes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					handle := h.Handle
					if provisional {
						handle = h.HandleProvisional
					}
					_, err := handle(ctx, "t", Meta{}, add(fmt.Sprint(i)))
					errc <- err
				}()
			}
			for {
				h.turnsMu.Lock()
				n := len(h.turns[h.agg.Stream("t")].pending)
				h.turnsMu.Unlock()
				if n == len(tc.modes) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			d0, p0 := store.durable.Load(), store.provisional.Load()
			close(release)
			wg.Wait()
			close(errc)
			if err := <-held; err != nil {
				t.Fatal(err)
			}
			for err := range errc {
				if err != nil {
					t.Fatal(err)
				}
			}
			// The holder's durable append, then the batch's.
			if d, p := store.durable.Load()-d0-1, store.provisional.Load()-p0; d != tc.durable || p != tc.provisional {
				t.Fatalf("batch: %d durable and %d provisional appends, want %d and %d", d, p, tc.durable, tc.provisional)
			}
			evs, err := store.ReadStream(ctx, "tally-t", 0, eventstore.Forward, 100)
			if err != nil || len(evs) != 2+len(tc.modes) {
				t.Fatalf("stream: %d events, %v", len(evs), err)
			}
		})
	}
}
