package cases_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"redengine/catalog/casia"
	"redengine/domain/cases"
	"redengine/errs"
)

var later = madrid(2021, 7, 5, 10, 0, 0)

func resolvedCase(t casia.Type) []any {
	return append(opened(t, opening), cases.CaseResolved{Text: "Resuelto.", By: tramitador, At: later.UTC()})
}

func TestReplyByTramitadorStartsProcessing(t *testing.T) {
	given().Given(opened(casia.Consulta, opening)...).At(later).
		When(decider().Reply(textCmd(tramitador, "Estamos revisando su consulta."))).
		Then(t, cases.ReplyAdded{Text: "Estamos revisando su consulta.", By: tramitador, At: later.UTC()}).
		ThenState(t, func(t testing.TB, s cases.State) {
			if s.Status != cases.EnTramitacion || len(s.Thread) != 2 || s.Thread[1].Kind != cases.MessageReply {
				t.Fatalf("state %s thread %+v", s.Status, s.Thread)
			}
		})
}

func TestReplyByAutorizadoKeepsTheState(t *testing.T) {
	given().Given(opened(casia.Consulta, opening)...).At(later).
		When(decider().Reply(textCmd(autorizado, "Añado un dato."))).
		ThenState(t, func(t testing.TB, s cases.State) {
			if s.Status != cases.Abierto {
				t.Fatalf("state %s", s.Status)
			}
		})
}

func TestReplyRules(t *testing.T) {
	d := decider()
	t.Run("another autorización", func(t *testing.T) {
		given().Given(opened(casia.Consulta, opening)...).At(later).
			When(d.Reply(textCmd(intruso, "hola"))).ThenError(t, errs.Forbidden)
	})
	t.Run("auditor", func(t *testing.T) {
		given().Given(opened(casia.Consulta, opening)...).At(later).
			When(d.Reply(textCmd(auditor, "hola"))).ThenError(t, errs.Forbidden)
	})
	t.Run("resolved case", func(t *testing.T) {
		given().Given(resolvedCase(casia.Consulta)...).At(later).
			When(d.Reply(textCmd(autorizado, "hola"))).ThenError(t, errs.Precondition)
	})
	t.Run("autorizado while information is pending", func(t *testing.T) {
		given().Given(pendingCase(casia.Consulta, opening, later)...).At(later.Add(time.Hour)).
			When(d.Reply(textCmd(autorizado, "hola"))).ThenError(t, errs.Precondition)
	})
	t.Run("tramitador while information is pending keeps it pending", func(t *testing.T) {
		given().Given(pendingCase(casia.Consulta, opening, later)...).At(later.Add(time.Hour)).
			When(d.Reply(textCmd(tramitador, "Recuerde aportar el contrato."))).
			ThenState(t, func(t testing.TB, s cases.State) {
				if s.Status != cases.PendienteInformacion || s.PendingRequest == nil {
					t.Fatalf("state %s", s.Status)
				}
			})
	})
	t.Run("empty text", func(t *testing.T) {
		given().Given(opened(casia.Consulta, opening)...).At(later).
			When(d.Reply(textCmd(autorizado, " "))).ThenErrorField(t, "text")
	})
	t.Run("no case", func(t *testing.T) {
		given().At(later).When(d.Reply(textCmd(autorizado, "hola"))).ThenError(t, errs.NotFound)
	})
}

func TestAddDocument(t *testing.T) {
	d := decider()
	doc := cases.DocumentInput{Name: "nómina.pdf", MediaType: "application/pdf", Size: 99, SHA256: sha}
	given().Given(opened(casia.Consulta, opening)...).At(later).
		When(d.AddDocument(autorizado, doc, doc)).
		Then(t,
			cases.DocumentAdded{Document: cases.Document{ID: cases.DocumentID(caseID, 0), Name: "nómina.pdf", MediaType: "application/pdf",
				Size: 99, SHA256: sha, AddedAt: later.UTC(), AddedBy: autorizado.ID}, By: autorizado},
			cases.DocumentAdded{Document: cases.Document{ID: cases.DocumentID(caseID, 1), Name: "nómina.pdf", MediaType: "application/pdf",
				Size: 99, SHA256: sha, AddedAt: later.UTC(), AddedBy: autorizado.ID}, By: autorizado})
	given().Given(opened(casia.Consulta, opening)...).At(later).When(d.AddDocument(autorizado)).ThenErrorField(t, "documents")
	given().Given(opened(casia.Consulta, opening)...).At(later).When(d.AddDocument(intruso, doc)).ThenError(t, errs.Forbidden)
	given().Given(resolvedCase(casia.Consulta)...).At(later).When(d.AddDocument(tramitador, doc)).ThenError(t, errs.Precondition)
}

