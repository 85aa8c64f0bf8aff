// Package readmodels holds the engine's projections (event → rows in
// readmodels.db) and the queries that read them, one file per feature.
package readmodels

import (
	"context"
	"database/sql"
	"strings"

	gojson "github.com/goccy/go-json"

	"redengine/domain/authorizations"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/projections"
)

// Authorizations projects the Autorización aggregates: one row per
// autorización and an index of users and CCCs.
type Authorizations struct{}

// Name of the projection.
func (Authorizations) Name() string { return "autorizaciones" }

// Filter passes only autorización streams.
func (Authorizations) Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{authorizations.Category + "-"}}
}

// Tables of the projection.
func (Authorizations) Tables() []projections.Table {
	return []projections.Table{
		{Name: "autorizaciones", Create: func(t string) string {
			return `CREATE TABLE ` + t + ` (number TEXT PRIMARY KEY, name TEXT NOT NULL, usuario_principal TEXT NOT NULL,
				contact_email TEXT NOT NULL, users TEXT NOT NULL, cccs TEXT NOT NULL)`
		}},
		{Name: "autorizacion_users", Create: func(t string) string {
			return `CREATE TABLE ` + t + ` (user TEXT NOT NULL, number TEXT NOT NULL, PRIMARY KEY (user, number)) WITHOUT ROWID`
		}},
		{Name: "autorizacion_cccs", Create: func(t string) string {
			return `CREATE TABLE ` + t + ` (ccc TEXT NOT NULL, number TEXT NOT NULL, PRIMARY KEY (ccc, number)) WITHOUT ROWID`
		}},
	}
}

// Apply folds one event into the rows of its autorización.
func (Authorizations) Apply(ctx context.Context, tx *sql.Tx, t projections.TableNames, e eventstore.Event) error {
	agg := authorizations.Aggregate()
	v, err := agg.Codec.Decode(e)
	if err != nil {
		return err
	}
	number := strings.TrimPrefix(e.Stream, authorizations.Category+"-")
	st, err := loadAuthorization(ctx, txQuerier{ctx, tx}, t["autorizaciones"], number)
	if err != nil {
		return err
	}
	switch ev := v.(type) {
	case authorizations.Registered:
		st = authorizations.State{Number: ev.Number, Name: ev.Name, UsuarioPrincipal: ev.UsuarioPrincipal,
			Users: ev.Users, CCCs: ev.CCCs, ContactEmail: ev.ContactEmail, Registered: true}
	case authorizations.ContactChanged:
		st.ContactEmail = ev.Email
	case authorizations.UsersChanged:
		st.Users = ev.Users
	case authorizations.CCCsChanged:
		st.CCCs = ev.CCCs
	}
	return saveAuthorization(ctx, tx, t, st)
}

// txQuerier runs QueryRowContext with the runner's prepared statements.
type txQuerier struct {
	ctx context.Context
	tx  *sql.Tx
}

func (q txQuerier) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	return projections.QueryRow(q.ctx, q.tx, query, args...)
}

func loadAuthorization(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, table, number string) (authorizations.State, error) {
	var st authorizations.State
	var users, cccs string
	err := q.QueryRowContext(ctx, `SELECT number, name, usuario_principal, contact_email, users, cccs FROM `+table+` WHERE number = ?`, number).
		Scan(&st.Number, &st.Name, &st.UsuarioPrincipal, &st.ContactEmail, &users, &cccs)
	if err == sql.ErrNoRows {
		return authorizations.State{Number: number}, nil
	}
	if err != nil {
		return st, err
	}
	st.Registered = true
	if err := gojson.Unmarshal([]byte(users), &st.Users); err != nil {
		return st, err
	}
	return st, gojson.Unmarshal([]byte(cccs), &st.CCCs)
}

func saveAuthorization(ctx context.Context, tx *sql.Tx, t projections.TableNames, st authorizations.State) error {
	users, _ := gojson.Marshal(nonNil(st.Users))
	cccs, _ := gojson.Marshal(nonNil(st.CCCs))
	if _, err := projections.Exec(ctx, tx, `INSERT INTO `+t["autorizaciones"]+` (number, name, usuario_principal, contact_email, users, cccs)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET name = excluded.name, usuario_principal = excluded.usuario_principal,
		contact_email = excluded.contact_email, users = excluded.users, cccs = excluded.cccs`,
		st.Number, st.Name, st.UsuarioPrincipal, st.ContactEmail, string(users), string(cccs)); err != nil {
		return err
	}
	if _, err := projections.Exec(ctx, tx, `DELETE FROM `+t["autorizacion_users"]+` WHERE number = ?`, st.Number); err != nil {
		return err
	}
	for _, u := range st.Users {
		if _, err := projections.Exec(ctx, tx, `INSERT INTO `+t["autorizacion_users"]+` (user, number) VALUES (?, ?)`, u, st.Number); err != nil {
			return err
		}
	}
	if _, err := projections.Exec(ctx, tx, `DELETE FROM `+t["autorizacion_cccs"]+` WHERE number = ?`, st.Number); err != nil {
		return err
	}
	for _, c := range st.CCCs {
		if _, err := projections.Exec(ctx, tx, `INSERT INTO `+t["autorizacion_cccs"]+` (ccc, number) VALUES (?, ?)`, c, st.Number); err != nil {
			return err
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AuthorizationsOf returns the autorizaciones whose users include sub.
func AuthorizationsOf(ctx context.Context, db Queryer, sub string) ([]authorizations.State, error) {
	rows, err := db.QueryContext(ctx, `SELECT number FROM autorizacion_users WHERE user = ? ORDER BY number`, sub)
	if err != nil {
		return nil, errs.E(errs.Op("readmodels.AuthorizationsOf"), errs.Unavailable, err)
	}
	var numbers []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		numbers = append(numbers, n)
	}
	rows.Close()
	out := make([]authorizations.State, 0, len(numbers))
	for _, n := range numbers {
		st, err := loadAuthorization(ctx, db, "autorizaciones", n)
		if err != nil {
			return nil, errs.E(errs.Op("readmodels.AuthorizationsOf"), errs.Unavailable, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// AuthorizationsManagingCCC returns the numbers of the autorizaciones that
// manage ccc.
func AuthorizationsManagingCCC(ctx context.Context, db Queryer, ccc string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT number FROM autorizacion_cccs WHERE ccc = ? ORDER BY number`, ccc)
	if err != nil {
		return nil, errs.E(errs.Op("readmodels.AuthorizationsManagingCCC"), errs.Unavailable, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
