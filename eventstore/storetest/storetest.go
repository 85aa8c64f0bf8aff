// Package storetest is the contract suite of the event store port: every
// adapter runs Run against itself, so all of them behave alike.
//
// The suite names its streams uniquely and reads the global log from the
// Head it finds, so a store given by Harness.New need not be empty; it must
// only not be written by anyone else while a subtest runs.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/errs"
	"redengine/eventstore"
)

// Harness gives the suite fresh stores of the adapter under test.
type Harness struct {
	// New returns a store for one subtest, ready to use. The harness closes
	// it (t.Cleanup) when the subtest ends.
	New func(t *testing.T) eventstore.Store

	// Tamper alters the data of the stored event at stream/revision without
	// fixing its hash, as an attacker editing the storage would. Nil skips
	// the tamper subtest.
	Tamper func(t *testing.T, s eventstore.Store, stream string, revision uint64)
}

// Run runs the whole contract suite as subtests of t.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("storetest: Harness.New is nil")
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"ExpectedRevision", testExpectedRevision},
		{"Idempotent", testIdempotent},
		{"ReadStream", testReadStream},
		{"NotFound", testNotFound},
		{"GlobalOrder", testGlobalOrder},
		{"Subscription", testSubscription},
		{"SubscriptionClose", testSubscriptionClose},
		{"Filter", testFilter},
		{"ConcurrentSameStream", testConcurrentSameStream},
		{"BadInput", testBadInput},
		{"BatchAtomic", testBatchAtomic},
		{"HashChain", testHashChain},
		{"Tamper", testTamper},
		{"Envelope", testEnvelope},
		{"LongReads", testLongReads},
		{"AppendedEvents", testAppendedEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// ---- helpers ----------------------------------------------------------------

// waitLimit bounds every wait of the suite, so that a broken adapter fails
// the test instead of hanging it. It is never used to let time pass.
const waitLimit = 30 * time.Second

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func newStore(t *testing.T, h Harness) eventstore.Store {
	t.Helper()
	s := h.New(t)
	if s == nil {
		t.Fatal("Harness.New returned nil")
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// prefix returns a unique prefix for the stream names of one subtest.
func prefix() string { return "st" + strings.ReplaceAll(uuid.NewString()[:13], "-", "") + "-" }

var fixedTime = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("CET", 3600))

func ev(typ string, n int) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          typ,
		SchemaVersion: 1,
		Data:          json.RawMessage(fmt.Sprintf(`{"n":%d,"texto":"año ñ €"}`, n)),
		Metadata: eventstore.Metadata{
			CorrelationID: "corr-" + fmt.Sprint(n),
			CausationID:   "cause-" + fmt.Sprint(n),
			CommandID:     "cmd-" + fmt.Sprint(n),
			Actor:         eventstore.Actor{ID: "u1", Role: "tramitador", Authorization: "AUT-1"},
			OccurredAt:    fixedTime.Add(time.Duration(n) * time.Second),
		},
	}
}

func evs(typ string, from, n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = ev(typ, from+i)
	}
	return out
}

func mustAppend(t *testing.T, s eventstore.Store, stream string, exp eventstore.ExpectedRevision, events ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	r, err := s.Append(ctxFor(t), stream, exp, events...)
	if err != nil {
		t.Fatalf("Append(%q, %s): %v", stream, exp, err)
	}
	return r
}

func mustRead(t *testing.T, s eventstore.Store, stream string, from uint64, dir eventstore.Direction, limit int) []eventstore.Event {
	t.Helper()
	out, err := s.ReadStream(ctxFor(t), stream, from, dir, limit)
	if err != nil {
		t.Fatalf("ReadStream(%q, %d, %d, %d): %v", stream, from, dir, limit, err)
	}
	return out
}

func mustHead(t *testing.T, s eventstore.Store) eventstore.Position {
	t.Helper()
	p, err := s.Head(ctxFor(t))
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return p
}

// readAllOf reads the global log after from and keeps the events whose
// stream starts with pfx.
func readAllOf(t *testing.T, s eventstore.Store, from eventstore.Position, pfx string) []eventstore.Event {
	t.Helper()
	all, err := s.ReadAll(ctxFor(t), from, 0)
	if err != nil {
		t.Fatalf("ReadAll(%s): %v", from, err)
	}
	var out []eventstore.Event
	for _, e := range all {
		if strings.HasPrefix(e.Stream, pfx) {
			out = append(out, e)
		}
	}
	return out
}

func wantConflict(t *testing.T, err error, current int64) {
	t.Helper()
	var wev *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wev) {
		t.Fatalf("want *WrongExpectedVersionError, got %v (%T)", err, err)
	}
	if wev.Current != current {
		t.Fatalf("conflict Current = %d, want %d (%v)", wev.Current, current, err)
	}
	if k := errs.KindOf(err); k != errs.Conflict {
		t.Fatalf("conflict kind = %s, want conflict", k)
	}
}

