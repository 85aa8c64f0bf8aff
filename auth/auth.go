// Package auth issues and checks the bearer tokens of the API: HS256 JWTs
// whose claims name the caller (sub), its role and, optionally, the
// autorizaciones it acts for.
package auth

import (
	"errors"
	"fmt"
	"slices"
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
type Issuer struct {
	secret []byte
	now    func() time.Time
}

// NewIssuer returns an Issuer; now is the clock used for expiry checks.
func NewIssuer(secret string, now func() time.Time) (*Issuer, error) {
	if len(secret) < 16 {
		return nil, errs.E(errs.Op("auth.NewIssuer"), errs.Invalid, "REDENGINE_JWT_SECRET debe tener al menos 16 caracteres")
	}
	return &Issuer{secret: []byte(secret), now: now}, nil
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
	return Principal{Subject: c.Subject, Role: c.Role, Autorizaciones: c.Autorizaciones}, nil
}
