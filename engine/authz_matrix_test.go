package engine_test

import (
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"redengine/auth"
	"redengine/engine/enginetest"
)

// TestAuthorizationMatrix calls every route of the route table as every role,
// without a token, with an expired token and with a badly signed one, so a
// new route cannot escape the check: no token, an expired or a forged token
// → 401; a role the route does not list → 403; a role it lists → neither.
func TestAuthorizationMatrix(t *testing.T) {
	e := enginetest.New(t)
	tokens := map[auth.Role]string{}
	for _, r := range auth.Roles {
		tokens[r] = e.Token(r, "matrix-"+string(r))
	}
	forged := forge(tokens[auth.Admin])
	expired := e.Token(auth.Admin, "matrix-expired")
	param := regexp.MustCompile(`:[A-Za-z]+`)
	routes := e.API.Routes()
	if len(routes) < 8 {
		t.Fatalf("only %d routes", len(routes))
	}
	// The clock moves a year past the expired token's issue at the end.
	type call struct {
		method, path string
		roles        []auth.Role
	}
	var calls []call
	for _, r := range routes {
		if r.Public() {
			continue
		}
		calls = append(calls, call{r.Method, param.ReplaceAllString(r.Path, "x0"), r.Roles})
	}
	for _, c := range calls {
		name := c.method + " " + c.path
		if got := e.Do(enginetest.Request{Method: c.method, Path: c.path}).Status; got != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", name, got)
		}
		if got := e.Do(enginetest.Request{Method: c.method, Path: c.path, Token: forged}).Status; got != http.StatusUnauthorized {
			t.Errorf("%s with a forged token: %d, want 401", name, got)
		}
		for _, role := range auth.Roles {
			got := e.Do(enginetest.Request{Method: c.method, Path: c.path, Token: tokens[role], Body: "{}", Type: "application/json"}).Status
			allowed := slices.Contains(c.roles, role)
			switch {
			case !allowed && got != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", name, role, got)
			case allowed && (got == http.StatusForbidden && role != auth.Autorizado || got == http.StatusUnauthorized):
				// An autorizado may get 403 for data of an autorización it
				// does not belong to (x0 is nobody's); other roles never.
				t.Errorf("%s as %s: %d, want neither 401 nor 403", name, role, got)
			}
		}
	}
	if e.Clock == nil {
		t.Fatal("manual clock expected")
	}
	e.Clock.Advance(400 * 24 * time.Hour)
	for _, c := range calls {
		if got := e.Do(enginetest.Request{Method: c.method, Path: c.path, Token: expired}).Status; got != http.StatusUnauthorized {
			t.Errorf("%s %s with an expired token: %d, want 401", c.method, c.path, got)
		}
	}
}

// forge changes one character in the middle of a token's signature (the
// last one may only carry padding bits).
func forge(tok string) string {
	b := []byte(tok)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
