package api

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"redengine/auth"
	"redengine/commands"
	"redengine/domain/authorizations"
	"redengine/errs"
	"redengine/readmodels"
)

// Directory answers who acts for which autorización. Membership comes from
// the Autorización aggregates (read exactly from their streams when the
// request names one; from the read model to find a user's only one); a
// token's autorizaciones claim narrows it and never widens it.
type Directory struct {
	Handler *commands.Handler[authorizations.State]
	DB      readmodels.Queryer // readmodels.db (a readmodels.Prepared)
	// CatchUp, when set, returns once the autorizaciones read model has
	// reached the log's end (or fails after its bounded wait). A command
	// that leaves out its autorización and finds the caller in none waits
	// for it before refusing: a user registered a moment ago is then
	// found, not refused because the read model trailed the registration.
	CatchUp func(ctx context.Context) error
}

// ActingFor returns the autorización the caller acts for in a command:
// requested when named (the caller must belong to it), or the caller's only
// autorización when left out. Roles other than autorizado may name any
// registered autorización.
func (d *Directory) ActingFor(c echo.Context, requested string) (authorizations.State, error) {
	const op = errs.Op("api.ActingFor")
	p, _ := principalOf(c)
	ctx := c.Request().Context()
	if requested == "" {
		if p.Role != auth.Autorizado {
			return authorizations.State{}, errs.E(op, errs.Invalid, errs.FieldError{Field: "authorization", Reason: "indique la autorización"})
		}
		all, err := readmodels.AuthorizationsOf(ctx, d.DB, p.Subject)
		if err != nil {
			return authorizations.State{}, err
		}
		mine := authorizations.Membership(p.Subject, p.Autorizaciones, all)
		if len(mine) == 0 && d.CatchUp != nil {
			if err := d.CatchUp(ctx); err != nil {
				retryAfter(c, time.Second)
				return authorizations.State{}, errs.E(op, err)
			}
			if all, err = readmodels.AuthorizationsOf(ctx, d.DB, p.Subject); err != nil {
				return authorizations.State{}, err
			}
			mine = authorizations.Membership(p.Subject, p.Autorizaciones, all)
		}
		switch len(mine) {
		case 1:
			return mine[0], nil
		case 0:
			return authorizations.State{}, errs.E(op, errs.Forbidden, "el usuario no pertenece a ninguna autorización")
		}
		return authorizations.State{}, errs.E(op, errs.Invalid, errs.FieldError{Field: "authorization",
			Reason: "pertenece a varias autorizaciones: indique con cuál actúa"})
	}
	number, err := authorizations.NormalizeNumber(requested)
	if err != nil {
		return authorizations.State{}, errs.E(op, errs.Invalid, errs.FieldError{Field: "authorization", Reason: "número de autorización no válido"})
	}
	l, err := d.Load(c, number)
	if err != nil {
		return authorizations.State{}, err
	}
	if p.Role != auth.Autorizado {
		if !l.State.Registered {
			return authorizations.State{}, errs.E(op, errs.Invalid, errs.FieldError{Field: "authorization", Reason: "la autorización no existe"})
		}
		return l.State, nil
	}
	if !l.State.Registered || !l.State.HasUser(p.Subject) || (p.Autorizaciones != nil && !slices.Contains(p.Autorizaciones, number)) {
		return authorizations.State{}, errs.E(op, errs.Forbidden, "no actúa por la autorización "+number)
	}
	return l.State, nil
}

// Load loads an autorización once per request: the access checks and
// the command of one request see the same state, read once.
func (d *Directory) Load(c echo.Context, number string) (commands.Loaded[authorizations.State], error) {
	key := "redengine.autorizacion." + number
	if l, ok := c.Get(key).(commands.Loaded[authorizations.State]); ok {
		return l, nil
	}
	l, err := d.Handler.Load(c.Request().Context(), number)
	if err != nil {
		return l, err
	}
	c.Set(key, l)
	return l, nil
}