func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// checkEvent compares a recorded event with what was proposed.
func checkEvent(t *testing.T, got eventstore.Event, stream string, rev uint64, want eventstore.EventData) {
	t.Helper()
	if got.ID != want.ID || got.Stream != stream || got.Revision != rev || got.Type != want.Type || got.SchemaVersion != want.SchemaVersion {
		t.Fatalf("event = {%s %q r%d %q v%d}, want {%s %q r%d %q v%d}",
			got.ID, got.Stream, got.Revision, got.Type, got.SchemaVersion,
			want.ID, stream, rev, want.Type, want.SchemaVersion)
	}
	if !sameJSON(got.Data, want.Data) {
		t.Fatalf("event %s data = %s, want %s", got.ID, got.Data, want.Data)
	}
	gm, wm := got.Metadata, want.Metadata
	if !gm.OccurredAt.Equal(wm.OccurredAt) {
		t.Fatalf("event %s occurredAt = %s, want %s", got.ID, gm.OccurredAt, wm.OccurredAt)
	}
	gm.OccurredAt, wm.OccurredAt = time.Time{}, time.Time{}
	if gm != wm {
		t.Fatalf("event %s metadata = %+v, want %+v", got.ID, gm, wm)
	}
}

// sameLanding reports whether two append results name the same revision
// and position.
func sameLanding(a, b eventstore.AppendResult) bool {
	return a.NextRevision == b.NextRevision && a.Position == b.Position
}

// sameRecorded compares every field of two recorded events.
func sameRecorded(a, b eventstore.Event) bool {
	am, bm := a.Metadata, b.Metadata
	if !am.OccurredAt.Equal(bm.OccurredAt) {
		return false
	}
	am.OccurredAt, bm.OccurredAt = time.Time{}, time.Time{}
	return a.ID == b.ID && a.Stream == b.Stream && a.Type == b.Type && a.SchemaVersion == b.SchemaVersion &&
		bytes.Equal(a.Data, b.Data) && am == bm && a.Revision == b.Revision && a.Position == b.Position &&
		a.RecordedAt.Equal(b.RecordedAt) && bytes.Equal(a.Hash, b.Hash) && bytes.Equal(a.PrevHash, b.PrevHash)
}

func revisions(es []eventstore.Event) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Revision
	}
	return out
}

// ---- subtests ---------------------------------------------------------------

func testExpectedRevision(t *testing.T, h Harness) {
	s := newStore(t, h)
	ctx := ctxFor(t)
	p := prefix()
	a := p + "a"

	// On a missing stream: StreamExists and Revision fail with Current -1.
	_, err := s.Append(ctx, a, eventstore.StreamExists, ev("Creado", 0))
	wantConflict(t, err, -1)
	_, err = s.Append(ctx, a, eventstore.Revision(0), ev("Creado", 0))
	wantConflict(t, err, -1)

	// NoStream creates it.
	e0 := ev("Creado", 0)
	r := mustAppend(t, s, a, eventstore.NoStream, e0)
	if r.NextRevision != 0 {
		t.Fatalf("NoStream append: NextRevision = %d, want 0", r.NextRevision)
	}
	if got := mustHead(t, s); got != r.Position {
		t.Fatalf("Head = %s, want the append's position %s", got, r.Position)
	}
	read := mustRead(t, s, a, 0, eventstore.Forward, 0)
	if len(read) != 1 || read[0].Position != r.Position {
		t.Fatalf("read back %d events, position %v; want 1 at %s", len(read), read, r.Position)
	}

	// NoStream again conflicts with Current 0.
	_, err = s.Append(ctx, a, eventstore.NoStream, ev("Creado", 1))
	wantConflict(t, err, 0)

	// StreamExists appends.
	r = mustAppend(t, s, a, eventstore.StreamExists, ev("Cambiado", 1), ev("Cambiado", 2))
	if r.NextRevision != 2 {
		t.Fatalf("StreamExists append: NextRevision = %d, want 2", r.NextRevision)
	}

	// Revision(n): right one appends, wrong ones conflict with Current 2.
	for _, bad := range []uint64{0, 1, 3, 100} {
		_, err = s.Append(ctx, a, eventstore.Revision(bad), ev("Cambiado", 9))
		wantConflict(t, err, 2)
	}
	r = mustAppend(t, s, a, eventstore.Revision(2), ev("Cambiado", 3))
	if r.NextRevision != 3 {
		t.Fatalf("Revision(2) append: NextRevision = %d, want 3", r.NextRevision)
	}

	// Any appends on an existing and on a missing stream.
	r = mustAppend(t, s, a, eventstore.Any, ev("Cambiado", 4))
	if r.NextRevision != 4 {
		t.Fatalf("Any append: NextRevision = %d, want 4", r.NextRevision)
	}
	r = mustAppend(t, s, p+"b", eventstore.Any, ev("Creado", 5))
	if r.NextRevision != 0 {
		t.Fatalf("Any append on a new stream: NextRevision = %d, want 0", r.NextRevision)
	}

	// The conflict carries stream and expectation.
	_, err = s.Append(ctx, a, eventstore.Revision(1), ev("Cambiado", 9))
	var wev *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wev) || wev.Stream != a || wev.Expected != eventstore.Revision(1) {
		t.Fatalf("conflict = %+v, want stream %q expected 1", wev, a)
	}
	if got := revisions(mustRead(t, s, a, 0, eventstore.Forward, 0)); fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Fatalf("revisions after the conflicts = %v, want [0 1 2 3 4]", got)
	}
}

