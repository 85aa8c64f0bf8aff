package api

import (
	gojson "github.com/goccy/go-json"
	"github.com/labstack/echo/v4"
)

// jsonSerializer writes the JSON answers with go-json, which gives the bytes
// encoding/json gives in about half its time (a case's view, a page of the
// case list: docs/benchmarks.md, "Late-morning session of the 29th").
// Request bodies are still read by decodeJSON with encoding/json: its
// strictness and the errors it reports are the edge's.
type jsonSerializer struct{ echo.DefaultJSONSerializer }

// Serialize writes i as JSON to the answer, as echo.DefaultJSONSerializer
// does.
func (jsonSerializer) Serialize(c echo.Context, i any, indent string) error {
	enc := gojson.NewEncoder(c.Response())
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(i)
}
