package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"redengine/auth"
	"redengine/catalog/casia"
	"redengine/clock"
	"redengine/commands"
	"redengine/documents"
	"redengine/domain/authorizations"
	"redengine/domain/calendar"
	"redengine/domain/cases"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/readmodels"
)

// Cases serves the CASIA routes: the catalogue, cases and their commands,
// the desistimientos with their trail and document, the access to a
// notification and the check of a verification code.
type Cases struct {
	Cases *commands.Handler[cases.State]
	// Numbers is the case number sequence aggregate
	// (cases.SequenceAggregate), whose streams reserveNumber appends to.
	Numbers commands.Aggregate[cases.Sequence]
	Decider *cases.Decider
	Dir     *Directory
	Store   eventstore.Store
	DB      readmodels.Queryer // readmodels.db (a readmodels.Prepared)
	Clock   clock.Clock
	// Wait returns when the cases read model has reached pos, or an
	// errs.Unavailable error after a bounded wait.
	Wait func(ctx context.Context, pos eventstore.Position) error
	// OtherDocuments check verification codes of documents that are not
	// desistimiento resolutions (e.g. NSS.VerifyCode); each answers nil for
	// a code it does not know.
	OtherDocuments []func(ctx context.Context, code string) (*VerifiedDocument, error)

	// numbers batches and caches the reservations of case numbers (see
	// reserveNumber).
	numbers numberSequences

	// sums memoises the SHA-256 of each resolution's PDF (the rendering is
	// deterministic), so the public verify route does not render on every
	// call.
	sums sync.Map // resolution ID → hex SHA-256
}

var (
	caseReaders  = []auth.Role{auth.Autorizado, auth.Tramitador, auth.Auditor, auth.Compliance, auth.Admin}
	caseParties  = []auth.Role{auth.Autorizado, auth.Tramitador}
	tramitadores = []auth.Role{auth.Tramitador}
	autorizados  = []auth.Role{auth.Autorizado}
	caseAuditors = []auth.Role{auth.Tramitador, auth.Auditor, auth.Compliance, auth.Admin}
)

// Routes of the module.
func (m *Cases) Routes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/v1/catalogue", Roles: caseReaders, Summary: "The CASIA classification catalogue", Handler: m.catalogue},
		{Method: http.MethodPost, Path: "/v1/cases", Roles: caseParties, Summary: "Open a case", Handler: m.open},
		{Method: http.MethodGet, Path: "/v1/cases", Roles: caseReaders, Summary: "List cases", Handler: m.list},
		{Method: http.MethodGet, Path: "/v1/cases/:id", Roles: caseReaders, Summary: "One case, now or as it stood", Handler: m.get},
		{Method: http.MethodGet, Path: "/v1/cases/:id/history", Roles: caseAuditors, Summary: "Every event of a case", Handler: m.history},
		{Method: http.MethodPost, Path: "/v1/cases/:id/replies", Roles: caseParties, Summary: "Reply in a case", Handler: m.reply},
		{Method: http.MethodPost, Path: "/v1/cases/:id/documents", Roles: caseParties, Summary: "Attach documents to a case", Handler: m.addDocuments},
		{Method: http.MethodPost, Path: "/v1/cases/:id/information-requests", Roles: tramitadores, Summary: "Request information (requerimiento)", Handler: m.requestInformation},
		{Method: http.MethodPost, Path: "/v1/cases/:id/information", Roles: autorizados, Summary: "Provide the requested information", Handler: m.provideInformation},
		{Method: http.MethodPost, Path: "/v1/cases/:id/resolve", Roles: tramitadores, Summary: "Resolve a case", Handler: m.resolve},
		{Method: http.MethodPost, Path: "/v1/cases/:id/reclassify", Roles: tramitadores, Summary: "Reclassify a consulta or error_incidencia", Handler: m.reclassify},
		{Method: http.MethodPost, Path: "/v1/cases/:id/close-misfiled", Roles: tramitadores, Summary: "Close an error_incidencia that needs a trámite", Handler: m.closeMisfiled},
		{Method: http.MethodGet, Path: "/v1/desistimientos", Roles: caseReaders, Summary: "List Resoluciones de Desistimiento", Handler: m.listDesistimientos},
		{Method: http.MethodGet, Path: "/v1/desistimientos/:id", Roles: caseReaders, Summary: "A desistimiento and its whole trail", Handler: m.getDesistimiento},
		{Method: http.MethodGet, Path: "/v1/desistimientos/:id/document", Roles: caseReaders, Summary: "The resolution as PDF", Handler: m.document},
		{Method: http.MethodPost, Path: "/v1/notifications/:id/access", Roles: autorizados, Summary: "Access a notification (puesta a disposición)", Handler: m.access, NoBody: true},
		{Method: http.MethodGet, Path: "/v1/documents/verify/:code", Summary: "Check a verification code", Handler: m.verify},
	}
}

