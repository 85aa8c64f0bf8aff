package api

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"redengine/commands"
	"redengine/errs"
	"redengine/eventstore"
)

var (
	idempotencyKeyRE = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)
	correlationRE    = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,128}$`)
)

// commandMeta builds the metadata of the command a request issues: the
// command ID (derived from Idempotency-Key, scoped to the caller and the
// request path, or new), the correlation ID (X-Correlation-ID or the command
// ID; echoed back), the request ID as causation, and the actor acting for
// authorization.
func commandMeta(c echo.Context, authorization string) (commands.Meta, error) {
	const op = errs.Op("api.command")
	p, _ := principalOf(c)
	req := c.Request()
	id := commands.NewCommandID()
	if key := req.Header.Get("Idempotency-Key"); key != "" {
		if !idempotencyKeyRE.MatchString(key) {
			return commands.Meta{}, errs.E(op, errs.Invalid, errs.FieldError{Field: "Idempotency-Key", Reason: "de 1 a 255 caracteres ASCII visibles"})
		}
		id = commands.IDFromKey(p.Subject+" "+req.Method+" "+req.URL.Path, key)
	}
	corr := req.Header.Get("X-Correlation-ID")
	if corr != "" && !correlationRE.MatchString(corr) {
		return commands.Meta{}, errs.E(op, errs.Invalid, errs.FieldError{Field: "X-Correlation-ID", Reason: "de 1 a 128 letras, cifras o . _ : -"})
	}
	if corr == "" {
		corr = id.String()
	}
	c.Response().Header().Set("X-Correlation-ID", corr)
	return commands.Meta{
		CommandID:     id,
		CorrelationID: corr,
		CausationID:   c.Response().Header().Get(echo.HeaderXRequestID),
		Actor:         eventstore.Actor{ID: p.Subject, Role: string(p.Role), Authorization: authorization},
	}, nil
}

// written sets the headers every command answer carries: the global position
// it wrote (for read-your-writes with minPosition) and whether it was a
// repeat.
func written(c echo.Context, pos eventstore.Position, duplicate bool) {
	h := c.Response().Header()
	h.Set("X-Position", pos.String())
	if duplicate {
		h.Set("Idempotent-Replayed", "true")
	}
}

// minPosition reads the minPosition query parameter (zero when absent).
func minPosition(c echo.Context) (eventstore.Position, error) {
	v := c.QueryParam("minPosition")
	if v == "" {
		return eventstore.Position{}, nil
	}
	p, err := eventstore.ParsePosition(v)
	if err != nil {
		return p, errs.E(errs.Op("api.minPosition"), errs.Invalid, errs.FieldError{Field: "minPosition", Reason: "posición no válida"})
	}
	return p, nil
}

// retryAfter is set on 503 answers of bounded waits.
func retryAfter(c echo.Context, d time.Duration) {
	c.Response().Header().Set("Retry-After", strconv.Itoa(max(1, int(d.Seconds()+0.999))))
}

// created answers 201 with a JSON body.
func created(c echo.Context, v any) error { return c.JSON(http.StatusCreated, v) }

// Waiter waits until a projection has applied the log up to a position;
// *projections.Runner is one.
type Waiter interface {
	WaitFor(ctx context.Context, name string, pos eventstore.Position) error
}

// awaitMinPosition makes a query read its own write: when the request has
// minPosition, it waits (bounded by the waiter's timeout) until projection
// has reached it; past the bound the answer is 503 with Retry-After.
func awaitMinPosition(c echo.Context, w Waiter, projection string) error {
	return waitForMin(c, func(ctx context.Context, pos eventstore.Position) error {
		return w.WaitFor(ctx, projection, pos)
	})
}

// waitForMin honours the minPosition query parameter with wait, which
// returns when the read model has reached a position or fails after a
// bounded wait (then the answer carries Retry-After).
func waitForMin(c echo.Context, wait func(context.Context, eventstore.Position) error) error {
	pos, err := minPosition(c)
	if err != nil || pos.IsZero() || wait == nil {
		return err
	}
	if err := wait(c.Request().Context(), pos); err != nil {
		retryAfter(c, time.Second)
		return err
	}
	return nil
}

// readWholeStream reads every event of a stream, page by page. A missing
// stream is a *eventstore.StreamNotFoundError.
func readWholeStream(ctx context.Context, s eventstore.Store, stream string) ([]eventstore.Event, error) {
	const page = 1000
	var out []eventstore.Event
	var from uint64
	for {
		evs, err := s.ReadStream(ctx, stream, from, eventstore.Forward, page)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
		if len(evs) < page {
			return out, nil
		}
		from = evs[len(evs)-1].Revision + 1
	}
}
