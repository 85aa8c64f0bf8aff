package documents

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"redengine/catalog/casia"
	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/errs"
	"redengine/eventstore"
)

// issued runs a trámite through opening, requerimiento and cierre de oficio
// with the real decisions and returns its DesistimientoIssued.
func issued(t *testing.T) cases.DesistimientoIssued {
	t.Helper()
	cal := calendar.New()
	loc := cal.Location()
	d := cases.NewDecider(casia.Default(), cal, []byte("k"))
	var s cases.State
	step := func(dec func(cases.State, time.Time) ([]any, error), at time.Time) []any {
		t.Helper()
		evs, err := dec(s, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			s = cases.Apply(s, e)
		}
		return evs
	}
	aut := eventstore.Actor{ID: "u1", Role: cases.RoleAutorizado, Authorization: "A0001"}
	step(d.Open(cases.OpenCase{
		CaseID: "case-1", Number: "CAS-2021-000042", Actor: aut, Authorization: "A0001", Type: casia.Tramite,
		Materia: "Afiliación (altas y bajas)", Categoria: "Altas", Subcategoria: "Alta fuera de plazo",
		Subject: "Alta fuera de plazo de trabajadora — Fecha Real 01/07/2021", Body: "Solicitamos el alta.",
		ExtraData: map[string]string{"ccc": "28123456742", "naf": "281234567840", "fechaReal": "2021-07-01"},
	}), time.Date(2021, 7, 1, 9, 30, 0, 0, loc))
	step(d.RequestInformation(cases.TextCommand{Actor: eventstore.Actor{ID: "t7", Role: cases.RoleTramitador},
		Text: "Aporte el contrato de trabajo firmado por ambas partes.", Contact: "c@example.es"}),
		time.Date(2021, 7, 2, 10, 0, 0, 0, loc))
	evs := step(d.CloseDeOficio(cases.SystemCommand{Actor: eventstore.Actor{ID: "scheduler", Role: cases.RoleSystem}}),
		time.Date(2021, 7, 23, 0, 1, 0, 0, loc))
	for _, e := range evs {
		if ev, ok := e.(cases.DesistimientoIssued); ok {
			return ev
		}
	}
	t.Fatal("no DesistimientoIssued")
	return cases.DesistimientoIssued{}
}

