package mailer_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/errs"
	"redengine/eventstore"
	"redengine/mailer"
)

const spanishBody = "Estimado/a usuario/a:\n\nEl caso 2026/000123 ha sido cerrado de oficio al no haberse aportado la información requerida.\nPuede consultar el expediente en la Sede Electrónica.\n\nUn saludo,\nTesorería General de la Seguridad Social"

func TestDeliversToMailpit(t *testing.T) {
	needMailpit(t)
	e := newEnv(t)
	to := e.addr("buzon")
	id := e.request("a1", to, "Caso 2026/000123: cierre de oficio — información no aportada", spanishBody)
	e.sync()
	if got := e.email(id); got.State != mailer.StateRequested || got.Attempts != 0 || got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(start) {
		t.Fatalf("before the pass: %+v", got)
	}
	sender := counting(e.smtpSender(e.smtp))
	var attempts []mailer.Attempt
	m := e.newMailer(sender, e.recorder(), mailer.Options{OnAttempt: func(a mailer.Attempt) { attempts = append(attempts, a) }})
	e.clock.Advance(time.Second)
	if p := e.pass(m); p.Due != 1 || p.Sent != 1 || p.Recorded != 1 {
		t.Fatalf("pass = %+v", p)
	}
	wantTrail(t, e.trail("a1"), "EmailRequested", "EmailSent#1")
	if got := e.email(id); got.State != mailer.StateSent || got.Attempts != 1 || got.SentAt == nil || got.NextAttemptAt != nil {
		t.Fatalf("after the pass: %+v", got)
	}
	if len(attempts) != 1 || !attempts[0].Sent || attempts[0].Template != "prueba" {
		t.Fatalf("OnAttempt got %+v", attempts)
	}

	found := e.byMessageID(id)
	if len(found) != 1 {
		t.Fatalf("Mailpit holds %d messages with Message-ID %s", len(found), mailer.MessageID(id))
	}
	msg, headers := e.message(found[0].ID)
	if msg.Subject != "Caso 2026/000123: cierre de oficio — información no aportada" {
		t.Errorf("Subject = %q", msg.Subject)
	}
	if len(msg.To) != 1 || msg.To[0].Address != to {
		t.Errorf("To = %+v", msg.To)
	}
	if msg.From.Address != "no-responder@red.test" || msg.From.Name != "Sistema RED" {
		t.Errorf("From = %+v", msg.From)
	}
	if strings.TrimSpace(strings.ReplaceAll(msg.Text, "\r\n", "\n")) != spanishBody {
		t.Errorf("Text = %q", msg.Text)
	}
	if got := headers["Message-Id"]; len(got) != 1 || got[0] != "<"+id+"@redengine>" {
		t.Errorf("Message-ID header = %v (headers %v)", got, headers)
	}
	if got := headers["Date"]; len(got) != 1 || got[0] != start.Add(time.Second).Format(time.RFC1123Z) {
		t.Errorf("Date = %v, want the manual clock's %s", got, start.Add(time.Second).Format(time.RFC1123Z))
	}
	if ct := strings.Join(headers["Content-Type"], ";"); !strings.Contains(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "utf-8") {
		t.Errorf("Content-Type = %q", ct)
	}

	// A second pass, even much later, sends nothing: the email is sent.
	e.clock.Advance(24 * time.Hour)
	if p := e.pass(m); p.Due != 0 || p.Sent != 0 {
		t.Fatalf("second pass = %+v", p)
	}
	if n := sender.count(id); n != 1 {
		t.Fatalf("sent %d times", n)
	}
	if found := e.byMessageID(id); len(found) != 1 {
		t.Fatalf("Mailpit holds %d messages", len(found))
	}
	wantTrail(t, e.trail("a1"), "EmailRequested", "EmailSent#1")
}

