package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"redengine/auth"
	"redengine/domain/nss"
	"redengine/domain/nss/nssdoc"
	"redengine/engine/enginetest"
	"redengine/eventstore"
	"redengine/readmodels"
)

// The engine's manual clock starts at enginetest.Start: Friday 27 November
// 2026, 10:00 in Madrid (CET). An NSS assigned then has the assignment date
// 2026-11-27, the last alta day 2026-11-30 and the alta deadline
// 2026-12-01T00:00:00+01:00.
const (
	nssAssignmentDate = "2026-11-27"
	nssAltaLastDay    = "2026-11-30"
	nssDay3Evening    = "2026-11-30T18:00:00+01:00"
	nssDay3LastSecond = "2026-11-30T23:59:59+01:00"
	nssDay4           = "2026-12-01T00:00:00+01:00"
)

// The autorizaciones of the NSS tests: autAna (usuario principal ana, user
// luis, with a contact address) and autEva (usuario principal eva, no
// contact address).
const (
	autAna      = "1234567"
	autEva      = "7654321"
	anaContact  = "buzon@gestoria.es"
	dniLetters  = "TRWAGMYFPDXBNJZSQVHLCKE"
	problemType = "application/problem+json"
)

type nssWorld struct {
	*enginetest.Engine
	admin, ana, luis, eva, tram, aud, comp string
}

func newNSSWorld(t *testing.T, opts ...enginetest.Option) *nssWorld {
	t.Helper()
	e := enginetest.New(t, opts...)
	w := &nssWorld{Engine: e, admin: e.Token(auth.Admin, "root"), ana: e.Token(auth.Autorizado, "ana"),
		luis: e.Token(auth.Autorizado, "luis"), eva: e.Token(auth.Autorizado, "eva"),
		tram: e.Token(auth.Tramitador, "tram.1"), aud: e.Token(auth.Auditor, "aud.1"), comp: e.Token(auth.Compliance, "comp.1")}
	e.Post(w.admin, "/v1/autorizaciones", map[string]any{"number": autAna, "usuarioPrincipal": "ana", "users": []string{"luis"},
		"contactEmail": anaContact}).Want(t, http.StatusCreated)
	e.Post(w.admin, "/v1/autorizaciones", map[string]any{"number": autEva, "usuarioPrincipal": "eva"}).Want(t, http.StatusCreated)
	return w
}

// dni returns the valid DNI of number n.
func dni(n int) string { return fmt.Sprintf("%08d%c", n, dniLetters[n%23]) }

// nssForm is a valid request for the person with document number doc,
// acting for autorización aut.
func nssForm(aut, doc string) map[string]any {
	return map[string]any{
		"authorization": aut, "documentType": "DNI", "documentNumber": doc,
		"firstName": "María José", "surname1": "García", "surname2": "López", "birthDate": "1990-05-17",
		"sex": "mujer", "nationality": "ESP", "mobilePhone": "+34 612 345 678", "phoneConsent": true,
		"address": map[string]any{"tipoVia": "CL", "nombreVia": "Mayor", "numero": "5", "piso": "3", "puerta": "B",
			"codigoPostal": "28100", "localidad": "Alcobendas"},
		"emailDeclined": true,
	}
}

// assignmentView is the part of an assignment the tests look at.
type assignmentView struct {
	ID                string    `json:"id"`
	State             string    `json:"state"`
	Authorization     string    `json:"authorization"`
	NSS               string    `json:"nss"`
	Province          string    `json:"province"`
	AssignmentDate    string    `json:"assignmentDate"`
	AltaLastDay       string    `json:"altaLastDay"`
	AltaDeadline      time.Time `json:"altaDeadline"`
	FechaReal         string    `json:"fechaReal"`
	EliminationReason string    `json:"eliminationReason"`
	Position          string    `json:"position"`
	Summary           *struct {
		Document      string `json:"document"`
		Nationality   string `json:"nationality"`
		Province      string `json:"province"`
		Address       string `json:"address"`
		Authorization string `json:"authorization"`
	} `json:"summary"`
	Emails []struct {
		ID, Template, Status string
	} `json:"emails"`
}

func (w *nssWorld) request(t *testing.T, token string, body map[string]any) assignmentView {
	t.Helper()
	var v assignmentView
	w.Post(token, "/v1/nss-assignments", body).Want(t, http.StatusCreated).JSON(t, &v)
	if v.State != "pending_confirmation" || v.ID == "" || v.Summary == nil {
		t.Fatalf("request: %+v", v)
	}
	return v
}