func TestDesistimientoContent(t *testing.T) {
	ev := issued(t)
	text := DesistimientoResolution(ev).Text()
	for _, want := range []string{
		"Tesorería General de la Seguridad Social — Dirección Provincial de Madrid",
		"Unidad tramitadora: UGA-Afiliacion",
		"RESOLUCIÓN DE DESISTIMIENTO",
		"Número de resolución: RD-CAS-2021-000042",
		"Caso CASIA: CAS-2021-000042 (Trámite)",
		"Autorización RED: A0001",
		"Código Cuenta de Cotización (CCC): 28123456742",
		"Número de afiliación (NAF): 281234567840",
		"Justificante: J-CAS-2021-000042",
		"ANTECEDENTES DE HECHO",
		"1 de julio de 2021, a las 09:30",
		"2 de julio de 2021, a las 10:00",
		"«Aporte el contrato de trabajo firmado por ambas partes.»",
		"20 días naturales",
		"finalizó el 22 de julio de 2021 sin que se aportara la información requerida",
		"el 23 de julio de 2021 el caso se cerró de oficio",
		"FUNDAMENTOS DE DERECHO",
		"artículo 68.1 de la Ley 39/2015",
		"artículo 21.1",
		"Orden ISM/903/2020",
		"RESUELVE\nDeclarar DESISTIDA",
		"ARCHIVO",
		"recurso de alzada ante la persona titular de la Dirección Provincial de la Tesorería General de la Seguridad Social de Madrid",
		"en el plazo de un mes",
		"Madrid, 23 de julio de 2021",
		"Código seguro de verificación (CSV): " + ev.VerificationCode,
		VerifyPath + ev.VerificationCode,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	ev := issued(t)
	a, err := RenderDesistimiento(ev)
	if err != nil {
		t.Fatal(err)
	}
	b, err := RenderDesistimiento(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of the same event differ")
	}
	// The event as read back from the store (JSON, times in UTC) gives the same bytes.
	raw, _ := json.Marshal(ev)
	var back cases.DesistimientoIssued
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	c, err := RenderDesistimiento(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, c) {
		t.Fatal("rendering the decoded event differs")
	}
	if !bytes.HasPrefix(a, []byte("%PDF-1.")) || !bytes.Contains(a[len(a)-16:], []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q…%q", a[:8], a[len(a)-16:])
	}
	if !bytes.Contains(a, []byte("/CreationDate (D:20210722220100)")) {
		t.Error("creation date is not the issue instant (UTC)")
	}
	// A different code gives a different document.
	ev.VerificationCode = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"
	d, _ := RenderDesistimiento(ev)
	if bytes.Equal(a, d) {
		t.Fatal("the code does not reach the PDF")
	}
}

func TestPDFCarriesTheTextInCP1252(t *testing.T) {
	ev := issued(t)
	pdf, err := render(DesistimientoResolution(ev), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"RESOLUCI\xd3N DE DESISTIMIENTO",
		"Tesorer\xeda General de la Seguridad Social",
		"C\xf3digo seguro de verificaci\xf3n \\(CSV\\): " + ev.VerificationCode,
		"P\xe1gina 1 de 2",
		"Orden ISM/903/2020",
	} {
		if !bytes.Contains(pdf, []byte(want)) {
			t.Errorf("PDF lacks %q", want)
		}
	}
	if bytes.Contains(pdf, []byte("{nb}")) {
		t.Error("page count alias not replaced")
	}
	if n := len(regexp.MustCompile(`/Type /Page\b`).FindAll(pdf, -1)); n < 1 {
		t.Errorf("pages = %d", n)
	}
}

func TestHouseStyleIsReusable(t *testing.T) {
	at := time.Date(2021, 7, 6, 8, 0, 0, 0, time.UTC)
	r := New("Dirección Provincial de Barcelona", "RESOLUCIÓN DE ASIGNACIÓN DE NÚMERO DE SEGURIDAD SOCIAL", "Barcelona", at).
		AddReference("NSS asignado", "081234567890").
		AddReference("Vacío", "  ").
		AddSection("Resuelve", "Asignar el número → 08 1234567890 ✓ a la persona…")
	r.VerificationCode = "ABCD-EFGH"
	text := r.Text()
	if strings.Contains(text, "Vacío") || !strings.Contains(text, "Barcelona, 6 de julio de 2021") || !strings.Contains(text, "RESUELVE") {
		t.Fatalf("text:\n%s", text)
	}
	pdf, err := render(*r, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pdf, []byte("n\xfamero -> 08 1234567890 ? a la persona\x85")) {
		t.Error("non-cp1252 characters not mapped")
	}
	if _, err := RenderResolution(Resolution{Date: at}); !errs.Is(errs.Invalid, err) {
		t.Fatalf("no title: err = %v", err)
	}
	if _, err := RenderResolution(Resolution{Title: "x"}); !errs.Is(errs.Invalid, err) {
		t.Fatalf("no date: err = %v", err)
	}
}

func TestLongDocumentsBreakPagesWithNumbers(t *testing.T) {
	r := New("Dirección Provincial de Madrid", "DOCUMENTO LARGO", "Madrid", time.Date(2021, 7, 6, 8, 0, 0, 0, time.UTC))
	for range 12 {
		r.AddSection("Apartado", strings.Repeat("Texto de prueba con acentos: áéíóú ñ. ", 40))
	}
	pdf, err := render(*r, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pdf, []byte("P\xe1gina 3 de ")) {
		t.Fatal("expected at least three numbered pages")
	}
}
