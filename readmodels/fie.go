package readmodels

import (
	"context"
	"database/sql"
	"iter"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"redengine/domain/calendar"
	"redengine/domain/fiecompany"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/fie"
	"redengine/projections"
)

// FIEName is the name of the FIE projection.
const FIEName = "fie"

// FIE projects the company streams of FIE records: one row per benefit
// process (CCC, NAF, benefit kind, start date) with its latest observation,
// the date it was received (Europe/Madrid) and its codes with their Spanish
// descriptions, indexed by CCC and received date (the FIER query).
type FIE struct {
	loc *time.Location
}

// NewFIE returns the FIE projection.
func NewFIE() FIE {
	loc, err := calendar.LoadMadrid()
	if err != nil {
		loc = time.UTC
	}
	return FIE{loc: loc}
}

// Name of the projection.
func (FIE) Name() string { return FIEName }

// Filter passes only company streams.
func (FIE) Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{fiecompany.Category + "-"}}
}

// Tables of the projection.
func (FIE) Tables() []projections.Table {
	return []projections.Table{{
		Name: "fie_records",
		Create: func(t string) string {
			return `CREATE TABLE ` + t + ` (
				ccc              TEXT NOT NULL,
				naf              TEXT NOT NULL,
				kind             TEXT NOT NULL,
				start_date       TEXT NOT NULL,
				regimen          TEXT NOT NULL,
				company_name     TEXT NOT NULL,
				ipf              TEXT NOT NULL,
				surname1         TEXT NOT NULL,
				surname2         TEXT NOT NULL,
				name             TEXT NOT NULL,
				kind_desc        TEXT NOT NULL,
				contingency      TEXT NOT NULL,
				contingency_desc TEXT NOT NULL,
				carencia         TEXT NOT NULL,
				carencia_desc    TEXT NOT NULL,
				process_type     TEXT NOT NULL,
				process_type_desc TEXT NOT NULL,
				end_date         TEXT NOT NULL,
				annulled         TEXT NOT NULL,
				received_on      TEXT NOT NULL,
				received_at      TEXT NOT NULL,
				source           TEXT NOT NULL,
				file_date        TEXT NOT NULL,
				observations     INTEGER NOT NULL,
				position         TEXT NOT NULL,
				data             TEXT NOT NULL,
				PRIMARY KEY (ccc, naf, kind, start_date)
			) WITHOUT ROWID`
		},
		Indexes: func(t string) []string {
			return []string{`CREATE INDEX ` + t + `_by_received ON ` + t + ` (ccc, received_on)`}
		},
	}}
}

// Apply upserts the row of the process an observation is about.
func (p FIE) Apply(ctx context.Context, tx *sql.Tx, t projections.TableNames, e eventstore.Event) error {
	if e.Type != fiecompany.TypeRecordReceived {
		return nil
	}
	data, err := fiecompany.Codec().Upcast(e)
	if err != nil {
		return err
	}
	var ev fiecompany.RecordReceived
	if err := gojson.Unmarshal(data, &ev); err != nil {
		return errs.E(errs.Internal, "RegistroFIERecibido "+e.ID.String(), err)
	}
	r := &ev.Record
	loc := p.loc
	if loc == nil {
		loc = time.UTC
	}
	args := []any{r.CCC, r.NAF, string(r.Kind), r.DIT.Start.String(), r.Regimen, r.CompanyName, r.IPF,
		r.Surname1, r.Surname2, r.Name, r.Kind.Description(), string(r.DIT.Contingency), r.DIT.Contingency.Description(),
		string(r.DIT.Carencia), r.DIT.Carencia.Description(), string(r.DIT.ProcessType), r.DIT.ProcessType.Description(),
		r.DIT.End.String(), string(r.DIT.Annulled), e.Metadata.OccurredAt.In(loc).Format(time.DateOnly),
		e.Metadata.OccurredAt.UTC().Format(time.RFC3339Nano), ev.Source, ev.FileDate.String(), e.Position.String(), string(data)}
	_, err = projections.Exec(ctx, tx, upsertFIE(t["fie_records"]), args...)
	return err
}

