package readmodels

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/projections"
)

// CasesName is the name of the cases projection.
const CasesName = "cases"

// Cases projects the case streams: one row per case (its folded summary,
// with the columns the case list filters on) and one row per Resolución de
// Desistimiento with its notification. Rows are folded with cases.Apply, the
// aggregate's own Evolve, so the model shows what the aggregate decides on;
// a row keeps the case's Summary, not its thread, documents and emails
// (nothing here shows them, and the case itself is read from its stream), so
// the JSON written on every event no longer grows with the conversation.
type Cases struct {
	loc  *time.Location
	rows *rowCache[cases.State] // the states last written; nil: read every row back
}

// caseRowsCached is how many case rows the projection keeps folded in
// memory.
const caseRowsCached = 16384

// NewCases returns the cases projection.
func NewCases() Cases {
	loc, err := calendar.LoadMadrid()
	if err != nil {
		loc = time.UTC
	}
	return Cases{loc: loc, rows: newRowCache[cases.State](caseRowsCached)}
}

// Name of the projection.
func (Cases) Name() string { return CasesName }

// Version of the projection's Apply logic (2: rows hold the case's Summary).
func (Cases) Version() int { return 2 }

// Filter passes only case streams ("case-…"; not "casenumbers-…").
func (Cases) Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{cases.Category + "-"}}
}

// Tables of the projection.
func (Cases) Tables() []projections.Table {
	return []projections.Table{
		{Name: "cases", Create: func(t string) string {
			return `CREATE TABLE ` + t + ` (
				id            TEXT PRIMARY KEY,
				number        TEXT NOT NULL,
				type          TEXT NOT NULL,
				materia       TEXT NOT NULL,
				categoria     TEXT NOT NULL,
				subcategoria  TEXT NOT NULL,
				unit          TEXT NOT NULL,
				origin        TEXT NOT NULL,
				authorization TEXT NOT NULL,
				state         TEXT NOT NULL,
				subject       TEXT NOT NULL,
				opened_ns     INTEGER NOT NULL,
				opened_on     TEXT NOT NULL,
				updated_at    TEXT NOT NULL,
				deadline      TEXT NOT NULL,
				revision      INTEGER NOT NULL,
				position      TEXT NOT NULL,
				data          TEXT NOT NULL
			)`
		}, Indexes: func(t string) []string {
			return []string{
				`CREATE INDEX ` + t + `_by_opened ON ` + t + ` (opened_ns, number)`,
				`CREATE INDEX ` + t + `_by_unit ON ` + t + ` (unit, opened_ns, number)`,
				`CREATE INDEX ` + t + `_by_authorization ON ` + t + ` (authorization, opened_ns, number)`,
				`CREATE INDEX ` + t + `_by_state ON ` + t + ` (state, opened_ns, number)`,
			}
		}},
		{Name: "desistimientos", Create: func(t string) string {
			return `CREATE TABLE ` + t + ` (
				id                 TEXT PRIMARY KEY,
				case_id            TEXT NOT NULL,
				case_number        TEXT NOT NULL,
				authorization      TEXT NOT NULL,
				number             TEXT NOT NULL,
				verification_code  TEXT NOT NULL UNIQUE,
				issuing_body       TEXT NOT NULL,
				issued_at          TEXT NOT NULL,
				issued_on          TEXT NOT NULL,
				notification_id    TEXT NOT NULL,
				notification_state TEXT NOT NULL,
				made_available_at  TEXT NOT NULL,
				rejection_deadline TEXT NOT NULL,
				accessed_at        TEXT NOT NULL,
				accessed_by        TEXT NOT NULL,
				rejected_at        TEXT NOT NULL
			)`
		}, Indexes: func(t string) []string {
			return []string{
				`CREATE INDEX ` + t + `_by_issued ON ` + t + ` (issued_on, id)`,
				`CREATE INDEX ` + t + `_by_authorization ON ` + t + ` (authorization, issued_on, id)`,
				`CREATE INDEX ` + t + `_by_notification ON ` + t + ` (notification_id)`,
			}
		}},
	}
}

