package stress

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/api"
	"redengine/commands"
	"redengine/domain/cases"
	"redengine/stress/load"
)

// long reports whether the long forms run (make stress).
func long() bool { return os.Getenv("REDENGINE_STRESS") != "" }

// pick returns short or, in the long form, long.
func pick[T any](short, longForm T) T {
	if long() {
		return longForm
	}
	return short
}

// envInt reads a positive integer from the environment, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// commandID is the command ID the engine derives from an Idempotency-Key
// (api.commandMeta): scoped to the caller, the method and the path.
func commandID(sub, method, path, key string) uuid.UUID {
	return commands.IDFromKey(sub+" "+method+" "+path, key)
}

// auditStream reads every event of a stream through the audit route.
func auditStream(ctx context.Context, t testing.TB, c *load.Client, token, stream string) []api.AuditEvent {
	t.Helper()
	r, err := c.Do(ctx, load.Request{Method: http.MethodGet, Path: "/v1/audit/streams/" + url.PathEscape(stream) + "?limit=10000", Token: token})
	if err != nil {
		t.Fatalf("audit %s: %v", stream, err)
	}
	if r.Status == http.StatusNotFound {
		return nil
	}
	if !r.OK() {
		t.Fatalf("audit %s: %s", stream, r)
	}
	var out struct {
		Events []api.AuditEvent `json:"events"`
	}
	if err := r.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Events
}

// getJSON GETs path and decodes the answer into a generic map.
func getJSON(ctx context.Context, t testing.TB, c *load.Client, token, path string) map[string]any {
	t.Helper()
	r, err := c.Do(ctx, load.Request{Method: http.MethodGet, Path: path, Token: token})
	if err != nil || !r.OK() {
		t.Fatalf("GET %s: %v %v", path, err, r)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// eventually polls cond until it holds, failing after a generous bound
// (for work done asynchronously in real time; nothing asserts on timing).
func eventually(t testing.TB, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", bound, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// caseIDOf is the ID of the case an opening command creates.
func caseIDOf(cmd uuid.UUID) string { return commands.DeriveID(cmd, cases.Category) }