func testIdempotent(t *testing.T, h Harness) {
	s := newStore(t, h)
	ctx := ctxFor(t)
	p := prefix()
	a := p + "a"

	batch := evs("Creado", 0, 2)
	first := mustAppend(t, s, a, eventstore.NoStream, batch...)
	head := mustHead(t, s)
	again := mustAppend(t, s, a, eventstore.NoStream, batch...)
	if !sameLanding(again, first) || again.Events != nil {
		t.Fatalf("re-append result = %+v, want the original %+v", again, first)
	}
	if got := mustHead(t, s); got != head {
		t.Fatalf("re-append moved the head from %s to %s", head, got)
	}

	// The stream moves on; the re-append of the first batch still answers
	// the original result and writes nothing.
	next := ev("Cambiado", 2)
	second := mustAppend(t, s, a, eventstore.Revision(1), next)
	if second.NextRevision != 2 {
		t.Fatalf("NextRevision = %d, want 2", second.NextRevision)
	}
	if again := mustAppend(t, s, a, eventstore.NoStream, batch...); !sameLanding(again, first) {
		t.Fatalf("late re-append result = %+v, want %+v", again, first)
	}
	if again := mustAppend(t, s, a, eventstore.Revision(1), next); !sameLanding(again, second) {
		t.Fatalf("re-append at Revision(1) = %+v, want %+v", again, second)
	}

	// With Any.
	anyEv := ev("Cambiado", 3)
	third := mustAppend(t, s, a, eventstore.Any, anyEv)
	if again := mustAppend(t, s, a, eventstore.Any, anyEv); !sameLanding(again, third) {
		t.Fatalf("re-append with Any = %+v, want %+v", again, third)
	}

	got := mustRead(t, s, a, 0, eventstore.Forward, 0)
	if len(got) != 4 {
		t.Fatalf("stream has %d events after re-appends, want 4", len(got))
	}
	for i, want := range append(append(batch, next), anyEv) {
		checkEvent(t, got[i], a, uint64(i), want)
	}
	if n := len(readAllOf(t, s, eventstore.Position{}, p)); n != 4 {
		t.Fatalf("global log has %d events of the test, want 4", n)
	}

	// New IDs at the old expected revision are a conflict, not a re-append.
	_, err := s.Append(ctx, a, eventstore.NoStream, evs("Creado", 0, 2)...)
	wantConflict(t, err, 3)
}

func testReadStream(t *testing.T, h Harness) {
	s := newStore(t, h)
	a := prefix() + "a"
	all := evs("Paso", 0, 10)
	mustAppend(t, s, a, eventstore.NoStream, all[:3]...)
	mustAppend(t, s, a, eventstore.Revision(2), all[3:4]...)
	last := mustAppend(t, s, a, eventstore.Revision(3), all[4:]...)
	if last.NextRevision != 9 {
		t.Fatalf("NextRevision = %d, want 9", last.NextRevision)
	}

	fwd := mustRead(t, s, a, 0, eventstore.Forward, 0)
	if len(fwd) != 10 {
		t.Fatalf("forward read: %d events, want 10", len(fwd))
	}
	for i := range fwd {
		checkEvent(t, fwd[i], a, uint64(i), all[i])
		if i > 0 && !fwd[i-1].Position.Less(fwd[i].Position) {
			t.Fatalf("positions not increasing: %s then %s", fwd[i-1].Position, fwd[i].Position)
		}
	}
	if fwd[9].Position != last.Position {
		t.Fatalf("last event at %s, append said %s", fwd[9].Position, last.Position)
	}

	cases := []struct {
		from  uint64
		dir   eventstore.Direction
		limit int
		want  string
	}{
		{4, eventstore.Forward, 3, "[4 5 6]"},
		{8, eventstore.Forward, 0, "[8 9]"},
		{8, eventstore.Forward, 5, "[8 9]"},
		{9, eventstore.Forward, 1, "[9]"},
		{10, eventstore.Forward, 0, "[]"},
		{eventstore.StreamEnd, eventstore.Backward, 3, "[9 8 7]"},
		{eventstore.StreamEnd, eventstore.Backward, 0, "[9 8 7 6 5 4 3 2 1 0]"},
		{5, eventstore.Backward, 0, "[5 4 3 2 1 0]"},
		{5, eventstore.Backward, 2, "[5 4]"},
		{0, eventstore.Backward, 0, "[0]"},
		{100, eventstore.Backward, 1, "[9]"},
	}
	for _, c := range cases {
		got := mustRead(t, s, a, c.from, c.dir, c.limit)
		if fmt.Sprint(revisions(got)) != c.want {
			t.Errorf("ReadStream(from %d, dir %d, limit %d) = %v, want %s", c.from, c.dir, c.limit, revisions(got), c.want)
		}
		for _, e := range got {
			checkEvent(t, e, a, e.Revision, all[e.Revision])
		}
	}
}

func testNotFound(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	mustAppend(t, s, p+"other", eventstore.NoStream, ev("Creado", 0))
	for _, dir := range []eventstore.Direction{eventstore.Forward, eventstore.Backward} {
		_, err := s.ReadStream(ctxFor(t), p+"missing", 0, dir, 0)
		var nf *eventstore.StreamNotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("ReadStream of a missing stream (dir %d): %v (%T), want *StreamNotFoundError", dir, err, err)
		}
		if nf.Stream != p+"missing" || errs.KindOf(err) != errs.NotFound {
			t.Fatalf("not found error = %+v kind %s", nf, errs.KindOf(err))
		}
	}
}

