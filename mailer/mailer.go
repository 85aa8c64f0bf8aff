// Package mailer delivers the emails that aggregates record as events.
//
// Emails are events first: an aggregate appends EmailRequested (or
// EmailSkipped when there is no contact address) to its own stream; the
// Outbox projection keeps one row per email; the Mailer picks the emails that
// are due, hands them to a Sender (SMTP) and records each attempt's outcome
// back in the owning stream through a Recorder (EmailSent, or EmailFailed
// with the attempt number and, after the last attempt, final). A failed
// attempt schedules the next one with Backoff, so a mail server that is down
// delays mail and loses none.
//
// Delivery is at least once: a crash after the SMTP server accepted a message
// and before its EmailSent is recorded sends it again on restart. Every copy
// carries the same Message-ID (<emailId@redengine>), so a receiving system
// that deduplicates by Message-ID keeps one. See docs/email.md.
package mailer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/projections"
)

// MessageIDDomain is the right-hand side of every Message-ID the mailer sets.
const MessageIDDomain = "redengine"

// MessageID returns the Message-ID (without angle brackets) of the email
// with the given ID: the same for every attempt, so resends are recognisable.
func MessageID(emailID string) string { return emailID + "@" + MessageIDDomain }

// Message is one email to deliver.
type Message struct {
	EmailID string
	To      string
	Subject string
	Body    string    // plain text, UTF-8, Spanish
	Date    time.Time // the Date header: the engine clock's now at the attempt
}

// Sender hands a message to the mail system. A nil error means the server
// accepted it.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Outcome is the result of one delivery attempt, recorded in the email's
// stream as EmailSent (Sent) or EmailFailed.
type Outcome struct {
	EmailID string
	Attempt int    // 1 for the first attempt
	Sent    bool   // the server accepted the message
	Error   string // why the attempt failed (no personal data)
	Final   bool   // the last attempt failed: the mailer gives up
}

// CommandID is the deterministic ID of the command that records the outcome
// of an attempt: a UUIDv5 of the email ID and the attempt number. Recording
// the same attempt twice (a retry, a second node) appends nothing the second
// time, whatever its outcome: the first record of an attempt wins.
func (o Outcome) CommandID() uuid.UUID {
	return uuid.NewSHA1(commands.Namespace, []byte("email-outcome\x00"+o.EmailID+"\x00"+strconv.Itoa(o.Attempt)))
}

