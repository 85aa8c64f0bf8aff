package engine

import (
	"context"
	"fmt"
	"io"
	"time"

	"redengine/auth"
	"redengine/commands"
	"redengine/domain/authorizations"
	"redengine/eventstore"
)

// demoActor is the actor of the demo data set's commands.
var demoActor = eventstore.Actor{ID: "demo", Role: string(auth.Admin)}

// DemoUsers are the subjects of the demo data set, by role.
var DemoUsers = []auth.Principal{
	{Subject: "ana.garcia", Role: auth.Autorizado},
	{Subject: "luis.martin", Role: auth.Autorizado},
	{Subject: "tramitador.1", Role: auth.Tramitador},
	{Subject: "auditor.1", Role: auth.Auditor},
	{Subject: "compliance.1", Role: auth.Compliance},
	{Subject: "inss.1", Role: auth.INSS},
	{Subject: "admin", Role: auth.Admin},
}

// LoadDemo writes the demo data set when the event store is empty: two
// autorizaciones (one with a contact email), with every command keyed so that
// a second run appends nothing.
func (e *Engine) LoadDemo(ctx context.Context) error {
	head, err := e.Store.Head(ctx)
	if err != nil {
		return err
	}
	if !head.IsZero() {
		return nil
	}
	h := commands.NewHandler(e.Store, e.Clock, authorizations.Aggregate())
	auts := []authorizations.Registered{
		{Number: "1000001", Name: "Gestoría García y Asociados", UsuarioPrincipal: "ana.garcia", Users: []string{"ana.garcia", "luis.martin"},
			CCCs: []string{"28123456742"}, ContactEmail: "buzon@gestoria-garcia.example"},
		{Number: "1000002", Name: "Asesoría Martín", UsuarioPrincipal: "luis.martin", Users: []string{"luis.martin"},
			CCCs: []string{"23123456750"}},
	}
	for _, a := range auts {
		meta := commands.Meta{CommandID: commands.IDFromKey("demo", "autorizacion-"+a.Number), Actor: demoActor}
		if _, err := h.Handle(ctx, a.Number, meta, authorizations.Register(a)); err != nil {
			return fmt.Errorf("demo autorización %s: %w", a.Number, err)
		}
	}
	if err := e.LoadDemoCases(ctx); err != nil {
		return fmt.Errorf("demo cases: %w", err)
	}
	if err := e.LoadFIEDemo(ctx); err != nil {
		return fmt.Errorf("demo FIE records: %w", err)
	}
	e.Log.Info("demo data loaded", "autorizaciones", len(auts))
	return nil
}

// PrintTokens writes a ready-to-paste token per demo user.
func (e *Engine) PrintTokens(out io.Writer, url string) {
	if e.Issuer == nil {
		fmt.Fprintln(out, "  (set REDENGINE_JWT_SECRET to get tokens)")
		return
	}
	fmt.Fprintln(out, "  tokens (valid 24h):")
	seen := map[auth.Role]int{}
	for _, p := range DemoUsers {
		tok, err := e.Issuer.Issue(p, 24*time.Hour)
		if err != nil {
			continue
		}
		seen[p.Role]++
		name := string(p.Role)
		if n := seen[p.Role]; n > 1 {
			name = fmt.Sprintf("%s_%d", p.Role, n)
		}
		fmt.Fprintf(out, "    export TOKEN_%s=%s   # %s\n", name, tok, p.Subject)
	}
	fmt.Fprintf(out, "  try:  curl -H \"Authorization: Bearer $TOKEN_autorizado\" %s/v1/me/autorizaciones\n", url)
}