func (m *Cases) catalogue(c echo.Context) error {
	return c.JSON(http.StatusOK, m.Decider.Catalogue())
}

// CaseView is a case as the API shows it: its folded state and the
// revision and global position of the last event folded.
type CaseView struct {
	cases.State
	Revision uint64 `json:"revision"`
	Position string `json:"position"`
}

func caseView(s cases.State, rev uint64, pos eventstore.Position) CaseView {
	if s.ExtraData == nil {
		s.ExtraData = map[string]string{}
	} else {
		s.ExtraData = maps.Clone(s.ExtraData)
	}
	if s.Documents == nil {
		s.Documents = []cases.Document{}
	}
	if s.Thread == nil {
		s.Thread = []cases.Message{}
	}
	if s.Routing == nil {
		s.Routing = []cases.Routing{}
	}
	if s.Emails == nil {
		s.Emails = []cases.Email{}
	}
	return CaseView{State: s, Revision: rev, Position: pos.String()}
}

// CaseCreated is the answer to opening a case.
type CaseCreated struct {
	ID            string              `json:"id"`
	Number        string              `json:"number"`
	State         cases.Status        `json:"state"`
	Type          casia.Type          `json:"type"`
	Origin        cases.Origin        `json:"origin"`
	Authorization string              `json:"authorization"`
	Unit          string              `json:"unit"`
	Justificante  *cases.Justificante `json:"justificante,omitempty"`
}

type openInput struct {
	Authorization string                `json:"authorization"`
	Origin        string                `json:"origin"`
	Type          string                `json:"type"`
	Materia       string                `json:"materia"`
	Categoria     string                `json:"categoria"`
	Subcategoria  string                `json:"subcategoria"`
	Subject       string                `json:"subject"`
	Body          string                `json:"body"`
	ExtraData     map[string]string     `json:"extraData"`
	Documents     []cases.DocumentInput `json:"documents"`
}

// open opens a case: the autorización (the caller's, or the one a
// tramitador addresses), the command ID and from it the case ID (so a
// repeat lands on the same stream), validation, then a case number from the
// year's sequence, then the opening.
func (m *Cases) open(c echo.Context) error {
	const op = errs.Op("api.cases.open")
	var in openInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, _ := principalOf(c)
	ctx := c.Request().Context()
	if o := cases.Origin(in.Origin); o != "" && o != cases.OriginAutorizado && o != cases.OriginTGSS {
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "origin", Reason: "origen no válido: autorizado o tgss"})
	}
	if p.Role == auth.Autorizado && in.Origin != "" && in.Origin != string(cases.OriginAutorizado) {
		return errs.E(op, errs.Forbidden, "solo un tramitador puede abrir un caso con origen TGSS")
	}
	aut, err := m.Dir.ActingFor(c, in.Authorization)
	if err != nil {
		return err
	}
	actingFor := ""
	if p.Role == auth.Autorizado {
		actingFor = aut.Number
	}
	meta, err := commandMeta(c, actingFor)
	if err != nil {
		return err
	}
	cmd := cases.OpenCase{
		Actor: meta.Actor, Authorization: aut.Number, Origin: cases.Origin(in.Origin),
		Type: casia.Type(in.Type), Materia: in.Materia, Categoria: in.Categoria, Subcategoria: in.Subcategoria,
		Subject: in.Subject, Body: in.Body, ExtraData: in.ExtraData, Documents: in.Documents, Contact: aut.ContactEmail,
	}
	res, err := m.Open(ctx, meta, cmd)
	if err != nil {
		return err
	}
	written(c, res.Position, res.Duplicate)
	s := res.State
	return created(c, CaseCreated{ID: s.ID, Number: s.Number, State: s.Status, Type: s.Type, Origin: s.Origin,
		Authorization: s.Authorization, Unit: s.Unit, Justificante: s.Justificante})
}

// Open opens a case: the case ID derives from the command ID (so a repeat
// lands on the same stream and returns the first result); a new opening is
// validated first, then takes the next number of the year from the sequence
// stream, then is appended. cmd.CaseID and cmd.Number are filled in here.
//
// A new case is not looked up first (the stream of a fresh command ID does
// not exist, and reading that cost a read transaction per opening): a repeat
// is recognised on the way instead — in the handler's cache, by the number
// sequence (which gives a recent repeat its number back), or by Handle,
// whose append expecting no stream finds the first run's events. A repeat
// older than all of those fails on the way (its reservation is refused, or
// its input no longer validates), and is then answered from its stream.
func (m *Cases) Open(ctx context.Context, meta commands.Meta, cmd cases.OpenCase) (commands.Result[cases.State], error) {
	if meta.CommandID == uuid.Nil {
		meta.CommandID = commands.NewCommandID()
	}
	caseID := commands.DeriveID(meta.CommandID, cases.Category)
	cmd.CaseID = caseID
	// repeat answers the command as a repeat of the opening of prior.
	repeat := func(prior commands.Loaded[cases.State]) (commands.Result[cases.State], error) {
		cmd.Number = prior.State.Number
		return m.Cases.Handle(ctx, caseID, meta, m.Decider.Open(cmd))
	}
	if prior, ok := m.Cases.Cached(caseID); ok && prior.Exists {
		return repeat(prior)
	}
	res, err := m.openNew(ctx, meta, cmd)
	if err == nil {
		return res, nil
	}
	if prior, lerr := m.Cases.Load(ctx, caseID); lerr == nil && prior.Exists {
		return repeat(prior)
	}
	return res, err
}

