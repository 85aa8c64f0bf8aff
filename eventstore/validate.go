package eventstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"

	"redengine/errs"
)

// ValidateAppend checks an append's input; every adapter calls it before
// touching storage, so bad input is refused the same way everywhere and
// nothing is written. It returns an errs.Invalid error listing each problem.
func ValidateAppend(stream string, events []EventData) error {
	_, err := CheckAppend(stream, events)
	return err
}

// CheckAppend is ValidateAppend that also returns each event's canonical
// metadata (CanonicalMetadata), which it encodes to check it: an adapter
// that stores those bytes need not encode them again. Events whose metadata
// equals the previous event's share its slice.
func CheckAppend(stream string, events []EventData) ([][]byte, error) {
	var fields errs.Fields
	switch {
	case stream == "":
		fields.Add("stream", "está vacío")
	case len(stream) > MaxStreamNameLen:
		fields.Add("stream", fmt.Sprintf("supera %d bytes", MaxStreamNameLen))
	case !utf8.ValidString(stream):
		fields.Add("stream", "no es UTF-8 válido")
	case stream[0] == '$':
		fields.Add("stream", "los flujos que empiezan por $ son del sistema")
	}
	if len(events) == 0 {
		fields.Add("events", "no hay eventos que añadir")
	}
	seen := make(map[uuid.UUID]bool, len(events))
	// The events of one append usually share their metadata: encode each
	// distinct one once.
	var (
		lastMeta  Metadata
		meta      []byte
		metaErr   error
		metaValid bool
	)
	metas := make([][]byte, len(events))
	for i := range events {
		e := &events[i]
		// The field name is built only for an error (this runs for every
		// event of a file import).
		at := func() string { return "events[" + strconv.Itoa(i) + "]" }
		if e.ID == uuid.Nil {
			fields.Add(at()+".id", "falta el identificador")
		} else if seen[e.ID] {
			fields.Add(at()+".id", "identificador repetido en el lote")
		}
		seen[e.ID] = true
		if e.Type == "" || len(e.Type) > MaxTypeLen || !utf8.ValidString(e.Type) || e.Type[0] == '$' {
			fields.Add(at()+".type", "tipo vacío, demasiado largo o reservado")
		}
		if e.SchemaVersion < 1 {
			fields.Add(at()+".schemaVersion", "debe ser 1 o mayor")
		}
		// A file import appends every record's data: checking JSON that
		// json.Marshal produced was a tenth of its CPU.
		if !e.Marshaled && !json.Valid(e.Data) {
			fields.Add(at()+".data", "no es JSON válido")
		}
		if i == 0 || e.Metadata != lastMeta {
			lastMeta = e.Metadata
			meta, metaErr = CanonicalMetadata(e.Metadata)
			// JSON turns invalid UTF-8 into U+FFFD, so such metadata would
			// not hash the same once read back.
			m := e.Metadata
			metaValid = true
			for _, s := range []string{m.CorrelationID, m.CausationID, m.CommandID, m.Actor.ID, m.Actor.Role, m.Actor.Authorization} {
				if !utf8.ValidString(s) {
					metaValid = false
					break
				}
			}
		}
		if metaErr != nil {
			fields.Add(at()+".metadata", "no se puede codificar")
		}
		if !metaValid {
			fields.Add(at()+".metadata", "no es UTF-8 válido")
		}
		metas[i] = meta
		if len(e.Data)+len(meta) > MaxEventSize {
			fields.Add(at(), fmt.Sprintf("el evento supera %d bytes", MaxEventSize))
		}
	}
	if len(fields) > 0 {
		return nil, errs.E(errs.Op("eventstore.Append"), errs.Invalid, fields)
	}
	return metas, nil
}