// assign requests and confirms an NSS for doc as ana, for autAna.
func (w *nssWorld) assign(t *testing.T, doc string) assignmentView {
	t.Helper()
	return w.assignFor(t, w.ana, autAna, doc)
}

func (w *nssWorld) assignFor(t *testing.T, token, aut, doc string) assignmentView {
	t.Helper()
	v := w.request(t, token, nssForm(aut, doc))
	var c assignmentView
	w.Post(token, "/v1/nss-assignments/"+v.ID+"/confirm", nil).Want(t, http.StatusOK).JSON(t, &c)
	if c.State != "assigned" || len(c.NSS) != 12 {
		t.Fatalf("confirm: %+v", c)
	}
	return c
}

func (w *nssWorld) setClock(t *testing.T, now string) map[string]any {
	t.Helper()
	return w.Post(w.admin, "/v1/admin/clock", map[string]string{"now": now}).Want(t, http.StatusOK).Map(t)
}

func (w *nssWorld) get(t *testing.T, token, id string) assignmentView {
	t.Helper()
	var v assignmentView
	w.Get(token, "/v1/nss-assignments/"+id).Want(t, http.StatusOK).JSON(t, &v)
	return v
}

type historyEvent struct {
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
	Metadata struct {
		Actor       struct{ ID, Role, Authorization string } `json:"actor"`
		CausationID string                                   `json:"causationId"`
	} `json:"metadata"`
}

func (w *nssWorld) history(t *testing.T, id string) []historyEvent {
	t.Helper()
	var h struct {
		Events []historyEvent `json:"events"`
	}
	w.Get(w.aud, "/v1/nss-assignments/"+id+"/history").Want(t, http.StatusOK).JSON(t, &h)
	return h.Events
}