// Recorder records an attempt's outcome in the stream that requested the
// email (through the owning aggregate's RecordEmailOutcome command, with
// Outcome.CommandID as the command ID and a "system" actor). It returns the
// global position of what it wrote (or of the first record, for a repeat),
// so the mailer can wait for the outbox to reflect it before the next pass.
type Recorder interface {
	Record(ctx context.Context, stream string, o Outcome) (eventstore.Position, error)
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(ctx context.Context, stream string, o Outcome) (eventstore.Position, error)

// Record calls f.
func (f RecorderFunc) Record(ctx context.Context, stream string, o Outcome) (eventstore.Position, error) {
	return f(ctx, stream, o)
}

// ByCategory routes each outcome to the Recorder of its stream's category
// (the part of the stream name before the first "-": "case-…" → "case").
type ByCategory map[string]Recorder

// Record calls the recorder of the stream's category; an unknown category is
// an errs.Internal error.
func (m ByCategory) Record(ctx context.Context, stream string, o Outcome) (eventstore.Position, error) {
	cat, _, _ := strings.Cut(stream, "-")
	r, ok := m[cat]
	if !ok {
		return eventstore.Position{}, errs.E(errs.Op("mailer.ByCategory"), errs.Internal,
			fmt.Sprintf("no hay quien registre el resultado de los correos de la categoría %q", cat))
	}
	return r.Record(ctx, stream, o)
}

// Progress lets the mailer wait until the outbox projection has applied the
// log up to a position. *projections.Runner implements it.
type Progress interface {
	WaitFor(ctx context.Context, name string, pos eventstore.Position) error
}

// Attempt describes one delivery attempt, for metrics.
type Attempt struct {
	EmailID  string
	Template string
	Attempt  int
	Sent     bool
	Final    bool
	Duration time.Duration // time spent in the Sender (wall clock)
}

// Options tune a Mailer. The zero value is usable.
type Options struct {
	// MaxAttempts is how many attempts an email gets; the failure of the
	// last one is recorded as final (default DefaultMaxAttempts).
	MaxAttempts int
	// BatchSize is the most emails one pass attempts (default 100); the rest
	// wait for the next pass, which Run starts at once.
	BatchSize int
	// PollInterval is how often, in real time, Run looks for emails that
	// became due (backoff expired, manual clock moved) when nothing else
	// wakes it (default 1s). Whether an email is due is decided by the
	// injected clock, never by this timer.
	PollInterval time.Duration
	// SendTimeout bounds one Sender call (default 30s).
	SendTimeout time.Duration
	// Logger receives failures; it never gets addresses, subjects or bodies
	// (default slog.Default()).
	Logger *slog.Logger
	// Head, when set, returns the position of the end of the log (the
	// store's Head). The first pass then waits until the outbox has caught
	// up with the log as it was at start, so that after a restart nothing
	// is sent again whose outcome is in the log but not yet in the outbox.
	Head func(context.Context) (eventstore.Position, error)
	// Claimer, when set, must grant each attempt before it is made: with
	// several nodes on one event store, a StoreClaimer lets one node send
	// each attempt. Nil: this mailer attempts every due email (one node).
	Claimer Claimer
	// OnAttempt, when set, is called after each attempt is recorded
	// (metrics: sent/failed/final counters, send latency).
	OnAttempt func(Attempt)
}

// recordTimeout bounds recording one outcome after a send.
const recordTimeout = 10 * time.Second

// minPassGap is the least time between two passes that the outbox's
// progress triggers, so a busy log (every committed batch moves the
// checkpoint) does not turn into a query per batch.
const minPassGap = 100 * time.Millisecond

// DefaultMaxAttempts is the number of attempts before an email is given up:
// with Backoff, the last comes about 3 days and 4 hours after the first.
const DefaultMaxAttempts = 16

// Pass is what one delivery pass did.
type Pass struct {
	Due       int // emails found due (and not waiting for a pending record)
	Held      int // due, but claimed by another node (or the claim failed)
	Attempted int // handed to the Sender
	Sent      int // accepted by the server and recorded as sent
	Failed    int // failed and recorded (including Final)
	Final     int // failed for the last time
	Recorded  int // outcomes recorded (including ones left from earlier passes)
	Pending   int // outcomes not yet recorded (the recorder failed), retried next pass
}

// Mailer is the delivery loop. It is safe for concurrent use; passes are
// serialised.
type Mailer struct {
	db       *sql.DB
	progress Progress
	sender   Sender
	recorder Recorder
	clock    clock.Clock
	opts     Options
	log      *slog.Logger

	wake chan struct{}

	passMu  sync.Mutex
	started bool                  // the first pass has read the head
	lastPos eventstore.Position   // the outbox must reach it before a pass
	pending map[string]unrecorded // email ID → outcome sent to the recorder in vain
	stuck   map[string]bool       // email IDs whose outcome the recorder refuses for good
}

type unrecorded struct {
	stream   string
	template string
	outcome  Outcome
	took     time.Duration
}

// New returns a mailer that reads the outbox table in db (the read-model
// database the Outbox projection writes, run by progress), sends through
// sender, records outcomes through recorder and tells time by clk.
func New(db *sql.DB, progress Progress, sender Sender, recorder Recorder, clk clock.Clock, opts Options) *Mailer {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &Mailer{
		db: db, progress: progress, sender: sender, recorder: recorder, clock: clk, opts: opts, log: opts.Logger,
		wake: make(chan struct{}, 1), pending: map[string]unrecorded{}, stuck: map[string]bool{},
	}
}

// Notify wakes Run for a pass now (e.g. after the manual clock moved). It
// never blocks.
func (m *Mailer) Notify() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: a pass at start, then one whenever the outbox
// projection moves (a new request), Notify is called, or PollInterval
// passes; a full batch is followed by another pass at once. Failures are
// logged and retried; Run returns nil when ctx ends.
func (m *Mailer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.watch(ctx)
	}()
	defer wg.Wait()
	tick := time.NewTicker(m.opts.PollInterval)
	defer tick.Stop()
	for {
		p, err := m.Tick(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			m.log.Warn("mailer pass failed; retrying", "error", redact(err.Error()))
		}
		if err == nil && p.Attempted >= m.opts.BatchSize {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(minPassGap):
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		case <-tick.C:
		}
	}
}

