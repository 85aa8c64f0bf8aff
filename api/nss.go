package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"redengine/auth"
	"redengine/catalog/places"
	"redengine/clock"
	"redengine/commands"
	"redengine/domain/authorizations"
	"redengine/domain/calendar"
	"redengine/domain/ident"
	"redengine/domain/nss"
	"redengine/domain/nss/nssdoc"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/identity"
	"redengine/readmodels"
	"redengine/scheduler"
)

// NSS serves the online NSS assignment (docs/nss.md): the request with its
// validation and identity check, confirmation and cancellation, the first
// alta and its annulment and consolidation, the elimination the scheduler
// runs, the duplicate of the assignment resolution, the localidades of a
// postal code and the read side.
//
// Personal data (document, names, phone, email, address, NSS) never goes
// into a log line, a metric, a URL this module builds or an error it words:
// errors name fields, not values.
type NSS struct {
	Assignments *commands.Handler[nss.State]
	People      *commands.Handler[nss.PersonReservation]
	Counters    *commands.Handler[nss.NumberCounter]
	Dir         *Directory
	Store       eventstore.Store
	DB          readmodels.Queryer // readmodels.db (a readmodels.Prepared)
	Clock       clock.Clock
	// Policy is the validation's configuration (accepted documents,
	// catalogue, minimum age).
	Policy nss.Policy
	// Localidades answers GET /v1/localidades.
	Localidades *places.Localidades
	// Verifier checks identity documents.
	Verifier identity.Verifier
	// PersonSecret keys nss.PersonKey; DocumentKey keys the verification
	// codes of the resolutions. Both must stay the same for the life of the
	// data.
	PersonSecret []byte
	DocumentKey  []byte
	// Wait returns when the NSS read model has reached pos, or an
	// errs.Unavailable error after a bounded wait.
	Wait func(ctx context.Context, pos eventstore.Position) error
	// OrphanGrace is how old a person reservation whose assignment was never
	// written must be before another request may take it over (a request
	// that failed between the two appends); 0 means DefaultOrphanGrace.
	OrphanGrace time.Duration
}

// DefaultOrphanGrace is the default NSS.OrphanGrace: long enough for a
// request in flight to write its assignment after reserving the person.
const DefaultOrphanGrace = 2 * time.Minute

var (
	nssAutorizados = []auth.Role{auth.Autorizado}
	nssReaders     = []auth.Role{auth.Autorizado, auth.Tramitador, auth.Auditor, auth.Compliance}
	nssAnnullers   = []auth.Role{auth.Autorizado, auth.Tramitador}
	nssTramitador  = []auth.Role{auth.Tramitador}
	nssLookups     = []auth.Role{auth.Tramitador, auth.Auditor, auth.Compliance}
	nssHistory     = []auth.Role{auth.Auditor, auth.Compliance}
	nssDuplicates  = []auth.Role{auth.Autorizado, auth.Tramitador, auth.Auditor}
	nssPlaces      = []auth.Role{auth.Autorizado, auth.Tramitador, auth.Auditor, auth.Compliance, auth.Admin}
)

// Routes of the module.
func (m *NSS) Routes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/v1/nss-assignments", Roles: nssAutorizados, Summary: "Request an NSS assignment", Handler: m.request},
		{Method: http.MethodGet, Path: "/v1/nss-assignments", Roles: nssReaders, Summary: "List NSS assignments", Handler: m.list},
		{Method: http.MethodGet, Path: "/v1/nss-assignments/:id", Roles: nssReaders, Summary: "One NSS assignment", Handler: m.get},
		{Method: http.MethodGet, Path: "/v1/nss-assignments/:id/history", Roles: nssHistory, Summary: "Every event of an NSS assignment", Handler: m.history},
		{Method: http.MethodPost, Path: "/v1/nss-assignments/:id/confirm", Roles: nssAutorizados, Summary: "Confirm: assign the NSS", Handler: m.confirm, NoBody: true},
		{Method: http.MethodPost, Path: "/v1/nss-assignments/:id/cancel", Roles: nssAutorizados, Summary: "Cancel before confirming", Handler: m.cancel, NoBody: true},
		{Method: http.MethodPost, Path: "/v1/nss-assignments/:id/alta", Roles: nssAutorizados, Summary: "Request the first alta", Handler: m.alta},
		{Method: http.MethodPost, Path: "/v1/nss-assignments/:id/alta/annul", Roles: nssAnnullers, Summary: "Annul the first alta (the NSS is eliminated)", Handler: m.annul, NoBody: true},
		{Method: http.MethodPost, Path: "/v1/nss-assignments/:id/alta/consolidate", Roles: nssTramitador, Summary: "Consolidate the first alta", Handler: m.consolidate, NoBody: true},
		{Method: http.MethodPost, Path: "/v1/nss-lookup", Roles: nssLookups, Summary: "Find NSS assignments by NSS or identity document", Handler: m.lookup},
		{Method: http.MethodGet, Path: "/v1/nss-eliminations", Roles: nssLookups, Summary: "Eliminated NSS and their communications", Handler: m.eliminations},
		{Method: http.MethodGet, Path: "/v1/duplicados-ta", Roles: nssDuplicates, Summary: "Duplicate of the NSS assignment resolution (PDF)", Handler: m.duplicate},
		{Method: http.MethodGet, Path: "/v1/localidades", Roles: nssPlaces, Summary: "Localidades of a postal code", Handler: m.localidades},
	}
}

