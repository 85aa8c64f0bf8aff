package stress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"redengine/auth"
	"redengine/eventstore"
	"redengine/fie/fietest"
	"redengine/mailer"
	"redengine/stress/load"
)

// crashSecret is the JWT secret of the child engines.
const crashSecret = "stress-secret-0123456789abcdef-xyz"

// crashCmd is one command the crash driver issued and what it knows of its
// outcome.
type crashCmd struct {
	kind   string
	sub    string
	token  string
	method string
	path   string
	body   []byte
	ctype  string
	key    string // Idempotency-Key and X-Correlation-ID
	status int    // last answer; 0 while the outcome is unknown
	onOK   func(*load.Response)
}

func (cc *crashCmd) commandID() string { return commandID(cc.sub, cc.method, cc.path, cc.key).String() }

// ownEvents is how many events the command itself writes with its command
// ID (-1: it varies).
func (cc *crashCmd) ownEvents() int {
	switch cc.kind {
	case "contact", "reply", "information":
		return 1
	case "inforeq":
		return 2 // InformationRequested and its EmailRequested
	case "resolve":
		return 2 // CaseResolved and its EmailRequested
	}
	return -1
}

type crashCase struct {
	id      string
	replies int
	pending bool // waiting on a requerimiento de información
}

// crashWorker is one client: it acts for its own autorización, on its own
// cases and NSS assignments.
type crashWorker struct {
	i     int
	aut   string
	sub   string
	seq   int
	cases []crashCase
	nss   []string
	// unknown is the command in flight when the server died.
	unknown *crashCmd
}

// crashWorld is the whole run: the workers, the tokens and every command
// issued.
type crashWorld struct {
	t       *testing.T
	run     string
	tk      *load.Tokens
	mu      sync.Mutex
	cmds    []*crashCmd
	workers []*crashWorker
}