// watch wakes Run each time the outbox projection's checkpoint moves.
func (m *Mailer) watch(ctx context.Context) {
	for ctx.Err() == nil {
		cur, err := m.checkpoint(ctx)
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(m.opts.PollInterval):
			}
			continue
		}
		// The smallest position after cur: any later event is at or past it.
		next := eventstore.Position{Commit: cur.Commit, Prepare: cur.Prepare + 1}
		// A follower's wait: it does not hurry the read models along.
		err = m.progress.WaitFor(projections.Background(ctx), ProjectionName, next)
		if err == nil {
			m.Notify()
			continue
		}
		if errs.KindOf(err) != errs.Unavailable {
			// Not a plain "no progress yet" timeout: do not spin.
			select {
			case <-ctx.Done():
				return
			case <-time.After(m.opts.PollInterval):
			}
		}
	}
}

// checkpoint reads the outbox projection's checkpoint.
func (m *Mailer) checkpoint(ctx context.Context) (eventstore.Position, error) {
	var s string
	if err := m.db.QueryRowContext(ctx, `SELECT position FROM `+projections.CheckpointTable+` WHERE name = ?`, ProjectionName).Scan(&s); err != nil {
		return eventstore.Position{}, err
	}
	return eventstore.ParsePosition(s)
}

// Tick runs one pass at the clock's now.
func (m *Mailer) Tick(ctx context.Context) (Pass, error) { return m.DeliverDue(ctx, m.clock.Now()) }

// DeliverDue runs one delivery pass as of now:
//
//  1. record the outcomes an earlier pass could not record (without sending
//     again);
//  2. wait until the outbox reflects every outcome this mailer recorded (and,
//     on the first pass with Options.Head, the whole log as it was then), so
//     nothing already recorded is attempted again;
//  3. for each email in state requested whose next attempt is due (at or
//     before now), oldest first, up to BatchSize attempts: claim the attempt
//     (when there is a Claimer), send it, then record the outcome (final
//     when it was the last attempt);
//  4. wait until the outbox reflects what this pass recorded.
//
// Tests drive the mailer with it and a manual clock.
func (m *Mailer) DeliverDue(ctx context.Context, now time.Time) (Pass, error) {
	const op = errs.Op("mailer.DeliverDue")
	m.passMu.Lock()
	defer m.passMu.Unlock()
	var p Pass
	if !m.started && m.opts.Head != nil {
		head, err := m.opts.Head(ctx)
		if err != nil {
			return p, errs.E(op, err)
		}
		if m.lastPos.Less(head) {
			m.lastPos = head
		}
	}
	m.started = true
	for id, u := range m.pending {
		if err := m.record(ctx, u, &p); err != nil {
			continue
		}
		delete(m.pending, id)
	}
	if err := m.caughtUp(ctx); err != nil {
		return p, errs.E(op, err)
	}
	due, err := m.due(ctx, now)
	if err != nil {
		return p, errs.E(op, err)
	}
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		if _, waiting := m.pending[d.emailID]; waiting || m.stuck[d.emailID] {
			continue
		}
		if p.Attempted == m.opts.BatchSize {
			break
		}
		p.Due++
		if m.opts.Claimer != nil {
			ok, err := m.opts.Claimer.Claim(ctx, d.emailID, d.attempts+1, now)
			if err != nil {
				m.log.Warn("claiming an email attempt failed; retrying next pass", "email_id", d.emailID,
					"attempt", d.attempts+1, "error", redact(err.Error()))
			}
			if err != nil || !ok {
				p.Held++
				continue
			}
		}
		p.Attempted++
		u := m.attempt(ctx, d, now)
		if !u.outcome.Sent && ctx.Err() != nil {
			// Shutting down: the failure is ours, not the server's; the
			// email stays due and costs no attempt.
			p.Attempted--
			break
		}
		// A message the server accepted is recorded even if ctx ends now
		// (graceful shutdown), within a bound.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		err := m.record(rctx, u, &p)
		cancel()
		if err != nil {
			m.pending[d.emailID] = u
		}
	}
	p.Pending = len(m.pending)
	if err := m.caughtUp(ctx); err != nil {
		return p, errs.E(op, err)
	}
	return p, ctx.Err()
}

// caughtUp waits until the outbox has applied what this mailer recorded.
func (m *Mailer) caughtUp(ctx context.Context) error {
	if m.lastPos.IsZero() {
		return nil
	}
	return m.progress.WaitFor(ctx, ProjectionName, m.lastPos)
}

type dueEmail struct {
	emailID, stream, template, to, subject, body string
	attempts                                     int
}