// NSSAssignmentView is an assignment as the API shows it: its folded state,
// the revision and global position of its last event and, for a single
// assignment, the summary to confirm.
type NSSAssignmentView struct {
	nss.State
	// Emails shadows the state's (left out there when empty): the answer
	// always lists them, [] when none was sent.
	Emails   []nss.Email `json:"emails"`
	Revision uint64      `json:"revision"`
	Position string      `json:"position"`
	Summary  *NSSSummary `json:"summary,omitempty"`
}

// NSSSummary is the summary shown before confirming: the data the NSS will
// be assigned with, in words.
type NSSSummary struct {
	Document            string        `json:"document"` // "DNI 12345678Z"
	FullName            string        `json:"fullName"`
	BirthDate           calendar.Date `json:"birthDate"`
	Sex                 string        `json:"sex"`
	Nationality         string        `json:"nationality"` // "ESP (España)"
	MobilePhone         string        `json:"mobilePhone"`
	PhoneConsent        bool          `json:"phoneConsent"`
	Address             string        `json:"address"`
	NotificationAddress string        `json:"notificationAddress,omitempty"`
	Email               string        `json:"email"`
	Province            string        `json:"province"` // of the NSS: "28 Madrid"
	Authorization       string        `json:"authorization"`
}

func summaryOf(s nss.State) *NSSSummary {
	p := s.Person
	nat := p.Nationality
	if c, err := ident.ParseCountry(p.Nationality); err == nil && c.SpanishName() != "" {
		nat += " (" + c.SpanishName() + ")"
	}
	email := p.Email
	if email == "" {
		email = "no comunicado"
	}
	prov := fmt.Sprintf("%02d", p.Province())
	if name, ok := ident.ProvinceName(p.Province()); ok {
		prov += " " + name
	}
	out := &NSSSummary{Document: string(p.DocumentType) + " " + p.DocumentNumber, FullName: p.FullName(), BirthDate: p.BirthDate,
		Sex: p.Sex, Nationality: nat, MobilePhone: p.MobilePhone, PhoneConsent: p.PhoneConsent, Address: addressText(p.Address),
		Email: email, Province: prov, Authorization: s.Authorization}
	if p.NotificationAddress != nil {
		out.NotificationAddress = addressText(*p.NotificationAddress)
	}
	return out
}

// addressText renders "CL Mayor 5, piso 3, puerta B, 28100 Alcobendas".
func addressText(a nss.Address) string {
	parts := []string{strings.TrimSpace(a.TipoVia + " " + a.NombreVia + " " + a.Numero)}
	if a.Piso != "" {
		parts = append(parts, "piso "+a.Piso)
	}
	if a.Puerta != "" {
		parts = append(parts, "puerta "+a.Puerta)
	}
	parts = append(parts, a.CodigoPostal+" "+a.Localidad)
	return strings.Join(parts, ", ")
}

func nssView(s nss.State, rev uint64, pos eventstore.Position, withSummary bool) NSSAssignmentView {
	return nssViewAt(s, rev, pos.String(), withSummary)
}

// nssViewAt is nssView with the position already rendered (a read model's
// row holds it so).
func nssViewAt(s nss.State, rev uint64, pos string, withSummary bool) NSSAssignmentView {
	v := NSSAssignmentView{State: s, Emails: s.Emails, Revision: rev, Position: pos}
	if v.Emails == nil {
		v.Emails = []nss.Email{}
	}
	if withSummary {
		v.Summary = summaryOf(s)
	}
	return v
}