func TestReclassifyConsultaReroutes(t *testing.T) {
	to := [3]string{"Recaudación", "Aplazamientos", "Solicitud y requisitos"}
	cmd := cases.Reclassify{Actor: tramitador, Materia: to[0], Categoria: to[1], Subcategoria: to[2]}
	given().Given(opened(casia.Consulta, opening)...).At(later).
		When(decider().Reclassify(cmd)).
		Then(t,
			cases.CaseReclassified{From: classification(clConsulta), To: classification(to), CatalogueVersion: casia.Default().Version,
				By: tramitador, At: later.UTC()},
			cases.CaseRouted{Unit: "URE-Aplazamientos", Classification: classification(to), Reason: "reclasificacion", At: later.UTC()}).
		ThenState(t, func(t testing.TB, s cases.State) {
			if s.Unit != "URE-Aplazamientos" || len(s.Routing) != 2 || s.Routing[0].Unit != "URE-Recaudacion" || s.Classification != classification(to) {
				t.Fatalf("state %+v", s)
			}
		})
}

func TestReclassifyErrorIncidenciaWithNewRequiredField(t *testing.T) {
	to := [3]string{"Afiliación (altas y bajas)", "Bajas", "Baja de trabajador"}
	cmd := cases.Reclassify{Actor: tramitador, Materia: to[0], Categoria: to[1], Subcategoria: to[2]}
	d := decider()
	given().Given(opened(casia.ErrorIncidencia, opening)...).At(later).When(d.Reclassify(cmd)).ThenErrorField(t, "extraData.naf")
	cmd.ExtraData = map[string]string{"naf": "281234567840", "fechaReal": "2021-07-01"}
	given().Given(opened(casia.ErrorIncidencia, opening)...).At(later).When(d.Reclassify(cmd)).
		ThenState(t, func(t testing.TB, s cases.State) {
			if s.Unit != "UGA-Afiliacion" || s.ExtraData["naf"] != "281234567840" || s.ExtraData["ccc"] != "23123456750" {
				t.Fatalf("state %+v", s)
			}
		})
}

func TestReclassifyRules(t *testing.T) {
	d := decider()
	to := [3]string{"Recaudación", "Aplazamientos", "Solicitud y requisitos"}
	cmd := cases.Reclassify{Actor: tramitador, Materia: to[0], Categoria: to[1], Subcategoria: to[2]}
	t.Run("a tramite is refused", func(t *testing.T) {
		c := cmd
		c.Materia, c.Categoria, c.Subcategoria = "Afiliación (altas y bajas)", "Altas", "Alta de trabajador"
		given().Given(opened(casia.Tramite, opening)...).At(later).When(d.Reclassify(c)).ThenError(t, errs.Precondition)
	})
	t.Run("autorizado", func(t *testing.T) {
		c := cmd
		c.Actor = autorizado
		given().Given(opened(casia.Consulta, opening)...).At(later).When(d.Reclassify(c)).ThenError(t, errs.Forbidden)
	})
	t.Run("same classification", func(t *testing.T) {
		c := cmd
		c.Materia, c.Categoria, c.Subcategoria = clConsulta[0], clConsulta[1], clConsulta[2]
		given().Given(opened(casia.Consulta, opening)...).At(later).When(d.Reclassify(c)).ThenError(t, errs.Precondition)
	})
	t.Run("unknown classification", func(t *testing.T) {
		c := cmd
		c.Subcategoria = "nada"
		given().Given(opened(casia.Consulta, opening)...).At(later).When(d.Reclassify(c)).ThenErrorField(t, "subcategoria")
	})
	t.Run("subcategoría that does not admit the type", func(t *testing.T) {
		c := cmd // Recaudación admits only consultas
		given().Given(opened(casia.ErrorIncidencia, opening)...).At(later).When(d.Reclassify(c)).ThenErrorField(t, "subcategoria")
	})
	t.Run("closed case", func(t *testing.T) {
		given().Given(resolvedCase(casia.Consulta)...).At(later).When(d.Reclassify(cmd)).ThenError(t, errs.Precondition)
	})
}

