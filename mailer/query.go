package mailer

import (
	"context"
	"database/sql"
	"time"

	"redengine/errs"
)

// Email is one row of the outbox, as queries see it. It carries the
// recipient address: personal data, never to be logged.
type Email struct {
	EmailID       string     `json:"emailId"`
	Stream        string     `json:"stream"`
	Template      string     `json:"template"`
	To            string     `json:"to,omitempty"`
	Subject       string     `json:"subject,omitempty"`
	State         string     `json:"state"` // requested, sent, failed, skipped
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"lastError,omitempty"`
	SkipReason    string     `json:"skipReason,omitempty"`
	RequestedAt   time.Time  `json:"requestedAt"`
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	SentAt        *time.Time `json:"sentAt,omitempty"`
	UpdatedAt     time.Time  `json:"updatedAt"`
}

const emailColumns = `email_id, stream, template, to_addr, subject, state, attempts, last_error, skip_reason,
	requested_at, next_attempt_at, sent_at, updated_at`

func scanEmail(sc interface{ Scan(...any) error }) (Email, error) {
	var e Email
	var requested, updated string
	var next, sent sql.NullString
	if err := sc.Scan(&e.EmailID, &e.Stream, &e.Template, &e.To, &e.Subject, &e.State, &e.Attempts, &e.LastError,
		&e.SkipReason, &requested, &next, &sent, &updated); err != nil {
		return Email{}, err
	}
	var err error
	if e.RequestedAt, err = parseTime(requested); err != nil {
		return Email{}, err
	}
	if e.UpdatedAt, err = parseTime(updated); err != nil {
		return Email{}, err
	}
	for _, x := range []struct {
		in  sql.NullString
		out **time.Time
	}{{next, &e.NextAttemptAt}, {sent, &e.SentAt}} {
		if x.in.Valid {
			t, err := parseTime(x.in.String)
			if err != nil {
				return Email{}, err
			}
			*x.out = &t
		}
	}
	return e, nil
}

// Emails returns the emails requested (or skipped) by one stream, in the
// order of the log: the email part of an aggregate's trail.
func Emails(ctx context.Context, db *sql.DB, stream string) ([]Email, error) {
	const op = errs.Op("mailer.Emails")
	rows, err := db.QueryContext(ctx, `SELECT `+emailColumns+` FROM `+TableName+` WHERE stream = ? ORDER BY requested_at, rowid`, stream)
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	defer rows.Close()
	out := []Email{}
	for rows.Next() {
		e, err := scanEmail(rows)
		if err != nil {
			return nil, errs.E(op, errs.Internal, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	return out, nil
}

// Lookup returns one email of the outbox; errs.NotFound when unknown.
func Lookup(ctx context.Context, db *sql.DB, emailID string) (Email, error) {
	const op = errs.Op("mailer.Lookup")
	e, err := scanEmail(db.QueryRowContext(ctx, `SELECT `+emailColumns+` FROM `+TableName+` WHERE email_id = ?`, emailID))
	if err == sql.ErrNoRows {
		return Email{}, errs.E(op, errs.NotFound, "el correo no existe")
	}
	if err != nil {
		return Email{}, errs.E(op, errs.Unavailable, err)
	}
	return e, nil
}

// Stats counts the outbox's emails by state, for metrics gauges.
type Stats struct {
	Requested, Sent, Failed, Skipped int
	// OldestPending is the requested time of the oldest email still pending
	// (zero when none): how late mail is.
	OldestPending time.Time
}

// ReadStats counts the outbox's emails by state.
func ReadStats(ctx context.Context, db *sql.DB) (Stats, error) {
	const op = errs.Op("mailer.ReadStats")
	rows, err := db.QueryContext(ctx, `SELECT state, count(*) FROM `+TableName+` GROUP BY state`)
	if err != nil {
		return Stats{}, errs.E(op, errs.Unavailable, err)
	}
	defer rows.Close()
	var s Stats
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return Stats{}, errs.E(op, errs.Unavailable, err)
		}
		switch state {
		case StateRequested:
			s.Requested = n
		case StateSent:
			s.Sent = n
		case StateFailed:
			s.Failed = n
		case StateSkipped:
			s.Skipped = n
		}
	}
	if err := rows.Err(); err != nil {
		return Stats{}, errs.E(op, errs.Unavailable, err)
	}
	var oldest sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT min(requested_at) FROM `+TableName+` WHERE state = ?`, StateRequested).Scan(&oldest); err != nil {
		return Stats{}, errs.E(op, errs.Unavailable, err)
	}
	if oldest.Valid {
		if s.OldestPending, err = parseTime(oldest.String); err != nil {
			return Stats{}, errs.E(op, errs.Internal, err)
		}
	}
	return s, nil
}