// request opens an assignment: the autorización the caller acts for, every
// field validated at once, the identity check (if it cannot be performed the
// process stops), the person's reservation, the request. Nothing is stored
// until the check has passed. The assignment ID derives from the command ID,
// so a repeat with the same Idempotency-Key lands on the same assignment and
// returns it.
func (m *NSS) request(c echo.Context) error {
	const op = errs.Op("api.nss.request")
	var in nss.Request
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	aut, autErr := m.Dir.ActingFor(c, in.Authorization)
	if autErr != nil && !errs.Is(errs.Invalid, autErr) {
		return autErr
	}
	person, err := nss.Validate(in, m.Policy, m.Clock.Now())
	if autErr != nil || err != nil {
		f := append(errs.FieldsOf(autErr), errs.FieldsOf(err)...)
		return errs.E(op, errs.Invalid, "los datos de la asignación de NSS no son válidos", f)
	}
	meta, err := commandMeta(c, aut.Number)
	if err != nil {
		return err
	}
	id := commands.DeriveID(meta.CommandID, nss.Category)
	prior, err := m.Assignments.Load(ctx, id)
	if err != nil {
		return err
	}
	var ver nss.Verification
	if !prior.Exists {
		if ver, err = identity.Check(ctx, m.Verifier, person); err != nil {
			if errs.Is(errs.Unavailable, err) {
				retryAfter(c, 5*time.Second)
			}
			return err
		}
		if err := m.reserve(ctx, nss.PersonKey(m.PersonSecret, person.Document()), id, meta); err != nil {
			return err
		}
	}
	res, err := m.Assignments.Handle(ctx, id, meta, nss.RequestAssignment(nss.NewAssignment{
		AssignmentID: id, Authorization: aut.Number, Person: person, Verification: ver}, meta.Actor))
	if err != nil {
		return err
	}
	written(c, res.Position, res.Duplicate)
	return created(c, nssView(res.State, res.Revision, res.Position, true))
}

// reserve reserves the person for assignment id, provisionally: the
// request's durable append follows it in the log and covers it
// (commands.Handler.HandleProvisional); a crash before it leaves, at most, a
// reservation of a stream never written, taken over after the grace period.
// A reservation held by another assignment is taken over only when that one
// no longer holds the person in fact: it was cancelled or eliminated but its
// release was not recorded, or its stream was never written and the
// reservation is older than the grace period. Otherwise the person already
// has an NSS or an assignment in progress (errs.Precondition).
func (m *NSS) reserve(ctx context.Context, key, id string, meta commands.Meta) error {
	_, err := m.People.HandleProvisional(ctx, key, meta, nss.Reserve(id))
	if err == nil || !errs.Is(errs.Precondition, err) {
		return err
	}
	l, lerr := m.People.Load(ctx, key)
	if lerr != nil {
		return lerr
	}
	holder := l.State.Holder
	if holder == "" || holder == id {
		return err
	}
	hl, lerr := m.Assignments.Load(ctx, holder)
	if lerr != nil {
		return lerr
	}
	reason := ""
	switch {
	case !hl.Exists:
		grace := m.OrphanGrace
		if grace <= 0 {
			grace = DefaultOrphanGrace
		}
		if m.Clock.Now().Sub(l.State.Since) < grace {
			return err
		}
		reason = nss.ReleaseOrphan
	case hl.State.Status == nss.StatusCancelled:
		reason = nss.ReleaseCancelled
	case hl.State.Status == nss.StatusEliminated:
		reason = nss.ReleaseEliminated
	default:
		return err
	}
	_, err = m.People.HandleProvisional(ctx, key, meta, takeOver(holder, reason, id))
	return err
}

// takeOver releases the person from holder and reserves it for id, in one
// append; if holder no longer holds the person it is Reserve.
func takeOver(holder, reason, id string) commands.Decide[nss.PersonReservation] {
	return func(r nss.PersonReservation, now time.Time) ([]any, error) {
		if r.Holder != holder || holder == id {
			return nss.Reserve(id)(r, now)
		}
		return []any{
			nss.PersonReleased{AssignmentID: holder, Reason: reason, ReleasedAt: now},
			nss.PersonReserved{AssignmentID: id, ReservedAt: now},
		}, nil
	}
}

// release frees the person of an assignment that was cancelled or whose NSS
// was eliminated.
func (m *NSS) release(ctx context.Context, s nss.State, meta commands.Meta, reason string) error {
	if s.Person.DocumentNumber == "" {
		return nil
	}
	_, err := m.People.Handle(ctx, nss.PersonKey(m.PersonSecret, s.Person.Document()), meta, nss.Release(s.ID, reason))
	return err
}

