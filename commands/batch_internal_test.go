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
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

type added struct {
	Text string `json:"text"`
}

type tally struct{ Texts []string }

var tallyAgg = Aggregate[tally]{
	Category: "tally",
	Codec:    NewCodec(Type[added]("Added", 1)),
	Evolve: func(s tally, e Event) tally {
		if a, ok := e.Data.(added); ok {
			s.Texts = append(append([]string(nil), s.Texts...), a.Text)
		}
		return s
	},
}

// countingStore counts appends.
type countingStore struct {
	eventstore.Store
	appends atomic.Int64
}

func (c *countingStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	c.appends.Add(1)
	return c.Store.Append(ctx, stream, expected, events...)
}

func add(text string) Decide[tally] {
	return func(s tally, _ time.Time) ([]any, error) {
		if text == "no" {
			return nil, errs.E(errs.Precondition, "no")
		}
		if text == "nada" {
			return nil, nil
		}
		return []any{added{Text: text}}, nil
	}
}

// TestBatchedTurn: commands queued behind a running one are decided one
// after the other and appended together, each answered with its own events,
// revision and state; a refusal and an empty decision among them are
// decided alone and answered as such; a repeat is found.
func TestBatchedTurn(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	store := &countingStore{Store: s}
	h := NewHandler(store, clock.NewManual(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)), tallyAgg)
	first, err := h.Handle(ctx, "t", Meta{CommandID: IDFromKey("k", "0")}, add("0"))
	if err != nil {
		t.Fatal(err)
	}
	// A command holds the turn while the others queue.
	inside, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = h.Handle(ctx, "t", Meta{}, func(s tally, now time.Time) ([]any, error) {
			close(inside)
			<-release
			return add("hold")(s, now)
		})
	}()
	<-inside
	texts := []string{"a", "no", "b", "nada", "c", "d", "0"} // "0" repeats the first command
	type answer struct {
		res Result[tally]
		err error
	}
	answers := make([]answer, len(texts))
	var wg sync.WaitGroup
	for i, text := range texts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			meta := Meta{CommandID: IDFromKey("k", fmt.Sprint(i+1))}
			if text == "0" {
				meta.CommandID = IDFromKey("k", "0")
			}
			res, err := h.Handle(ctx, "t", meta, add(text))
			answers[i] = answer{res, err}
		}()
	}
	for {
		h.turnsMu.Lock()
		n := len(h.turns[h.agg.Stream("t")].pending)
		h.turnsMu.Unlock()
		if n == len(texts) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	before := store.appends.Load()
	close(release)
	wg.Wait()
	// The holder's append, then one for a, b, c, d together.
	if n := store.appends.Load() - before; n != 2 {
		t.Errorf("%d appends for the held command and the queue, want 2", n)
	}
	seen := map[uint64]bool{}
	for i, text := range texts {
		a := answers[i]
		switch text {
		case "no":
			if !errs.Is(errs.Precondition, a.err) {
				t.Errorf("refusal: %v", a.err)
			}
		case "nada":
			if a.err != nil || len(a.res.Events) != 0 {
				t.Errorf("empty decision: %+v %v", a.res, a.err)
			}
		case "0":
			if a.err != nil || !a.res.Duplicate || a.res.Revision != first.Revision {
				t.Errorf("repeat: %+v %v", a.res, a.err)
			}
		default:
			if a.err != nil || len(a.res.Events) != 1 || a.res.Events[0].Revision != a.res.Revision {
				t.Fatalf("%s: %+v %v", text, a.res, a.err)
			}
			if seen[a.res.Revision] {
				t.Errorf("revision %d answered twice", a.res.Revision)
			}
			seen[a.res.Revision] = true
			st := a.res.State.Texts
			if len(st) != int(a.res.Revision)+1 || st[len(st)-1] != text {
				t.Errorf("%s: state %v at revision %d", text, st, a.res.Revision)
			}
			if e := a.res.Events[0]; e.Metadata.CommandID != IDFromKey("k", fmt.Sprint(i+1)).String() {
				t.Errorf("%s: metadata %+v", text, e.Metadata)
			}
		}
	}
	l, err := h.Load(ctx, "t")
	if err != nil || len(l.State.Texts) != 6 || l.Revision != 5 {
		t.Fatalf("stream: %+v %v, want 6 events", l, err)
	}
	// The cache holds the stream as stored.
	fresh := NewHandler(s, clock.System{}, tallyAgg)
	fl, err := fresh.Load(ctx, "t")
	if err != nil || fmt.Sprint(fl.State.Texts) != fmt.Sprint(l.State.Texts) || fl.Position != l.Position {
		t.Fatalf("cached %+v, stored %+v (%v)", l, fl, err)
	}
}
