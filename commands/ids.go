package commands

import (
	"strconv"

	"github.com/google/uuid"
)

// Namespace is the UUIDv5 namespace of every name-derived identifier of the
// engine (command IDs from idempotency keys, aggregate IDs, event IDs are
// derived from the command ID itself).
var Namespace = uuid.MustParse("6f0f3e0c-3c1a-5b7e-9d55-7265646e6731")

// NewCommandID returns a fresh command ID for a request that carries no
// idempotency key. It is a UUIDv7, so IDs sort by creation time in logs.
func NewCommandID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// IDFromKey derives the command ID of a request from its Idempotency-Key.
// scope must say who asks and for what (the actor's subject and the route,
// e.g. "user-17 POST /v1/cases"), so two users, or two routes, that happen to
// use the same key never share a command ID.
func IDFromKey(scope, key string) uuid.UUID {
	return uuid.NewSHA1(Namespace, []byte("command\x00"+scope+"\x00"+key))
}

// DeriveID derives the ID of an aggregate created by a command from the
// command ID, so that a repeated creating command lands on the same stream
// and is recognised as a repeat there.
func DeriveID(commandID uuid.UUID, category string) string {
	return uuid.NewSHA1(commandID, []byte("aggregate\x00"+category)).String()
}

// EventID derives the ID of the index-th event (0-based) that a command
// appends to stream: UUIDv5 of the command ID over the stream name and the
// index. The same command deciding the same events always proposes the same
// IDs, which is what makes the store's append idempotent for retries.
// Including the stream keeps IDs unique if one command writes two streams.
func EventID(commandID uuid.UUID, stream string, index int) uuid.UUID {
	return uuid.NewSHA1(commandID, []byte("event\x00"+stream+"\x00"+strconv.Itoa(index)))
}
