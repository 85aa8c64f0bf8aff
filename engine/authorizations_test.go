package engine_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"redengine/auth"
	"redengine/config"
	"redengine/engine/enginetest"
	"redengine/eventstore"
)

func TestAuthorizationsEndToEnd(t *testing.T) {
	e := enginetest.New(t)
	admin := e.Token(auth.Admin, "root")
	ana := e.Token(auth.Autorizado, "ana")
	luis := e.Token(auth.Autorizado, "luis")

	body := map[string]any{"number": "1234567", "usuarioPrincipal": "ana", "users": []string{"luis"}, "cccs": []string{"28123456742"}}
	r := e.Do(enginetest.Request{Method: "POST", Path: "/v1/autorizaciones", Token: admin, Body: body,
		Headers: map[string]string{"Idempotency-Key": "reg-1"}}).Want(t, http.StatusCreated)
	pos := r.Header.Get("X-Position")
	if pos == "" {
		t.Fatal("no X-Position")
	}
	again := e.Do(enginetest.Request{Method: "POST", Path: "/v1/autorizaciones", Token: admin, Body: body,
		Headers: map[string]string{"Idempotency-Key": "reg-1"}}).Want(t, http.StatusCreated)
	if again.Header.Get("X-Position") != pos || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat: position %s (first %s), replayed %q", again.Header.Get("X-Position"), pos, again.Header.Get("Idempotent-Replayed"))
	}
	// Registered already: the state does not allow it (not a race to retry).
	if p := e.Post(admin, "/v1/autorizaciones", body).Want(t, http.StatusConflict).Map(t); p["kind"] != "precondition" {
		t.Errorf("a second registration: %v", p)
	}
	e.Post(ana, "/v1/autorizaciones", body).Want(t, http.StatusForbidden)
	bad := e.Post(admin, "/v1/autorizaciones", map[string]any{"number": "x-1", "cccs": []string{"28123456700"}}).Want(t, http.StatusBadRequest)
	if n := len(bad.Map(t)["errors"].([]any)); n != 3 {
		t.Errorf("want 3 field errors (number, usuarioPrincipal, cccs[0]), got %s", bad.Body)
	}

	e.Put(luis, "/v1/autorizaciones/1234567/contact", map[string]string{"email": "x@gestoria.es"}).Want(t, http.StatusForbidden)
	cr := e.Put(ana, "/v1/autorizaciones/1234567/contact", map[string]string{"email": "buzon@gestoria.es"}).Want(t, http.StatusOK)
	c, c2pos := cr.Map(t), cr.Header.Get("X-Position")
	if c["contactEmail"] != "buzon@gestoria.es" {
		t.Errorf("contact: %v", c)
	}
	e.Get(luis, "/v1/autorizaciones/1234567").Want(t, http.StatusOK)
	e.Get(e.Token(auth.Autorizado, "eva"), "/v1/autorizaciones/1234567").Want(t, http.StatusForbidden)
	e.Get(e.Token(auth.Autorizado, "luis", "999"), "/v1/autorizaciones/1234567").Want(t, http.StatusForbidden)

	// Read-your-writes: with minPosition the query waits for the read model.
	var mine struct {
		Items []struct{ Number string } `json:"items"`
	}
	e.Get(luis, "/v1/me/autorizaciones?minPosition="+c2pos).Want(t, http.StatusOK).JSON(t, &mine)
	if len(mine.Items) != 1 || mine.Items[0].Number != "1234567" {
		t.Errorf("luis's autorizaciones: %+v", mine)
	}
	e.Get(e.Token(auth.Autorizado, "luis", "999"), "/v1/me/autorizaciones").Want(t, http.StatusOK).JSON(t, &mine)
	if len(mine.Items) != 0 {
		t.Errorf("a claim must narrow: %+v", mine)
	}
}

func TestMinPositionTimesOut(t *testing.T) {
	e := enginetest.New(t, func(c *config.Config) { c.WaitTimeout = 50 * time.Millisecond })
	r := e.Get(e.Token(auth.Autorizado, "ana"), "/v1/me/autorizaciones?minPosition=999999").Want(t, http.StatusServiceUnavailable)
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	e.Get(e.Token(auth.Autorizado, "ana"), "/v1/me/autorizaciones?minPosition=abc").Want(t, http.StatusBadRequest)
}