func testGlobalOrder(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	h0 := mustHead(t, s)
	var want []eventstore.EventData
	var wantStream []string
	revs := map[string]uint64{}
	for i := 0; i < 30; i++ {
		stream := fmt.Sprintf("%s%d", p, i%3)
		batch := evs("Paso", i*10, 1+i%2)
		exp := eventstore.NoStream
		if r, ok := revs[stream]; ok {
			exp = eventstore.Revision(r)
		}
		res := mustAppend(t, s, stream, exp, batch...)
		revs[stream] = res.NextRevision
		for range batch {
			wantStream = append(wantStream, stream)
		}
		want = append(want, batch...)
	}
	got := readAllOf(t, s, h0, p)
	if len(got) != len(want) {
		t.Fatalf("ReadAll: %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].Stream != wantStream[i] {
			t.Fatalf("ReadAll[%d] = %s in %q, want %s in %q", i, got[i].ID, got[i].Stream, want[i].ID, wantStream[i])
		}
		if i > 0 && !got[i-1].Position.Less(got[i].Position) {
			t.Fatalf("ReadAll positions not strictly increasing at %d: %s then %s", i, got[i-1].Position, got[i].Position)
		}
		if !h0.Less(got[i].Position) {
			t.Fatalf("ReadAll returned %s, not after the start %s", got[i].Position, h0)
		}
	}
	if hd := mustHead(t, s); hd != got[len(got)-1].Position {
		t.Fatalf("Head = %s, want the last position %s", hd, got[len(got)-1].Position)
	}

	// From is exclusive; limit bounds the answer.
	mid := got[9].Position
	rest, err := s.ReadAll(ctxFor(t), mid, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 5 {
		t.Fatalf("ReadAll(limit 5): %d events", len(rest))
	}
	for i := range rest {
		if rest[i].ID != got[10+i].ID {
			t.Fatalf("ReadAll after %s [%d] = %s, want %s", mid, i, rest[i].ID, got[10+i].ID)
		}
	}
	// Pages of 7 chained by position give the same log.
	var paged []eventstore.Event
	for from := h0; ; {
		page, err := s.ReadAll(ctxFor(t), from, 7)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page...)
		if len(page) < 7 {
			break
		}
		from = page[len(page)-1].Position
	}
	var mine int
	for _, e := range paged {
		if strings.HasPrefix(e.Stream, p) {
			if e.ID != got[mine].ID {
				t.Fatalf("paged ReadAll[%d] = %s, want %s", mine, e.ID, got[mine].ID)
			}
			mine++
		}
	}
	if mine != len(got) {
		t.Fatalf("paged ReadAll: %d events, want %d", mine, len(got))
	}
	// Position strings round-trip.
	for _, e := range got {
		q, err := eventstore.ParsePosition(e.Position.String())
		if err != nil || q != e.Position {
			t.Fatalf("ParsePosition(%q) = %v, %v", e.Position.String(), q, err)
		}
	}
}

// next calls sub.Next with the suite's wait limit.
func next(t *testing.T, sub eventstore.Subscription) eventstore.Event {
	t.Helper()
	e, err := sub.Next(ctxFor(t))
	if err != nil {
		t.Fatalf("Subscription.Next: %v", err)
	}
	return e
}

func testSubscription(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	h0 := mustHead(t, s)
	filter := eventstore.Filter{StreamPrefixes: []string{p}}
	var want []eventstore.EventData
	appendN := func(stream string, exp eventstore.ExpectedRevision, n int) {
		batch := evs("Paso", len(want), n)
		mustAppend(t, s, stream, exp, batch...)
		want = append(want, batch...)
	}
	appendN(p+"a", eventstore.NoStream, 3)
	appendN(p+"b", eventstore.NoStream, 2)

	sub, err := s.Subscribe(ctxFor(t), h0, filter)
	if err != nil {
		t.Fatal(err)
	}
	var got []eventstore.Event
	// Catch-up.
	for range 5 {
		got = append(got, next(t, sub))
	}
	// Live: Next blocks, then an append wakes it.
	type res struct {
		e   eventstore.Event
		err error
	}
	ch := make(chan res, 1)
	go func() {
		e, err := sub.Next(ctxFor(t))
		ch <- res{e, err}
	}()
	appendN(p+"a", eventstore.Revision(2), 1)
	r := <-ch
	if r.err != nil {
		t.Fatalf("live Next: %v", r.err)
	}
	got = append(got, r.e)
	appendN(p+"c", eventstore.NoStream, 2)
	got = append(got, next(t, sub), next(t, sub))
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := sub.Next(ctxFor(t)); err == nil {
		t.Fatal("Next after Close returned no error")
	}
	checkpoint := got[len(got)-1].Position

	// Written while no one listens.
	appendN(p+"b", eventstore.Revision(1), 2)
	appendN(p+"d", eventstore.NoStream, 1)

	// Resume from the checkpoint: catch-up, then live, no gap, no duplicate.
	sub2, err := s.Subscribe(ctxFor(t), checkpoint, filter)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	for range 3 {
		got = append(got, next(t, sub2))
	}
	appendN(p+"a", eventstore.Revision(3), 1)
	got = append(got, next(t, sub2))

	if len(got) != len(want) {
		t.Fatalf("delivered %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID {
			t.Fatalf("delivered[%d] = %s, want %s", i, got[i].ID, want[i].ID)
		}
		if i > 0 && !got[i-1].Position.Less(got[i].Position) {
			t.Fatalf("delivered positions not increasing at %d", i)
		}
	}
	// A subscription delivers full events.
	all := readAllOf(t, s, h0, p)
	for i := range got {
		if got[i].Position != all[i].Position || !bytes.Equal(got[i].Hash, all[i].Hash) || got[i].Revision != all[i].Revision {
			t.Fatalf("delivered[%d] differs from ReadAll: %+v vs %+v", i, got[i], all[i])
		}
	}
}