func TestServerDownDelaysMailAndLosesNone(t *testing.T) {
	needMailpit(t)
	e := newEnv(t)
	to := e.addr("contacto")
	id := e.request("b1", to, "Caso 2026/000200: requerimiento de información", "Se le requiere información adicional.")
	e.sync()

	down := counting(e.smtpSender(closedAddr(t)))
	m := e.newMailer(down, e.recorder(), mailer.Options{})
	p := e.pass(m)
	if p.Due != 1 || p.Failed != 1 || p.Final != 0 || p.Sent != 0 {
		t.Fatalf("pass with the server down = %+v", p)
	}
	failedAt := e.clock.Now()
	wantTrail(t, e.trail("b1"), "EmailRequested", "EmailFailed#1")
	got := e.email(id)
	if got.State != mailer.StateRequested || got.Attempts != 1 || got.LastError == "" ||
		got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(failedAt.Add(mailer.Backoff(1))) {
		t.Fatalf("after a failed attempt: %+v", got)
	}
	if strings.Contains(got.LastError, to) {
		t.Fatalf("the recorded error carries the address: %q", got.LastError)
	}

	// Before the backoff has passed nothing is attempted.
	e.clock.Advance(mailer.Backoff(1) - time.Second)
	if p := e.pass(m); p.Due != 0 {
		t.Fatalf("pass before the backoff = %+v", p)
	}
	// Second failure at the due instant; the next waits Backoff(2).
	e.clock.Advance(time.Second)
	if p := e.pass(m); p.Failed != 1 {
		t.Fatalf("second failing pass = %+v", p)
	}
	if got := e.email(id); got.Attempts != 2 || !got.NextAttemptAt.Equal(e.clock.Now().Add(mailer.Backoff(2))) {
		t.Fatalf("after the second failure: %+v", got)
	}
	if down.count(id) != 2 {
		t.Fatalf("attempts against the closed port = %d", down.count(id))
	}
	if len(e.byMessageID(id)) != 0 {
		t.Fatal("a message reached Mailpit while the server was down")
	}

	// The server is back (a new mailer, as after a restart: the outbox is
	// its only memory): delivered once, at the next due instant.
	up := counting(e.smtpSender(e.smtp))
	m = e.newMailer(up, e.recorder(), mailer.Options{})
	if p := e.pass(m); p.Due != 0 {
		t.Fatalf("pass before the second backoff = %+v", p)
	}
	e.clock.Advance(mailer.Backoff(2))
	if p := e.pass(m); p.Sent != 1 {
		t.Fatalf("pass with the server up = %+v", p)
	}
	e.clock.Advance(time.Hour)
	if p := e.pass(m); p.Due != 0 {
		t.Fatalf("pass after delivery = %+v", p)
	}
	wantTrail(t, e.trail("b1"), "EmailRequested", "EmailFailed#1", "EmailFailed#2", "EmailSent#3")
	if got := e.email(id); got.State != mailer.StateSent || got.Attempts != 3 {
		t.Fatalf("after delivery: %+v", got)
	}
	if up.count(id) != 1 || len(e.byMessageID(id)) != 1 {
		t.Fatalf("sends %d, Mailpit holds %d", up.count(id), len(e.byMessageID(id)))
	}
}

func TestGivesUpAfterTheLastAttempt(t *testing.T) {
	e := newEnv(t)
	id := e.request("c1", e.addr("x"), "Asunto", "Cuerpo")
	e.sync()
	m := e.newMailer(e.smtpSender(closedAddr(t)), e.recorder(), mailer.Options{MaxAttempts: 3})
	for n := 1; n <= 3; n++ {
		p := e.pass(m)
		if p.Failed != 1 || (p.Final == 1) != (n == 3) {
			t.Fatalf("pass %d = %+v", n, p)
		}
		e.clock.Advance(mailer.Backoff(n))
	}
	e.clock.Advance(30 * 24 * time.Hour)
	if p := e.pass(m); p.Due != 0 {
		t.Fatalf("pass after giving up = %+v", p)
	}
	wantTrail(t, e.trail("c1"), "EmailRequested", "EmailFailed#1", "EmailFailed#2", "EmailFailed#3(final)")
	if got := e.email(id); got.State != mailer.StateFailed || got.Attempts != 3 || got.NextAttemptAt != nil {
		t.Fatalf("after giving up: %+v", got)
	}
	st, err := mailer.ReadStats(e.ctx, e.db)
	if err != nil || st.Failed != 1 || st.Requested != 0 {
		t.Fatalf("stats = %+v, %v", st, err)
	}
}

// failingRecorder fails the first n records (like a store that is down, or
// a process that dies before recording), then records for real.
type failingRecorder struct {
	next mailer.Recorder
	mu   sync.Mutex
	left int
}

func (f *failingRecorder) Record(ctx context.Context, stream string, o mailer.Outcome) (eventstore.Position, error) {
	f.mu.Lock()
	fail := f.left > 0
	f.left--
	f.mu.Unlock()
	if fail {
		return eventstore.Position{}, errs.E(errs.Unavailable, errCrash)
	}
	return f.next.Record(ctx, stream, o)
}

