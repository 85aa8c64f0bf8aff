package mailer_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"redengine/catalog/casia"
	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/domain/nss"
	"redengine/eventstore"
	"redengine/mailer"
)

// The real aggregates behind the recorder, wired the way the engine wires
// them: emails of a case and of an NSS assignment go through one mailer,
// and each outcome lands in the stream that asked for it.
func TestRecordsInTheDomainAggregates(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	tramitador := eventstore.Actor{ID: "t1", Role: cases.RoleTramitador}

	// A case stream and an assignment stream, each with an EmailRequested
	// (appended as the aggregates would, through their codecs).
	caseID, asgID := uuid.NewString(), uuid.NewString()
	caseMail, nssMail := cases.EmailID(caseID, 0), nss.EmailID(asgID)
	appendRaw := func(codec *commands.Codec, stream string, evs ...any) {
		t.Helper()
		var data []eventstore.EventData
		for _, ev := range evs {
			name, v, raw, err := codec.Encode(ev)
			if err != nil {
				t.Fatal(err)
			}
			data = append(data, eventstore.EventData{ID: uuid.New(), Type: name, SchemaVersion: v, Data: raw,
				Metadata: eventstore.Metadata{Actor: tramitador, OccurredAt: now}})
		}
		if _, err := e.store.Append(e.ctx, stream, eventstore.NoStream, data...); err != nil {
			t.Fatal(err)
		}
	}
	appendRaw(cases.NewCodec(), cases.Category+"-"+caseID,
		cases.CaseOpened{CaseID: caseID, Number: "2026/000001", Type: casia.Type("tramite"), Origin: cases.OriginTGSS,
			Authorization: "1234567", Subject: "Requerimiento", OpenedBy: tramitador, OpenedAt: now},
		cases.EmailRequested{EmailID: caseMail, Template: "caso_abierto_tgss", To: e.addr("caso"),
			Subject: "Caso 2026/000001", Body: "La TGSS ha abierto el caso 2026/000001.", At: now})
	appendRaw(nss.Codec(), nss.Category+"-"+asgID,
		nss.AssignmentRequested{AssignmentID: asgID, Authorization: "1234567", RequestedBy: "ana", RequestedAt: now},
		nss.EmailRequested{EmailID: nssMail, Template: nss.EmailTemplateNSSEliminated, To: e.addr("nss"),
			Subject: "NSS eliminado", Body: "Se ha eliminado el NSS asignado.", At: now})
	e.sync()

	caseHandler := commands.NewHandler(e.store, e.clock, cases.Aggregate())
	nssHandler := commands.NewHandler(e.store, e.clock, nss.Aggregate())
	decider := cases.NewDecider(casia.Default(), calendar.New(), []byte("clave"))
	recorder := mailer.ByCategory{
		cases.Category: mailer.CommandRecorder(caseHandler, func(o mailer.Outcome) commands.Decide[cases.State] {
			return decider.RecordEmailOutcome(cases.EmailOutcome{Actor: mailer.SystemActor(),
				EmailID: o.EmailID, Attempt: o.Attempt, Sent: o.Sent, Error: o.Error, Final: o.Final})
		}),
		nss.Category: mailer.CommandRecorder(nssHandler, func(o mailer.Outcome) commands.Decide[nss.State] {
			return nss.RecordEmailOutcome(nss.EmailOutcome{
				EmailID: o.EmailID, Attempt: o.Attempt, Sent: o.Sent, Error: o.Error, Final: o.Final}, mailer.SystemActor())
		}),
	}

	down := e.newMailer(e.smtpSender(closedAddr(t)), recorder, mailer.Options{})
	if p := e.pass(down); p.Failed != 2 || p.Recorded != 2 {
		t.Fatalf("pass with the server down = %+v", p)
	}
	e.clock.Advance(mailer.Backoff(1))
	accepted := counting(senderFunc(func(context.Context, mailer.Message) error { return nil }))
	up := e.newMailer(accepted, recorder, mailer.Options{})
	if p := e.pass(up); p.Sent != 2 {
		t.Fatalf("pass with the server up = %+v", p)
	}

	c, err := caseHandler.Load(e.ctx, caseID)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.State.Emails) != 1 || c.State.Emails[0].Status != cases.EmailStatusSent || c.State.Emails[0].Attempts != 2 {
		t.Fatalf("case emails = %+v", c.State.Emails)
	}
	a, err := nssHandler.Load(e.ctx, asgID)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.State.Emails) != 1 || a.State.Emails[0].Status != nss.EmailStatusSent {
		t.Fatalf("assignment emails = %+v", a.State.Emails)
	}
	for _, id := range []string{caseMail, nssMail} {
		if got := e.email(id); got.State != mailer.StateSent || got.Attempts != 2 || accepted.count(id) != 1 {
			t.Fatalf("%s: %+v, sent %d", id, got, accepted.count(id))
		}
	}
	// The outcome events carry the mailer's deterministic command ID.
	evs, err := e.store.ReadStream(e.ctx, cases.Category+"-"+caseID, 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	want := mailer.Outcome{EmailID: caseMail, Attempt: 2}.CommandID().String()
	if last.Type != cases.TypeEmailSent || last.Metadata.CommandID != want || last.Metadata.Actor != mailer.SystemActor() {
		t.Fatalf("last case event %s %+v", last.Type, last.Metadata)
	}

}
