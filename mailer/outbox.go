package mailer

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"redengine/domain/email"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/projections"
)

// The event types the mailer reads. Every aggregate that sends email records
// them in its own stream with these names and the JSON shapes below (see
// domain/cases and domain/nss).
const (
	TypeEmailRequested = email.TypeRequested
	TypeEmailSkipped   = email.TypeSkipped
	TypeEmailSent      = email.TypeSent
	TypeEmailFailed    = email.TypeFailed
)

// ProjectionName is the name (and checkpoint key) of the outbox projection.
const ProjectionName = "email_outbox"

// TableName is the live name of the outbox table.
const TableName = "email_outbox"

// The states of an email in the outbox.
const (
	StateRequested = "requested" // waiting for its first or next attempt
	StateSent      = "sent"      // delivered to the SMTP server
	StateFailed    = "failed"    // given up after the last attempt
	StateSkipped   = "skipped"   // never requested: no contact address
)

// The JSON shapes of the email events (the same in every aggregate).
type (
	emailRequested = email.Requested
	emailSkipped   = email.Skipped
	emailSent      = email.Sent
	emailFailed    = email.Failed
)

// timeLayout stores instants as fixed-width UTC text, so that they sort as
// text in the order of time (RFC 3339 with trimmed fractions does not).
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeLayout, s) }

// Outbox is the projection of every email of every stream: one row per email
// ID with its content, state, attempts, last error and, while it is pending,
// the instant of its next attempt. The retry schedule (Backoff) is applied
// here, from the instant of each EmailFailed event, so the model is a pure
// function of the log and a rebuild gives the same rows.
type Outbox struct{}

// NewOutbox returns the outbox projection.
func NewOutbox() *Outbox { return &Outbox{} }

// Name returns ProjectionName.
func (*Outbox) Name() string { return ProjectionName }

// Version is bumped whenever Apply or the Backoff schedule changes, so the
// model is rebuilt from the log.
func (*Outbox) Version() int { return 1 }

// Filter passes only the email events.
func (*Outbox) Filter() eventstore.Filter {
	return eventstore.Filter{TypePrefixes: []string{TypeEmailRequested, TypeEmailSkipped, TypeEmailSent, TypeEmailFailed}}
}

// Tables returns the outbox table.
func (*Outbox) Tables() []projections.Table {
	return []projections.Table{{
		Name: TableName,
		Create: func(t string) string {
			return `CREATE TABLE ` + t + ` (
				email_id        TEXT PRIMARY KEY,
				stream          TEXT NOT NULL,
				template        TEXT NOT NULL,
				to_addr         TEXT NOT NULL,
				subject         TEXT NOT NULL,
				body            TEXT NOT NULL,
				requested_at    TEXT NOT NULL,
				state           TEXT NOT NULL,
				attempts        INTEGER NOT NULL,
				last_error      TEXT NOT NULL,
				skip_reason     TEXT NOT NULL,
				next_attempt_at TEXT,
				sent_at         TEXT,
				updated_at      TEXT NOT NULL,
				position        TEXT NOT NULL
			)`
		},
		Indexes: func(t string) []string {
			return []string{
				`CREATE INDEX ` + t + `_by_due ON ` + t + ` (state, next_attempt_at)`,
				`CREATE INDEX ` + t + `_by_stream ON ` + t + ` (stream, requested_at)`,
			}
		},
	}}
}

// Apply folds one email event into the outbox.
func (o *Outbox) Apply(ctx context.Context, tx *sql.Tx, tables projections.TableNames, e eventstore.Event) error {
	const op = errs.Op("mailer.Outbox.Apply")
	t := tables[TableName]
	at := func(ev time.Time) string {
		if ev.IsZero() {
			ev = e.Metadata.OccurredAt
		}
		return formatTime(ev)
	}
	var err error
	switch e.Type {
	case TypeEmailRequested:
		var ev emailRequested
		if err := decode(e, &ev); err != nil {
			return errs.E(op, err)
		}
		when := at(ev.At)
		_, err = projections.Exec(ctx, tx, `INSERT INTO `+t+` (email_id, stream, template, to_addr, subject, body,
			requested_at, state, attempts, last_error, skip_reason, next_attempt_at, sent_at, updated_at, position)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, '', '', ?, NULL, ?, ?) ON CONFLICT (email_id) DO NOTHING`,
			ev.EmailID, e.Stream, ev.Template, ev.To, ev.Subject, ev.Body, when, StateRequested, when, when, e.Position.String())
	case TypeEmailSkipped:
		var ev emailSkipped
		if err := decode(e, &ev); err != nil {
			return errs.E(op, err)
		}
		when := at(ev.At)
		_, err = projections.Exec(ctx, tx, `INSERT INTO `+t+` (email_id, stream, template, to_addr, subject, body,
			requested_at, state, attempts, last_error, skip_reason, next_attempt_at, sent_at, updated_at, position)
			VALUES (?, ?, ?, '', '', '', ?, ?, 0, '', ?, NULL, NULL, ?, ?) ON CONFLICT (email_id) DO NOTHING`,
			ev.EmailID, e.Stream, ev.Template, when, StateSkipped, ev.Reason, when, e.Position.String())
	case TypeEmailSent:
		var ev emailSent
		if err := decode(e, &ev); err != nil {
			return errs.E(op, err)
		}
		when := at(ev.At)
		_, err = projections.Exec(ctx, tx, `UPDATE `+t+` SET state = ?, attempts = max(attempts, ?), next_attempt_at = NULL,
			sent_at = ?, updated_at = ? WHERE email_id = ? AND state = ?`,
			StateSent, ev.Attempt, when, when, ev.EmailID, StateRequested)
	case TypeEmailFailed:
		var ev emailFailed
		if err := decode(e, &ev); err != nil {
			return errs.E(op, err)
		}
		failedAt := ev.At
		if failedAt.IsZero() {
			failedAt = e.Metadata.OccurredAt
		}
		state, next := StateRequested, sql.NullString{String: formatTime(failedAt.Add(Backoff(ev.Attempt))), Valid: true}
		if ev.Final {
			state, next = StateFailed, sql.NullString{}
		}
		_, err = projections.Exec(ctx, tx, `UPDATE `+t+` SET state = ?, attempts = max(attempts, ?), last_error = ?,
			next_attempt_at = ?, updated_at = ? WHERE email_id = ? AND state = ?`,
			state, ev.Attempt, ev.Error, next, formatTime(failedAt), ev.EmailID, StateRequested)
	}
	if err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	return nil
}

func decode(e eventstore.Event, v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return errs.E(errs.Internal, fmt.Sprintf("%s %s@%d: JSON no válido", e.Type, e.Stream, e.Revision), err)
	}
	return nil
}

// backoffSchedule is the pause after the n-th failed attempt (index n-1);
// later attempts use the last entry.
var backoffSchedule = [...]time.Duration{
	30 * time.Second,
	time.Minute,
	2 * time.Minute,
	5 * time.Minute,
	15 * time.Minute,
	30 * time.Minute,
	time.Hour,
	2 * time.Hour,
	4 * time.Hour,
	8 * time.Hour,
	12 * time.Hour,
}

// Backoff returns how long after the n-th failed attempt (n >= 1) the next
// one is due: 30s, 1m, 2m, 5m, 15m, 30m, 1h, 2h, 4h, 8h, then every 12h. It
// is deterministic (no jitter): the outbox derives next_attempt_at from the
// EmailFailed event's instant, and a rebuild must give the same rows.
func Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > len(backoffSchedule) {
		n = len(backoffSchedule)
	}
	return backoffSchedule[n-1]
}