// A crash between the SMTP server's acceptance and the EmailSent record:
// the message is sent again after the restart, with the same Message-ID,
// and recorded once.
func TestCrashBetweenSendAndRecord(t *testing.T) {
	needMailpit(t)
	e := newEnv(t)
	dedups := e.mailpitDedups()
	id := e.request("d1", e.addr("crash"), "Caso 2026/000300: resolución", "Su caso se ha resuelto.")
	e.sync()

	sender := counting(e.smtpSender(e.smtp))
	// The first process sends, then "dies" before recording: its record
	// never reaches the store and its memory is lost.
	first := e.newMailer(sender, &failingRecorder{next: e.recorder(), left: 1}, mailer.Options{})
	if p := e.pass(first); p.Due != 1 || p.Sent != 0 || p.Pending != 1 {
		t.Fatalf("pass of the crashing process = %+v", p)
	}
	wantTrail(t, e.trail("d1"), "EmailRequested")

	// The restarted process finds the email pending and sends it again.
	second := e.newMailer(sender, e.recorder(), mailer.Options{})
	if p := e.pass(second); p.Sent != 1 {
		t.Fatalf("pass after the restart = %+v", p)
	}
	wantTrail(t, e.trail("d1"), "EmailRequested", "EmailSent#1")
	if sender.count(id) != 2 {
		t.Fatalf("handed to SMTP %d times, want 2 (at least once)", sender.count(id))
	}
	found := e.byMessageID(id)
	for _, f := range found {
		if f.MessageID != mailer.MessageID(id) {
			t.Fatalf("copy with Message-ID %q", f.MessageID)
		}
	}
	if dedups {
		if len(found) != 1 {
			t.Fatalf("Mailpit (--ignore-duplicate-ids) holds %d messages with one Message-ID", len(found))
		}
	} else {
		t.Logf("Mailpit runs without --ignore-duplicate-ids: it holds %d copies, all with Message-ID %s", len(found), mailer.MessageID(id))
		if len(found) != 2 {
			t.Fatalf("Mailpit holds %d copies, want 2", len(found))
		}
	}

	// A third pass sends nothing.
	e.clock.Advance(time.Hour)
	if p := e.pass(second); p.Due != 0 || sender.count(id) != 2 {
		t.Fatalf("third pass = %+v, sends %d", p, sender.count(id))
	}
}

// When only the record fails and the process lives on, the outcome is
// recorded on the next pass without sending again.
func TestRecordRetriedWithoutResending(t *testing.T) {
	needMailpit(t)
	e := newEnv(t)
	id := e.request("e1", e.addr("retry"), "Asunto", "Cuerpo")
	e.sync()
	sender := counting(e.smtpSender(e.smtp))
	m := e.newMailer(sender, &failingRecorder{next: e.recorder(), left: 2}, mailer.Options{})
	if p := e.pass(m); p.Pending != 1 || p.Sent != 0 {
		t.Fatalf("first pass = %+v", p)
	}
	if p := e.pass(m); p.Pending != 1 || p.Due != 0 {
		t.Fatalf("second pass (recorder still down) = %+v", p)
	}
	if p := e.pass(m); p.Pending != 0 || p.Sent != 1 || p.Recorded != 1 || p.Due != 0 {
		t.Fatalf("third pass = %+v", p)
	}
	if sender.count(id) != 1 {
		t.Fatalf("sent %d times", sender.count(id))
	}
	wantTrail(t, e.trail("e1"), "EmailRequested", "EmailSent#1")
	if len(e.byMessageID(id)) != 1 {
		t.Fatal("Mailpit does not hold exactly one message")
	}
}

// Recording the same attempt twice (two nodes, a retry after a lost reply)
// appends once: the command ID is derived from the email ID and attempt.
func TestOutcomeRecordIsIdempotent(t *testing.T) {
	e := newEnv(t)
	id := e.request("f1", e.addr("x"), "Asunto", "Cuerpo")
	r := e.recorder()
	o := mailer.Outcome{EmailID: id, Attempt: 1, Error: "421 inténtelo más tarde"}
	p1, err := r.Record(e.ctx, testCategory+"-f1", o)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := r.Record(e.ctx, testCategory+"-f1", mailer.Outcome{EmailID: id, Attempt: 1, Sent: true})
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Fatalf("positions %s and %s", p1, p2)
	}
	wantTrail(t, e.trail("f1"), "EmailRequested", "EmailFailed#1")
	if o.CommandID() != (mailer.Outcome{EmailID: id, Attempt: 1, Sent: true}).CommandID() {
		t.Fatal("the command ID depends on the outcome")
	}
	if o.CommandID() == (mailer.Outcome{EmailID: id, Attempt: 2}).CommandID() {
		t.Fatal("the command ID does not depend on the attempt")
	}
	if _, err := r.Record(e.ctx, "other-f1", o); errs.KindOf(err) != errs.Internal {
		t.Fatalf("unknown category: %v", err)
	}
}