// openNew opens the case of cmd as a new one: validation, a number, the
// append.
func (m *Cases) openNew(ctx context.Context, meta commands.Meta, cmd cases.OpenCase) (commands.Result[cases.State], error) {
	const op = errs.Op("api.cases.Open")
	if err := m.Decider.ValidateOpen(cmd); err != nil {
		return commands.Result[cases.State]{}, err
	}
	n, err := m.reserveNumber(ctx, meta, cases.NumberYear(m.Clock.Now()), cmd.CaseID)
	if err != nil {
		return commands.Result[cases.State]{}, err
	}
	if n.CaseID != cmd.CaseID {
		return commands.Result[cases.State]{}, errs.E(op, errs.Internal, "la reserva del número de caso no corresponde al caso")
	}
	cmd.Number = cases.FormatNumber(n.Year, n.N)
	return m.Cases.Handle(ctx, cmd.CaseID, meta, m.Decider.Open(cmd))
}

// waitMin honours the minPosition query parameter.
func (m *Cases) waitMin(c echo.Context) error { return waitForMin(c, m.Wait) }

// ownAuthorizations returns the numbers of the caller's autorizaciones
// (never nil), narrowed by the token's claim.
func (m *Cases) ownAuthorizations(c echo.Context) ([]string, error) {
	p, _ := principalOf(c)
	all, err := readmodels.AuthorizationsOf(c.Request().Context(), m.Dir.DB, p.Subject)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, s := range authorizations.Membership(p.Subject, p.Autorizaciones, all) {
		out = append(out, s.Number)
	}
	return out, nil
}

// scope returns the autorización filter of a list: the one asked for (which
// the caller must be allowed to see), and for an autorizado who names none,
// the list of its own.
func (m *Cases) scope(c echo.Context, requested string) (string, []string, error) {
	p, _ := principalOf(c)
	if requested != "" {
		number, err := authorizations.NormalizeNumber(requested)
		if err != nil {
			return "", nil, errs.E(errs.Op("api.cases.scope"), errs.Invalid, errs.FieldError{Field: "authorization", Reason: "número de autorización no válido"})
		}
		if err := m.Dir.CanSee(c, number); err != nil {
			return "", nil, err
		}
		return number, nil, nil
	}
	if p.Role != auth.Autorizado {
		return "", nil, nil
	}
	own, err := m.ownAuthorizations(c)
	return "", own, err
}

func queryDate(c echo.Context, name string, f *errs.Fields) *calendar.Date {
	v := c.QueryParam(name)
	if v == "" {
		return nil
	}
	d, err := calendar.ParseDate(v)
	if err != nil {
		f.Add(name, "fecha AAAA-MM-DD no válida")
		return nil
	}
	return &d
}

// checkRange names toName when a range ends before it starts: such a range
// selects nothing, and an empty answer would hide the mistake.
func checkRange(from, to *calendar.Date, fromName, toName string, f *errs.Fields) {
	if from != nil && to != nil && to.Before(*from) {
		f.Add(toName, "es anterior a "+fromName)
	}
}

func queryInt(c echo.Context, name string, lo, hi, def int, f *errs.Fields) int {
	v := c.QueryParam(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		f.Add(name, "entero entre "+strconv.Itoa(lo)+" y "+strconv.Itoa(hi))
		return def
	}
	return n
}