func testSubscriptionClose(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	h0 := mustHead(t, s)
	sub, err := s.Subscribe(ctxFor(t), h0, eventstore.Filter{StreamPrefixes: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	// A cancelled context ends a blocked Next.
	ctx, cancel := context.WithCancel(ctxFor(t))
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Next returned no error after its context was cancelled")
	}
	// Close ends a blocked Next.
	go func() {
		_, err := sub.Next(ctxFor(t))
		done <- err
	}()
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; err == nil {
		t.Fatal("blocked Next returned no error after Close")
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func testFilter(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	h0 := mustHead(t, s)
	mustAppend(t, s, p+"caso-1", eventstore.NoStream, ev("CasoAbierto", 0), ev("PlazoFijado", 1))
	mustAppend(t, s, p+"autorizacion-1", eventstore.NoStream, ev("AutorizacionCreada", 2))
	mustAppend(t, s, p+"caso-2", eventstore.NoStream, ev("CasoAbierto", 3))
	mustAppend(t, s, p+"plazo-1", eventstore.NoStream, ev("PlazoFijado", 4))
	last := mustAppend(t, s, p+"fin", eventstore.NoStream, ev("Fin", 5))

	collect := func(f eventstore.Filter) string {
		t.Helper()
		sub, err := s.Subscribe(ctxFor(t), h0, f)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		var out []string
		for {
			e := next(t, sub)
			if !strings.HasPrefix(e.Stream, p) {
				t.Fatalf("filter %+v let through %q", f, e.Stream)
			}
			out = append(out, strings.TrimPrefix(e.Stream, p)+"/"+e.Type)
			if e.Position == last.Position {
				return strings.Join(out, " ")
			}
		}
	}
	cases := []struct {
		f    eventstore.Filter
		want string
	}{
		{eventstore.Filter{StreamPrefixes: []string{p + "caso-", p + "fin"}},
			"caso-1/CasoAbierto caso-1/PlazoFijado caso-2/CasoAbierto fin/Fin"},
		{eventstore.Filter{StreamPrefixes: []string{p}, TypePrefixes: []string{"Plazo", "Fin"}},
			"caso-1/PlazoFijado plazo-1/PlazoFijado fin/Fin"},
		{eventstore.Filter{StreamPrefixes: []string{p + "caso-", p + "fin"}, TypePrefixes: []string{"CasoAb", "Fin"}},
			"caso-1/CasoAbierto caso-2/CasoAbierto fin/Fin"},
	}
	for _, c := range cases {
		if got := collect(c.f); got != c.want {
			t.Errorf("filter %+v delivered %q, want %q", c.f, got, c.want)
		}
	}
}

func testConcurrentSameStream(t *testing.T, h Harness) {
	s := newStore(t, h)
	a := prefix() + "a"
	mustAppend(t, s, a, eventstore.NoStream, ev("Creado", 0))
	const writers = 64

	// Round 1: all expect revision 0 at once; exactly one wins.
	var wg sync.WaitGroup
	start := make(chan struct{})
	errsCh := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Append(context.Background(), a, eventstore.Revision(0), ev("Paso", 1000+i))
			errsCh <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errsCh)
	wins := 0
	for err := range errsCh {
		if err == nil {
			wins++
			continue
		}
		var wev *eventstore.WrongExpectedVersionError
		if !errors.As(err, &wev) || wev.Current != 1 {
			t.Fatalf("loser got %v (%T), want *WrongExpectedVersionError with Current 1", err, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d appends at Revision(0) won, want exactly 1", wins)
	}

	// Round 2: each writer retries on conflict with the Current it was told
	// until its event is in; every revision is written exactly once.
	ids := make([]uuid.UUID, writers)
	start = make(chan struct{})
	var mu sync.Mutex
	var failures []string
	conflicts := 0
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			e := ev("Paso", 2000+i)
			ids[i] = e.ID
			exp := eventstore.Revision(1)
			for attempt := 0; ; attempt++ {
				_, err := s.Append(context.Background(), a, exp, e)
				if err == nil {
					return
				}
				var wev *eventstore.WrongExpectedVersionError
				if !errors.As(err, &wev) || wev.Current < 0 || attempt > 10*writers {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("writer %d: %v", i, err))
					mu.Unlock()
					return
				}
				mu.Lock()
				conflicts++
				mu.Unlock()
				exp = eventstore.Revision(uint64(wev.Current))
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("writers failed: %s", strings.Join(failures, "; "))
	}
	got := mustRead(t, s, a, 0, eventstore.Forward, 0)
	if len(got) != 2+writers {
		t.Fatalf("stream has %d events, want %d", len(got), 2+writers)
	}
	seen := map[uuid.UUID]int{}
	for i, e := range got {
		if e.Revision != uint64(i) {
			t.Fatalf("event %d has revision %d", i, e.Revision)
		}
		seen[e.ID]++
	}
	for i, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("writer %d's event written %d times", i, seen[id])
		}
	}
	t.Logf("%d conflicts answered in round 2", conflicts)
	rep, err := eventstore.Verify(ctxFor(t), s, nil)
	if err != nil || rep.Broken != nil {
		t.Fatalf("Verify after concurrent appends: %+v, %v", rep.Broken, err)
	}
}

func testBadInput(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	good := p + "good"
	mustAppend(t, s, good, eventstore.NoStream, ev("Creado", 0))
	head := mustHead(t, s)

	dup := ev("Paso", 1)
	nilID := ev("Paso", 2)
	nilID.ID = uuid.Nil
	notJSON := ev("Paso", 3)
	notJSON.Data = json.RawMessage(`{"a":`)
	big := ev("Paso", 4)
	big.Data = json.RawMessage(`"` + strings.Repeat("x", eventstore.MaxEventSize) + `"`)
	noType := ev("", 5)
	badMeta := ev("Paso", 8)
	badMeta.Metadata.Actor.ID = "\xff\xfe"
	cases := []struct {
		name   string
		stream string
		exp    eventstore.ExpectedRevision
		events []eventstore.EventData
	}{
		{"empty stream", "", eventstore.Any, []eventstore.EventData{ev("Paso", 1)}},
		{"long stream", p + strings.Repeat("s", eventstore.MaxStreamNameLen), eventstore.Any, []eventstore.EventData{ev("Paso", 1)}},
		{"system stream", "$" + p, eventstore.Any, []eventstore.EventData{ev("Paso", 1)}},
		{"no events", p + "x", eventstore.Any, nil},
		{"nil id", p + "x", eventstore.Any, []eventstore.EventData{ev("Paso", 1), nilID}},
		{"duplicate id", p + "x", eventstore.NoStream, []eventstore.EventData{dup, ev("Paso", 6), dup}},
		{"not json", p + "x", eventstore.Any, []eventstore.EventData{ev("Paso", 1), notJSON}},
		{"too big", p + "x", eventstore.Any, []eventstore.EventData{ev("Paso", 1), big}},
		{"no type", p + "x", eventstore.Any, []eventstore.EventData{noType}},
		{"metadata not UTF-8", p + "x", eventstore.Any, []eventstore.EventData{badMeta}},
		{"bad batch on existing stream", good, eventstore.Revision(0), []eventstore.EventData{ev("Paso", 1), notJSON}},
	}
	for _, c := range cases {
		_, err := s.Append(ctxFor(t), c.stream, c.exp, c.events...)
		if !errs.Is(errs.Invalid, err) {
			t.Errorf("%s: got %v (kind %s), want an invalid error", c.name, err, errs.KindOf(err))
		}
	}
	if got := mustHead(t, s); got != head {
		t.Fatalf("bad input moved the head from %s to %s", head, got)
	}
	if n := len(readAllOf(t, s, eventstore.Position{}, p)); n != 1 {
		t.Fatalf("bad input left %d events, want only the first one", n)
	}
	_, err := s.ReadStream(ctxFor(t), p+"x", 0, eventstore.Forward, 0)
	var nf *eventstore.StreamNotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("stream of rejected appends exists: %v", err)
	}
	// A large event within the limit is accepted.
	ok := ev("Paso", 7)
	ok.Data = json.RawMessage(`"` + strings.Repeat("y", eventstore.MaxEventSize/2) + `"`)
	r := mustAppend(t, s, good, eventstore.Revision(0), ok)
	got := mustRead(t, s, good, 1, eventstore.Forward, 1)
	if len(got) != 1 || len(got[0].Data) != len(ok.Data) || r.NextRevision != 1 {
		t.Fatalf("event of %d bytes did not round-trip", len(ok.Data))
	}
}