// Two mailers on one store and one outbox (two nodes) deliver every email,
// record one outcome per attempt, and every copy carries the email's
// Message-ID.
func TestTwoMailersAtOnce(t *testing.T) {
	needMailpit(t)
	e := newEnv(t)
	dedups := e.mailpitDedups()
	const n = 12
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.request("g1", e.addr("dos"), "Asunto", "Cuerpo")
	}
	e.sync()
	sender := counting(e.smtpSender(e.smtp))
	a := e.newMailer(sender, e.recorder(), mailer.Options{})
	b := e.newMailer(sender, e.recorder(), mailer.Options{})
	var wg sync.WaitGroup
	for _, m := range []*mailer.Mailer{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.Tick(e.ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	e.pass(a)
	e.pass(b)
	trail := e.trail("g1")
	sent, copies := 0, 0
	for _, s := range trail {
		if strings.HasPrefix(s, "EmailSent") {
			sent++
		}
	}
	if sent != n || len(trail) != 2*n {
		t.Fatalf("trail = %v", trail)
	}
	for _, id := range ids {
		if got := e.email(id); got.State != mailer.StateSent {
			t.Fatalf("%s: %+v", id, got)
		}
		found := e.byMessageID(id)
		if len(found) == 0 || len(found) > sender.count(id) {
			t.Fatalf("%s: Mailpit holds %d, sent %d times", id, len(found), sender.count(id))
		}
		copies += len(found)
	}
	// Without claims, both mailers may hand the same email to SMTP at the
	// same moment; Mailpit's duplicate check is not atomic, so it may keep
	// both copies (same Message-ID).
	t.Logf("%d emails, %d SMTP deliveries by two mailers, %d copies in Mailpit (dedup %v)", n, sender.total.Load(), copies, dedups)
}

func TestSkippedEmailIsNotSent(t *testing.T) {
	e := newEnv(t)
	skipped := e.skip("h1")
	requested := e.request("h1", e.addr("x"), "Asunto", "Cuerpo")
	e.sync()
	sender := counting(e.smtpSender(closedAddr(t)))
	m := e.newMailer(sender, e.recorder(), mailer.Options{})
	if p := e.pass(m); p.Due != 1 {
		t.Fatalf("pass = %+v", p)
	}
	if sender.count(skipped) != 0 {
		t.Fatal("a skipped email was sent")
	}
	trail, err := mailer.Emails(e.ctx, e.db, testCategory+"-h1")
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 2 || trail[0].EmailID != skipped || trail[0].State != mailer.StateSkipped || trail[0].SkipReason == "" ||
		trail[1].EmailID != requested || trail[1].State != mailer.StateRequested || trail[1].Attempts != 1 {
		t.Fatalf("trail = %+v", trail)
	}
	st, err := mailer.ReadStats(e.ctx, e.db)
	if err != nil || st.Skipped != 1 || st.Requested != 1 || !st.OldestPending.Equal(start) {
		t.Fatalf("stats = %+v, %v", st, err)
	}
	if _, err := mailer.Lookup(e.ctx, e.db, uuid.NewString()); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("Lookup of an unknown email: %v", err)
	}
}

// The outbox is a pure function of the log: a rebuild gives the same rows,
// next attempts included.
func TestOutboxRebuildGivesSameRows(t *testing.T) {
	e := newEnv(t)
	e.skip("i1")
	e.request("i1", e.addr("x"), "Asunto", "Cuerpo")
	e.request("i2", e.addr("y"), "Asunto", "Cuerpo")
	e.sync()
	m := e.newMailer(e.smtpSender(closedAddr(t)), e.recorder(), mailer.Options{MaxAttempts: 2})
	e.pass(m)
	e.clock.Advance(mailer.Backoff(1))
	e.pass(m)
	e.request("i3", e.addr("z"), "Asunto", "Cuerpo")
	e.clock.Advance(time.Minute)
	e.pass(m)
	e.sync()
	before, err := e.runner.Digest(e.ctx, mailer.ProjectionName)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.runner.Rebuild(e.ctx, mailer.ProjectionName, nil); err != nil {
		t.Fatal(err)
	}
	after, err := e.runner.Digest(e.ctx, mailer.ProjectionName)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Fatalf("digest %s before the rebuild, %s after", before, after)
	}
	st, err := mailer.ReadStats(e.ctx, e.db)
	if err != nil || st.Failed != 2 || st.Requested != 1 || st.Skipped != 1 {
		t.Fatalf("stats = %+v, %v", st, err)
	}
}

