package commands_test

import (
	"bytes"
	"testing"

	"github.com/google/uuid"

	"redengine/commands"
)

func TestEventIDs(t *testing.T) {
	cmd := uuid.MustParse("0190f5a2-7c1e-7b3a-9f00-1234567890ab")
	other := uuid.MustParse("0190f5a2-7c1e-7b3a-9f00-1234567890ac")
	ids := commands.EventIDs(cmd, "fiecompany-0111-28123456742")
	seen := map[uuid.UUID]bool{}
	for i := range 1000 {
		id := ids(i)
		if id != commands.EventID(cmd, "fiecompany-0111-28123456742", i) {
			t.Fatalf("EventIDs and EventID differ at %d", i)
		}
		if id.Version() != 8 || id.Variant() != uuid.RFC4122 {
			t.Fatalf("event %d: version %d, variant %v; want 8, RFC 4122", i, id.Version(), id.Variant())
		}
		// One append's events are neighbours in the store's (stream, id)
		// index: IDs in the order of the events, one prefix.
		if prev := ids(i - 1); i > 0 && bytes.Compare(prev[:], id[:]) >= 0 {
			t.Fatalf("event %d does not sort after event %d", i, i-1)
		}
		if first := ids(0); !bytes.Equal(id[:12], first[:12]) {
			t.Fatalf("event %d has another prefix", i)
		}
		seen[id] = true
	}
	if len(seen) != 1000 {
		t.Fatalf("%d distinct IDs for 1,000 events", len(seen))
	}
	first := ids(0)
	for name, id := range map[string]uuid.UUID{
		"another stream":  commands.EventID(cmd, "fiecompany-0111-28123456743", 0),
		"another command": commands.EventID(other, "fiecompany-0111-28123456742", 0),
	} {
		if bytes.Equal(id[:12], first[:12]) {
			t.Errorf("%s shares the prefix", name)
		}
	}
}
