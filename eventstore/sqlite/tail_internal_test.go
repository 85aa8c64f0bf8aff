package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"redengine/eventstore"
)

// run returns events at positions first … first+n-1.
func run(first uint64, n int) []eventstore.Event {
	out := make([]eventstore.Event, n)
	for i := range out {
		out[i].Position = pos(first + uint64(i))
	}
	return out
}

func positions(evs []eventstore.Event) string {
	if len(evs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%d..%d", evs[0].Position.Commit, evs[len(evs)-1].Position.Commit)
}

// TestTail: the tail serves a read only when it holds every event asked
// for; a gap or an append it does not keep starts it over; past its
// capacity (larger after a bulk append) it keeps the newer events.
func TestTail(t *testing.T) {
	for _, tc := range []struct {
		name  string
		adds  [][2]int // first position, count (count 0: an append not kept)
		after uint64
		limit int
		upTo  uint64
		want  string // positions served, "" when not served
	}{
		{name: "empty", upTo: 3},
		{name: "from the start", adds: [][2]int{{1, 2}, {3, 3}}, after: 0, upTo: 5, want: "1..5"},
		{name: "middle, limited", adds: [][2]int{{1, 5}}, after: 1, limit: 2, upTo: 5, want: "2..3"},
		{name: "up to the head only", adds: [][2]int{{1, 5}}, after: 2, upTo: 4, want: "3..4"},
		{name: "caught up", adds: [][2]int{{1, 5}}, after: 5, upTo: 5},
		{name: "head beyond the tail", adds: [][2]int{{1, 5}}, after: 2, upTo: 7},
		{name: "before the tail", adds: [][2]int{{4, 5}}, after: 2, upTo: 8},
		{name: "right at its start", adds: [][2]int{{4, 5}}, after: 3, upTo: 8, want: "4..8"},
		{name: "a gap starts over", adds: [][2]int{{1, 3}, {6, 2}}, after: 0, upTo: 7},
		{name: "after a gap", adds: [][2]int{{1, 3}, {6, 2}}, after: 5, upTo: 7, want: "6..7"},
		{name: "an append not kept", adds: [][2]int{{1, 3}, {4, 0}}, after: 0, upTo: 3},
		{name: "kept again after it", adds: [][2]int{{1, 3}, {4, 0}, {104, 2}}, after: 103, upTo: 105, want: "104..105"},
		{name: "capacity", adds: [][2]int{{1, tailCap}, {tailCap + 1, 10}}, after: tailCap, upTo: tailCap + 10,
			want: fmt.Sprintf("%d..%d", tailCap+1, tailCap+10)},
		{name: "capacity drops the oldest", adds: [][2]int{{1, tailCap}, {tailCap + 1, 10}}, after: 0, upTo: tailCap + 10},
		{name: "bulk appends keep more", adds: [][2]int{{1, 5000}, {5001, 5000}}, after: 0, upTo: 10000, want: "1..10000"},
		{name: "bulk capacity drops the oldest", adds: [][2]int{{1, tailBulkCap}, {tailBulkCap + 1, 100}}, after: 0, upTo: tailBulkCap + 100},
		{name: "bulk capacity keeps the newer", adds: [][2]int{{1, tailBulkCap}, {tailBulkCap + 1, 100}}, after: tailBulkCap - 100,
			upTo: tailBulkCap + 100, want: fmt.Sprintf("%d..%d", tailBulkCap-99, tailBulkCap+100)},
		{name: "a small append trims a bulk run", adds: [][2]int{{1, 5000}, {5001, 5000}, {10001, 1}}, after: 5000, upTo: 10001},
		{name: "and keeps its newer events", adds: [][2]int{{1, 5000}, {5001, 5000}, {10001, 1}}, after: 9000, upTo: 10001,
			want: "9001..10001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tl tail
			for _, a := range tc.adds {
				if a[1] == 0 {
					tl.add(0, nil)
					continue
				}
				tl.add(uint64(a[0]), run(uint64(a[0]), a[1]))
			}
			limit := tailCap
			if n := len(tc.adds); n > 0 && tc.adds[n-1][1] > maxReturnedEvents {
				limit = tailBulkCap
			}
			if len(tl.evs) > limit {
				t.Fatalf("holds %d events, more than %d", len(tl.evs), limit)
			}
			got, ok := tl.read(tc.after, tc.limit, tc.upTo)
			switch {
			case tc.want == "" && ok:
				t.Fatalf("served %s, want the file read", positions(got))
			case tc.want != "" && !ok:
				t.Fatalf("not served, want %s", tc.want)
			case ok && positions(got) != tc.want:
				t.Fatalf("served %s, want %s", positions(got), tc.want)
			}
			for i := 1; i < len(tl.evs); i++ {
				if tl.evs[i].Position.Commit != tl.first+uint64(i) {
					t.Fatalf("held positions not consecutive at %d: %s", i, positions(tl.evs))
				}
			}
		})
	}
}

