// Package api is the engine's HTTP interface: Echo routes over the command
// pipeline and the read models, JSON in and out, every error as
// application/problem+json. Each route declares the roles that may call it;
// the route table is the single source for registration, the authorization
// matrix test and the OpenAPI coverage test.
package api

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"redengine/auth"
	"redengine/clock"
	"redengine/config"
	"redengine/errs"
	"redengine/metrics"
)

// Route is one entry of the route table.
type Route struct {
	Method  string
	Path    string      // Echo path template, e.g. /v1/cases/:id
	Roles   []auth.Role // who may call it; nil means public (no token)
	Summary string
	Handler echo.HandlerFunc
	// MaxBody, when set, replaces the configured body limit for this route
	// (file uploads).
	MaxBody int64
	// NoBody marks a command that reads no body: one with content is
	// refused (400) rather than ignored.
	NoBody bool
}

// Public reports whether the route needs no token.
func (r Route) Public() bool { return r.Roles == nil }

// Module contributes routes to the server.
type Module interface {
	Routes() []Route
}

// Deps are what the server needs from the rest of the engine.
type Deps struct {
	Config  config.Config
	Clock   clock.Clock
	Issuer  *auth.Issuer
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// Ready reports whether the engine can serve (store reachable,
	// projections caught up); nil means always ready.
	Ready func(ctx context.Context) error
	// OpenAPI is the document served at /openapi.yaml.
	OpenAPI []byte
	// Modules add feature routes.
	Modules []Module
}

// Server is the HTTP server of the engine.
type Server struct {
	deps   Deps
	log    *slog.Logger
	echo   *echo.Echo
	routes []Route
	srv    *http.Server
}

// New builds the server and its route table.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	s := &Server{deps: d, log: d.Log, echo: echo.New()}
	e := s.echo
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.errorHandler
	e.JSONSerializer = jsonSerializer{}
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		Generator: func() string { return newRequestID() },
	}))
	e.Use(s.observe)
	e.Use(checkRequestID)
	e.Use(checkQuery)
	e.Use(middleware.Recover())

	s.routes = append(s.routes, s.baseRoutes()...)
	for _, m := range d.Modules {
		s.routes = append(s.routes, m.Routes()...)
	}
	s.srv = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	limiter := s.rateLimiter()
	for _, r := range s.routes {
		var mw []echo.MiddlewareFunc
		if limit := cmp.Or(r.MaxBody, d.Config.MaxBodyBytes); limit > 0 {
			mw = append(mw, bodyLimit(limit))
		}
		if !r.Public() {
			mw = append(mw, s.authenticate(r.Roles))
			if limiter != nil {
				mw = append(mw, limiter)
			}
		}
		if r.NoBody {
			mw = append(mw, noBody)
		}
		e.Add(r.Method, r.Path, r.Handler, mw...)
		if r.Method == http.MethodGet {
			// HEAD wherever GET (RFC 9110 §9.3.2): the same handler, its
			// body dropped by net/http.
			e.Add(http.MethodHead, r.Path, r.Handler, mw...)
		}
	}
	return s
}

// Routes returns the route table.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// Handler returns the server as an http.Handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.echo }

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for in-flight requests
// (commands included) to finish, or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

func (s *Server) baseRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/healthz", Summary: "Liveness", Handler: s.healthz},
		{Method: http.MethodGet, Path: "/readyz", Summary: "Readiness", Handler: s.readyz},
		{Method: http.MethodGet, Path: "/metrics", Summary: "Prometheus metrics",
			Handler: echo.WrapHandler(promhttp.HandlerFor(s.deps.Metrics.Registry, promhttp.HandlerOpts{}))},
		{Method: http.MethodGet, Path: "/openapi.yaml", Summary: "OpenAPI document", Handler: s.openapi},
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c echo.Context) error {
	if s.deps.Ready != nil {
		if err := s.deps.Ready(c.Request().Context()); err != nil {
			return errs.E(errs.Op("api.readyz"), errs.Unavailable, "el motor aún no está listo", err)
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) openapi(c echo.Context) error {
	if len(s.deps.OpenAPI) == 0 {
		return errs.E(errs.Op("api.openapi"), errs.NotFound, "documento OpenAPI no disponible")
	}
	return c.Blob(http.StatusOK, "application/yaml", s.deps.OpenAPI)
}

// TraceTask is the type of the runtime/trace task of each request, while
// an execution trace is taken.
const TraceTask = "http"

// observe logs each request (without personal data: the route template, never
// the raw path or query) and records its latency.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if trace.IsEnabled() {
			// Under the execution tracer (/debug/pprof/trace), each
			// request is a task of type "http": cmd/reqtrace finds in the
			// trace where its time went.
			ctx, task := trace.NewTask(c.Request().Context(), TraceTask)
			defer task.End()
			c.SetRequest(c.Request().WithContext(ctx))
		}
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		d := time.Since(start)
		s.deps.Metrics.RequestDuration.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Observe(d.Seconds())
		attrs := []any{
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method,
			"route", route,
			"status", status,
			"duration_ms", float64(d.Microseconds()) / 1000,
		}
		if p, ok := principalOf(c); ok {
			attrs = append(attrs, "role", string(p.Role))
		}
		s.log.Info("request", attrs...)
		return nil
	}
}

