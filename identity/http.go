package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"redengine/errs"
)

// maxReply bounds the reply the HTTP verifier reads.
const maxReply = 64 << 10

// HTTPVerifier asks an external verification service over HTTP. The wire
// format (docs/nss.md):
//
//	POST <url>
//	Content-Type: application/json
//	{"documentType":"DNI","documentNumber":"12345678Z","firstName":"María",
//	 "surname1":"García","surname2":"López","birthDate":"1990-05-17"}
//
//	200 OK
//	{"valid": true}                               the document is valid
//	{"valid": false, "reason": "…"}               it is not (reason optional)
//
// Anything else — no connection, no answer within the timeout, a status
// other than 200, a body that is not that JSON or is over 64 KiB — means the
// check could not be performed: errs.Unavailable. It is safe for concurrent
// use.
type HTTPVerifier struct {
	url     string
	timeout time.Duration
	client  *http.Client
}

// HTTPOption configures an HTTPVerifier.
type HTTPOption func(*HTTPVerifier)

// WithHTTPClient makes the verifier use c (for its transport: proxies, TLS
// roots). The verifier's timeout still applies to every check.
func WithHTTPClient(c *http.Client) HTTPOption { return func(v *HTTPVerifier) { v.client = c } }

// NewHTTPVerifier returns a verifier that posts to rawURL (http or https)
// and waits at most timeout for each answer (DefaultTimeout when timeout is
// not positive).
func NewHTTPVerifier(rawURL string, timeout time.Duration, opts ...HTTPOption) (*HTTPVerifier, error) {
	const op errs.Op = "identity.NewHTTPVerifier"
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errs.E(op, errs.Invalid, EnvURL+" debe ser una URL http o https absoluta")
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	v := &HTTPVerifier{url: u.String(), timeout: timeout, client: &http.Client{}}
	for _, o := range opts {
		o(v)
	}
	if v.client == nil {
		v.client = &http.Client{}
	}
	return v, nil
}

// Name is "http".
func (v *HTTPVerifier) Name() string { return "http" }

// URL returns the service's URL.
func (v *HTTPVerifier) URL() string { return v.url }

// Timeout returns the time the verifier waits for an answer.
func (v *HTTPVerifier) Timeout() time.Duration { return v.timeout }

// reply is the service's answer.
type reply struct {
	Valid  *bool  `json:"valid"`
	Reason string `json:"reason"`
}

// Verify posts doc to the service; see HTTPVerifier for the outcomes.
func (v *HTTPVerifier) Verify(ctx context.Context, doc Document) (Result, error) {
	const op errs.Op = "identity.HTTPVerifier.Verify"
	body, err := json.Marshal(doc)
	if err != nil {
		return Result{}, errs.E(op, errs.Internal, err)
	}
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.url, bytes.NewReader(body))
	if err != nil {
		return Result{}, unavailable(op, doc.Type, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return Result{}, unavailable(op, doc.Type, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	switch {
	case err != nil:
		return Result{}, unavailable(op, doc.Type, err)
	case resp.StatusCode != http.StatusOK:
		return Result{}, unavailable(op, doc.Type, fmt.Errorf("el servicio respondió %s", resp.Status))
	case len(data) > maxReply:
		return Result{}, unavailable(op, doc.Type, fmt.Errorf("la respuesta supera %d bytes", maxReply))
	}
	var r reply
	if err := json.Unmarshal(data, &r); err != nil || r.Valid == nil {
		return Result{}, unavailable(op, doc.Type, fmt.Errorf("respuesta no reconocida (se esperaba {\"valid\": true|false})"))
	}
	if !*r.Valid {
		return Result{Valid: false, Reason: r.Reason}, notValid(op, doc.Type, r.Reason)
	}
	return Result{Valid: true}, nil
}