// Run delivers a new request without being told, and a due retry once the
// (manual) clock moves, without sleeping for the backoff.
func TestRunWakesOnRequestsAndClock(t *testing.T) {
	needMailpit(t)
	e := newEnv(t)
	flaky := &switchSender{}
	flaky.set(e.smtpSender(closedAddr(t)))
	m := e.newMailer(flaky, e.recorder(), mailer.Options{PollInterval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	id := e.request("j1", e.addr("run"), "Asunto", "Cuerpo")
	eventually(t, "the first (failed) attempt", func() bool { return e.email0(id).Attempts == 1 })
	flaky.set(e.smtpSender(e.smtp))
	e.clock.Advance(mailer.Backoff(1))
	m.Notify()
	eventually(t, "the delivery", func() bool { return e.email0(id).State == mailer.StateSent })
	wantTrail(t, e.trail("j1"), "EmailRequested", "EmailFailed#1", "EmailSent#2")
	if len(e.byMessageID(id)) != 1 {
		t.Fatal("Mailpit does not hold the message")
	}
}

// email0 is email without failing when the row is not there yet.
func (e *env) email0(id string) mailer.Email {
	m, _ := mailer.Lookup(e.ctx, e.db, id)
	return m
}

type switchSender struct {
	mu sync.Mutex
	s  mailer.Sender
}

func (s *switchSender) set(x mailer.Sender) { s.mu.Lock(); s.s = x; s.mu.Unlock() }

func (s *switchSender) Send(ctx context.Context, m mailer.Message) error {
	s.mu.Lock()
	x := s.s
	s.mu.Unlock()
	return x.Send(ctx, m)
}

// With claims, two nodes racing over the same emails hand each to SMTP once.
func TestTwoNodesWithClaimsSendOnce(t *testing.T) {
	needMailpit(t)
	e := newEnv(t)
	const n = 12
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.request("k1", e.addr("claims"), "Asunto", "Cuerpo")
	}
	e.sync()
	sender := counting(e.smtpSender(e.smtp))
	nodes := []*mailer.Mailer{
		e.newMailer(sender, e.recorder(), mailer.Options{Claimer: mailer.NewStoreClaimer(e.store, "node-a", 0)}),
		e.newMailer(sender, e.recorder(), mailer.Options{Claimer: mailer.NewStoreClaimer(e.store, "node-b", 0)}),
	}
	passes := make([]mailer.Pass, len(nodes))
	var wg sync.WaitGroup
	for i, m := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := m.Tick(e.ctx)
			if err != nil {
				t.Error(err)
			}
			passes[i] = p
		}()
	}
	wg.Wait()
	if got := passes[0].Attempted + passes[1].Attempted; got != n {
		t.Fatalf("passes %+v: %d attempts for %d emails", passes, got, n)
	}
	for _, id := range ids {
		if sender.count(id) != 1 || len(e.byMessageID(id)) != 1 || e.email(id).State != mailer.StateSent {
			t.Fatalf("%s: sent %d times, Mailpit holds %d, %+v", id, sender.count(id), len(e.byMessageID(id)), e.email(id))
		}
	}
	t.Logf("node a: %+v; node b: %+v", passes[0], passes[1])
}

