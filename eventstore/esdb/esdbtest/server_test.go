package esdbtest_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"redengine/eventstore/esdb/esdbtest"
)

// The server is checked here through the official client alone, so that
// what the adapter's tests rely on is EventStoreDB's behaviour as the
// client sees it.

func client(t *testing.T) (*esdb.Client, *esdbtest.Server) {
	t.Helper()
	url, srv := esdbtest.Start(t)
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, srv
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func data(typ string) esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson, Data: []byte(`{}`)}
}

func code(err error) esdb.ErrorCode {
	var ee *esdb.Error
	if errors.As(err, &ee) {
		return ee.Code()
	}
	return -1
}

// drain returns a function that reads a whole ReadStream, failing t on an
// error.
func drain(t *testing.T) func(*esdb.ReadStream, error) []*esdb.RecordedEvent {
	return func(rs *esdb.ReadStream, err error) []*esdb.RecordedEvent {
		t.Helper()
		return drainStream(t, rs, err)
	}
}

func drainStream(t *testing.T, rs *esdb.ReadStream, err error) []*esdb.RecordedEvent {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.OriginalEvent())
	}
}

func TestAppendSemantics(t *testing.T) {
	c, _ := client(t)
	ctx := ctxFor(t)
	readAll := drain(t)
	_, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(5)}, data("A"))
	if code(err) != esdb.ErrorCodeWrongExpectedVersion || !strings.Contains(err.Error(), "but got 'no_stream'") {
		t.Fatalf("append at 5 to a missing stream: %v", err)
	}
	_, err = c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.StreamExists{}}, data("A"))
	if code(err) != esdb.ErrorCodeWrongExpectedVersion {
		t.Fatalf("stream_exists on a missing stream: %v", err)
	}
	batch := []esdb.EventData{data("A"), data("B")}
	w, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, batch...)
	if err != nil || w.NextExpectedVersion != 1 || w.CommitPosition == 0 {
		t.Fatalf("first append: %+v, %v", w, err)
	}
	// The same IDs at the same expected revision: success, no position.
	again, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, batch...)
	if err != nil || again.NextExpectedVersion != 1 || again.CommitPosition != 0 {
		t.Fatalf("re-append: %+v, %v", again, err)
	}
	// Only the first of them: a conflict.
	_, err = c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, batch[0], data("C"))
	if code(err) != esdb.ErrorCodeWrongExpectedVersion || !strings.Contains(err.Error(), "but got '1'") {
		t.Fatalf("partial re-append: %v", err)
	}
	// Any is idempotent too.
	if again, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{}, batch...); err != nil || again.CommitPosition != 0 {
		t.Fatalf("re-append with any: %+v, %v", again, err)
	}
	evs := readAll(c.ReadStream(ctx, "s", esdb.ReadStreamOptions{}, 100))
	if len(evs) != 2 {
		t.Fatalf("stream has %d events, want 2", len(evs))
	}
	// The reply names the last event's commit and the first's prepare.
	if w.CommitPosition != evs[1].Position.Commit || w.PreparePosition != evs[0].Position.Prepare {
		t.Fatalf("append reply %+v, events at %+v and %+v", w, evs[0].Position, evs[1].Position)
	}
	for _, e := range evs {
		if e.CreatedDate.IsZero() || time.Since(e.CreatedDate) > time.Hour || e.ContentType != "application/json" {
			t.Fatalf("recorded event %+v", e)
		}
	}
	big := data("Big")
	big.Data = make([]byte, esdbtest.MaxAppendSize+1)
	if _, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{}, big); err == nil {
		t.Fatal("an append over the maximum size was accepted")
	}
}

