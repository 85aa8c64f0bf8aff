package mailer_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/clock"
	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/mailer"
	"redengine/projections"
)

// A tiny aggregate, "mailtest", that records emails with the same event
// types and shapes as domain/cases and domain/nss, and a RecordEmailOutcome
// decision with their rules.

type emailRequested struct {
	EmailID  string    `json:"emailId"`
	Template string    `json:"template"`
	To       string    `json:"to"`
	Subject  string    `json:"subject"`
	Body     string    `json:"body"`
	At       time.Time `json:"at"`
}

type emailSkipped struct {
	EmailID  string    `json:"emailId"`
	Template string    `json:"template"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

type emailSent struct {
	EmailID string    `json:"emailId"`
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
}

type emailFailed struct {
	EmailID string    `json:"emailId"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
	Final   bool      `json:"final"`
	At      time.Time `json:"at"`
}

type mailState struct {
	emails map[string]string // email ID → requested, sent, failed, skipped
}

const testCategory = "mailtest"

func testAggregate() commands.Aggregate[mailState] {
	return commands.Aggregate[mailState]{
		Category: testCategory,
		Codec: commands.NewCodec(
			commands.Type[emailRequested](mailer.TypeEmailRequested, 1),
			commands.Type[emailSkipped](mailer.TypeEmailSkipped, 1),
			commands.Type[emailSent](mailer.TypeEmailSent, 1),
			commands.Type[emailFailed](mailer.TypeEmailFailed, 1),
		),
		Initial: func() mailState { return mailState{emails: map[string]string{}} },
		Evolve: func(s mailState, e commands.Event) mailState {
			next := mailState{emails: make(map[string]string, len(s.emails)+1)}
			for k, v := range s.emails {
				next.emails[k] = v
			}
			switch ev := e.Data.(type) {
			case emailRequested:
				next.emails[ev.EmailID] = "requested"
			case emailSkipped:
				next.emails[ev.EmailID] = "skipped"
			case emailSent:
				next.emails[ev.EmailID] = "sent"
			case emailFailed:
				if ev.Final {
					next.emails[ev.EmailID] = "failed"
				}
			}
			return next
		},
	}
}

func recordOutcome(o mailer.Outcome) commands.Decide[mailState] {
	return func(s mailState, now time.Time) ([]any, error) {
		switch s.emails[o.EmailID] {
		case "":
			return nil, errs.E(errs.NotFound, "el correo no existe")
		case "sent", "failed":
			return nil, nil
		case "skipped":
			return nil, errs.E(errs.Precondition, "el correo no se solicitó")
		}
		if o.Sent {
			return []any{emailSent{EmailID: o.EmailID, Attempt: o.Attempt, At: now}}, nil
		}
		return []any{emailFailed{EmailID: o.EmailID, Attempt: o.Attempt, Error: o.Error, Final: o.Final, At: now}}, nil
	}
}