// CanSee reports whether the caller may read data of the autorización:
// readers of everything (tramitador, auditor, compliance, admin) may; an
// autorizado only for its own.
func (d *Directory) CanSee(c echo.Context, number string) error {
	p, _ := principalOf(c)
	if p.Role != auth.Autorizado && p.Role != auth.INSS {
		return nil
	}
	if p.Role == auth.Autorizado {
		if p.Autorizaciones != nil && !slices.Contains(p.Autorizaciones, number) {
			return errs.E(errs.Op("api.CanSee"), errs.Forbidden, "no actúa por la autorización "+number)
		}
		l, err := d.Load(c, number)
		if err != nil {
			return err
		}
		if l.State.HasUser(p.Subject) {
			return nil
		}
	}
	return errs.E(errs.Op("api.CanSee"), errs.Forbidden, "no actúa por la autorización "+number)
}

// AuthorizationView is an autorización as the API shows it.
type AuthorizationView struct {
	Number           string   `json:"number"`
	Name             string   `json:"name,omitempty"`
	UsuarioPrincipal string   `json:"usuarioPrincipal"`
	Users            []string `json:"users"`
	CCCs             []string `json:"cccs"`
	ContactEmail     string   `json:"contactEmail,omitempty"`
}

func viewOf(s authorizations.State) AuthorizationView {
	return AuthorizationView{Number: s.Number, Name: s.Name, UsuarioPrincipal: s.UsuarioPrincipal,
		Users: nonNilStrings(s.Users), CCCs: nonNilStrings(s.CCCs), ContactEmail: s.ContactEmail}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Authorizations serves the Autorización RED routes.
type Authorizations struct {
	Dir  *Directory
	Wait Waiter
}

// Routes of the module.
func (a Authorizations) Routes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/v1/autorizaciones", Roles: []auth.Role{auth.Admin}, Summary: "Register an autorización", Handler: a.register},
		{Method: http.MethodGet, Path: "/v1/autorizaciones/:number", Roles: []auth.Role{auth.Autorizado, auth.Tramitador, auth.Auditor, auth.Compliance, auth.Admin}, Summary: "One autorización", Handler: a.get},
		{Method: http.MethodPut, Path: "/v1/autorizaciones/:number/contact", Roles: []auth.Role{auth.Autorizado}, Summary: "Set the contact email (usuario principal)", Handler: a.setContact},
		{Method: http.MethodGet, Path: "/v1/me/autorizaciones", Roles: []auth.Role{auth.Autorizado}, Summary: "The caller's autorizaciones", Handler: a.mine},
	}
}

func (a Authorizations) register(c echo.Context) error {
	var in authorizations.RegisterInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := in.Validate()
	if err != nil {
		return err
	}
	meta, err := commandMeta(c, r.Number)
	if err != nil {
		return err
	}
	res, err := a.Dir.Handler.Handle(c.Request().Context(), r.Number, meta, authorizations.Register(r))
	if err != nil {
		return err
	}
	written(c, res.Position, res.Duplicate)
	return created(c, viewOf(res.State))
}

func (a Authorizations) get(c echo.Context) error {
	number, err := authorizations.NormalizeNumber(c.Param("number"))
	if err != nil {
		return err
	}
	if err := a.Dir.CanSee(c, number); err != nil {
		return err
	}
	l, err := a.Dir.Handler.Load(c.Request().Context(), number)
	if err != nil {
		return err
	}
	if !l.State.Registered {
		return errs.E(errs.Op("api.authorizations.get"), errs.NotFound, "la autorización no existe")
	}
	return c.JSON(http.StatusOK, viewOf(l.State))
}

func (a Authorizations) setContact(c echo.Context) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	number, err := authorizations.NormalizeNumber(c.Param("number"))
	if err != nil {
		return err
	}
	if _, err := a.Dir.ActingFor(c, number); err != nil {
		return err
	}
	meta, err := commandMeta(c, number)
	if err != nil {
		return err
	}
	p, _ := principalOf(c)
	res, err := a.Dir.Handler.Handle(c.Request().Context(), number, meta, authorizations.SetContact(p.Subject, in.Email))
	if err != nil {
		return err
	}
	written(c, res.Position, res.Duplicate)
	return c.JSON(http.StatusOK, viewOf(res.State))
}

func (a Authorizations) mine(c echo.Context) error {
	if err := awaitMinPosition(c, a.Wait, "autorizaciones"); err != nil {
		return err
	}
	p, _ := principalOf(c)
	all, err := readmodels.AuthorizationsOf(c.Request().Context(), a.Dir.DB, p.Subject)
	if err != nil {
		return err
	}
	out := []AuthorizationView{}
	for _, s := range authorizations.Membership(p.Subject, p.Autorizaciones, all) {
		out = append(out, viewOf(s))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}