func testBatchAtomic(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	a := p + "a"
	mustAppend(t, s, a, eventstore.NoStream, evs("Paso", 0, 2)...)
	// A conflicting batch writes nothing.
	_, err := s.Append(ctxFor(t), a, eventstore.Revision(0), evs("Paso", 10, 5)...)
	wantConflict(t, err, 1)
	if n := len(mustRead(t, s, a, 0, eventstore.Forward, 0)); n != 2 {
		t.Fatalf("conflicting batch left %d events, want 2", n)
	}

	// Batches appended concurrently to two streams never interleave.
	h0 := mustHead(t, s)
	const batches, size = 20, 10
	var wg sync.WaitGroup
	fail := make(chan error, 2)
	for _, stream := range []string{p + "x", p + "y"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exp := eventstore.NoStream
			for i := range batches {
				r, err := s.Append(context.Background(), stream, exp, evs("Paso", i*size, size)...)
				if err != nil {
					fail <- err
					return
				}
				exp = eventstore.Revision(r.NextRevision)
			}
		}()
	}
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
	got := readAllOf(t, s, h0, p)
	if len(got) != 2*batches*size {
		t.Fatalf("ReadAll: %d events, want %d", len(got), 2*batches*size)
	}
	for i := 0; i < len(got); i += size {
		for j := i; j < i+size; j++ {
			if got[j].Stream != got[i].Stream || got[j].Revision != got[i].Revision+uint64(j-i) {
				t.Fatalf("batch starting at %d interleaved: event %d is %q r%d", i, j, got[j].Stream, got[j].Revision)
			}
		}
		if got[i].Revision%size != 0 {
			t.Fatalf("batch starting at %d begins at revision %d", i, got[i].Revision)
		}
	}
}

