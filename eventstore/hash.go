package eventstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// CanonicalMetadata encodes metadata the one way the hash covers it: JSON of
// the struct with OccurredAt in UTC. Adapters store exactly these bytes.
func CanonicalMetadata(m Metadata) ([]byte, error) {
	m.OccurredAt = m.OccurredAt.UTC()
	return json.Marshal(m)
}

// ComputeHash returns the SHA-256 of an event: previous hash, stream,
// revision, type, schema version, data and canonical metadata, each
// length-prefixed so that no two different events encode alike.
func ComputeHash(prev []byte, stream string, revision uint64, typ string, schemaVersion int, data []byte, metadata []byte) []byte {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field(prev)
	field([]byte(stream))
	binary.BigEndian.PutUint64(n[:], revision)
	field(n[:])
	field([]byte(typ))
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(schemaVersion))
	field(v[:])
	field(data)
	field(metadata)
	return h.Sum(nil)
}

// HashOf recomputes the hash of a recorded event from its content and its
// PrevHash.
func HashOf(e *Event) ([]byte, error) {
	meta, err := CanonicalMetadata(e.Metadata)
	if err != nil {
		return nil, err
	}
	return ComputeHash(e.PrevHash, e.Stream, e.Revision, e.Type, e.SchemaVersion, e.Data, meta), nil
}

// BrokenLink describes the first place where the hash chain does not hold.
type BrokenLink struct {
	Stream   string
	Revision uint64
	Position Position
	Reason   string
}

func (b *BrokenLink) Error() string {
	return fmt.Sprintf("cadena rota en %q revisión %d: %s", b.Stream, b.Revision, b.Reason)
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Streams int
	Events  int
	Broken  *BrokenLink // nil when every link holds
	Took    time.Duration
}

// Verify walks the whole global log and checks, for every stream, that
// revisions run 0, 1, 2, … without a gap, that each event's PrevHash is the
// hash of the event before it, and that each stored hash matches the
// recomputed one. It stops at the first broken link. progress, when not nil,
// is called every few thousand events with the count so far.
func Verify(ctx context.Context, s Store, progress func(events int)) (VerifyReport, error) {
	start := time.Now()
	type link struct {
		rev  uint64
		hash []byte
	}
	last := make(map[string]link)
	var rep VerifyReport
	var from Position
	const batch = 4096
	for {
		evs, err := s.ReadAll(ctx, from, batch)
		if err != nil {
			return rep, err
		}
		for i := range evs {
			e := &evs[i]
			rep.Events++
			prev, seen := last[e.Stream]
			broken := func(reason string) (VerifyReport, error) {
				rep.Broken = &BrokenLink{Stream: e.Stream, Revision: e.Revision, Position: e.Position, Reason: reason}
				rep.Streams = len(last)
				rep.Took = time.Since(start)
				return rep, nil
			}
			switch {
			case !seen && e.Revision != 0:
				return broken(fmt.Sprintf("el flujo empieza en la revisión %d", e.Revision))
			case seen && e.Revision != prev.rev+1:
				return broken(fmt.Sprintf("tras la revisión %d viene la %d", prev.rev, e.Revision))
			case !seen && len(e.PrevHash) != 0:
				return broken("la primera revisión lleva hash previo")
			case seen && !bytes.Equal(e.PrevHash, prev.hash):
				return broken("el hash previo no es el del evento anterior")
			}
			want, err := HashOf(e)
			if err != nil {
				return rep, err
			}
			if !bytes.Equal(want, e.Hash) {
				return broken("el hash no corresponde al contenido")
			}
			last[e.Stream] = link{e.Revision, e.Hash}
			if progress != nil && rep.Events%4096 == 0 {
				progress(rep.Events)
			}
		}
		if len(evs) < batch {
			break
		}
		from = evs[len(evs)-1].Position
	}
	rep.Streams = len(last)
	rep.Took = time.Since(start)
	return rep, nil
}
