package nss_test

import (
	"strings"
	"testing"
	"time"

	"redengine/commands/scenario"
	"redengine/domain/calendar"
	"redengine/domain/nss"
	"redengine/errs"
	"redengine/eventstore"
)

// The worked example: the NSS is assigned on Monday 5 July 2021 at 10:00
// in Madrid. The alta may be asked for until the end of Thursday 8 July
// (00:00 of Friday 9 July, Madrid = 22:00 UTC on the 8th), with a Fecha Real
// from 5 to 8 July.

const (
	assignmentID = "0b6c1c1e-8f4e-5a3c-9d61-1f2e3d4c5b6a"
	authz        = "AUT0001"
	workedNSS    = "281234567840" // province 28, number 12345678, DC 40 (reference §5)
)

var (
	autorizado = eventstore.Actor{ID: "ana", Role: nss.RoleAutorizado, Authorization: authz}
	otherAutz  = eventstore.Actor{ID: "eva", Role: nss.RoleAutorizado, Authorization: "AUT0002"}
	tramitador = eventstore.Actor{ID: "tgss-7", Role: nss.RoleTramitador}
	auditor    = eventstore.Actor{ID: "aud-1", Role: nss.RoleAuditor}
	system     = eventstore.Actor{ID: "scheduler", Role: nss.RoleSystem}
	principal  = nss.Recipient{UsuarioPrincipal: "ana", Email: "contacto@gestoria.example"}
)

func at(t testing.TB, y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, madrid(t))
}

func day(y int, m time.Month, d int) calendar.Date { return calendar.Date{Year: y, Month: m, Day: d} }

