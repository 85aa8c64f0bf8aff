package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"redengine/auth"
	"redengine/clock"
	"redengine/config"
)

type echoModule struct{}

func (echoModule) Routes() []Route {
	type body struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	return []Route{{
		Method: http.MethodPost, Path: "/v1/test/upload", Roles: []auth.Role{auth.Tramitador}, MaxBody: 4096,
		Handler: func(c echo.Context) error {
			var b body
			if err := decodeJSON(c, &b); err != nil {
				return err
			}
			return c.JSON(http.StatusOK, b)
		},
	}, {
		Method: http.MethodPost, Path: "/v1/test/echo", Roles: []auth.Role{auth.Tramitador},
		Handler: func(c echo.Context) error {
			var b body
			if err := decodeJSON(c, &b); err != nil {
				return err
			}
			return c.JSON(http.StatusOK, b)
		},
	}}
}

func newTestServer(t *testing.T, cfg config.Config) (*httptest.Server, *auth.Issuer, *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	iss, err := auth.NewIssuer("0123456789abcdef0123456789abcdef", clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Config: cfg, Clock: clk, Issuer: iss, Modules: []Module{echoModule{}}, OpenAPI: []byte("openapi: 3.1.0\n")})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, iss, clk
}

func do(t *testing.T, method, url, token, ctype, body string) (*http.Response, Problem) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var p Problem
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s: status %d with content type %q, want problem+json", method, url, resp.StatusCode, ct)
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("problem body %q: %v", raw, err)
		}
		if resp.Header.Get("X-Request-Id") == "" || p.RequestID == "" {
			t.Errorf("no request id on error response")
		}
	}
	return resp, p
}

func TestHealthAndReady(t *testing.T) {
	ts, _, _ := newTestServer(t, config.Default())
	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml", "/metrics"} {
		resp, _ := do(t, "GET", ts.URL+path, "", "", "")
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no X-Request-Id", path)
		}
	}
}

func TestAuthentication(t *testing.T) {
	ts, iss, clk := newTestServer(t, config.Default())
	good, _ := iss.Issue(auth.Principal{Subject: "t1", Role: auth.Tramitador}, time.Hour)
	wrongRole, _ := iss.Issue(auth.Principal{Subject: "a1", Role: auth.Autorizado}, time.Hour)
	other, _ := auth.NewIssuer("another-secret-another-secret-00", clk.Now)
	badSig, _ := other.Issue(auth.Principal{Subject: "t1", Role: auth.Tramitador}, time.Hour)
	short, _ := iss.Issue(auth.Principal{Subject: "t1", Role: auth.Tramitador}, time.Minute)
	body := `{"name":"x","count":1}`
	cases := []struct {
		name, token string
		status      int
		kind        string
	}{
		{"no token", "", 401, "unauthenticated"},
		{"garbage", "not-a-jwt", 401, "unauthenticated"},
		{"bad signature", badSig, 401, "unauthenticated"},
		{"wrong role", wrongRole, 403, "forbidden"},
		{"good", good, 200, ""},
	}
	for _, c := range cases {
		resp, p := do(t, "POST", ts.URL+"/v1/test/echo", c.token, "application/json", body)
		if resp.StatusCode != c.status || p.Kind != c.kind {
			t.Errorf("%s: got %d %q, want %d %q", c.name, resp.StatusCode, p.Kind, c.status, c.kind)
		}
	}
	clk.Advance(2 * time.Minute)
	resp, p := do(t, "POST", ts.URL+"/v1/test/echo", short, "application/json", body)
	if resp.StatusCode != 401 || !strings.Contains(p.Detail, "caducado") {
		t.Errorf("expired token: %d %+v", resp.StatusCode, p)
	}
}

func TestHostileInput(t *testing.T) {
	cfg := config.Default()
	cfg.MaxBodyBytes = 1024
	ts, iss, _ := newTestServer(t, cfg)
	tok, _ := iss.Issue(auth.Principal{Subject: "t1", Role: auth.Tramitador}, time.Hour)
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	cases := []struct {
		name, ctype, body string
		status            int
		field             string
	}{
		{"wrong content type", "text/plain", `{"name":"x"}`, 415, ""},
		{"no content type", "", `{"name":"x"}`, 415, ""},
		{"oversized", "application/json", `{"name":"` + strings.Repeat("a", 2000) + `"}`, 413, ""},
		{"unknown field", "application/json", `{"name":"x","evil":1}`, 400, "evil"},
		{"wrong type", "application/json", `{"name":1}`, 400, "name"},
		{"huge number", "application/json", `{"count":1e400}`, 400, ""},
		{"int overflow", "application/json", `{"count":99999999999999999999999}`, 400, "count"},
		{"deep", "application/json", deep, 400, ""},
		{"invalid utf8", "application/json", "{\"name\":\"\xff\xfe\"}", 400, ""},
		{"trailing", "application/json", `{"name":"x"} {}`, 400, ""},
		{"empty", "application/json", ``, 400, ""},
		{"malformed", "application/json", `{"name":`, 400, ""},
	}
	for _, c := range cases {
		resp, p := do(t, "POST", ts.URL+"/v1/test/echo", tok, c.ctype, c.body)
		if resp.StatusCode != c.status || p.Kind != "invalid" {
			t.Errorf("%s: got %d %q (%s), want %d invalid", c.name, resp.StatusCode, p.Kind, p.Detail, c.status)
			continue
		}
		if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field) {
			t.Errorf("%s: errors %+v, want field %q", c.name, p.Errors, c.field)
		}
	}
	big := `{"name":"` + strings.Repeat("a", 2000) + `"}`
	if resp, _ := do(t, "POST", ts.URL+"/v1/test/upload", tok, "application/json", big); resp.StatusCode != 200 {
		t.Errorf("a route with its own larger limit refused %d bytes: %d", len(big), resp.StatusCode)
	}
	if resp, _ := do(t, "POST", ts.URL+"/v1/test/upload", tok, "application/json", big+strings.Repeat(" ", 4096)); resp.StatusCode != 413 {
		t.Errorf("over the route's own limit: %d, want 413", resp.StatusCode)
	}
	resp, p := do(t, "GET", ts.URL+"/v1/nope", tok, "", "")
	if resp.StatusCode != 404 || p.Kind != "not_found" {
		t.Errorf("unknown route: %d %+v", resp.StatusCode, p)
	}
	resp, _ = do(t, "GET", ts.URL+"/healthz", "", "", "")
	if resp.StatusCode != 200 {
		t.Errorf("server not up after hostile input")
	}
}

func TestRateLimit(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimit = 1
	cfg.RateBurst = 3
	ts, iss, _ := newTestServer(t, cfg)
	a, _ := iss.Issue(auth.Principal{Subject: "t1", Role: auth.Tramitador}, time.Hour)
	b, _ := iss.Issue(auth.Principal{Subject: "t2", Role: auth.Tramitador}, time.Hour)
	var limited *http.Response
	for i := 0; i < 10 && limited == nil; i++ {
		resp, p := do(t, "POST", ts.URL+"/v1/test/echo", a, "application/json", `{}`)
		if resp.StatusCode == 429 {
			if p.Kind != "too_many_requests" {
				t.Errorf("429 kind %q", p.Kind)
			}
			limited = resp
		}
	}
	if limited == nil {
		t.Fatal("10 requests at once with burst 3 were never limited")
	}
	if limited.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if resp, _ := do(t, "POST", ts.URL+"/v1/test/echo", b, "application/json", `{}`); resp.StatusCode != 200 {
		t.Errorf("another token was limited too: %d", resp.StatusCode)
	}
}
