package readmodels_test

import (
	"testing"
	"time"

	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/nss"
	"redengine/domain/nss/nssdoc"
	"redengine/eventstore"
	"redengine/readmodels"
)

func nssPerson(t *testing.T, doc string, now time.Time) nss.Person {
	t.Helper()
	p, err := nss.Validate(nss.Request{DocumentType: "DNI", DocumentNumber: doc, FirstName: "Ana", Surname1: "Pérez",
		Surname2: "Gil", BirthDate: "1990-01-02", Sex: "mujer", Nationality: "ESP", MobilePhone: "612345678",
		PhoneConsent: true, Address: nss.Address{TipoVia: "CL", NombreVia: "Mayor", CodigoPostal: "28100", Localidad: "Alcobendas"},
		EmailDeclined: true}, nss.DefaultPolicy(nss.DefaultCatalogue()), now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNSSReadModel(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, readmodels.NSS{CodeKey: []byte("k")})
	store, db, r, clk := w.store, w.db, w.runner, w.clk

	h := commands.NewHandler(store, clk, nss.Aggregate())
	actor := func(aut string) commands.Meta {
		return commands.Meta{Actor: eventstore.Actor{ID: "u", Role: nss.RoleAutorizado, Authorization: aut}}
	}
	system := commands.Meta{Actor: eventstore.Actor{ID: "redengine", Role: nss.RoleSystem}}
	ver := nss.Verification{Verifier: "builtin", Valid: true}
	open := func(id, aut, doc string) {
		t.Helper()
		m := actor(aut)
		if _, err := h.Handle(ctx, id, m, nss.RequestAssignment(nss.NewAssignment{AssignmentID: id, Authorization: aut,
			Person: nssPerson(t, doc, clk.Now()), Verification: ver}, m.Actor)); err != nil {
			t.Fatal(err)
		}
	}
	const a, b, c = "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002", "a0000000-0000-4000-8000-000000000003"
	open(a, "1111111", "12345678Z")
	open(b, "1111111", "00000000T")
	open(c, "2222222", "99999999R")
	if _, err := h.Handle(ctx, a, actor("1111111"), nss.Confirm("280000000192", actor("1111111").Actor)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, b, actor("1111111"), nss.Cancel(actor("1111111").Actor)); err != nil {
		t.Fatal(err)
	}
	// Four days later, a is eliminated for lack of alta.
	clk.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	res, err := h.Handle(ctx, a, system, nss.Eliminate(system.Actor, nss.Recipient{UsuarioPrincipal: "ana", Email: "buzon@gestoria.es"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitFor(ctx, readmodels.NSSName, res.Position); err != nil {
		t.Fatal(err)
	}

	nov28, _ := calendar.ParseDate("2026-11-28")
	nov27, _ := calendar.ParseDate("2026-11-27")
	list := func(f readmodels.NSSFilter) []string {
		t.Helper()
		rows, err := readmodels.ListNSSAssignments(ctx, db, f)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, r := range rows {
			ids = append(ids, r.State.ID)
		}
		return ids
	}
	if got := list(readmodels.NSSFilter{Authorization: "1111111"}); len(got) != 2 {
		t.Errorf("autorización 1111111: %v", got)
	}
	if got := list(readmodels.NSSFilter{Authorizations: []string{}}); len(got) != 0 {
		t.Errorf("no autorizaciones: %v", got)
	}
	if got := list(readmodels.NSSFilter{Authorizations: []string{"2222222"}, State: "pending_confirmation"}); len(got) != 1 || got[0] != c {
		t.Errorf("2222222 pending: %v", got)
	}
	if got := list(readmodels.NSSFilter{From: &nov28, To: &nov28}); len(got) != 3 {
		t.Errorf("requested on the 28th in Madrid: %v", got)
	}
	if got := list(readmodels.NSSFilter{To: &nov27}); len(got) != 0 {
		t.Errorf("requested on the 27th: %v", got)
	}
	if got := list(readmodels.NSSFilter{State: "cancelled"}); len(got) != 1 || got[0] != b {
		t.Errorf("cancelled: %v", got)
	}
	if got := list(readmodels.NSSFilter{Limit: 1, Offset: 1}); len(got) != 1 {
		t.Errorf("page: %v", got)
	}
	rows, _ := readmodels.ListNSSAssignments(ctx, db, readmodels.NSSFilter{State: "eliminated"})
	if len(rows) != 1 || rows[0].State.EliminationReason != nss.ReasonNoAlta || rows[0].State.Person.DocumentNumber != "12345678Z" ||
		rows[0].Position != res.Position.String() {
		t.Errorf("eliminated: %+v", rows)
	}
	if id, ok, err := readmodels.NSSAssignmentIDByNSS(ctx, db, "280000000192"); err != nil || !ok || id != a {
		t.Errorf("by NSS: %q %v %v", id, ok, err)
	}
	st, err := h.Load(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok, err := readmodels.NSSAssignmentIDByCode(ctx, db, nssdoc.VerificationCode([]byte("k"), st.State)); err != nil || !ok || id != a {
		t.Errorf("by code: %q %v %v", id, ok, err)
	}
	if _, ok, _ := readmodels.NSSAssignmentIDByCode(ctx, db, ""); ok {
		t.Error("empty code found")
	}
	if _, ok, _ := readmodels.NSSAssignmentIDByNSS(ctx, db, "281234567840"); ok {
		t.Error("unknown NSS found")
	}

	els, err := readmodels.ListNSSEliminations(ctx, db, readmodels.NSSEliminationFilter{})
	if err != nil || len(els) != 1 {
		t.Fatalf("eliminations %+v, %v", els, err)
	}
	el := els[0]
	if el.AssignmentID != a || el.NSS != "280000000192" || el.Reason != nss.ReasonNoAlta || el.EliminatedOn != "2026-12-02" ||
		el.Communication.UsuarioPrincipal != "ana" || el.Communication.ID == "" || len(el.Emails) != 1 ||
		el.Emails[0].Status != nss.EmailStatusRequested || el.AssignmentDate != nov28 {
		t.Errorf("elimination %+v", el)
	}
	dec2, _ := calendar.ParseDate("2026-12-02")
	for _, f := range []readmodels.NSSEliminationFilter{{Reason: "alta_annulled"}, {Authorization: "2222222"}, {To: &nov28}} {
		if els, _ := readmodels.ListNSSEliminations(ctx, db, f); len(els) != 0 {
			t.Errorf("%+v: %+v", f, els)
		}
	}
	if els, _ := readmodels.ListNSSEliminations(ctx, db, readmodels.NSSEliminationFilter{Reason: "no_alta", Authorization: "1111111", From: &dec2, To: &dec2}); len(els) != 1 {
		t.Errorf("filtered: %+v", els)
	}

	// Rebuilding from the log gives the same rows.
	before, err := r.Digest(ctx, readmodels.NSSName)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Rebuild(ctx, readmodels.NSSName, nil); err != nil {
		t.Fatal(err)
	}
	if after, _ := r.Digest(ctx, readmodels.NSSName); after != before {
		t.Errorf("rebuild changed the model")
	}
}
