package engine_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"redengine/auth"
	"redengine/config"
	"redengine/engine/enginetest"
	"redengine/readmodels"
)

// casesWorld is an engine with two autorizaciones: A0001 (usuario principal
// ana, user luis, contact buzon@gestoria.test) and B0002 (eva, no contact
// address), and tokens for every role.
type casesWorld struct {
	e                                 *enginetest.Engine
	admin, ana, luis, eva, tram, comp string
	aud                               string
}

const contactA = "buzon@gestoria.test"

// No mail is delivered unless an option sets an SMTP address, so that the
// tests see emails exactly as the cases request them.
func newCasesWorld(t *testing.T, opts ...enginetest.Option) *casesWorld {
	t.Helper()
	e := enginetest.New(t, append([]enginetest.Option{func(c *config.Config) { c.SMTPAddr = "" }}, opts...)...)
	w := &casesWorld{e: e, admin: e.Token(auth.Admin, "root"), ana: e.Token(auth.Autorizado, "ana"),
		luis: e.Token(auth.Autorizado, "luis"), eva: e.Token(auth.Autorizado, "eva"),
		tram: e.Token(auth.Tramitador, "tram-7"), comp: e.Token(auth.Compliance, "comp-1"), aud: e.Token(auth.Auditor, "aud-1")}
	e.Post(w.admin, "/v1/autorizaciones", map[string]any{"number": "A0001", "usuarioPrincipal": "ana", "users": []string{"luis"},
		"cccs": []string{"28123456742"}}).Want(t, http.StatusCreated)
	e.Put(w.ana, "/v1/autorizaciones/A0001/contact", map[string]string{"email": contactA}).Want(t, http.StatusOK)
	r := e.Post(w.admin, "/v1/autorizaciones", map[string]any{"number": "B0002", "usuarioPrincipal": "eva"}).Want(t, http.StatusCreated)
	if err := e.Projections.WaitFor(t.Context(), "autorizaciones", mustPos(t, r.Header.Get("X-Position"))); err != nil {
		t.Fatal(err)
	}
	return w
}

// at parses an RFC 3339 instant.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// clock moves the manual clock through the admin route, which runs a
// scheduler pass, and returns how many deadlines the pass acted on.
func (w *casesWorld) clock(t *testing.T, s string) int {
	t.Helper()
	var out struct {
		Pass struct {
			Acted, Failed int
		} `json:"pass"`
	}
	w.e.Post(w.admin, "/v1/admin/clock", map[string]string{"now": s}).Want(t, http.StatusOK).JSON(t, &out)
	if out.Pass.Failed != 0 {
		t.Fatalf("pass at %s: %d failed", s, out.Pass.Failed)
	}
	return out.Pass.Acted
}

// sync waits until the cases read model has reached the log's head.
func (w *casesWorld) sync(t *testing.T) {
	t.Helper()
	head, err := w.e.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.e.Projections.WaitFor(t.Context(), readmodels.CasesName, head); err != nil {
		t.Fatal(err)
	}
}

type caseDoc struct {
	ID             string            `json:"id"`
	Number         string            `json:"number"`
	State          string            `json:"state"`
	Type           string            `json:"type"`
	Unit           string            `json:"unit"`
	Origin         string            `json:"origin"`
	Authorization  string            `json:"authorization"`
	ExtraData      map[string]string `json:"extraData"`
	Revision       uint64            `json:"revision"`
	Position       string            `json:"position"`
	Justificante   *struct{ Number string }
	PendingRequest *struct {
		LastDay  string    `json:"lastDay"`
		Deadline time.Time `json:"deadline"`
	} `json:"pendingRequest"`
	Routing []struct {
		Unit, Reason string
	} `json:"routing"`
	Emails []struct {
		ID, Template, To, Status string
	} `json:"emails"`
	Desistimiento *struct {
		ResolutionID      string `json:"resolutionId"`
		Number            string `json:"number"`
		VerificationCode  string `json:"verificationCode"`
		NotificationID    string `json:"notificationId"`
		NotificationState string `json:"notificationState"`
	} `json:"desistimiento"`
}

func (c caseDoc) templates() []string {
	var out []string
	for _, e := range c.Emails {
		out = append(out, e.Template+":"+e.Status+":"+e.To)
	}
	return out
}

