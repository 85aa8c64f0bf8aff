package mailer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"redengine/errs"
	"redengine/eventstore"
)

// Claimer decides which of several mailers sharing one event store (engine
// nodes) makes an attempt, so that two nodes do not hand the same email to
// SMTP at once. Claim reports whether this mailer may make attempt number
// attempt of the email now. A mailer without a Claimer (one node) attempts
// every due email.
type Claimer interface {
	Claim(ctx context.Context, emailID string, attempt int, now time.Time) (bool, error)
}

// TypeEmailAttemptClaimed is the type of the claim events StoreClaimer
// appends to the stream ClaimCategory-<emailId>.
const TypeEmailAttemptClaimed = "EmailAttemptClaimed"

// ClaimCategory is the stream category of claims.
const ClaimCategory = "emailclaim"

// DefaultLease is how long a claim holds by default: longer than a send and
// its record take.
const DefaultLease = 2 * time.Minute

type attemptClaimed struct {
	EmailID string    `json:"emailId"`
	Attempt int       `json:"attempt"`
	Node    string    `json:"node"`
	At      time.Time `json:"at"`
	Until   time.Time `json:"until"`
}

// StoreClaimer claims attempts through the event store's optimistic
// concurrency: a claim is an EmailAttemptClaimed event appended to
// emailclaim-<emailId> at the revision just read, so of two nodes racing for
// the same attempt exactly one append succeeds. A claim lasts a lease; a node
// that died holding one delays that email until the lease ends, when another
// node (or the same node, restarted, at once: same node name) claims it.
type StoreClaimer struct {
	store eventstore.Store
	node  string
	lease time.Duration
}

// NewStoreClaimer returns a claimer for the node with the given name (stable
// across restarts of that node); lease <= 0 means DefaultLease.
func NewStoreClaimer(store eventstore.Store, node string, lease time.Duration) *StoreClaimer {
	if lease <= 0 {
		lease = DefaultLease
	}
	return &StoreClaimer{store: store, node: node, lease: lease}
}

// Claim appends a claim for the attempt unless another node holds an
// unexpired claim on it or a later attempt was claimed.
func (c *StoreClaimer) Claim(ctx context.Context, emailID string, attempt int, now time.Time) (bool, error) {
	const op = errs.Op("mailer.StoreClaimer.Claim")
	stream := ClaimCategory + "-" + emailID
	expected := eventstore.NoStream
	last, err := c.store.ReadStream(ctx, stream, eventstore.StreamEnd, eventstore.Backward, 1)
	var nf *eventstore.StreamNotFoundError
	switch {
	case errors.As(err, &nf):
	case err != nil:
		return false, errs.E(op, err)
	case len(last) == 1:
		var held attemptClaimed
		if err := json.Unmarshal(last[0].Data, &held); err != nil {
			return false, errs.E(op, errs.Internal, fmt.Sprintf("%s@%d: JSON no válido", stream, last[0].Revision), err)
		}
		if held.Attempt > attempt || (held.Attempt == attempt && held.Node != c.node && now.Before(held.Until)) {
			return false, nil
		}
		expected = eventstore.Revision(last[0].Revision)
	}
	data, err := json.Marshal(attemptClaimed{EmailID: emailID, Attempt: attempt, Node: c.node, At: now.UTC(), Until: now.Add(c.lease).UTC()})
	if err != nil {
		return false, errs.E(op, errs.Internal, err)
	}
	_, err = c.store.Append(ctx, stream, expected, eventstore.EventData{
		ID: uuid.New(), Type: TypeEmailAttemptClaimed, SchemaVersion: 1, Data: data, Marshaled: true,
		Metadata: eventstore.Metadata{Actor: eventstore.Actor{ID: c.node, Role: "system"}, OccurredAt: now},
	})
	var wrong *eventstore.WrongExpectedVersionError
	if errors.As(err, &wrong) {
		return false, nil
	}
	if err != nil {
		return false, errs.E(op, err)
	}
	return true, nil
}
