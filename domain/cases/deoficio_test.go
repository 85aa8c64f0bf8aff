package cases_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"redengine/catalog/casia"
	"redengine/domain/cases"
	"redengine/errs"
)

// The request of these tests: Friday 2 July 2021, 10:00 in Madrid; the term
// ends at the end of Thursday 22 July, so the deadline is 23 July 00:00.
var (
	reqAt    = madrid(2021, 7, 2, 10, 0, 0)
	deadline = madrid(2021, 7, 23, 0, 0, 0)
	sys      = cases.SystemCommand{Actor: system, Contact: contact}
)

func TestCloseDeOficioNotASecondBeforeTheDeadline(t *testing.T) {
	for _, typ := range casia.Types() {
		t.Run(string(typ), func(t *testing.T) {
			when(pendingCase(typ, opening, reqAt), deadline.Add(-time.Second), decider().CloseDeOficio(sys)).
				ThenError(t, errs.Precondition)
		})
	}
}

func TestCloseDeOficioConsultaAndErrorGetAnEmailAndNoResolution(t *testing.T) {
	for _, typ := range []casia.Type{casia.Consulta, casia.ErrorIncidencia} {
		t.Run(string(typ), func(t *testing.T) {
			o := when(pendingCase(typ, opening, reqAt), deadline, decider().CloseDeOficio(sys))
			wantTypes(t, o.Events(), "cases.CaseClosedDeOficio", "email.Requested")
			closed := o.Events()[0].(cases.CaseClosedDeOficio)
			if closed.RequestNo != 1 || !closed.Deadline.Equal(deadline) || !closed.ClosedAt.Equal(deadline) || !closed.RequestedAt.Equal(reqAt) {
				t.Fatalf("closed %+v", closed)
			}
			mail := o.Events()[1].(cases.EmailRequested)
			if mail.To != contact || mail.Template != cases.TemplateCaseClosedDeOficio || mail.EmailID != cases.EmailID(caseID, 1) ||
				!strings.Contains(mail.Subject, number) || !strings.Contains(mail.Body, "cerrado de oficio") || strings.Contains(mail.Body, "Desistimiento") {
				t.Fatalf("email %+v", mail)
			}
			o.ThenState(t, func(t testing.TB, s cases.State) {
				if s.Status != cases.CerradoDeOficio || s.PendingRequest != nil || s.Desistimiento != nil || !s.ClosedAt.Equal(deadline) {
					t.Fatalf("state %+v", s)
				}
			})
		})
	}
}