func testHashChain(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	h0 := mustHead(t, s)
	mustAppend(t, s, p+"a", eventstore.NoStream, evs("Paso", 0, 3)...)
	mustAppend(t, s, p+"b", eventstore.NoStream, evs("Paso", 3, 1)...)
	mustAppend(t, s, p+"a", eventstore.Revision(2), evs("Paso", 4, 2)...)
	mustAppend(t, s, p+"b", eventstore.Any, evs("Paso", 6, 1)...)

	prev := map[string][]byte{}
	for _, e := range readAllOf(t, s, h0, p) {
		if len(e.Hash) != 32 {
			t.Fatalf("%q r%d: hash of %d bytes", e.Stream, e.Revision, len(e.Hash))
		}
		if !bytes.Equal(e.PrevHash, prev[e.Stream]) {
			t.Fatalf("%q r%d: PrevHash %x, want %x", e.Stream, e.Revision, e.PrevHash, prev[e.Stream])
		}
		want, err := eventstore.HashOf(&e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, e.Hash) {
			t.Fatalf("%q r%d: stored hash %x, recomputed %x", e.Stream, e.Revision, e.Hash, want)
		}
		prev[e.Stream] = e.Hash
	}
	// ReadStream carries the same hashes.
	for _, e := range mustRead(t, s, p+"a", eventstore.StreamEnd, eventstore.Backward, 1) {
		if !bytes.Equal(e.Hash, prev[p+"a"]) {
			t.Fatalf("ReadStream hash %x, ReadAll hash %x", e.Hash, prev[p+"a"])
		}
	}
	rep, err := eventstore.Verify(ctxFor(t), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Broken != nil {
		t.Fatalf("Verify: %v", rep.Broken)
	}
	if rep.Events < 7 || rep.Streams < 2 {
		t.Fatalf("Verify walked %d events in %d streams, want at least 7 in 2", rep.Events, rep.Streams)
	}
}

func testTamper(t *testing.T, h Harness) {
	if h.Tamper == nil {
		t.Skip("the harness cannot tamper with stored events")
	}
	s := newStore(t, h)
	p := prefix()
	mustAppend(t, s, p+"a", eventstore.NoStream, evs("Paso", 0, 2)...)
	mustAppend(t, s, p+"b", eventstore.NoStream, evs("Paso", 2, 5)...)
	mustAppend(t, s, p+"a", eventstore.Revision(1), evs("Paso", 7, 2)...)
	rep, err := eventstore.Verify(ctxFor(t), s, nil)
	if err != nil || rep.Broken != nil {
		t.Fatalf("Verify before tampering: %v, %v", rep.Broken, err)
	}
	h.Tamper(t, s, p+"b", 2)
	rep, err = eventstore.Verify(ctxFor(t), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Broken == nil {
		t.Fatal("Verify found no broken link after tampering")
	}
	if rep.Broken.Stream != p+"b" || rep.Broken.Revision != 2 {
		t.Fatalf("Verify broke at %q r%d, want %q r2", rep.Broken.Stream, rep.Broken.Revision, p+"b")
	}
}

func testEnvelope(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	e := ev("CasoAbierto", 42)
	e.SchemaVersion = 3
	e.Data = json.RawMessage(`{"nested":{"list":[1,2.5,"tres",null,true]},"esc":"\"\\u00f1\u003c"}`)
	e.Metadata.Actor.Authorization = ""
	bare := ev("Paso", 43)
	bare.Metadata = eventstore.Metadata{}
	mustAppend(t, s, p+"a", eventstore.NoStream, e, bare)
	got := mustRead(t, s, p+"a", 0, eventstore.Forward, 0)
	checkEvent(t, got[0], p+"a", 0, e)
	checkEvent(t, got[1], p+"a", 1, bare)
	if got[0].RecordedAt.IsZero() {
		t.Fatalf("RecordedAt = %s", got[0].RecordedAt)
	}
	if len(got[0].PrevHash) != 0 || !bytes.Equal(got[1].PrevHash, got[0].Hash) {
		t.Fatalf("PrevHash of r0 = %x, of r1 = %x (r0 hash %x)", got[0].PrevHash, got[1].PrevHash, got[0].Hash)
	}
	all := readAllOf(t, s, eventstore.Position{}, p)
	if len(all) != 2 {
		t.Fatalf("ReadAll: %d events", len(all))
	}
	for i := range all {
		checkEvent(t, all[i], p+"a", uint64(i), []eventstore.EventData{e, bare}[i])
		if !all[i].RecordedAt.Equal(got[i].RecordedAt) {
			t.Fatalf("RecordedAt differs between reads: %s vs %s", all[i].RecordedAt, got[i].RecordedAt)
		}
	}
}

// testLongReads reads a stream and a log long enough for an adapter to page
// or split them, and checks every window against what was written.
func testLongReads(t *testing.T, h Harness) {
	s := newStore(t, h)
	p := prefix()
	a := p + "largo"
	const n = 1500
	h0 := mustHead(t, s)
	var ids []uuid.UUID
	exp := eventstore.NoStream
	for i := 0; i < n; i += 100 {
		batch := evs("Paso", i, 100)
		for _, e := range batch {
			ids = append(ids, e.ID)
		}
		r := mustAppend(t, s, a, exp, batch...)
		exp = eventstore.Revision(r.NextRevision)
		mustAppend(t, s, fmt.Sprintf("%sotro-%d", p, i), eventstore.NoStream, ev("Otro", i))
	}
	check := func(got []eventstore.Event, revs []uint64) {
		t.Helper()
		if len(got) != len(revs) {
			t.Fatalf("%d events, want %d", len(got), len(revs))
		}
		for i, e := range got {
			if e.Revision != revs[i] || e.ID != ids[revs[i]] || e.Stream != a {
				t.Fatalf("event %d = %q r%d %s, want r%d %s", i, e.Stream, e.Revision, e.ID, revs[i], ids[revs[i]])
			}
			if i > 0 && !bytes.Equal(e.PrevHash, got[i-1].Hash) && !bytes.Equal(e.Hash, got[i-1].PrevHash) {
				t.Fatalf("event %d does not chain to its neighbour", i)
			}
		}
	}
	span := func(from, to uint64) []uint64 { // from..to inclusive, either way
		var out []uint64
		if from <= to {
			for r := from; r <= to; r++ {
				out = append(out, r)
			}
		} else {
			for r := from; ; r-- {
				out = append(out, r)
				if r == to {
					break
				}
			}
		}
		return out
	}
	cases := []struct {
		from    uint64
		dir     eventstore.Direction
		limit   int
		from2to [2]uint64
	}{
		{0, eventstore.Forward, 0, [2]uint64{0, n - 1}},
		{1, eventstore.Forward, 0, [2]uint64{1, n - 1}},
		{0, eventstore.Forward, 1000, [2]uint64{0, 999}},
		{700, eventstore.Forward, 513, [2]uint64{700, 1212}},
		{1370, eventstore.Forward, 0, [2]uint64{1370, n - 1}},
		{1, eventstore.Forward, 128, [2]uint64{1, 128}},
		{1, eventstore.Forward, 129, [2]uint64{1, 129}},
		{eventstore.StreamEnd, eventstore.Backward, 0, [2]uint64{n - 1, 0}},
		{eventstore.StreamEnd, eventstore.Backward, 1000, [2]uint64{n - 1, n - 1000}},
		{1200, eventstore.Backward, 0, [2]uint64{1200, 0}},
		{1200, eventstore.Backward, 700, [2]uint64{1200, 501}},
		{127, eventstore.Backward, 0, [2]uint64{127, 0}},
		{128, eventstore.Backward, 0, [2]uint64{128, 0}},
	}
	for _, c := range cases {
		got := mustRead(t, s, a, c.from, c.dir, c.limit)
		check(got, span(c.from2to[0], c.from2to[1]))
	}

	// The global log: one read, pages of several sizes, all alike.
	all := readAllOf(t, s, h0, p)
	if len(all) != n+n/100 {
		t.Fatalf("ReadAll: %d events of the test, want %d", len(all), n+n/100)
	}
	for _, size := range []int{1, 511, 512, 1000, 4096} {
		var paged []eventstore.Event
		for from := h0; ; {
			page, err := s.ReadAll(ctxFor(t), from, size)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > size {
				t.Fatalf("ReadAll(limit %d) returned %d", size, len(page))
			}
			for _, e := range page {
				if strings.HasPrefix(e.Stream, p) {
					paged = append(paged, e)
				}
			}
			if len(page) < size {
				break
			}
			from = page[len(page)-1].Position
			if size == 1 && len(paged) > 50 {
				break // enough for the smallest page
			}
		}
		for i := range paged {
			if paged[i].ID != all[i].ID || paged[i].Position != all[i].Position {
				t.Fatalf("ReadAll pages of %d: event %d is %s, want %s", size, i, paged[i].ID, all[i].ID)
			}
		}
		if size > 1 && len(paged) != len(all) {
			t.Fatalf("ReadAll pages of %d: %d events, want %d", size, len(paged), len(all))
		}
	}
	// A subscription delivers the same log.
	sub, err := s.Subscribe(ctxFor(t), h0, eventstore.Filter{StreamPrefixes: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range all {
		if e := next(t, sub); e.ID != all[i].ID {
			t.Fatalf("subscription event %d is %s, want %s", i, e.ID, all[i].ID)
		}
	}
}

// testAppendedEvents: when an adapter returns the recorded events with an
// append, they are exactly what a read returns, and the last one is where
// the append says it landed.
func testAppendedEvents(t *testing.T, h Harness) {
	s := newStore(t, h)
	ctx := ctxFor(t)
	p := prefix()
	for _, tc := range []struct {
		stream   string
		expected eventstore.ExpectedRevision
		events   []eventstore.EventData
	}{
		{p + "a", eventstore.NoStream, evs("Creado", 0, 3)},
		{p + "a", eventstore.Revision(2), evs("Cambiado", 3, 1)},
		{p + "a", eventstore.Any, evs("Cambiado", 4, 2)},
		{p + "b", eventstore.Any, evs("Creado", 6, 40)},
	} {
		r, err := s.Append(ctx, tc.stream, tc.expected, tc.events...)
		if err != nil {
			t.Fatal(err)
		}
		if r.Events == nil {
			continue // the adapter does not know them: nothing to check
		}
		if len(r.Events) != len(tc.events) {
			t.Fatalf("append returned %d events, want %d", len(r.Events), len(tc.events))
		}
		last := r.Events[len(r.Events)-1]
		if last.Revision != r.NextRevision || last.Position != r.Position {
			t.Fatalf("last event at r%d %s, append landed at r%d %s", last.Revision, last.Position, r.NextRevision, r.Position)
		}
		first := r.Events[0].Revision
		stored := mustRead(t, s, tc.stream, first, eventstore.Forward, len(tc.events))
		for i := range stored {
			if !sameRecorded(r.Events[i], stored[i]) {
				t.Fatalf("returned event %d = %+v, stored %+v", i, r.Events[i], stored[i])
			}
		}
	}
}