func (m *Cases) list(c echo.Context) error {
	const op = errs.Op("api.cases.list")
	var f errs.Fields
	q := c.QueryParams()
	filter := readmodels.CaseFilter{
		State: q.Get("state"), Type: q.Get("type"), Materia: q.Get("materia"), Origin: q.Get("origin"),
		Unit: q.Get("unit"), Cursor: q.Get("cursor"),
		OpenedFrom: queryDate(c, "openedFrom", &f), OpenedTo: queryDate(c, "openedTo", &f),
		Limit: queryInt(c, "limit", 1, 500, 50, &f),
	}
	checkRange(filter.OpenedFrom, filter.OpenedTo, "openedFrom", "openedTo", &f)
	if s := cases.Status(filter.State); s != "" && !slices.Contains([]cases.Status{cases.Abierto, cases.EnTramitacion,
		cases.PendienteInformacion, cases.Resuelto, cases.Cerrado, cases.CerradoDeOficio}, s) {
		f.Add("state", "abierto, en_tramitacion, pendiente_informacion, resuelto, cerrado o cerrado_de_oficio")
	}
	if t := casia.Type(filter.Type); t != "" && !t.Valid() {
		f.Add("type", "consulta, error_incidencia o tramite")
	}
	if o := cases.Origin(filter.Origin); o != "" && o != cases.OriginAutorizado && o != cases.OriginTGSS {
		f.Add("origin", "autorizado o tgss")
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
	out, err := readmodels.ListCases(c.Request().Context(), m.DB, filter)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// loadCase reads the case of the :id parameter from its stream (always up
// to date) and checks the caller may see it.
func (m *Cases) loadCase(c echo.Context) (commands.Loaded[cases.State], error) {
	return m.findCase(c, m.Cases.Load)
}

// caseOfCommand is loadCase for a command on the case: the check needs
// only what never changes once a case exists (its autorización), so the
// state this node last saw will do, and the command decides on the
// current one.
func (m *Cases) caseOfCommand(c echo.Context) (commands.Loaded[cases.State], error) {
	return m.findCase(c, m.Cases.Peek)
}

func (m *Cases) findCase(c echo.Context, load func(context.Context, string) (commands.Loaded[cases.State], error)) (commands.Loaded[cases.State], error) {
	const op = errs.Op("api.cases.load")
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return commands.Loaded[cases.State]{}, errs.E(op, errs.NotFound, "el caso no existe")
	}
	l, err := load(c.Request().Context(), id)
	if err != nil {
		return l, err
	}
	if !l.Exists || !l.State.Exists() {
		return l, errs.E(op, errs.NotFound, "el caso no existe")
	}
	if err := m.Dir.CanSee(c, l.State.Authorization); err != nil {
		return l, err
	}
	return l, nil
}

func (m *Cases) get(c echo.Context) error {
	const op = errs.Op("api.cases.get")
	asOf, rev := c.QueryParam("asOf"), c.QueryParam("revision")
	if asOf != "" && rev != "" {
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "asOf", Reason: "indique asOf o revision, no ambos"})
	}
	var point *commands.Point
	if asOf != "" {
		t, err := time.Parse(time.RFC3339Nano, asOf)
		if err != nil {
			return errs.E(op, errs.Invalid, errs.FieldError{Field: "asOf", Reason: "instante RFC 3339 no válido"})
		}
		pt := commands.AsOf(t)
		point = &pt
	}
	if rev != "" {
		n, err := strconv.ParseUint(rev, 10, 64)
		if err != nil {
			return errs.E(op, errs.Invalid, errs.FieldError{Field: "revision", Reason: "revisión no válida"})
		}
		pt := commands.AtRevision(n)
		point = &pt
	}
	if err := m.waitMin(c); err != nil {
		return err
	}
	l, err := m.loadCase(c)
	if err != nil {
		return err
	}
	if point != nil {
		l, err = m.Cases.LoadAt(c.Request().Context(), l.State.ID, *point)
		if err != nil {
			return err
		}
		if !l.Exists || !l.State.Exists() {
			return errs.E(op, errs.NotFound, "el caso no existía en "+asOf)
		}
	}
	return c.JSON(http.StatusOK, caseView(l.State, l.Revision, l.Position))
}

// CaseHistory is every event of a case's stream.
type CaseHistory struct {
	CaseID string       `json:"caseId"`
	Stream string       `json:"stream"`
	Events []AuditEvent `json:"events"`
}

func (m *Cases) history(c echo.Context) error {
	l, err := m.loadCase(c)
	if err != nil {
		return err
	}
	evs, err := m.readStream(c.Request().Context(), l.Stream)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, CaseHistory{CaseID: l.State.ID, Stream: l.Stream, Events: auditEventsOf(evs)})
}

// readStream reads a whole stream.
func (m *Cases) readStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	return readWholeStream(ctx, m.Store, stream)
}

// act runs a command on the case of the :id parameter for the caller: an
// autorizado must act for the case's autorización (403 otherwise); the
// autorización's contact address goes to the decision for its email.
func (m *Cases) act(c echo.Context, l commands.Loaded[cases.State], decide func(actor eventstore.Actor, contact string) commands.Decide[cases.State]) error {
	var err error
	ctx := c.Request().Context()
	p, _ := principalOf(c)
	actingFor := ""
	var aut authorizations.State
	if p.Role == auth.Autorizado {
		if aut, err = m.Dir.ActingFor(c, l.State.Authorization); err != nil {
			return err
		}
		actingFor = aut.Number
	} else {
		al, err := m.Dir.Load(c, l.State.Authorization)
		if err != nil {
			return err
		}
		aut = al.State
	}
	meta, err := commandMeta(c, actingFor)
	if err != nil {
		return err
	}
	res, err := m.Cases.Handle(ctx, l.State.ID, meta, decide(meta.Actor, aut.ContactEmail))
	if err != nil {
		return err
	}
	written(c, res.Position, res.Duplicate)
	return c.JSON(http.StatusOK, caseView(res.State, res.Revision, res.Position))
}