// loadAssignment reads the assignment of the :id parameter from its stream
// (always up to date) and checks the caller may see it.
func (m *NSS) loadAssignment(c echo.Context) (commands.Loaded[nss.State], error) {
	const op = errs.Op("api.nss.load")
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return commands.Loaded[nss.State]{}, errs.E(op, errs.NotFound, "la asignación de NSS no existe")
	}
	l, err := m.Assignments.Load(c.Request().Context(), id)
	if err != nil {
		return l, err
	}
	if !l.Exists || !l.State.Exists() {
		return l, errs.E(op, errs.NotFound, "la asignación de NSS no existe")
	}
	if err := m.Dir.CanSee(c, l.State.Authorization); err != nil {
		return l, err
	}
	return l, nil
}

// metaFor is the metadata of a command on assignment s: an autorizado must
// act for the assignment's autorización (403 otherwise).
func (m *NSS) metaFor(c echo.Context, s nss.State) (commands.Meta, error) {
	p, _ := principalOf(c)
	if p.Role != auth.Autorizado {
		return commandMeta(c, "")
	}
	aut, err := m.Dir.ActingFor(c, s.Authorization)
	if err != nil {
		return commands.Meta{}, err
	}
	return commandMeta(c, aut.Number)
}

// recipient is who gets the communication of an elimination: the usuario
// principal of the autorización and its contact address.
func (m *NSS) recipient(ctx context.Context, number string) (nss.Recipient, error) {
	l, err := m.Dir.Handler.Load(ctx, number)
	if err != nil {
		return nss.Recipient{}, err
	}
	return nss.Recipient{UsuarioPrincipal: l.State.UsuarioPrincipal, Email: l.State.ContactEmail}, nil
}

// command runs decide on the assignment of the :id parameter for the caller
// and answers with the assignment; after, when not nil, runs on the result
// (releasing the person).
func (m *NSS) command(c echo.Context, l commands.Loaded[nss.State], decide func(meta commands.Meta) (commands.Decide[nss.State], error),
	after func(ctx context.Context, s nss.State, meta commands.Meta) error) error {
	ctx := c.Request().Context()
	meta, err := m.metaFor(c, l.State)
	if err != nil {
		return err
	}
	d, err := decide(meta)
	if err != nil {
		return err
	}
	res, err := m.Assignments.Handle(ctx, l.State.ID, meta, d)
	if err != nil {
		return err
	}
	if after != nil {
		if err := after(ctx, res.State, meta); err != nil {
			return err
		}
	}
	written(c, res.Position, res.Duplicate)
	return c.JSON(http.StatusOK, nssView(res.State, res.Revision, res.Position, true))
}

// confirm issues the next number of the domicile's province and assigns it.
func (m *NSS) confirm(c echo.Context) error {
	l, err := m.loadAssignment(c)
	if err != nil {
		return err
	}
	return m.command(c, l, func(meta commands.Meta) (commands.Decide[nss.State], error) {
		if l.State.Status != nss.StatusPendingConfirmation {
			// Confirm says why not (or, for a repeat, nothing).
			return nss.Confirm(l.State.NSS, meta.Actor), nil
		}
		number, err := m.issueNumber(c.Request().Context(), l.State, meta)
		if err != nil {
			return nil, err
		}
		return nss.Confirm(number, meta.Actor), nil
	}, nil)
}

// issueNumber hands assignment s the next number of its province's counter
// and returns the NSS. The issue is provisional: the confirmation's durable
// append follows it in the log and covers it; nobody is told the number
// before that.
func (m *NSS) issueNumber(ctx context.Context, s nss.State, meta commands.Meta) (string, error) {
	const op = errs.Op("api.nss.issueNumber")
	province := s.Person.Province()
	res, err := m.Counters.HandleProvisional(ctx, nss.CounterID(province), meta, nss.IssueNumber(province, s.ID))
	if err != nil {
		return "", err
	}
	for _, e := range res.Events {
		v, err := m.Counters.Aggregate().Codec.Decode(e)
		if err != nil {
			return "", errs.E(op, err)
		}
		if n, ok := v.(nss.NSSNumberIssued); ok && n.AssignmentID == s.ID {
			return n.NSS, nil
		}
	}
	if res.State.LastAssignment == s.ID && res.State.LastNSS != "" {
		return res.State.LastNSS, nil
	}
	return "", errs.E(op, errs.Internal, "la numeración de la provincia no devolvió el NSS de la asignación")
}

