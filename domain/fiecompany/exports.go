package fiecompany

import (
	"fmt"
	"time"

	"redengine/commands"
	"redengine/errs"
	"redengine/fie"
)

// ExportCategory is the category of FIER download streams: "fierexport-<id>".
const ExportCategory = "fierexport"

// NoResults is the message of a FIER query that found nothing.
const NoResults = "no se ha generado ningún fichero de descarga: la consulta no devuelve registros"

// Policy limits one FIER query, as the real service does (17 days and 300
// records by default; from configuration).
type Policy struct {
	MaxDays    int // days of the range, both ends included; 0: no limit
	MaxRecords int // records of one download; 0: no limit
}

// Days is the number of days of the range [from, to], both included.
func Days(from, to fie.Date) int {
	return int(to.Time().Sub(from.Time()).Hours()/24+0.5) + 1
}

// CheckRange checks a query's dates: both valid, from not after to, and the
// range within MaxDays. Errors are errs.Invalid naming the field and, for
// the range, the limit.
func (p Policy) CheckRange(from, to fie.Date) error {
	const op = errs.Op("fiecompany.CheckRange")
	if from.IsZero() || to.IsZero() {
		var fe errs.Fields
		if from.IsZero() {
			fe.Add("from", "obligatoria (AAAA-MM-DD)")
		}
		if to.IsZero() {
			fe.Add("to", "obligatoria (AAAA-MM-DD)")
		}
		return errs.E(op, errs.Invalid, fe)
	}
	if to.Before(from) {
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "to", Reason: fmt.Sprintf("la fecha final %s es anterior a la inicial %s", to, from)})
	}
	if n := Days(from, to); p.MaxDays > 0 && n > p.MaxDays {
		return errs.E(op, errs.Invalid, fmt.Sprintf("el periodo máximo de una consulta es de %d días", p.MaxDays),
			errs.FieldError{Field: "to", Reason: fmt.Sprintf("el periodo consultado es de %d días; el máximo es %d días", n, p.MaxDays)})
	}
	return nil
}

// CheckCount checks the number of records a query returns: none is
// errs.NotFound (no download is generated), more than MaxRecords errs.Invalid
// naming the limit.
func (p Policy) CheckCount(n int) error {
	const op = errs.Op("fiecompany.CheckCount")
	if n == 0 {
		return errs.E(op, errs.NotFound, NoResults)
	}
	if p.MaxRecords > 0 && n > p.MaxRecords {
		return errs.E(op, errs.Invalid, fmt.Sprintf("una consulta puede devolver como máximo %d registros", p.MaxRecords),
			errs.FieldError{Field: "from", Reason: fmt.Sprintf("la consulta devuelve %d registros; el máximo es %d registros: acorte el periodo", n, p.MaxRecords)})
	}
	return nil
}

// ExportGenerated: a FIER download point was generated for a query. The
// workbook is kept in the data dir until ExpiresAt; its SHA-256 lets a
// download be checked against what was generated.
type ExportGenerated struct {
	ID            string    `json:"id"`
	CCC           string    `json:"ccc"`
	From          fie.Date  `json:"from"`
	To            fie.Date  `json:"to"`
	Records       int       `json:"records"`
	Authorization string    `json:"authorization,omitempty"` // the autorización the user acted for
	File          string    `json:"file"`                    // file name in <data dir>/fier
	Bytes         int64     `json:"bytes"`
	SHA256        string    `json:"sha256"`
	ExpiresAt     time.Time `json:"expiresAt"`
}

// ExportState is a download point as its stream left it.
type ExportState struct {
	Generated   bool
	Export      ExportGenerated
	GeneratedAt time.Time
	RequestedBy string
}

// Expired reports whether the download is no longer available at now.
func (s ExportState) Expired(now time.Time) bool { return !now.Before(s.Export.ExpiresAt) }

var exportCodec = commands.NewCodec(
	commands.Type[ExportGenerated](TypeExportGenerated, 1),
)

// ExportAggregate is the FIER download stream; its ID is the export ID.
func ExportAggregate() commands.Aggregate[ExportState] {
	return commands.Aggregate[ExportState]{Category: ExportCategory, Codec: exportCodec, Evolve: EvolveExport}
}

// EvolveExport applies one event.
func EvolveExport(s ExportState, e commands.Event) ExportState {
	if ev, ok := e.Data.(ExportGenerated); ok {
		s = ExportState{Generated: true, Export: ev, GeneratedAt: e.Metadata.OccurredAt, RequestedBy: e.Metadata.Actor.ID}
	}
	return s
}

// Generate decides the record of a generated download: the query must pass
// the policy, and the expiry must be after now. A download point already
// generated (a repeated request) decides nothing.
func Generate(p Policy, ev ExportGenerated) commands.Decide[ExportState] {
	return func(s ExportState, now time.Time) ([]any, error) {
		const op = errs.Op("fiecompany.Generate")
		if s.Generated {
			return nil, nil
		}
		if err := p.CheckRange(ev.From, ev.To); err != nil {
			return nil, err
		}
		if err := p.CheckCount(ev.Records); err != nil {
			return nil, err
		}
		if ev.ID == "" || ev.File == "" || len(ev.SHA256) != 64 {
			return nil, errs.E(op, errs.Internal, "descarga FIER incompleta")
		}
		if !ev.ExpiresAt.After(now) {
			return nil, errs.E(op, errs.Internal, "la descarga FIER caducaría antes de generarse")
		}
		return []any{ev}, nil
	}
}
