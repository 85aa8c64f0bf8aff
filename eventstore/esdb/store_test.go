package esdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/esdb"
	"redengine/eventstore/esdb/esdbtest"
	"redengine/eventstore/storetest"
)

// quiet keeps the client and the adapter out of the test output.
var quiet = esdb.WithLogger(slog.New(slog.DiscardHandler))

func open(t testing.TB, url string, opts ...esdb.Option) *esdb.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := esdb.Open(ctx, url, append([]esdb.Option{quiet}, opts...)...)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func ev(n int) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          "Paso",
		SchemaVersion: 1,
		Data:          json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: eventstore.Metadata{
			CorrelationID: "c", CommandID: fmt.Sprint("cmd-", n),
			Actor:      eventstore.Actor{ID: "u1", Role: "tramitador"},
			OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		},
	}
}

// TestContract runs the shared suite against the adapter and the wire-level
// server; each subtest gets its own server.
func TestContract(t *testing.T) {
	servers := map[eventstore.Store]*esdbtest.Server{}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) eventstore.Store {
			url, srv := esdbtest.Start(t)
			s := open(t, url)
			servers[s] = srv
			return s
		},
		Tamper: func(t *testing.T, s eventstore.Store, stream string, revision uint64) {
			ok := servers[s].Tamper(stream, revision, func(data, custom []byte) ([]byte, []byte) {
				return bytes.Replace(data, []byte(`"n":`), []byte(`"n":1`), 1), custom
			})
			if !ok {
				t.Fatalf("no event %q r%d to tamper with", stream, revision)
			}
		},
	})
}

// TestContractRealServer runs the suite against a real EventStoreDB or
// KurrentDB when REDENGINE_TEST_ESDB_URL names one (see docs/eventstoredb.md).
func TestContractRealServer(t *testing.T) {
	url := os.Getenv("REDENGINE_TEST_ESDB_URL")
	if url == "" {
		t.Skip("REDENGINE_TEST_ESDB_URL not set: no real EventStoreDB to test against")
	}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) eventstore.Store { return open(t, url) },
	})
}

// TestResumeAfterDrop drops the subscription server-side, in catch-up and
// live, and checks that the consumer sees every event once, in order.
func TestResumeAfterDrop(t *testing.T) {
	url, srv := esdbtest.Start(t)
	s := open(t, url)
	ctx := ctxFor(t)
	var want []uuid.UUID
	add := func(stream string, n int) {
		t.Helper()
		batch := make([]eventstore.EventData, n)
		for i := range batch {
			batch[i] = ev(len(want))
			want = append(want, batch[i].ID)
		}
		if _, err := s.Append(ctx, stream, eventstore.Any, batch...); err != nil {
			t.Fatal(err)
		}
		srv.AppendSystem("$stats-x", "$statsCollected") // between ours
	}
	for i := range 10 {
		add(fmt.Sprint("caso-", i%3), 1+i%3)
	}
	sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var got []eventstore.Event
	take := func(n int) {
		t.Helper()
		for range n {
			e, err := sub.Next(ctx)
			if err != nil {
				t.Fatalf("Next after %d events: %v", len(got), err)
			}
			got = append(got, e)
		}
	}
	take(5)
	srv.Drop() // while catching up (or with events buffered)
	take(len(want) - len(got))
	before := srv.Subscriptions()
	srv.Drop() // while live
	add("caso-x", 2)
	add("caso-y", 1)
	take(3)
	srv.Drop()
	srv.Drop()
	add("caso-z", 4)
	take(4)
	if srv.Subscriptions() <= before {
		t.Fatalf("subscriptions started: %d, want more than %d after the drops", srv.Subscriptions(), before)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i] {
			t.Fatalf("event %d = %s, want %s (gap or duplicate)", i, got[i].ID, want[i])
		}
		if i > 0 && !got[i-1].Position.Less(got[i].Position) {
			t.Fatalf("positions not increasing at %d", i)
		}
	}
	// Nothing more is pending.
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sub.Next(short); err == nil {
		t.Fatal("Next delivered an extra event")
	}
}

