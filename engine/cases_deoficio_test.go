package engine_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"redengine/catalog/casia"
	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/eventstore"
)

type desistimientoDoc struct {
	ID                string    `json:"id"`
	CaseID            string    `json:"caseId"`
	CaseNumber        string    `json:"caseNumber"`
	Authorization     string    `json:"authorization"`
	Number            string    `json:"number"`
	VerificationCode  string    `json:"verificationCode"`
	IssuedAt          time.Time `json:"issuedAt"`
	NotificationID    string    `json:"notificationId"`
	NotificationState string    `json:"notificationState"`
	RejectionDeadline time.Time `json:"rejectionDeadline"`
	DocumentURL       string    `json:"documentUrl"`
	TrailComplete     bool      `json:"trailComplete"`
	Trail             []struct {
		Step  string
		At    time.Time
		Actor struct{ ID, Role string }
	} `json:"trail"`
	Emails []struct {
		Template, To, Status string
	} `json:"emails"`
}

func (d desistimientoDoc) steps() []string {
	var out []string
	for _, s := range d.Trail {
		out = append(out, s.Step)
	}
	return out
}

// TestCaseTramiteClosedDeOficioThenNotificationRejected walks a trámite whose
// requerimiento goes unanswered: the 20th day is a Sunday, so the term runs
// to Monday; the case is closed de oficio at the first pass after the term
// and not a second before, with the Resolución de Desistimiento, its PDF,
// the puesta a disposición and the emails; 10 días naturales later the
// notification is deemed rejected.
func TestCaseTramiteClosedDeOficioThenNotificationRejected(t *testing.T) {
	w := newCasesWorld(t)
	w.clock(t, "2026-11-30T09:00:00+01:00")
	c := w.open(t, w.ana, tramite("Alta fuera de plazo de una trabajadora"))
	w.clock(t, "2026-11-30T10:00:00+01:00") // Monday
	req := w.request(t, c.ID, "Aporte el contrato de trabajo firmado por ambas partes.")
	// Day 20 is Sunday 20 December: the term moves to Monday 21.
	if req.State != "pendiente_informacion" || req.PendingRequest.LastDay != "2026-12-21" ||
		!req.PendingRequest.Deadline.Equal(at(t, "2026-12-22T00:00:00+01:00")) {
		t.Fatalf("requerimiento: %+v", req.PendingRequest)
	}
	if !slices.Contains(req.templates(), "information_requested:requested:"+contactA) {
		t.Errorf("emails: %v", req.templates())
	}

	// The end of day 20 (Sunday) and the last second of Monday: not yet.
	for _, s := range []string{"2026-12-21T00:00:00+01:00", "2026-12-21T23:59:59+01:00"} {
		if n := w.clock(t, s); n != 0 {
			t.Fatalf("pass at %s acted on %d deadlines", s, n)
		}
		if st := w.get(t, w.ana, c.ID).State; st != "pendiente_informacion" {
			t.Fatalf("at %s: %s", s, st)
		}
	}
	// The first pass after the term closes it; a second pass does nothing.
	if n := w.clock(t, "2026-12-22T00:00:00+01:00"); n != 1 {
		t.Fatalf("pass at the deadline acted on %d", n)
	}
	if n := w.clock(t, "2026-12-22T00:01:00+01:00"); n != 0 {
		t.Fatalf("second pass acted on %d", n)
	}
	closed := w.get(t, w.ana, c.ID)
	if closed.State != "cerrado_de_oficio" || closed.Desistimiento == nil || closed.Desistimiento.NotificationState != "puesta_a_disposicion" {
		t.Fatalf("closed: %+v", closed)
	}
	wantEmails := []string{"information_requested:requested:" + contactA, "case_closed_de_oficio:requested:" + contactA,
		"desistimiento_puesta_a_disposicion:requested:" + contactA}
	if !slices.Equal(closed.templates(), wantEmails) {
		t.Errorf("emails %v, want %v", closed.templates(), wantEmails)
	}
	if closed.Desistimiento.Number != "RD-"+c.Number {
		t.Errorf("resolution number %s", closed.Desistimiento.Number)
	}

	// Compliance sees it in the list, by date and autorización, and its trail.
	w.sync(t)
	var list struct{ Items []desistimientoDoc }
	w.e.Get(w.comp, "/v1/desistimientos?from=2026-12-22&to=2026-12-31&authorization=A0001").Want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].CaseID != c.ID || list.Items[0].CaseNumber != c.Number ||
		list.Items[0].NotificationState != "puesta_a_disposicion" || list.Items[0].NotificationID != closed.Desistimiento.NotificationID ||
		!list.Items[0].IssuedAt.Equal(at(t, "2026-12-22T00:00:00+01:00")) {
		t.Fatalf("list: %+v", list.Items)
	}
	w.e.Get(w.comp, "/v1/desistimientos?from=2026-12-23").Want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("from the 23rd: %+v", list.Items)
	}
	rid := closed.Desistimiento.ResolutionID
	var d desistimientoDoc
	w.e.Get(w.comp, "/v1/desistimientos/"+rid).Want(t, http.StatusOK).JSON(t, &d)
	wantSteps := []string{"requerimiento", "plazo", "correo_solicitado", "cierre_de_oficio", "correo_solicitado",
		"resolucion", "puesta_a_disposicion", "correo_solicitado"}
	if !slices.Equal(d.steps(), wantSteps) || d.TrailComplete {
		t.Errorf("trail %v (complete %v), want %v", d.steps(), d.TrailComplete, wantSteps)
	}
	for _, s := range d.Trail {
		if s.At.IsZero() || s.Actor.Role == "" {
			t.Errorf("step without time or actor: %+v", s)
		}
	}
	if d.Trail[0].Actor.ID != "tram-7" || d.Trail[3].Actor.Role != "system" {
		t.Errorf("actors: request %+v, closure %+v", d.Trail[0].Actor, d.Trail[3].Actor)
	}

	// The PDF: the same bytes every time; the autorizado gets it only once
	// the notification is accessed or rejected.
	pdf1 := w.e.Get(w.comp, d.DocumentURL).Want(t, http.StatusOK)
	pdf2 := w.e.Get(w.aud, d.DocumentURL).Want(t, http.StatusOK)
	if !bytes.HasPrefix(pdf1.Body, []byte("%PDF-")) || !bytes.Equal(pdf1.Body, pdf2.Body) ||
		pdf1.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("pdf: %q…, equal %v, type %s", pdf1.Body[:min(8, len(pdf1.Body))], bytes.Equal(pdf1.Body, pdf2.Body), pdf1.Header.Get("Content-Type"))
	}
	w.e.Get(w.ana, d.DocumentURL).Want(t, http.StatusConflict)

	// The code checks out, typed in lower case without hyphens.
	code := closed.Desistimiento.VerificationCode
	var v struct {
		Authentic bool
		Document  struct{ Number, CaseNumber, SHA256 string }
	}
	w.e.Get("", "/v1/documents/verify/"+strings.ToLower(strings.ReplaceAll(code, "-", ""))).Want(t, http.StatusOK).JSON(t, &v)
	sum := sha256.Sum256(pdf1.Body)
	if !v.Authentic || v.Document.Number != "RD-"+c.Number || v.Document.CaseNumber != c.Number || v.Document.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("verify: %+v", v)
	}
	w.e.Get("", "/v1/documents/verify/AAAA-BBBB-CCCC-DDDD-EEEE-FFFF").Want(t, http.StatusOK).JSON(t, &v)
	if v.Authentic {
		t.Error("an invented code is authentic")
	}
	w.e.Get("", "/v1/documents/verify/1234").Want(t, http.StatusBadRequest)
	// The true code with characters outside its alphabet is malformed,
	// not authentic.
	w.e.Get("", "/v1/documents/verify/"+code+"-0000-1111").Want(t, http.StatusBadRequest)
	w.e.Get("", "/v1/documents/verify/"+strings.Replace(code, "-", "0-", 1)).Want(t, http.StatusBadRequest)

	// 10 días naturales from Tuesday 22 December, not moved: rejected from
	// Saturday 2 January 00:00 (the 1st is a holiday, and it does not matter).
	if !d.RejectionDeadline.Equal(at(t, "2027-01-02T00:00:00+01:00")) {
		t.Errorf("rejection deadline %s", d.RejectionDeadline)
	}
	if n := w.clock(t, "2027-01-01T23:59:59+01:00"); n != 0 {
		t.Fatalf("rejected a second early (%d)", n)
	}
	if n := w.clock(t, "2027-01-02T00:00:00+01:00"); n != 1 {
		t.Fatalf("pass at the rejection deadline acted on %d", n)
	}
	w.sync(t)
	w.e.Post(w.ana, "/v1/notifications/"+d.NotificationID+"/access", nil).Want(t, http.StatusConflict)
	w.e.Get(w.comp, "/v1/desistimientos/"+rid).Want(t, http.StatusOK).JSON(t, &d)
	if d.NotificationState != "rechazada" || !d.TrailComplete || d.steps()[len(d.Trail)-1] != "rechazada" {
		t.Errorf("after rejection: %s %v", d.NotificationState, d.steps())
	}
	pdf3 := w.e.Get(w.ana, d.DocumentURL).Want(t, http.StatusOK)
	if !bytes.Equal(pdf3.Body, pdf1.Body) {
		t.Error("the PDF changed")
	}
	w.e.Get(w.ana, "/v1/desistimientos").Want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].NotificationState != "rechazada" {
		t.Errorf("ana's list: %+v", list.Items)
	}

	// An autorizado of another autorización gets 403 on all of it.
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/cases/" + c.ID},
		{"GET", "/v1/cases/" + c.ID + "?revision=0"},
		{"GET", "/v1/cases/" + c.ID + "/history"},
		{"GET", "/v1/cases?authorization=A0001"},
		{"GET", "/v1/desistimientos?authorization=A0001"},
		{"GET", "/v1/desistimientos/" + rid},
		{"GET", "/v1/desistimientos/" + rid + "/document"},
		{"POST", "/v1/notifications/" + d.NotificationID + "/access"},
		{"POST", "/v1/cases/" + c.ID + "/replies"},
		{"POST", "/v1/cases/" + c.ID + "/information"},
		{"POST", "/v1/cases/" + c.ID + "/documents"},
	} {
		var body any
		if r.method == "POST" && !strings.HasSuffix(r.path, "/access") { // access takes no body
			body = map[string]string{"text": "intruso"}
		}
		w.e.Do(enginetestRequest(r.method, r.path, w.eva, body)).Want(t, http.StatusForbidden)
	}
	w.e.Post(w.eva, "/v1/cases", tramite("Para otra autorización")).Want(t, http.StatusForbidden)
	w.e.Get(w.eva, "/v1/desistimientos").Want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("eva sees %+v", list.Items)
	}
}

