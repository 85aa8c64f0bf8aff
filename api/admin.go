package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"redengine/auth"
	"redengine/clock"
	"redengine/errs"
)

// PassReport is what a scheduler pass did, as the admin routes show it.
type PassReport struct {
	AsOf        time.Time `json:"asOf"`
	Considered  int       `json:"considered"`
	Acted       int       `json:"acted"`
	AlreadyDone int       `json:"alreadyDone"`
	Failed      int       `json:"failed"`
}

// Admin serves the operator's routes: running a scheduler pass and, when the
// clock is manual, moving it forward.
type Admin struct {
	// Manual is the engine's clock when it is manual; nil otherwise, and
	// then POST /v1/admin/clock does not exist.
	Manual *clock.Manual
	Clock  clock.Clock
	// Pass runs one scheduler pass as of now.
	Pass func(ctx context.Context, now time.Time) (PassReport, error)
}

// Routes of the admin module.
func (a Admin) Routes() []Route {
	admin := []auth.Role{auth.Admin}
	rs := []Route{{Method: http.MethodPost, Path: "/v1/admin/scheduler/run", Roles: admin, Summary: "Run a scheduler pass now", Handler: a.run, NoBody: true}}
	if a.Manual != nil {
		rs = append(rs, Route{Method: http.MethodPost, Path: "/v1/admin/clock", Roles: admin, Summary: "Move the manual clock forward and run a pass", Handler: a.setClock})
	}
	return rs
}

func (a Admin) run(c echo.Context) error {
	rep, err := a.Pass(c.Request().Context(), a.Clock.Now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

func (a Admin) setClock(c echo.Context) error {
	const op = errs.Op("api.admin.clock")
	var body struct {
		Now string `json:"now"`
	}
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, body.Now)
	if err != nil {
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "now", Reason: "instante RFC 3339 no válido, p. ej. 2026-12-01T09:00:00+01:00"})
	}
	if !t.Before(clock.Limit()) {
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "now", Reason: clock.LimitReason})
	}
	if err := a.Manual.Set(t); err != nil {
		return err
	}
	rep, err := a.Pass(c.Request().Context(), t)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"now": t.UTC(), "pass": rep})
}
