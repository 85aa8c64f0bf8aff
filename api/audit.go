package api

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"redengine/auth"
	"redengine/errs"
	"redengine/eventstore"
)

// Audit serves the raw history of any stream and the hash-chain check, for
// auditors, compliance and administrators.
type Audit struct {
	Store eventstore.Store
}

// AuditEvent is one event as the audit routes show it: everything the log
// holds, hashes in hex.
type AuditEvent struct {
	ID            string              `json:"id"`
	Stream        string              `json:"stream"`
	Type          string              `json:"type"`
	SchemaVersion int                 `json:"schemaVersion"`
	Revision      uint64              `json:"revision"`
	Position      string              `json:"position"`
	RecordedAt    time.Time           `json:"recordedAt"`
	Metadata      eventstore.Metadata `json:"metadata"`
	Data          json.RawMessage     `json:"data"`
	PrevHash      string              `json:"prevHash"`
	Hash          string              `json:"hash"`
}

// AuditEventOf converts a recorded event.
func AuditEventOf(e eventstore.Event) AuditEvent {
	return AuditEvent{ID: e.ID.String(), Stream: e.Stream, Type: e.Type, SchemaVersion: e.SchemaVersion,
		Revision: e.Revision, Position: e.Position.String(), RecordedAt: e.RecordedAt.UTC(), Metadata: e.Metadata,
		Data: e.Data, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}
}

// auditEventsOf converts recorded events (never nil, so JSON shows []).
func auditEventsOf(evs []eventstore.Event) []AuditEvent {
	out := make([]AuditEvent, len(evs))
	for i, e := range evs {
		out[i] = AuditEventOf(e)
	}
	return out
}

var auditRoles = []auth.Role{auth.Auditor, auth.Compliance, auth.Admin}

// Routes of the audit module.
func (a Audit) Routes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/v1/audit/streams/:stream", Roles: auditRoles, Summary: "Every event of a stream", Handler: a.stream},
		{Method: http.MethodGet, Path: "/v1/audit/verify", Roles: auditRoles, Summary: "Check the hash chain", Handler: a.verify},
	}
}

func (a Audit) stream(c echo.Context) error {
	const op = errs.Op("api.audit.stream")
	from := uint64(0)
	if v := c.QueryParam("from"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errs.E(op, errs.Invalid, errs.FieldError{Field: "from", Reason: "revisión no válida"})
		}
		from = n
	}
	limit := 1000
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return errs.E(op, errs.Invalid, errs.FieldError{Field: "limit", Reason: "entre 1 y 10000"})
		}
		limit = n
	}
	evs, err := a.Store.ReadStream(c.Request().Context(), c.Param("stream"), from, eventstore.Forward, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"stream": c.Param("stream"), "events": auditEventsOf(evs)})
}

func (a Audit) verify(c echo.Context) error {
	rep, err := eventstore.Verify(c.Request().Context(), a.Store, nil)
	if err != nil {
		return err
	}
	body := map[string]any{"ok": rep.Broken == nil, "events": rep.Events, "streams": rep.Streams, "tookMs": rep.Took.Milliseconds()}
	if rep.Broken != nil {
		body["broken"] = map[string]any{"stream": rep.Broken.Stream, "revision": rep.Broken.Revision,
			"position": rep.Broken.Position.String(), "reason": rep.Broken.Reason}
	}
	return c.JSON(http.StatusOK, body)
}
