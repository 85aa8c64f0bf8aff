// Package fiecompany is the FIE side of the engine's domain: the company
// stream that receives every benefit observation the INSS publishes about a
// company's workers (one event per FIE record), the record of each imported
// FIE file (so the same file is stored once), the FIER downloads (who asked
// for what, when, and until when it can be downloaded) and the FIER query
// policy.
//
// Streams:
//
//	fiecompany-<régimen>-<CCC>   RegistroFIERecibido, one per record observed
//	fieimport-<sha256 of file>   FicheroFIEImportado, once per distinct file
//	fierexport-<id>              DescargaFIERGenerada, once per download point
package fiecompany

import (
	"fmt"
	"strconv"
	"time"

	"redengine/commands"
	"redengine/errs"
	"redengine/fie"
)

// Category is the category of company streams: "fiecompany-<régimen>-<CCC>".
const Category = "fiecompany"

// Event type names.
const (
	TypeRecordReceived  = "RegistroFIERecibido"
	TypeFileImported    = "FicheroFIEImportado"
	TypeExportGenerated = "DescargaFIERGenerada"
)

// Sources of a record.
const (
	SourceFile = "fichero" // a FIE 2.0 file through POST /v1/fie/imports
	SourceAPI  = "api"     // JSON through POST /v1/fie/records
)

// RecordReceived: the INSS published one observation of a benefit process
// of a worker of the company. The same process (same fie.Key) recurs in
// later observations with updates; the latest one is its current state.
type RecordReceived struct {
	Source   string     `json:"source"`
	FileHash string     `json:"fileHash,omitempty"` // the FIE file it came in (SourceFile)
	FileDate fie.Date   `json:"fileDate"`           // the file's ETI date (SourceFile)
	Record   fie.Record `json:"record"`
}

// State is a company as its stream left it.
type State struct {
	Regimen        string
	CCC            string
	Name           string // latest razón social received
	Records        int    // observations received
	LastReceivedAt time.Time
}

var companyCodec = commands.NewCodec(
	commands.Type[RecordReceived](TypeRecordReceived, 1),
)

// Codec returns the codec of the company stream's events (for projections).
func Codec() *commands.Codec { return companyCodec }

// Aggregate is the company stream for the command pipeline; its ID is
// CompanyID(régimen, CCC).
func Aggregate() commands.Aggregate[State] {
	return commands.Aggregate[State]{Category: Category, Codec: companyCodec, Evolve: Evolve}
}

// CompanyID is the aggregate ID of a company account: régimen + CCC.
func CompanyID(regimen, ccc string) string { return regimen + "-" + ccc }

// Evolve applies one event.
func Evolve(s State, e commands.Event) State {
	if ev, ok := e.Data.(RecordReceived); ok {
		s.Regimen, s.CCC = ev.Record.Regimen, ev.Record.CCC
		if ev.Record.CompanyName != "" {
			s.Name = ev.Record.CompanyName
		}
		s.Records++
		s.LastReceivedAt = e.Metadata.OccurredAt
	}
	return s
}

// Observation is where a batch of records comes from.
type Observation struct {
	Source   string   // SourceFile or SourceAPI
	FileHash string   // for SourceFile
	FileDate fie.Date // for SourceFile
}

// isCompany reports whether id is CompanyID(regimen, ccc), without building
// it.
func isCompany(id, regimen, ccc string) bool {
	return len(id) == len(regimen)+1+len(ccc) && id[:len(regimen)] == regimen && id[len(regimen)] == '-' && id[len(regimen)+1:] == ccc
}

// Receive decides the reception of records of the company whose aggregate ID
// is id: every record must be valid and belong to that company (same régimen
// and CCC); then each becomes one RecordReceived, in order. An invalid batch
// is refused whole (errs.Invalid, the fields prefixed "records[i].").
func Receive(id string, obs Observation, records []fie.Record) commands.Decide[State] {
	return func(_ State, _ time.Time) ([]any, error) {
		const op = errs.Op("fiecompany.Receive")
		if obs.Source != SourceFile && obs.Source != SourceAPI {
			return nil, errs.E(op, errs.Internal, fmt.Sprintf("origen de registros desconocido %q", obs.Source))
		}
		var fe errs.Fields
		out := make([]any, 0, len(records))
		for i := range records {
			r := &records[i]
			// The field names are built only for errors: a file's records
			// arrive here by the hundred thousand.
			prefix := func() string { return "records[" + strconv.Itoa(i) + "]." }
			if !isCompany(id, r.Regimen, r.CCC) {
				fe.Add(prefix()+"ccc", fmt.Sprintf("el registro es de la cuenta %s y no de %s", CompanyID(r.Regimen, r.CCC), id))
				continue
			}
			if err := r.Validate(); err != nil {
				for _, f := range errs.FieldsOf(err) {
					fe.Add(prefix()+f.Field, f.Reason)
				}
				continue
			}
			out = append(out, RecordReceived{Source: obs.Source, FileHash: obs.FileHash, FileDate: obs.FileDate, Record: *r})
		}
		if len(fe) > 0 {
			return nil, errs.E(op, errs.Invalid, "registros FIE no válidos", fe)
		}
		return out, nil
	}
}
