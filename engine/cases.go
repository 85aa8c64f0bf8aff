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
		Numbers: cases.SequenceAggregate(),
		Decider: dec,
		Dir:     dir,
		Store:   e.Store,
		DB:      e.Reads,
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
	meta := scheduler.Meta(dl, id)
	res, err := d.cases.Handle(ctx, dl.Target, meta, d.decider.CloseDeOficio(cases.SystemCommand{Actor: meta.Actor, Contact: contact}))
	return outcome(ctx, d.cases, dl, res.Duplicate, err, func(s cases.State) bool {
		due, ok := s.Deadline()
		return ok && due.Equal(dl.DueAt)
	})
}

// rejectNotification records that the notification of a due
// reject_notification deadline is deemed rejected.
func (d caseDeadlines) rejectNotification(ctx context.Context, dl scheduler.Deadline, id uuid.UUID) (scheduler.Outcome, error) {
	meta := scheduler.Meta(dl, id)
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

// LoadDemoCases opens the demo cases for LoadDemo's autorizaciones (1000001,
// with a contact address, and 1000002, without): a consulta of Recaudación
// left abierto, a trámite waiting on a requerimiento (pendiente_informacion,
// closed de oficio once its 20 días naturales pass), an error_incidencia
// answered and resolved, and a case TGSS opened addressed to 1000001. Every
// command is keyed, so running it again appends nothing.
func (e *Engine) LoadDemoCases(ctx context.Context) error {
	cal, err := e.LegalCalendar()
	if err != nil {
		return err
	}
	key, err := e.Secret("verification-codes")
	if err != nil {
		return err
	}
	dec := cases.NewDecider(casia.Default(), cal, key)
	h := commands.NewHandler(e.Store, e.Clock, cases.Aggregate(), e.conflictHook())
	m := &api.Cases{Cases: h, Decider: dec, Clock: e.Clock, Store: e.Store, Numbers: cases.SequenceAggregate()}
	auts := commands.NewHandler(e.Store, e.Clock, authorizations.Aggregate())
	contact := func(number string) (string, error) {
		l, err := auts.Load(ctx, number)
		return l.State.ContactEmail, err
	}
	meta := func(k string, a eventstore.Actor) commands.Meta {
		return commands.Meta{CommandID: commands.IDFromKey("demo", "case-"+k), Actor: a}
	}
	ana := eventstore.Actor{ID: "ana.garcia", Role: cases.RoleAutorizado, Authorization: "1000001"}
	luis := eventstore.Actor{ID: "luis.martin", Role: cases.RoleAutorizado, Authorization: "1000002"}
	tram := eventstore.Actor{ID: "tramitador.1", Role: cases.RoleTramitador}
	c1, err := contact("1000001")
	if err != nil {
		return err
	}
	c2, err := contact("1000002")
	if err != nil {
		return err
	}
	open := func(k string, a eventstore.Actor, cmd cases.OpenCase) (string, error) {
		cmd.Actor = a
		res, err := m.Open(ctx, meta(k, a), cmd)
		if err != nil {
			return "", errs.E(errs.Op("engine.LoadDemoCases"), "caso de demostración "+k, err)
		}
		return res.State.ID, nil
	}
	then := func(k, id string, a eventstore.Actor, d commands.Decide[cases.State]) error {
		if _, err := h.Handle(ctx, id, meta(k, a), d); err != nil {
			return errs.E(errs.Op("engine.LoadDemoCases"), "caso de demostración "+k, err)
		}
		return nil
	}
	if _, err := open("consulta", ana, cases.OpenCase{Authorization: "1000001", Type: casia.Consulta,
		Materia: "Recaudación", Categoria: "Aplazamientos", Subcategoria: "Solicitud y requisitos",
		Subject: "Requisitos de un aplazamiento", Body: "¿Qué garantías se exigen para aplazar 40.000 €?",
		ExtraData: map[string]string{"ccc": "28123456742"}}); err != nil {
		return err
	}
	tr, err := open("tramite", ana, cases.OpenCase{Authorization: "1000001", Type: casia.Tramite,
		Materia: "Afiliación (altas y bajas)", Categoria: "Altas", Subcategoria: "Alta fuera de plazo",
		Subject: "Alta fuera de plazo de una trabajadora", Body: "Solicitamos el alta con Fecha Real 01/07/2021.",
		ExtraData: map[string]string{"ccc": "28123456742", "naf": "281234567840", "fechaReal": "2021-07-01"}})
	if err != nil {
		return err
	}
	if err := then("tramite-requerimiento", tr, tram, dec.RequestInformation(cases.TextCommand{Actor: tram,
		Text: "Aporte el contrato de trabajo firmado por ambas partes.", Contact: c1})); err != nil {
		return err
	}
	er, err := open("error", luis, cases.OpenCase{Authorization: "1000002", Type: casia.ErrorIncidencia,
		Materia: "Sistema RED", Categoria: "Remesas", Subcategoria: "Errores en el tratamiento de remesas",
		Subject: "La remesa devuelve un error", Body: "La remesa de ayer devuelve el error 9999.",
		ExtraData: map[string]string{"remesa": "R-0001"}})
	if err != nil {
		return err
	}
	if err := then("error-respuesta", er, tram, dec.Reply(cases.TextCommand{Actor: tram, Text: "Estamos revisando la remesa."})); err != nil {
		return err
	}
	if err := then("error-resolucion", er, tram, dec.Resolve(cases.TextCommand{Actor: tram,
		Text: "La remesa se ha reprocesado correctamente.", Contact: c2})); err != nil {
		return err
	}
	if _, err := open("tgss", tram, cases.OpenCase{Authorization: "1000001", Origin: cases.OriginTGSS, Type: casia.Consulta,
		Materia: "Afiliación (altas y bajas)", Categoria: "Variaciones de datos", Subcategoria: "Contrato y coeficiente de parcialidad",
		Subject: "Verificación del coeficiente de parcialidad", Body: "Confirme el coeficiente comunicado para la trabajadora indicada.",
		ExtraData: map[string]string{"ccc": "28123456742", "naf": "281234567840"}, Contact: c1}); err != nil {
		return err
	}
	e.Log.Info("demo cases loaded", "cases", 4)
	return nil
}