// checkRequestID refuses a request whose X-Request-Id would not do as an
// identifier: it becomes the causation ID on every event of a command, in
// the hash-chained log, so it is held to 1–128 visible ASCII characters. The
// refusal answers with a fresh request ID of its own.
func checkRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if id == "" || validRequestID(id) {
			return next(c)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, newRequestID())
		return errs.E(errs.Op("api.checkRequestID"), errs.Invalid,
			errs.FieldError{Field: echo.HeaderXRequestID, Reason: "de 1 a 128 caracteres ASCII visibles, sin espacios"})
	}
}

// checkQuery refuses a query string Go would read only in part: a pair
// with a ';' or a malformed %-escape is dropped by url.Values, so the
// filter it held would be ignored silently (a revision, an asOf, a limit).
func checkQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if raw := c.Request().URL.RawQuery; raw != "" {
			if _, err := url.ParseQuery(raw); err != nil {
				return errs.E(errs.Op("api.checkQuery"), errs.Invalid,
					"la consulta de la URL no es válida: lleva un ';' o un '%' sin codificar; codifique cada valor (%3B, %25)", err)
			}
		}
		return next(c)
	}
}

func validRequestID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '!' || id[i] > '~' {
			return false
		}
	}
	return id != ""
}

const principalKey = "redengine.principal"

// authenticate checks the bearer token and the route's roles.
func (s *Server) authenticate(roles []auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			const op = errs.Op("api.auth")
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			// The scheme is case-insensitive (RFC 9110 §11.1): "bearer" too.
			scheme, token, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="redengine"`)
				return errs.E(op, errs.Unauthenticated, "se requiere un token Bearer")
			}
			if s.deps.Issuer == nil {
				return errs.E(op, errs.Unavailable, "autenticación no configurada (REDENGINE_JWT_SECRET)")
			}
			p, err := s.deps.Issuer.Verify(strings.TrimSpace(token))
			if err != nil {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="redengine", error="invalid_token"`)
				return err
			}
			// Set before the role check, so that a refusal's log line
			// names the role that was refused too.
			c.Set(principalKey, p)
			if !slices.Contains(roles, p.Role) {
				return errs.E(op, errs.Forbidden, "el rol "+string(p.Role)+" no puede usar esta operación")
			}
			return next(c)
		}
	}
}

// principalOf returns the authenticated caller of a request.
func principalOf(c echo.Context) (auth.Principal, bool) {
	p, ok := c.Get(principalKey).(auth.Principal)
	return p, ok
}

// rateLimiter limits requests per token subject, when configured.
func (s *Server) rateLimiter() echo.MiddlewareFunc {
	if s.deps.Config.RateLimit <= 0 {
		return nil
	}
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate:      rate.Limit(s.deps.Config.RateLimit),
		Burst:     max(1, s.deps.Config.RateBurst),
		ExpiresIn: 5 * time.Minute,
	})
	retry := strconv.Itoa(max(1, int(1/s.deps.Config.RateLimit+0.999)))
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: store,
		IdentifierExtractor: func(c echo.Context) (string, error) {
			p, _ := principalOf(c)
			return p.Subject, nil
		},
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", retry)
			return errs.E(errs.Op("api.ratelimit"), errs.TooMany, "límite de peticiones por token superado")
		},
		ErrorHandler: func(c echo.Context, err error) error {
			return errs.E(errs.Op("api.ratelimit"), errs.Internal, err)
		},
	})
}

// bodyLimit caps request bodies; decodeJSON reports the overflow as 413.
func bodyLimit(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > n {
				return &statusError{status: http.StatusRequestEntityTooLarge,
					err: errs.E(errs.Op("api.body"), errs.Invalid, "el cuerpo de la petición es demasiado grande")}
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, n)
			return next(c)
		}
	}
}
