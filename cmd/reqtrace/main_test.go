package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	"redengine/api"
	"redengine/auth"
	"redengine/engine/enginetest"
)

// TestRequestsFromARealTrace serves real HTTP on loopback under the
// execution tracer: one request held by its handler while 60 others are
// served on another connection. The held request is the
// slowest (it spans all the others), and its time is found blocked where
// its handler waited.
func TestRequestsFromARealTrace(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, task := trace.NewTask(r.Context(), "http") // as api.observe does
		defer task.End()
		trace.Log(ctx, "path", r.URL.Path)
		if r.URL.Path == "/held" {
			entered <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	get := func(c *http.Client, path string) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	heldClient := &http.Client{Transport: &http.Transport{}}
	fastClient := &http.Client{Transport: &http.Transport{}}
	defer heldClient.CloseIdleConnections()
	defer fastClient.CloseIdleConnections()

	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		get(heldClient, "/held")
	}()
	<-entered
	const fast = 60
	for range fast {
		get(fastClient, "/fast")
	}
	close(release)
	<-done
	trace.Stop()

	path := filepath.Join(t.TempDir(), "serve.trace")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reqs, err := Requests(f, "http", "redengine/")
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != fast+1 {
		t.Fatalf("%d requests found, want %d", len(reqs), fast+1)
	}
	slowest := reqs[0]
	for _, q := range reqs {
		if q.Duration() > slowest.Duration() {
			slowest = q
		}
		if sum := q.Running + q.Runnable + sumOf(q.Blocked); sum > q.Duration() {
			t.Errorf("a request's parts add up to %v, more than its %v", sum, q.Duration())
		}
	}
	var heldWait string
	for k, v := range slowest.Blocked {
		if v*2 > slowest.Duration() {
			heldWait = k
		}
	}
	if !strings.Contains(heldWait, "reqtrace.TestRequestsFromARealTrace") || !strings.Contains(heldWait, "chanrecv") {
		t.Errorf("the slowest request's time: %v, want most of it blocked in the test's handler on a channel", slowest.Blocked)
	}

	var out, errOut bytes.Buffer
	if code := run([]string{path}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"requests 61", "median band", "slowest 1 % (1 requests)", "reqtrace.TestRequestsFromARealTrace"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUnreadableTrace(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, strings.NewReader("not a trace"), &out, &errOut); code != 1 || errOut.Len() == 0 {
		t.Errorf("exit %d, stderr %q: want 1 and a reason", code, errOut.String())
	}
}

func sumOf(m map[string]time.Duration) time.Duration {
	var s time.Duration
	for _, v := range m {
		s += v
	}
	return s
}

// The engine's requests are tasks of their own under the tracer: three
// requests through its HTTP API are three requests in the trace.
func TestEngineRequestsAreTasks(t *testing.T) {
	e := enginetest.New(t)
	admin := e.Token(auth.Admin, "root")
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	e.Post(admin, "/v1/autorizaciones", map[string]any{"number": "42", "usuarioPrincipal": "ana"}).Want(t, http.StatusCreated)
	e.Post(admin, "/v1/autorizaciones", map[string]any{"number": "42", "usuarioPrincipal": "ana"}).Want(t, http.StatusConflict)
	e.Get(admin, "/v1/autorizaciones/42").Want(t, http.StatusOK)
	trace.Stop()
	reqs, err := Requests(&buf, api.TraceTask, "redengine/")
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 {
		t.Fatalf("%d requests in the trace, want 3", len(reqs))
	}
	// The first appended an event: it waited for the store's answer.
	if _, ok := reqs[0].Blocked["redengine/eventstore/sqlite.(*Store).append ← runtime.chanrecv1"]; !ok {
		t.Errorf("the creation's waits %v lack the store's append", reqs[0].Blocked)
	}
}
