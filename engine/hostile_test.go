package engine_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"redengine/auth"
	"redengine/config"
	"redengine/engine/enginetest"
)

// TestHostileInputChangesNothing sends malformed bodies to the real command
// routes: every one is a 4xx problem, the log does not move, and the server
// keeps answering.
func TestHostileInputChangesNothing(t *testing.T) {
	e := enginetest.New(t, func(c *config.Config) { c.MaxBodyBytes = 64 << 10 })
	admin := e.Token(auth.Admin, "root")
	e.Post(admin, "/v1/autorizaciones", map[string]any{"number": "1000001", "usuarioPrincipal": "ana"}).Want(t, http.StatusCreated)
	tokens := map[string]string{
		"/v1/autorizaciones":      admin,
		"/v1/cases":               e.Token(auth.Autorizado, "ana"),
		"/v1/nss-assignments":     e.Token(auth.Autorizado, "ana"),
		"/v1/fie/records":         e.Token(auth.INSS, "inss"),
		"/v1/fier/exports":        e.Token(auth.Autorizado, "ana"),
		"/v1/admin/clock":         admin,
		"/v1/admin/scheduler/run": admin,
	}
	bodies := []struct {
		name, ctype, body string
	}{
		{"oversized", "application/json", `{"subject":"` + strings.Repeat("x", 70<<10) + `"}`},
		{"deep", "application/json", strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)},
		{"wrong content type", "text/xml", `<caso/>`},
		{"unknown field", "application/json", `{"evil":true}`},
		{"invalid utf-8", "application/json", "{\"subject\":\"\xc3\x28\"}"},
		{"huge number", "application/json", `{"number":1e999999}`},
		{"not json", "application/json", `{{{`},
		{"empty", "application/json", ``},
	}
	head := func() string {
		h, err := e.Store.Head(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return h.String()
	}
	before := head()
	for path, tok := range tokens {
		if path == "/v1/admin/scheduler/run" {
			continue // takes no body
		}
		for _, b := range bodies {
			r := e.Do(enginetest.Request{Method: http.MethodPost, Path: path, Token: tok, Body: b.body, Type: b.ctype})
			if r.Status < 400 || r.Status >= 500 || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("POST %s %s: %d %s", path, b.name, r.Status, r.Header.Get("Content-Type"))
			}
		}
	}
	// X-Request-Id becomes the causation ID in the hash-chained log: one
	// that is too long or not visible ASCII is refused, with a fresh ID.
	for name, id := range map[string]string{"too long": strings.Repeat("r", 129), "a space": "req 1", "not ascii": "petición-1"} {
		r := e.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/cases", Token: tokens["/v1/cases"], Body: `{}`,
			Headers: map[string]string{"X-Request-Id": id}})
		p := r.Map(t)
		errsOf, _ := p["errors"].([]any)
		if r.Status != http.StatusBadRequest || len(errsOf) != 1 || errsOf[0].(map[string]any)["field"] != "X-Request-Id" ||
			r.Header.Get("X-Request-Id") == id || r.Header.Get("X-Request-Id") == "" {
			t.Errorf("X-Request-Id %s: %d %v (answered X-Request-Id %q)", name, r.Status, p, r.Header.Get("X-Request-Id"))
		}
	}
	// A name repeated in one object is ambiguous (readers differ on which
	// one counts): 400 naming it.
	dup := e.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/cases", Token: tokens["/v1/cases"],
		Body: `{"subject":"a","body":"b","subject":"c"}`, Type: "application/json"})
	if p := dup.Map(t); dup.Status != http.StatusBadRequest || fmt.Sprint(p["errors"]) != "[map[field:subject reason:nombre repetido en el mismo objeto JSON: cada campo va una sola vez]]" {
		t.Errorf("a repeated name: %d %v", dup.Status, p)
	}
	// … also in another case: encoding/json would fill subject from either.
	dup = e.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/cases", Token: tokens["/v1/cases"],
		Body: `{"subject":"a","body":"b","Subject":"c"}`, Type: "application/json"})
	if p := dup.Map(t); dup.Status != http.StatusBadRequest || fmt.Sprint(p["errors"]) != "[map[field:Subject reason:nombre repetido en el mismo objeto JSON: cada campo va una sola vez]]" {
		t.Errorf("a name repeated in another case: %d %v", dup.Status, p)
	}
	// An unknown origin is bad input (400 naming it), not a refusal.
	for _, tok := range []string{tokens["/v1/cases"], e.Token(auth.Tramitador, "tram")} {
		p := e.Post(tok, "/v1/cases", map[string]any{"origin": "bogus", "authorization": "1000001"}).Want(t, http.StatusBadRequest).Map(t)
		if errsOf, _ := p["errors"].([]any); len(errsOf) != 1 || errsOf[0].(map[string]any)["field"] != "origin" {
			t.Errorf("origin bogus: %v", p)
		}
	}
	// A date range that ends before it starts is a 400 naming its end, not
	// an empty page.
	comp := e.Token(auth.Compliance, "comp")
	for path, end := range map[string]string{
		"/v1/cases?openedFrom=2026-12-01&openedTo=2026-01-01":        "openedTo",
		"/v1/desistimientos?from=2026-12-01&to=2026-01-01":           "to",
		"/v1/nss-assignments?from=2026-12-01&to=2026-01-01":          "to",
		"/v1/nss-eliminations?from=2026-12-01&to=2026-01-01":         "to",
		"/v1/nss-eliminations?from=2026-12-01&to=2026-12-01&limit=1": "",
	} {
		r := e.Get(comp, path)
		if end == "" {
			r.Want(t, http.StatusOK) // one day: from = to
			continue
		}
		p := r.Want(t, http.StatusBadRequest).Map(t)
		if errsOf, _ := p["errors"].([]any); len(errsOf) != 1 || errsOf[0].(map[string]any)["field"] != end {
			t.Errorf("GET %s: %v", path, p)
		}
	}
	// A command that takes no body refuses one, rather than ignore it.
	for _, body := range []string{`garbage`, `[]`, `{"text":"x"}`} {
		for _, path := range []string{"/v1/admin/scheduler/run", "/v1/nss-assignments/00000000-0000-0000-0000-000000000000/confirm"} {
			tok := admin
			if strings.HasPrefix(path, "/v1/nss") {
				tok = tokens["/v1/nss-assignments"]
			}
			r := e.Do(enginetest.Request{Method: http.MethodPost, Path: path, Token: tok, Body: body, Type: "application/json"})
			if p := r.Map(t); r.Status != http.StatusBadRequest || p["detail"] != "esta operación no lleva cuerpo: envíela vacía (o {})" {
				t.Errorf("POST %s with %s: %d %v", path, body, r.Status, p)
			}
		}
	}
	for _, body := range []string{``, `{}`, ` null `} {
		e.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/admin/scheduler/run", Token: admin, Body: body, Type: "application/json"}).Want(t, http.StatusOK)
	}
	// A query Go would read only in part (a ';', a bad %-escape) is
	// refused, not read without the pair that held the filter.
	for _, q := range []string{"limit=0;x", "limit=%ZZ", "minPosition=99999999;", "cursor=garbage;"} {
		r := e.Get(tokens["/v1/cases"], "/v1/cases?"+q)
		if p := r.Map(t); r.Status != http.StatusBadRequest || !strings.Contains(p["detail"].(string), "la consulta de la URL no es válida") {
			t.Errorf("GET /v1/cases?%s: %d %v", q, r.Status, p)
		}
	}
	e.Get(tokens["/v1/cases"], "/v1/cases?limit=5&materia="+url.QueryEscape("Recaudación; otra")).Want(t, http.StatusOK)
	if after := head(); after != before {
		t.Errorf("hostile input moved the log from %s to %s", before, after)
	}
	ok := e.Do(enginetest.Request{Method: http.MethodGet, Path: "/healthz", Headers: map[string]string{"X-Request-Id": "req-xyz/789=="}}).Want(t, http.StatusOK)
	if got := ok.Header.Get("X-Request-Id"); got != "req-xyz/789==" {
		t.Errorf("a valid X-Request-Id is echoed: got %q", got)
	}
}