func TestRequestInformationSetsTheLegalDeadline(t *testing.T) {
	at := madrid(2021, 7, 2, 10, 0, 0) // Friday; +20 = Thursday 22 July
	o := given().Given(opened(casia.Tramite, opening)...).At(at).
		When(decider().RequestInformation(textCmd(tramitador, "Aporte el contrato de trabajo firmado.")))
	wantTypes(t, o.Events(), "cases.InformationRequested", "email.Requested")
	req := o.Events()[0].(cases.InformationRequested)
	if req.RequestNo != 1 || req.TermDays != 20 || req.LastDay.String() != "2021-07-22" ||
		!req.Deadline.Equal(madrid(2021, 7, 23, 0, 0, 0)) || !req.Deadline.Equal(cal.TermEnd(at, 20)) {
		t.Fatalf("request = %+v", req)
	}
	mail := o.Events()[1].(cases.EmailRequested)
	if mail.To != contact || !strings.Contains(mail.Body, "22 de julio de 2021") || !strings.Contains(mail.Body, "desistido") {
		t.Fatalf("email = %+v", mail)
	}
	o.ThenState(t, func(t testing.TB, s cases.State) {
		dl, ok := s.Deadline()
		if s.Status != cases.PendienteInformacion || !ok || !dl.Equal(req.Deadline) {
			t.Fatalf("state %s deadline %v %v", s.Status, dl, ok)
		}
	})
}

func TestRequestInformationLastDayOnSundayMovesToMonday(t *testing.T) {
	at := madrid(2021, 6, 14, 12, 0, 0) // +20 = Sunday 4 July 2021
	o := given().Given(opened(casia.Consulta, madrid(2021, 6, 1, 9, 0, 0))...).At(at).
		When(decider().RequestInformation(textCmd(tramitador, "Aporte la documentación.")))
	req := o.Events()[0].(cases.InformationRequested)
	if req.LastDay.String() != "2021-07-05" || !req.Deadline.Equal(madrid(2021, 7, 6, 0, 0, 0)) {
		t.Fatalf("last day %s deadline %s", req.LastDay, req.Deadline)
	}
}

func TestRequestInformationLastDayOnHolidayMovesToNextWorkingDay(t *testing.T) {
	at := madrid(2021, 9, 22, 12, 0, 0) // +20 = Tuesday 12 October 2021, Fiesta Nacional
	o := given().Given(opened(casia.Consulta, madrid(2021, 9, 1, 9, 0, 0))...).At(at).
		When(decider().RequestInformation(textCmd(tramitador, "Aporte la documentación.")))
	req := o.Events()[0].(cases.InformationRequested)
	if req.LastDay.String() != "2021-10-13" || !req.Deadline.Equal(madrid(2021, 10, 14, 0, 0, 0)) {
		t.Fatalf("last day %s deadline %s", req.LastDay, req.Deadline)
	}
}

func TestRequestInformationRules(t *testing.T) {
	d := decider()
	t.Run("autorizado", func(t *testing.T) {
		given().Given(opened(casia.Consulta, opening)...).At(later).
			When(d.RequestInformation(textCmd(autorizado, "x"))).ThenError(t, errs.Forbidden)
	})
	t.Run("already pending", func(t *testing.T) {
		given().Given(pendingCase(casia.Consulta, opening, later)...).At(later.Add(time.Hour)).
			When(d.RequestInformation(textCmd(tramitador, "otra"))).ThenError(t, errs.Precondition)
	})
	t.Run("closed", func(t *testing.T) {
		given().Given(resolvedCase(casia.Consulta)...).At(later).
			When(d.RequestInformation(textCmd(tramitador, "x"))).ThenError(t, errs.Precondition)
	})
	t.Run("empty text", func(t *testing.T) {
		given().Given(opened(casia.Consulta, opening)...).At(later).
			When(d.RequestInformation(textCmd(tramitador, ""))).ThenErrorField(t, "text")
	})
	t.Run("no contact: the skipped email is recorded", func(t *testing.T) {
		c := textCmd(tramitador, "Aporte.")
		c.Contact = ""
		o := given().Given(opened(casia.Consulta, opening)...).At(later).When(d.RequestInformation(c))
		wantTypes(t, o.Events(), "cases.InformationRequested", "email.Skipped")
	})
	t.Run("a second request after an answer is number 2", func(t *testing.T) {
		h := append(pendingCase(casia.Consulta, opening, later),
			cases.InformationProvided{RequestNo: 1, Text: "ok", By: autorizado, At: later.Add(time.Hour).UTC()})
		o := given().Given(h...).At(later.Add(2 * time.Hour)).When(d.RequestInformation(textCmd(tramitador, "Otra cosa.")))
		if o.Events()[0].(cases.InformationRequested).RequestNo != 2 || o.Events()[1].(cases.EmailRequested).EmailID != cases.EmailID(caseID, 1) {
			t.Fatalf("events %+v", o.Events())
		}
	})
}