func TestCloseDeOficioTramiteIssuesDesistimientoAndPutsItAtDisposal(t *testing.T) {
	closeAt := madrid(2021, 7, 23, 0, 1, 0) // the first scheduler pass after the term
	o := when(pendingCase(casia.Tramite, opening, reqAt), closeAt, decider().CloseDeOficio(sys))
	wantTypes(t, o.Events(), "cases.CaseClosedDeOficio", "email.Requested", "cases.DesistimientoIssued",
		"cases.NotificationMadeAvailable", "email.Requested")

	issued := o.Events()[2].(cases.DesistimientoIssued)
	f := issued.Facts
	if issued.ResolutionID != cases.ResolutionID(caseID) || issued.Number != "RD-"+number || !issued.IssuedAt.Equal(closeAt) {
		t.Fatalf("issued %+v", issued)
	}
	if !regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$`).MatchString(issued.VerificationCode) ||
		issued.VerificationCode != cases.VerificationCode([]byte("test-key"), caseID, 1, deadline) {
		t.Fatalf("code %q", issued.VerificationCode)
	}
	if f.IssuingBody != "Dirección Provincial de Madrid" || f.IssuingUnit != "UGA-Afiliacion" || f.CaseNumber != number ||
		f.CaseType != casia.Tramite || f.Authorization != auth || f.CCC != "28123456742" || f.NAF != "281234567840" ||
		f.RequestText != "Aporte el contrato de trabajo firmado." || !f.RequestedAt.Equal(reqAt) || f.RequestedBy != tramitador.ID ||
		f.TermDays != 20 || f.LastDay.String() != "2021-07-22" || !f.Deadline.Equal(deadline) || !f.ClosedAt.Equal(closeAt) ||
		f.Justificante != "J-"+number || f.AppealTermMonths != 1 || !strings.Contains(f.AppealBody, "Madrid") {
		t.Fatalf("facts %+v", f)
	}

	// 10 días naturales from Friday 23 July: last day Monday 2 August.
	notice := o.Events()[3].(cases.NotificationMadeAvailable)
	if notice.NotificationID != cases.NotificationID(caseID) || notice.ResolutionID != issued.ResolutionID || notice.Authorization != auth ||
		notice.AccessDays != 10 || notice.LastDay.String() != "2021-08-02" || !notice.RejectionDeadline.Equal(madrid(2021, 8, 3, 0, 0, 0)) {
		t.Fatalf("notice %+v", notice)
	}
	aviso := o.Events()[4].(cases.EmailRequested)
	if aviso.Template != cases.TemplateDesistimientoAviso || aviso.To != contact || aviso.EmailID != cases.EmailID(caseID, 2) ||
		!strings.Contains(aviso.Body, "Sede Electrónica") || !strings.Contains(aviso.Body, "2 de agosto de 2021") ||
		!strings.Contains(aviso.Subject, issued.Number) {
		t.Fatalf("aviso %+v", aviso)
	}
	closedMail := o.Events()[1].(cases.EmailRequested)
	if !strings.Contains(closedMail.Body, "Resolución de Desistimiento") {
		t.Fatalf("closure email %+v", closedMail)
	}
	o.ThenState(t, func(t testing.TB, s cases.State) {
		d := s.Desistimiento
		if s.Status != cases.CerradoDeOficio || d == nil || d.NotificationState != cases.PuestaADisposicion ||
			d.VerificationCode != issued.VerificationCode || len(s.Emails) != 3 {
			t.Fatalf("state %+v desistimiento %+v", s, d)
		}
	})
}

func TestCloseDeOficioIsDeterministic(t *testing.T) {
	h := pendingCase(casia.Tramite, opening, reqAt)
	a := when(h, deadline.Add(time.Hour), decider().CloseDeOficio(sys)).Events()
	b := when(h, deadline.Add(time.Hour), decider().CloseDeOficio(sys)).Events()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatal("two decisions on the same state differ")
	}
}

func TestCloseDeOficioWithoutContactRecordsBothSkippedEmails(t *testing.T) {
	o := when(pendingCase(casia.Tramite, opening, reqAt), deadline, decider().CloseDeOficio(cases.SystemCommand{Actor: system}))
	wantTypes(t, o.Events(), "cases.CaseClosedDeOficio", "email.Skipped", "cases.DesistimientoIssued",
		"cases.NotificationMadeAvailable", "email.Skipped")
}

func TestCloseDeOficioProvinceFromTheNAFWhenThereIsNoCCC(t *testing.T) {
	h := pendingCase(casia.Tramite, opening, reqAt)
	op := h[0].(cases.CaseOpened)
	op.ExtraData = map[string]string{"naf": "231234567823"}
	h[0] = op
	o := when(h, deadline, decider().CloseDeOficio(sys))
	if f := o.Events()[2].(cases.DesistimientoIssued).Facts; f.IssuingBody != "Dirección Provincial de Jaén" || f.CCC != "" {
		t.Fatalf("facts %+v", f)
	}
}

func TestCloseDeOficioRules(t *testing.T) {
	d := decider()
	when(pendingCase(casia.Consulta, opening, reqAt), deadline, d.CloseDeOficio(cases.SystemCommand{Actor: tramitador})).ThenError(t, errs.Forbidden)
	when(pendingCase(casia.Consulta, opening, reqAt), deadline, d.CloseDeOficio(cases.SystemCommand{Actor: autorizado})).ThenError(t, errs.Forbidden)
	when(opened(casia.Consulta, opening), deadline, d.CloseDeOficio(sys)).ThenError(t, errs.Precondition)
	when(nil, deadline, d.CloseDeOficio(sys)).ThenError(t, errs.NotFound)
}

// closedTramite is a trámite closed de oficio at deadline, its notification
// at disposal until 2 August 2021 (deadline 3 August 00:00 in Madrid).
func closedTramite(t *testing.T) []any {
	h := pendingCase(casia.Tramite, opening, reqAt)
	return append(h, when(h, deadline, decider().CloseDeOficio(sys)).Events()...)
}

var rejection = madrid(2021, 8, 3, 0, 0, 0)

func TestAccessNotificationBeforeTheTerm(t *testing.T) {
	h := closedTramite(t)
	at := madrid(2021, 8, 2, 23, 59, 59)
	o := when(h, at, decider().AccessNotification(autorizado)).
		Then(t, cases.NotificationAccessed{NotificationID: cases.NotificationID(caseID), By: autorizado, At: at.UTC()})
	o.ThenState(t, func(t testing.TB, s cases.State) {
		if s.Desistimiento.NotificationState != cases.Accedida || !s.Desistimiento.AccessedAt.Equal(at) {
			t.Fatalf("%+v", s.Desistimiento)
		}
	})
	h = append(h, o.Events()...)
	when(h, at.Add(time.Hour), decider().AccessNotification(autorizado)).ThenNothing(t)
	when(h, rejection, decider().RejectNotification(sys)).ThenError(t, errs.Precondition)
}

func TestRejectNotificationTenDaysLater(t *testing.T) {
	h := closedTramite(t)
	when(h, rejection.Add(-time.Second), decider().RejectNotification(sys)).ThenError(t, errs.Precondition)
	o := when(h, rejection, decider().RejectNotification(sys)).
		Then(t, cases.NotificationRejected{NotificationID: cases.NotificationID(caseID), At: rejection.UTC()})
	o.ThenState(t, func(t testing.TB, s cases.State) {
		if s.Desistimiento.NotificationState != cases.Rechazada {
			t.Fatalf("%+v", s.Desistimiento)
		}
	})
	h = append(h, o.Events()...)
	when(h, rejection.Add(time.Hour), decider().AccessNotification(autorizado)).ThenError(t, errs.Precondition)
	when(h, rejection.Add(time.Hour), decider().RejectNotification(sys)).ThenError(t, errs.Precondition)
}

func TestNotificationAccessTermIsPlainCalendarDays(t *testing.T) {
	// Put at disposal on Thursday 22 July 2021: +10 is Sunday 1 August and
	// the term does not move to Monday (art. 43.2, see docs/cases.md).
	req := madrid(2021, 6, 30, 10, 0, 0) // +20 = Tuesday 20 July; deadline 21 July 00:00
	h := pendingCase(casia.Tramite, madrid(2021, 6, 29, 9, 0, 0), req)
	o := when(h, madrid(2021, 7, 22, 9, 0, 0), decider().CloseDeOficio(sys))
	n := o.Events()[3].(cases.NotificationMadeAvailable)
	if n.LastDay.String() != "2021-08-01" || !n.RejectionDeadline.Equal(madrid(2021, 8, 2, 0, 0, 0)) {
		t.Fatalf("notice %+v", n)
	}
}

func TestAccessNotificationRules(t *testing.T) {
	h := closedTramite(t)
	at := madrid(2021, 7, 26, 9, 0, 0)
	when(h, at, decider().AccessNotification(intruso)).ThenError(t, errs.Forbidden)
	when(h, at, decider().AccessNotification(tramitador)).ThenError(t, errs.Forbidden)
	when(h, rejection, decider().AccessNotification(autorizado)).ThenError(t, errs.Precondition)
	when(h, at, decider().RejectNotification(cases.SystemCommand{Actor: tramitador})).ThenError(t, errs.Forbidden)
	when(pendingCase(casia.Consulta, opening, reqAt), at, decider().AccessNotification(autorizado)).ThenError(t, errs.NotFound)
}

func TestEmailOutcomes(t *testing.T) {
	d := decider()
	h := pendingCase(casia.Consulta, opening, reqAt) // email 0 requested
	id := cases.EmailID(caseID, 0)
	at := reqAt.Add(time.Minute)
	fail := when(h, at, d.RecordEmailOutcome(cases.EmailOutcome{Actor: system, EmailID: id, Attempt: 1, Error: "connection refused"})).
		Then(t, cases.EmailFailed{EmailID: id, Attempt: 1, Error: "connection refused", At: at.UTC()})
	h = append(h, fail.Events()...)
	sent := when(h, at.Add(time.Minute), d.RecordEmailOutcome(cases.EmailOutcome{Actor: system, EmailID: id, Attempt: 2, Sent: true})).
		Then(t, cases.EmailSent{EmailID: id, Attempt: 2, At: at.Add(time.Minute).UTC()})
	sent.ThenState(t, func(t testing.TB, s cases.State) {
		if s.Emails[0].Status != cases.EmailStatusSent || s.Emails[0].Attempts != 2 {
			t.Fatalf("%+v", s.Emails)
		}
	})
	h = append(h, sent.Events()...)
	when(h, at.Add(time.Hour), d.RecordEmailOutcome(cases.EmailOutcome{Actor: system, EmailID: id, Attempt: 3, Sent: true})).ThenNothing(t)
	when(h, at, d.RecordEmailOutcome(cases.EmailOutcome{Actor: system, EmailID: "nope", Sent: true})).ThenError(t, errs.NotFound)
	when(h, at, d.RecordEmailOutcome(cases.EmailOutcome{Actor: tramitador, EmailID: id, Sent: true})).ThenError(t, errs.Forbidden)
}

func TestVerificationCode(t *testing.T) {
	a := cases.VerificationCode([]byte("k"), caseID, 1, deadline)
	if a != cases.VerificationCode([]byte("k"), caseID, 1, deadline.In(time.UTC)) {
		t.Fatal("not stable across time zones")
	}
	for _, other := range []string{
		cases.VerificationCode([]byte("k2"), caseID, 1, deadline),
		cases.VerificationCode([]byte("k"), caseID+"x", 1, deadline),
		cases.VerificationCode([]byte("k"), caseID, 2, deadline),
		cases.VerificationCode([]byte("k"), caseID, 1, deadline.Add(time.Second)),
	} {
		if other == a {
			t.Fatal("code does not depend on all its inputs")
		}
	}
	if got, ok := cases.NormalizeCode(strings.ToLower(strings.ReplaceAll(a, "-", " "))); !ok || got != a {
		t.Fatalf("NormalizeCode(%q) round trip failed: %q %v", a, got, ok)
	}
}

// TestNormalizeCode: a code typed by a person may differ in case, hyphens
// and spaces; anything else, or another length, is no code at all.
func TestNormalizeCode(t *testing.T) {
	const want = "P2ZG-6EKM-MSIS-MCND-2HXK-PJ2A"
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{want, true},
		{"p2zg6ekmmsismcnd2hxkpj2a", true},
		{" P2ZG 6EKM-MSIS MCND-2HXK PJ2A ", true},
		{"P2ZG-6EKM-MSIS-MCND-2HXK-PJ2A-0000-1111", false}, // 0 and 1 are not of the alphabet
		{"P2ZG0-6EKM1-MSIS8-MCND9-2HXK-PJ2A", false},
		{"P2ZG-6EKM-MSIS-MCND-2HXK-PJ2", false},   // 23
		{"P2ZG-6EKM-MSIS-MCND-2HXK-PJ2AA", false}, // 25
		{"P2ZG-6EKM-MSIS-MCND-2HXK-PJ2Á", false},
		{"P2ZG_6EKM_MSIS_MCND_2HXK_PJ2A", false},
		{"", false},
	} {
		got, ok := cases.NormalizeCode(tc.in)
		if ok != tc.ok || (ok && got != want) {
			t.Errorf("NormalizeCode(%q) = %q, %v; want ok=%v", tc.in, got, ok, tc.ok)
		}
	}
}

// FuzzNormalizeCode: whatever is typed, an accepted code is 24 characters
// of the alphabet grouped by four, and normalizing it again changes nothing.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"P2ZG-6EKM-MSIS-MCND-2HXK-PJ2A", "p2zg6ekmmsismcnd2hxkpj2a", "P2ZG0-6EKM1", "", "----", "ÁÁ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := cases.NormalizeCode(s)
		if !ok {
			return
		}
		if len(got) != 29 || strings.Count(got, "-") != 5 {
			t.Fatalf("NormalizeCode(%q) = %q", s, got)
		}
		for i, r := range got {
			if i%5 == 4 {
				if r != '-' {
					t.Fatalf("NormalizeCode(%q) = %q: no hyphen at %d", s, got, i)
				}
			} else if (r < 'A' || r > 'Z') && (r < '2' || r > '7') {
				t.Fatalf("NormalizeCode(%q) = %q: %q is not of the alphabet", s, got, r)
			}
		}
		if again, ok := cases.NormalizeCode(got); !ok || again != got {
			t.Fatalf("NormalizeCode(%q) = %q, again %q %v", s, got, again, ok)
		}
	})
}

func TestDeadlines(t *testing.T) {
	h := closedTramite(t)
	req := h[2].(cases.InformationRequested)
	ch := cases.Deadlines(caseID, req)
	if len(ch) != 1 || ch[0].Action != cases.ActionCloseDeOficio || ch[0].Clear || !ch[0].Due.Equal(deadline) ||
		ch[0].Key != caseID+"/close_de_oficio" || ch[0].CaseID != caseID {
		t.Fatalf("request: %+v", ch)
	}
	for _, ev := range []any{cases.InformationProvided{}, cases.CaseResolved{}, cases.CaseClosedMisfiled{}, cases.CaseClosedDeOficio{}} {
		ch := cases.Deadlines(caseID, ev)
		if len(ch) != 1 || !ch[0].Clear || ch[0].Key != caseID+"/close_de_oficio" {
			t.Fatalf("%T: %+v", ev, ch)
		}
	}
	var notice cases.NotificationMadeAvailable
	for _, e := range h {
		if n, ok := e.(cases.NotificationMadeAvailable); ok {
			notice = n
		}
	}
	ch = cases.Deadlines(caseID, notice)
	if len(ch) != 1 || ch[0].Action != cases.ActionRejectNotification || !ch[0].Due.Equal(rejection) {
		t.Fatalf("notice: %+v", ch)
	}
	for _, ev := range []any{cases.NotificationAccessed{}, cases.NotificationRejected{}} {
		ch := cases.Deadlines(caseID, ev)
		if len(ch) != 1 || !ch[0].Clear || ch[0].Action != cases.ActionRejectNotification {
			t.Fatalf("%T: %+v", ev, ch)
		}
	}
	if cases.Deadlines(caseID, cases.ReplyAdded{}) != nil {
		t.Fatal("a reply changes deadlines")
	}
}

func TestEvolveDoesNotMutateThePreviousState(t *testing.T) {
	s1 := cases.Fold(pendingCase(casia.Tramite, opening, reqAt)...)
	s2 := cases.Apply(s1, cases.InformationProvided{RequestNo: 1, Text: "x", By: autorizado, At: later.UTC(),
		Documents: []cases.Document{{ID: "d"}}})
	s2.ExtraData["ccc"] = "changed"
	if s1.PendingRequest == nil || len(s1.Thread) != 2 || len(s1.Documents) != 0 || s1.ExtraData["ccc"] == "changed" {
		t.Fatalf("previous state changed: %+v", s1)
	}
	if s2.PendingRequest != nil || len(s2.Thread) != 3 {
		t.Fatalf("new state %+v", s2)
	}
}

func TestCodecKnowsEveryEventType(t *testing.T) {
	c := cases.NewCodec()
	if len(c.Names()) != 18 {
		t.Fatalf("codec names %v", c.Names())
	}
	for _, n := range c.Names() {
		if c.Version(n) != cases.SchemaVersion {
			t.Errorf("%s at version %d", n, c.Version(n))
		}
	}
}