// tramite is an opening of a trámite for A0001.
func tramite(subject string) map[string]any {
	return map[string]any{"authorization": "A0001", "type": "tramite",
		"materia": "Afiliación (altas y bajas)", "categoria": "Altas", "subcategoria": "Alta fuera de plazo",
		"subject": subject, "body": "Solicitamos el alta con Fecha Real 01/07/2021.",
		"extraData": map[string]string{"ccc": "28123456742", "naf": "281234567840", "fechaReal": "2021-07-01"}}
}

func consulta(aut, subject string) map[string]any {
	return map[string]any{"authorization": aut, "type": "consulta", "materia": "Recaudación", "categoria": "Aplazamientos",
		"subcategoria": "Solicitud y requisitos", "subject": subject, "body": "¿Qué garantías se exigen?",
		"extraData": map[string]string{"ccc": "28123456742"}}
}

func errorIncidencia(aut, subject string) map[string]any {
	return map[string]any{"authorization": aut, "type": "error_incidencia", "materia": "Sistema RED", "categoria": "Remesas",
		"subcategoria": "Errores en el tratamiento de remesas", "subject": subject, "body": "La remesa devuelve un error.",
		"extraData": map[string]string{"remesa": "R-2026-11-0042"}}
}

func (w *casesWorld) open(t *testing.T, tok string, body map[string]any) caseDoc {
	t.Helper()
	var c caseDoc
	w.e.Post(tok, "/v1/cases", body).Want(t, http.StatusCreated).JSON(t, &c)
	return c
}

func (w *casesWorld) get(t *testing.T, tok, id string) caseDoc {
	t.Helper()
	var c caseDoc
	w.e.Get(tok, "/v1/cases/"+id).Want(t, http.StatusOK).JSON(t, &c)
	return c
}

func (w *casesWorld) request(t *testing.T, id, text string) caseDoc {
	t.Helper()
	var c caseDoc
	w.e.Post(w.tram, "/v1/cases/"+id+"/information-requests", map[string]string{"text": text}).Want(t, http.StatusOK).JSON(t, &c)
	return c
}

func TestCatalogue(t *testing.T) {
	w := newCasesWorld(t)
	var cat struct {
		Version  string
		Materias []struct {
			Name       string
			Categorias []struct {
				Subcategorias []struct {
					Types []string
					Unit  string
				}
			}
		}
	}
	w.e.Get(w.ana, "/v1/catalogue").Want(t, http.StatusOK).JSON(t, &cat)
	if cat.Version == "" {
		t.Error("no version")
	}
	found := false
	for _, m := range cat.Materias {
		if m.Name == "Recaudación" {
			found = true
			for _, c := range m.Categorias {
				for _, s := range c.Subcategorias {
					if !slices.Equal(s.Types, []string{"consulta"}) || s.Unit == "" {
						t.Errorf("Recaudación admits only consultas, with a unit: %+v", s)
					}
				}
			}
		}
	}
	if !found {
		t.Error("no materia Recaudación")
	}
	w.e.Get("", "/v1/catalogue").Want(t, http.StatusUnauthorized)
}

func TestCaseOpenedByTGSSEmailsContact(t *testing.T) {
	w := newCasesWorld(t)
	body := consulta("A0001", "Verificación de datos de la cuenta")
	body["origin"] = "tgss"
	c := w.open(t, w.tram, body)
	if c.Origin != "tgss" || c.State != "abierto" || c.Unit != "URE-Aplazamientos" {
		t.Errorf("opened: %+v", c)
	}
	got := w.get(t, w.ana, c.ID)
	if want := []string{"case_opened_tgss:requested:" + contactA}; !slices.Equal(got.templates(), want) {
		t.Errorf("emails %v, want %v", got.templates(), want)
	}
	var h struct {
		Events []struct {
			Type     string
			Metadata struct{ Actor struct{ ID, Role string } }
			Hash     string
			Revision int
		}
	}
	w.e.Get(w.aud, "/v1/cases/"+c.ID+"/history").Want(t, http.StatusOK).JSON(t, &h)
	var types []string
	for _, e := range h.Events {
		types = append(types, e.Type)
		if e.Hash == "" || e.Metadata.Actor.ID != "tram-7" {
			t.Errorf("event %s: hash %q actor %+v", e.Type, e.Hash, e.Metadata.Actor)
		}
	}
	if want := []string{"CaseOpened", "CaseRouted", "EmailRequested"}; !slices.Equal(types, want) {
		t.Errorf("history %v, want %v", types, want)
	}
	w.e.Get(w.ana, "/v1/cases/"+c.ID+"/history").Want(t, http.StatusForbidden)

	// Addressed to an autorización without a contact address: the trail
	// says no email was sent.
	body = consulta("B0002", "Verificación de datos")
	body["origin"] = "tgss"
	c2 := w.open(t, w.tram, body)
	if got := w.get(t, w.eva, c2.ID).templates(); !slices.Equal(got, []string{"case_opened_tgss:skipped:"}) {
		t.Errorf("no contact: emails %v", got)
	}
	// Only a tramitador opens with origin tgss; a tramitador must name the autorización.
	body = consulta("A0001", "x")
	body["origin"] = "tgss"
	w.e.Post(w.ana, "/v1/cases", body).Want(t, http.StatusForbidden)
	delete(body, "authorization")
	w.e.Post(w.tram, "/v1/cases", body).Want(t, http.StatusBadRequest)
}

