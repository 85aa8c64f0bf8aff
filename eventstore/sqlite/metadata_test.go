package sqlite

import (
	"encoding/json"
	"testing"
	"time"

	"redengine/eventstore"
)

// TestDecodeMetadata checks that the fast decoder reads canonical metadata
// exactly as encoding/json does, and leaves what it does not expect to it.
func TestDecodeMetadata(t *testing.T) {
	cases := []eventstore.Metadata{
		{},
		{CorrelationID: "c", CausationID: "k", CommandID: "m", Actor: eventstore.Actor{ID: "u", Role: "admin", Authorization: "A-1"},
			OccurredAt: time.Date(2026, 3, 1, 2, 3, 4, 5, time.FixedZone("X", 3600))},
		{CorrelationID: `comillas " y \ barra`, Actor: eventstore.Actor{ID: "<script>&"}, OccurredAt: time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{CommandID: "ñandú €", Actor: eventstore.Actor{Role: "tramitador\n"}},
	}
	for _, m := range cases {
		b, err := eventstore.CanonicalMetadata(m)
		if err != nil {
			t.Fatal(err)
		}
		var want eventstore.Metadata
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		var got eventstore.Metadata
		if err := decodeMetadata(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if got != want {
			t.Fatalf("decode %s = %+v, want %+v", b, got, want)
		}
		again, _ := eventstore.CanonicalMetadata(got)
		if string(again) != string(b) {
			t.Fatalf("re-encoded %s, stored %s", again, b)
		}
	}
	// Shapes the fast path does not know go to encoding/json.
	for _, s := range []string{
		`{"correlationId":"a","extra":1,"actor":{"id":"","role":""},"occurredAt":"0001-01-01T00:00:00Z"}`,
		` {"actor":{"id":"x","role":"y"},"occurredAt":"2026-01-01T00:00:00Z"}`,
		`{"actor":{"id":"x","role":"y","more":true},"occurredAt":"2026-01-01T00:00:00Z"}`,
	} {
		var want, got eventstore.Metadata
		_ = json.Unmarshal([]byte(s), &want)
		if err := decodeMetadata([]byte(s), &got); err != nil || got != want {
			t.Fatalf("decode %s = %+v %v, want %+v", s, got, err, want)
		}
		if fastMetadata([]byte(s), &eventstore.Metadata{}) {
			t.Fatalf("fast path accepted %s", s)
		}
	}
	if err := decodeMetadata([]byte(`{"actor":`), &eventstore.Metadata{}); err == nil {
		t.Fatal("truncated metadata decoded without error")
	}
}

func BenchmarkDecodeMetadata(b *testing.B) {
	raw, _ := eventstore.CanonicalMetadata(eventstore.Metadata{CorrelationID: "0f8fad5b-d9cb-469f-a165-70867728950e",
		CausationID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", CommandID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		Actor:      eventstore.Actor{ID: "tramitador-17", Role: "tramitador", Authorization: "AUT-00012345"},
		OccurredAt: time.Date(2026, 11, 27, 9, 30, 0, 123456789, time.UTC)})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			var m eventstore.Metadata
			fastMetadata(raw, &m)
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			var m eventstore.Metadata
			_ = json.Unmarshal(raw, &m)
		}
	})
}