func eventTypes(evs []historyEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func eventData(t *testing.T, evs []historyEvent, typ string) map[string]any {
	t.Helper()
	for _, e := range evs {
		if e.Type == typ {
			var m map[string]any
			if err := json.Unmarshal(e.Data, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("no %s in %v", typ, eventTypes(evs))
	return nil
}

func detail(t *testing.T, r *enginetest.Response) string {
	t.Helper()
	m := r.Map(t)
	d, _ := m["detail"].(string)
	return d
}

func fieldsOf(t *testing.T, r *enginetest.Response) map[string]string {
	t.Helper()
	var p struct {
		Errors []struct{ Field, Reason string } `json:"errors"`
	}
	r.JSON(t, &p)
	out := map[string]string{}
	for _, f := range p.Errors {
		out[f.Field] = f.Reason
	}
	return out
}

func (w *nssWorld) head(t *testing.T) eventstore.Position {
	t.Helper()
	h, err := w.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestNSSAssignAltaConsolidateDuplicate: assign → alta on day 3 with
// fechaReal = assignment + 3 → consolidate → duplicate PDF; before
// consolidation the duplicate is a precondition problem that says why.
func TestNSSAssignAltaConsolidateDuplicate(t *testing.T) {
	w := newNSSWorld(t)
	v := w.request(t, w.ana, nssForm(autAna, "12345678Z"))
	if v.Summary.Document != "DNI 12345678Z" || !strings.HasPrefix(v.Summary.Province, "28") ||
		v.Summary.Address != "CL Mayor 5, piso 3, puerta B, 28100 Alcobendas" || v.Summary.Nationality != "ESP (España)" {
		t.Errorf("summary: %+v", *v.Summary)
	}
	// The answer lists the assignment's emails even before there are any.
	if raw := w.Get(w.ana, "/v1/nss-assignments/"+v.ID).Want(t, http.StatusOK).Map(t); raw["emails"] == nil {
		t.Errorf("an assignment without emails has no \"emails\": %v", raw)
	}
	var a assignmentView
	w.Post(w.ana, "/v1/nss-assignments/"+v.ID+"/confirm", nil).Want(t, http.StatusOK).JSON(t, &a)
	if a.State != "assigned" || !strings.HasPrefix(a.NSS, "28") || a.Province != "28" {
		t.Fatalf("confirm: %+v", a)
	}
	if a.AssignmentDate != nssAssignmentDate || a.AltaLastDay != nssAltaLastDay ||
		!a.AltaDeadline.Equal(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("alta window: %s, %s, %s", a.AssignmentDate, a.AltaLastDay, a.AltaDeadline)
	}
	dup := "/v1/duplicados-ta?naf=" + a.NSS + "&nssAsignado=true"
	if d := detail(t, w.Get(w.ana, dup).Want(t, http.StatusConflict)); !strings.Contains(d, "hasta que se solicite y consolide el primer alta") {
		t.Errorf("duplicate before the alta: %q", d)
	}

	w.setClock(t, nssDay3Evening)
	var alta assignmentView
	w.Post(w.luis, "/v1/nss-assignments/"+v.ID+"/alta", map[string]string{"fechaReal": nssAltaLastDay}).Want(t, http.StatusOK).JSON(t, &alta)
	if alta.State != "alta_requested" || alta.FechaReal != nssAltaLastDay {
		t.Fatalf("alta: %+v", alta)
	}
	if d := detail(t, w.Get(w.tram, dup).Want(t, http.StatusConflict)); !strings.Contains(d, "aún no consolidada") {
		t.Errorf("duplicate before consolidation: %q", d)
	}
	w.Post(w.ana, "/v1/nss-assignments/"+v.ID+"/alta/consolidate", nil).Want(t, http.StatusForbidden)
	var cons assignmentView
	w.Post(w.tram, "/v1/nss-assignments/"+v.ID+"/alta/consolidate", nil).Want(t, http.StatusOK).JSON(t, &cons)
	if cons.State != "consolidated" {
		t.Fatalf("consolidate: %+v", cons)
	}

	for _, tok := range []string{w.ana, w.luis, w.tram, w.aud} {
		r := w.Get(tok, dup).Want(t, http.StatusOK)
		if !bytes.HasPrefix(r.Body, []byte("%PDF")) || r.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("duplicate: %s %.20q", r.Header.Get("Content-Type"), r.Body)
		}
	}
	w.Get(w.eva, dup).Want(t, http.StatusForbidden)
	w.Get(w.comp, dup).Want(t, http.StatusForbidden)
	// The read model indexes the resolution's verification code.
	key, err := w.Secret("nss-documents")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Projections.WaitFor(t.Context(), readmodels.NSSName, w.head(t)); err != nil {
		t.Fatal(err)
	}
	var st nss.State
	w.Get(w.ana, "/v1/nss-assignments/"+v.ID).Want(t, http.StatusOK).JSON(t, &st)
	if id, ok, err := readmodels.NSSAssignmentIDByCode(t.Context(), w.ReadDB, nssdoc.VerificationCode(key, st)); err != nil || !ok || id != v.ID {
		t.Errorf("verification code: %q %v %v", id, ok, err)
	}
	// The public verification route knows the code of the duplicate.
	var ver struct {
		Authentic bool
		Document  map[string]any
	}
	w.Get("", "/v1/documents/verify/"+nssdoc.VerificationCode(key, st)).Want(t, http.StatusOK).JSON(t, &ver)
	if !ver.Authentic || ver.Document["kind"] != "resolucion_asignacion_nss" || ver.Document["number"] != v.ID {
		t.Errorf("verify the duplicate's code: %+v", ver)
	}
	// No case and no one PDF: every duplicate prints its own date of issue.
	for _, absent := range []string{"caseNumber", "sha256"} {
		if got, ok := ver.Document[absent]; ok {
			t.Errorf("verify the duplicate's code: %s = %v, want it left out", absent, got)
		}
	}
	w.Get(w.ana, "/v1/duplicados-ta?naf="+a.NSS).Want(t, http.StatusBadRequest)
	w.Get(w.ana, "/v1/duplicados-ta?naf=281234567841&nssAsignado=true").Want(t, http.StatusBadRequest)
	w.Get(w.ana, "/v1/duplicados-ta?naf=281234567840&nssAsignado=true").Want(t, http.StatusNotFound)

	// Day 4: nothing to eliminate, the alta is consolidated.
	rep := w.setClock(t, nssDay4)["pass"].(map[string]any)
	if rep["acted"] != float64(0) {
		t.Errorf("pass on day 4: %v", rep)
	}
	if g := w.get(t, w.ana, v.ID); g.State != "consolidated" {
		t.Errorf("after day 4: %s", g.State)
	}
}

// TestNSSAltaWindow: fechaReal before the assignment date or more than
// three days after it is refused; the last second of day 3 is in time;
// from 00:00 of day 4 the alta is refused.
func TestNSSAltaWindow(t *testing.T) {
	w := newNSSWorld(t)
	early := w.assign(t, dni(10000001))
	last := w.assign(t, dni(10000002))
	late := w.assign(t, dni(10000003))
	alta := func(id, fecha string) *enginetest.Response {
		return w.Post(w.ana, "/v1/nss-assignments/"+id+"/alta", map[string]string{"fechaReal": fecha})
	}
	w.setClock(t, nssDay3Evening)
	if f := fieldsOf(t, alta(early.ID, "2026-11-26").Want(t, http.StatusBadRequest)); !strings.Contains(f["fechaReal"], "anterior a la fecha de asignación") {
		t.Errorf("fechaReal before the assignment: %v", f)
	}
	if f := fieldsOf(t, alta(early.ID, "2026-12-01").Want(t, http.StatusBadRequest)); !strings.Contains(f["fechaReal"], "más de tres días") {
		t.Errorf("fechaReal after the window: %v", f)
	}
	alta(early.ID, "2026-13-01").Want(t, http.StatusBadRequest)
	alta(early.ID, nssAssignmentDate).Want(t, http.StatusOK)

	w.setClock(t, nssDay3LastSecond)
	alta(last.ID, "2026-11-28").Want(t, http.StatusOK)

	// Day 4 without a pass: the window is over.
	day4, _ := time.Parse(time.RFC3339, nssDay4)
	if err := w.Clock.Set(day4); err != nil {
		t.Fatal(err)
	}
	r := alta(late.ID, nssAltaLastDay).Want(t, http.StatusConflict)
	// The minute ticker may have run a pass meanwhile and eliminated it:
	// refused either way.
	if d := detail(t, r); !strings.Contains(d, "el plazo para solicitar el primer alta terminó el 30 de noviembre de 2026") &&
		!strings.Contains(d, "eliminado") {
		t.Errorf("alta on day 4: %q", d)
	}
	if g := w.get(t, w.ana, late.ID); g.State == "alta_requested" {
		t.Errorf("late alta accepted: %+v", g)
	}
}

// TestNSSEliminatedWithoutAlta: with no alta, the scheduler pass at 00:00 of
// day 4 eliminates the NSS, once, with the communication and the email to
// the usuario principal of the generating autorización; the person may ask
// again and gets a new number.
func TestNSSEliminatedWithoutAlta(t *testing.T) {
	w := newNSSWorld(t)
	doc := dni(20000001)
	a := w.assign(t, doc)
	other := w.assignFor(t, w.eva, autEva, dni(20000002))

	rep := w.setClock(t, nssDay3LastSecond)["pass"].(map[string]any)
	if rep["acted"] != float64(0) {
		t.Fatalf("pass before the deadline acted: %v", rep)
	}
	rep = w.setClock(t, nssDay4)["pass"].(map[string]any)
	if rep["acted"] != float64(2) || rep["failed"] != float64(0) {
		t.Fatalf("pass on day 4: %v", rep)
	}
	g := w.get(t, w.ana, a.ID)
	if g.State != "eliminated" || g.EliminationReason != "no_alta" {
		t.Fatalf("after the pass: %+v", g)
	}
	evs := w.history(t, a.ID)
	types := eventTypes(evs)
	if !slices.Contains(types, "NSSEliminated") || !slices.Contains(types, "NSSCommunicationRequested") || !slices.Contains(types, "EmailRequested") {
		t.Fatalf("trail: %v", types)
	}
	comm := eventData(t, evs, "NSSCommunicationRequested")
	if comm["usuarioPrincipal"] != "ana" || comm["authorization"] != autAna || comm["kind"] != "nss_eliminado" ||
		!strings.Contains(comm["subject"].(string), "eliminación del NSS") {
		t.Errorf("communication: %v", comm)
	}
	if strings.Contains(comm["body"].(string), doc) || strings.Contains(comm["body"].(string), "García") {
		t.Errorf("the communication names the person: %q", comm["body"])
	}
	mail := eventData(t, evs, "EmailRequested")
	if mail["to"] != anaContact || mail["template"] != "nss_eliminado" {
		t.Errorf("email: %v", mail)
	}
	for _, e := range evs {
		// The scheduler's act, recorded as every deadline's is.
		if e.Type == "NSSEliminated" && (e.Metadata.Actor.ID != "scheduler" || e.Metadata.Actor.Role != "system" ||
			!strings.HasPrefix(e.Metadata.CausationID, "deadline:")) {
			t.Errorf("eliminated by %+v, caused by %q", e.Metadata.Actor, e.Metadata.CausationID)
		}
	}
	// The autorización without a contact address: the communication, and
	// EmailSkipped with the reason.
	oevs := w.history(t, other.ID)
	if eventData(t, oevs, "NSSCommunicationRequested")["usuarioPrincipal"] != "eva" {
		t.Errorf("eva's communication: %v", eventTypes(oevs))
	}
	if r := eventData(t, oevs, "EmailSkipped")["reason"]; !strings.Contains(r.(string), "dirección de correo") {
		t.Errorf("skipped: %v", r)
	}

	// With an SMTP server the mailer records the email's outcome on the
	// stream a moment later: let it, so the count below is the pass's alone.
	if w.Mailer != nil {
		eventually(t, "EmailSent of the elimination", func() bool {
			return slices.Contains(eventTypes(w.history(t, a.ID)), "EmailSent")
		})
		evs = w.history(t, a.ID)
	}
	// A second pass decides nothing.
	if rep := w.Post(w.admin, "/v1/admin/scheduler/run", nil).Want(t, http.StatusOK).Map(t); rep["acted"] != float64(0) || rep["considered"] != float64(0) {
		t.Errorf("second pass: %v", rep)
	}
	if n := len(w.history(t, a.ID)); n != len(evs) {
		t.Errorf("second pass wrote: %d events, then %d", len(evs), n)
	}
	// The alta is refused now.
	w.Post(w.ana, "/v1/nss-assignments/"+a.ID+"/alta", map[string]string{"fechaReal": nssAltaLastDay}).Want(t, http.StatusConflict)
	if d := detail(t, w.Get(w.ana, "/v1/duplicados-ta?naf="+a.NSS+"&nssAsignado=true").Want(t, http.StatusConflict)); !strings.Contains(d, "eliminado") {
		t.Errorf("duplicate of an eliminated NSS: %q", d)
	}

	// Compliance sees the eliminations.
	var el struct {
		Items []struct {
			AssignmentID, NSS, Authorization, Reason string
			Communication                            struct{ UsuarioPrincipal string }
			Emails                                   []struct{ Status string }
		} `json:"items"`
	}
	w.Get(w.comp, "/v1/nss-eliminations?minPosition="+w.head(t).String()).Want(t, http.StatusOK).JSON(t, &el)
	if len(el.Items) != 2 {
		t.Fatalf("eliminations: %+v", el)
	}
	for _, it := range el.Items {
		if it.Reason != "no_alta" || (it.AssignmentID == a.ID && (it.NSS != a.NSS || it.Communication.UsuarioPrincipal != "ana" || len(it.Emails) != 1)) {
			t.Errorf("elimination: %+v", it)
		}
	}
	w.Get(w.comp, "/v1/nss-eliminations?authorization="+autEva+"&reason=no_alta&from=2026-12-01&to=2026-12-01").Want(t, http.StatusOK).JSON(t, &el)
	if len(el.Items) != 1 || el.Items[0].AssignmentID != other.ID {
		t.Errorf("filtered eliminations: %+v", el)
	}
	w.Get(w.comp, "/v1/nss-eliminations?reason=other").Want(t, http.StatusBadRequest)
	w.Get(w.ana, "/v1/nss-eliminations").Want(t, http.StatusForbidden)

	// The person was released: a new request gets a new number.
	again := w.assign(t, doc)
	if again.NSS == a.NSS || again.ID == a.ID {
		t.Errorf("new assignment %+v after %+v", again, a)
	}
}

// TestNSSAltaAnnulled: annulling the alta eliminates the NSS, with the
// communication; by the autorización or a tramitador, never by another
// autorización.
func TestNSSAltaAnnulled(t *testing.T) {
	w := newNSSWorld(t)
	a := w.assign(t, dni(30000001))
	b := w.assignFor(t, w.eva, autEva, dni(30000002))
	w.Post(w.ana, "/v1/nss-assignments/"+a.ID+"/alta/annul", nil).Want(t, http.StatusConflict) // no alta yet
	w.Post(w.ana, "/v1/nss-assignments/"+a.ID+"/alta", map[string]string{"fechaReal": nssAssignmentDate}).Want(t, http.StatusOK)
	w.Post(w.eva, "/v1/nss-assignments/"+b.ID+"/alta", map[string]string{"fechaReal": nssAssignmentDate}).Want(t, http.StatusOK)

	w.Post(w.eva, "/v1/nss-assignments/"+a.ID+"/alta/annul", nil).Want(t, http.StatusForbidden)
	var an assignmentView
	w.Post(w.luis, "/v1/nss-assignments/"+a.ID+"/alta/annul", nil).Want(t, http.StatusOK).JSON(t, &an)
	if an.State != "eliminated" || an.EliminationReason != "alta_annulled" {
		t.Fatalf("annul: %+v", an)
	}
	types := eventTypes(w.history(t, a.ID))
	for _, want := range []string{"NSSAltaAnnulled", "NSSEliminated", "NSSCommunicationRequested", "EmailRequested"} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s in %v", want, types)
		}
	}
	// The person was released: a new request for it is accepted.
	w.request(t, w.ana, nssForm(autAna, dni(30000001)))
	w.Post(w.tram, "/v1/nss-assignments/"+b.ID+"/alta/annul", nil).Want(t, http.StatusOK)
	if types := eventTypes(w.history(t, b.ID)); !slices.Contains(types, "EmailSkipped") {
		t.Errorf("eva's trail: %v", types)
	}
	w.Post(w.tram, "/v1/nss-assignments/"+b.ID+"/alta/consolidate", nil).Want(t, http.StatusConflict)
	// Annulled: the deadline was cleared, day 4 eliminates nothing more.
	if rep := w.setClock(t, nssDay4)["pass"].(map[string]any); rep["acted"] != float64(0) {
		t.Errorf("pass after the annulments: %v", rep)
	}
}

// TestNSSSameDNITwice: one person, one NSS: a second request is refused
// while the first is in progress or holds the NSS; a cancelled request
// frees the person; a repeat with the same Idempotency-Key is the same
// request.
func TestNSSSameDNITwice(t *testing.T) {
	w := newNSSWorld(t)
	doc := dni(40000001)
	key := map[string]string{"Idempotency-Key": "nss-garcia-1"}
	first := w.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/nss-assignments", Token: w.ana, Body: nssForm(autAna, doc), Headers: key}).Want(t, http.StatusCreated)
	var v assignmentView
	first.JSON(t, &v)
	again := w.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/nss-assignments", Token: w.ana, Body: nssForm(autAna, doc), Headers: key}).Want(t, http.StatusCreated)
	var v2 assignmentView
	again.JSON(t, &v2)
	if v2.ID != v.ID || again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("X-Position") != first.Header.Get("X-Position") {
		t.Errorf("repeat: %s (first %s), replayed %q", v2.ID, v.ID, again.Header.Get("Idempotent-Replayed"))
	}

	r := w.Post(w.ana, "/v1/nss-assignments", nssForm(autAna, doc)).Want(t, http.StatusConflict)
	if d := detail(t, r); d != "esta persona ya tiene NSS o una asignación en curso" {
		t.Errorf("second request: %q", d)
	}
	// Another autorización, the same person: refused as well.
	w.Post(w.eva, "/v1/nss-assignments", nssForm(autEva, doc)).Want(t, http.StatusConflict)

	var c assignmentView
	w.Post(w.ana, "/v1/nss-assignments/"+v.ID+"/cancel", nil).Want(t, http.StatusOK).JSON(t, &c)
	if c.State != "cancelled" {
		t.Fatalf("cancel: %+v", c)
	}
	w.Post(w.ana, "/v1/nss-assignments/"+v.ID+"/confirm", nil).Want(t, http.StatusConflict)
	w.Post(w.ana, "/v1/nss-assignments/"+v.ID+"/cancel", nil).Want(t, http.StatusConflict)
	d := w.Get(w.ana, "/v1/duplicados-ta?naf=281234567840&nssAsignado=true")
	d.Want(t, http.StatusNotFound)

	// Freed: the person may be asked for again, and then holds the NSS.
	a := w.assign(t, doc)
	w.Post(w.ana, "/v1/nss-assignments", nssForm(autAna, doc)).Want(t, http.StatusConflict)

	// Lookup by document (every assignment that held the person) and by NSS.
	var found struct {
		Items []assignmentView `json:"items"`
	}
	w.Post(w.tram, "/v1/nss-lookup", map[string]string{"documentType": "DNI", "documentNumber": doc}).Want(t, http.StatusOK).JSON(t, &found)
	if len(found.Items) != 2 || found.Items[0].ID != v.ID || found.Items[1].ID != a.ID {
		t.Errorf("lookup by document: %+v", found)
	}
	w.Post(w.aud, "/v1/nss-lookup", map[string]string{"nss": a.NSS}).Want(t, http.StatusOK).JSON(t, &found)
	if len(found.Items) != 1 || found.Items[0].ID != a.ID {
		t.Errorf("lookup by NSS: %+v", found)
	}
	w.Post(w.aud, "/v1/nss-lookup", map[string]string{"nss": "281234567840"}).Want(t, http.StatusOK).JSON(t, &found)
	if len(found.Items) != 0 {
		t.Errorf("lookup of an unknown NSS: %+v", found)
	}
	w.Post(w.tram, "/v1/nss-lookup", map[string]string{}).Want(t, http.StatusBadRequest)
	w.Post(w.ana, "/v1/nss-lookup", map[string]string{"nss": a.NSS}).Want(t, http.StatusForbidden)
}

// TestNSSValidationAllFields: every failing field at once, nothing stored.
func TestNSSValidationAllFields(t *testing.T) {
	w := newNSSWorld(t)
	body := nssForm(autAna, "12345678A")
	body["surname2"] = " "
	body["birthDate"] = "2015-01-01"
	body["nationality"] = "FRA"
	body["mobilePhone"] = "912345678"
	body["phoneConsent"] = false
	body["address"] = map[string]any{"tipoVia": "CL", "nombreVia": "Mayor", "codigoPostal": "28100", "localidad": "Barcelona"}
	body["notificationAddress"] = map[string]any{"tipoVia": "XX", "nombreVia": "", "codigoPostal": "53001", "localidad": "Nada"}
	delete(body, "emailDeclined")
	before := w.head(t)
	r := w.Post(w.ana, "/v1/nss-assignments", body).Want(t, http.StatusBadRequest)
	if r.Header.Get("Content-Type") != problemType {
		t.Errorf("content type %q", r.Header.Get("Content-Type"))
	}
	f := fieldsOf(t, r)
	for _, want := range []string{"documentNumber", "surname2", "birthDate", "nationality", "mobilePhone", "phoneConsent",
		"address.localidad", "notificationAddress.tipoVia", "notificationAddress.nombreVia", "notificationAddress.codigoPostal", "email"} {
		if f[want] == "" {
			t.Errorf("no error on %s: %v", want, f)
		}
	}
	if len(f) != 11 {
		t.Errorf("%d fields, want 11: %v", len(f), f)
	}
	if !strings.Contains(f["address.localidad"], "GET /v1/localidades?codigoPostal=28100") {
		t.Errorf("localidad: %q", f["address.localidad"])
	}
	// NIE is not accepted by default; a user of several autorizaciones must
	// name one — reported with the rest.
	nie := nssForm("", "X1234567L")
	nie["documentType"] = "NIE"
	nie["nationality"] = "FRA"
	w.Post(w.admin, "/v1/autorizaciones", map[string]any{"number": "1111111", "usuarioPrincipal": "ana"}).Want(t, http.StatusCreated)
	wait(t, w)
	r = w.Post(w.ana, "/v1/nss-assignments", nie).Want(t, http.StatusBadRequest)
	f = fieldsOf(t, r)
	if !strings.Contains(f["documentType"], "solo admite DNI") || f["authorization"] == "" || len(f) != 2 {
		t.Errorf("NIE and authorization: %v", f)
	}
	// Unknown fields are refused.
	bad := nssForm(autAna, dni(50000001))
	bad["ssn"] = "x"
	w.Post(w.ana, "/v1/nss-assignments", bad).Want(t, http.StatusBadRequest)
	noNSSEventsSince(t, w, before)
}

// wait waits until the autorizaciones read model has the log's head.
func wait(t *testing.T, w *nssWorld) {
	t.Helper()
	if err := w.Projections.WaitFor(t.Context(), "autorizaciones", w.head(t)); err != nil {
		t.Fatal(err)
	}
}

// noNSSEventsSince fails the test if any event of an NSS stream (assignment,
// person reservation, counter) was stored after before.
func noNSSEventsSince(t *testing.T, w *nssWorld, before eventstore.Position) {
	t.Helper()
	evs, err := w.Store.ReadAll(t.Context(), before, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if strings.HasPrefix(e.Stream, "nss") {
			t.Errorf("stored %s in %s", e.Type, e.Stream)
		}
	}
}

// TestNSSForbiddenOtherAuthorization: another autorización can neither
// act on nor see an assignment.
func TestNSSForbiddenOtherAuthorization(t *testing.T) {
	w := newNSSWorld(t)
	v := w.request(t, w.ana, nssForm(autAna, dni(60000001)))
	w.Post(w.eva, "/v1/nss-assignments", nssForm(autAna, dni(60000002))).Want(t, http.StatusForbidden)
	w.Post(w.eva, "/v1/nss-assignments/"+v.ID+"/confirm", nil).Want(t, http.StatusForbidden)
	w.Post(w.eva, "/v1/nss-assignments/"+v.ID+"/cancel", nil).Want(t, http.StatusForbidden)
	w.Get(w.eva, "/v1/nss-assignments/"+v.ID).Want(t, http.StatusForbidden)
	w.Get(w.e(auth.Autorizado, "luis", autEva), "/v1/nss-assignments/"+v.ID).Want(t, http.StatusForbidden)
	w.Get(w.eva, "/v1/nss-assignments?authorization="+autAna).Want(t, http.StatusForbidden)
	w.Get(w.aud, "/v1/nss-assignments/"+v.ID+"/history").Want(t, http.StatusOK)
	w.Get(w.ana, "/v1/nss-assignments/"+v.ID+"/history").Want(t, http.StatusForbidden)
	w.Post(w.tram, "/v1/nss-assignments/"+v.ID+"/confirm", nil).Want(t, http.StatusForbidden)
	w.Get(w.eva, "/v1/nss-assignments/00000000-0000-0000-0000-000000000000").Want(t, http.StatusNotFound)
	w.Get(w.eva, "/v1/nss-assignments/nope").Want(t, http.StatusNotFound)

	var a assignmentView
	w.Post(w.luis, "/v1/nss-assignments/"+v.ID+"/confirm", nil).Want(t, http.StatusOK).JSON(t, &a)
	w.Post(w.eva, "/v1/nss-assignments/"+v.ID+"/alta", map[string]string{"fechaReal": nssAssignmentDate}).Want(t, http.StatusForbidden)
	w.Post(w.tram, "/v1/nss-assignments/"+v.ID+"/alta", map[string]string{"fechaReal": nssAssignmentDate}).Want(t, http.StatusForbidden)

	// Lists: each autorizado sees its own.
	var list struct {
		Items []assignmentView `json:"items"`
	}
	pos := "?minPosition=" + a.Position
	w.Get(w.eva, "/v1/nss-assignments"+pos).Want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("eva sees %+v", list.Items)
	}
	w.Get(w.ana, "/v1/nss-assignments"+pos+"&state=assigned&from="+nssAssignmentDate+"&to="+nssAssignmentDate).Want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != v.ID || list.Items[0].NSS != a.NSS {
		t.Errorf("ana's list: %+v", list.Items)
	}
	w.Get(w.tram, "/v1/nss-assignments"+pos+"&authorization="+autAna+"&state=pending_confirmation").Want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("pending: %+v", list.Items)
	}
	w.Get(w.ana, "/v1/nss-assignments?state=nope&from=x").Want(t, http.StatusBadRequest)
	w.Get(w.admin, "/v1/nss-assignments").Want(t, http.StatusForbidden)
}

