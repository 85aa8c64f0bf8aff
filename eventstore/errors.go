package eventstore

import (
	"fmt"

	"redengine/errs"
)

// WrongExpectedVersionError is returned by Append when the stream is not at
// the expected revision. Current is the stream's last revision, -1 when the
// stream does not exist.
type WrongExpectedVersionError struct {
	Stream   string
	Expected ExpectedRevision
	Current  int64
}

func (e *WrongExpectedVersionError) Error() string {
	cur := "no stream"
	if e.Current >= 0 {
		cur = fmt.Sprintf("revision %d", e.Current)
	}
	return fmt.Sprintf("stream %q: expected %s, found %s", e.Stream, e.Expected, cur)
}

// ErrKind classifies the error as a conflict.
func (e *WrongExpectedVersionError) ErrKind() errs.Kind { return errs.Conflict }

// StreamNotFoundError is returned by ReadStream for a stream with no events.
type StreamNotFoundError struct {
	Stream string
}

func (e *StreamNotFoundError) Error() string { return fmt.Sprintf("stream %q not found", e.Stream) }

// ErrKind classifies the error as not found.
func (e *StreamNotFoundError) ErrKind() errs.Kind { return errs.NotFound }
