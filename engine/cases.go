package engine

import (
	"context"
	"os"
	"strings"

	"github.com/google/uuid"

	"redengine/api"
	"redengine/catalog/casia"
	"redengine/commands"
	"redengine/domain/authorizations"
	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/mailer"
	"redengine/projections"
	"redengine/readmodels"
	"redengine/scheduler"
)

// numberAttempts is how many times an opening tries to reserve a case
// number while other openings race for the same year's sequence.
const numberAttempts = 100

// LegalCalendar returns the legal calendar: national holidays plus the
// dates of the REDENGINE_HOLIDAYS file, when configured.
func (e *Engine) LegalCalendar() (*calendar.Calendar, error) {
	const op = errs.Op("engine.LegalCalendar")
	if e.Config.Holidays == "" {
		return calendar.New(), nil
	}
	f, err := os.Open(e.Config.Holidays)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, "REDENGINE_HOLIDAYS: no se puede leer el fichero de festivos", err)
	}
	defer f.Close()
	extra, err := calendar.ParseHolidays(f)
	if err != nil {
		return nil, errs.E(op, "REDENGINE_HOLIDAYS", err)
	}
	return calendar.New(extra...), nil
}

// casesFeature wires the cases capability: its API module, its read model,
// the deadlines its events set (close_de_oficio, reject_notification), the
// commands the scheduler issues when they are due, and the recorder of the
// mailer's delivery outcomes on cases.
func (e *Engine) casesFeature(dir *api.Directory) (feature, error) {
	cal, err := e.LegalCalendar()
	if err != nil {
		return feature{}, err
	}
	key, err := e.Secret("verification-codes")
	if err != nil {
		return feature{}, err
	}
	dec := cases.NewDecider(casia.Default(), cal, key)
	handler := commands.NewHandler(e.Store, e.Clock, cases.Aggregate(), e.conflictHook())
	mod := &api.Cases{
		Cases:   handler,
		Numbers: commands.NewHandler(e.Store, e.Clock, cases.SequenceAggregate(), e.conflictHook(), commands.WithMaxAttempts(numberAttempts)),
		Decider: dec,
		Dir:     dir,
		Store:   e.Store,
		DB:      e.ReadDB,
		Clock:   e.Clock,
		// The projections runner starts after the features are built.
		Wait: func(ctx context.Context, pos eventstore.Position) error {
			return e.Projections.WaitFor(ctx, readmodels.CasesName, pos)
		},
	}
	d := caseDeadlines{cases: handler, auts: dir.Handler, decider: dec}
	return feature{
		Module:          mod,
		Projections:     []projections.Projection{readmodels.NewCases()},
		Deadlines:       d.mapEvent,
		DeadlineStreams: []string{cases.Category + "-"},
		Actions: map[string]scheduler.Dispatcher{
			cases.ActionCloseDeOficio:      d.closeDeOficio,
			cases.ActionRejectNotification: d.rejectNotification,
		},
		// The mailer records each delivery attempt on the case that asked
		// for the email (EmailSent, EmailFailed).
		Recorders: mailer.ByCategory{cases.Category: mailer.CommandRecorder(handler, func(o mailer.Outcome) commands.Decide[cases.State] {
			return dec.RecordEmailOutcome(cases.EmailOutcome{Actor: mailer.SystemActor(), EmailID: o.EmailID,
				Attempt: o.Attempt, Sent: o.Sent, Error: o.Error, Final: o.Final})
		})},
	}, nil
}

// caseDeadlines maps case events to scheduler deadlines and acts on them.
type caseDeadlines struct {
	cases   *commands.Handler[cases.State]
	auts    *commands.Handler[authorizations.State]
	decider *cases.Decider
}