func (w *crashWorld) record(cc *crashCmd) {
	w.mu.Lock()
	w.cmds = append(w.cmds, cc)
	w.mu.Unlock()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// next builds the worker's next command.
func (w *crashWorld) next(wk *crashWorker, rng *rand.Rand) *crashCmd {
	wk.seq++
	key := fmt.Sprintf("%s-w%d-%d", w.run, wk.i, wk.seq)
	user := w.tk.For(auth.Autorizado, wk.sub)
	tramSub := fmt.Sprintf("tram-%d", wk.i)
	tram := w.tk.For(auth.Tramitador, tramSub)
	cc := &crashCmd{key: key, method: http.MethodPost, sub: wk.sub, token: user}
	addCase := func(r *load.Response) {
		var out struct{ ID string }
		if r.Decode(&out) == nil {
			wk.cases = append(wk.cases, crashCase{id: out.ID})
		}
	}
	n := rng.IntN(100)
	switch {
	case len(wk.cases) == 0 || n < 15:
		cc.kind, cc.path = "open", "/v1/cases"
		cc.body = mustJSON(load.ConsultaBody(wk.aut, "Consulta "+key))
		cc.onOK = addCase
	case n < 20:
		body := load.ConsultaBody(wk.aut, "Verificación "+key)
		body["origin"] = "tgss"
		cc.kind, cc.path, cc.sub, cc.token = "tgss", "/v1/cases", tramSub, tram
		cc.body = mustJSON(body)
		cc.onOK = addCase
	case n < 35:
		// A requerimiento de información (tramitador), or its answer by the
		// autorizado when one is pending.
		ci := rng.IntN(len(wk.cases))
		id := wk.cases[ci].id
		if wk.cases[ci].pending {
			cc.kind, cc.path = "information", "/v1/cases/"+id+"/information"
			cc.body = mustJSON(map[string]string{"text": "Se aporta la documentación " + key})
		} else {
			cc.kind, cc.path, cc.sub, cc.token = "inforeq", "/v1/cases/"+id+"/information-requests", tramSub, tram
			cc.body = mustJSON(map[string]string{"text": "Aporte la documentación " + key})
		}
		pending := !wk.cases[ci].pending
		cc.onOK = func(*load.Response) {
			for j := range wk.cases {
				if wk.cases[j].id == id {
					wk.cases[j].pending = pending
				}
			}
		}
	case n < 55:
		ci := rng.IntN(len(wk.cases))
		cc.kind, cc.path = "reply", "/v1/cases/"+wk.cases[ci].id+"/replies"
		if wk.cases[ci].pending || rng.IntN(2) == 0 {
			cc.sub, cc.token = tramSub, tram // an autorizado answers a requerimiento, it does not reply
		}
		cc.body = mustJSON(map[string]string{"text": "Respuesta " + key})
		cc.onOK = func(*load.Response) {
			for j := range wk.cases {
				if "/v1/cases/"+wk.cases[j].id+"/replies" == cc.path {
					wk.cases[j].replies++
				}
			}
		}
	case n < 63:
		ci := rng.IntN(len(wk.cases))
		id := wk.cases[ci].id
		cc.kind, cc.path, cc.sub, cc.token = "resolve", "/v1/cases/"+id+"/resolve", tramSub, tram
		cc.body = mustJSON(map[string]string{"text": "Resolución " + key})
		cc.onOK = func(*load.Response) {
			for j := range wk.cases {
				if wk.cases[j].id == id {
					wk.cases = append(wk.cases[:j], wk.cases[j+1:]...)
					return
				}
			}
		}
	case n < 77:
		cc.kind, cc.method, cc.path = "contact", http.MethodPut, "/v1/autorizaciones/"+wk.aut+"/contact"
		cc.body = mustJSON(map[string]string{"email": fmt.Sprintf("buzon-%s@%s.stress.test", strings.ToLower(key), strings.ToLower(w.run))})
	case n < 93:
		if len(wk.nss) > 0 {
			id := wk.nss[0]
			cc.kind, cc.path = "nss.confirm", "/v1/nss-assignments/"+id+"/confirm"
			cc.onOK = func(*load.Response) { wk.nss = wk.nss[1:] }
			break
		}
		cc.kind, cc.path = "nss.request", "/v1/nss-assignments"
		cc.body = mustJSON(load.NSSBody(wk.aut, load.DNI(int64(wk.i)*1_000_000+int64(wk.seq)+10_000_000)))
		cc.onOK = func(r *load.Response) {
			var out struct{ ID string }
			if r.Decode(&out) == nil {
				wk.nss = append(wk.nss, out.ID)
			}
		}
	default:
		var buf bytes.Buffer
		if err := fietest.Generate(&buf, 1, 2, 1, int64(wk.i)*100_000+int64(wk.seq)); err != nil {
			panic(err)
		}
		cc.kind, cc.path, cc.sub, cc.token = "fie", "/v1/fie/imports", "inss-1", w.tk.For(auth.INSS, "inss-1")
		cc.body, cc.ctype = buf.Bytes(), "text/plain"
	}
	return cc
}

// send issues the command until it has an answer: 2xx, or a failure of
// the test. A 409 conflict (the pipeline gave up under contention) and a
// 503 are retried with the same key; a transport error (the server died)
// returns false with the outcome unknown.
func (w *crashWorld) send(ctx context.Context, c *load.Client, cc *crashCmd) bool {
	for attempt := 0; ; attempt++ {
		r, err := c.Do(ctx, load.Request{Method: cc.method, Path: cc.path, Token: cc.token, Body: cc.body, Type: cc.ctype,
			Key: cc.key, Correlation: cc.key})
		if err != nil {
			cc.status = 0
			return false
		}
		cc.status = r.Status
		if r.OK() {
			if cc.onOK != nil {
				cc.onOK(r)
			}
			return true
		}
		p := r.Problem()
		if (r.Status == http.StatusConflict && p.Kind == "conflict") || r.Status == http.StatusServiceUnavailable {
			if attempt < 50 {
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		w.t.Errorf("%s %s (%s, key %s): %s", cc.method, cc.path, cc.kind, cc.key, r)
		return true
	}
}

// drive runs every worker until the server dies (or ctx ends).
func (w *crashWorld) drive(ctx context.Context, c *load.Client, seed uint64) {
	var wg sync.WaitGroup
	for _, wk := range w.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(wk.i)))
			for ctx.Err() == nil {
				cc := w.next(wk, rng)
				w.record(cc)
				if !w.send(ctx, c, cc) {
					wk.unknown = cc
					return
				}
			}
		}()
	}
	wg.Wait()
}

// retryUnknown repeats, with the same keys, the commands whose outcome a
// crash hid: each must now succeed (as a first run or as a repeat).
func (w *crashWorld) retryUnknown(ctx context.Context, c *load.Client) (n int) {
	var wg sync.WaitGroup
	for _, wk := range w.workers {
		if wk.unknown == nil {
			continue
		}
		n++
		cc := wk.unknown
		wk.unknown = nil
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !w.send(ctx, c, cc) {
				w.t.Errorf("retry of %s %s after restart: no answer", cc.kind, cc.key)
			}
		}()
	}
	wg.Wait()
	return n
}