func upsertFIE(table string) string {
	return `INSERT INTO ` + table + ` (ccc, naf, kind, start_date, regimen, company_name, ipf,
		surname1, surname2, name, kind_desc, contingency, contingency_desc, carencia, carencia_desc, process_type,
		process_type_desc, end_date, annulled, received_on, received_at, source, file_date, observations, position, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT (ccc, naf, kind, start_date) DO UPDATE SET regimen = excluded.regimen, company_name = excluded.company_name,
		ipf = excluded.ipf, surname1 = excluded.surname1, surname2 = excluded.surname2, name = excluded.name,
		kind_desc = excluded.kind_desc, contingency = excluded.contingency, contingency_desc = excluded.contingency_desc,
		carencia = excluded.carencia, carencia_desc = excluded.carencia_desc, process_type = excluded.process_type,
		process_type_desc = excluded.process_type_desc, end_date = excluded.end_date, annulled = excluded.annulled,
		received_on = excluded.received_on, received_at = excluded.received_at, source = excluded.source,
		file_date = excluded.file_date, observations = observations + 1, position = excluded.position, data = excluded.data`
}

// FIERow is one process of the FIE read model.
type FIERow struct {
	Record       fie.Record
	ReceivedOn   fie.Date  // the date (Europe/Madrid) the latest observation was received
	ReceivedAt   time.Time // when it was received
	Source       string    // fiecompany.SourceFile or SourceAPI
	FileDate     fie.Date  // the FIE file's date, for SourceFile
	Observations int       // how many observations of the process were received
}

// FIECount returns how many processes of ccc were last received between from
// and to (both included).
func FIECount(ctx context.Context, db Queryer, ccc string, from, to fie.Date) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM fie_records WHERE ccc = ? AND received_on BETWEEN ? AND ?`,
		ccc, from.String(), to.String()).Scan(&n)
	if err != nil {
		return 0, errs.E(errs.Op("readmodels.FIECount"), errs.Unavailable, err)
	}
	return n, nil
}

// FIERecords yields the processes of ccc last received between from and to
// (both included), ordered by worker (NAF), benefit kind and start date,
// reading them as it goes (one consistent snapshot), so memory does not grow
// with their number.
//
// limit > 0 stops after limit rows and suits a bounded query (FIER's policy):
// the rows are found through the (CCC, received date) index and sorted. With
// limit 0 (bulk exports) the CCC's rows are read in primary-key order, which
// is already the output order, and filtered by date: no sort of a large
// result.
func FIERecords(ctx context.Context, db Queryer, ccc string, from, to fie.Date, limit int) iter.Seq2[FIERow, error] {
	return func(yield func(FIERow, error) bool) {
		const op = errs.Op("readmodels.FIERecords")
		q := `SELECT data, received_on, received_at, observations FROM fie_records
			WHERE ccc = ? AND received_on BETWEEN ? AND ? ORDER BY naf, kind, start_date`
		args := []any{ccc, from.String(), to.String()}
		if limit > 0 {
			q += ` LIMIT ?`
			args = append(args, limit)
		} else {
			// The unary + keeps the planner off the date index.
			q = strings.Replace(q, "AND received_on", "AND +received_on", 1)
		}
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			yield(FIERow{}, errs.E(op, errs.Unavailable, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var data, on, at string
			var row FIERow
			if err := rows.Scan(&data, &on, &at, &row.Observations); err != nil {
				yield(FIERow{}, errs.E(op, errs.Unavailable, err))
				return
			}
			var ev fiecompany.RecordReceived
			if err := gojson.Unmarshal([]byte(data), &ev); err != nil {
				yield(FIERow{}, errs.E(op, errs.Internal, err))
				return
			}
			row.Record, row.Source, row.FileDate = ev.Record, ev.Source, ev.FileDate
			row.ReceivedOn, _ = fie.ParseDate(on)
			row.ReceivedAt, _ = time.Parse(time.RFC3339Nano, at)
			if !yield(row, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(FIERow{}, errs.E(op, errs.Unavailable, err))
		}
	}
}

// FIERecordsOnly adapts FIERecords to the records alone, as fier.WriteFIER
// takes them.
func FIERecordsOnly(rows iter.Seq2[FIERow, error]) iter.Seq2[fie.Record, error] {
	return func(yield func(fie.Record, error) bool) {
		for row, err := range rows {
			if !yield(row.Record, err) {
				return
			}
		}
	}
}