// due lists the emails due at now, oldest due first.
func (m *Mailer) due(ctx context.Context, now time.Time) ([]dueEmail, error) {
	rows, err := m.db.QueryContext(ctx, `SELECT email_id, stream, template, to_addr, subject, body, attempts FROM `+TableName+`
		WHERE state = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, email_id LIMIT ?`,
		StateRequested, formatTime(now), m.opts.BatchSize+len(m.pending)+len(m.stuck))
	if err != nil {
		return nil, errs.E(errs.Unavailable, "leyendo la bandeja de salida", err)
	}
	defer rows.Close()
	var out []dueEmail
	for rows.Next() {
		var d dueEmail
		if err := rows.Scan(&d.emailID, &d.stream, &d.template, &d.to, &d.subject, &d.body, &d.attempts); err != nil {
			return nil, errs.E(errs.Unavailable, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E(errs.Unavailable, err)
	}
	return out, nil
}

// attempt sends one email and returns its outcome, not yet recorded.
func (m *Mailer) attempt(ctx context.Context, d dueEmail, now time.Time) unrecorded {
	n := d.attempts + 1
	sctx, cancel := context.WithTimeout(ctx, m.opts.SendTimeout)
	start := time.Now()
	err := m.sender.Send(sctx, Message{EmailID: d.emailID, To: d.to, Subject: d.subject, Body: d.body, Date: now})
	took := time.Since(start)
	cancel()
	o := Outcome{EmailID: d.emailID, Attempt: n, Sent: err == nil}
	if err != nil {
		o.Error = describe(err)
		// An invalid message (a malformed address) fails the same way every
		// time: it is given up at once.
		o.Final = n >= m.opts.MaxAttempts || errs.Is(errs.Invalid, err)
		m.log.Warn("email delivery failed", "email_id", d.emailID, "template", d.template, "attempt", n,
			"final", o.Final, "error", o.Error)
	}
	return unrecorded{stream: d.stream, template: d.template, outcome: o, took: took}
}

// record records an outcome and counts it; on failure the caller keeps it
// pending. A recorder error of a kind that retrying cannot fix (the stream
// refuses the outcome) marks the email stuck for this process: it is logged
// and never sent again by it.
func (m *Mailer) record(ctx context.Context, u unrecorded, p *Pass) error {
	pos, err := m.recorder.Record(ctx, u.stream, u.outcome)
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Invalid, errs.NotFound, errs.Precondition, errs.Forbidden:
			m.stuck[u.outcome.EmailID] = true
			m.log.Error("email outcome refused; the email is left as it is", "email_id", u.outcome.EmailID,
				"attempt", u.outcome.Attempt, "error", redact(err.Error()))
			return nil
		}
		m.log.Warn("recording email outcome failed; retrying next pass", "email_id", u.outcome.EmailID,
			"attempt", u.outcome.Attempt, "error", redact(err.Error()))
		return err
	}
	if m.lastPos.Less(pos) {
		m.lastPos = pos
	}
	p.Recorded++
	if u.outcome.Sent {
		p.Sent++
	} else {
		p.Failed++
		if u.outcome.Final {
			p.Final++
		}
	}
	if m.opts.OnAttempt != nil {
		m.opts.OnAttempt(Attempt{EmailID: u.outcome.EmailID, Template: u.template, Attempt: u.outcome.Attempt,
			Sent: u.outcome.Sent, Final: u.outcome.Final, Duration: u.took})
	}
	return nil
}

// maxErrorLen bounds the error text recorded in EmailFailed.
const maxErrorLen = 300

// describe turns a send error into the text recorded in EmailFailed: no
// email addresses, bounded length.
func describe(err error) string {
	var se interface{ IsTemp() bool }
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "tiempo de espera agotado: " + msg
	} else if errors.As(err, &se) && !se.IsTemp() {
		msg = "rechazo permanente del servidor: " + msg
	}
	msg = redact(msg)
	if len(msg) > maxErrorLen {
		cut := maxErrorLen
		for cut > 0 && !utf8Start(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

var addrPattern = regexp.MustCompile(`[^\s<>"'()\[\],;:]+@[^\s<>"'()\[\],;:]+`)

// redact replaces anything that looks like an email address, so neither
// logs nor the recorded error carry personal data. Message-IDs of the
// mailer (…@redengine) are kept: they are not personal.
func redact(s string) string {
	return addrPattern.ReplaceAllStringFunc(s, func(a string) string {
		if strings.HasSuffix(a, "@"+MessageIDDomain) {
			return a
		}
		return "<dirección>"
	})
}
