// Package auth issues and checks the bearer tokens of the API: HS256 JWTs
// whose claims name the caller (sub), its role and, optionally, the
// autorizaciones it acts for.
package auth

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"redengine/errs"
)

// Role is what a caller is allowed to do.
type Role string

// The roles of the engine.
const (
	Autorizado Role = "autorizado" // user of one or more autorizaciones RED
	Tramitador Role = "tramitador" // TGSS staff handling cases
	Auditor    Role = "auditor"    // reads every history, writes nothing
	Compliance Role = "compliance" // reviews desistimiento trails, writes nothing
	INSS       Role = "inss"       // publishes FIE benefit changes
	Admin      Role = "admin"      // manages autorizaciones, the clock and the scheduler
	System     Role = "system"     // the engine itself (scheduler); never in a token
)

// Roles lists the roles a token may carry.
var Roles = []Role{Autorizado, Tramitador, Auditor, Compliance, INSS, Admin}

// Valid reports whether r may appear in a token.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Principal is the authenticated caller.
type Principal struct {
	Subject        string   `json:"sub"`
	Role           Role     `json:"role"`
	Autorizaciones []string `json:"autorizaciones,omitempty"` // nil: no narrowing
}

type claims struct {
	Role           Role     `json:"role"`
	Autorizaciones []string `json:"autorizaciones,omitempty"`
	jwt.RegisteredClaims
}

// Issuer signs and verifies tokens with one HS256 secret.
//
// It remembers the tokens it has verified (up to maxVerified, then it
// starts over), so that a client's token is parsed and its HMAC computed
// once, not on every request (2.6 % of the engine's CPU under the load
// mix): a remembered token is accepted again only while the clock is within
// its validity (nbf ≤ now < exp); any other string, a single character
// changed, is verified from scratch.
type Issuer struct {
	secret []byte
	now    func() time.Time

	mu       sync.RWMutex
	verified map[string]verifiedToken
}

// verifiedToken is what Verify remembers of a token it accepted.
type verifiedToken struct {
	p         Principal
	notBefore time.Time // zero: none
	expires   time.Time
}

// maxVerified bounds the tokens an Issuer remembers.
const maxVerified = 4096

// NewIssuer returns an Issuer; now is the clock used for expiry checks.
func NewIssuer(secret string, now func() time.Time) (*Issuer, error) {
	if len(secret) < 16 {
		return nil, errs.E(errs.Op("auth.NewIssuer"), errs.Invalid, "REDENGINE_JWT_SECRET debe tener al menos 16 caracteres")
	}
	return &Issuer{secret: []byte(secret), now: now, verified: make(map[string]verifiedToken)}, nil
}

// Issue signs a token for p valid for ttl from now.
func (i *Issuer) Issue(p Principal, ttl time.Duration) (string, error) {
	if p.Subject == "" || !p.Role.Valid() {
		return "", errs.E(errs.Op("auth.Issue"), errs.Invalid, fmt.Sprintf("sujeto vacío o rol desconocido %q", p.Role))
	}
	now := i.now()
	c := claims{
		Role:           p.Role,
		Autorizaciones: p.Autorizaciones,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   p.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			Issuer:    "redengine",
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(i.secret)
}

// Verify checks a token's signature, algorithm and expiry and returns its
// principal. Any failure is an errs.Unauthenticated error.
func (i *Issuer) Verify(token string) (Principal, error) {
	const op = errs.Op("auth.Verify")
	now := i.now()
	i.mu.RLock()
	v, ok := i.verified[token]
	i.mu.RUnlock()
	if ok && now.Before(v.expires) && !now.Before(v.notBefore) {
		p := v.p
		p.Autorizaciones = slices.Clone(p.Autorizaciones)
		return p, nil
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return i.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(i.now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer("redengine"),
	)
	if err != nil {
		reason := "token no válido"
		if errors.Is(err, jwt.ErrTokenExpired) {
			reason = "token caducado"
		} else if errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			reason = "firma del token no válida"
		}
		return Principal{}, errs.E(op, errs.Unauthenticated, reason, err)
	}
	if c.Subject == "" || !c.Role.Valid() {
		return Principal{}, errs.E(op, errs.Unauthenticated, "el token no indica sujeto o rol válido")
	}
	p := Principal{Subject: c.Subject, Role: c.Role, Autorizaciones: c.Autorizaciones}
	v = verifiedToken{p: p, expires: c.ExpiresAt.Time}
	if c.NotBefore != nil {
		v.notBefore = c.NotBefore.Time
	}
	v.p.Autorizaciones = slices.Clone(p.Autorizaciones)
	i.mu.Lock()
	if len(i.verified) >= maxVerified {
		clear(i.verified)
	}
	i.verified[token] = v
	i.mu.Unlock()
	return p, nil
}