type textInput struct {
	Text      string                `json:"text"`
	Documents []cases.DocumentInput `json:"documents"`
}

// textCommand checks access first (so an outsider gets 403 whatever it
// sends), then decodes the body and runs the decision.
func (m *Cases) textCommand(c echo.Context, optional bool, decide func(cases.TextCommand) commands.Decide[cases.State]) error {
	l, err := m.caseOfCommand(c)
	if err != nil {
		return err
	}
	var in textInput
	if !optional || c.Request().ContentLength != 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	return m.act(c, l, func(actor eventstore.Actor, contact string) commands.Decide[cases.State] {
		return decide(cases.TextCommand{Actor: actor, Text: in.Text, Documents: in.Documents, Contact: contact})
	})
}

func (m *Cases) reply(c echo.Context) error { return m.textCommand(c, false, m.Decider.Reply) }

func (m *Cases) requestInformation(c echo.Context) error {
	return m.textCommand(c, false, m.Decider.RequestInformation)
}

func (m *Cases) provideInformation(c echo.Context) error {
	return m.textCommand(c, false, m.Decider.ProvideInformation)
}

func (m *Cases) resolve(c echo.Context) error { return m.textCommand(c, false, m.Decider.Resolve) }

func (m *Cases) closeMisfiled(c echo.Context) error {
	return m.textCommand(c, true, m.Decider.CloseMisfiled)
}

