package engine

import (
	"encoding/json"
	"testing"
	"time"

	"redengine/catalog/casia"
	"redengine/clock"
	"redengine/commands"
	"redengine/config"
	"redengine/domain/authorizations"
	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/eventstore"
	"redengine/scheduler"
)

// TestCaseDeadlineActions checks the scheduler actions of cases on their
// own: the same command ID acts once (a second node's pass is a repeat), a
// deadline that became moot (the case was resolved) counts as already
// done, and one that is not due yet is an error the next pass retries.
func TestCaseDeadlineActions(t *testing.T) {
	ctx := t.Context()
	clk := clock.NewManual(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	store, err := OpenStore(ctx, cfg, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := commands.NewHandler(store, clk, cases.Aggregate())
	auts := commands.NewHandler(store, clk, authorizations.Aggregate())
	dec := cases.NewDecider(casia.Default(), calendar.New(), nil)
	d := caseDeadlines{cases: h, auts: auts, decider: dec}

	admin := eventstore.Actor{ID: "root", Role: "admin"}
	if _, err := auts.Handle(ctx, "A0001", commands.Meta{Actor: admin}, authorizations.Register(authorizations.Registered{
		Number: "A0001", UsuarioPrincipal: "ana", Users: []string{"ana"}, ContactEmail: "buzon@gestoria.test"})); err != nil {
		t.Fatal(err)
	}
	ana := eventstore.Actor{ID: "ana", Role: cases.RoleAutorizado, Authorization: "A0001"}
	tram := eventstore.Actor{ID: "tram", Role: cases.RoleTramitador}
	open := func(id string) time.Time {
		t.Helper()
		if _, err := h.Handle(ctx, id, commands.Meta{Actor: ana}, dec.Open(cases.OpenCase{CaseID: id, Number: "CAS-2026-0000" + id[:2],
			Actor: ana, Authorization: "A0001", Type: casia.Consulta, Materia: "Recaudación", Categoria: "Aplazamientos",
			Subcategoria: "Solicitud y requisitos", Subject: "x", Body: "y", ExtraData: map[string]string{"ccc": "28123456742"}})); err != nil {
			t.Fatal(err)
		}
		res, err := h.Handle(ctx, id, commands.Meta{Actor: tram}, dec.RequestInformation(cases.TextCommand{Actor: tram, Text: "Aporte."}))
		if err != nil {
			t.Fatal(err)
		}
		// The mapper sets the deadline from the recorded event.
		changes, err := d.mapEvent(res.Events[0])
		if err != nil || len(changes) != 1 || changes[0].Kind != scheduler.Set || changes[0].Action != cases.ActionCloseDeOficio ||
			changes[0].Target != id || changes[0].DeadlineID != id+"/"+cases.ActionCloseDeOficio {
			t.Fatalf("mapped %+v, %v", changes, err)
		}
		due, _ := res.State.Deadline()
		return due
	}
	const a, b = "10000000-0000-0000-0000-000000000000", "20000000-0000-0000-0000-000000000000"
	dueA, dueB := open(a), open(b)
	dlA := scheduler.Deadline{ID: a + "/" + cases.ActionCloseDeOficio, DueAt: dueA, Action: cases.ActionCloseDeOficio, Target: a}
	dlB := scheduler.Deadline{ID: b + "/" + cases.ActionCloseDeOficio, DueAt: dueB, Action: cases.ActionCloseDeOficio, Target: b}

	// Not due yet: refused, and reported as an error.
	if _, err := d.closeDeOficio(ctx, dlA, scheduler.CommandID(dlA)); err == nil {
		t.Fatal("closed before the deadline")
	}
	// Case b is resolved before its term: its deadline becomes moot.
	if _, err := h.Handle(ctx, b, commands.Meta{Actor: tram}, dec.Resolve(cases.TextCommand{Actor: tram, Text: "Resuelto."})); err != nil {
		t.Fatal(err)
	}
	if err := clk.Set(dueA); err != nil {
		t.Fatal(err)
	}
	out, err := d.closeDeOficio(ctx, dlA, scheduler.CommandID(dlA))
	if err != nil || out != scheduler.Acted {
		t.Fatalf("first: %v %v", out, err)
	}
	out, err = d.closeDeOficio(ctx, dlA, scheduler.CommandID(dlA))
	if err != nil || out != scheduler.AlreadyDone {
		t.Fatalf("repeat: %v %v", out, err)
	}
	out, err = d.closeDeOficio(ctx, dlB, scheduler.CommandID(dlB))
	if err != nil || out != scheduler.AlreadyDone {
		t.Fatalf("moot: %v %v", out, err)
	}
	l, err := h.Load(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if l.State.Status != cases.CerradoDeOficio || len(l.State.Emails) != 2 || l.State.Emails[1].To != "buzon@gestoria.test" {
		t.Errorf("closed case: %s %+v", l.State.Status, l.State.Emails)
	}
	evs, err := store.ReadStream(ctx, "case-"+a, 0, eventstore.Forward, 100)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Metadata.Actor.Role != cases.RoleSystem || last.Metadata.CommandID != scheduler.CommandID(dlA).String() ||
		last.Metadata.CausationID != "deadline:"+dlA.ID {
		t.Errorf("closure metadata: %+v", last.Metadata)
	}
	// Clearing: the closure clears close_de_oficio.
	var closed eventstore.Event
	for _, e := range evs {
		if e.Type == cases.TypeCaseClosedDeOficio {
			closed = e
		}
	}
	changes, err := d.mapEvent(closed)
	if err != nil || len(changes) != 1 || changes[0].Kind != scheduler.Clear {
		raw, _ := json.Marshal(changes)
		t.Errorf("closure maps to %s, %v", raw, err)
	}
	// Events of other streams map to nothing.
	if cs, err := d.mapEvent(eventstore.Event{Stream: "casenumbers-2026", Type: cases.TypeNumberReserved}); err != nil || cs != nil {
		t.Errorf("sequence event mapped to %+v, %v", cs, err)
	}
}
