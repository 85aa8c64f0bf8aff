package commands

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCmdSet grows sets in runs of random sizes from shared parents and
// checks membership against a plain map, and that extending one branch never
// changes another.
func TestCmdSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type branch struct {
		set  *cmdSet
		want map[uint64]bool
	}
	branches := []branch{{want: map[uint64]bool{}}}
	for range 400 {
		b := branches[r.IntN(len(branches))]
		add := make([]uint64, 1+r.IntN(4))
		for i := range add {
			add[i] = r.Uint64N(3000) // repeats on purpose
		}
		want := map[uint64]bool{}
		for k := range b.want {
			want[k] = true
		}
		for _, k := range add {
			want[k] = true
		}
		branches = append(branches, branch{set: b.set.with(add), want: want})
	}
	for i, b := range branches {
		n, depth := 0, 0
		for s := b.set; s != nil; s = s.parent {
			if !slices.IsSorted(s.ids) || len(slices.Compact(slices.Clone(s.ids))) != len(s.ids) {
				t.Fatalf("branch %d: a run is not sorted without repeats", i)
			}
			if s.parent != nil && len(s.parent.ids) <= 2*len(s.ids) {
				t.Fatalf("branch %d: run of %d under a parent of %d", i, len(s.ids), len(s.parent.ids))
			}
			n += len(s.ids)
			depth++
		}
		if depth > 12 {
			t.Fatalf("branch %d: %d runs for %d hashes", i, depth, n)
		}
		for k := range uint64(3000) {
			if b.set.has(k) != b.want[k] {
				t.Fatalf("branch %d: has(%d) = %v, want %v", i, k, !b.want[k], b.want[k])
			}
		}
	}
}

// TestStateCacheLRU: eviction drops the least recently used stream, and put
// never moves a stream back to an older revision.
func TestStateCacheLRU(t *testing.T) {
	c := newStateCache[int](2)
	at := func(rev uint64, v int) *entry[int] {
		return &entry[int]{Loaded: Loaded[int]{State: v, Exists: true, Revision: rev}}
	}
	c.put("a", at(1, 1))
	c.put("b", at(1, 2))
	c.get("a") // b is now the least recently used
	c.put("c", at(1, 3))
	if c.get("b") != nil || c.get("a") == nil || c.get("c") == nil || c.len() != 2 {
		t.Fatalf("eviction kept the wrong streams")
	}
	c.put("a", at(5, 50))
	c.put("a", at(4, 40))
	if e := c.get("a"); e.Revision != 5 || e.State != 50 {
		t.Fatalf("entry moved back to revision %d", e.Revision)
	}
	c.drop("a")
	if c.get("a") != nil || c.len() != 1 {
		t.Fatal("drop kept the stream")
	}
	if newStateCache[int](0) != nil {
		t.Fatal("size 0 must disable the cache")
	}
}
