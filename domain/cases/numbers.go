package cases

import (
	"fmt"
	"strconv"
	"time"

	"redengine/commands"
	"redengine/errs"
)

// SequenceCategory is the stream category of the case number sequences: the
// numbers of a year are reserved on stream "casenumbers-<year>".
const SequenceCategory = "casenumbers"

// NumberReserved reserves number N of Year for a case. The pipeline appends
// it expecting the revision it loaded, so two openings racing for the same
// number conflict and the loser decides again on the newer state: numbers
// are unique without a database sequence.
type NumberReserved struct {
	Year   int    `json:"year"`
	N      int    `json:"n"`
	CaseID string `json:"caseId"`
}

// Sequence is the state of a year's case number sequence.
type Sequence struct {
	Year int `json:"year"`
	Last int `json:"last"` // the last number reserved (0: none)
}

// SequenceAggregate returns the case number sequence aggregate.
func SequenceAggregate() commands.Aggregate[Sequence] {
	return commands.Aggregate[Sequence]{
		Category: SequenceCategory,
		Codec:    commands.NewCodec(commands.Type[NumberReserved](TypeNumberReserved, SchemaVersion)),
		Evolve: func(s Sequence, e commands.Event) Sequence {
			if ev, ok := e.Data.(NumberReserved); ok {
				s.Year, s.Last = ev.Year, ev.N
			}
			return s
		},
	}
}

// SequenceID is the aggregate ID of a year's sequence: the year as text
// (stream "casenumbers-2026").
func SequenceID(year int) string { return strconv.Itoa(year) }

// NumberYear is the year a case opened at now is numbered in: its year in
// Europe/Madrid.
func NumberYear(now time.Time) int { return now.In(madrid()).Year() }

// ReserveNumber decides the next number of year's sequence for caseID.
// Handle it on SequenceAggregate with ID SequenceID(year) and the command ID
// of the opening, so a repeated opening gets its first number back.
func ReserveNumber(year int, caseID string) commands.Decide[Sequence] {
	return func(s Sequence, _ time.Time) ([]any, error) {
		const op = errs.Op("cases.ReserveNumber")
		if year < 2000 || year > 9999 || caseID == "" {
			return nil, errs.E(op, errs.Invalid, fmt.Sprintf("año %d o caso %q no válidos", year, caseID))
		}
		if s.Year != 0 && s.Year != year {
			return nil, errs.E(op, errs.Internal, fmt.Sprintf("la secuencia del año %d no puede numerar casos de %d", s.Year, year))
		}
		return []any{NumberReserved{Year: year, N: s.Last + 1, CaseID: caseID}}, nil
	}
}

// FormatNumber renders a case number: "CAS-2026-000123".
func FormatNumber(year, n int) string { return fmt.Sprintf("CAS-%04d-%06d", year, n) }