// mapEvent turns cases.Deadlines into scheduler changes; the target is the
// case ID.
func (d caseDeadlines) mapEvent(ev eventstore.Event) ([]scheduler.Change, error) {
	caseID, ok := strings.CutPrefix(ev.Stream, cases.Category+"-")
	if !ok {
		return nil, nil
	}
	switch ev.Type {
	case cases.TypeInformationRequested, cases.TypeInformationProvided, cases.TypeCaseResolved,
		cases.TypeCaseClosedMisfiled, cases.TypeCaseClosedDeOficio, cases.TypeNotificationMadeAvailable,
		cases.TypeNotificationAccessed, cases.TypeNotificationRejected:
	default:
		return nil, nil
	}
	v, err := d.cases.Aggregate().Codec.Decode(ev)
	if err != nil {
		return nil, err
	}
	var out []scheduler.Change
	for _, c := range cases.Deadlines(caseID, v) {
		ch := scheduler.Change{Kind: scheduler.Set, DeadlineID: c.Key, DueAt: c.Due, Action: c.Action, Target: c.CaseID}
		if c.Clear {
			ch.Kind = scheduler.Clear
		}
		out = append(out, ch)
	}
	return out, nil
}

// systemMeta is the metadata of a command the scheduler issues for a due
// deadline.
func systemMeta(dl scheduler.Deadline, id uuid.UUID) commands.Meta {
	return commands.Meta{CommandID: id, CausationID: "deadline:" + dl.ID,
		Actor: eventstore.Actor{ID: "scheduler", Role: cases.RoleSystem}}
}

// closeDeOficio closes the case of a due close_de_oficio deadline, emailing
// the autorización's contact address. A case that no longer waits on that
// requerimiento (answered, resolved, closed) makes the deadline moot.
func (d caseDeadlines) closeDeOficio(ctx context.Context, dl scheduler.Deadline, id uuid.UUID) (scheduler.Outcome, error) {
	l, err := d.cases.Load(ctx, dl.Target)
	if err != nil {
		return 0, err
	}
	if !l.Exists {
		return 0, errs.E(errs.Op("engine.closeDeOficio"), errs.NotFound, "el caso "+dl.Target+" no existe")
	}
	contact := ""
	if l.State.Authorization != "" {
		a, err := d.auts.Load(ctx, l.State.Authorization)
		if err != nil {
			return 0, err
		}
		contact = a.State.ContactEmail
	}
	meta := systemMeta(dl, id)
	res, err := d.cases.Handle(ctx, dl.Target, meta, d.decider.CloseDeOficio(cases.SystemCommand{Actor: meta.Actor, Contact: contact}))
	return outcome(ctx, d.cases, dl, res.Duplicate, err, func(s cases.State) bool {
		due, ok := s.Deadline()
		return ok && due.Equal(dl.DueAt)
	})
}

// rejectNotification records that the notification of a due
// reject_notification deadline is deemed rejected.
func (d caseDeadlines) rejectNotification(ctx context.Context, dl scheduler.Deadline, id uuid.UUID) (scheduler.Outcome, error) {
	meta := systemMeta(dl, id)
	res, err := d.cases.Handle(ctx, dl.Target, meta, d.decider.RejectNotification(cases.SystemCommand{Actor: meta.Actor}))
	return outcome(ctx, d.cases, dl, res.Duplicate, err, func(s cases.State) bool {
		return s.Desistimiento != nil && s.Desistimiento.NotificationState == cases.PuestaADisposicion
	})
}

// outcome turns a command's result into the scheduler's: a repeat is
// AlreadyDone; a refusal (precondition) when the case no longer waits on
// the deadline is AlreadyDone too (moot); anything else is an error, and the
// next pass tries again.
func outcome(ctx context.Context, h *commands.Handler[cases.State], dl scheduler.Deadline, dup bool, err error, pending func(cases.State) bool) (scheduler.Outcome, error) {
	if err == nil {
		if dup {
			return scheduler.AlreadyDone, nil
		}
		return scheduler.Acted, nil
	}
	if errs.KindOf(err) != errs.Precondition {
		return 0, err
	}
	l, lerr := h.Load(ctx, dl.Target)
	if lerr != nil {
		return 0, lerr
	}
	if !pending(l.State) {
		return scheduler.AlreadyDone, nil
	}
	return 0, err
}