func TestProvideInformationOnTheLastDayPreventsTheClosure(t *testing.T) {
	req := madrid(2021, 7, 2, 10, 0, 0)
	lastMinute := madrid(2021, 7, 22, 23, 59, 59) // the 20th day, one second before the end
	h := pendingCase(casia.Tramite, opening, req)
	o := given().Given(h...).At(lastMinute).
		When(decider().ProvideInformation(textCmd(autorizado, "Adjunto el contrato.")))
	o.Then(t, cases.InformationProvided{RequestNo: 1, Text: "Adjunto el contrato.", By: autorizado, At: lastMinute.UTC()})
	o.ThenState(t, func(t testing.TB, s cases.State) {
		if s.Status != cases.EnTramitacion || s.PendingRequest != nil {
			t.Fatalf("state %s pending %+v", s.Status, s.PendingRequest)
		}
	})
	// The scheduler's pass after the term finds nothing to close.
	h = append(h, o.Events()...)
	given().Given(h...).At(madrid(2021, 7, 23, 0, 0, 0)).
		When(decider().CloseDeOficio(cases.SystemCommand{Actor: system, Contact: contact})).
		ThenError(t, errs.Precondition)
}

func TestProvideInformationAtTheDeadlineIsRefused(t *testing.T) {
	req := madrid(2021, 7, 2, 10, 0, 0)
	h := pendingCase(casia.Consulta, opening, req)
	for _, at := range []time.Time{madrid(2021, 7, 23, 0, 0, 0), madrid(2021, 7, 30, 9, 0, 0)} {
		given().Given(h...).At(at).
			When(decider().ProvideInformation(textCmd(autorizado, "tarde"))).
			ThenError(t, errs.Precondition)
	}
}

func TestProvideInformationRules(t *testing.T) {
	d := decider()
	h := pendingCase(casia.Consulta, opening, later)
	at := later.Add(time.Hour)
	given().Given(h...).At(at).When(d.ProvideInformation(textCmd(intruso, "x"))).ThenError(t, errs.Forbidden)
	given().Given(h...).At(at).When(d.ProvideInformation(textCmd(tramitador, "x"))).ThenError(t, errs.Forbidden)
	given().Given(h...).At(at).When(d.ProvideInformation(textCmd(autorizado, ""))).ThenErrorField(t, "text")
	given().Given(opened(casia.Consulta, opening)...).At(at).When(d.ProvideInformation(textCmd(autorizado, "x"))).ThenError(t, errs.Precondition)
}

func TestResolve(t *testing.T) {
	d := decider()
	o := given().Given(pendingCase(casia.Consulta, opening, later)...).At(later.Add(time.Hour)).
		When(d.Resolve(textCmd(tramitador, "La deuda está prescrita.")))
	wantTypes(t, o.Events(), "cases.CaseResolved", "email.Requested")
	if m := o.Events()[1].(cases.EmailRequested); m.Template != cases.TemplateCaseResolved || !strings.Contains(m.Body, "La deuda está prescrita.") {
		t.Fatalf("email %+v", m)
	}
	o.ThenState(t, func(t testing.TB, s cases.State) {
		if s.Status != cases.Resuelto || s.PendingRequest != nil || s.ResolvedAt.IsZero() {
			t.Fatalf("state %+v", s)
		}
	})
	given().Given(opened(casia.Consulta, opening)...).At(later).When(d.Resolve(textCmd(autorizado, "x"))).ThenError(t, errs.Forbidden)
	given().Given(resolvedCase(casia.Consulta)...).At(later).When(d.Resolve(textCmd(tramitador, "x"))).ThenError(t, errs.Precondition)
}

