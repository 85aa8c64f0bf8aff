package commands_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// longStreamOpts are the handler options of each variant of
// BenchmarkHandleLongStream.
var longStreamOpts = map[string][]commands.Option{
	"cache=off": {commands.WithCacheSize(0)},
	"cache=on":  nil, // sized below to hold every stream
}

// BenchmarkHandleLongStream measures one command (a note) on a ticket whose
// stream already has 10, 100 or 1,000 events (folded by an O(1) Evolve, so
// the figures are the pipeline's and the store's, not the aggregate's), with the aggregate-state cache
// off (every command folds the whole stream) and on (warm: the stream was
// loaded once before, so a command reads only what is new). Streams are
// spread so that each grows by at most a tenth of its length during the run.
// Besides ns/op it reports the wall time spent in ReadStream (the load and
// the read-back) and in Append per command. Set TMPDIR to a tmpfs to leave
// the disk's fsync out of the figures.
func BenchmarkHandleLongStream(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		for _, variant := range []string{"cache=off", "cache=on"} {
			b.Run(fmt.Sprintf("events=%d/%s", n, variant), func(b *testing.B) {
				benchLongStream(b, n, longStreamOpts[variant])
			})
		}
	}
}

func benchLongStream(b *testing.B, n int, opts []commands.Option) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "events.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	streams := (b.N + max(1, n/10) - 1) / max(1, n/10)
	opts = append([]commands.Option{commands.WithCacheSize(streams)}, opts...)
	tm := &timedStore{Store: store}
	h := commands.NewHandler(tm, clock.NewManual(t0), tallyAgg, opts...)
	codec := ticketAgg.Codec
	batch := make([]eventstore.EventData, n)
	for i := range batch {
		var ev any = Noted{Text: fmt.Sprint("nota ", i)}
		if i == 0 {
			ev = Opened{Title: "largo", Priority: 1}
		}
		name, v, data, err := codec.Encode(ev)
		if err != nil {
			b.Fatal(err)
		}
		batch[i] = eventstore.EventData{Type: name, SchemaVersion: v, Data: data,
			Metadata: eventstore.Metadata{CommandID: uuid.NewString(), OccurredAt: t0, Actor: alice}}
	}
	for s := range streams {
		for i := range batch {
			batch[i].ID = uuid.New()
		}
		if _, err := store.Append(ctx, ticketAgg.Stream(fmt.Sprint("s", s)), eventstore.NoStream, batch...); err != nil {
			b.Fatal(err)
		}
		if _, err := h.Load(ctx, fmt.Sprint("s", s)); err != nil { // warm the cache, if any
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	tm.read, tm.append = 0, 0
	b.ResetTimer()
	defer func() {
		b.ReportMetric(float64(tm.read.Nanoseconds())/float64(b.N), "read-ns/op")
		b.ReportMetric(float64(tm.append.Nanoseconds())/float64(b.N), "append-ns/op")
	}()
	for i := range b.N {
		if _, err := h.Handle(ctx, fmt.Sprint("s", i%streams), commands.Meta{Actor: alice}, tallyNote); err != nil {
			b.Fatal(err)
		}
	}
}

// timedStore wraps a real store and adds up the wall time of its reads and
// appends, so the benchmark can say where a command's time goes.
type timedStore struct {
	eventstore.Store
	mu           sync.Mutex
	read, append time.Duration
}

func (t *timedStore) ReadStream(ctx context.Context, stream string, from uint64, dir eventstore.Direction, limit int) ([]eventstore.Event, error) {
	start := time.Now()
	evs, err := t.Store.ReadStream(ctx, stream, from, dir, limit)
	t.mu.Lock()
	t.read += time.Since(start)
	t.mu.Unlock()
	return evs, err
}

func (t *timedStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	start := time.Now()
	res, err := t.Store.Append(ctx, stream, expected, events...)
	t.mu.Lock()
	t.append += time.Since(start)
	t.mu.Unlock()
	return res, err
}

// tally is a ticket folded in O(1) per event: it counts notes instead of
// keeping them.
type tally struct {
	Exists bool
	Notes  int
	Last   string
}

var tallyAgg = commands.Aggregate[tally]{
	Category: "ticket",
	Codec:    ticketAgg.Codec,
	Evolve: func(s tally, e commands.Event) tally {
		switch ev := e.Data.(type) {
		case Opened:
			s.Exists = true
		case Noted:
			s.Notes++
			s.Last = ev.Text
		}
		return s
	},
}

func tallyNote(s tally, _ time.Time) ([]any, error) {
	if !s.Exists {
		return nil, errs.E(errs.NotFound, "no existe el ticket")
	}
	return []any{Noted{Text: "n"}}, nil
}
