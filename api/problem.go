package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"redengine/errs"
)

// Problem is an RFC 9457 problem document, the body of every error answer.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Kind      string            `json:"kind"`
	Detail    string            `json:"detail,omitempty"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
}

// statusOf maps an error kind to its HTTP status: the one place this happens.
func statusOf(k errs.Kind) int {
	switch k {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict, errs.Precondition:
		return http.StatusConflict
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	case errs.TooMany:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

var titles = map[errs.Kind]string{
	errs.Invalid:         "Datos no válidos",
	errs.NotFound:        "No encontrado",
	errs.Conflict:        "Conflicto con un cambio concurrente",
	errs.Precondition:    "Operación no permitida en el estado actual",
	errs.Forbidden:       "Acceso denegado",
	errs.Unauthenticated: "Autenticación requerida",
	errs.Unavailable:     "Servicio no disponible temporalmente",
	errs.Internal:        "Error interno",
	errs.TooMany:         "Demasiadas peticiones",
}

// ProblemOf builds the problem document of err.
func ProblemOf(err error, requestID, instance string) Problem {
	kind := errs.KindOf(err)
	if kind == errs.Other {
		kind = errs.Internal
	}
	p := Problem{
		Type:      "https://redengine.local/problems/" + kind.String(),
		Title:     titles[kind],
		Status:    statusOf(kind),
		Kind:      kind.String(),
		Detail:    errs.MessageOf(err),
		Errors:    errs.FieldsOf(err),
		Instance:  instance,
		RequestID: requestID,
	}
	var hs interface{ HTTPStatus() int }
	if errors.As(err, &hs) {
		p.Status = hs.HTTPStatus()
		if p.Status == http.StatusGone {
			p.Title = "Ya no disponible" // a not_found whose time ran out
		}
	}
	if kind == errs.Internal {
		p.Detail = "error interno; indique el requestId al soporte"
		p.Errors = nil
	}
	return p
}

// errorHandler writes every error of the API as application/problem+json.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		err = fromHTTPError(he)
	}
	rid := c.Response().Header().Get(echo.HeaderXRequestID)
	p := ProblemOf(err, rid, c.Request().URL.Path)
	if p.Status >= 500 {
		s.log.Error("request failed", "request_id", rid, "route", c.Path(), "kind", p.Kind, "error", err.Error())
	}
	h := c.Response().Header()
	if p.Status == http.StatusServiceUnavailable || p.Status == http.StatusTooManyRequests {
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", strconv.Itoa(1))
		}
	}
	h.Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return
	}
	if err := jsonEncode(c.Response(), p); err != nil {
		s.log.Warn("writing problem", slog.String("error", err.Error()))
	}
}

// fromHTTPError turns Echo's own errors (no route, wrong method, body too
// large) into kinded errors with Spanish messages.
func fromHTTPError(he *echo.HTTPError) error {
	op := errs.Op("api")
	switch he.Code {
	case http.StatusNotFound:
		return errs.E(op, errs.NotFound, "la ruta no existe")
	case http.StatusMethodNotAllowed:
		return &statusError{status: http.StatusMethodNotAllowed, err: errs.E(op, errs.Invalid, "método no permitido en esta ruta")}
	case http.StatusRequestEntityTooLarge:
		return &statusError{status: http.StatusRequestEntityTooLarge, err: errs.E(op, errs.Invalid, "el cuerpo de la petición es demasiado grande")}
	case http.StatusUnsupportedMediaType:
		return &statusError{status: http.StatusUnsupportedMediaType, err: errs.E(op, errs.Invalid, "tipo de contenido no admitido")}
	case http.StatusUnauthorized:
		return errs.E(op, errs.Unauthenticated, "se requiere un token Bearer")
	case http.StatusForbidden:
		return errs.E(op, errs.Forbidden)
	case http.StatusTooManyRequests:
		return errs.E(op, errs.TooMany, "límite de peticiones superado")
	case http.StatusServiceUnavailable:
		return errs.E(op, errs.Unavailable)
	}
	if he.Code >= 400 && he.Code < 500 {
		return errs.E(op, errs.Invalid, "petición no válida")
	}
	if he.Internal != nil {
		return errs.E(op, errs.Internal, he.Internal)
	}
	return errs.E(op, errs.Internal)
}

// statusError carries an HTTP status more precise than its kind's (405, 413,
// 415) while keeping the kind for the problem body.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string      { return e.err.Error() }
func (e *statusError) Unwrap() error      { return e.err }
func (e *statusError) ErrKind() errs.Kind { return errs.KindOf(e.err) }
func (e *statusError) HTTPStatus() int    { return e.status }
