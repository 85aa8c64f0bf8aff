package cases_test

import (
	"strings"
	"testing"

	"redengine/catalog/casia"
	"redengine/domain/cases"
	"redengine/errs"
	"redengine/eventstore"
)

var opening = madrid(2021, 7, 2, 9, 30, 0)

func TestOpenConsultaByAutorizadoIsRoutedWithoutEmail(t *testing.T) {
	given().At(opening).
		When(decider().Open(openCmd(casia.Consulta))).
		Then(t, opened(casia.Consulta, opening)...).
		ThenState(t, func(t testing.TB, s cases.State) {
			if s.Status != cases.Abierto || s.Unit != "URE-Recaudacion" || len(s.Routing) != 1 || s.Justificante != nil {
				t.Fatalf("state = %+v", s)
			}
		})
}

func TestOpenTramiteGetsJustificante(t *testing.T) {
	given().At(opening).
		When(decider().Open(openCmd(casia.Tramite))).
		Then(t, opened(casia.Tramite, opening)...).
		ThenState(t, func(t testing.TB, s cases.State) {
			if s.Justificante == nil || s.Justificante.Number != "J-"+number || !s.Justificante.IssuedAt.Equal(opening) {
				t.Fatalf("justificante = %+v", s.Justificante)
			}
		})
}

func TestOpenWithDocumentsRecordsMetadataAndHash(t *testing.T) {
	cmd := openCmd(casia.Consulta)
	cmd.Documents = []cases.DocumentInput{{Name: "contrato.pdf", MediaType: "application/pdf", Size: 1234, SHA256: sha}}
	o := given().At(opening).When(decider().Open(cmd))
	o.ThenState(t, func(t testing.TB, s cases.State) {
		if len(s.Documents) != 1 || s.Documents[0].ID != cases.DocumentID(caseID, 0) || s.Documents[0].SHA256 != sha ||
			s.Documents[0].AddedBy != autorizado.ID || s.Thread[0].DocumentIDs[0] != s.Documents[0].ID {
			t.Fatalf("documents = %+v thread = %+v", s.Documents, s.Thread)
		}
	})
}

func TestOpenByTGSSEmailsTheContactAddress(t *testing.T) {
	cmd := openCmd(casia.Consulta)
	cmd.Actor, cmd.Origin = tramitador, cases.OriginTGSS
	o := given().At(opening).When(decider().Open(cmd))
	o.ThenState(t, func(t testing.TB, s cases.State) {
		if s.Origin != cases.OriginTGSS || s.OpenedBy != tramitador {
			t.Fatalf("state = %+v", s)
		}
	})
	wantTypes(t, o.Events(), "cases.CaseOpened", "cases.CaseRouted", "email.Requested")
	mail := o.Events()[2].(cases.EmailRequested)
	if mail.To != contact || mail.Template != cases.TemplateCaseOpenedTGSS || !strings.Contains(mail.Subject, number) ||
		!strings.Contains(mail.Body, number) || mail.EmailID != cases.EmailID(caseID, 0) {
		t.Fatalf("email = %+v", mail)
	}

	// The origin may be left out: a tramitador's case is of origin tgss.
	cmd.Origin = ""
	wantTypes(t, given().At(opening).When(decider().Open(cmd)).Events(),
		"cases.CaseOpened", "cases.CaseRouted", "email.Requested")
}

func TestOpenByTGSSWithoutContactRecordsTheSkippedEmail(t *testing.T) {
	cmd := openCmd(casia.Consulta)
	cmd.Actor, cmd.Origin, cmd.Contact = tramitador, cases.OriginTGSS, ""
	o := given().At(opening).When(decider().Open(cmd))
	wantTypes(t, o.Events(), "cases.CaseOpened", "cases.CaseRouted", "email.Skipped")
	if o.Events()[2].(cases.EmailSkipped).Reason != cases.NoContactReason {
		t.Fatal("wrong reason")
	}
	o.ThenState(t, func(t testing.TB, s cases.State) {
		if len(s.Emails) != 1 || s.Emails[0].Status != cases.EmailStatusSkipped {
			t.Fatalf("emails = %+v", s.Emails)
		}
	})
}

func TestOpenActorRules(t *testing.T) {
	d := decider()
	tgssByAutorizado := openCmd(casia.Consulta)
	tgssByAutorizado.Origin = cases.OriginTGSS
	autorizadoByTramitador := openCmd(casia.Consulta)
	autorizadoByTramitador.Actor, autorizadoByTramitador.Origin = tramitador, cases.OriginAutorizado
	otherAuth := openCmd(casia.Consulta)
	otherAuth.Actor = intruso
	byAuditor := openCmd(casia.Consulta)
	byAuditor.Actor = auditor
	noAuthInToken := openCmd(casia.Consulta)
	noAuthInToken.Actor = eventstore.Actor{ID: "user-1", Role: cases.RoleAutorizado}
	for name, cmd := range map[string]cases.OpenCase{
		"autorizado with origin tgss":        tgssByAutorizado,
		"tramitador with origin autorizado":  autorizadoByTramitador,
		"autorizado of another autorización": otherAuth,
		"auditor":                            byAuditor,
		"autorizado acting for none":         noAuthInToken,
	} {
		t.Run(name, func(t *testing.T) {
			given().At(opening).When(d.Open(cmd)).ThenError(t, errs.Forbidden)
		})
	}
}

