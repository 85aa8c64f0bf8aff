package readmodels

import (
	"context"
	"database/sql"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/nss"
	"redengine/domain/nss/nssdoc"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/projections"
)

// NSSName is the name of the NSS assignments projection.
const NSSName = "nss_assignments"

// NSS projects the NSS assignment streams: one row per assignment with its
// folded state (nss.Evolve, the aggregate's own fold), indexed by
// autorización and request day, by NSS, and by elimination, plus the
// communication of an elimination, and by the código seguro de
// verificación of the assignment resolution (when CodeKey is set). The rows
// hold personal data (the person of the request): they are read only by the
// routes that may show it.
type NSS struct {
	// CodeKey keys the verification codes (nssdoc.VerificationCode); nil
	// leaves the verification_code column empty.
	CodeKey []byte
}

// Name of the projection.
func (NSS) Name() string { return NSSName }

// Filter passes only assignment streams.
func (NSS) Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{nss.Category + "-"}}
}

// Tables of the projection. requested_on and eliminated_on are days in
// Europe/Madrid (YYYY-MM-DD); the *_ns columns are Unix nanoseconds for
// ordering.
func (NSS) Tables() []projections.Table {
	return []projections.Table{{
		Name: NSSName,
		Create: func(t string) string {
			return `CREATE TABLE ` + t + ` (
				id                    TEXT PRIMARY KEY,
				authorization         TEXT NOT NULL,
				state                 TEXT NOT NULL,
				requested_on          TEXT NOT NULL,
				requested_ns          INTEGER NOT NULL,
				nss                   TEXT NOT NULL,
				eliminated_on         TEXT NOT NULL,
				eliminated_ns         INTEGER NOT NULL,
				reason                TEXT NOT NULL,
				verification_code     TEXT NOT NULL,
				usuario_principal     TEXT NOT NULL,
				communication_id      TEXT NOT NULL,
				communication_subject TEXT NOT NULL,
				revision              INTEGER NOT NULL,
				position              TEXT NOT NULL,
				data                  TEXT NOT NULL
			)`
		},
		Indexes: func(t string) []string {
			return []string{
				`CREATE INDEX ` + t + `_by_aut ON ` + t + ` (authorization, requested_ns)`,
				`CREATE INDEX ` + t + `_by_nss ON ` + t + ` (nss)`,
				`CREATE INDEX ` + t + `_by_elim ON ` + t + ` (eliminated_ns) WHERE eliminated_ns > 0`,
				`CREATE INDEX ` + t + `_by_code ON ` + t + ` (verification_code) WHERE verification_code <> ''`,
			}
		},
	}}
}

// nssRow is the projection's working copy of one row.
type nssRow struct {
	state                    nss.State
	usuarioPrincipal, commID string
	commSubject              string
}

// nssCodec decodes NSS events (read-only once built; built once).
var (
	nssCodec    = nss.Codec()
	nssCalendar = calendar.New()
)