func TestCaseOpenIdempotentAndNumbered(t *testing.T) {
	w := newCasesWorld(t)
	year := enginetest.Start.Year()
	send := func(key string, body map[string]any) *enginetest.Response {
		return w.e.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/cases", Token: w.ana, Body: body,
			Headers: map[string]string{"Idempotency-Key": key}})
	}
	r1 := send("apertura-1", tramite("Alta fuera de plazo")).Want(t, http.StatusCreated)
	var first caseDoc
	r1.JSON(t, &first)
	if first.Number != fmt.Sprintf("CAS-%d-000001", year) || first.Justificante == nil ||
		first.Justificante.Number != "J-"+first.Number || first.Unit != "UGA-Afiliacion" {
		t.Errorf("first: %s", r1.Body)
	}
	r2 := send("apertura-1", tramite("Alta fuera de plazo")).Want(t, http.StatusCreated)
	var again caseDoc
	r2.JSON(t, &again)
	if again.ID != first.ID || again.Number != first.Number || r2.Header.Get("Idempotent-Replayed") != "true" ||
		r2.Header.Get("X-Position") != r1.Header.Get("X-Position") {
		t.Errorf("repeat: %s (%v), first %s", r2.Body, r2.Header, r1.Body)
	}
	// A refused opening consumes no number.
	bad := tramite("Mal")
	bad["extraData"] = map[string]string{"ccc": "28123456700", "naf": "281234567840", "fechaReal": "2021-07-01"}
	p := send("apertura-2", bad).Want(t, http.StatusBadRequest).Map(t)
	if errs, _ := p["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "extraData.ccc" {
		t.Errorf("bad ccc: %v", p)
	}
	rec := tramite("Recaudación no admite trámites")
	rec["materia"], rec["categoria"], rec["subcategoria"] = "Recaudación", "Aplazamientos", "Solicitud y requisitos"
	send("apertura-3", rec).Want(t, http.StatusBadRequest)
	second := w.open(t, w.ana, consulta("A0001", "Otra"))
	if second.Number != fmt.Sprintf("CAS-%d-000002", year) {
		t.Errorf("second number %s", second.Number)
	}
	// Openings racing for the year's sequence get distinct numbers.
	var wg sync.WaitGroup
	var mu sync.Mutex
	numbers := map[string]bool{}
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := w.e.Post(w.luis, "/v1/cases", consulta("A0001", fmt.Sprintf("Concurrente %d", i)))
			if r.Status != http.StatusCreated {
				t.Errorf("concurrent open: %d %s", r.Status, r.Body)
				return
			}
			var c caseDoc
			r.JSON(t, &c)
			mu.Lock()
			numbers[c.Number] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(numbers) != 8 {
		t.Errorf("numbers not unique: %v", numbers)
	}
	for i := 3; i <= 10; i++ {
		if !numbers[fmt.Sprintf("CAS-%d-%06d", year, i)] {
			t.Errorf("missing number %d in %v", i, numbers)
		}
	}
}

