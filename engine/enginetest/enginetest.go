// Package enginetest starts a whole engine on loopback for end-to-end tests:
// a temporary data dir, a manual clock, real HTTP, and a client that checks
// every answer against docs/openapi.yaml.
package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"redengine/auth"
	"redengine/clock"
	"redengine/config"
	"redengine/docs"
	"redengine/engine"
)

// Secret is the JWT secret of test engines.
const Secret = "enginetest-secret-0123456789abcdef"

// Start is the default instant of a test engine's manual clock.
var Start = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// Engine is a running test engine.
type Engine struct {
	*engine.Engine
	URL   string
	Clock *clock.Manual
	t     testing.TB
	now   func() time.Time
	// Logs holds everything the engine logged (JSON lines).
	Logs   *logBuffer
	router routers.Router
	client *http.Client
}

// Option changes the configuration before the engine opens.
type Option func(*config.Config)

// New starts an engine with a manual clock at Start and a fresh data dir.
// Mail goes to the Mailpit of REDENGINE_TEST_SMTP when set. The engine stops
// when the test ends.
func New(t testing.TB, opts ...Option) *Engine {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.JWTSecret = Secret
	cfg.Clock = "manual:" + Start.Format(time.RFC3339)
	cfg.SMTPAddr = os.Getenv("REDENGINE_TEST_SMTP")
	cfg.SMTPFrom = "casia@redengine.test"
	// Read-your-writes waits are bounded for users; in tests, on a loaded
	// machine under -race, a short bound would only make tests flaky.
	cfg.WaitTimeout = 60 * time.Second
	for _, o := range opts {
		o(&cfg)
	}
	clk, err := clock.Parse(cfg.Clock)
	if err != nil {
		t.Fatal(err)
	}
	manual, _ := clk.(*clock.Manual)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := engine.OpenWith(ctx, cfg, clk, log)
	if err != nil {
		cancel()
		t.Fatalf("engine: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx, l, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine stopped with %v", err)
		}
		for _, leak := range PersonalData(logs.String()) {
			t.Errorf("the engine's log carries personal data: %s", leak)
		}
	})
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatalf("openapi: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://" + l.Addr().String()}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi router: %v", err)
	}
	return &Engine{Logs: logs, Engine: e, URL: "http://" + l.Addr().String(), Clock: manual, now: clk.Now, t: t, router: router,
		client: &http.Client{Timeout: 30 * time.Second}}
}

// Token signs a token for a role and subject, optionally narrowed to
// autorizaciones.
func (e *Engine) Token(role auth.Role, sub string, autorizaciones ...string) string {
	e.t.Helper()
	iss, err := auth.NewIssuer(Secret, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	p := auth.Principal{Subject: sub, Role: role}
	if len(autorizaciones) > 0 {
		p.Autorizaciones = autorizaciones
	}
	tok, err := iss.Issue(p, 365*24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// Response is an answer of the engine, already read and checked against the
// OpenAPI document.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %q: %v", r.Body, err)
	}
}

// Map decodes the body as a JSON object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Request is one call; build it with Do's arguments or by hand.
type Request struct {
	Method  string
	Path    string // with query
	Token   string
	Body    any // JSON-encoded unless []byte or string
	Type    string
	Headers map[string]string
}

// Do sends a request and checks the answer against the OpenAPI document:
// the route must be documented, and the status, content type and body must
// match what it documents.
func (e *Engine) Do(r Request) *Response {
	e.t.Helper()
	var body io.Reader
	ctype := r.Type
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(raw)
		if ctype == "" {
			ctype = "application/json"
		}
	}
	req, err := http.NewRequest(r.Method, e.URL+r.Path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if err := e.validate(req, out); err != nil {
		e.t.Errorf("%s %s → %d does not match docs/openapi.yaml: %v\nbody: %.500s", r.Method, r.Path, out.Status, err, raw)
	}
	return out
}

// validate checks a response against the OpenAPI document.
func (e *Engine) validate(req *http.Request, resp *Response) error {
	u, _ := url.Parse(req.URL.String())
	vreq := req.Clone(context.Background())
	vreq.URL = u
	route, params, err := e.router.FindRoute(vreq)
	if err != nil {
		if resp.Status == http.StatusNotFound || resp.Status == http.StatusMethodNotAllowed {
			return nil // an undocumented path answered as such
		}
		return fmt.Errorf("route not documented: %w", err)
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.Status, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(resp.Body)
	return openapi3filter.ValidateResponse(context.Background(), out)
}

// Get is Do for a GET.
func (e *Engine) Get(token, path string) *Response {
	e.t.Helper()
	return e.Do(Request{Method: http.MethodGet, Path: path, Token: token})
}

// Post is Do for a JSON POST.
func (e *Engine) Post(token, path string, body any) *Response {
	e.t.Helper()
	return e.Do(Request{Method: http.MethodPost, Path: path, Token: token, Body: body})
}

// Put is Do for a JSON PUT.
func (e *Engine) Put(token, path string, body any) *Response {
	e.t.Helper()
	return e.Do(Request{Method: http.MethodPut, Path: path, Token: token, Body: body})
}

// Want fails the test unless the response has the status.
func (r *Response) Want(t testing.TB, status int) *Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %.800s", r.Status, status, r.Body)
	}
	return r
}

// logBuffer collects log lines, safe for concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// personal are the shapes of personal data that must never reach a log: DNI,
// NIE, NSS/NAF (12 digits), Spanish mobile numbers and email addresses. The
// digit patterns must not touch hex digits or dashes, so UUIDs do not match.
var personal = []struct {
	what string
	re   *regexp.Regexp
}{
	{"DNI", regexp.MustCompile(`(?:^|[^0-9A-Za-z.-])[0-9]{8}[A-Za-z](?:$|[^0-9A-Za-z-])`)},
	{"NIE", regexp.MustCompile(`(?:^|[^0-9A-Za-z-])[XYZxyz][0-9]{7}[A-Za-z](?:$|[^0-9A-Za-z-])`)},
	{"NSS", regexp.MustCompile(`(?:^|[^0-9a-fA-F-])[0-9]{12}(?:$|[^0-9a-fA-F-])`)},
	{"teléfono", regexp.MustCompile(`(?:^|[^0-9A-Za-z.-])(?:\+34|0034)?[67][0-9]{8}(?:$|[^0-9A-Za-z.-])`)},
	{"email", regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)},
}

// PersonalData returns each match of a personal-data shape in s.
func PersonalData(s string) []string {
	var out []string
	for _, p := range personal {
		for _, m := range p.re.FindAllString(s, 5) {
			out = append(out, p.what+": "+strings.TrimSpace(m))
		}
	}
	return out
}
