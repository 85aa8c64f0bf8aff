// Package docs carries the documents the engine serves itself, such as the
// OpenAPI description at /openapi.yaml.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
