// Package load drives a running engine over HTTP the way its users do: a
// small client, tokens signed with the engine's secret, a world of
// autorizaciones and cases to act on, a weighted mix of commands and
// queries, and a runner that reports throughput and latency percentiles.
// cmd/loadgen and the harnesses in package stress use it.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"redengine/auth"
	"redengine/errs"
)

// Client calls one engine.
type Client struct {
	Base string // http://host:port
	HTTP *http.Client
	lean *leanPool // NewLeanClient: requests go here instead of HTTP
}

// NewClient returns a client for the engine at base with connection reuse
// sized for conc concurrent callers.
func NewClient(base string, conc int) *Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conc * 2,
		MaxIdleConnsPerHost: conc * 2,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// Request is one call.
type Request struct {
	Method string
	Path   string // with query
	Token  string
	// Body is sent as is when []byte (with Type, default application/json),
	// otherwise JSON-encoded.
	Body any
	Type string
	// Key is the Idempotency-Key (empty: none).
	Key string
	// Correlation is the X-Correlation-ID (empty: none).
	Correlation string
}

// Response is an answer, already read.
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	Latency time.Duration
}

// Do sends a request. A transport error (connection refused or reset, the
// server killed mid-request) is returned as an error with no response: the
// outcome of the command is then unknown.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	var raw []byte
	ctype := r.Type
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		raw = b
		if ctype == "" {
			ctype = "application/json"
		}
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, errs.E(errs.Op("load.Do"), errs.Invalid, err)
		}
		if ctype == "" {
			ctype = "application/json"
		}
	}
	if c.lean != nil {
		var hdr [][2]string
		if r.Token != "" {
			hdr = append(hdr, [2]string{"Authorization", "Bearer " + r.Token})
		}
		if r.Key != "" {
			hdr = append(hdr, [2]string{"Idempotency-Key", r.Key})
		}
		if r.Correlation != "" {
			hdr = append(hdr, [2]string{"X-Correlation-ID", r.Correlation})
		}
		start := time.Now()
		resp, body, err := c.lean.do(ctx, r.Method, r.Path, ctype, raw, hdr)
		if err != nil {
			return nil, err
		}
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Latency: time.Since(start)}, nil
	}
	var body io.Reader
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.Base+r.Path, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Key != "" {
		req.Header.Set("Idempotency-Key", r.Key)
	}
	if r.Correlation != "" {
		req.Header.Set("X-Correlation-ID", r.Correlation)
	}
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: out, Latency: time.Since(start)}, nil
}

// OK reports a 2xx answer.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Decode decodes the JSON body into v.
func (r *Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decoding %d %.200s: %w", r.Status, r.Body, err)
	}
	return nil
}

// Problem is the part of a problem document the harnesses look at.
type Problem struct {
	Status int    `json:"status"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Problem decodes the body as a problem document (zero when it is not one).
func (r *Response) Problem() Problem {
	var p Problem
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
		_ = json.Unmarshal(r.Body, &p)
	}
	return p
}

// String describes the answer for test failures.
func (r *Response) String() string { return fmt.Sprintf("%d %.300s", r.Status, r.Body) }

// Tokens signs bearer tokens with the engine's secret, one per role and
// subject, cached.
type Tokens struct {
	iss *auth.Issuer
	mu  sync.Mutex
	m   map[string]string
}

// NewTokens returns a token signer; now is the engine's clock (time.Now for
// a system clock).
func NewTokens(secret string, now func() time.Time) (*Tokens, error) {
	iss, err := auth.NewIssuer(secret, now)
	if err != nil {
		return nil, err
	}
	return &Tokens{iss: iss, m: map[string]string{}}, nil
}

// For returns a token of role for sub, valid for a year.
func (t *Tokens) For(role auth.Role, sub string) string {
	k := string(role) + "\x00" + sub
	t.mu.Lock()
	defer t.mu.Unlock()
	if tok, ok := t.m[k]; ok {
		return tok
	}
	tok, err := t.iss.Issue(auth.Principal{Subject: sub, Role: role}, 365*24*time.Hour)
	if err != nil {
		panic(err) // a valid role and a configured issuer cannot fail
	}
	t.m[k] = tok
	return tok
}
