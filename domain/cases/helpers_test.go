package cases_test

import (
	"fmt"
	"testing"
	"time"

	"redengine/catalog/casia"
	"redengine/commands"
	"redengine/commands/scenario"
	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/eventstore"
)

const (
	caseID  = "3f1c2a7e-0000-5000-8000-000000000001"
	number  = "CAS-2021-000042"
	auth    = "A0001"
	contact = "contacto@gestoria.example"
	sha     = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1ea5a1d2e0c9a1b1a9d1f1c1b1"
)

var (
	autorizado = eventstore.Actor{ID: "user-1", Role: cases.RoleAutorizado, Authorization: auth}
	intruso    = eventstore.Actor{ID: "user-9", Role: cases.RoleAutorizado, Authorization: "A0002"}
	tramitador = eventstore.Actor{ID: "tram-7", Role: cases.RoleTramitador}
	system     = eventstore.Actor{ID: "scheduler", Role: cases.RoleSystem}
	auditor    = eventstore.Actor{ID: "aud-1", Role: "auditor"}
)

var cal = calendar.New()

func decider() *cases.Decider { return cases.NewDecider(casia.Default(), cal, []byte("test-key")) }

// madrid returns the instant y-m-d h:mi:s in Europe/Madrid.
func madrid(y int, m time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, m, d, h, mi, s, 0, cal.Location())
}

func given() scenario.Scenario[cases.State] { return scenario.For(cases.Aggregate()) }

// Classifications used by the tests.
var (
	clConsulta = [3]string{"Recaudación", "Deudas y reclamaciones", "Reclamaciones de deuda"}
	clError    = [3]string{"Cotización", "Liquidación de cuotas", "Cálculo de la liquidación"}
	clTramite  = [3]string{"Afiliación (altas y bajas)", "Altas", "Alta fuera de plazo"}
)

func classification(p [3]string) casia.Classification {
	c, _, ok := casia.Default().Classify(p[0], p[1], p[2])
	if !ok {
		panic(fmt.Sprint("no classification ", p))
	}
	return c
}

func unit(p [3]string) string {
	s, _ := casia.Default().Find(p[0], p[1], p[2])
	return s.Unit
}

func extraFor(t casia.Type) map[string]string {
	if t == casia.Tramite {
		return map[string]string{"ccc": "28123456742", "naf": "281234567840", "fechaReal": "2021-07-01"}
	}
	return map[string]string{"ccc": "23123456750"}
}

func pathFor(t casia.Type) [3]string {
	switch t {
	case casia.Tramite:
		return clTramite
	case casia.ErrorIncidencia:
		return clError
	}
	return clConsulta
}

// openCmd is a valid opening of a case of type t by the autorizado.
func openCmd(t casia.Type) cases.OpenCase {
	p := pathFor(t)
	return cases.OpenCase{
		CaseID: caseID, Number: number, Actor: autorizado, Authorization: auth, Type: t,
		Materia: p[0], Categoria: p[1], Subcategoria: p[2],
		Subject: "Alta de trabajador fuera de plazo", Body: "Solicitamos el alta con Fecha Real 01/07/2021.",
		ExtraData: extraFor(t), Contact: contact,
	}
}

// opened returns the events of a case of type t opened at at.
func opened(t casia.Type, at time.Time) []any {
	at = at.UTC()
	p := pathFor(t)
	ev := cases.CaseOpened{
		CaseID: caseID, Number: number, Type: t, Classification: classification(p),
		CatalogueVersion: casia.Default().Version, Origin: cases.OriginAutorizado, Authorization: auth,
		Subject: "Alta de trabajador fuera de plazo", Body: "Solicitamos el alta con Fecha Real 01/07/2021.",
		ExtraData: extraFor(t), OpenedBy: autorizado, OpenedAt: at,
	}
	if t == casia.Tramite {
		ev.Justificante = &cases.Justificante{Number: "J-" + number, IssuedAt: at}
	}
	return []any{ev, cases.CaseRouted{Unit: unit(p), Classification: classification(p), Reason: "apertura", At: at}}
}

// requested returns the InformationRequested of a request made at at by
// the tramitador, with its email.
func requested(no int, at time.Time, emailNo int) []any {
	at = at.UTC()
	req := cases.InformationRequested{
		RequestNo: no, Text: "Aporte el contrato de trabajo firmado.", By: tramitador, RequestedAt: at,
		TermDays: 20, LastDay: cal.TermLastDay(at, 20), Deadline: cal.TermEnd(at, 20).UTC(),
	}
	return []any{req, cases.EmailRequested{EmailID: cases.EmailID(caseID, emailNo), Template: cases.TemplateInformationRequested,
		To: contact, Subject: "CASIA: se requiere información en el caso " + number, Body: "(cuerpo)", At: at}}
}

func pendingCase(t casia.Type, openedAt, requestedAt time.Time) []any {
	return append(opened(t, openedAt), requested(1, requestedAt, 0)...)
}

func textCmd(a eventstore.Actor, text string) cases.TextCommand {
	return cases.TextCommand{Actor: a, Text: text, Contact: contact}
}

func typesOf(events []any) []string {
	var out []string
	for _, e := range events {
		out = append(out, fmt.Sprintf("%T", e))
	}
	return out
}

func wantTypes(t *testing.T, events []any, want ...string) {
	t.Helper()
	got := typesOf(events)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
}

type outcome = scenario.Outcome[cases.State]

// when decides d at at on a case with history h.
func when(h []any, at time.Time, d commands.Decide[cases.State]) *outcome {
	return given().Given(h...).At(at).When(d)
}