// env is a real event store, a real read-model database with the outbox
// projection running, and the test aggregate's command handler.
type env struct {
	t       testing.TB
	ctx     context.Context
	clock   *clock.Manual
	store   *sqlite.Store
	db      *sql.DB
	runner  *projections.Runner
	handler *commands.Handler[mailState]
	smtp    string // Mailpit's SMTP address
	mailpit string // Mailpit's HTTP API
	run     string // unique per test, in addresses

	stopRunner func()
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	clk := clock.NewManual(start)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	db, err := projections.OpenDB(ctx, filepath.Join(dir, "readmodels.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		t: t, ctx: ctx, clock: clk, store: store, db: db,
		handler: commands.NewHandler(store, clk, testAggregate()),
		smtp:    os.Getenv("REDENGINE_TEST_SMTP"), mailpit: strings.TrimRight(os.Getenv("REDENGINE_TEST_MAILPIT"), "/"),
		run: strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "-" + uuid.NewString()[:8],
	}
	e.stopRunner = e.startRunner()
	t.Cleanup(func() {
		e.stopRunner()
		cancel()
		db.Close()
		store.Close()
	})
	return e
}

// startRunner starts a new projection runner (as a process start would) and
// runs it until the returned stop is called.
func (e *env) startRunner() (stop func()) {
	e.t.Helper()
	runner, err := projections.New(e.db, e.store, []projections.Projection{mailer.NewOutbox()},
		projections.Options{Clock: e.clock, WaitTimeout: 20 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := runner.Init(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	e.runner = runner
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runner.Run(ctx)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// needMailpit skips the test when no Mailpit is configured (make test and
// CI start one and set the variables).
func needMailpit(t testing.TB) {
	t.Helper()
	if os.Getenv("REDENGINE_TEST_SMTP") == "" || os.Getenv("REDENGINE_TEST_MAILPIT") == "" {
		t.Skip("REDENGINE_TEST_SMTP / REDENGINE_TEST_MAILPIT not set: run `eval \"$(scripts/mailpit.sh start)\"`")
	}
}

// recorder records outcomes in the test aggregate's streams, the way the
// engine wires the real aggregates.
func (e *env) recorder() mailer.Recorder {
	return mailer.ByCategory{testCategory: mailer.CommandRecorder(e.handler, recordOutcome)}
}

// request appends an EmailRequested to stream mailtest-<aggID> and returns
// the email ID.
func (e *env) request(aggID, to, subject, body string) string {
	e.t.Helper()
	id := uuid.NewString()
	_, err := e.handler.Handle(e.ctx, aggID, commands.Meta{Actor: eventstore.Actor{ID: "tester", Role: "tramitador"}},
		func(_ mailState, now time.Time) ([]any, error) {
			return []any{emailRequested{EmailID: id, Template: "prueba", To: to, Subject: subject, Body: body, At: now}}, nil
		})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// skip appends an EmailSkipped.
func (e *env) skip(aggID string) string {
	e.t.Helper()
	id := uuid.NewString()
	_, err := e.handler.Handle(e.ctx, aggID, commands.Meta{Actor: eventstore.Actor{ID: "tester", Role: "tramitador"}},
		func(_ mailState, now time.Time) ([]any, error) {
			return []any{emailSkipped{EmailID: id, Template: "prueba", Reason: "la autorización no tiene dirección de correo de contacto registrada", At: now}}, nil
		})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// sync waits until the outbox has applied the whole log.
func (e *env) sync() {
	e.t.Helper()
	head, err := e.store.Head(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.runner.WaitFor(e.ctx, mailer.ProjectionName, head); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) addr(local string) string { return local + "+" + e.run + "@gestoria.test" }

func (e *env) smtpSender(addr string) *mailer.SMTPSender {
	e.t.Helper()
	s, err := mailer.NewSMTPSender(mailer.SMTPConfig{Addr: addr, From: "Sistema RED <no-responder@red.test>", Timeout: 5 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) newMailer(s mailer.Sender, r mailer.Recorder, opts mailer.Options) *mailer.Mailer {
	return mailer.New(e.db, e.runner, s, r, e.clock, opts)
}

func (e *env) pass(m *mailer.Mailer) mailer.Pass {
	e.t.Helper()
	p, err := m.Tick(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) email(id string) mailer.Email {
	e.t.Helper()
	m, err := mailer.Lookup(e.ctx, e.db, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// trail returns the types (with attempt) of the email events of a stream.
func (e *env) trail(aggID string) []string {
	e.t.Helper()
	evs, err := e.store.ReadStream(e.ctx, testCategory+"-"+aggID, 0, eventstore.Forward, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		var a struct {
			Attempt int  `json:"attempt"`
			Final   bool `json:"final"`
		}
		json.Unmarshal(ev.Data, &a)
		s := ev.Type
		if a.Attempt > 0 {
			s += fmt.Sprintf("#%d", a.Attempt)
		}
		if a.Final {
			s += "(final)"
		}
		out = append(out, s)
	}
	return out
}

func wantTrail(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("trail = %v, want %v", got, want)
	}
}

// countingSender counts the messages handed to the wrapped sender, per
// email ID.
type countingSender struct {
	next  mailer.Sender
	mu    sync.Mutex
	sends map[string]int
	total atomic.Int64
}

func counting(next mailer.Sender) *countingSender {
	return &countingSender{next: next, sends: map[string]int{}}
}

func (c *countingSender) Send(ctx context.Context, m mailer.Message) error {
	c.mu.Lock()
	c.sends[m.EmailID]++
	c.mu.Unlock()
	c.total.Add(1)
	return c.next.Send(ctx, m)
}

func (c *countingSender) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sends[id]
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Mailpit's API.

type mpAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

type mpSummary struct {
	ID        string      `json:"ID"`
	MessageID string      `json:"MessageID"`
	From      mpAddress   `json:"From"`
	To        []mpAddress `json:"To"`
	Subject   string      `json:"Subject"`
}

type mpMessage struct {
	mpSummary
	Text string `json:"Text"`
}

func (e *env) mpGet(path string, v any) {
	e.t.Helper()
	resp, err := http.Get(e.mailpit + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
}

// byMessageID returns the messages Mailpit holds with the Message-ID of
// emailID.
func (e *env) byMessageID(emailID string) []mpSummary {
	e.t.Helper()
	var res struct {
		Messages []mpSummary `json:"messages"`
	}
	e.mpGet("/api/v1/search?query="+url.QueryEscape("message-id:"+mailer.MessageID(emailID)), &res)
	var out []mpSummary
	for _, m := range res.Messages {
		if m.MessageID == mailer.MessageID(emailID) { // the search is by substring
			out = append(out, m)
		}
	}
	return out
}

func (e *env) message(id string) (mpMessage, map[string][]string) {
	e.t.Helper()
	var m mpMessage
	e.mpGet("/api/v1/message/"+id, &m)
	var h map[string][]string
	e.mpGet("/api/v1/message/"+id+"/headers", &h)
	return m, h
}

// mailpitDedups reports whether Mailpit runs with --ignore-duplicate-ids
// (scripts/mailpit.sh starts it so), by sending a probe twice.
func (e *env) mailpitDedups() bool {
	e.t.Helper()
	s := e.smtpSender(e.smtp)
	id := uuid.NewString()
	for range 2 {
		if err := s.Send(e.ctx, mailer.Message{EmailID: id, To: e.addr("sonda"), Subject: "sonda", Body: "sonda", Date: start}); err != nil {
			e.t.Fatal(err)
		}
	}
	return len(e.byMessageID(id)) == 1
}

// eventually polls cond until it holds, failing after a generous bound (for
// work done by goroutines in real time; no test asserts on timing).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errCrash = errors.New("crash simulado antes de registrar")
