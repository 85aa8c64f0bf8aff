package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"redengine/domain/cases"
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
	for name, v := range map[string]any{"case": view, "list": list, "map": map[string]any{"now": at, "n": 1.5, "nil": nil}} {
		for _, indent := range []string{"", "  "} {
			got, want := serialize(jsonSerializer{}, v, indent), serialize(echo.DefaultJSONSerializer{}, v, indent)
			if got != want {
				t.Errorf("%s (indent %q):\n%s\nencoding/json:\n%s", name, indent, got, want)
			}
		}
	}
}
