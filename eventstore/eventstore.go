// Package eventstore is the engine's port to its event log: append with an
// expected revision, read a stream, read and subscribe to the global log. The
// adapters live in subpackages (sqlite, esdb) and all pass the contract suite
// in eventstore/storetest.
package eventstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Limits of the port, enforced by every adapter through ValidateAppend.
const (
	// MaxStreamNameLen is the longest stream name accepted, in bytes.
	MaxStreamNameLen = 256
	// MaxEventSize is the largest event accepted (data plus metadata), in bytes.
	MaxEventSize = 1 << 20
	// MaxTypeLen is the longest event type accepted, in bytes.
	MaxTypeLen = 128
)

// StreamEnd, as the from revision of a backward read, starts at the last event.
const StreamEnd = ^uint64(0)

// Actor is who caused an event.
type Actor struct {
	ID            string `json:"id"`
	Role          string `json:"role"`
	Authorization string `json:"authorization,omitempty"`
}

// Metadata travels with every event and is covered by its hash.
type Metadata struct {
	CorrelationID string    `json:"correlationId,omitempty"`
	CausationID   string    `json:"causationId,omitempty"`
	CommandID     string    `json:"commandId,omitempty"`
	Actor         Actor     `json:"actor"`
	OccurredAt    time.Time `json:"occurredAt"`
}

// EventData is an event proposed for appending.
type EventData struct {
	ID            uuid.UUID
	Type          string
	SchemaVersion int
	Data          json.RawMessage
	Metadata      Metadata
	// Marshaled says Data is the output of a JSON encoder that refuses to
	// write invalid JSON, as encoding/json's Marshal and go-json's (that of
	// commands.Codec.Encode) do: valid JSON by construction, so an append
	// does not check it again. It is the caller's promise; data from
	// anywhere else leaves it false, and the store refuses invalid JSON.
	Marshaled bool
}

// Event is a recorded event: the envelope of the log.
type Event struct {
	ID            uuid.UUID
	Stream        string
	Type          string
	SchemaVersion int
	Data          json.RawMessage
	Metadata      Metadata
	Revision      uint64    // 0-based position within the stream
	Position      Position  // position in the global log
	RecordedAt    time.Time // when the store recorded it
	PrevHash      []byte    // hash of the previous event of the stream; empty for revision 0
	Hash          []byte    // SHA-256 of the event, see ComputeHash
}

// Position is a place in the global log. It is opaque to callers: compare
// positions with Less, store them with String and ParsePosition. The zero
// Position is the start of the log, before any event.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// Less reports whether p comes before q.
func (p Position) Less(q Position) bool {
	if p.Commit != q.Commit {
		return p.Commit < q.Commit
	}
	return p.Prepare < q.Prepare
}

// IsZero reports whether p is the start of the log.
func (p Position) IsZero() bool { return p == Position{} }

// String renders the position as "C" when commit and prepare agree (always on
// the SQLite store) and "C:P" otherwise.
func (p Position) String() string {
	if p.Commit == p.Prepare {
		return strconv.FormatUint(p.Commit, 10)
	}
	return strconv.FormatUint(p.Commit, 10) + ":" + strconv.FormatUint(p.Prepare, 10)
}

// ParsePosition reads a position written by Position.String.
func ParsePosition(s string) (Position, error) {
	c, pr, two := strings.Cut(s, ":")
	commit, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("position %q: %w", s, err)
	}
	if !two {
		return Position{commit, commit}, nil
	}
	prepare, err := strconv.ParseUint(pr, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("position %q: %w", s, err)
	}
	return Position{commit, prepare}, nil
}

// ExpectedRevision is the optimistic-concurrency condition of an append.
type ExpectedRevision struct {
	kind expectKind
	rev  uint64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectRevision
)

// The expected-revision conditions.
var (
	Any          = ExpectedRevision{kind: expectAny}          // no check
	NoStream     = ExpectedRevision{kind: expectNoStream}     // the stream must not exist
	StreamExists = ExpectedRevision{kind: expectStreamExists} // the stream must exist
)

// Revision expects the stream's last event to be at revision n.
func Revision(n uint64) ExpectedRevision { return ExpectedRevision{kind: expectRevision, rev: n} }

// IsAny, IsNoStream and IsStreamExists report the condition's kind.
func (e ExpectedRevision) IsAny() bool { return e.kind == expectAny }

// IsNoStream reports whether the stream is expected not to exist.
func (e ExpectedRevision) IsNoStream() bool { return e.kind == expectNoStream }

// IsStreamExists reports whether the stream is expected to exist.
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectStreamExists }

// Revision returns the expected revision and whether the condition is one.
func (e ExpectedRevision) Revision() (uint64, bool) { return e.rev, e.kind == expectRevision }

// Matches reports whether a stream whose last revision is current (-1: no
// stream) satisfies the condition.
func (e ExpectedRevision) Matches(current int64) bool {
	switch e.kind {
	case expectNoStream:
		return current < 0
	case expectStreamExists:
		return current >= 0
	case expectRevision:
		return current >= 0 && uint64(current) == e.rev
	}
	return true
}

