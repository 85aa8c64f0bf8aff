package readmodels

import (
	"fmt"
	"testing"
)

// TestRowCache: an entry serves only the event right after its revision,
// in its own table; a put ahead of the stored row (a batch rolled back and
// applied again) is not used for the replayed event; the cache stays
// within its size.
func TestRowCache(t *testing.T) {
	c := newRowCache[string](3)
	c.put("cases", "a", 4, "a@4")
	tests := []struct {
		name      string
		table, id string
		rev       uint64
		want      string
		hit       bool
	}{
		{"next event", "cases", "a", 5, "a@4", true},
		{"same revision again (replayed)", "cases", "a", 4, "", false},
		{"a gap", "cases", "a", 6, "", false},
		{"earlier event", "cases", "a", 3, "", false},
		{"another table (a rebuild)", "cases_rebuild", "a", 5, "", false},
		{"another row", "cases", "b", 5, "", false},
		{"first event", "cases", "a", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, hit := c.before(tt.table, tt.id, tt.rev)
			if got != tt.want || hit != tt.hit {
				t.Fatalf("before(%s, %s, %d) = %q, %v; want %q, %v", tt.table, tt.id, tt.rev, got, hit, tt.want, tt.hit)
			}
		})
	}

	// A batch applied a, revision 5, then rolled back; applied again, the
	// event finds the entry ahead and goes to the stored row.
	c.put("cases", "a", 5, "a@5 (rolled back)")
	if _, hit := c.before("cases", "a", 5); hit {
		t.Fatal("an entry ahead of the replayed event used")
	}

	for i := range 10 {
		c.put("cases", fmt.Sprint(i), 1, "x")
	}
	if len(c.rows) != 3 {
		t.Fatalf("%d entries, want at most 3", len(c.rows))
	}
	var nilCache *rowCache[string]
	nilCache.put("cases", "a", 1, "x")
	if _, hit := nilCache.before("cases", "a", 2); hit {
		t.Fatal("a nil cache hit")
	}
}
