package stress

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"

	"redengine/api"
	"redengine/auth"
	"redengine/config"
	"redengine/engine/enginetest"
	"redengine/stress/load"
)

// clients is how many clients race on one aggregate.
const clients = 50

// noSMTP keeps the mailer out: email outcomes would add events to the
// streams compared.
func noSMTP(c *config.Config) { c.SMTPAddr = "" }

// conflictCmd is one client's command and what became of it.
type conflictCmd struct {
	name   string // reply, resolve, contact
	sub    string
	token  string
	method string
	path   string
	body   any
	key    string

	accepted  bool
	attempts  int
	conflicts int    // 409 conflict answers, retried with the same key
	refusal   string // the final 409 kind when not accepted
}

// run sends the command until it is accepted or refused for good: a 409
// "conflict" (the pipeline gave up after its retries) is retried with the
// same Idempotency-Key; a 409 "precondition" is a final refusal; anything
// else fails the test.
func (cc *conflictCmd) run(ctx context.Context, t *testing.T, c *load.Client) {
	for cc.attempts < 100 {
		cc.attempts++
		r, err := c.Do(ctx, load.Request{Method: cc.method, Path: cc.path, Token: cc.token, Key: cc.key, Body: cc.body})
		if err != nil {
			t.Errorf("%s %s: %v", cc.method, cc.path, err)
			return
		}
		if r.OK() {
			cc.accepted = true
			return
		}
		p := r.Problem()
		if r.Status != http.StatusConflict || p.Status != http.StatusConflict {
			t.Errorf("%s %s (%s): refusal is not a 409 problem: %s", cc.method, cc.path, cc.name, r)
			return
		}
		switch p.Kind {
		case "conflict":
			cc.conflicts++
			continue
		case "precondition":
			cc.refusal = p.Kind
			return
		default:
			t.Errorf("%s %s: 409 of kind %q", cc.method, cc.path, p.Kind)
			return
		}
	}
	t.Errorf("%s %s: still in conflict after %d attempts", cc.method, cc.path, cc.attempts)
}