// Apply folds one event into its assignment's row.
func (p NSS) Apply(ctx context.Context, tx *sql.Tx, t projections.TableNames, e eventstore.Event) error {
	const op = errs.Op("readmodels.NSS")
	codec := nssCodec
	if !codec.Knows(e.Type) {
		return nil
	}
	v, err := codec.Decode(e)
	if err != nil {
		return errs.E(op, err)
	}
	table := t[NSSName]
	id := strings.TrimPrefix(e.Stream, nss.Category+"-")
	var r nssRow
	var data string
	var stored struct { // the indexed columns of the stored row
		authorization, nss, code  string
		requestedNS, eliminatedNS int64
	}
	// A stream's first event has no row to read (see Cases.Apply); the
	// upsert below would be right anyway.
	err = sql.ErrNoRows
	if e.Revision > 0 {
		err = projections.QueryRow(ctx, tx, `SELECT data, usuario_principal, communication_id, communication_subject,
		authorization, requested_ns, nss, eliminated_ns, verification_code FROM `+table+` WHERE id = ?`, id).
			Scan(&data, &r.usuarioPrincipal, &r.commID, &r.commSubject,
				&stored.authorization, &stored.requestedNS, &stored.nss, &stored.eliminatedNS, &stored.code)
	}
	found := err == nil
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return errs.E(op, err)
	default:
		if err := gojson.Unmarshal([]byte(data), &r.state); err != nil {
			return errs.E(op, err)
		}
	}
	r.state = nss.Evolve(r.state, commands.Event{Data: v, Type: e.Type, ID: e.ID, Revision: e.Revision, Position: e.Position, Metadata: e.Metadata})
	if c, ok := v.(nss.CommunicationRequested); ok {
		r.usuarioPrincipal, r.commID, r.commSubject = c.UsuarioPrincipal, c.CommunicationID, c.Subject
	}
	if !r.state.Exists() {
		return nil // an event before the request: nothing to show
	}
	cal := nssCalendar
	s := r.state
	requestedOn, eliminatedOn := cal.DateOf(s.RequestedAt).String(), ""
	var eliminatedNS int64
	if !s.EliminatedAt.IsZero() {
		eliminatedOn, eliminatedNS = cal.DateOf(s.EliminatedAt).String(), s.EliminatedAt.UnixNano()
	}
	code := ""
	if p.CodeKey != nil && s.NSS != "" && !s.AssignedAt.IsZero() {
		code = nssdoc.VerificationCode(p.CodeKey, s)
	}
	raw, err := gojson.Marshal(s)
	if err != nil {
		return errs.E(op, err)
	}
	if found {
		// Assign only the indexed columns that changed (see setChanged).
		set, args := setChanged(`state = ?, requested_on = ?, eliminated_on = ?, reason = ?, usuario_principal = ?,
		communication_id = ?, communication_subject = ?, revision = ?, position = ?, data = ?`,
			[]any{string(s.Status), requestedOn, eliminatedOn, string(s.EliminationReason), r.usuarioPrincipal, r.commID,
				r.commSubject, int64(e.Revision), e.Position.String(), string(raw)},
			change{"authorization", stored.authorization, s.Authorization}, change{"requested_ns", stored.requestedNS, s.RequestedAt.UnixNano()},
			change{"nss", stored.nss, s.NSS}, change{"eliminated_ns", stored.eliminatedNS, eliminatedNS},
			change{"verification_code", stored.code, code})
		if _, err := projections.Exec(ctx, tx, `UPDATE `+table+` SET `+set+` WHERE id = ?`, append(args, id)...); err != nil {
			return errs.E(op, err)
		}
		return nil
	}
	_, err = projections.Exec(ctx, tx, `INSERT INTO `+table+` (id, authorization, state, requested_on, requested_ns, nss, eliminated_on,
		eliminated_ns, reason, verification_code, usuario_principal, communication_id, communication_subject, revision, position, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET authorization = excluded.authorization, state = excluded.state,
		requested_on = excluded.requested_on, requested_ns = excluded.requested_ns, nss = excluded.nss,
		eliminated_on = excluded.eliminated_on, eliminated_ns = excluded.eliminated_ns, reason = excluded.reason,
		verification_code = excluded.verification_code,
		usuario_principal = excluded.usuario_principal, communication_id = excluded.communication_id,
		communication_subject = excluded.communication_subject, revision = excluded.revision,
		position = excluded.position, data = excluded.data`,
		id, s.Authorization, string(s.Status), requestedOn, s.RequestedAt.UnixNano(), s.NSS, eliminatedOn, eliminatedNS,
		string(s.EliminationReason), code, r.usuarioPrincipal, r.commID, r.commSubject, int64(e.Revision), e.Position.String(), string(raw))
	if err != nil {
		return errs.E(op, err)
	}
	return nil
}

// NSSAssignmentRow is one assignment of the read model: its state as of
// the event at Revision (global Position).
type NSSAssignmentRow struct {
	State    nss.State
	Revision uint64
	Position string
}

// NSSFilter selects assignments. Authorization, when set, is one
// autorización; Authorizations, when not nil, limits the rows to those
// autorizaciones (an empty list selects nothing: an autorizado with none).
// From and To bound the day of the request (Europe/Madrid, both included).
type NSSFilter struct {
	Authorization  string
	Authorizations []string
	State          string
	From, To       *calendar.Date
	Limit, Offset  int
}