// TestCaseOpenOldRepeatOnAnotherNode: an opening repeated where nothing
// remembers it — another engine on the same store, with an empty cache,
// after more openings than the number sequence keeps — is answered with the
// first result and writes nothing (the engine does not read a new case's
// stream before opening it; the repeat is found on the way).
func TestCaseOpenOldRepeatOnAnotherNode(t *testing.T) {
	w := newCasesWorld(t)
	send := func(e *enginetest.Engine, key string) *enginetest.Response {
		return e.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/cases", Token: w.ana,
			Body: consulta("A0001", "Consulta "+key), Headers: map[string]string{"Idempotency-Key": key}})
	}
	r1 := send(w.e, "vieja").Want(t, http.StatusCreated)
	var first caseDoc
	r1.JSON(t, &first)
	for i := range 70 { // more than the number sequence's window of recent reservations
		send(w.e, fmt.Sprintf("otra-%d", i)).Want(t, http.StatusCreated)
	}
	head, err := w.e.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	other := enginetest.New(t, func(c *config.Config) { c.DataDir = w.e.Config.DataDir; c.SMTPAddr = "" })
	r2 := send(other, "vieja").Want(t, http.StatusCreated)
	var again caseDoc
	r2.JSON(t, &again)
	if again.ID != first.ID || again.Number != first.Number || r2.Header.Get("Idempotent-Replayed") != "true" ||
		r2.Header.Get("X-Position") != r1.Header.Get("X-Position") {
		t.Errorf("old repeat on another node: %s (%v), first %s", r2.Body, r2.Header, r1.Body)
	}
	if after, err := other.Store.Head(t.Context()); err != nil || after != head {
		t.Errorf("the repeat wrote: head %s, was %s (%v)", after, head, err)
	}
	// A new opening there still gets the next number.
	var next caseDoc
	send(other, "nueva").Want(t, http.StatusCreated).JSON(t, &next)
	if want := fmt.Sprintf("CAS-%d-%06d", enginetest.Start.Year(), 72); next.Number != want {
		t.Errorf("next number %s, want %s", next.Number, want)
	}
}

func TestCaseAsOfRevisionAndMinPosition(t *testing.T) {
	w := newCasesWorld(t)
	w.clock(t, "2026-11-30T10:00:00+01:00")
	c := w.open(t, w.ana, consulta("A0001", "Aplazamiento"))
	w.clock(t, "2026-11-30T12:00:00+01:00")
	var replied caseDoc
	r := w.e.Post(w.tram, "/v1/cases/"+c.ID+"/replies", map[string]string{"text": "Lo revisamos."}).Want(t, http.StatusOK)
	r.JSON(t, &replied)
	if replied.State != "en_tramitacion" || replied.Revision != 2 {
		t.Errorf("after reply: %s rev %d", replied.State, replied.Revision)
	}
	// Read your write: the list waits for the position the reply wrote.
	var list struct {
		Items []struct{ ID, State string }
	}
	w.e.Get(w.ana, "/v1/cases?authorization=A0001&minPosition="+url.QueryEscape(r.Header.Get("X-Position"))).Want(t, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].State != "en_tramitacion" {
		t.Errorf("list after minPosition: %+v", list)
	}
	w.e.Get(w.ana, "/v1/cases?minPosition=nope").Want(t, http.StatusBadRequest)

	w.clock(t, "2026-12-01T09:00:00+01:00")
	w.request(t, c.ID, "Aporte el certificado.")

	var old caseDoc
	w.e.Get(w.ana, "/v1/cases/"+c.ID+"?revision=0").Want(t, http.StatusOK).JSON(t, &old)
	if old.State != "abierto" || old.Unit != "" || old.Revision != 0 {
		t.Errorf("revision 0: %+v", old)
	}
	w.e.Get(w.ana, "/v1/cases/"+c.ID+"?revision=1").Want(t, http.StatusOK).JSON(t, &old)
	if old.Unit != "URE-Aplazamientos" {
		t.Errorf("revision 1: %+v", old)
	}
	w.e.Get(w.ana, "/v1/cases/"+c.ID+"?asOf="+url.QueryEscape("2026-11-30T23:59:59+01:00")).Want(t, http.StatusOK).JSON(t, &old)
	if old.State != "en_tramitacion" || old.PendingRequest != nil {
		t.Errorf("asOf before the request: %+v", old)
	}
	now := w.get(t, w.ana, c.ID)
	if now.State != "pendiente_informacion" || now.PendingRequest == nil {
		t.Errorf("now: %+v", now)
	}
	w.e.Get(w.ana, "/v1/cases/"+c.ID+"?asOf="+url.QueryEscape("2026-11-30T09:59:59+01:00")).Want(t, http.StatusNotFound)
	w.e.Get(w.ana, "/v1/cases/"+c.ID+"?revision=99").Want(t, http.StatusNotFound)
	w.e.Get(w.ana, "/v1/cases/"+c.ID+"?revision=1&asOf=2026-11-30T10:00:00Z").Want(t, http.StatusBadRequest)
	w.e.Get(w.ana, "/v1/cases/"+c.ID+"?asOf=ayer").Want(t, http.StatusBadRequest)
	w.e.Get(w.ana, "/v1/cases/00000000-0000-0000-0000-000000000000").Want(t, http.StatusNotFound)
	w.e.Get(w.ana, "/v1/cases/no-es-un-id").Want(t, http.StatusNotFound)
}

