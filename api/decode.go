package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"redengine/errs"
)

// maxJSONDepth bounds the nesting of request documents.
const maxJSONDepth = 32

// decodeJSON reads the request body into dst strictly: the content type must
// be JSON, the body must be valid UTF-8, not nested deeper than maxJSONDepth,
// with no unknown fields and nothing after the document. Every failure is an
// errs.Invalid error naming the field where it can.
func decodeJSON(c echo.Context, dst any) error {
	const op = errs.Op("api.decode")
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &statusError{status: http.StatusUnsupportedMediaType,
				err: errs.E(op, errs.Invalid, "el cuerpo debe ser application/json")}
		}
	} else {
		return &statusError{status: http.StatusUnsupportedMediaType,
			err: errs.E(op, errs.Invalid, "falta la cabecera Content-Type: application/json")}
	}
	body, err := readBody(req, op)
	if err != nil {
		return err
	}
	return decodeBytes(body, dst)
}

// readBody reads a request's body within the route's limit: over it, a 413.
func readBody(req *http.Request, op errs.Op) ([]byte, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &statusError{status: http.StatusRequestEntityTooLarge,
				err: errs.E(op, errs.Invalid, fmt.Sprintf("el cuerpo supera %d bytes", mbe.Limit))}
		}
		return nil, errs.E(op, errs.Invalid, "no se pudo leer el cuerpo", err)
	}
	return body, nil
}

// noBody refuses a body on a command that takes none (a confirmation, an
// access): nothing, whitespace, {} or null are accepted, anything else is a
// 400, so that a client that meant to send data learns that none is read.
func noBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		const op = errs.Op("api.noBody")
		body, err := readBody(c.Request(), op)
		if err != nil {
			return err
		}
		switch string(bytes.TrimSpace(body)) {
		case "", "{}", "null":
			return next(c)
		}
		return errs.E(op, errs.Invalid, "esta operación no lleva cuerpo: envíela vacía (o {})")
	}
}

// decodeBytes is decodeJSON's check of an already-read body.
func decodeBytes(body []byte, dst any) error {
	const op = errs.Op("api.decode")
	if len(bytes.TrimSpace(body)) == 0 {
		return errs.E(op, errs.Invalid, "el cuerpo está vacío; se espera un documento JSON")
	}
	if !utf8.Valid(body) {
		return errs.E(op, errs.Invalid, "el cuerpo no es UTF-8 válido")
	}
	if depth(body) > maxJSONDepth {
		return errs.E(op, errs.Invalid, fmt.Sprintf("el documento JSON anida más de %d niveles", maxJSONDepth))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errs.E(op, errs.Invalid, "hay contenido después del documento JSON")
	}
	// A list read as raw elements is checked element by element, when each
	// is decoded.
	if _, raw := dst.(*[]json.RawMessage); !raw {
		if path := duplicateName(body); path != "" {
			return errs.E(op, errs.Invalid, errs.FieldError{Field: path,
				Reason: "nombre repetido en el mismo objeto JSON: cada campo va una sola vez"})
		}
	}
	return nil
}

// duplicateName returns the path ("dit.startDate", "[1].text") of the first
// member name an object of the JSON text repeats, or "". Names are compared
// as encoding/json matches them to fields, ignoring case: it keeps the last
// of `"text"` and `"Text"`, another reader may keep the first, and a command
// must mean one thing. body is valid JSON (decoded already). A byte scan
// settles most bodies; the exact walk runs only when it finds a likely
// repeat, or a name with an escape or a non-ASCII letter.
func duplicateName(body []byte) string {
	if !mayRepeatName(body) {
		return ""
	}
	return repeatedName(body)
}