func TestManualClock(t *testing.T) {
	e := enginetest.New(t)
	admin := e.Token(auth.Admin, "root")
	r := e.Post(admin, "/v1/admin/clock", map[string]string{"now": "2026-12-01T10:00:00+01:00"}).Want(t, http.StatusOK).Map(t)
	if r["now"] != "2026-12-01T09:00:00Z" {
		t.Errorf("now %v", r["now"])
	}
	e.Post(admin, "/v1/admin/clock", map[string]string{"now": "2026-11-30T10:00:00Z"}).Want(t, http.StatusConflict)
	// Year 9000 and later are refused: a deadline set there would end past
	// year 9999, which no RFC 3339 instant can name.
	far := e.Post(admin, "/v1/admin/clock", map[string]string{"now": "9999-12-31T23:59:59Z"}).Want(t, http.StatusBadRequest).Map(t)
	if errsOf, _ := far["errors"].([]any); len(errsOf) != 1 || errsOf[0].(map[string]any)["field"] != "now" {
		t.Errorf("the clock to year 9999: %v", far)
	}
	e.Post(admin, "/v1/admin/scheduler/run", nil).Want(t, http.StatusOK)

	sys := enginetest.New(t, func(c *config.Config) { c.Clock = "" })
	sys.Post(sys.Token(auth.Admin, "root"), "/v1/admin/clock", map[string]string{"now": "2027-01-01T00:00:00Z"}).Want(t, http.StatusNotFound)
}

func mustPos(t *testing.T, s string) eventstore.Position {
	t.Helper()
	p, err := eventstore.ParsePosition(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestActingForRightAfterRegistration: a user registered a moment ago who
// leaves out the autorización acts for it at once — the user's
// autorizaciones come from a read model, and an empty answer waits for it
// to reach the log's end before refusing.
func TestActingForRightAfterRegistration(t *testing.T) {
	e := enginetest.New(t)
	admin := e.Token(auth.Admin, "root")
	for i := range 20 {
		number, user := fmt.Sprintf("77%05d", i), fmt.Sprintf("recien-%d", i)
		e.Post(admin, "/v1/autorizaciones", map[string]any{"number": number, "usuarioPrincipal": user,
			"cccs": []string{"28123456742"}}).Want(t, http.StatusCreated)
		body := consulta("", "Primera consulta")
		delete(body, "authorization")
		var c struct{ Authorization string }
		e.Post(e.Token(auth.Autorizado, user), "/v1/cases", body).Want(t, http.StatusCreated).JSON(t, &c)
		if c.Authorization != number {
			t.Fatalf("%s acts for %q, want %s", user, c.Authorization, number)
		}
	}
	// Who belongs to none is still refused.
	body := consulta("", "Sin autorización")
	delete(body, "authorization")
	p := e.Post(e.Token(auth.Autorizado, "nadie"), "/v1/cases", body).Want(t, http.StatusForbidden).Map(t)
	if p["detail"] != "el usuario no pertenece a ninguna autorización" {
		t.Errorf("a user of no autorización: %v", p)
	}
}

// TestRefusalsAreLoggedWithTheRole: the request log names the caller's
// role on a refusal for that role too, so an operator sees who was
// refused.
func TestRefusalsAreLoggedWithTheRole(t *testing.T) {
	e := enginetest.New(t)
	r := e.Get(e.Token(auth.Autorizado, "ana"), "/v1/audit/verify").Want(t, http.StatusForbidden)
	rid := r.Header.Get("X-Request-Id")
	for line := range strings.Lines(e.Logs.String()) {
		var l struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
			Role      string `json:"role"`
			Status    int    `json:"status"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "request" || l.RequestID != rid {
			continue
		}
		if l.Status != http.StatusForbidden || l.Role != string(auth.Autorizado) {
			t.Errorf("the refusal's log line: %s", line)
		}
		return
	}
	t.Errorf("no log line of request %s in:\n%s", rid, e.Logs.String())
}

// TestBearerSchemeIsCaseInsensitive: "bearer" and "BEARER" name the same
// scheme (RFC 9110 §11.1); another scheme is still a 401.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	e := enginetest.New(t)
	tok := e.Token(auth.Auditor, "aud")
	for scheme, want := range map[string]int{"Bearer": http.StatusOK, "bearer": http.StatusOK, "BEARER": http.StatusOK,
		"Basic": http.StatusUnauthorized, "Bearer\t": http.StatusUnauthorized} {
		req, err := http.NewRequest(http.MethodGet, e.URL+"/v1/audit/verify", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", scheme+" "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("scheme %q: %d, want %d", scheme, resp.StatusCode, want)
		}
	}
}

// TestHeadWhereverGet: HEAD answers as GET does, without the body, with
// the same checks.
func TestHeadWhereverGet(t *testing.T) {
	e := enginetest.New(t)
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/metrics": http.StatusOK, "/v1/audit/verify": http.StatusUnauthorized} {
		resp, err := http.Head(e.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || len(body) != 0 {
			t.Errorf("HEAD %s: %d, %d bytes of body", path, resp.StatusCode, len(body))
		}
	}
	req, _ := http.NewRequest(http.MethodHead, e.URL+"/v1/audit/verify", nil)
	req.Header.Set("Authorization", "Bearer "+e.Token(auth.Auditor, "aud"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD /v1/audit/verify as auditor: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
