package engine_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"redengine/auth"
	"redengine/clock"
	"redengine/config"
	"redengine/docs"
	"redengine/engine"
	"redengine/engine/enginetest"
	"redengine/errs"
	"redengine/eventstore"
)

// TestOpenAPICoversRoutes fails when a route of the server is missing from
// docs/openapi.yaml, or documented without its security.
func TestOpenAPICoversRoutes(t *testing.T) {
	e := enginetest.New(t)
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid OpenAPI: %v", err)
	}
	param := regexp.MustCompile(`:([A-Za-z]+)`)
	for _, r := range e.API.Routes() {
		path := param.ReplaceAllString(r.Path, "{$1}")
		item := doc.Paths.Find(path)
		if item == nil {
			t.Errorf("%s %s is not in docs/openapi.yaml", r.Method, path)
			continue
		}
		op := item.GetOperation(r.Method)
		if op == nil {
			t.Errorf("%s %s: method not in docs/openapi.yaml", r.Method, path)
			continue
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != r.Public() {
			t.Errorf("%s %s: public=%v in the server, %v in docs/openapi.yaml", r.Method, path, r.Public(), public)
		}
		if !r.Public() {
			var roles []string
			for _, role := range r.Roles {
				roles = append(roles, string(role))
			}
			if want := "Roles: " + strings.Join(roles, ", ") + "."; !strings.Contains(op.Description, want) {
				t.Errorf("%s %s: description must state %q", r.Method, path, want)
			}
		}
	}
}

func TestHealthReadyAudit(t *testing.T) {
	e := enginetest.New(t)
	e.Get("", "/healthz").Want(t, http.StatusOK)
	e.Get("", "/readyz").Want(t, http.StatusOK)
	e.Get("", "/openapi.yaml").Want(t, http.StatusOK)
	aud := e.Token(auth.Auditor, "aud-1")
	v := e.Get(aud, "/v1/audit/verify").Want(t, http.StatusOK).Map(t)
	if v["ok"] != true {
		t.Errorf("verify on an empty store: %v", v)
	}
	e.Get(aud, "/v1/audit/streams/nope-1").Want(t, http.StatusNotFound)
	e.Get(e.Token(auth.Autorizado, "ana"), "/v1/audit/verify").Want(t, http.StatusForbidden)
	e.Get("", "/v1/audit/verify").Want(t, http.StatusUnauthorized)
}

func TestMetricsCountAppendsAndRequests(t *testing.T) {
	e := enginetest.New(t)
	admin := e.Token(auth.Admin, "root")
	r := e.Post(admin, "/v1/autorizaciones", map[string]any{"number": "42", "usuarioPrincipal": "ana"}).Want(t, http.StatusCreated)
	e.Post(admin, "/v1/autorizaciones", map[string]any{"number": "42", "usuarioPrincipal": "ana"}).Want(t, http.StatusConflict)
	if err := e.Projections.WaitFor(t.Context(), "autorizaciones", mustPos(t, r.Header.Get("X-Position"))); err != nil {
		t.Fatal(err)
	}
	body := string(e.Get("", "/metrics").Want(t, http.StatusOK).Body)
	for _, want := range []string{
		`redengine_command_appends_total{outcome="ok"} 1`,
		`redengine_http_request_duration_seconds_count{method="POST",route="/v1/autorizaciones",status="201"} 1`,
		`redengine_http_request_duration_seconds_count{method="POST",route="/v1/autorizaciones",status="409"} 1`,
		// The SQLite store's own counters: one event, in one commit.
		"redengine_store_commits_total 1\n",
		"redengine_store_events_total 1\n",
		"redengine_store_checkpoints_total 0\n",
		// Where that append's time went, one observation per stage.
		`redengine_store_append_stage_seconds_count{stage="queue"} 1`,
		`redengine_store_append_stage_seconds_count{stage="commit"} 1`,
		`redengine_store_append_stage_seconds_count{stage="sync_queue"} 1`,
		`redengine_store_append_stage_seconds_count{stage="sync"} 1`,
		`redengine_store_append_stage_seconds_count{stage="wake"} 1`,
		"redengine_store_checkpoint_hold_seconds_count 0\n",
		// The projections' batches: one transaction covering the event.
		`redengine_projection_batches_total{projection="autorizaciones"} 1`,
		`redengine_projection_events_total{projection="autorizaciones"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "ana") {
		t.Error("/metrics carries a user name")
	}
	// The counting wrapper keeps the SQLite store's change tracking, which
	// lets the command handlers use cached streams without reading them.
	if _, ok := e.Store.(eventstore.Changes); !ok {
		t.Error("the engine's store hides eventstore.Changes")
	}
}

// TestDebugProfiles: with REDENGINE_DEBUG_ADDR the engine serves Go's
// profiles there (loopback), and not on the API's address.
func TestDebugProfiles(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	e := enginetest.New(t, func(c *config.Config) { c.DebugAddr = addr })
	var resp *http.Response
	for range 100 {
		if resp, err = http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("profile: %s %.200s", resp.Status, body)
	}
	api, err := http.Get(e.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	api.Body.Close()
	if api.StatusCode == http.StatusOK {
		t.Fatal("the API's address serves the profiles")
	}
}

// TestDebugAddressTaken: a profiles' address already in use stops the
// start with a message naming it, before the engine says it serves.
func TestDebugAddressTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := config.Default()
	cfg.DataDir, cfg.JWTSecret, cfg.Clock = t.TempDir(), enginetest.Secret, "manual:2026-11-27T09:00:00Z"
	cfg.DebugAddr = taken.Addr().String()
	clk, err := clock.Parse(cfg.Clock)
	if err != nil {
		t.Fatal(err)
	}
	var logs, out bytes.Buffer
	e, err := engine.OpenWith(t.Context(), cfg, clk, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = e.Serve(t.Context(), l, &out)
	if err == nil || !strings.Contains(errs.MessageOf(err), "REDENGINE_DEBUG_ADDR "+cfg.DebugAddr) {
		t.Fatalf("Serve with the profiles' address taken: %v", err)
	}
	if strings.Contains(logs.String(), `"msg":"serving"`) || out.Len() > 0 {
		t.Errorf("the engine said it serves:\n%s%s", out.String(), logs.String())
	}
}