func (m *Cases) addDocuments(c echo.Context) error {
	l, err := m.caseOfCommand(c)
	if err != nil {
		return err
	}
	var in struct {
		Documents []cases.DocumentInput `json:"documents"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	return m.act(c, l, func(actor eventstore.Actor, _ string) commands.Decide[cases.State] {
		return m.Decider.AddDocument(actor, in.Documents...)
	})
}

func (m *Cases) reclassify(c echo.Context) error {
	l, err := m.caseOfCommand(c)
	if err != nil {
		return err
	}
	var in struct {
		Materia      string            `json:"materia"`
		Categoria    string            `json:"categoria"`
		Subcategoria string            `json:"subcategoria"`
		ExtraData    map[string]string `json:"extraData"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	return m.act(c, l, func(actor eventstore.Actor, _ string) commands.Decide[cases.State] {
		return m.Decider.Reclassify(cases.Reclassify{Actor: actor, Materia: in.Materia, Categoria: in.Categoria,
			Subcategoria: in.Subcategoria, ExtraData: in.ExtraData})
	})
}

// caughtUp waits (bounded) until the cases read model has reached the
// log's head, for a lookup that found nothing: what was just written
// becomes visible.
func (m *Cases) caughtUp(ctx context.Context) error {
	head, err := m.Store.Head(ctx)
	if err != nil {
		return err
	}
	return m.Wait(ctx, head)
}

// desistimientoBy finds a desistimiento in the read model, waiting for it
// to catch up with the log when it is not there yet.
func (m *Cases) desistimientoBy(ctx context.Context, col, v string) (readmodels.DesistimientoRow, bool, error) {
	d, ok, err := readmodels.DesistimientoBy(ctx, m.DB, col, v)
	if err != nil || ok {
		return d, ok, err
	}
	if err := m.caughtUp(ctx); err != nil {
		return d, false, err
	}
	return readmodels.DesistimientoBy(ctx, m.DB, col, v)
}

// DesistimientoItem is a Resolución de Desistimiento with its notification,
// as the lists show it.
type DesistimientoItem struct {
	readmodels.DesistimientoRow
	DocumentURL string `json:"documentUrl"`
}

func desistimientoItem(d readmodels.DesistimientoRow) DesistimientoItem {
	return DesistimientoItem{DesistimientoRow: d, DocumentURL: "/v1/desistimientos/" + d.ID + "/document"}
}

func (m *Cases) listDesistimientos(c echo.Context) error {
	const op = errs.Op("api.desistimientos.list")
	var f errs.Fields
	filter := readmodels.DesistimientoFilter{
		From: queryDate(c, "from", &f), To: queryDate(c, "to", &f),
		Limit: queryInt(c, "limit", 1, 1000, 100, &f), Offset: queryInt(c, "offset", 0, 1<<30, 0, &f),
	}
	checkRange(filter.From, filter.To, "from", "to", &f)
	if len(f) > 0 {
		return errs.E(op, errs.Invalid, f)
	}
	var err error
	if filter.Authorization, filter.Authorizations, err = m.scope(c, c.QueryParam("authorization")); err != nil {
		return err
	}
	if err := m.waitMin(c); err != nil {
		return err
	}
	rows, err := readmodels.ListDesistimientos(c.Request().Context(), m.DB, filter)
	if err != nil {
		return err
	}
	out := make([]DesistimientoItem, len(rows))
	for i, d := range rows {
		out[i] = desistimientoItem(d)
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

// caseEvents is a case's stream, decoded.
type caseEvent struct {
	eventstore.Event
	Data any
}

func (m *Cases) caseEvents(ctx context.Context, caseID string) ([]caseEvent, error) {
	evs, err := m.readStream(ctx, m.Cases.Aggregate().Stream(caseID))
	if err != nil {
		return nil, err
	}
	codec := m.Cases.Aggregate().Codec
	out := make([]caseEvent, 0, len(evs))
	for _, e := range evs {
		v, err := codec.Decode(e)
		if err != nil {
			return nil, errs.E(errs.Op("api.cases.events"), err)
		}
		out = append(out, caseEvent{Event: e, Data: v})
	}
	return out, nil
}

// desistimientoOf resolves the :id parameter to its desistimiento, checks
// the caller may see it and reads its case's events.
func (m *Cases) desistimientoOf(c echo.Context) (readmodels.DesistimientoRow, []caseEvent, error) {
	const op = errs.Op("api.desistimientos.get")
	ctx := c.Request().Context()
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return readmodels.DesistimientoRow{}, nil, errs.E(op, errs.NotFound, "la resolución no existe")
	}
	if err := m.waitMin(c); err != nil {
		return readmodels.DesistimientoRow{}, nil, err
	}
	d, ok, err := m.desistimientoBy(ctx, "id", id)
	if err != nil {
		return d, nil, err
	}
	if !ok {
		return d, nil, errs.E(op, errs.NotFound, "la resolución no existe")
	}
	if err := m.Dir.CanSee(c, d.Authorization); err != nil {
		return d, nil, err
	}
	evs, err := m.caseEvents(ctx, d.CaseID)
	if err != nil {
		return d, nil, err
	}
	return d, evs, nil
}

// TrailStep is one step of a desistimiento's trail.
type TrailStep struct {
	Step    string           `json:"step"`
	At      time.Time        `json:"at"`
	Actor   eventstore.Actor `json:"actor"`
	Details map[string]any   `json:"details"`
}

// TrailEmail is one email of the trail with its delivery outcome.
type TrailEmail struct {
	ID          string    `json:"id"`
	Template    string    `json:"template"`
	To          string    `json:"to,omitempty"`
	Status      string    `json:"status"` // requested, sent, failed, skipped
	Attempts    int       `json:"attempts"`
	Error       string    `json:"error,omitempty"`
	RequestedAt time.Time `json:"requestedAt"`
	SentAt      time.Time `json:"sentAt,omitzero"`
}

// DesistimientoDetail is a desistimiento with its whole trail: the
// requerimiento, its deadline, the closure de oficio, the emails with their
// delivery outcome, the resolution, the puesta a disposición and the access
// or rejection, each with time and actor.
type DesistimientoDetail struct {
	DesistimientoItem
	CaseType      casia.Type   `json:"caseType"`
	CaseState     cases.Status `json:"caseState"`
	Trail         []TrailStep  `json:"trail"`
	Emails        []TrailEmail `json:"emails"`
	TrailComplete bool         `json:"trailComplete"`
}

func (m *Cases) getDesistimiento(c echo.Context) error {
	d, evs, err := m.desistimientoOf(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, buildTrail(d, evs))
}

// buildTrail reads the desistimiento's trail from its case's events, so it
// is always as fresh as the log.
func buildTrail(d readmodels.DesistimientoRow, evs []caseEvent) DesistimientoDetail {
	var st cases.State
	var closure *caseEvent
	for i := range evs {
		st = cases.Apply(st, evs[i].Data)
		if _, ok := evs[i].Data.(cases.CaseClosedDeOficio); ok && closure == nil {
			closure = &evs[i]
		}
	}
	if st.Desistimiento != nil {
		d.NotificationID = st.Desistimiento.NotificationID
		d.NotificationState = string(st.Desistimiento.NotificationState)
		d.MadeAvailableAt, d.RejectionDeadline = st.Desistimiento.MadeAvailableAt, st.Desistimiento.RejectionDeadline
		d.AccessedAt, d.AccessedBy, d.RejectedAt = st.Desistimiento.AccessedAt, st.Desistimiento.AccessedBy, st.Desistimiento.RejectedAt
	}
	out := DesistimientoDetail{DesistimientoItem: desistimientoItem(d), CaseType: st.Type, CaseState: st.Status,
		Trail: []TrailStep{}, Emails: []TrailEmail{}}
	requestNo := 0
	closureCmd := ""
	if closure != nil {
		requestNo = closure.Data.(cases.CaseClosedDeOficio).RequestNo
		closureCmd = closure.Metadata.CommandID
	}
	requestCmd := ""
	emails := map[string]int{}
	step := func(e caseEvent, name string, at time.Time, details map[string]any) {
		if at.IsZero() {
			at = e.Metadata.OccurredAt
		}
		out.Trail = append(out.Trail, TrailStep{Step: name, At: at.UTC(), Actor: e.Metadata.Actor, Details: details})
	}
	for _, e := range evs {
		switch ev := e.Data.(type) {
		case cases.InformationRequested:
			if ev.RequestNo != requestNo {
				continue
			}
			requestCmd = e.Metadata.CommandID
			step(e, "requerimiento", ev.RequestedAt, map[string]any{"requestNo": ev.RequestNo, "text": ev.Text})
			step(e, "plazo", ev.Deadline, map[string]any{"termDays": ev.TermDays, "lastDay": ev.LastDay.String(),
				"deadline": ev.Deadline.UTC()})
		case cases.CaseClosedDeOficio:
			step(e, "cierre_de_oficio", ev.ClosedAt, map[string]any{"requestNo": ev.RequestNo, "deadline": ev.Deadline.UTC()})
		case cases.DesistimientoIssued:
			step(e, "resolucion", ev.IssuedAt, map[string]any{"resolutionId": ev.ResolutionID, "number": ev.Number,
				"verificationCode": ev.VerificationCode, "issuingBody": ev.Facts.IssuingBody, "documentUrl": out.DocumentURL})
		case cases.NotificationMadeAvailable:
			step(e, "puesta_a_disposicion", ev.MadeAvailableAt, map[string]any{"notificationId": ev.NotificationID,
				"accessDays": ev.AccessDays, "lastDay": ev.LastDay.String(), "rejectionDeadline": ev.RejectionDeadline.UTC()})
		case cases.NotificationAccessed:
			step(e, "accedida", ev.At, map[string]any{"notificationId": ev.NotificationID})
		case cases.NotificationRejected:
			step(e, "rechazada", ev.At, map[string]any{"notificationId": ev.NotificationID})
		case cases.EmailRequested:
			if cmd := e.Metadata.CommandID; cmd == "" || (cmd != requestCmd && cmd != closureCmd) {
				continue
			}
			emails[ev.EmailID] = len(out.Emails)
			out.Emails = append(out.Emails, TrailEmail{ID: ev.EmailID, Template: ev.Template, To: ev.To,
				Status: cases.EmailStatusRequested, RequestedAt: ev.At.UTC()})
			step(e, "correo_solicitado", ev.At, map[string]any{"emailId": ev.EmailID, "template": ev.Template, "to": ev.To,
				"subject": ev.Subject})
		case cases.EmailSkipped:
			if cmd := e.Metadata.CommandID; cmd == "" || (cmd != requestCmd && cmd != closureCmd) {
				continue
			}
			emails[ev.EmailID] = len(out.Emails)
			out.Emails = append(out.Emails, TrailEmail{ID: ev.EmailID, Template: ev.Template,
				Status: cases.EmailStatusSkipped, Error: ev.Reason, RequestedAt: ev.At.UTC()})
			step(e, "correo_omitido", ev.At, map[string]any{"emailId": ev.EmailID, "template": ev.Template, "reason": ev.Reason})
		case cases.EmailSent:
			i, ok := emails[ev.EmailID]
			if !ok {
				continue
			}
			out.Emails[i].Status, out.Emails[i].Attempts, out.Emails[i].Error, out.Emails[i].SentAt = cases.EmailStatusSent, ev.Attempt, "", ev.At.UTC()
			step(e, "correo_enviado", ev.At, map[string]any{"emailId": ev.EmailID, "attempt": ev.Attempt})
		case cases.EmailFailed:
			i, ok := emails[ev.EmailID]
			if !ok {
				continue
			}
			out.Emails[i].Attempts, out.Emails[i].Error = ev.Attempt, ev.Error
			if ev.Final {
				out.Emails[i].Status = cases.EmailStatusFailed
			}
			step(e, "correo_fallido", ev.At, map[string]any{"emailId": ev.EmailID, "attempt": ev.Attempt, "error": ev.Error, "final": ev.Final})
		}
	}
	out.TrailComplete = d.NotificationState == string(cases.Accedida) || d.NotificationState == string(cases.Rechazada)
	return out
}

// issuedEvent returns the DesistimientoIssued event of a case.
func issuedEvent(evs []caseEvent) (cases.DesistimientoIssued, bool) {
	for _, e := range evs {
		if ev, ok := e.Data.(cases.DesistimientoIssued); ok {
			return ev, true
		}
	}
	return cases.DesistimientoIssued{}, false
}

func (m *Cases) document(c echo.Context) error {
	const op = errs.Op("api.desistimientos.document")
	d, evs, err := m.desistimientoOf(c)
	if err != nil {
		return err
	}
	p, _ := principalOf(c)
	if p.Role == auth.Autorizado {
		var st cases.State
		for _, e := range evs {
			st = cases.Apply(st, e.Data)
		}
		if st.Desistimiento != nil && st.Desistimiento.NotificationState == cases.PuestaADisposicion {
			return errs.E(op, errs.Precondition, "la resolución está puesta a su disposición: acceda a la notificación "+
				st.Desistimiento.NotificationID+" (POST /v1/notifications/{id}/access) para obtener el documento")
		}
	}
	ev, ok := issuedEvent(evs)
	if !ok {
		return errs.E(op, errs.NotFound, "la resolución no existe")
	}
	pdf, err := m.render(ev)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+d.Number+`.pdf"`)
	h.Set("ETag", `"`+sha256Hex(pdf)+`"`)
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

func (m *Cases) access(c echo.Context) error {
	const op = errs.Op("api.notifications.access")
	ctx := c.Request().Context()
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return errs.E(op, errs.NotFound, "la notificación no existe")
	}
	d, ok, err := m.desistimientoBy(ctx, "notification_id", id)
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(op, errs.NotFound, "la notificación no existe")
	}
	aut, err := m.Dir.ActingFor(c, d.Authorization)
	if err != nil {
		return err
	}
	meta, err := commandMeta(c, aut.Number)
	if err != nil {
		return err
	}
	res, err := m.Cases.Handle(ctx, d.CaseID, meta, m.Decider.AccessNotification(meta.Actor))
	if err != nil {
		return err
	}
	written(c, res.Position, res.Duplicate)
	if n := res.State.Desistimiento; n != nil {
		d.NotificationState, d.AccessedAt, d.AccessedBy = string(n.NotificationState), n.AccessedAt, n.AccessedBy
		d.MadeAvailableAt, d.RejectionDeadline, d.RejectedAt = n.MadeAvailableAt, n.RejectionDeadline, n.RejectedAt
	}
	return c.JSON(http.StatusOK, desistimientoItem(d))
}