func person(t testing.TB) nss.Person {
	t.Helper()
	p, err := nss.Validate(validRequest(), nss.DefaultPolicy(nss.DefaultCatalogue()), requestDay(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func requested(t testing.TB) []any {
	reqAt := at(t, 2021, 7, 5, 9, 55, 0)
	return []any{
		nss.AssignmentRequested{AssignmentID: assignmentID, Authorization: authz, RequestedBy: "ana", Person: person(t), RequestedAt: reqAt},
		nss.IdentityVerified{Verifier: "builtin", VerifiedAt: reqAt},
	}
}

// assignedOn is the NSSAssigned of an assignment confirmed at t.
func assignedOn(t time.Time) nss.NSSAssigned {
	d := calendar.DateOf(t.In(t.Location()))
	return nss.NSSAssigned{NSS: workedNSS, Province: "28", AssignedAt: t, AssignmentDate: d,
		AltaLastDay: d.AddDays(3), AltaDeadline: nss.AltaDeadline(t)}
}

func assignedScenario(t testing.TB) scenario.Scenario[nss.State] {
	return scenario.For(nss.Aggregate()).Given(requested(t)...).Given(assignedOn(at(t, 2021, 7, 5, 10, 0, 0)))
}

func TestRequestAssignment(t *testing.T) {
	now := at(t, 2021, 7, 5, 9, 55, 0)
	ok := nss.NewAssignment{AssignmentID: assignmentID, Authorization: authz, Person: person(t),
		Verification: nss.Verification{Verifier: "builtin", Valid: true}}
	s := scenario.For(nss.Aggregate()).At(now)

	t.Run("pending confirmation", func(t *testing.T) {
		s.When(nss.RequestAssignment(ok, autorizado)).Then(t, requested(t)...).
			ThenState(t, func(t testing.TB, st nss.State) {
				if st.Status != nss.StatusPendingConfirmation || st.ID != assignmentID || st.Authorization != authz || st.Verifier != "builtin" {
					t.Errorf("state = %+v", st)
				}
			})
	})
	t.Run("another autorización", func(t *testing.T) {
		s.When(nss.RequestAssignment(ok, otherAutz)).ThenError(t, errs.Forbidden)
	})
	t.Run("a tramitador", func(t *testing.T) {
		s.When(nss.RequestAssignment(ok, tramitador)).ThenError(t, errs.Forbidden)
	})
	t.Run("document not valid", func(t *testing.T) {
		bad := ok
		bad.Verification = nss.Verification{Verifier: "http", Valid: false, Reason: "el DNI no consta"}
		s.When(nss.RequestAssignment(bad, autorizado)).ThenErrorField(t, "documentNumber")
	})
	t.Run("identity not checked", func(t *testing.T) {
		bad := ok
		bad.Verification = nss.Verification{}
		s.When(nss.RequestAssignment(bad, autorizado)).ThenError(t, errs.Precondition)
	})
	t.Run("already requested", func(t *testing.T) {
		s.Given(requested(t)...).When(nss.RequestAssignment(ok, autorizado)).ThenError(t, errs.Precondition)
	})
}

func TestConfirm(t *testing.T) {
	pending := scenario.For(nss.Aggregate()).Given(requested(t)...)
	now := at(t, 2021, 7, 5, 10, 0, 0)

	t.Run("assigns the NSS and opens the window", func(t *testing.T) {
		want := nss.NSSAssigned{NSS: workedNSS, Province: "28", AssignedAt: now, AssignmentDate: day(2021, 7, 5),
			AltaLastDay: day(2021, 7, 8), AltaDeadline: at(t, 2021, 7, 9, 0, 0, 0)}
		pending.At(now).When(nss.Confirm(workedNSS, autorizado)).Then(t, want).
			ThenState(t, func(t testing.TB, st nss.State) {
				if st.Status != nss.StatusAssigned || st.NSS != workedNSS {
					t.Errorf("state = %+v", st)
				}
				if got := st.AltaDeadline.In(madrid(t)).Format(time.RFC3339); got != "2021-07-09T00:00:00+02:00" {
					t.Errorf("deadline in Madrid = %s", got)
				}
			})
	})
	t.Run("a retry with the same NSS decides nothing", func(t *testing.T) {
		assignedScenario(t).At(now.Add(time.Minute)).When(nss.Confirm(workedNSS, autorizado)).ThenNothing(t)
	})
	t.Run("an NSS of another province", func(t *testing.T) {
		pending.At(now).When(nss.Confirm("231234567823", autorizado)).ThenError(t, errs.Internal)
	})
	t.Run("another autorización", func(t *testing.T) {
		pending.At(now).When(nss.Confirm(workedNSS, otherAutz)).ThenError(t, errs.Forbidden)
	})
	t.Run("cancelled", func(t *testing.T) {
		pending.Given(nss.AssignmentCancelled{CancelledAt: now}).At(now).When(nss.Confirm(workedNSS, autorizado)).ThenError(t, errs.Precondition)
	})
	t.Run("no such assignment", func(t *testing.T) {
		scenario.For(nss.Aggregate()).When(nss.Confirm(workedNSS, autorizado)).ThenError(t, errs.NotFound)
	})
	t.Run("just after midnight in Madrid is the next day", func(t *testing.T) {
		// 22:30 UTC on 5 July is 00:30 on 6 July in Madrid.
		utc := time.Date(2021, 7, 5, 22, 30, 0, 0, time.UTC)
		pending.At(utc).When(nss.Confirm(workedNSS, autorizado)).ThenState(t, func(t testing.TB, st nss.State) {
			if st.AssignmentDate != day(2021, 7, 6) || st.AltaLastDay != day(2021, 7, 9) ||
				!st.AltaDeadline.Equal(time.Date(2021, 7, 9, 22, 0, 0, 0, time.UTC)) {
				t.Errorf("date %v, last day %v, deadline %v", st.AssignmentDate, st.AltaLastDay, st.AltaDeadline)
			}
		})
	})
}

// TestAltaDeadlineDST: the window is counted in Madrid calendar days across
// the daylight-saving changes.
func TestAltaDeadlineDST(t *testing.T) {
	cases := []struct {
		assigned time.Time
		utc      string // the deadline as an instant
		local    string // the same in Madrid
	}{
		// Friday 26 March 2021, 23:30 CET; the clocks go forward on Sunday
		// 28 March; the window ends at 00:00 CEST on Tuesday 30 March.
		{at(t, 2021, 3, 26, 23, 30, 0), "2021-03-29T22:00:00Z", "2021-03-30T00:00:00+02:00"},
		// Friday 29 October 2021 in CEST; the clocks go back on Sunday 31
		// October; the window ends at 00:00 CET on Tuesday 2 November.
		{at(t, 2021, 10, 29, 12, 0, 0), "2021-11-01T23:00:00Z", "2021-11-02T00:00:00+01:00"},
		// Assigned on the change day itself, in the repeated hour.
		{time.Date(2021, 10, 31, 0, 30, 0, 0, time.UTC), "2021-11-03T23:00:00Z", "2021-11-04T00:00:00+01:00"},
		// Year end: 30 December → ends at 00:00 on 3 January.
		{at(t, 2021, 12, 30, 18, 0, 0), "2022-01-02T23:00:00Z", "2022-01-03T00:00:00+01:00"},
		// No extension for weekends or holidays: assigned Thursday 23
		// December 2021, the window ends with Sunday 26 December.
		{at(t, 2021, 12, 23, 9, 0, 0), "2021-12-26T23:00:00Z", "2021-12-27T00:00:00+01:00"},
	}
	for _, tc := range cases {
		got := nss.AltaDeadline(tc.assigned)
		if got.UTC().Format(time.RFC3339) != tc.utc || got.In(madrid(t)).Format(time.RFC3339) != tc.local {
			t.Errorf("AltaDeadline(%v) = %v / %v, want %s / %s", tc.assigned, got.UTC(), got.In(madrid(t)), tc.utc, tc.local)
		}
	}

	// And the decisions around the March deadline: the alta is accepted at
	// 23:59:59 CEST on Monday 29 March and the NSS eliminated at 00:00.
	assigned := at(t, 2021, 3, 26, 23, 30, 0)
	s := scenario.For(nss.Aggregate()).Given(requested(t)...).Given(assignedOn(assigned))
	s.At(at(t, 2021, 3, 29, 23, 59, 59)).When(nss.RequestAlta(day(2021, 3, 29), autorizado)).
		Then(t, nss.AltaRequested{FechaReal: day(2021, 3, 29), Authorization: authz, RequestedAt: at(t, 2021, 3, 29, 23, 59, 59)})
	s.At(at(t, 2021, 3, 30, 0, 0, 0)).When(nss.RequestAlta(day(2021, 3, 29), autorizado)).ThenError(t, errs.Precondition)
	s.At(at(t, 2021, 3, 29, 23, 59, 59)).When(nss.Eliminate(system, principal)).ThenError(t, errs.Precondition)
	s.At(at(t, 2021, 3, 30, 0, 0, 0)).When(nss.Eliminate(system, principal)).ThenState(t, func(t testing.TB, st nss.State) {
		if st.Status != nss.StatusEliminated {
			t.Errorf("status = %s", st.Status)
		}
	})
}

func TestRequestAlta(t *testing.T) {
	s := assignedScenario(t)
	day3 := at(t, 2021, 7, 8, 18, 0, 0)

	t.Run("day 3 with fechaReal = assignment + 3", func(t *testing.T) {
		s.At(day3).When(nss.RequestAlta(day(2021, 7, 8), autorizado)).
			Then(t, nss.AltaRequested{FechaReal: day(2021, 7, 8), Authorization: authz, RequestedAt: day3}).
			ThenState(t, func(t testing.TB, st nss.State) {
				if st.Status != nss.StatusAltaRequested || st.FechaReal != day(2021, 7, 8) {
					t.Errorf("state = %+v", st)
				}
			})
	})
	t.Run("fechaReal = assignment date", func(t *testing.T) {
		s.At(day3).When(nss.RequestAlta(day(2021, 7, 5), autorizado)).ThenState(t, func(testing.TB, nss.State) {})
	})
	t.Run("last second of day 3", func(t *testing.T) {
		s.At(at(t, 2021, 7, 8, 23, 59, 59)).When(nss.RequestAlta(day(2021, 7, 6), autorizado)).ThenState(t, func(testing.TB, nss.State) {})
	})
	t.Run("day 4 refused", func(t *testing.T) {
		o := s.At(at(t, 2021, 7, 9, 0, 0, 0)).When(nss.RequestAlta(day(2021, 7, 8), autorizado)).ThenError(t, errs.Precondition)
		if m := errs.MessageOf(o.Err()); !strings.Contains(m, "8 de julio de 2021") {
			t.Errorf("message %q does not name the last day", m)
		}
	})
	t.Run("fechaReal before the assignment", func(t *testing.T) {
		s.At(day3).When(nss.RequestAlta(day(2021, 7, 4), autorizado)).ThenErrorField(t, "fechaReal")
	})
	t.Run("fechaReal more than 3 days after", func(t *testing.T) {
		s.At(day3).When(nss.RequestAlta(day(2021, 7, 9), autorizado)).ThenErrorField(t, "fechaReal")
	})
	t.Run("fechaReal missing", func(t *testing.T) {
		s.At(day3).When(nss.RequestAlta(calendar.Date{}, autorizado)).ThenErrorField(t, "fechaReal")
	})
	t.Run("only the generating autorización", func(t *testing.T) {
		s.At(day3).When(nss.RequestAlta(day(2021, 7, 8), otherAutz)).ThenError(t, errs.Forbidden)
		s.At(day3).When(nss.RequestAlta(day(2021, 7, 8), tramitador)).ThenError(t, errs.Forbidden)
	})
	t.Run("twice", func(t *testing.T) {
		s.Given(nss.AltaRequested{FechaReal: day(2021, 7, 6), Authorization: authz, RequestedAt: day3}).
			At(day3).When(nss.RequestAlta(day(2021, 7, 8), autorizado)).ThenError(t, errs.Precondition)
	})
	t.Run("before confirming", func(t *testing.T) {
		scenario.For(nss.Aggregate()).Given(requested(t)...).At(day3).
			When(nss.RequestAlta(day(2021, 7, 8), autorizado)).ThenError(t, errs.Precondition)
	})
}

func TestEliminate(t *testing.T) {
	s := assignedScenario(t)
	day4 := at(t, 2021, 7, 9, 0, 0, 0)
	subject := "Sistema RED: eliminación del NSS 28/12345678/40"

	t.Run("no alta: eliminated at 00:00 on day 4", func(t *testing.T) {
		o := s.At(day4).When(nss.Eliminate(system, principal))
		ev := o.Events()
		if len(ev) != 3 {
			t.Fatalf("events = %#v", ev)
		}
		if e, ok := ev[0].(nss.NSSEliminated); !ok || e.NSS != workedNSS || e.Reason != nss.ReasonNoAlta || !e.EliminatedAt.Equal(day4) {
			t.Errorf("event 0 = %#v", ev[0])
		}
		c, ok := ev[1].(nss.CommunicationRequested)
		if !ok || c.Authorization != authz || c.UsuarioPrincipal != "ana" || c.Kind != nss.CommunicationKindNSSEliminated ||
			c.Subject != subject || !strings.Contains(c.Body, "tres días naturales") || strings.Contains(c.Body, "12345678Z") {
			t.Errorf("event 1 = %#v", ev[1])
		}
		m, ok := ev[2].(nss.EmailRequested)
		if !ok || m.To != principal.Email || m.Subject != subject || m.EmailID != nss.EmailID(assignmentID) ||
			m.Template != nss.EmailTemplateNSSEliminated || m.Body != c.Body || !m.At.Equal(day4) {
			t.Errorf("event 2 = %#v", ev[2])
		}
		o.Then(t, ev...).ThenState(t, func(t testing.TB, st nss.State) {
			if st.Status != nss.StatusEliminated || st.EliminationReason != nss.ReasonNoAlta {
				t.Errorf("state = %+v", st)
			}
		})
	})
	t.Run("no contact email: communication and EmailSkipped", func(t *testing.T) {
		o := s.At(day4).When(nss.Eliminate(system, nss.Recipient{UsuarioPrincipal: "ana"}))
		ev := o.Events()
		if len(ev) != 3 {
			t.Fatalf("events = %#v", ev)
		}
		if sk, ok := ev[2].(nss.EmailSkipped); !ok || sk.Reason != nss.NoContactReason || sk.EmailID != nss.EmailID(assignmentID) {
			t.Errorf("event 2 = %#v", ev[2])
		}
		o.ThenState(t, func(t testing.TB, st nss.State) {
			if len(st.Emails) != 1 || st.Emails[0].Status != nss.EmailStatusSkipped {
				t.Errorf("emails = %+v", st.Emails)
			}
		})
	})
	t.Run("before the deadline", func(t *testing.T) {
		s.At(day4.Add(-time.Nanosecond)).When(nss.Eliminate(system, principal)).ThenError(t, errs.Precondition)
	})
	t.Run("only the system", func(t *testing.T) {
		s.At(day4).When(nss.Eliminate(tramitador, principal)).ThenError(t, errs.Forbidden)
		s.At(day4).When(nss.Eliminate(autorizado, principal)).ThenError(t, errs.Forbidden)
	})
	t.Run("alta requested in time", func(t *testing.T) {
		s.Given(nss.AltaRequested{FechaReal: day(2021, 7, 8), Authorization: authz, RequestedAt: day4.Add(-time.Hour)}).
			At(day4).When(nss.Eliminate(system, principal)).ThenError(t, errs.Precondition)
	})
	t.Run("a repeated pass decides nothing", func(t *testing.T) {
		s.Given(nss.NSSEliminated{NSS: workedNSS, Reason: nss.ReasonNoAlta, EliminatedAt: day4}).
			At(day4.Add(time.Minute)).When(nss.Eliminate(system, principal)).ThenNothing(t)
	})
}

func TestRecordEmailOutcome(t *testing.T) {
	day4 := at(t, 2021, 7, 9, 0, 0, 0)
	s := assignedScenario(t).At(day4)
	eliminated := s.Given(s.When(nss.Eliminate(system, principal)).Events()...)
	id := nss.EmailID(assignmentID)
	later := day4.Add(time.Minute)

	eliminated.At(later).When(nss.RecordEmailOutcome(nss.EmailOutcome{EmailID: id, Attempt: 1, Error: "421 try later"}, system)).
		Then(t, nss.EmailFailed{EmailID: id, Attempt: 1, Error: "421 try later", At: later})
	sent := eliminated.At(later).When(nss.RecordEmailOutcome(nss.EmailOutcome{EmailID: id, Attempt: 2, Sent: true}, system)).
		Then(t, nss.EmailSent{EmailID: id, Attempt: 2, At: later})
	sent.ThenState(t, func(t testing.TB, st nss.State) {
		if len(st.Emails) != 1 || st.Emails[0].Status != nss.EmailStatusSent || st.Emails[0].Attempts != 2 {
			t.Errorf("emails = %+v", st.Emails)
		}
	})
	eliminated.Given(nss.EmailSent{EmailID: id, Attempt: 1, At: later}).At(later).
		When(nss.RecordEmailOutcome(nss.EmailOutcome{EmailID: id, Attempt: 2, Sent: true}, system)).ThenNothing(t)
	eliminated.At(later).When(nss.RecordEmailOutcome(nss.EmailOutcome{EmailID: "nope", Sent: true}, system)).ThenError(t, errs.NotFound)
	eliminated.At(later).When(nss.RecordEmailOutcome(nss.EmailOutcome{EmailID: id, Sent: true}, tramitador)).ThenError(t, errs.Forbidden)
	skipped := s.Given(s.When(nss.Eliminate(system, nss.Recipient{})).Events()...)
	skipped.At(later).When(nss.RecordEmailOutcome(nss.EmailOutcome{EmailID: id, Sent: true}, system)).ThenError(t, errs.Precondition)
}

func TestAnnulAlta(t *testing.T) {
	altaAt := at(t, 2021, 7, 6, 11, 0, 0)
	s := assignedScenario(t).Given(nss.AltaRequested{FechaReal: day(2021, 7, 6), Authorization: authz, RequestedAt: altaAt})
	now := at(t, 2021, 7, 7, 9, 0, 0)

	for _, by := range []eventstore.Actor{autorizado, tramitador, system} {
		t.Run("by "+by.Role, func(t *testing.T) {
			o := s.At(now).When(nss.AnnulAlta(by, principal))
			ev := o.Events()
			if len(ev) != 4 {
				t.Fatalf("events = %#v", ev)
			}
			if _, ok := ev[0].(nss.AltaAnnulled); !ok {
				t.Errorf("event 0 = %#v", ev[0])
			}
			if e, ok := ev[1].(nss.NSSEliminated); !ok || e.Reason != nss.ReasonAltaAnnulled {
				t.Errorf("event 1 = %#v", ev[1])
			}
			if c, ok := ev[2].(nss.CommunicationRequested); !ok || !strings.Contains(c.Body, "anulada") {
				t.Errorf("event 2 = %#v", ev[2])
			}
			o.ThenState(t, func(t testing.TB, st nss.State) {
				if st.Status != nss.StatusEliminated || st.EliminationReason != nss.ReasonAltaAnnulled {
					t.Errorf("state = %+v", st)
				}
			})
		})
	}
	t.Run("another autorización", func(t *testing.T) {
		s.At(now).When(nss.AnnulAlta(otherAutz, principal)).ThenError(t, errs.Forbidden)
	})
	t.Run("no alta to annul", func(t *testing.T) {
		assignedScenario(t).At(now).When(nss.AnnulAlta(autorizado, principal)).ThenError(t, errs.Precondition)
	})
	t.Run("consolidated", func(t *testing.T) {
		s.Given(nss.AltaConsolidated{ConsolidatedAt: now}).At(now).When(nss.AnnulAlta(tramitador, principal)).ThenError(t, errs.Precondition)
	})
}

func TestConsolidate(t *testing.T) {
	altaAt := at(t, 2021, 7, 8, 11, 0, 0)
	s := assignedScenario(t).Given(nss.AltaRequested{FechaReal: day(2021, 7, 8), Authorization: authz, RequestedAt: altaAt})
	now := at(t, 2021, 7, 12, 9, 0, 0) // after the window: consolidation has no deadline

	s.At(now).When(nss.Consolidate(tramitador)).Then(t, nss.AltaConsolidated{ConsolidatedAt: now}).
		ThenState(t, func(t testing.TB, st nss.State) {
			if st.Status != nss.StatusConsolidated {
				t.Errorf("status = %s", st.Status)
			}
			if err := nss.CanIssueDuplicate(st); err != nil {
				t.Errorf("CanIssueDuplicate = %v", err)
			}
		})
	s.At(now).When(nss.Consolidate(system)).Then(t, nss.AltaConsolidated{ConsolidatedAt: now})
	s.At(now).When(nss.Consolidate(autorizado)).ThenError(t, errs.Forbidden)
	assignedScenario(t).At(now).When(nss.Consolidate(tramitador)).ThenError(t, errs.Precondition)
	s.Given(nss.AltaConsolidated{ConsolidatedAt: now}).At(now).When(nss.Consolidate(tramitador)).ThenError(t, errs.Precondition)
}

func TestCancel(t *testing.T) {
	now := at(t, 2021, 7, 5, 9, 58, 0)
	pending := scenario.For(nss.Aggregate()).Given(requested(t)...)
	pending.At(now).When(nss.Cancel(autorizado)).Then(t, nss.AssignmentCancelled{CancelledAt: now}).
		ThenState(t, func(t testing.TB, st nss.State) {
			if st.Status != nss.StatusCancelled {
				t.Errorf("status = %s", st.Status)
			}
		})
	pending.At(now).When(nss.Cancel(otherAutz)).ThenError(t, errs.Forbidden)
	assignedScenario(t).At(now).When(nss.Cancel(autorizado)).ThenError(t, errs.Precondition)
	pending.Given(nss.AssignmentCancelled{CancelledAt: now}).At(now).When(nss.Cancel(autorizado)).ThenError(t, errs.Precondition)
}

func TestDuplicatePrecondition(t *testing.T) {
	now := at(t, 2021, 7, 8, 11, 0, 0)
	alta := nss.AltaRequested{FechaReal: day(2021, 7, 8), Authorization: authz, RequestedAt: now}
	cases := []struct {
		name   string
		given  []any
		kind   errs.Kind
		phrase string
	}{
		{"none", nil, errs.NotFound, "no existe"},
		{"pending", requested(t), errs.Precondition, "pendiente de confirmación"},
		{"cancelled", append(requested(t), nss.AssignmentCancelled{CancelledAt: now}), errs.Precondition, "cancel"},
		{"assigned", append(requested(t), assignedOn(now)), errs.Precondition, "hasta que se solicite y consolide el primer alta"},
		{"alta requested", append(requested(t), assignedOn(now), alta), errs.Precondition, "aún no consolidada"},
		{"eliminated", append(requested(t), assignedOn(now), nss.NSSEliminated{NSS: workedNSS, Reason: nss.ReasonNoAlta}),
			errs.Precondition, "eliminado"},
		{"consolidated", append(requested(t), assignedOn(now), alta, nss.AltaConsolidated{ConsolidatedAt: now}), errs.Other, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := scenario.For(nss.Aggregate()).Given(tc.given...).State(t)
			err := nss.CanIssueDuplicate(st)
			if tc.kind == errs.Other {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if errs.KindOf(err) != tc.kind || !strings.Contains(errs.MessageOf(err), tc.phrase) {
				t.Fatalf("err = %v (kind %s), want %s with %q", err, errs.KindOf(err), tc.kind, tc.phrase)
			}
		})
	}
	consolidated := scenario.For(nss.Aggregate()).Given(append(requested(t), assignedOn(now), alta, nss.AltaConsolidated{ConsolidatedAt: now})...).State(t)
	for _, by := range []eventstore.Actor{autorizado, tramitador, auditor} {
		if err := nss.MayObtainDuplicate(consolidated, by); err != nil {
			t.Errorf("MayObtainDuplicate(%s) = %v", by.Role, err)
		}
	}
	for _, by := range []eventstore.Actor{otherAutz, system, {ID: "c", Role: "compliance"}} {
		if err := nss.MayObtainDuplicate(consolidated, by); !errs.Is(errs.Forbidden, err) {
			t.Errorf("MayObtainDuplicate(%s %s) = %v, want forbidden", by.Role, by.Authorization, err)
		}
	}
}

func TestDeadlines(t *testing.T) {
	assigned := assignedOn(at(t, 2021, 7, 5, 10, 0, 0))
	got := nss.Deadlines(assignmentID, assigned)
	want := nss.DeadlineChange{Key: assignmentID + "/eliminate_nss", AssignmentID: assignmentID, Action: nss.ActionEliminate,
		Due: assigned.AltaDeadline}
	if len(got) != 1 || got[0] != want || !got[0].Due.Equal(time.Date(2021, 7, 8, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("NSSAssigned → %+v, want %+v", got, want)
	}
	for _, ev := range []any{nss.AltaRequested{}, nss.NSSEliminated{}, nss.AssignmentCancelled{}} {
		c := nss.Deadlines(assignmentID, ev)
		if len(c) != 1 || !c[0].Clear || c[0].Key != nss.DeadlineKey(assignmentID) || c[0].Action != nss.ActionEliminate {
			t.Errorf("%T → %+v; want a clear", ev, c)
		}
	}
	for _, ev := range []any{nss.AltaConsolidated{}, nss.IdentityVerified{}, nss.AltaAnnulled{}, nss.AssignmentRequested{}} {
		if c := nss.Deadlines(assignmentID, ev); c != nil {
			t.Errorf("%T changes the deadline: %+v", ev, c)
		}
	}
}

// FuzzAltaWindow: for any assignment instant, an alta at any later instant
// with any Fecha Real is accepted exactly when the instant is before 00:00
// (Madrid) of the fourth day after the assignment day and the Fecha Real
// lies in the assignment day … + 3 days; the deadline is always a Madrid
// midnight between 3 and 4 days (± the DST hour) after the assignment.
func FuzzAltaWindow(f *testing.F) {
	f.Add(int64(1625472000), int64(3*86400), int8(3)) // 2021-07-05 10:00 CEST
	f.Add(int64(1616797800), int64(250000), int8(3))  // 2021-03-26 23:30 CET, DST change
	f.Add(int64(1635501600), int64(4*86400), int8(0)) // 2021-10-29 12:00 CEST
	f.Add(int64(1640883600), int64(-10), int8(-1))    // year end
	f.Fuzz(func(t *testing.T, assignedUnix, offset int64, fechaDays int8) {
		if assignedUnix < 0 || assignedUnix > 4102444800 || offset < 0 || offset > 10*86400 {
			t.Skip()
		}
		loc := madrid(t)
		assigned := time.Unix(assignedUnix, 0).In(loc)
		now := assigned.Add(time.Duration(offset) * time.Second)
		st := assignedOn(assigned)
		deadline := st.AltaDeadline.In(loc)
		if deadline.Hour() != 0 || deadline.Minute() != 0 || deadline.Second() != 0 {
			t.Fatalf("deadline %v is not a Madrid midnight", deadline)
		}
		if d := deadline.Sub(assigned); d <= 3*24*time.Hour-time.Hour || d > 4*24*time.Hour+time.Hour {
			t.Fatalf("deadline %v is %v after the assignment %v", deadline, d, assigned)
		}
		fecha := st.AssignmentDate.AddDays(int(fechaDays))
		s := scenario.For(nss.Aggregate()).Given(requested(t)...).Given(st).At(now)
		o := s.When(nss.RequestAlta(fecha, autorizado))
		inTime := now.Before(deadline)
		fechaOK := fechaDays >= 0 && fechaDays <= 3
		switch {
		case inTime && fechaOK:
			if o.Err() != nil {
				t.Fatalf("alta at %v with %v refused: %v", now, fecha, o.Err())
			}
		case !inTime:
			o.ThenError(t, errs.Precondition)
		default:
			o.ThenErrorField(t, "fechaReal")
		}
		el := s.When(nss.Eliminate(system, principal))
		if inTime != (el.Err() != nil) {
			t.Fatalf("eliminate at %v (deadline %v): %v", now, deadline, el.Err())
		}
	})
}