func TestCloseMisfiled(t *testing.T) {
	d := decider()
	o := given().Given(opened(casia.ErrorIncidencia, opening)...).At(later).When(d.CloseMisfiled(textCmd(tramitador, "")))
	wantTypes(t, o.Events(), "cases.CaseClosedMisfiled", "email.Requested")
	if r := o.Events()[0].(cases.CaseClosedMisfiled).Reason; !strings.Contains(r, "Trámite") {
		t.Fatalf("reason %q", r)
	}
	o.ThenState(t, func(t testing.TB, s cases.State) {
		if s.Status != cases.Cerrado {
			t.Fatalf("state %s", s.Status)
		}
	})
	given().Given(opened(casia.Consulta, opening)...).At(later).When(d.CloseMisfiled(textCmd(tramitador, ""))).ThenError(t, errs.Precondition)
	given().Given(opened(casia.Tramite, opening)...).At(later).When(d.CloseMisfiled(textCmd(tramitador, ""))).ThenError(t, errs.Precondition)
	given().Given(opened(casia.ErrorIncidencia, opening)...).At(later).When(d.CloseMisfiled(textCmd(autorizado, ""))).ThenError(t, errs.Forbidden)
}

func TestFinalStatesRefuseEveryCommand(t *testing.T) {
	d := decider()
	closed := map[string][]any{
		"resuelto": resolvedCase(casia.ErrorIncidencia),
		"cerrado": append(opened(casia.ErrorIncidencia, opening),
			cases.CaseClosedMisfiled{Reason: "x", By: tramitador, At: later.UTC()}),
		"cerrado_de_oficio": append(pendingCase(casia.ErrorIncidencia, opening, later),
			cases.CaseClosedDeOficio{RequestNo: 1, ClosedAt: later.AddDate(0, 1, 0).UTC()}),
	}
	doc := cases.DocumentInput{Name: "a.pdf", MediaType: "application/pdf", Size: 1, SHA256: sha}
	for name, h := range closed {
		at := later.AddDate(0, 2, 0)
		for cmdName, dec := range map[string]func() *outcome{
			"reply":     func() *outcome { return when(h, at, d.Reply(textCmd(tramitador, "x"))) },
			"document":  func() *outcome { return when(h, at, d.AddDocument(tramitador, doc)) },
			"request":   func() *outcome { return when(h, at, d.RequestInformation(textCmd(tramitador, "x"))) },
			"provide":   func() *outcome { return when(h, at, d.ProvideInformation(textCmd(autorizado, "x"))) },
			"resolve":   func() *outcome { return when(h, at, d.Resolve(textCmd(tramitador, "x"))) },
			"misfiled":  func() *outcome { return when(h, at, d.CloseMisfiled(textCmd(tramitador, "x"))) },
			"de oficio": func() *outcome { return when(h, at, d.CloseDeOficio(cases.SystemCommand{Actor: system})) },
			"reclassify": func() *outcome {
				return when(h, at, d.Reclassify(cases.Reclassify{Actor: tramitador, Materia: "Sistema RED", Categoria: "Certificados digitales", Subcategoria: "Acceso con certificado"}))
			},
		} {
			t.Run(name+"/"+cmdName, func(t *testing.T) { dec().ThenError(t, errs.Precondition) })
		}
	}
}

func TestStateJSONShape(t *testing.T) {
	s := cases.Fold(pendingCase(casia.Tramite, opening, later)...)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"id", "number", "type", "classification", "unit", "origin", "authorization", "state",
		"subject", "body", "extraData", "documents", "routing", "pendingRequest", "justificante", "emails", "thread"} {
		if _, ok := m[k]; !ok {
			t.Errorf("state JSON lacks %q", k)
		}
	}
	if m["state"] != "pendiente_informacion" || m["origin"] != "autorizado" {
		t.Errorf("state %v origin %v", m["state"], m["origin"])
	}
}

func TestResolveWithDocumentsAndSkippedEmailOutcome(t *testing.T) {
	d := decider()
	c := textCmd(tramitador, "Adjunto la resolución.")
	c.Contact = ""
	c.Documents = []cases.DocumentInput{{Name: "resolucion.pdf", MediaType: "application/pdf", Size: 10, SHA256: sha}}
	o := given().Given(opened(casia.Consulta, opening)...).At(later).When(d.Resolve(c))
	wantTypes(t, o.Events(), "cases.CaseResolved", "email.Skipped")
	o.ThenState(t, func(t testing.TB, s cases.State) {
		if len(s.Documents) != 1 || s.Thread[1].DocumentIDs[0] != cases.DocumentID(caseID, 0) {
			t.Fatalf("documents %+v", s.Documents)
		}
	})
	h := append(opened(casia.Consulta, opening), o.Events()...)
	when(h, later, d.RecordEmailOutcome(cases.EmailOutcome{Actor: system, EmailID: cases.EmailID(caseID, 0), Sent: true})).
		ThenError(t, errs.Precondition)
}