// A node that dies holding a claim delays the email by the lease; then
// another node sends it. The same node, restarted, reclaims at once.
func TestClaimLease(t *testing.T) {
	e := newEnv(t)
	const lease = 2 * time.Minute
	a := mailer.NewStoreClaimer(e.store, "node-a", lease)
	b := mailer.NewStoreClaimer(e.store, "node-b", lease)
	id := uuid.NewString()
	now := e.clock.Now()
	claim := func(c *mailer.StoreClaimer, attempt int, at time.Time) bool {
		t.Helper()
		ok, err := c.Claim(e.ctx, id, attempt, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(a, 1, now) {
		t.Fatal("the first claim failed")
	}
	if claim(b, 1, now.Add(lease-time.Second)) {
		t.Fatal("b claimed an attempt a holds")
	}
	if !claim(a, 1, now.Add(time.Second)) {
		t.Fatal("a, restarted, could not reclaim its own attempt")
	}
	if !claim(b, 1, now.Add(time.Second+lease)) {
		t.Fatal("b could not claim after the lease")
	}
	if claim(a, 1, now.Add(time.Second+lease)) {
		t.Fatal("a claimed an attempt b holds")
	}
	if !claim(a, 2, now.Add(time.Second+lease)) {
		t.Fatal("a could not claim the next attempt")
	}
	if claim(b, 1, now.Add(time.Hour)) {
		t.Fatal("b claimed an attempt older than the last claimed")
	}

	// Through the mailer: a dead node's claim holds the email for the lease.
	mid := e.request("l1", e.addr("lease"), "Asunto", "Cuerpo")
	e.sync()
	if ok, err := a.Claim(e.ctx, mid, 1, e.clock.Now()); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	sender := counting(mailer.Sender(senderFunc(func(context.Context, mailer.Message) error { return nil })))
	m := e.newMailer(sender, e.recorder(), mailer.Options{Claimer: b})
	if p := e.pass(m); p.Held != 1 || p.Attempted != 0 {
		t.Fatalf("pass while a holds the claim = %+v", p)
	}
	e.clock.Advance(lease)
	if p := e.pass(m); p.Attempted != 1 || p.Sent != 1 {
		t.Fatalf("pass after the lease = %+v", p)
	}
	wantTrail(t, e.trail("l1"), "EmailRequested", "EmailSent#1")
}

type senderFunc func(context.Context, mailer.Message) error

func (f senderFunc) Send(ctx context.Context, m mailer.Message) error { return f(ctx, m) }

// A malformed address fails the same way every time: given up at once.
func TestInvalidAddressIsFinalAtOnce(t *testing.T) {
	e := newEnv(t)
	id := e.request("m1", "no es una dirección", "Asunto", "Cuerpo")
	e.sync()
	m := e.newMailer(e.smtpSender(closedAddr(t)), e.recorder(), mailer.Options{})
	if p := e.pass(m); p.Final != 1 {
		t.Fatalf("pass = %+v", p)
	}
	wantTrail(t, e.trail("m1"), "EmailRequested", "EmailFailed#1(final)")
	if got := e.email(id); got.State != mailer.StateFailed {
		t.Fatalf("%+v", got)
	}
}

// Shutting down in the middle of a send records no failure: the email stays
// due and keeps its attempts.
func TestShutdownCostsNoAttempt(t *testing.T) {
	e := newEnv(t)
	id := e.request("n1", e.addr("x"), "Asunto", "Cuerpo")
	e.sync()
	ctx, cancel := context.WithCancel(e.ctx)
	m := e.newMailer(senderFunc(func(context.Context, mailer.Message) error {
		cancel()
		return context.Canceled
	}), e.recorder(), mailer.Options{})
	p, _ := m.Tick(ctx)
	if p.Attempted != 0 || p.Recorded != 0 {
		t.Fatalf("pass = %+v", p)
	}
	wantTrail(t, e.trail("n1"), "EmailRequested")
	if got := e.email(id); got.State != mailer.StateRequested || got.Attempts != 0 {
		t.Fatalf("%+v", got)
	}
}

// After a restart the read model may be behind the log (it is not synced on
// every commit). With Options.Head the first pass waits for it to catch up,
// so an email whose EmailSent is in the log is not sent again.
func TestFirstPassWaitsForTheOutboxToCatchUp(t *testing.T) {
	e := newEnv(t)
	id := e.request("o1", e.addr("x"), "Asunto", "Cuerpo")
	e.sync()
	e.stopRunner()
	// Sent and recorded by the previous life of the engine; the outbox has
	// not applied the record.
	if _, err := e.recorder().Record(e.ctx, testCategory+"-o1", mailer.Outcome{EmailID: id, Attempt: 1, Sent: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.email(id); got.State != mailer.StateRequested {
		t.Fatalf("the outbox is not behind: %+v", got)
	}
	// The restart: a new runner starts catching up, a new mailer starts.
	defer e.startRunner()()
	sender := counting(senderFunc(func(context.Context, mailer.Message) error { return nil }))
	m := e.newMailer(sender, e.recorder(), mailer.Options{Head: e.store.Head})
	if p := e.pass(m); p.Due != 0 || sender.count(id) != 0 {
		t.Fatalf("pass = %+v, sends %d", p, sender.count(id))
	}
	if got := e.email(id); got.State != mailer.StateSent {
		t.Fatalf("%+v", got)
	}
}