// TestResumeEveryFewEvents: the server drops each subscription after three
// events, through catch-up and live, with a filter that the server applies;
// the consumer still sees every matching event once, in order.
func TestResumeEveryFewEvents(t *testing.T) {
	url, srv := esdbtest.Start(t)
	s := open(t, url)
	ctx := ctxFor(t)
	var want []uuid.UUID
	add := func(stream string, n int) {
		t.Helper()
		batch := make([]eventstore.EventData, n)
		for i := range batch {
			batch[i] = ev(i)
		}
		if _, err := s.Append(ctx, stream, eventstore.Any, batch...); err != nil {
			t.Fatal(err)
		}
		if stream[0] == 'k' {
			for _, e := range batch {
				want = append(want, e.ID)
			}
		}
		srv.AppendSystem("$stats-x", "$statsCollected")
	}
	for i := range 12 {
		add(fmt.Sprint("k-", i%4), 1+i%3)
		add("other", 1)
	}
	srv.DropAfter(3)
	sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{StreamPrefixes: []string{"k-"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var got []uuid.UUID
	for len(got) < len(want) {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d events: %v", len(got), err)
		}
		got = append(got, e.ID)
	}
	for i := range 5 { // live, each append after the subscription has waited
		add(fmt.Sprint("k-live-", i), 2)
		add("other", 1)
		for len(got) < len(want) {
			e, err := sub.Next(ctx)
			if err != nil {
				t.Fatalf("live Next after %d events: %v", len(got), err)
			}
			got = append(got, e.ID)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered %v\nwant      %v", got, want)
	}
	if n := srv.Subscriptions(); n < len(want)/3 {
		t.Fatalf("%d subscriptions for %d events dropped every 3: the drops did not happen", n, len(want))
	}
}

// TestResumeAfterRestart: the server goes away and comes back on the same
// port; appends work again and the subscription resumes without a gap or a
// duplicate.
func TestResumeAfterRestart(t *testing.T) {
	url, srv := esdbtest.Start(t)
	s := open(t, url, esdb.WithResubscribe(100, 10*time.Millisecond, 500*time.Millisecond))
	ctx := ctxFor(t)
	var want []uuid.UUID
	add := func(n int) {
		t.Helper()
		for i := range n {
			e := ev(i)
			if _, err := s.Append(ctx, "caso-1", eventstore.Any, e); err != nil {
				t.Fatalf("Append: %v", err)
			}
			want = append(want, e.ID)
		}
	}
	add(3)
	sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var got []uuid.UUID
	for len(got) < 3 {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.ID)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// The first calls after the restart may find the connection down: an
	// unavailable error, which a caller retries.
	for attempt := 0; ; attempt++ {
		_, err := s.ReadStream(ctx, "caso-1", 0, eventstore.Forward, 1)
		if err == nil {
			break
		}
		if !errs.Is(errs.Unavailable, err) || attempt > 1000 {
			t.Fatalf("ReadStream after restart: %v (kind %s)", err, errs.KindOf(err))
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	add(4)
	for len(got) < len(want) {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("Next after restart: %v", err)
		}
		got = append(got, e.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered %v\nwant      %v", got, want)
	}
	if n := srv.Subscriptions(); n < 2 {
		t.Fatalf("%d subscriptions: the restart did not make the adapter resume", n)
	}
}

// TestSystemEventsSkipped: $all has system events at its start and between
// ours; ReadAll, Head and Subscribe never show them.
func TestSystemEventsSkipped(t *testing.T) {
	url, srv := esdbtest.Start(t)
	s := open(t, url)
	ctx := ctxFor(t)
	if h, err := s.Head(ctx); err != nil || !h.IsZero() {
		t.Fatalf("Head of a log with only system events = %s, %v; want zero", h, err)
	}
	if all, err := s.ReadAll(ctx, eventstore.Position{}, 0); err != nil || len(all) != 0 {
		t.Fatalf("ReadAll = %d events, %v; want none", len(all), err)
	}
	r, err := s.Append(ctx, "a", eventstore.NoStream, ev(0))
	if err != nil {
		t.Fatal(err)
	}
	for range 40 { // more than Head reads backwards at once
		srv.AppendSystem("$stats-x", "$statsCollected")
	}
	if h, err := s.Head(ctx); err != nil || h != r.Position {
		t.Fatalf("Head = %s, %v; want %s", h, err, r.Position)
	}
	r2, err := s.Append(ctx, "b", eventstore.NoStream, ev(1), ev(2))
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadAll(ctx, eventstore.Position{}, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("ReadAll = %d events, %v; want 3", len(all), err)
	}
	if all[2].Position != r2.Position {
		t.Fatalf("last event at %s, Append said %s", all[2].Position, r2.Position)
	}
	// One at a time, from each position: never a system event, never the start.
	var paged []eventstore.Event
	for from := (eventstore.Position{}); ; {
		page, err := s.ReadAll(ctx, from, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		from = page[0].Position
	}
	if len(paged) != 3 {
		t.Fatalf("paged ReadAll: %d events, want 3", len(paged))
	}
	sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{TypePrefixes: []string{"Pa"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range 3 {
		e, err := sub.Next(ctx)
		if err != nil || e.ID != all[i].ID {
			t.Fatalf("subscription event %d = %s, %v; want %s", i, e.ID, err, all[i].ID)
		}
	}
	rep, err := eventstore.Verify(ctx, s, nil)
	if err != nil || rep.Broken != nil || rep.Events != 3 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}

// TestUnavailable: a server that goes away is an Unavailable error, for
// Open too.
func TestUnavailable(t *testing.T) {
	url, srv := esdbtest.Start(t)
	s := open(t, url)
	ctx := ctxFor(t)
	if _, err := s.Append(ctx, "a", eventstore.NoStream, ev(0)); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	_, err := s.Append(ctx, "a", eventstore.Any, ev(1))
	if !errs.Is(errs.Unavailable, err) {
		t.Fatalf("Append to a stopped server: %v (kind %s), want unavailable", err, errs.KindOf(err))
	}
	if _, err := s.ReadStream(ctx, "a", 0, eventstore.Forward, 0); !errs.Is(errs.Unavailable, err) {
		t.Fatalf("ReadStream from a stopped server: %v (kind %s), want unavailable", err, errs.KindOf(err))
	}
	_, err = esdb.Open(ctx, url+"&maxDiscoverAttempts=1", quiet)
	if !errs.Is(errs.Unavailable, err) {
		t.Fatalf("Open of a stopped server: %v (kind %s), want unavailable", err, errs.KindOf(err))
	}
	if _, err := esdb.Open(ctx, "http://nope", quiet); !errs.Is(errs.Invalid, err) {
		t.Fatalf("Open with a bad connection string: %v, want invalid", err)
	}
}

// TestDeterministicIDsKept: the event ID given is the one stored, so a
// command retried with the same derived IDs is a harmless re-append, even
// with Any and even in a batch.
func TestDeterministicIDsKept(t *testing.T) {
	url, _ := esdbtest.Start(t)
	s := open(t, url)
	ctx := ctxFor(t)
	cmd := uuid.MustParse("6f1c2c1e-8a43-4a4f-9d51-0b8f3a7e2c10")
	batch := []eventstore.EventData{ev(0), ev(1), ev(2)}
	for i := range batch {
		batch[i].ID = uuid.NewSHA1(cmd, []byte{byte(i)})
	}
	first, err := s.Append(ctx, "caso-1", eventstore.Any, batch...)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Append(ctx, "caso-1", eventstore.Any, batch...)
	if err != nil || again.NextRevision != first.NextRevision || again.Position != first.Position {
		t.Fatalf("retry = %+v, %v; want %+v", again, err, first)
	}
	got, err := s.ReadStream(ctx, "caso-1", 0, eventstore.Forward, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("ReadStream = %d events, %v", len(got), err)
	}
	for i := range got {
		if got[i].ID != batch[i].ID {
			t.Fatalf("event %d ID %s, want %s", i, got[i].ID, batch[i].ID)
		}
	}
	// A conflict names the current revision even when Any had to retry.
	var wev *eventstore.WrongExpectedVersionError
	_, err = s.Append(ctx, "caso-1", eventstore.Revision(7), ev(3))
	if !errors.As(err, &wev) || wev.Current != 2 {
		t.Fatalf("Append at Revision(7) = %v, want conflict with current 2", err)
	}
}

// TestStoreClosed: after Close, operations fail and subscriptions end.
func TestStoreClosed(t *testing.T) {
	url, _ := esdbtest.Start(t)
	s := open(t, url)
	ctx := ctxFor(t)
	sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next(ctx)
		done <- err
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("Next returned no error after the store closed")
	}
	if _, err := s.Append(ctx, "a", eventstore.Any, ev(0)); err == nil {
		t.Fatal("Append on a closed store succeeded")
	}
	_ = sub.Close()
}

// BenchmarkAppend measures single-event appends against the wire server
// (the adapter's round trips, not a real server's disk).
func BenchmarkAppend(b *testing.B) {
	url, _ := esdbtest.Start(b)
	s := open(b, url)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		stream := uuid.NewString()
		exp := eventstore.NoStream
		for pb.Next() {
			r, err := s.Append(ctx, stream, exp, ev(0))
			if err != nil {
				b.Fatal(err)
			}
			exp = eventstore.Revision(r.NextRevision)
		}
	})
}