// TestCaseInformationOnLastDayPreventsClosure: the 20th day is Wednesday 6
// January (Epifanía), so the term runs to Thursday 7; information given at
// 23:59:59 that day is in time and no closure follows; a twin case left
// unanswered is closed at 00:00 on Friday 8, and information then is late.
func TestCaseInformationOnLastDayPreventsClosure(t *testing.T) {
	w := newCasesWorld(t)
	w.clock(t, "2026-12-17T10:00:00+01:00")
	answered := w.open(t, w.ana, tramite("Contestado"))
	late := w.open(t, w.luis, tramite("Sin contestar"))
	for _, id := range []string{answered.ID, late.ID} {
		if r := w.request(t, id, "Aporte el contrato."); r.PendingRequest.LastDay != "2027-01-07" {
			t.Fatalf("last day %s", r.PendingRequest.LastDay)
		}
	}
	// A tramitador cannot provide information, nor an autorizado reply while it is pending.
	w.e.Post(w.tram, "/v1/cases/"+answered.ID+"/information", map[string]string{"text": "x"}).Want(t, http.StatusForbidden)
	w.e.Post(w.ana, "/v1/cases/"+answered.ID+"/replies", map[string]string{"text": "x"}).Want(t, http.StatusConflict)
	w.e.Post(w.ana, "/v1/cases/"+answered.ID+"/information", map[string]string{"text": ""}).Want(t, http.StatusBadRequest)

	if n := w.clock(t, "2027-01-07T23:59:59+01:00"); n != 0 {
		t.Fatalf("acted %d on the last day", n)
	}
	var r caseDoc
	w.e.Post(w.ana, "/v1/cases/"+answered.ID+"/information", map[string]any{"text": "Adjuntamos el contrato.",
		"documents": []map[string]any{{"name": "contrato.pdf", "mediaType": "application/pdf", "size": 48213,
			"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}}).Want(t, http.StatusOK).JSON(t, &r)
	if r.State != "en_tramitacion" || r.PendingRequest != nil {
		t.Fatalf("after information: %+v", r)
	}
	if n := w.clock(t, "2027-01-08T00:00:00+01:00"); n != 1 {
		t.Fatalf("pass at the deadline acted on %d, want 1 (only the unanswered case)", n)
	}
	if st := w.get(t, w.ana, answered.ID).State; st != "en_tramitacion" {
		t.Errorf("answered case: %s", st)
	}
	if st := w.get(t, w.ana, late.ID).State; st != "cerrado_de_oficio" {
		t.Errorf("unanswered case: %s", st)
	}
	w.e.Post(w.luis, "/v1/cases/"+late.ID+"/information", map[string]string{"text": "Tarde"}).Want(t, http.StatusConflict)

	// The answered case goes on: a second requerimiento, then resolved
	// before its term, which clears the deadline.
	w.clock(t, "2027-01-11T10:00:00+01:00")
	w.request(t, answered.ID, "Aporte también la nómina.")
	var res caseDoc
	w.e.Post(w.tram, "/v1/cases/"+answered.ID+"/resolve", map[string]string{"text": "Alta tramitada."}).Want(t, http.StatusOK).JSON(t, &res)
	if res.State != "resuelto" || !slices.Contains(res.templates(), "case_resolved:requested:"+contactA) {
		t.Errorf("resolved: %+v", res)
	}
	// Only the late case's notification is due (rejected); the resolved
	// case's requerimiento deadline was cleared.
	if n := w.clock(t, "2027-03-01T00:00:00+01:00"); n != 1 {
		t.Errorf("acted on %d deadlines, want 1 (the rejection of the late case's notification)", n)
	}
	if d := w.get(t, w.luis, late.ID).Desistimiento; d == nil || d.NotificationState != "rechazada" {
		t.Errorf("late case's notification: %+v", d)
	}
	if st := w.get(t, w.ana, answered.ID).State; st != "resuelto" {
		t.Errorf("answered case: %s", st)
	}
	w.e.Post(w.tram, "/v1/cases/"+answered.ID+"/resolve", map[string]string{"text": "Otra vez."}).Want(t, http.StatusConflict)
}

// TestCaseConsultaAndErrorClosedDeOficio: a consulta and an error_incidencia
// left unanswered are closed de oficio with an email (or, with no contact
// address, a recorded skip) and no resolution.
func TestCaseConsultaAndErrorClosedDeOficio(t *testing.T) {
	w := newCasesWorld(t)
	w.clock(t, "2026-12-01T10:00:00+01:00")
	q := w.open(t, w.ana, consulta("A0001", "Consulta"))
	e := w.open(t, w.eva, errorIncidencia("B0002", "Error"))
	w.request(t, q.ID, "Indique el importe.")
	if got := w.request(t, e.ID, "Indique la remesa.").templates(); !slices.Equal(got, []string{"information_requested:skipped:"}) {
		t.Errorf("no contact: %v", got)
	}
	if n := w.clock(t, "2026-12-22T00:00:00+01:00"); n != 2 {
		t.Fatalf("acted on %d, want 2", n)
	}
	cq := w.get(t, w.ana, q.ID)
	if cq.State != "cerrado_de_oficio" || cq.Desistimiento != nil ||
		!slices.Equal(cq.templates(), []string{"information_requested:requested:" + contactA, "case_closed_de_oficio:requested:" + contactA}) {
		t.Errorf("consulta: %s %v %v", cq.State, cq.Desistimiento, cq.templates())
	}
	ce := w.get(t, w.eva, e.ID)
	if ce.State != "cerrado_de_oficio" || ce.Desistimiento != nil ||
		!slices.Equal(ce.templates(), []string{"information_requested:skipped:", "case_closed_de_oficio:skipped:"}) {
		t.Errorf("error: %s %v %v", ce.State, ce.Desistimiento, ce.templates())
	}
	w.sync(t)
	var list struct{ Items []desistimientoDoc }
	w.e.Get(w.comp, "/v1/desistimientos").Want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("desistimientos for a consulta or an error: %+v", list.Items)
	}
}

// TestNotificationAccessedBeforeRejection: the autorizado opens the
// notification within its 10 días naturales; it is accedida, the rejection
// deadline is cleared and the document is available to the autorizado.
func TestNotificationAccessedBeforeRejection(t *testing.T) {
	w := newCasesWorld(t)
	w.clock(t, "2026-12-01T10:00:00+01:00")
	c := w.open(t, w.ana, tramite("Alta"))
	w.request(t, c.ID, "Aporte el contrato.")
	if n := w.clock(t, "2026-12-22T00:00:00+01:00"); n != 1 {
		t.Fatalf("closure acted %d", n)
	}
	closed := w.get(t, w.ana, c.ID)
	nid := closed.Desistimiento.NotificationID
	w.clock(t, "2026-12-28T12:00:00+01:00")
	w.e.Post(w.eva, "/v1/notifications/"+nid+"/access", nil).Want(t, http.StatusForbidden)
	w.e.Post(w.tram, "/v1/notifications/"+nid+"/access", nil).Want(t, http.StatusForbidden)
	w.e.Post(w.ana, "/v1/notifications/00000000-0000-0000-0000-000000000000/access", nil).Want(t, http.StatusNotFound)
	var d desistimientoDoc
	r := w.e.Post(w.luis, "/v1/notifications/"+nid+"/access", nil).Want(t, http.StatusOK)
	r.JSON(t, &d)
	if d.NotificationState != "accedida" || r.Header.Get("X-Position") == "" {
		t.Fatalf("access: %s", r.Body)
	}
	w.e.Post(w.ana, "/v1/notifications/"+nid+"/access", nil).Want(t, http.StatusOK).JSON(t, &d)
	if d.NotificationState != "accedida" {
		t.Errorf("second access: %+v", d)
	}
	pdf := w.e.Get(w.ana, d.DocumentURL).Want(t, http.StatusOK)
	if !bytes.HasPrefix(pdf.Body, []byte("%PDF-")) {
		t.Error("not a PDF")
	}
	if n := w.clock(t, "2027-01-10T00:00:00+01:00"); n != 0 {
		t.Errorf("an accessed notification was rejected (%d)", n)
	}
	// The notifier's outcomes (recorded as the mailer does, through the
	// pipeline) show in the trail: the closure email sent, the aviso failed.
	h := commands.NewHandler(w.e.Store, w.e.Clock, cases.Aggregate())
	dec := cases.NewDecider(casia.Default(), calendar.New(), nil)
	system := commands.Meta{Actor: eventstore.Actor{ID: "mailer", Role: cases.RoleSystem}}
	for i, out := range []cases.EmailOutcome{
		{EmailID: closed.Emails[1].ID, Attempt: 1, Sent: true},
		{EmailID: closed.Emails[2].ID, Attempt: 5, Error: "550 buzón inexistente", Final: true},
	} {
		out.Actor = system.Actor
		if _, err := h.Handle(t.Context(), c.ID, system, dec.RecordEmailOutcome(out)); err != nil {
			t.Fatalf("outcome %d: %v", i, err)
		}
	}
	w.e.Get(w.comp, "/v1/desistimientos/"+d.ID).Want(t, http.StatusOK).JSON(t, &d)
	var outcomes []string
	for _, m := range d.Emails {
		outcomes = append(outcomes, m.Template+":"+m.Status)
	}
	if want := []string{"information_requested:requested", "case_closed_de_oficio:sent", "desistimiento_puesta_a_disposicion:failed"}; !slices.Equal(outcomes, want) {
		t.Errorf("email outcomes %v, want %v", outcomes, want)
	}
	if steps := d.steps(); !slices.Contains(steps, "correo_enviado") || !slices.Contains(steps, "correo_fallido") {
		t.Errorf("trail without delivery outcomes: %v", steps)
	}
	var last struct {
		Step  string
		At    time.Time
		Actor struct{ ID, Role string }
	}
	for _, s := range d.Trail {
		if s.Step == "accedida" {
			last = s
		}
	}
	if d.NotificationState != "accedida" || !d.TrailComplete || last.Step != "accedida" || last.Actor.ID != "luis" ||
		!last.At.Equal(at(t, "2026-12-28T12:00:00+01:00")) {
		t.Errorf("trail end: %+v (%s)", last, d.NotificationState)
	}
}