// Verification is the answer to a code check.
type Verification struct {
	Code      string            `json:"code"`
	Authentic bool              `json:"authentic"`
	Document  *VerifiedDocument `json:"document,omitempty"`
}

// VerifiedDocument is what an authentic code belongs to. It names no
// personal data: whoever holds the document can compare it.
type VerifiedDocument struct {
	Kind        string    `json:"kind"` // resolucion_desistimiento
	Title       string    `json:"title"`
	Number      string    `json:"number"`
	IssuingBody string    `json:"issuingBody"`
	IssuedAt    time.Time `json:"issuedAt"`
	// CaseNumber is the case of a Resolución de Desistimiento; absent for
	// an NSS assignment resolution, which belongs to no case.
	CaseNumber string `json:"caseNumber,omitempty"`
	// SHA256 is of the PDF as GET …/document serves it; absent for an NSS
	// assignment resolution, whose every duplicate prints its own date of
	// issue (no two are byte-identical, so there is no one PDF to hash).
	SHA256 string `json:"sha256,omitempty"`
}

func (m *Cases) verify(c echo.Context) error {
	const op = errs.Op("api.documents.verify")
	code, ok := cases.NormalizeCode(c.Param("code"))
	if !ok {
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "code", Reason: "un código de verificación tiene 24 letras (A-Z) o cifras (2-7)"})
	}
	ctx := c.Request().Context()
	d, ok, err := m.desistimientoBy(ctx, "verification_code", code)
	if err != nil {
		return err
	}
	if !ok {
		for _, other := range m.OtherDocuments {
			doc, err := other(ctx, code)
			if err != nil {
				return err
			}
			if doc != nil {
				return c.JSON(http.StatusOK, Verification{Code: code, Authentic: true, Document: doc})
			}
		}
		return c.JSON(http.StatusOK, Verification{Code: code})
	}
	evs, err := m.caseEvents(ctx, d.CaseID)
	if err != nil {
		return err
	}
	ev, ok := issuedEvent(evs)
	if !ok || ev.VerificationCode != code {
		return c.JSON(http.StatusOK, Verification{Code: code})
	}
	sum, err := m.pdfSum(ev)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Verification{Code: code, Authentic: true, Document: &VerifiedDocument{
		Kind: "resolucion_desistimiento", Title: "Resolución de Desistimiento", Number: ev.Number,
		IssuingBody: ev.Facts.IssuingBody, IssuedAt: ev.IssuedAt.UTC(), CaseNumber: ev.Facts.CaseNumber, SHA256: sum}})
}

// pdfSum returns the SHA-256 of a resolution's PDF, rendering it once.
func (m *Cases) pdfSum(ev cases.DesistimientoIssued) (string, error) {
	if v, ok := m.sums.Load(ev.ResolutionID); ok {
		return v.(string), nil
	}
	pdf, err := m.render(ev)
	if err != nil {
		return "", err
	}
	sum := sha256Hex(pdf)
	m.sums.Store(ev.ResolutionID, sum)
	return sum, nil
}

func (m *Cases) render(ev cases.DesistimientoIssued) ([]byte, error) {
	return documents.RenderDesistimiento(ev)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
