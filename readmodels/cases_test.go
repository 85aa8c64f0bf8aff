package readmodels_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"redengine/catalog/casia"
	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/eventstore"
	"redengine/readmodels"
)

// TestCasesReadModel drives a trámite through opening, requerimiento,
// closure de oficio and access, and checks the rows against the aggregate's
// own fold, the Madrid dates of the filters, the lookups of the
// desistimiento, and that a rebuild gives the same model.
func TestCasesReadModel(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, readmodels.NewCases())
	store, db, r, clk := w.store, w.db, w.runner, w.clk

	h := commands.NewHandler(store, clk, cases.Aggregate())
	dec := cases.NewDecider(casia.Default(), calendar.New(), []byte("key"))
	ana := eventstore.Actor{ID: "ana", Role: cases.RoleAutorizado, Authorization: "A0001"}
	tram := eventstore.Actor{ID: "tram", Role: cases.RoleTramitador}
	system := eventstore.Actor{ID: "scheduler", Role: cases.RoleSystem}
	run := func(id string, actor eventstore.Actor, d commands.Decide[cases.State]) commands.Result[cases.State] {
		t.Helper()
		res, err := h.Handle(ctx, id, commands.Meta{Actor: actor}, d)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	open := func(id, number string, typ casia.Type) {
		run(id, ana, dec.Open(cases.OpenCase{CaseID: id, Number: number, Actor: ana, Authorization: "A0001", Type: typ,
			Materia: "Afiliación (altas y bajas)", Categoria: "Altas", Subcategoria: "Alta fuera de plazo",
			Subject: "Alta", Body: "Solicitud", ExtraData: map[string]string{"ccc": "28123456742", "naf": "281234567840", "fechaReal": "2021-07-01"}}))
	}
	const t1, q1 = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	open(t1, "CAS-2026-000001", casia.Tramite)
	clk.Advance(time.Hour)
	open(q1, "CAS-2026-000002", casia.Consulta)
	run(t1, tram, dec.RequestInformation(cases.TextCommand{Actor: tram, Text: "Aporte el contrato.", Contact: "a@b.es"}))
	clk.Advance(30 * 24 * time.Hour)
	run(t1, system, dec.CloseDeOficio(cases.SystemCommand{Actor: system, Contact: "a@b.es"}))
	clk.Advance(time.Hour)
	res := run(t1, ana, dec.AccessNotification(ana))
	if err := r.WaitFor(ctx, readmodels.CasesName, res.Position); err != nil {
		t.Fatal(err)
	}

	// The row holds the summary of the aggregate's own fold.
	var data string
	if err := db.QueryRowContext(ctx, `SELECT data FROM cases WHERE id = ?`, t1).Scan(&data); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(res.State.Summary())
	if data != string(want) {
		t.Errorf("row state\n%s\nwant\n%s", data, want)
	}

	list := func(f readmodels.CaseFilter) []string {
		t.Helper()
		l, err := readmodels.ListCases(ctx, db, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range l.Items {
			out = append(out, it.Number)
		}
		return out
	}
	nov28, _ := calendar.ParseDate("2026-11-28")
	nov27, _ := calendar.ParseDate("2026-11-27")
	if got := list(readmodels.CaseFilter{OpenedFrom: &nov28, OpenedTo: &nov28}); len(got) != 2 {
		t.Errorf("opened on 28 Nov (Madrid): %v", got)
	}
	if got := list(readmodels.CaseFilter{OpenedTo: &nov27}); len(got) != 0 {
		t.Errorf("opened by 27 Nov: %v", got)
	}
	if got := list(readmodels.CaseFilter{State: string(cases.CerradoDeOficio)}); len(got) != 1 || got[0] != "CAS-2026-000001" {
		t.Errorf("closed de oficio: %v", got)
	}
	if got := list(readmodels.CaseFilter{Authorizations: []string{}}); len(got) != 0 {
		t.Errorf("no autorizaciones must list nothing: %v", got)
	}
	if got := list(readmodels.CaseFilter{Authorizations: []string{"A0001"}, Type: "consulta"}); len(got) != 1 || got[0] != "CAS-2026-000002" {
		t.Errorf("consultas of A0001: %v", got)
	}
	if _, err := readmodels.ListCases(ctx, db, readmodels.CaseFilter{Cursor: "%%%"}); err == nil {
		t.Error("a bad cursor must be refused")
	}

	d, ok, err := readmodels.DesistimientoBy(ctx, db, "notification_id", cases.NotificationID(t1))
	if err != nil || !ok {
		t.Fatalf("by notification: %v %v", ok, err)
	}
	if d.CaseID != t1 || d.Number != "RD-CAS-2026-000001" || d.NotificationState != string(cases.Accedida) ||
		d.AccessedBy != "ana" || d.VerificationCode != res.State.Desistimiento.VerificationCode {
		t.Errorf("desistimiento: %+v", d)
	}
	if _, ok, _ := readmodels.DesistimientoBy(ctx, db, "verification_code", d.VerificationCode); !ok {
		t.Error("not found by code")
	}
	if _, _, err := readmodels.DesistimientoBy(ctx, db, "case_number", "x"); err == nil {
		t.Error("an unknown column must be refused")
	}
	rows, err := readmodels.ListDesistimientos(ctx, db, readmodels.DesistimientoFilter{Authorization: "A0001"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("list: %v %v", rows, err)
	}

	// Every column agrees with the row's state, after the updates that change
	// indexed columns (the unit is set by the routing that follows an
	// opening, the state by the closure).
	crows, err := db.QueryContext(ctx, `SELECT number, type, materia, categoria, subcategoria, unit, origin, authorization,
		state, subject, opened_ns, updated_at, data FROM cases`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for crows.Next() {
		var c [10]string
		var openedNS int64
		var updated, data string
		if err := crows.Scan(&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9], &openedNS, &updated, &data); err != nil {
			t.Fatal(err)
		}
		var st cases.State
		if err := json.Unmarshal([]byte(data), &st); err != nil {
			t.Fatal(err)
		}
		want := [10]string{st.Number, string(st.Type), st.Classification.Materia, st.Classification.Categoria, st.Classification.Subcategoria,
			st.Unit, string(st.Origin), st.Authorization, string(st.Status), st.Subject}
		if c != want || st.Unit == "" || openedNS != st.OpenedAt.UnixNano() || updated != st.UpdatedAt.UTC().Format(time.RFC3339Nano) {
			t.Errorf("row %v %d %s, state %v %d %s", c, openedNS, updated, want, st.OpenedAt.UnixNano(), st.UpdatedAt)
		}
		n++
	}
	if err := crows.Err(); err != nil || n != 2 {
		t.Fatalf("%d rows, %v", n, err)
	}

	before, err := r.Digest(ctx, readmodels.CasesName)
	if err != nil {
		t.Fatal("digest:", err)
	}
	if err := r.Rebuild(ctx, readmodels.CasesName, nil); err != nil {
		t.Fatal(err)
	}
	after, err := r.Digest(ctx, readmodels.CasesName)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("rebuild changed the model: %s → %s", before, after)
	}

	// After the swap the live rows are the rebuild's: the next event of a
	// case folds onto the stored row, not onto a state remembered before.
	clk.Advance(time.Hour)
	res = run(q1, tram, dec.Reply(cases.TextCommand{Actor: tram, Text: "Respuesta.", Contact: "a@b.es"}))
	if err := r.WaitFor(ctx, readmodels.CasesName, res.Position); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT data FROM cases WHERE id = ?`, q1).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if want, _ := json.Marshal(res.State.Summary()); data != string(want) {
		t.Errorf("row after the rebuild\n%s\nwant\n%s", data, want)
	}
}

// TestPreparedListAcrossRebuild: a list query kept prepared answers like an
// unprepared one, before and after a rebuild swaps the table in, and after
// Close (unprepared again).
func TestPreparedListAcrossRebuild(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, readmodels.NewCases())
	h := commands.NewHandler(w.store, w.clk, cases.Aggregate())
	dec := cases.NewDecider(casia.Default(), calendar.New(), []byte("key"))
	ana := eventstore.Actor{ID: "ana", Role: cases.RoleAutorizado, Authorization: "A0001"}
	open := func(id, number string) {
		t.Helper()
		res, err := h.Handle(ctx, id, commands.Meta{Actor: ana}, dec.Open(cases.OpenCase{CaseID: id, Number: number, Actor: ana,
			Authorization: "A0001", Type: casia.Consulta, Materia: "Afiliación (altas y bajas)", Categoria: "Altas",
			Subcategoria: "Alta fuera de plazo", Subject: "Alta", Body: "Solicitud",
			ExtraData: map[string]string{"ccc": "28123456742", "naf": "281234567840", "fechaReal": "2021-07-01"}}))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.runner.WaitFor(ctx, readmodels.CasesName, res.Position); err != nil {
			t.Fatal(err)
		}
	}
	pq := readmodels.NewPrepared(w.db)
	list := func(q readmodels.Queryer) []string {
		t.Helper()
		l, err := readmodels.ListCases(ctx, q, readmodels.CaseFilter{Authorizations: []string{"A0001"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range l.Items {
			out = append(out, it.Number)
		}
		return out
	}
	same := func(when string, want int) {
		t.Helper()
		got, plain := list(pq), list(w.db)
		if len(got) != want || fmt.Sprint(got) != fmt.Sprint(plain) {
			t.Errorf("%s: prepared %v, unprepared %v, want %d cases", when, got, plain, want)
		}
	}
	open("11111111-1111-1111-1111-111111111111", "CAS-2026-000001")
	same("before the rebuild", 1)
	if err := w.runner.Rebuild(ctx, readmodels.CasesName, nil); err != nil {
		t.Fatal(err)
	}
	open("22222222-2222-2222-2222-222222222222", "CAS-2026-000002")
	same("after the rebuild", 2)
	if err := pq.Close(); err != nil {
		t.Fatal(err)
	}
	same("after Close", 2)
}