// ListNSSAssignments returns the assignments that match f, newest request
// first.
func ListNSSAssignments(ctx context.Context, db Queryer, f NSSFilter) ([]NSSAssignmentRow, error) {
	const op = errs.Op("readmodels.ListNSSAssignments")
	var where []string
	var args []any
	if f.Authorization != "" {
		where, args = append(where, "authorization = ?"), append(args, f.Authorization)
	}
	if f.Authorizations != nil {
		if len(f.Authorizations) == 0 {
			return []NSSAssignmentRow{}, nil
		}
		where = append(where, "authorization IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.Authorizations)), ",")+")")
		for _, a := range f.Authorizations {
			args = append(args, a)
		}
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if f.From != nil {
		where, args = append(where, "requested_on >= ?"), append(args, f.From.String())
	}
	if f.To != nil {
		where, args = append(where, "requested_on <= ?"), append(args, f.To.String())
	}
	q := `SELECT data, revision, position FROM ` + NSSName
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY requested_ns DESC, id LIMIT ? OFFSET ?`
	args = append(args, nssLimit(f.Limit, 100), max(0, f.Offset))
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	defer rows.Close()
	out := []NSSAssignmentRow{}
	for rows.Next() {
		var r NSSAssignmentRow
		var data string
		var rev int64
		if err := rows.Scan(&data, &rev, &r.Position); err != nil {
			return nil, errs.E(op, err)
		}
		if err := gojson.Unmarshal([]byte(data), &r.State); err != nil {
			return nil, errs.E(op, err)
		}
		r.Revision = uint64(rev)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	return out, nil
}

// NSSAssignmentIDByNSS returns the ID of the assignment that got NSS n, if
// the read model has it.
func NSSAssignmentIDByNSS(ctx context.Context, db Queryer, n string) (string, bool, error) {
	var id string
	err := db.QueryRowContext(ctx, `SELECT id FROM `+NSSName+` WHERE nss = ? ORDER BY requested_ns LIMIT 1`, n).Scan(&id)
	switch {
	case err == sql.ErrNoRows:
		return "", false, nil
	case err != nil:
		return "", false, errs.E(errs.Op("readmodels.NSSAssignmentIDByNSS"), errs.Unavailable, err)
	}
	return id, true, nil
}

// NSSAssignmentIDByCode returns the ID of the assignment whose resolution
// carries the verification code (as nssdoc.VerificationCode formats it),
// if the read model has it.
func NSSAssignmentIDByCode(ctx context.Context, db Queryer, code string) (string, bool, error) {
	var id string
	err := db.QueryRowContext(ctx, `SELECT id FROM `+NSSName+` WHERE verification_code = ? LIMIT 1`, code).Scan(&id)
	switch {
	case err == sql.ErrNoRows || code == "":
		return "", false, nil
	case err != nil:
		return "", false, errs.E(errs.Op("readmodels.NSSAssignmentIDByCode"), errs.Unavailable, err)
	}
	return id, true, nil
}

// NSSElimination is one eliminated NSS with the communication sent to the
// usuario principal of the generating autorización. It carries no personal
// data of the person beyond the NSS.
type NSSElimination struct {
	AssignmentID   string                `json:"assignmentId"`
	NSS            string                `json:"nss"`
	Authorization  string                `json:"authorization"`
	Reason         nss.EliminationReason `json:"reason"`
	AssignmentDate calendar.Date         `json:"assignmentDate"`
	AltaDeadline   string                `json:"altaDeadline"`
	EliminatedAt   string                `json:"eliminatedAt"`
	EliminatedOn   string                `json:"eliminatedOn"`
	Communication  NSSCommunication      `json:"communication"`
	Emails         []nss.Email           `json:"emails"`
	Position       string                `json:"position"`
}

// NSSCommunication is the communication of an elimination.
type NSSCommunication struct {
	ID               string `json:"id"`
	UsuarioPrincipal string `json:"usuarioPrincipal"`
	Subject          string `json:"subject"`
}

// NSSEliminationFilter selects eliminations: by autorización, reason
// (no_alta, alta_annulled) and day of the elimination (Europe/Madrid, both
// included).
type NSSEliminationFilter struct {
	Authorization string
	Reason        string
	From, To      *calendar.Date
	Limit, Offset int
}

// ListNSSEliminations returns the eliminations that match f, newest first.
func ListNSSEliminations(ctx context.Context, db Queryer, f NSSEliminationFilter) ([]NSSElimination, error) {
	const op = errs.Op("readmodels.ListNSSEliminations")
	where := []string{"eliminated_ns > 0"}
	var args []any
	if f.Authorization != "" {
		where, args = append(where, "authorization = ?"), append(args, f.Authorization)
	}
	if f.Reason != "" {
		where, args = append(where, "reason = ?"), append(args, f.Reason)
	}
	if f.From != nil {
		where, args = append(where, "eliminated_on >= ?"), append(args, f.From.String())
	}
	if f.To != nil {
		where, args = append(where, "eliminated_on <= ?"), append(args, f.To.String())
	}
	q := `SELECT data, usuario_principal, communication_id, communication_subject, eliminated_on, position FROM ` + NSSName +
		` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY eliminated_ns DESC, id LIMIT ? OFFSET ?`
	args = append(args, nssLimit(f.Limit, 100), max(0, f.Offset))
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	defer rows.Close()
	out := []NSSElimination{}
	for rows.Next() {
		var data string
		var el NSSElimination
		if err := rows.Scan(&data, &el.Communication.UsuarioPrincipal, &el.Communication.ID, &el.Communication.Subject,
			&el.EliminatedOn, &el.Position); err != nil {
			return nil, errs.E(op, err)
		}
		var s nss.State
		if err := gojson.Unmarshal([]byte(data), &s); err != nil {
			return nil, errs.E(op, err)
		}
		el.AssignmentID, el.NSS, el.Authorization, el.Reason = s.ID, s.NSS, s.Authorization, s.EliminationReason
		el.AssignmentDate = s.AssignmentDate
		el.AltaDeadline = s.AltaDeadline.UTC().Format(time.RFC3339)
		el.EliminatedAt = s.EliminatedAt.UTC().Format(time.RFC3339)
		el.Emails = s.Emails
		if el.Emails == nil {
			el.Emails = []nss.Email{}
		}
		out = append(out, el)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E(op, errs.Unavailable, err)
	}
	return out, nil
}

func nssLimit(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
