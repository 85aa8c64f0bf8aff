package auth_test

import (
	"testing"
	"time"

	"redengine/auth"
	"redengine/errs"
)

// A verified token is remembered, but only within its validity: once the
// clock passes its expiry it is refused like any expired token, and a
// token differing by one character is verified from scratch.
func TestVerifyRemembersOnlyValidTokens(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	iss, err := auth.NewIssuer("0123456789abcdef-secret", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Issue(auth.Principal{Subject: "user-1", Role: auth.Autorizado, Autorizaciones: []string{"A1"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p, err := iss.Verify(tok)
		if err != nil || p.Subject != "user-1" || p.Role != auth.Autorizado || len(p.Autorizaciones) != 1 {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
		p.Autorizaciones[0] = "changed by a caller"
	}
	if p, _ := iss.Verify(tok); p.Autorizaciones[0] != "A1" {
		t.Fatalf("a caller's change reached the remembered token: %v", p.Autorizaciones)
	}
	// One character in the middle of the signature (the last one carries
	// unused bits).
	i := len(tok) - 10
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	tampered := tok[:i] + string(c) + tok[i+1:]
	if _, err := iss.Verify(tampered); !errs.Is(errs.Unauthenticated, err) {
		t.Fatalf("tampered token: %v", err)
	}
	now = now.Add(time.Hour)
	if _, err := iss.Verify(tok); !errs.Is(errs.Unauthenticated, err) {
		t.Fatalf("expired remembered token accepted: %v", err)
	}
	now = now.Add(-2 * time.Hour) // before its nbf (issued at 9:00, nbf 8:59)
	if _, err := iss.Verify(tok); !errs.Is(errs.Unauthenticated, err) {
		t.Fatalf("token accepted before its nbf: %v", err)
	}
}