func TestCaseQueueFiltersAndReclassify(t *testing.T) {
	w := newCasesWorld(t)
	w.clock(t, "2026-11-30T10:00:00+01:00")
	a := w.open(t, w.ana, consulta("A0001", "Primera"))
	w.clock(t, "2026-11-30T10:05:00+01:00")
	b := w.open(t, w.eva, consulta("B0002", "Segunda"))
	w.clock(t, "2026-11-30T10:10:00+01:00")
	c := w.open(t, w.luis, errorIncidencia("A0001", "Remesa"))
	w.clock(t, "2026-12-02T10:00:00+01:00")
	d := w.open(t, w.ana, tramite("Alta"))
	w.sync(t)

	ids := func(tok, q string) []string {
		t.Helper()
		var l struct {
			Items      []struct{ ID string }
			NextCursor string
		}
		w.e.Get(tok, "/v1/cases"+q).Want(t, http.StatusOK).JSON(t, &l)
		var out []string
		for _, it := range l.Items {
			out = append(out, it.ID)
		}
		return out
	}
	if got := ids(w.tram, "?unit=URE-Aplazamientos"); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("queue: %v", got)
	}
	if got := ids(w.ana, ""); !slices.Equal(got, []string{a.ID, c.ID, d.ID}) {
		t.Errorf("ana's cases: %v", got)
	}
	if got := ids(w.eva, ""); !slices.Equal(got, []string{b.ID}) {
		t.Errorf("eva's cases: %v", got)
	}
	w.e.Get(w.eva, "/v1/cases?authorization=A0001").Want(t, http.StatusForbidden)
	if got := ids(w.comp, "?type=tramite"); !slices.Equal(got, []string{d.ID}) {
		t.Errorf("type filter: %v", got)
	}
	if got := ids(w.tram, "?openedFrom=2026-11-30&openedTo=2026-11-30&materia=Recaudaci%C3%B3n"); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("dates and materia: %v", got)
	}
	if got := ids(w.tram, "?origin=tgss"); len(got) != 0 {
		t.Errorf("origin tgss: %v", got)
	}
	w.e.Get(w.tram, "/v1/cases?state=nuevo").Want(t, http.StatusBadRequest)
	w.e.Get(w.tram, "/v1/cases?openedFrom=30/11/2026").Want(t, http.StatusBadRequest)
	// Pages of one, continued by cursor.
	var seen []string
	cursor := ""
	for range 5 {
		var l struct {
			Items      []struct{ ID string }
			NextCursor string
		}
		w.e.Get(w.aud, "/v1/cases?limit=1&cursor="+cursor).Want(t, http.StatusOK).JSON(t, &l)
		for _, it := range l.Items {
			seen = append(seen, it.ID)
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(seen, []string{a.ID, b.ID, c.ID, d.ID}) {
		t.Errorf("paged: %v", seen)
	}

	// Reclassify the error into another unit: routed again, the history
	// keeps both routings.
	var rc caseDoc
	w.e.Post(w.tram, "/v1/cases/"+c.ID+"/reclassify", map[string]any{"materia": "Cotización", "categoria": "Liquidación de cuotas",
		"subcategoria": "Cálculo de la liquidación", "extraData": map[string]string{"ccc": "28123456742"}}).Want(t, http.StatusOK).JSON(t, &rc)
	if rc.Unit != "UGA-Cotizacion" || len(rc.Routing) != 2 || rc.Routing[1].Reason != "reclasificacion" {
		t.Errorf("reclassified: %+v", rc)
	}
	before := w.get(t, w.ana, d.ID).Revision
	w.e.Post(w.tram, "/v1/cases/"+d.ID+"/reclassify", map[string]any{"materia": "Cotización", "categoria": "Liquidación de cuotas",
		"subcategoria": "Liquidación fuera de plazo"}).Want(t, http.StatusConflict)
	if after := w.get(t, w.ana, d.ID).Revision; after != before {
		t.Errorf("a refused command appended: revision %d → %d", before, after)
	}
	// Either party attaches documents (metadata and SHA-256).
	var withDoc struct {
		Documents []struct{ ID, Name, SHA256, AddedBy string }
	}
	w.e.Post(w.ana, "/v1/cases/"+d.ID+"/documents", map[string]any{"documents": []map[string]any{{"name": "nomina.pdf",
		"mediaType": "application/pdf", "size": 1024, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}}).
		Want(t, http.StatusOK).JSON(t, &withDoc)
	if len(withDoc.Documents) != 1 || withDoc.Documents[0].Name != "nomina.pdf" || withDoc.Documents[0].AddedBy != "ana" {
		t.Errorf("documents: %+v", withDoc.Documents)
	}
	w.e.Post(w.ana, "/v1/cases/"+d.ID+"/documents", map[string]any{"documents": []map[string]any{{"name": "x.pdf",
		"mediaType": "application/pdf", "size": 1, "sha256": "nope"}}}).Want(t, http.StatusBadRequest)
	w.e.Post(w.ana, "/v1/cases/"+c.ID+"/reclassify", map[string]any{"materia": "x", "categoria": "y", "subcategoria": "z"}).Want(t, http.StatusForbidden)
	w.sync(t)
	if got := ids(w.tram, "?unit=UGA-Cotizacion"); !slices.Equal(got, []string{c.ID}) {
		t.Errorf("new unit's queue: %v", got)
	}
	// Close as misfiled (error only, no body needed), then nothing more.
	w.e.Post(w.tram, "/v1/cases/"+a.ID+"/close-misfiled", nil).Want(t, http.StatusConflict)
	var closed caseDoc
	w.e.Post(w.tram, "/v1/cases/"+c.ID+"/close-misfiled", nil).Want(t, http.StatusOK).JSON(t, &closed)
	if closed.State != "cerrado" || !slices.Contains(closed.templates(), "case_closed_misfiled:requested:"+contactA) {
		t.Errorf("misfiled: %+v", closed)
	}
	w.e.Post(w.luis, "/v1/cases/"+c.ID+"/replies", map[string]string{"text": "¿Y ahora?"}).Want(t, http.StatusConflict)
}

func enginetestRequest(method, path, token string, body any) enginetest.Request {
	return enginetest.Request{Method: method, Path: path, Token: token, Body: body}
}

// TestCaseTermHonoursConfiguredHolidays: a holiday from REDENGINE_HOLIDAYS
// (here Monday 21 December) moves the end of a term like a national one.
func TestCaseTermHonoursConfiguredHolidays(t *testing.T) {
	file := filepath.Join(t.TempDir(), "festivos.txt")
	if err := os.WriteFile(file, []byte("# festivo local\n2026-12-21\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newCasesWorld(t, func(c *config.Config) { c.Holidays = file })
	w.clock(t, "2026-11-30T10:00:00+01:00")
	c := w.open(t, w.ana, consulta("A0001", "Consulta"))
	r := w.request(t, c.ID, "Indique el importe.")
	if r.PendingRequest.LastDay != "2026-12-22" || !r.PendingRequest.Deadline.Equal(at(t, "2026-12-23T00:00:00+01:00")) {
		t.Errorf("term with a configured holiday: %+v", r.PendingRequest)
	}
	if n := w.clock(t, "2026-12-22T23:59:59+01:00"); n != 0 {
		t.Errorf("closed on the last day (%d)", n)
	}
	if n := w.clock(t, "2026-12-23T00:00:00+01:00"); n != 1 {
		t.Errorf("not closed after the term (%d)", n)
	}
}

// TestCaseDemoData: the demo cases load once, in their states, and a second
// run appends nothing.
func TestCaseDemoData(t *testing.T) {
	e := enginetest.New(t)
	for range 2 {
		if err := e.LoadDemo(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := e.LoadDemoCases(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	head, err := e.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Projections.WaitFor(t.Context(), readmodels.CasesName, head); err != nil {
		t.Fatal(err)
	}
	var l struct {
		Items []struct{ Number, State, Origin string }
	}
	e.Get(e.Token(auth.Tramitador, "tramitador.1"), "/v1/cases").Want(t, http.StatusOK).JSON(t, &l)
	var got []string
	for _, it := range l.Items {
		got = append(got, it.Number+" "+it.State+" "+it.Origin)
	}
	y := enginetest.Start.Year()
	want := []string{
		fmt.Sprintf("CAS-%d-000001 abierto autorizado", y),
		fmt.Sprintf("CAS-%d-000002 pendiente_informacion autorizado", y),
		fmt.Sprintf("CAS-%d-000003 resuelto autorizado", y),
		fmt.Sprintf("CAS-%d-000004 abierto tgss", y),
	}
	if !slices.Equal(got, want) {
		t.Errorf("demo cases %v, want %v", got, want)
	}
}