func TestOpenInputRules(t *testing.T) {
	d := decider()
	mod := func(f func(*cases.OpenCase)) cases.OpenCase {
		c := openCmd(casia.Tramite)
		f(&c)
		return c
	}
	cases_ := map[string]struct {
		cmd   cases.OpenCase
		field string
	}{
		"unknown classification": {mod(func(c *cases.OpenCase) { c.Subcategoria = "Inventada" }), "subcategoria"},
		"type not admitted (tramite in Recaudación)": {mod(func(c *cases.OpenCase) {
			c.Materia, c.Categoria, c.Subcategoria = clConsulta[0], clConsulta[1], clConsulta[2]
		}), "type"},
		"unknown type":           {mod(func(c *cases.OpenCase) { c.Type = "queja" }), "type"},
		"unknown origin":         {mod(func(c *cases.OpenCase) { c.Origin = "bogus" }), "origin"},
		"required field missing": {mod(func(c *cases.OpenCase) { c.ExtraData = map[string]string{"ccc": "28123456742"} }), "extraData.naf"},
		"required field bad":     {mod(func(c *cases.OpenCase) { c.ExtraData["ccc"] = "28123456743" }), "extraData.ccc"},
		"bad date":               {mod(func(c *cases.OpenCase) { c.ExtraData["fechaReal"] = "31/02/2021" }), "extraData.fechaReal"},
		"empty subject":          {mod(func(c *cases.OpenCase) { c.Subject = "  " }), "subject"},
		"long subject":           {mod(func(c *cases.OpenCase) { c.Subject = strings.Repeat("x", cases.MaxSubjectLen+1) }), "subject"},
		"empty body":             {mod(func(c *cases.OpenCase) { c.Body = "" }), "body"},
		"NUL in the body":        {mod(func(c *cases.OpenCase) { c.Body = "\x00" }), "body"},
		"control in the subject": {mod(func(c *cases.OpenCase) { c.Subject = "Alta\x1b[31m" }), "subject"},
		"bad document hash": {mod(func(c *cases.OpenCase) {
			c.Documents = []cases.DocumentInput{{Name: "a.pdf", MediaType: "application/pdf", Size: 1, SHA256: "XYZ"}}
		}), "documents[0].sha256"},
		"document name with slash": {mod(func(c *cases.OpenCase) {
			c.Documents = []cases.DocumentInput{{Name: "../a.pdf", MediaType: "application/pdf", Size: 1, SHA256: sha}}
		}), "documents[0].name"},
		"no number": {mod(func(c *cases.OpenCase) { c.Number = "" }), "number"},
	}
	for name, tc := range cases_ {
		t.Run(name, func(t *testing.T) {
			given().At(opening).When(d.Open(tc.cmd)).ThenErrorField(t, tc.field)
		})
	}
}

func TestOpenTwiceIsAPrecondition(t *testing.T) {
	given().Given(opened(casia.Consulta, opening)...).At(opening).
		When(decider().Open(openCmd(casia.Consulta))).
		ThenError(t, errs.Precondition)
}

func TestValidateOpenNeedsNoState(t *testing.T) {
	d := decider()
	cmd := openCmd(casia.Consulta)
	cmd.CaseID, cmd.Number = "", "" // not known yet when the API validates
	if err := d.ValidateOpen(cmd); err != nil {
		t.Fatal(err)
	}
	cmd.Subcategoria = "x"
	if !errs.Is(errs.Invalid, d.ValidateOpen(cmd)) {
		t.Fatal("bad classification accepted")
	}
}

// TestOpenCountsCharactersAsRead: a subject of MaxSubjectLen accented
// letters is accepted even when each accent is typed apart (two code points
// a letter); tabs and line breaks are text.
func TestOpenCountsCharactersAsRead(t *testing.T) {
	cmd := openCmd(casia.Consulta)
	cmd.Subject = strings.Repeat("e\u0301", cases.MaxSubjectLen)
	cmd.Body = "Línea uno\r\n\tLínea dos"
	if err := given().At(opening).When(decider().Open(cmd)).Err(); err != nil {
		t.Fatalf("open: %v (fields %v)", err, errs.FieldsOf(err))
	}
}