// e signs a token (a shorthand for the tests).
func (w *nssWorld) e(role auth.Role, sub string, auts ...string) string {
	return w.Token(role, sub, auts...)
}

// TestLocalidades: the localidades of a postal code.
func TestLocalidades(t *testing.T) {
	w := newNSSWorld(t)
	var l struct {
		CodigoPostal, Province, ProvinceName string
		Items                                []struct{ CodigoPostal, Municipio, Localidad string }
	}
	w.Get(w.ana, "/v1/localidades?codigoPostal=28100").Want(t, http.StatusOK).JSON(t, &l)
	if l.Province != "28" || l.ProvinceName != "Madrid" || len(l.Items) == 0 || l.Items[0].Localidad != "Alcobendas" || l.Items[0].Municipio != "28006" {
		t.Errorf("28100: %+v", l)
	}
	w.Get(w.tram, "/v1/localidades?codigoPostal=52999").Want(t, http.StatusOK).JSON(t, &l)
	if len(l.Items) != 0 {
		t.Errorf("52999: %+v", l)
	}
	w.Get(w.ana, "/v1/localidades?codigoPostal=99999").Want(t, http.StatusBadRequest)
	w.Get(w.ana, "/v1/localidades").Want(t, http.StatusBadRequest)
	w.Get("", "/v1/localidades?codigoPostal=28100").Want(t, http.StatusUnauthorized)
}