// casesCodec decodes case events; a codec is read-only once built, and
// building one per event cost more than decoding the event.
var casesCodec = cases.NewCodec()

// Apply folds one case event into its case's row and, for the events of a
// desistimiento, into the desistimiento's row.
func (p Cases) Apply(ctx context.Context, tx *sql.Tx, t projections.TableNames, e eventstore.Event) error {
	codec := casesCodec
	if !codec.Knows(e.Type) {
		return nil
	}
	v, err := codec.Decode(e)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(e.Stream, cases.Category+"-")
	var stored struct { // the indexed columns of the stored row
		number, unit, authorization, state string
		openedNS                           int64
	}
	// The row as this projection last wrote it, when that was the event
	// just before this one; else as stored.
	st, found := p.rows.before(t["cases"], id, e.Revision)
	if found {
		stored.number, stored.unit, stored.authorization = st.Number, st.Unit, st.Authorization
		stored.state, stored.openedNS = string(st.Status), st.OpenedAt.UnixNano()
	} else if e.Revision > 0 {
		// (A stream's first event has no row to read: a row holds the
		// fold of events already applied, and the checkpoint keeps any
		// from being applied twice; the upsert below would be right anyway.)
		var data string
		err = projections.QueryRow(ctx, tx, `SELECT data, number, unit, authorization, state, opened_ns FROM `+t["cases"]+` WHERE id = ?`, id).
			Scan(&data, &stored.number, &stored.unit, &stored.authorization, &stored.state, &stored.openedNS)
		found = err == nil
		switch {
		case err == sql.ErrNoRows:
		case err != nil:
			return err
		default:
			if err := gojson.Unmarshal([]byte(data), &st); err != nil {
				return fmt.Errorf("caso %s: %w", id, err)
			}
		}
	}
	st = cases.Apply(st, v).Summary()
	if !st.Exists() {
		return nil // an event before the opening: nothing to show
	}
	// Put before the row is written: should the write fail, the batch
	// is applied again from the stored row (the entry is then ahead).
	p.rows.put(t["cases"], id, e.Revision, st)
	raw, err := gojson.Marshal(st)
	if err != nil {
		return err
	}
	deadline := ""
	if d, ok := st.Deadline(); ok {
		deadline = d.UTC().Format(time.RFC3339Nano)
	}
	if found && st.ID == id && stored.number == st.Number && stored.openedNS == st.OpenedAt.UnixNano() {
		// The row keeps its place in the by-opened index: assign only the
		// indexed columns that changed (see setChanged).
		set, args := setChanged(`type = ?, materia = ?, categoria = ?, subcategoria = ?, origin = ?, subject = ?, opened_on = ?,
		updated_at = ?, deadline = ?, revision = ?, position = ?, data = ?`,
			[]any{string(st.Type), st.Classification.Materia, st.Classification.Categoria, st.Classification.Subcategoria,
				string(st.Origin), st.Subject, p.dateOf(st.OpenedAt), rfc(st.UpdatedAt), deadline, int64(e.Revision), e.Position.String(), string(raw)},
			change{"unit", stored.unit, st.Unit}, change{"authorization", stored.authorization, st.Authorization},
			change{"state", stored.state, string(st.Status)})
		if _, err := projections.Exec(ctx, tx, `UPDATE `+t["cases"]+` SET `+set+` WHERE id = ?`, append(args, id)...); err != nil {
			return err
		}
	} else if _, err := projections.Exec(ctx, tx, `INSERT INTO `+t["cases"]+` (id, number, type, materia, categoria, subcategoria, unit, origin,
		authorization, state, subject, opened_ns, opened_on, updated_at, deadline, revision, position, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET number = excluded.number, type = excluded.type, materia = excluded.materia,
		categoria = excluded.categoria, subcategoria = excluded.subcategoria, unit = excluded.unit, origin = excluded.origin,
		authorization = excluded.authorization, state = excluded.state, subject = excluded.subject,
		opened_ns = excluded.opened_ns, opened_on = excluded.opened_on, updated_at = excluded.updated_at,
		deadline = excluded.deadline, revision = excluded.revision, position = excluded.position, data = excluded.data`,
		st.ID, st.Number, string(st.Type), st.Classification.Materia, st.Classification.Categoria, st.Classification.Subcategoria,
		st.Unit, string(st.Origin), st.Authorization, string(st.Status), st.Subject, st.OpenedAt.UnixNano(),
		p.dateOf(st.OpenedAt), rfc(st.UpdatedAt), deadline, int64(e.Revision), e.Position.String(), string(raw)); err != nil {
		return err
	}
	switch ev := v.(type) {
	case cases.DesistimientoIssued:
		_, err = projections.Exec(ctx, tx, `INSERT INTO `+t["desistimientos"]+` (id, case_id, case_number, authorization, number,
			verification_code, issuing_body, issued_at, issued_on, notification_id, notification_state, made_available_at,
			rejection_deadline, accessed_at, accessed_by, rejected_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', '', '', '', '')
			ON CONFLICT (id) DO NOTHING`,
			ev.ResolutionID, st.ID, st.Number, st.Authorization, ev.Number, ev.VerificationCode, ev.Facts.IssuingBody,
			rfc(ev.IssuedAt), p.dateOf(ev.IssuedAt))
	case cases.NotificationMadeAvailable:
		_, err = projections.Exec(ctx, tx, `UPDATE `+t["desistimientos"]+` SET notification_id = ?, notification_state = ?,
			made_available_at = ?, rejection_deadline = ? WHERE id = ?`,
			ev.NotificationID, string(cases.PuestaADisposicion), rfc(ev.MadeAvailableAt), rfc(ev.RejectionDeadline), ev.ResolutionID)
	case cases.NotificationAccessed:
		_, err = projections.Exec(ctx, tx, `UPDATE `+t["desistimientos"]+` SET notification_state = ?, accessed_at = ?, accessed_by = ?
			WHERE notification_id = ?`, string(cases.Accedida), rfc(ev.At), ev.By.ID, ev.NotificationID)
	case cases.NotificationRejected:
		_, err = projections.Exec(ctx, tx, `UPDATE `+t["desistimientos"]+` SET notification_state = ?, rejected_at = ?
			WHERE notification_id = ?`, string(cases.Rechazada), rfc(ev.At), ev.NotificationID)
	}
	return err
}