// race runs every command at once (released together) and waits. A
// command for which holdBack is true waits until afterAccepted other
// commands have been accepted (so it lands in the middle of the race).
func race(ctx context.Context, t *testing.T, c *load.Client, cmds []*conflictCmd, holdBack func(*conflictCmd) bool, afterAccepted int) {
	var wg sync.WaitGroup
	start, middle := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	accepted := 0
	if afterAccepted == 0 {
		close(middle)
	}
	for _, cc := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if holdBack != nil && holdBack(cc) {
				<-middle
			}
			cc.run(ctx, t, c)
			if cc.accepted {
				mu.Lock()
				if accepted++; accepted == afterAccepted {
					close(middle)
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
}

// inLogOrder returns the accepted commands in the order their events stand
// in the stream, checking on the way that every accepted command has its
// events (wantEvents of them, contiguous) and no refused command has any.
func inLogOrder(t *testing.T, events []api.AuditEvent, cmds []*conflictCmd, wantEvents func(*conflictCmd) int) []*conflictCmd {
	t.Helper()
	byID := map[string]*conflictCmd{}
	for _, cc := range cmds {
		byID[commandID(cc.sub, cc.method, cc.path, cc.key).String()] = cc
	}
	count := map[*conflictCmd]int{}
	var order []*conflictCmd
	var last *conflictCmd
	for _, e := range events {
		cc, ok := byID[e.Metadata.CommandID]
		if !ok {
			last = nil
			continue
		}
		if count[cc] > 0 && last != cc {
			t.Errorf("events of command %s (%s) are not contiguous", cc.key, cc.name)
		}
		if count[cc] == 0 {
			order = append(order, cc)
		}
		count[cc]++
		last = cc
	}
	accepted := 0
	for _, cc := range cmds {
		switch {
		case cc.accepted:
			accepted++
			if count[cc] != wantEvents(cc) {
				t.Errorf("accepted %s %s has %d events, want %d", cc.name, cc.key, count[cc], wantEvents(cc))
			}
		case count[cc] > 0:
			t.Errorf("refused %s %s has %d events in the log", cc.name, cc.key, count[cc])
		}
	}
	if len(order) != accepted {
		t.Errorf("%d commands in the log, %d accepted", len(order), accepted)
	}
	return order
}

// replay runs commands one at a time on e, each of which must be accepted.
func replay(ctx context.Context, t *testing.T, c *load.Client, cmds []*conflictCmd) {
	t.Helper()
	for _, cc := range cmds {
		r, err := c.Do(ctx, load.Request{Method: cc.method, Path: cc.path, Token: cc.token, Key: cc.key, Body: cc.body})
		if err != nil || !r.OK() {
			t.Fatalf("serial replay of %s %s: %v %v", cc.name, cc.key, err, r)
		}
	}
}

// eventsShape is what two logs of the same commands must share: IDs (from
// the command IDs), types, data and command IDs, revision by revision.
func eventsShape(evs []api.AuditEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%d %s %s %s %s", e.Revision, e.ID, e.Type, e.Metadata.CommandID, e.Data)
	}
	return out
}

// TestConflictsContact: 50 usuarios principales' sessions set the contact
// email of one autorización at once, each a different address.
func TestConflictsContact(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := enginetest.New(t, noSMTP)
	c := load.NewClient(e.URL, clients)
	tk, err := load.NewTokens(enginetest.Secret, e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	admin, principal := tk.For(auth.Admin, "root"), tk.For(auth.Autorizado, "ppal")
	register := func(c *load.Client) {
		r, err := c.Do(ctx, load.Request{Method: http.MethodPost, Path: "/v1/autorizaciones", Token: admin, Key: "reg",
			Body: map[string]any{"number": "C0001", "usuarioPrincipal": "ppal"}})
		if err != nil || r.Status != http.StatusCreated {
			t.Fatalf("register: %v %v", err, r)
		}
	}
	register(c)
	var cmds []*conflictCmd
	for i := range clients {
		cmds = append(cmds, &conflictCmd{name: "contact", sub: "ppal", token: principal, method: http.MethodPut,
			path: "/v1/autorizaciones/C0001/contact", key: fmt.Sprintf("contact-%d", i),
			body: map[string]string{"email": fmt.Sprintf("buzon%02d@gestoria.test", i)}})
	}
	race(ctx, t, c, cmds, nil, 0)
	conflicts := 0
	for _, cc := range cmds {
		conflicts += cc.conflicts
		if !cc.accepted {
			t.Errorf("contact %s refused for good (%s): every change of address is allowed", cc.key, cc.refusal)
		}
	}
	events := auditStream(ctx, t, c, admin, "autorizacion-C0001")
	if len(events) != 1+clients {
		t.Errorf("%d events, want the registration and %d changes", len(events), clients)
	}
	order := inLogOrder(t, events, cmds, func(*conflictCmd) int { return 1 })
	got := getJSON(ctx, t, c, admin, "/v1/autorizaciones/C0001")
	if last := order[len(order)-1].body.(map[string]string)["email"]; got["contactEmail"] != last {
		t.Errorf("final contact %v, the last accepted change in the log set %s", got["contactEmail"], last)
	}

	// Serial replay on a fresh engine, in log order.
	e2 := enginetest.New(t, noSMTP)
	c2 := load.NewClient(e2.URL, 1)
	register(c2)
	replay(ctx, t, c2, order)
	if want := getJSON(ctx, t, c2, admin, "/v1/autorizaciones/C0001"); !reflect.DeepEqual(got, want) {
		t.Errorf("final state %v, serial replay %v", got, want)
	}
	if a, b := eventsShape(events), eventsShape(auditStream(ctx, t, c2, admin, "autorizacion-C0001")); !slices.Equal(a, b) {
		t.Errorf("log differs from the serial replay's:\n%v\n%v", a, b)
	}
	t.Logf("%d clients: %d accepted, %d pipeline give-ups (409 conflict) retried by the clients", clients, len(order), conflicts)
}

// TestConflictsCase: 50 clients act on one case at once — replies by the
// autorizado and by tramitadores, and resolutions. One resolution wins; the
// replies that come after it in the log could not exist, and the others are
// refused with a 409 precondition problem.
func TestConflictsCase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := enginetest.New(t, noSMTP)
	c := load.NewClient(e.URL, clients)
	tk, err := load.NewTokens(enginetest.Secret, e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	admin, user := tk.For(auth.Admin, "root"), tk.For(auth.Autorizado, "ppal")
	var caseID string
	setup := func(c *load.Client) {
		r, err := c.Do(ctx, load.Request{Method: http.MethodPost, Path: "/v1/autorizaciones", Token: admin, Key: "reg",
			Body: map[string]any{"number": "C0002", "usuarioPrincipal": "ppal", "cccs": []string{load.CCC}, "contactEmail": "buzon@gestoria.test"}})
		if err != nil || r.Status != http.StatusCreated {
			t.Fatalf("register: %v %v", err, r)
		}
		r, err = c.Do(ctx, load.Request{Method: http.MethodPost, Path: "/v1/cases", Token: user, Key: "open",
			Body: load.ConsultaBody("C0002", "Consulta disputada")})
		if err != nil || r.Status != http.StatusCreated {
			t.Fatalf("open: %v %v", err, r)
		}
		var out struct{ ID string }
		if err := r.Decode(&out); err != nil {
			t.Fatal(err)
		}
		if caseID != "" && out.ID != caseID {
			t.Fatalf("the replay opened case %s, the original %s (case IDs derive from the idempotency key)", out.ID, caseID)
		}
		caseID = out.ID
	}
	setup(c)
	var cmds []*conflictCmd
	for i := range clients {
		cc := &conflictCmd{method: http.MethodPost, key: fmt.Sprintf("k-%d", i)}
		switch {
		case i%10 == 9:
			cc.name, cc.sub = "resolve", fmt.Sprintf("tram-%d", i)
			cc.path, cc.body = "/v1/cases/"+caseID+"/resolve", map[string]string{"text": fmt.Sprintf("Resolución %d", i)}
			cc.token = tk.For(auth.Tramitador, cc.sub)
		case i%2 == 0:
			cc.name, cc.sub, cc.token = "reply", "ppal", user
			cc.path, cc.body = "/v1/cases/"+caseID+"/replies", map[string]string{"text": fmt.Sprintf("Respuesta %d del autorizado", i)}
		default:
			cc.name, cc.sub = "reply", fmt.Sprintf("tram-%d", i)
			cc.path, cc.body = "/v1/cases/"+caseID+"/replies", map[string]string{"text": fmt.Sprintf("Respuesta %d de la TGSS", i)}
			cc.token = tk.For(auth.Tramitador, cc.sub)
		}
		cmds = append(cmds, cc)
	}
	// The resolutions wait until 15 replies are in, then race the rest.
	race(ctx, t, c, cmds, func(cc *conflictCmd) bool { return cc.name == "resolve" }, 15)
	resolved, conflicts, refused := 0, 0, 0
	for _, cc := range cmds {
		conflicts += cc.conflicts
		if cc.accepted && cc.name == "resolve" {
			resolved++
		}
		if !cc.accepted {
			refused++
		}
	}
	if resolved != 1 {
		t.Errorf("%d resolutions accepted, want exactly 1", resolved)
	}
	stream := "case-" + caseID
	events := auditStream(ctx, t, c, admin, stream)
	order := inLogOrder(t, events, cmds, func(cc *conflictCmd) int {
		if cc.name == "resolve" {
			return 2 // CaseResolved and the email to the contact address
		}
		return 1
	})
	if n := len(order); n == 0 || order[n-1].name != "resolve" {
		t.Errorf("the resolution is not the last accepted command in the log")
	}
	got := getJSON(ctx, t, c, admin, "/v1/cases/"+caseID)
	if got["state"] != "resuelto" {
		t.Errorf("state %v", got["state"])
	}

	e2 := enginetest.New(t, noSMTP)
	c2 := load.NewClient(e2.URL, 1)
	setup(c2)
	replay(ctx, t, c2, order)
	want := getJSON(ctx, t, c2, admin, "/v1/cases/"+caseID)
	delete(got, "position")
	delete(want, "position")
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("final state differs from the serial replay:\n%s\n%s", g, w)
	}
	if a, b := eventsShape(events), eventsShape(auditStream(ctx, t, c2, admin, stream)); !slices.Equal(a, b) {
		t.Errorf("log differs from the serial replay's:\n%v\n%v", a, b)
	}
	t.Logf("%d clients: %d accepted (1 resolution), %d refused with 409 precondition, %d pipeline give-ups retried",
		clients, len(order), refused, conflicts)
}
