package nssdoc_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/nss"
	"redengine/domain/nss/nssdoc"
	"redengine/errs"
	"redengine/eventstore"
)

// run applies the real decisions of a whole assignment: requested and
// assigned on 5 July 2021, alta on 8 July with fecha real 8 July,
// consolidated on 9 July. It returns the state after each step.
func run(t *testing.T) (assigned, altaRequested, consolidated nss.State) {
	t.Helper()
	cal := calendar.New()
	at := func(d, h int) time.Time { return time.Date(2021, 7, d, h, 0, 0, 0, cal.Location()) }
	aut := eventstore.Actor{ID: "ana", Role: nss.RoleAutorizado, Authorization: "AUT0001"}
	var s nss.State
	step := func(dec commands.Decide[nss.State], now time.Time) nss.State {
		t.Helper()
		evs, err := dec(s, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			s = nss.Evolve(s, commands.Event{Data: e})
		}
		return s
	}
	p, err := nss.Validate(nss.Request{DocumentType: "DNI", DocumentNumber: "12345678Z", FirstName: "María José",
		Surname1: "García", Surname2: "López", BirthDate: "1990-05-17", Sex: "mujer", Nationality: "ESP",
		MobilePhone: "612345678", PhoneConsent: true,
		Address:       nss.Address{TipoVia: "CL", NombreVia: "Mayor", Numero: "5", Piso: "3", Puerta: "B", CodigoPostal: "28100", Localidad: "Alcobendas"},
		EmailDeclined: true}, nss.DefaultPolicy(nss.DefaultCatalogue()), at(5, 9))
	if err != nil {
		t.Fatal(err)
	}
	step(nss.RequestAssignment(nss.NewAssignment{AssignmentID: "asg-1", Authorization: "AUT0001", Person: p,
		Verification: nss.Verification{Verifier: "builtin", Valid: true}}, aut), at(5, 9))
	assigned = step(nss.Confirm("281234567840", aut), at(5, 10))
	altaRequested = step(nss.RequestAlta(calendar.Date{Year: 2021, Month: 7, Day: 8}, aut), at(8, 18))
	consolidated = step(nss.Consolidate(eventstore.Actor{ID: "t7", Role: nss.RoleTramitador}), at(9, 11))
	return assigned, altaRequested, consolidated
}

var key = []byte("verification key")

func TestAssignmentResolution(t *testing.T) {
	_, _, s := run(t)
	issued := time.Date(2021, 7, 20, 12, 0, 0, 0, time.UTC)
	r, err := nssdoc.AssignmentResolution(s, key, issued)
	if err != nil {
		t.Fatal(err)
	}
	text := r.Text()
	for _, want := range []string{
		"Tesorería General de la Seguridad Social — Dirección Provincial de Madrid",
		nssdoc.Title,
		"Número de la Seguridad Social: 28/12345678/40",
		"Apellidos y nombre: García López, María José",
		"Documento de identidad: DNI 12345678Z",
		"Fecha de nacimiento: 17 de mayo de 1990",
		"Domicilio: CL Mayor, 5, piso 3, puerta B — 28100 Alcobendas",
		"Autorización RED: AUT0001",
		"Duplicado expedido el: 20 de julio de 2021, a las 14:00 (hora peninsular)",
		"el 5 de julio de 2021, a las 10:00 (hora peninsular) se le asignó",
		"con fecha real 8 de julio de 2021",
		"consolidada en el sistema el 9 de julio de 2021",
		"RECURSOS", "recurso de alzada",
		"Madrid, 5 de julio de 2021",
		"Código seguro de verificación (CSV): " + nssdoc.VerificationCode(key, s),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q\n%s", want, text)
		}
	}
	if strings.Contains(text, "612345678") {
		t.Error("the document shows the phone number")
	}
}

func TestVerificationCode(t *testing.T) {
	_, _, s := run(t)
	code := nssdoc.VerificationCode(key, s)
	if !regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$`).MatchString(code) {
		t.Errorf("code %q", code)
	}
	if code != nssdoc.VerificationCode(key, s) {
		t.Error("code is not deterministic")
	}
	if code == nssdoc.VerificationCode([]byte("other"), s) {
		t.Error("code does not depend on the key")
	}
	other := s
	other.ID = "asg-2"
	if code == nssdoc.VerificationCode(key, other) {
		t.Error("two assignments share a code")
	}
}

func TestRenderIsDeterministicPDF(t *testing.T) {
	_, _, s := run(t)
	issued := time.Date(2021, 7, 20, 12, 0, 0, 0, time.UTC)
	a, err := nssdoc.Render(s, key, issued)
	if err != nil {
		t.Fatal(err)
	}
	b, err := nssdoc.Render(s, key, issued)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(a, []byte("%PDF-")) || !bytes.Equal(a, b) {
		t.Errorf("not a deterministic PDF (%d and %d bytes)", len(a), len(b))
	}
}

func TestNoResolutionBeforeConsolidation(t *testing.T) {
	assigned, alta, _ := run(t)
	for _, s := range []nss.State{{}, assigned, alta} {
		_, err := nssdoc.Render(s, key, time.Date(2021, 7, 20, 12, 0, 0, 0, time.UTC))
		want := errs.Precondition
		if !s.Exists() {
			want = errs.NotFound
		}
		if errs.KindOf(err) != want {
			t.Errorf("state %q: err = %v, want %s", s.Status, err, want)
		}
	}
	_, err := nssdoc.AssignmentResolution(assigned, key, time.Date(2021, 7, 20, 12, 0, 0, 0, time.UTC))
	if m := errs.MessageOf(err); !strings.Contains(m, "hasta que se solicite y consolide el primer alta") {
		t.Errorf("message = %q", m)
	}
}