func TestReadSemantics(t *testing.T) {
	c, srv := client(t)
	ctx := ctxFor(t)
	readAll := drain(t)
	rs, err := c.ReadStream(ctx, "missing", esdb.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Recv(); code(err) != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("read of a missing stream: %v", err)
	}
	rs.Close()
	for range 5 {
		if _, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{}, data("A")); err != nil {
			t.Fatal(err)
		}
	}
	srv.AppendSystem("$stats", "$statsCollected")
	fwd := readAll(c.ReadStream(ctx, "s", esdb.ReadStreamOptions{From: esdb.Revision(2)}, 2))
	if len(fwd) != 2 || fwd[0].EventNumber != 2 || fwd[1].EventNumber != 3 {
		t.Fatalf("forward from 2: %d events", len(fwd))
	}
	back := readAll(c.ReadStream(ctx, "s", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 2))
	if len(back) != 2 || back[0].EventNumber != 4 || back[1].EventNumber != 3 {
		t.Fatalf("backward from end: %d events", len(back))
	}
	all := readAll(c.ReadAll(ctx, esdb.ReadAllOptions{}, 1000))
	if len(all) != 3+5+1 || !strings.HasPrefix(all[0].StreamID, "$") {
		t.Fatalf("$all has %d events, first in %q; want 9 with system events first", len(all), all[0].StreamID)
	}
	for i := 1; i < len(all); i++ {
		p, q := all[i-1].Position, all[i].Position
		if !(p.Commit < q.Commit) || q.Commit == uint64(i) {
			t.Fatalf("positions %+v then %+v: want increasing byte offsets", p, q)
		}
	}
	// A forward read from a position includes it; a backward one excludes it.
	from := all[4].Position
	f := readAll(c.ReadAll(ctx, esdb.ReadAllOptions{From: from}, 2))
	b := readAll(c.ReadAll(ctx, esdb.ReadAllOptions{From: from, Direction: esdb.Backwards}, 2))
	if f[0].EventID != all[4].EventID || b[0].EventID != all[3].EventID {
		t.Fatalf("reads from %+v: forward starts at %v, backward at %v", from, f[0].Position, b[0].Position)
	}
}

func TestSubscriptionSemantics(t *testing.T) {
	c, srv := client(t)
	ctx := ctxFor(t)
	readAll := drain(t)
	var ids []uuid.UUID
	for range 4 {
		e := data("A")
		ids = append(ids, e.EventID)
		if _, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{}, e); err != nil {
			t.Fatal(err)
		}
	}
	all := readAll(c.ReadAll(ctx, esdb.ReadAllOptions{}, 1000))
	after := all[len(all)-3].Position // the second of ours
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: after, Filter: esdb.ExcludeSystemEventsFilter()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var seq []string
	var got []uuid.UUID
	live := false
	for len(got) < 3 {
		m := sub.Recv()
		switch {
		case m.EventAppeared != nil:
			got = append(got, m.EventAppeared.Event.EventID)
			seq = append(seq, "event")
		case m.CaughtUp != nil:
			seq = append(seq, "caught_up")
			if !live {
				live = true
				srv.AppendSystem("$stats", "$statsCollected")
				e := data("A")
				ids = append(ids, e.EventID)
				if _, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{}, e); err != nil {
					t.Fatal(err)
				}
			}
		case m.CheckPointReached != nil:
			seq = append(seq, "checkpoint")
		case m.SubscriptionDropped != nil:
			t.Fatalf("dropped: %v", m.SubscriptionDropped.Error)
		}
	}
	if got[0] != ids[2] || got[1] != ids[3] || got[2] != ids[4] {
		t.Fatalf("subscription after the second event delivered %v, want %v", got, ids[2:])
	}
	if strings.Join(seq, " ") != "event event checkpoint caught_up event" {
		t.Fatalf("subscription messages: %v", seq)
	}
	// A stream subscription from revision 1 starts at 2; Drop ends it.
	ssub, err := c.SubscribeToStream(ctx, "s", esdb.SubscribeToStreamOptions{From: esdb.Revision(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ssub.Close()
	if m := ssub.Recv(); m.EventAppeared == nil || m.EventAppeared.Event.EventNumber != 2 {
		t.Fatalf("stream subscription from 1 began with %+v", m)
	}
	srv.Drop()
	for {
		m := ssub.Recv()
		if m.SubscriptionDropped != nil {
			break
		}
	}
}