// change is an indexed column of a stored row: its stored and new values.
type change struct {
	col      string
	old, new any
}

// setChanged returns the SET list of an UPDATE and its arguments: set and
// args (the columns always assigned), then "col = ?" for each indexed column
// whose value changed. SQLite rewrites the entries of every index on a column
// an UPDATE (or an upsert's DO UPDATE) assigns, even to the value it had, and
// each index page so dirtied is written again at commit: with the four
// indexes of the cases table left alone when their columns did not change,
// the runner's commits cost about 13 % less under the load mix.
func setChanged(set string, args []any, changes ...change) (string, []any) {
	for _, c := range changes {
		if c.old != c.new {
			set += ", " + c.col + " = ?"
			args = append(args, c.new)
		}
	}
	return set, args
}

func (p Cases) dateOf(t time.Time) string {
	loc := p.loc
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(time.DateOnly)
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseRFC(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// CaseFilter selects cases in the case list. Empty fields do not filter.
type CaseFilter struct {
	// Authorizations limits to cases of these autorizaciones (an
	// autorizado's own). Nil: any; empty but not nil: none.
	Authorizations []string
	Authorization  string
	State          string
	Type           string
	Materia        string
	Origin         string
	Unit           string
	// OpenedFrom and OpenedTo bound the date of opening (Europe/Madrid),
	// both included.
	OpenedFrom, OpenedTo *calendar.Date
	// Limit is the page size; Cursor continues after the last item of the
	// previous page (CaseList.NextCursor).
	Limit  int
	Cursor string
}

// CaseSummary is one case in the case list.
type CaseSummary struct {
	ID            string    `json:"id"`
	Number        string    `json:"number"`
	Type          string    `json:"type"`
	Materia       string    `json:"materia"`
	Categoria     string    `json:"categoria"`
	Subcategoria  string    `json:"subcategoria"`
	Unit          string    `json:"unit"`
	Origin        string    `json:"origin"`
	Authorization string    `json:"authorization"`
	State         string    `json:"state"`
	Subject       string    `json:"subject"`
	OpenedAt      time.Time `json:"openedAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	Deadline      time.Time `json:"deadline,omitzero"` // of the pending requerimiento
	Revision      uint64    `json:"revision"`
}

// CaseList is one page of the case list, oldest first.
type CaseList struct {
	Items      []CaseSummary `json:"items"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

// EncodeCaseCursor builds the cursor that continues after a case opened at
// openedNS with the given number.
func EncodeCaseCursor(openedNS int64, number string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(openedNS, 10) + ":" + number))
}

func decodeCaseCursor(s string) (int64, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", err
	}
	ns, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return 0, "", fmt.Errorf("cursor sin número de caso")
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	return n, id, err
}