// mayRepeatName reports whether an object of a valid JSON text may repeat a
// member name: two names of one object equal but for ASCII case, or a name
// with an escape or a non-ASCII byte (left to the exact walk). In valid JSON
// a string followed by ':' is a member name; names are kept per object, in
// one slice with a stack of where each open object's names begin.
func mayRepeatName(b []byte) bool {
	var namesBuf [64][]byte
	var startsBuf [16]int
	names, starts := namesBuf[:0], startsBuf[:0]
	inStr, esc, from := false, false, 0
	for i := 0; i < len(b); i++ {
		ch := b[i]
		switch {
		case esc:
			esc = false
		case inStr && ch == '\\':
			esc = true
		case inStr && ch == '"':
			inStr = false
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j == len(b) || b[j] != ':' || len(starts) == 0 {
				continue
			}
			name := b[from:i]
			for _, c := range name {
				if c == '\\' || c >= 0x80 {
					return true
				}
			}
			for _, o := range names[starts[len(starts)-1]:] {
				if bytes.EqualFold(o, name) {
					return true
				}
			}
			names = append(names, name)
		case inStr:
		case ch == '"':
			inStr, from = true, i+1
		case ch == '{':
			starts = append(starts, len(names))
		case ch == '}':
			names, starts = names[:starts[len(starts)-1]], starts[:len(starts)-1]
		}
	}
	return false
}

// repeatedName is duplicateName's exact walk over the text's tokens.
func repeatedName(body []byte) string {
	type frame struct {
		object  bool
		seen    []string // an object's names so far
		wantKey bool     // an object awaiting a member name
		name    string   // an object's current member
		index   int      // an array's current element
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
			stack = append(stack, &frame{object: d == '{', wantKey: d == '{'})
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
		} else if top := len(stack) - 1; top >= 0 && stack[top].wantKey {
			f, name := stack[top], tok.(string)
			if slices.ContainsFunc(f.seen, func(o string) bool { return strings.EqualFold(o, name) }) {
				path := ""
				for _, g := range stack[:top] {
					if g.object {
						path += "." + g.name
					} else {
						path += "[" + strconv.Itoa(g.index) + "]"
					}
				}
				return strings.TrimPrefix(path+"."+name, ".")
			}
			f.seen, f.name, f.wantKey = append(f.seen, name), name, false
			continue
		}
		// A value ended: its parent moves on.
		if top := len(stack) - 1; top >= 0 {
			if stack[top].object {
				stack[top].wantKey = true
			} else {
				stack[top].index++
			}
		}
	}
}

// depth returns the deepest nesting of objects and arrays in a JSON text,
// ignoring brackets inside strings.
func depth(b []byte) int {
	d, maxD := 0, 0
	inStr, esc := false, false
	for _, ch := range b {
		switch {
		case esc:
			esc = false
		case inStr && ch == '\\':
			esc = true
		case ch == '"':
			inStr = !inStr
		case inStr:
		case ch == '{' || ch == '[':
			d++
			if d > maxD {
				maxD = d
			}
		case ch == '}' || ch == ']':
			d--
		}
	}
	return maxD
}

// jsonError words a decoding error for the person who sent the document.
func jsonError(err error) error {
	const op = errs.Op("api.decode")
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return errs.E(op, errs.Invalid, fmt.Sprintf("JSON mal formado en el byte %d", syn.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(documento)"
		}
		want := jsonKind(typ.Type.Kind().String())
		if w, ok := reflect.Zero(typ.Type).Interface().(interface{ JSONWants() string }); ok {
			want = w.JSONWants() // a value type of the domain: what it must be
		}
		return errs.E(op, errs.Invalid, errs.FieldError{Field: field, Reason: "se esperaba " + want})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.E(op, errs.Invalid, "JSON incompleto")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errs.E(op, errs.Invalid, errs.FieldError{Field: name, Reason: "campo desconocido"})
	}
	return errs.E(op, errs.Invalid, "JSON no válido: "+err.Error())
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "un texto"
	case "bool":
		return "true o false"
	case "slice", "array":
		return "una lista"
	case "map", "struct":
		return "un objeto"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "un número entero dentro de rango"
	case "float32", "float64":
		return "un número"
	}
	return "otro tipo de valor"
}

// jsonEncode writes v as JSON followed by a newline.
func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