func (m *NSS) cancel(c echo.Context) error {
	l, err := m.loadAssignment(c)
	if err != nil {
		return err
	}
	return m.command(c, l, func(meta commands.Meta) (commands.Decide[nss.State], error) {
		return nss.Cancel(meta.Actor), nil
	}, func(ctx context.Context, s nss.State, meta commands.Meta) error {
		if s.Status != nss.StatusCancelled {
			return nil
		}
		return m.release(ctx, s, meta, nss.ReleaseCancelled)
	})
}

func (m *NSS) alta(c echo.Context) error {
	const op = errs.Op("api.nss.alta")
	l, err := m.loadAssignment(c)
	if err != nil {
		return err
	}
	var in struct {
		FechaReal string `json:"fechaReal"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var fecha calendar.Date
	if strings.TrimSpace(in.FechaReal) != "" {
		if fecha, err = calendar.ParseDate(in.FechaReal); err != nil {
			return errs.E(op, errs.Invalid, errs.FieldError{Field: "fechaReal", Reason: "fecha AAAA-MM-DD no válida"})
		}
	}
	return m.command(c, l, func(meta commands.Meta) (commands.Decide[nss.State], error) {
		return nss.RequestAlta(fecha, meta.Actor), nil
	}, nil)
}

func (m *NSS) annul(c echo.Context) error {
	l, err := m.loadAssignment(c)
	if err != nil {
		return err
	}
	return m.command(c, l, func(meta commands.Meta) (commands.Decide[nss.State], error) {
		to, err := m.recipient(c.Request().Context(), l.State.Authorization)
		if err != nil {
			return nil, err
		}
		return nss.AnnulAlta(meta.Actor, to), nil
	}, m.releaseEliminated)
}

func (m *NSS) releaseEliminated(ctx context.Context, s nss.State, meta commands.Meta) error {
	if s.Status != nss.StatusEliminated {
		return nil
	}
	return m.release(ctx, s, meta, nss.ReleaseEliminated)
}

func (m *NSS) consolidate(c echo.Context) error {
	l, err := m.loadAssignment(c)
	if err != nil {
		return err
	}
	return m.command(c, l, func(meta commands.Meta) (commands.Decide[nss.State], error) {
		return nss.Consolidate(meta.Actor), nil
	}, nil)
}

// EliminateDue is the scheduler's action nss.ActionEliminate: at the end of
// the alta window with no alta the system eliminates the NSS, the usuario
// principal of the generating autorización gets the communication (and the
// email, or the reason why none was sent), and the person is released. An
// assignment no longer waiting for its alta is moot (AlreadyDone).
func (m *NSS) EliminateDue(ctx context.Context, d scheduler.Deadline, commandID uuid.UUID) (scheduler.Outcome, error) {
	const op = errs.Op("api.nss.eliminateDue")
	l, err := m.Assignments.Load(ctx, d.Target)
	if err != nil {
		return 0, err
	}
	if !l.Exists {
		return 0, errs.E(op, errs.NotFound, "la asignación de NSS del plazo no existe")
	}
	meta := scheduler.Meta(d, commandID)
	if l.State.Status != nss.StatusAssigned {
		if l.State.Status == nss.StatusEliminated {
			return scheduler.AlreadyDone, m.release(ctx, l.State, meta, nss.ReleaseEliminated)
		}
		return scheduler.AlreadyDone, nil
	}
	to, err := m.recipient(ctx, l.State.Authorization)
	if err != nil {
		return 0, err
	}
	res, err := m.Assignments.Handle(ctx, l.State.ID, meta, nss.Eliminate(meta.Actor, to))
	if err != nil {
		return 0, err
	}
	if err := m.releaseEliminated(ctx, res.State, meta); err != nil {
		return 0, err
	}
	if res.Duplicate || len(res.Events) == 0 {
		return scheduler.AlreadyDone, nil
	}
	return scheduler.Acted, nil
}

func (m *NSS) get(c echo.Context) error {
	if err := m.waitMin(c); err != nil {
		return err
	}
	l, err := m.loadAssignment(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, nssView(l.State, l.Revision, l.Position, true))
}

// NSSHistory is every event of an assignment's stream.
type NSSHistory struct {
	AssignmentID string       `json:"assignmentId"`
	Stream       string       `json:"stream"`
	Events       []AuditEvent `json:"events"`
}

func (m *NSS) history(c echo.Context) error {
	l, err := m.loadAssignment(c)
	if err != nil {
		return err
	}
	evs, err := m.readStream(c.Request().Context(), l.Stream)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, NSSHistory{AssignmentID: l.State.ID, Stream: l.Stream, Events: auditEventsOf(evs)})
}

// readStream reads a whole stream (none: no events).
func (m *NSS) readStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	evs, err := readWholeStream(ctx, m.Store, stream)
	var nf *eventstore.StreamNotFoundError
	if errors.As(err, &nf) {
		return nil, nil
	}
	return evs, err
}

// waitMin honours the minPosition query parameter.
func (m *NSS) waitMin(c echo.Context) error { return waitForMin(c, m.Wait) }

// scope returns the autorización filter of a list: the one asked for (which
// the caller must be allowed to see), and for an autorizado who names none,
// the list of its own (never nil).
func (m *NSS) scope(c echo.Context, requested string) (string, []string, error) {
	p, _ := principalOf(c)
	if requested != "" {
		number, err := authorizations.NormalizeNumber(requested)
		if err != nil {
			return "", nil, errs.E(errs.Op("api.nss.scope"), errs.Invalid, errs.FieldError{Field: "authorization", Reason: "número de autorización no válido"})
		}
		if err := m.Dir.CanSee(c, number); err != nil {
			return "", nil, err
		}
		return number, nil, nil
	}
	if p.Role != auth.Autorizado {
		return "", nil, nil
	}
	all, err := readmodels.AuthorizationsOf(c.Request().Context(), m.Dir.DB, p.Subject)
	if err != nil {
		return "", nil, err
	}
	own := []string{}
	for _, s := range authorizations.Membership(p.Subject, p.Autorizaciones, all) {
		own = append(own, s.Number)
	}
	return "", own, nil
}

var nssStates = []nss.Status{nss.StatusPendingConfirmation, nss.StatusCancelled, nss.StatusAssigned,
	nss.StatusAltaRequested, nss.StatusConsolidated, nss.StatusEliminated}

func (m *NSS) list(c echo.Context) error {
	const op = errs.Op("api.nss.list")
	var f errs.Fields
	q := c.QueryParams()
	filter := readmodels.NSSFilter{
		State: q.Get("state"),
		From:  queryDate(c, "from", &f), To: queryDate(c, "to", &f),
		Limit: queryInt(c, "limit", 1, 500, 100, &f), Offset: queryInt(c, "offset", 0, 1<<30, 0, &f),
	}
	checkRange(filter.From, filter.To, "from", "to", &f)
	if s := nss.Status(filter.State); s != "" && !slices.Contains(nssStates, s) {
		f.Add("state", "pending_confirmation, cancelled, assigned, alta_requested, consolidated o eliminated")
	}
	if len(f) > 0 {
		return errs.E(op, errs.Invalid, f)
	}
	var err error
	if filter.Authorization, filter.Authorizations, err = m.scope(c, q.Get("authorization")); err != nil {
		return err
	}
	if err := m.waitMin(c); err != nil {
		return err
	}
	rows, err := readmodels.ListNSSAssignments(c.Request().Context(), m.DB, filter)
	if err != nil {
		return err
	}
	out := make([]NSSAssignmentView, len(rows))
	for i, r := range rows {
		out[i] = nssViewAt(r.State, r.Revision, r.Position, false)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// lookupInput is the body of POST /v1/nss-lookup: an NSS, or an identity
// document. It travels in a body so that no personal data is ever part of
// a URL (access logs, proxies, browser history).
type lookupInput struct {
	NSS            string `json:"nss"`
	DocumentType   string `json:"documentType"`
	DocumentNumber string `json:"documentNumber"`
}

// lookup finds assignments by NSS (the province counter that issued it) or
// by identity document (the person's reservation stream, which names every
// assignment that ever held the person), from the event store itself.
func (m *NSS) lookup(c echo.Context) error {
	const op = errs.Op("api.nss.lookup")
	var in lookupInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var ids []string
	switch {
	case in.NSS != "" && (in.DocumentNumber != "" || in.DocumentType != ""):
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "nss", Reason: "indique el NSS o el documento, no ambos"})
	case in.NSS != "":
		n, err := ident.ParseNSS(in.NSS)
		if err != nil {
			return errs.E(op, errs.Invalid, errs.FieldError{Field: "nss", Reason: errs.MessageOf(err)})
		}
		id, ok, err := m.assignmentByNSS(ctx, n)
		if err != nil {
			return err
		}
		if ok {
			ids = append(ids, id)
		}
	case in.DocumentNumber != "":
		t := in.DocumentType
		if t == "" {
			t = string(ident.DocumentDNI)
		}
		doc, err := ident.ParseDocument(t, in.DocumentNumber)
		if err != nil {
			field := "documentNumber"
			if _, terr := ident.ParseDocumentType(t); terr != nil {
				field = "documentType"
			}
			return errs.E(op, errs.Invalid, errs.FieldError{Field: field, Reason: errs.MessageOf(err)})
		}
		evs, err := m.readStream(ctx, m.People.Aggregate().Stream(nss.PersonKey(m.PersonSecret, doc)))
		if err != nil {
			return err
		}
		for _, e := range evs {
			v, err := m.People.Aggregate().Codec.Decode(e)
			if err != nil {
				return errs.E(op, err)
			}
			if r, ok := v.(nss.PersonReserved); ok && !slices.Contains(ids, r.AssignmentID) {
				ids = append(ids, r.AssignmentID)
			}
		}
	default:
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "nss", Reason: "indique el NSS, o el tipo y número de documento"})
	}
	out := []NSSAssignmentView{}
	for _, id := range ids {
		l, err := m.Assignments.Load(ctx, id)
		if err != nil {
			return err
		}
		if !l.Exists || (in.NSS != "" && l.State.NSS != in.NSS) {
			continue
		}
		out = append(out, nssView(l.State, l.Revision, l.Position, false))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// assignmentByNSS finds the assignment that got NSS n. Numbers are issued
// in sequence from 1, one event each, so the counter stream of the NSS's
// province holds it at revision number-1; the read model is the fallback.
func (m *NSS) assignmentByNSS(ctx context.Context, n ident.NSS) (string, bool, error) {
	const op = errs.Op("api.nss.byNSS")
	if n.Number() >= nss.FirstNumber {
		stream := m.Counters.Aggregate().Stream(nss.CounterID(n.Province()))
		evs, err := m.Store.ReadStream(ctx, stream, uint64(n.Number()-nss.FirstNumber), eventstore.Forward, 1)
		var nf *eventstore.StreamNotFoundError
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return "", false, errs.E(op, err)
		case len(evs) == 1:
			v, err := m.Counters.Aggregate().Codec.Decode(evs[0])
			if err != nil {
				return "", false, errs.E(op, err)
			}
			if ev, ok := v.(nss.NSSNumberIssued); ok && ev.NSS == n.String() {
				return ev.AssignmentID, true, nil
			}
		}
	}
	return readmodels.NSSAssignmentIDByNSS(ctx, m.DB, n.String())
}

func (m *NSS) eliminations(c echo.Context) error {
	const op = errs.Op("api.nss.eliminations")
	var f errs.Fields
	q := c.QueryParams()
	filter := readmodels.NSSEliminationFilter{
		Reason: q.Get("reason"),
		From:   queryDate(c, "from", &f), To: queryDate(c, "to", &f),
		Limit: queryInt(c, "limit", 1, 1000, 100, &f), Offset: queryInt(c, "offset", 0, 1<<30, 0, &f),
	}
	checkRange(filter.From, filter.To, "from", "to", &f)
	if r := nss.EliminationReason(filter.Reason); r != "" && r != nss.ReasonNoAlta && r != nss.ReasonAltaAnnulled {
		f.Add("reason", "no_alta o alta_annulled")
	}
	if a := q.Get("authorization"); a != "" {
		number, err := authorizations.NormalizeNumber(a)
		if err != nil {
			f.Add("authorization", "número de autorización no válido")
		}
		filter.Authorization = number
	}
	if len(f) > 0 {
		return errs.E(op, errs.Invalid, f)
	}
	if err := m.waitMin(c); err != nil {
		return err
	}
	rows, err := readmodels.ListNSSEliminations(c.Request().Context(), m.DB, filter)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": rows})
}

// duplicate is "Duplicados de documentos TA" with NSS ASIGNADO: the
// resolution of the assignment of the NSS in naf, generated on request
// (never queued), only once the first alta is consolidated.
func (m *NSS) duplicate(c echo.Context) error {
	const op = errs.Op("api.nss.duplicate")
	var f errs.Fields
	n, err := ident.ParseNSS(c.QueryParam("naf"))
	if err != nil {
		reason := errs.MessageOf(err)
		if c.QueryParam("naf") == "" {
			reason = "indique el número de afiliación (NAF) del NSS asignado"
		}
		f.Add("naf", reason)
	}
	if c.QueryParam("nssAsignado") != "true" {
		f.Add("nssAsignado", "solo se admite nssAsignado=true: duplicado de la resolución de asignación de NSS (NSS ASIGNADO), indicando solo el número de afiliación")
	}
	if len(f) > 0 {
		return errs.E(op, errs.Invalid, f)
	}
	ctx := c.Request().Context()
	notFound := errs.E(op, errs.NotFound, "no consta ninguna asignación de NSS en línea con ese número de afiliación")
	id, ok, err := m.assignmentByNSS(ctx, n)
	if err != nil {
		return err
	}
	if !ok {
		return notFound
	}
	l, err := m.Assignments.Load(ctx, id)
	if err != nil {
		return err
	}
	if !l.Exists || l.State.NSS != n.String() {
		return notFound
	}
	p, _ := principalOf(c)
	actor := eventstore.Actor{ID: p.Subject, Role: string(p.Role)}
	if p.Role == auth.Autorizado {
		if err := m.Dir.CanSee(c, l.State.Authorization); err != nil {
			return err
		}
		actor.Authorization = l.State.Authorization
	}
	if err := nss.MayObtainDuplicate(l.State, actor); err != nil {
		return err
	}
	pdf, err := nssdoc.Render(l.State, m.DocumentKey, m.Clock.Now())
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="resolucion-asignacion-nss-`+l.State.ID+`.pdf"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

// LocalidadesView is the answer of GET /v1/localidades.
type LocalidadesView struct {
	CodigoPostal string             `json:"codigoPostal"`
	Province     string             `json:"province"`
	ProvinceName string             `json:"provinceName"`
	Items        []places.Localidad `json:"items"`
}

func (m *NSS) localidades(c echo.Context) error {
	const op = errs.Op("api.nss.localidades")
	raw := c.QueryParam("codigoPostal")
	pc, err := ident.ParsePostalCode(raw)
	if err != nil {
		reason := errs.MessageOf(err)
		if strings.TrimSpace(raw) == "" {
			reason = "indique el código postal (5 cifras)"
		}
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "codigoPostal", Reason: reason})
	}
	items := []places.Localidad{}
	if m.Localidades != nil {
		items = append(items, m.Localidades.ForPostalCode(pc.String())...)
	}
	return c.JSON(http.StatusOK, LocalidadesView{CodigoPostal: pc.String(), Province: fmt.Sprintf("%02d", pc.Province()),
		ProvinceName: pc.ProvinceName(), Items: items})
}

// VerifiedKindNSS is the VerifiedDocument.Kind of an NSS assignment
// resolution.
const VerifiedKindNSS = "resolucion_asignacion_nss"

// VerifyCode checks a código seguro de verificación printed on a duplicate
// of an NSS assignment resolution (the PDF points to GET
// /v1/documents/verify/{code}): the assignment it belongs to, found through
// the read model, must be consolidated and its code, recomputed with the
// engine's key, must match. It answers what the code belongs to without
// personal data (Number is the assignment's reference; SHA256 and
// CaseNumber are left out: every duplicate prints its own date), or nil when
// the code is not one of an NSS resolution. The verification route of the
// documents calls it for codes it does not know.
func (m *NSS) VerifyCode(ctx context.Context, code string) (*VerifiedDocument, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	id, ok, err := readmodels.NSSAssignmentIDByCode(ctx, m.DB, code)
	if err != nil {
		return nil, err
	}
	if !ok && m.Wait != nil {
		head, err := m.Store.Head(ctx)
		if err != nil {
			return nil, err
		}
		if err := m.Wait(ctx, head); err != nil {
			return nil, err
		}
		if id, ok, err = readmodels.NSSAssignmentIDByCode(ctx, m.DB, code); err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, nil
	}
	l, err := m.Assignments.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	s := l.State
	if !l.Exists || nssdoc.VerificationCode(m.DocumentKey, s) != code || nss.CanIssueDuplicate(s) != nil {
		return nil, nil
	}
	r, err := nssdoc.AssignmentResolution(s, m.DocumentKey, s.ConsolidatedAt)
	if err != nil {
		return nil, err
	}
	return &VerifiedDocument{Kind: VerifiedKindNSS, Title: nssdoc.Title, Number: s.ID, IssuingBody: r.Body,
		IssuedAt: s.AssignedAt.UTC()}, nil
}