func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectNoStream:
		return "no_stream"
	case expectStreamExists:
		return "stream_exists"
	case expectRevision:
		return strconv.FormatUint(e.rev, 10)
	}
	return "any"
}

// AppendResult tells where an append landed: the revision and global
// position of the last event written (or, for an idempotent re-append, of
// the last event of the original append).
type AppendResult struct {
	NextRevision uint64
	Position     Position
	// Events are the events as recorded, exactly as a read would return
	// them, when the adapter knows them without reading (the SQLite adapter
	// does, for appends of up to 64 events); nil for a re-append, which
	// wrote nothing, and from adapters that do not know every event's
	// position (read them back instead).
	// Their Data share memory with the appended EventData.
	Events []Event
	// Mark is the moment right after this append, for a store that tracks
	// changes (see Changes): Unchanged(stream, Mark) holds until the
	// stream's next append. The zero Mark from other stores.
	Mark Mark
}

// Mark is a moment in a store's history, as a store that tracks changes
// (Changes) takes it. Its fields mean something only to that store.
type Mark struct{ Local, Shared uint64 }

// IsZero reports whether m is the zero Mark (no moment).
func (m Mark) IsZero() bool { return m == Mark{} }

// Changes is implemented by a store that can tell, without reading, that a
// stream has had no append since a moment: a cache of a stream read after
// Mark may be used as it is while Unchanged holds, and read again once it
// does not. Unchanged may answer false when unsure (it then costs only a
// read); it never answers true for a stream that an acknowledged append
// changed after the moment.
type Changes interface {
	// Mark returns the moment now; take it before the read it will vouch for.
	Mark() Mark
	// Unchanged reports whether no append to stream has been acknowledged,
	// by this process or another, since m.
	Unchanged(stream string, m Mark) bool
}

// Direction of a stream read.
type Direction uint8

// Read directions.
const (
	Forward Direction = iota
	Backward
)

// Filter selects events of a subscription. The zero Filter passes every
// non-system event. A prefix list that is not empty must match.
type Filter struct {
	StreamPrefixes []string
	TypePrefixes   []string
}

// Match reports whether e passes the filter.
func (f Filter) Match(e *Event) bool {
	return matchAny(f.StreamPrefixes, e.Stream) && matchAny(f.TypePrefixes, e.Type)
}

func matchAny(prefixes []string, s string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Subscription delivers events of the global log in order: first those
// already stored after the starting position (catch-up), then new ones as they
// are appended (live). The consumer's checkpoint is the Position of the last
// event it handled; subscribing again from it gives no gap and no duplicate.
type Subscription interface {
	// Next blocks until the next event, ctx ends, or the subscription fails.
	Next(ctx context.Context) (Event, error)
	// Close ends the subscription; a blocked Next returns.
	Close() error
}

// Provisional is a Store that can answer an append at its commit, before
// the append is durable (the embedded SQLite store).
type Provisional interface {
	// AppendProvisional is Append answered as soon as the events are in
	// the log — read by ReadStream and counted by later appends' expected
	// revisions — but before they are durable. They become durable with
	// the next durable append of any stream, which lands after them; a
	// crash before that may lose them, and with them only appends nobody
	// has been answered for. Subscribers get them once durable. Meant for
	// an append nobody is told of until a durable one that depends on it
	// is acknowledged (a case number, reserved for the opening appended
	// next): the pair then costs one wait for the disk.
	AppendProvisional(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error)
}

// AppendProvisional appends with s's AppendProvisional where s is a
// Provisional, and with its Append (durable) otherwise.
func AppendProvisional(ctx context.Context, s Store, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error) {
	if p, ok := s.(Provisional); ok {
		return p.AppendProvisional(ctx, stream, expected, events...)
	}
	return s.Append(ctx, stream, expected, events...)
}

// Store is the port every adapter implements.
type Store interface {
	// Append writes events to stream atomically if expected holds, and
	// returns where the last one landed. A mismatch is a
	// *WrongExpectedVersionError. Appending the same event IDs again at the
	// same expected revision succeeds and writes nothing. Invalid input is an
	// errs.Invalid error and writes nothing. The events are durable when
	// Append returns.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error)

	// ReadStream reads up to limit events (limit <= 0: all) of stream starting
	// at revision from (included) in the given direction. A missing stream is
	// a *StreamNotFoundError.
	ReadStream(ctx context.Context, stream string, from uint64, dir Direction, limit int) ([]Event, error)

	// ReadAll reads up to limit events (limit <= 0: all) of the global log
	// after position from (excluded; the zero Position reads from the start),
	// in order. System events are skipped.
	ReadAll(ctx context.Context, from Position, limit int) ([]Event, error)

	// Subscribe starts a catch-up subscription after position from (excluded),
	// delivering events that pass filter.
	Subscribe(ctx context.Context, from Position, filter Filter) (Subscription, error)

	// Head returns the position of the last event of the global log (the zero
	// Position when it is empty). Used to measure subscription lag.
	Head(ctx context.Context) (Position, error)

	// Close releases the store's resources.
	Close() error
}
