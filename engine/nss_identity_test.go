package engine_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"redengine/config"
)

// identityService is a local identity verification service whose behaviour
// the test chooses: "ok", "invalid", "500" or "hang" (no answer until the
// test ends).
type identityService struct {
	mode  atomic.Value // string
	calls atomic.Int64
}

func newIdentityService(t *testing.T, mode string) (*identityService, string) {
	t.Helper()
	s := &identityService{}
	s.mode.Store(mode)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		var doc map[string]any
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil || doc["documentNumber"] == nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch s.mode.Load().(string) {
		case "ok":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"valid": true}`))
		case "invalid":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"valid": false, "reason": "el DNI no consta en el registro"}`))
		case "500":
			http.Error(w, "internal error", http.StatusInternalServerError)
		case "hang":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return s, srv.URL
}

// TestNSSVerifierDown: when the identity check cannot be performed (the
// service answers 500, or does not answer in time) the answer is 503
// unavailable with Retry-After, and nothing is stored; a clear "not valid"
// is 400 on documentNumber; once the service is back the request goes on.
func TestNSSVerifierDown(t *testing.T) {
	t.Setenv("REDENGINE_IDENTITY_TIMEOUT", "300ms")
	svc, url := newIdentityService(t, "500")
	w := newNSSWorld(t, func(c *config.Config) { c.IdentityURL = url })
	before := w.head(t)

	for _, mode := range []string{"500", "hang"} {
		svc.mode.Store(mode)
		calls := svc.calls.Load()
		r := w.Post(w.ana, "/v1/nss-assignments", nssForm(autAna, dni(70000001))).Want(t, http.StatusServiceUnavailable)
		p := r.Map(t)
		if p["kind"] != "unavailable" || p["detail"] != "no se ha podido realizar la comprobación del DNI; inténtelo más tarde" {
			t.Errorf("%s: %v", mode, p)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", mode)
		}
		if strings.Contains(string(r.Body), dni(70000001)) {
			t.Errorf("%s: the problem names the document: %s", mode, r.Body)
		}
		if svc.calls.Load() != calls+1 {
			t.Errorf("%s: the service was called %d times", mode, svc.calls.Load()-calls)
		}
	}
	if after := w.head(t); after != before {
		t.Errorf("the log moved from %s to %s", before, after)
	}
	noNSSEventsSince(t, w, before)
	// The same person is not held by the failed attempts.
	svc.mode.Store("invalid")
	f := fieldsOf(t, w.Post(w.ana, "/v1/nss-assignments", nssForm(autAna, dni(70000001))).Want(t, http.StatusBadRequest))
	if f["documentNumber"] != "el DNI no consta en el registro" {
		t.Errorf("not valid: %v", f)
	}
	noNSSEventsSince(t, w, before)

	svc.mode.Store("ok")
	v := w.request(t, w.ana, nssForm(autAna, dni(70000001)))
	evs := w.history(t, v.ID)
	if ver := eventData(t, evs, "NSSIdentityVerified"); ver["verifier"] != "http" {
		t.Errorf("verified by %v", ver)
	}
}

// TestNSSBuiltinVerifier: the embedded verifier's test numbers.
func TestNSSBuiltinVerifier(t *testing.T) {
	w := newNSSWorld(t)
	before := w.head(t)
	r := w.Post(w.ana, "/v1/nss-assignments", nssForm(autAna, "33333333P")).Want(t, http.StatusServiceUnavailable)
	if r.Map(t)["kind"] != "unavailable" || r.Header.Get("Retry-After") == "" {
		t.Errorf("33333333P: %s", r.Body)
	}
	if f := fieldsOf(t, w.Post(w.ana, "/v1/nss-assignments", nssForm(autAna, "11111111H")).Want(t, http.StatusBadRequest)); f["documentNumber"] == "" {
		t.Errorf("11111111H: %v", f)
	}
	noNSSEventsSince(t, w, before)
	v := w.request(t, w.ana, nssForm(autAna, "12345678Z"))
	if ver := eventData(t, w.history(t, v.ID), "NSSIdentityVerified"); ver["verifier"] != "builtin" {
		t.Errorf("verified by %v", ver)
	}
}
