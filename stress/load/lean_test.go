package load

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLeanClientExchanges: the lean client's requests reach a net/http
// server whole (method, path with query, headers, body) and its answers come
// back whole, on one kept-alive connection.
func TestLeanClientExchanges(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+
			r.Header.Get("Idempotency-Key")+" "+r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := NewLeanClient(srv.URL, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		r, err := c.Do(t.Context(), Request{Method: http.MethodPost, Path: "/v1/cases?x=1", Token: "tok", Key: "k1",
			Body: map[string]string{"text": "señal"}})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if r.Status != http.StatusCreated || string(r.Body) != `{"text":"señal"}` ||
			r.Header.Get("X-Echo") != "POST /v1/cases?x=1 Bearer tok k1 application/json" {
			t.Fatalf("request %d: %d %q %q", i, r.Status, r.Body, r.Header.Get("X-Echo"))
		}
	}
	r, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/healthz"})
	if err != nil || strings.TrimSpace(r.Header.Get("X-Echo")) != "GET /healthz" || len(r.Body) != 0 {
		t.Fatalf("GET: %v %v", r, err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for four requests in a row, want 1 (kept alive)", n)
	}
	if _, err := NewLeanClient("https://127.0.0.1:1", 1); err == nil {
		t.Error("https accepted")
	}
}

// TestLeanClientServerClosedIdle: a kept-alive connection the server closed
// while idle is replaced without the caller seeing an error.
func TestLeanClientServerClosedIdle(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer srv.Close()
	c, err := NewLeanClient(srv.URL, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/"}); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	time.Sleep(10 * time.Millisecond) // let the close reach the client's socket (not a deadline)
	r, err := c.Do(t.Context(), Request{Method: http.MethodGet, Path: "/"})
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("after the server closed the idle connection: %v %v", r, err)
	}
}

// TestLeanClientContextEnds: a context that ends mid-request cuts the
// exchange and the caller sees the context's error, not a network one.
func TestLeanClientContextEnds(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	defer close(release)
	c, err := NewLeanClient(srv.URL, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
	ctx2, cancel2 := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel2)
	if _, err := c.Do(ctx2, Request{Method: http.MethodGet, Path: "/"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want cancelled", err)
	}
}
