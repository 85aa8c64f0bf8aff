package esdb

import (
	"encoding/json"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"redengine/eventstore"
)

// envelope is what the port's event carries beyond EventStoreDB's own
// fields, stored as JSON in the event's custom metadata. Metadata holds the
// exact canonical bytes the hash covers. $correlationId and $causationId
// repeat the metadata's for EventStoreDB's projections and UI.
type envelope struct {
	SchemaVersion int             `json:"schemaVersion"`
	Metadata      json.RawMessage `json:"metadata"`
	PrevHash      []byte          `json:"prevHash,omitempty"`
	Hash          []byte          `json:"hash"`
	CorrelationID string          `json:"$correlationId,omitempty"`
	CausationID   string          `json:"$causationId,omitempty"`
}

// encode chains the hashes of events from prev, the hash of the event at
// revision first-1 (empty when first is 0), and returns what to send.
func encode(stream string, first uint64, prev []byte, events []eventstore.EventData) ([]esdb.EventData, error) {
	out := make([]esdb.EventData, len(events))
	for i, e := range events {
		meta, err := eventstore.CanonicalMetadata(e.Metadata)
		if err != nil {
			return nil, err
		}
		hash := eventstore.ComputeHash(prev, stream, first+uint64(i), e.Type, e.SchemaVersion, e.Data, meta)
		custom, err := json.Marshal(envelope{
			SchemaVersion: e.SchemaVersion,
			Metadata:      meta,
			PrevHash:      prev,
			Hash:          hash,
			CorrelationID: e.Metadata.CorrelationID,
			CausationID:   e.Metadata.CausationID,
		})
		if err != nil {
			return nil, err
		}
		out[i] = esdb.EventData{
			EventID:     e.ID,
			EventType:   e.Type,
			ContentType: esdb.ContentTypeJson,
			Data:        e.Data,
			Metadata:    custom,
		}
		prev = hash
	}
	return out, nil
}

// decode turns a recorded event into the port's. An event written by
// someone else (no envelope, or a damaged one) comes back without schema
// version or hashes, so Verify reports it instead of reads failing.
func decode(r *esdb.RecordedEvent) eventstore.Event {
	e := eventstore.Event{
		ID:         r.EventID,
		Stream:     r.StreamID,
		Type:       r.EventType,
		Data:       json.RawMessage(r.Data),
		Revision:   r.EventNumber,
		Position:   toPosition(r.Position),
		RecordedAt: r.CreatedDate,
	}
	var env envelope
	if len(r.UserMetadata) > 0 && json.Unmarshal(r.UserMetadata, &env) == nil {
		e.SchemaVersion = env.SchemaVersion
		e.PrevHash = env.PrevHash
		e.Hash = env.Hash
		if len(env.Metadata) > 0 {
			var m eventstore.Metadata
			if json.Unmarshal(env.Metadata, &m) == nil {
				e.Metadata = m
			}
		}
	}
	return e
}

// isSystem reports whether an event of $all belongs to the server: a
// $-prefixed stream or type. The port refuses both on append.
func isSystem(r *esdb.RecordedEvent) bool {
	return strings.HasPrefix(r.StreamID, "$") || strings.HasPrefix(r.EventType, "$")
}

// original returns the recorded event of a resolved one (links are not
// resolved by the adapter, so this is the event as stored).
func original(r *esdb.ResolvedEvent) *esdb.RecordedEvent {
	if r == nil {
		return nil
	}
	return r.OriginalEvent()
}