// checkCommands checks the journal against the log: a command answered
// 2xx has its events (by correlation ID, which the driver set to its key;
// the exact number for the kinds that write a fixed number), a command of
// unknown outcome has all of its events or none.
func (w *crashWorld) checkCommands(t *testing.T, evs []eventstore.Event) (ok, unknown int) {
	t.Helper()
	byCorr := byCorrelation(evs)
	byCmd := map[string]int{}
	for _, e := range evs {
		byCmd[e.Metadata.CommandID]++
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, cc := range w.cmds {
		own := byCmd[cc.commandID()]
		switch {
		case cc.status >= 200 && cc.status < 300:
			ok++
			if len(byCorr[cc.key]) == 0 {
				t.Errorf("%s %s got %d but no event of it is in the log", cc.kind, cc.key, cc.status)
			}
			if want := cc.ownEvents(); want >= 0 && own != want {
				t.Errorf("%s %s got %d and has %d events, want %d:%s", cc.kind, cc.key, cc.status, own, want, describeEvents(byCorr[cc.key]))
			}
		case cc.status == 0:
			unknown++
			if want := cc.ownEvents(); want >= 0 && own != 0 && own != want {
				t.Errorf("%s %s (outcome unknown) left %d of its %d events: half a command", cc.kind, cc.key, own, want)
			}
		}
	}
	return ok, unknown
}

// TestCrashSafety kills `redengine serve` with SIGKILL at random moments
// while clients send commands, restarts it and checks, after every crash,
// that nothing acknowledged was lost, nothing was written twice, the hash
// chain holds and every projection converges to a rebuild; at the end,
// that every email reached Mailpit once. 3 cycles; REDENGINE_STRESS=1: 20
// (REDENGINE_STRESS_CYCLES to change).
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cycles := envInt("REDENGINE_STRESS_CYCLES", pick(3, 20))
	smtp, mailpit := os.Getenv("REDENGINE_TEST_SMTP"), strings.TrimRight(os.Getenv("REDENGINE_TEST_MAILPIT"), "/")
	vars := []string{"REDENGINE_JWT_SECRET=" + crashSecret, "REDENGINE_SMTP_FROM=casia@redengine.test"}
	if smtp != "" && mailpit != "" {
		vars = append(vars, "REDENGINE_SMTP_ADDR="+smtp)
	}
	dataDir := t.TempDir()
	tk, err := load.NewTokens(crashSecret, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	run := fmt.Sprintf("R%06d", time.Now().UnixNano()%1_000_000)
	w := &crashWorld{t: t, run: run, tk: tk}
	const workers = 6
	t0 := time.Now()
	srv := startProc(t, dataDir, vars...)
	t.Logf("build and first start: %s", time.Since(t0).Round(time.Millisecond))
	c := load.NewClient(srv.URL, workers*2)
	admin := tk.For(auth.Admin, "root")
	for i := range workers {
		wk := &crashWorker{i: i, aut: fmt.Sprintf("%sS%d", run, i), sub: fmt.Sprintf("%s-u%d", strings.ToLower(run), i)}
		r, err := c.Do(ctx, load.Request{Method: http.MethodPost, Path: "/v1/autorizaciones", Token: admin, Key: "reg-" + wk.aut,
			Body: map[string]any{"number": wk.aut, "usuarioPrincipal": wk.sub, "cccs": []string{load.CCC},
				"contactEmail": fmt.Sprintf("buzon-%s@%s.stress.test", strings.ToLower(wk.aut), strings.ToLower(run))}})
		if err != nil || r.Status != http.StatusCreated {
			t.Fatalf("register: %v %v", err, r)
		}
		w.workers = append(w.workers, wk)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for cycle := range cycles {
		if cycle > 0 {
			srv = startProc(t, dataDir, vars...)
			c = load.NewClient(srv.URL, workers*2)
		}
		retried := w.retryUnknown(ctx, c)
		runFor := time.Duration(200+rng.IntN(pick(1000, 2500))) * time.Millisecond
		dctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			w.drive(dctx, c, uint64(cycle))
			close(done)
		}()
		time.Sleep(runFor)
		srv.kill() // SIGKILL, mid-flight
		<-done
		cancel()
		t0 := time.Now()
		snap := copyDir(t, dataDir)
		evs := readLogFile(ctx, t, snap)
		ok, unknown := w.checkCommands(t, evs)
		checkNoDuplicates(t, evs)
		t1 := time.Now()
		checkChain(ctx, t, snap)
		t2 := time.Now()
		live := checkProjectionsConverge(ctx, t, dataConfig(snap))
		t.Logf("cycle %d: killed after %s; %d events, %d commands acknowledged, %d in flight at the kill, %d retried after the restart; %d projections = rebuild (checks: log %s, chain %s, projections %s)",
			cycle+1, runFor, len(evs), ok, unknown, retried, len(live), t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
		if t.Failed() {
			t.FailNow()
		}
	}

	// Last start: the in-flight commands are retried, the mailer drains the
	// outbox, then a graceful stop.
	srv = startProc(t, dataDir, vars...)
	c = load.NewClient(srv.URL, workers*2)
	w.retryUnknown(ctx, c)
	var requested []string
	if smtp != "" && mailpit != "" {
		t0 := time.Now()
		requested = w.waitForEmails(ctx, t, c, mailpit)
		t.Logf("emails in Mailpit after %s", time.Since(t0).Round(time.Millisecond))
	}
	srv.stop()
	evs := readLogFile(ctx, t, dataDir)
	ok, unknown := w.checkCommands(t, evs)
	if unknown != 0 {
		t.Errorf("%d commands still of unknown outcome", unknown)
	}
	checkNoDuplicates(t, evs)
	checkChain(ctx, t, dataDir)
	checkProjectionsConverge(ctx, t, dataConfig(copyDir(t, dataDir)))
	if mailpit != "" && smtp != "" {
		checkMailpit(ctx, t, mailpit, evs, requested)
	} else {
		t.Log("REDENGINE_TEST_SMTP / REDENGINE_TEST_MAILPIT not set: email delivery not checked")
	}
	kinds := map[string]int{}
	for _, cc := range w.cmds {
		if cc.status >= 200 && cc.status < 300 {
			kinds[cc.kind]++
		}
	}
	t.Logf("end: %d events, %d commands acknowledged over %d crashes: %v", len(evs), ok, cycles, kinds)
}

// waitForEmails waits (bounded) until every email requested in the log is
// in Mailpit, reading the log through the audit route of the cases the
// driver opened, and returns their IDs.
func (w *crashWorld) waitForEmails(ctx context.Context, t *testing.T, c *load.Client, mailpit string) []string {
	t.Helper()
	auditor := w.tk.For(auth.Auditor, "aud-1")
	var streams []string
	w.mu.Lock()
	for _, cc := range w.cmds {
		if (cc.kind == "open" || cc.kind == "tgss") && cc.status >= 200 && cc.status < 300 {
			streams = append(streams, "case-"+commandIDCase(cc))
		}
	}
	w.mu.Unlock()
	var ids []string
	for _, s := range streams {
		for _, e := range auditStream(ctx, t, c, auditor, s) {
			if e.Type == mailer.TypeEmailRequested {
				var d struct {
					EmailID string `json:"emailId"`
				}
				if err := json.Unmarshal(e.Data, &d); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, d.EmailID)
			}
		}
	}
	eventually(t, fmt.Sprintf("%d emails in Mailpit", len(ids)), 2*time.Minute, func() bool {
		for _, id := range ids {
			if len(mailpitByMessageID(t, mailpit, id)) == 0 {
				return false
			}
		}
		return true
	})
	return ids
}

// commandIDCase is the ID of the case an opening command created
// (api.Cases.open derives it from the command ID).
func commandIDCase(cc *crashCmd) string {
	return caseIDOf(commandID(cc.sub, cc.method, cc.path, cc.key))
}

// checkMailpit checks that every email requested in the log was delivered
// exactly once as far as Mailpit shows: one message per Message-ID
// (redeliveries after a crash between sending and recording the outcome
// carry the same Message-ID, and Mailpit keeps one).
func checkMailpit(ctx context.Context, t *testing.T, mailpit string, evs []eventstore.Event, requested []string) {
	t.Helper()
	sent := map[string]int{}
	for _, e := range evs {
		if e.Type == mailer.TypeEmailSent {
			var d struct {
				EmailID string `json:"emailId"`
			}
			_ = json.Unmarshal(e.Data, &d)
			sent[d.EmailID]++
		}
	}
	redelivered := 0
	for _, id := range requested {
		if n := len(mailpitByMessageID(t, mailpit, id)); n != 1 {
			t.Errorf("email %s: %d messages in Mailpit, want 1", id, n)
		}
		if sent[id] == 0 {
			t.Errorf("email %s is in Mailpit but its EmailSent is not in the log", id)
		}
		if sent[id] > 1 {
			redelivered++
		}
	}
	t.Logf("%d emails requested, each once in Mailpit; %d recorded as sent more than once (deduplicated by Message-ID)", len(requested), redelivered)
}

// mailpitByMessageID returns the Mailpit IDs of the messages with the
// Message-ID of an email.
func mailpitByMessageID(t testing.TB, mailpit, emailID string) []string {
	t.Helper()
	mid := mailer.MessageID(emailID)
	resp, err := http.Get(mailpit + "/api/v1/search?query=" + url.QueryEscape("message-id:"+mid))
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	defer resp.Body.Close()
	var res struct {
		Messages []struct {
			ID        string `json:"ID"`
			MessageID string `json:"MessageID"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	var out []string
	for _, m := range res.Messages {
		if m.MessageID == mid {
			out = append(out, m.ID)
		}
	}
	return out
}
