package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"redengine/domain/cases"
	"redengine/domain/nss"
	"redengine/eventstore"
	"redengine/readmodels"
)

// TestAnswersAreEncodingJSONs holds the answers' serializer to the bytes of
// echo's own (encoding/json), indented or not.
func TestAnswersAreEncodingJSONs(t *testing.T) {
	at := time.Date(2026, 11, 29, 9, 0, 0, 123, time.FixedZone("CET", 3600))
	view := caseView(cases.State{ID: "c1", Number: "CASIA-2026-000001", Unit: "Recaudación", Subject: "<b>Consulta</b> & \"otra\"",
		Body: "línea\nsegunda \u2028 \x01 \xff", ExtraData: map[string]string{"z": "1", "a": "<2>"}, OpenedAt: at, UpdatedAt: at,
		Thread: []cases.Message{{Kind: cases.MessageReply, Text: "€", At: at}}}, 3, eventstore.Position{Commit: 9, Prepare: 9})
	list := readmodels.CaseList{Items: []readmodels.CaseSummary{{ID: "c1", Subject: "a&b", OpenedAt: at}, {ID: "c2", Deadline: at}}, NextCursor: "x"}
	e := echo.New()
	serialize := func(ser echo.JSONSerializer, v any, indent string) string {
		rec := httptest.NewRecorder()
		if err := ser.Serialize(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), v, indent); err != nil {
			t.Fatal(err)
		}
		return rec.Body.String()
	}
	assignment := nssView(nss.State{ID: "a1", Person: nss.Person{Nationality: "ESP"}}, 2, eventstore.Position{Commit: 4, Prepare: 4}, true)
	mailed := nssView(nss.State{ID: "a2", Emails: []nss.Email{{ID: "e1", Template: "t", Status: nss.EmailStatusSent}}}, 5, eventstore.Position{}, false)
	for name, v := range map[string]any{"case": view, "list": list, "nss": assignment, "nss mailed": mailed, "map": map[string]any{"now": at, "n": 1.5, "nil": nil}} {
		for _, indent := range []string{"", "  "} {
			got, want := serialize(jsonSerializer{}, v, indent), serialize(echo.DefaultJSONSerializer{}, v, indent)
			if got != want {
				t.Errorf("%s (indent %q):\n%s\nencoding/json:\n%s", name, indent, got, want)
			}
		}
	}
	// An assignment's answer lists its emails, [] when none: the view's
	// field shadows the state's, which is left out when empty.
	if got := serialize(jsonSerializer{}, assignment, ""); !strings.Contains(got, `"emails":[]`) || strings.Count(got, `"emails"`) != 1 {
		t.Errorf("an assignment without emails: %s", got)
	}
	if got := serialize(jsonSerializer{}, mailed, ""); !strings.Contains(got, `"emails":[{"id":"e1"`) || strings.Count(got, `"emails"`) != 1 {
		t.Errorf("an assignment with an email: %s", got)
	}
}