// appendInTail appends n events to stream and reports whether the tail
// holds them once the append is answered.
func appendInTail(t *testing.T, ctx context.Context, s *Store, stream string, n int) bool {
	t.Helper()
	if _, err := s.Append(ctx, stream, eventstore.Any, events(n)...); err != nil {
		t.Fatal(err)
	}
	h := s.head.Load()
	_, ok := s.tail.read(h-uint64(n), 0, h)
	return ok
}

// TestSubscriptionFromTheTail: a subscription that follows the log gets
// from the tail exactly the events a read of the file returns (envelope,
// data, metadata, hashes), across small appends and bulk ones (the
// syncer's, whose events Append does not return).
func TestSubscriptionFromTheTail(t *testing.T) {
	ctx, s := openStore(t)
	sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var got []eventstore.Event
	follow := func(n int) {
		t.Helper()
		for range n {
			e, err := sub.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e)
		}
	}
	// Small appends (answered by the writer) and bulk ones (answered by
	// the syncer, and larger than what Append returns) alike.
	sizes := []int{1, 3, 2, maxReturnedEvents + 1, 2, bulkGroup + 5, 1}
	served := 0
	for i, n := range sizes {
		if appendInTail(t, ctx, s, fmt.Sprintf("t-%d", i%2), n) {
			served++
		}
		follow(n)
	}
	if served != len(sizes) {
		t.Errorf("the tail held %d of the %d appends when they were answered", served, len(sizes))
	}
	file, err := s.ReadAll(ctx, eventstore.Position{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(file) != len(got) {
		t.Fatalf("subscription gave %d events, the file holds %d", len(got), len(file))
	}
	for i, a := range got {
		b := file[i]
		if a.ID != b.ID || a.Stream != b.Stream || a.Type != b.Type || a.SchemaVersion != b.SchemaVersion ||
			!bytes.Equal(a.Data, b.Data) || a.Metadata != b.Metadata || a.Revision != b.Revision || a.Position != b.Position ||
			!a.RecordedAt.Equal(b.RecordedAt) || a.RecordedAt.Location() != b.RecordedAt.Location() ||
			!bytes.Equal(a.Hash, b.Hash) || !bytes.Equal(a.PrevHash, b.PrevHash) {
			t.Fatalf("event %d from the subscription %+v, from the file %+v", i, a, b)
		}
	}
}

// TestTailBulkOnlyWhenFollowed: a bulk append goes into the tail only while
// a subscription is open (a command-line import has none, and would only
// copy its events for nobody); small appends always do, since Append
// returns their envelopes anyway.
func TestTailBulkOnlyWhenFollowed(t *testing.T) {
	ctx, s := openStore(t)
	held := func(n int) bool { t.Helper(); return appendInTail(t, ctx, s, "t-1", n) }
	if held(bulkGroup + 5) {
		t.Error("a bulk append with no subscription open went into the tail")
	}
	if !held(2) {
		t.Error("a small append with no subscription open is not in the tail")
	}
	sub, err := s.Subscribe(ctx, eventstore.Position{}, eventstore.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if !held(bulkGroup + 5) {
		t.Error("a bulk append with a subscription open is not in the tail")
	}
	sub.Close()
	sub.Close() // a second Close counts once
	if held(bulkGroup + 5) {
		t.Error("a bulk append after the subscription closed went into the tail")
	}
	if n := s.subscribers.Load(); n != 0 {
		t.Errorf("%d subscribers counted after the only one closed", n)
	}
}