// ListCases returns a page of the cases that match f, oldest first (opening
// time, then case number): a unit's queue when f.Unit is set.
func ListCases(ctx context.Context, db Queryer, f CaseFilter) (CaseList, error) {
	const op = errs.Op("readmodels.ListCases")
	out := CaseList{Items: []CaseSummary{}}
	if f.Authorizations != nil && len(f.Authorizations) == 0 {
		return out, nil
	}
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("authorization", f.Authorization)
	eq("state", f.State)
	eq("type", f.Type)
	eq("materia", f.Materia)
	eq("origin", f.Origin)
	eq("unit", f.Unit)
	if f.Authorizations != nil {
		where = append(where, "authorization IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Authorizations)), ", ")+")")
		for _, a := range f.Authorizations {
			args = append(args, a)
		}
	}
	if f.OpenedFrom != nil {
		where = append(where, "opened_on >= ?")
		args = append(args, f.OpenedFrom.String())
	}
	if f.OpenedTo != nil {
		where = append(where, "opened_on <= ?")
		args = append(args, f.OpenedTo.String())
	}
	if f.Cursor != "" {
		ns, number, err := decodeCaseCursor(f.Cursor)
		if err != nil {
			return out, errs.E(op, errs.Invalid, errs.FieldError{Field: "cursor", Reason: "cursor no válido"})
		}
		where = append(where, "(opened_ns > ? OR (opened_ns = ? AND number > ?))")
		args = append(args, ns, ns, number)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT id, number, type, materia, categoria, subcategoria, unit, origin, authorization, state, subject,
		opened_ns, updated_at, deadline, revision FROM cases`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY opened_ns, number LIMIT ?"
	args = append(args, limit+1)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return out, errs.E(op, errs.Unavailable, err)
	}
	defer rows.Close()
	var lastNS int64
	for rows.Next() {
		var s CaseSummary
		var ns int64
		var updated, deadline string
		var rev int64
		if err := rows.Scan(&s.ID, &s.Number, &s.Type, &s.Materia, &s.Categoria, &s.Subcategoria, &s.Unit, &s.Origin,
			&s.Authorization, &s.State, &s.Subject, &ns, &updated, &deadline, &rev); err != nil {
			return out, errs.E(op, errs.Internal, err)
		}
		if len(out.Items) == limit {
			last := out.Items[len(out.Items)-1]
			out.NextCursor = EncodeCaseCursor(lastNS, last.Number)
			break
		}
		s.OpenedAt = time.Unix(0, ns).UTC()
		s.UpdatedAt, s.Deadline, s.Revision = parseRFC(updated), parseRFC(deadline), uint64(rev)
		lastNS = ns
		out.Items = append(out.Items, s)
	}
	if err := rows.Err(); err != nil {
		return out, errs.E(op, errs.Unavailable, err)
	}
	return out, nil
}

// DesistimientoRow is one Resolución de Desistimiento and its notification.
type DesistimientoRow struct {
	ID                string    `json:"id"`
	CaseID            string    `json:"caseId"`
	CaseNumber        string    `json:"caseNumber"`
	Authorization     string    `json:"authorization"`
	Number            string    `json:"number"`
	VerificationCode  string    `json:"verificationCode"`
	IssuingBody       string    `json:"issuingBody"`
	IssuedAt          time.Time `json:"issuedAt"`
	NotificationID    string    `json:"notificationId"`
	NotificationState string    `json:"notificationState"`
	MadeAvailableAt   time.Time `json:"madeAvailableAt,omitzero"`
	RejectionDeadline time.Time `json:"rejectionDeadline,omitzero"`
	AccessedAt        time.Time `json:"accessedAt,omitzero"`
	AccessedBy        string    `json:"accessedBy,omitempty"`
	RejectedAt        time.Time `json:"rejectedAt,omitzero"`
}

// DesistimientoFilter selects desistimientos by the date they were issued
// (Europe/Madrid, both included) and autorización.
type DesistimientoFilter struct {
	From, To       *calendar.Date
	Authorization  string
	Authorizations []string // nil: any; empty but not nil: none
	Limit, Offset  int
}

const desistimientoCols = `id, case_id, case_number, authorization, number, verification_code, issuing_body, issued_at,
	notification_id, notification_state, made_available_at, rejection_deadline, accessed_at, accessed_by, rejected_at`

func scanDesistimiento(sc interface{ Scan(...any) error }) (DesistimientoRow, error) {
	var d DesistimientoRow
	var issued, made, deadline, accessed, rejected string
	err := sc.Scan(&d.ID, &d.CaseID, &d.CaseNumber, &d.Authorization, &d.Number, &d.VerificationCode, &d.IssuingBody, &issued,
		&d.NotificationID, &d.NotificationState, &made, &deadline, &accessed, &d.AccessedBy, &rejected)
	d.IssuedAt, d.MadeAvailableAt, d.RejectionDeadline = parseRFC(issued), parseRFC(made), parseRFC(deadline)
	d.AccessedAt, d.RejectedAt = parseRFC(accessed), parseRFC(rejected)
	return d, err
}

// ListDesistimientos returns the desistimientos that match f, by issue date.
func ListDesistimientos(ctx context.Context, db Queryer, f DesistimientoFilter) ([]DesistimientoRow, error) {
	const op = errs.Op("readmodels.ListDesistimientos")
	out := []DesistimientoRow{}
	if f.Authorizations != nil && len(f.Authorizations) == 0 {
		return out, nil
	}
	var where []string
	var args []any
	if f.Authorization != "" {
		where = append(where, "authorization = ?")
		args = append(args, f.Authorization)
	}
	if f.Authorizations != nil {
		where = append(where, "authorization IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Authorizations)), ", ")+")")
		for _, a := range f.Authorizations {
			args = append(args, a)
		}
	}
	if f.From != nil {
		where = append(where, "issued_on >= ?")
		args = append(args, f.From.String())
	}
	if f.To != nil {
		where = append(where, "issued_on <= ?")
		args = append(args, f.To.String())
	}
	q := `SELECT ` + desistimientoCols + ` FROM desistimientos`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY issued_at, id LIMIT ? OFFSET ?"
	args = append(args, limit, max(0, f.Offset))
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDesistimiento(rows)
		if err != nil {
			return nil, errs.E(op, errs.Internal, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	return out, nil
}

// DesistimientoBy returns the desistimiento whose column col ("id",
// "notification_id" or "verification_code") is v; false when there is none.
func DesistimientoBy(ctx context.Context, db Queryer, col, v string) (DesistimientoRow, bool, error) {
	const op = errs.Op("readmodels.DesistimientoBy")
	switch col {
	case "id", "notification_id", "verification_code":
	default:
		return DesistimientoRow{}, false, errs.E(op, errs.Internal, "columna no admitida: "+col)
	}
	d, err := scanDesistimiento(db.QueryRowContext(ctx, `SELECT `+desistimientoCols+` FROM desistimientos WHERE `+col+` = ? LIMIT 1`, v))
	if err == sql.ErrNoRows {
		return d, false, nil
	}
	if err != nil {
		return d, false, errs.E(op, errs.Unavailable, err)
	}
	return d, true, nil
}
