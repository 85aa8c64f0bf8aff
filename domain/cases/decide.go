package cases

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"redengine/catalog/casia"
	"redengine/commands"
	"redengine/domain/calendar"
	"redengine/domain/ident"
	"redengine/errs"
	"redengine/eventstore"
)

// Terms and limits of the case rules.
const (
	InformationTermDays  = 20 // días naturales to answer a requerimiento (legal calendar)
	NotificationDays     = 10 // días naturales to access a puesta a disposición (plain calendar days)
	AppealTermMonths     = 1  // recurso de alzada: one month (art. 122.1 Ley 39/2015)
	MaxSubjectLen        = 200
	MaxTextLen           = 10000
	MaxDocumentNameLen   = 255
	MaxDocumentsPerCall  = 20
	DefaultProvinceCode  = 28 // Madrid: the Dirección Provincial when the case names no CCC or NAF
	misfiledDefaultReply = "El asunto planteado requiere la presentación de un Trámite. Abra un caso de tipo Trámite con la clasificación que corresponda."
)

// Decider holds what the case decisions need besides the state and the
// time: the CASIA catalogue, the legal calendar and the key of the
// verification codes. Its methods return commands.Decide[State] values for
// the command pipeline. A Decider is immutable and safe for concurrent use.
type Decider struct {
	catalogue *casia.Catalogue
	cal       *calendar.Calendar
	codeKey   []byte
}

// NewDecider returns the decisions of the case aggregate. codeKey keys the
// verification codes of the resolutions (see VerificationCode); keep it
// stable across restarts, or codes of new resolutions will not match the
// scheme of old ones (old ones stay valid: they are stored in events).
func NewDecider(catalogue *casia.Catalogue, cal *calendar.Calendar, codeKey []byte) *Decider {
	if catalogue == nil || cal == nil {
		panic("cases.NewDecider: nil catalogue or calendar")
	}
	return &Decider{catalogue: catalogue, cal: cal, codeKey: append([]byte(nil), codeKey...)}
}

// Catalogue returns the catalogue the decider classifies with.
func (d *Decider) Catalogue() *casia.Catalogue { return d.catalogue }

// Calendar returns the legal calendar the decider counts terms with.
func (d *Decider) Calendar() *calendar.Calendar { return d.cal }

// DocumentInput is the metadata of a document sent with a command; the
// bytes are stored by the caller and named by their SHA-256 (lower-case
// hex).
type DocumentInput struct {
	Name      string `json:"name"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
}

// OpenCase opens a case. CaseID comes from commands.DeriveID and Number from
// the case number sequence (ReserveNumber, FormatNumber). Origin may be left empty: it is
// then "autorizado" for an autorizado and "tgss" for a tramitador. Contact
// is the autorización's contact email, used when the case has origin tgss.
type OpenCase struct {
	CaseID        string            `json:"caseId"`
	Number        string            `json:"number"`
	Actor         eventstore.Actor  `json:"actor"`
	Authorization string            `json:"authorization"`
	Origin        Origin            `json:"origin"`
	Type          casia.Type        `json:"type"`
	Materia       string            `json:"materia"`
	Categoria     string            `json:"categoria"`
	Subcategoria  string            `json:"subcategoria"`
	Subject       string            `json:"subject"`
	Body          string            `json:"body"`
	ExtraData     map[string]string `json:"extraData"`
	Documents     []DocumentInput   `json:"documents"`
	Contact       string            `json:"contact"`
}

// TextCommand is a text with optional documents sent by a person (reply,
// requerimiento, information, resolution, closure as misfiled). Contact is the autorización's
// contact email for the commands that send one.
type TextCommand struct {
	Actor     eventstore.Actor `json:"actor"`
	Text      string           `json:"text"`
	Documents []DocumentInput  `json:"documents"`
	Contact   string           `json:"contact"`
}

// Reclassify changes the classification of a consulta or error_incidencia;
// ExtraData may add the fields the new subcategoría requires.
type Reclassify struct {
	Actor        eventstore.Actor  `json:"actor"`
	Materia      string            `json:"materia"`
	Categoria    string            `json:"categoria"`
	Subcategoria string            `json:"subcategoria"`
	ExtraData    map[string]string `json:"extraData"`
}

// SystemCommand is a command of the engine itself (the scheduler): its actor
// must have the role "system". Contact is the autorización's contact email.
type SystemCommand struct {
	Actor   eventstore.Actor `json:"actor"`
	Contact string           `json:"contact"`
}

// EmailOutcome is the notifier's report on one email.
type EmailOutcome struct {
	Actor   eventstore.Actor `json:"actor"`
	EmailID string           `json:"emailId"`
	Attempt int              `json:"attempt"`
	Sent    bool             `json:"sent"`
	Error   string           `json:"error"`
	Final   bool             `json:"final"`
}

func precondition(op errs.Op, msg string) error { return errs.E(op, errs.Precondition, msg) }
func forbidden(op errs.Op, msg string) error    { return errs.E(op, errs.Forbidden, msg) }

func notFound(op errs.Op) error { return errs.E(op, errs.NotFound, "el caso no existe") }

// An actorRule checks that actor a may act on case s.
type actorRule func(op errs.Op, s State, a eventstore.Actor) error

// requireTramitador checks the actor is TGSS staff.
func requireTramitador(op errs.Op, _ State, a eventstore.Actor) error {
	if a.Role != RoleTramitador {
		return forbidden(op, "solo un tramitador de la TGSS puede hacer esta operación")
	}
	return nil
}

// requireSystem checks the actor is the engine.
func requireSystem(op errs.Op, _ State, a eventstore.Actor) error {
	if a.Role != RoleSystem {
		return forbidden(op, "esta operación la realiza solo el sistema")
	}
	return nil
}

// requireOwner checks the actor is an autorizado acting for the case's
// autorización.
func requireOwner(op errs.Op, s State, a eventstore.Actor) error {
	if a.Role != RoleAutorizado || a.Authorization == "" || a.Authorization != s.Authorization {
		return forbidden(op, "solo un autorizado de la autorización del caso puede hacer esta operación")
	}
	return nil
}

// requireParty checks the actor is a tramitador or an autorizado of the
// case's autorización.
func requireParty(op errs.Op, s State, a eventstore.Actor) error {
	if a.Role == RoleTramitador {
		return nil
	}
	return requireOwner(op, s, a)
}

// onOpenCase runs the checks every command on a case in process starts
// with: the case exists, the actor may act, the case is not final.
func onOpenCase(op errs.Op, s State, a eventstore.Actor, may actorRule) error {
	if !s.Exists() {
		return notFound(op)
	}
	if err := may(op, s, a); err != nil {
		return err
	}
	if s.Status.Final() {
		return precondition(op, fmt.Sprintf("el caso %s está %s y no admite más actuaciones", s.Number, s.Status.Label()))
	}
	return nil
}

// checkMessage validates the text and documents of a TextCommand.
func checkMessage(op errs.Op, cmd TextCommand) error {
	var f errs.Fields
	checkText(&f, "text", cmd.Text, MaxTextLen)
	checkDocuments(&f, cmd.Documents)
	if len(f) > 0 {
		return errs.E(op, errs.Invalid, f)
	}
	return nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkText validates a required text field: not blank, valid UTF-8, no
// control characters but tab and line breaks, and at most maxLen characters
// as a reader counts them (composed, NFC: an accent typed apart is not a
// character more).
func checkText(f *errs.Fields, field, v string, maxLen int) {
	switch {
	case strings.TrimSpace(v) == "":
		f.Add(field, "es obligatorio")
	case !utf8.ValidString(v):
		f.Add(field, "no es texto UTF-8 válido")
	case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }):
		f.Add(field, "contiene caracteres de control (solo se admiten tabuladores y saltos de línea)")
	case utf8.RuneCountInString(norm.NFC.String(v)) > maxLen:
		f.Add(field, fmt.Sprintf("no puede tener más de %d caracteres", maxLen))
	}
}

func checkDocuments(f *errs.Fields, docs []DocumentInput) {
	if len(docs) > MaxDocumentsPerCall {
		f.Add("documents", fmt.Sprintf("no se pueden adjuntar más de %d documentos a la vez", MaxDocumentsPerCall))
		return
	}
	for i, doc := range docs {
		p := fmt.Sprintf("documents[%d].", i)
		checkText(f, p+"name", doc.Name, MaxDocumentNameLen)
		if strings.ContainsAny(doc.Name, "/\\\x00") {
			f.Add(p+"name", "no puede contener barras ni caracteres de control")
		}
		if strings.TrimSpace(doc.MediaType) == "" {
			f.Add(p+"mediaType", "es obligatorio")
		}
		if doc.Size < 0 {
			f.Add(p+"size", "no puede ser negativo")
		}
		if !sha256Hex.MatchString(doc.SHA256) {
			f.Add(p+"sha256", "debe ser el SHA-256 del contenido en hexadecimal (64 caracteres en minúscula)")
		}
	}
}

// documents turns inputs into Documents numbered after the case's existing
// ones.
func documents(caseID string, have int, in []DocumentInput, by eventstore.Actor, now time.Time) []Document {
	if len(in) == 0 {
		return nil
	}
	out := make([]Document, len(in))
	for i, d := range in {
		out[i] = Document{ID: DocumentID(caseID, have+i), Name: strings.TrimSpace(d.Name), MediaType: d.MediaType,
			Size: d.Size, SHA256: d.SHA256, AddedAt: now, AddedBy: by.ID}
	}
	return out
}

// emailTo requests an email to contact, or records that it was skipped.
// n is the index of the email among the case's emails.
func emailTo(s State, n int, contact, template string, extra map[string]string, now time.Time) any {
	id := EmailID(s.ID, n)
	if strings.TrimSpace(contact) == "" {
		return EmailSkipped{EmailID: id, Template: template, Reason: NoContactReason, At: now}
	}
	subject, body := mail(template, s, extra)
	return EmailRequested{EmailID: id, Template: template, To: strings.TrimSpace(contact), Subject: subject, Body: body, At: now}
}

// ValidateOpen checks an OpenCase command without a state: the actor and
// origin, the autorización, the type against the classification, the
// required extra data and the texts. The API calls it before reserving a
// case number, so a refused opening consumes none. Open runs it too.
func (d *Decider) ValidateOpen(cmd OpenCase) error {
	const op = errs.Op("cases.Open")
	origin := cmd.Origin
	if origin != "" && origin != OriginAutorizado && origin != OriginTGSS {
		return errs.E(op, errs.Invalid, errs.FieldError{Field: "origin", Reason: "origen no válido: autorizado o tgss"})
	}
	switch cmd.Actor.Role {
	case RoleAutorizado:
		if origin == "" {
			origin = OriginAutorizado
		}
		if origin != OriginAutorizado {
			return forbidden(op, "solo un tramitador puede abrir un caso con origen TGSS")
		}
		if cmd.Actor.Authorization == "" || cmd.Actor.Authorization != cmd.Authorization {
			return forbidden(op, "no actúa en nombre de la autorización indicada")
		}
	case RoleTramitador:
		if origin == "" {
			origin = OriginTGSS
		}
		if origin != OriginTGSS {
			return forbidden(op, "un tramitador solo puede abrir casos con origen TGSS dirigidos a una autorización")
		}
	default:
		return forbidden(op, "solo un autorizado RED o un tramitador pueden abrir casos")
	}
	var f errs.Fields
	if strings.TrimSpace(cmd.Authorization) == "" {
		f.Add("authorization", "es obligatoria")
	}
	checkText(&f, "subject", cmd.Subject, MaxSubjectLen)
	checkText(&f, "body", cmd.Body, MaxTextLen)
	checkDocuments(&f, cmd.Documents)
	if !cmd.Type.Valid() {
		f.Add("type", "debe ser consulta, error_incidencia o tramite")
	}
	_, sub, ok := d.catalogue.Classify(cmd.Materia, cmd.Categoria, cmd.Subcategoria)
	switch {
	case !ok:
		f.Add("subcategoria", "la clasificación materia/categoría/subcategoría no existe en el catálogo "+d.catalogue.Version)
	case cmd.Type.Valid() && !sub.Allows(cmd.Type):
		f.Add("type", fmt.Sprintf("la subcategoría %q no admite casos de tipo %s", sub.Name, cmd.Type.Label()))
	}
	if ok {
		f = append(f, sub.ValidateExtra(cmd.ExtraData)...)
	}
	if len(f) > 0 {
		return errs.E(op, errs.Invalid, "los datos del caso no son válidos", f)
	}
	return nil
}

// Open opens a case: CaseOpened (with a justificante for a trámite) and
// CaseRouted to the competent unit; for a case of origin tgss, an email to
// the autorización's contact address (or EmailSkipped without one).
func (d *Decider) Open(cmd OpenCase) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.Open")
		now = now.UTC()
		if err := d.ValidateOpen(cmd); err != nil {
			return nil, err
		}
		if s.Exists() {
			return nil, precondition(op, fmt.Sprintf("el caso %s ya existe", s.Number))
		}
		var f errs.Fields
		if cmd.CaseID == "" {
			f.Add("caseId", "es obligatorio")
		}
		if cmd.Number == "" {
			f.Add("number", "es obligatorio")
		}
		if len(f) > 0 {
			return nil, errs.E(op, errs.Invalid, f)
		}
		cl, sub, _ := d.catalogue.Classify(cmd.Materia, cmd.Categoria, cmd.Subcategoria)
		origin := OriginAutorizado
		if cmd.Actor.Role == RoleTramitador {
			origin = OriginTGSS
		}
		opened := CaseOpened{
			CaseID: cmd.CaseID, Number: cmd.Number, Type: cmd.Type, Classification: cl,
			CatalogueVersion: d.catalogue.Version, Origin: origin, Authorization: cmd.Authorization,
			Subject: strings.TrimSpace(cmd.Subject), Body: cmd.Body, ExtraData: trimmed(cmd.ExtraData),
			Documents: documents(cmd.CaseID, 0, cmd.Documents, cmd.Actor, now),
			OpenedBy:  cmd.Actor, OpenedAt: now,
		}
		if cmd.Type == casia.Tramite {
			opened.Justificante = &Justificante{Number: JustificanteNumber(cmd.Number), IssuedAt: now}
		}
		out := []any{opened, CaseRouted{Unit: sub.Unit, Classification: cl, Reason: "apertura", At: now}}
		if origin == OriginTGSS {
			after := Fold(out...)
			out = append(out, emailTo(after, 0, cmd.Contact, TemplateCaseOpenedTGSS, nil, now))
		}
		return out, nil
	}
}

func trimmed(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// Reply adds a message to the thread, by a tramitador or an autorizado of
// the case's autorización. A tramitador's reply takes an abierto case to
// en_tramitacion. While the case waits on a requerimiento the autorizado
// answers with ProvideInformation, not with a reply.
func (d *Decider) Reply(cmd TextCommand) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.Reply")
		now = now.UTC()
		if err := onOpenCase(op, s, cmd.Actor, requireParty); err != nil {
			return nil, err
		}
		if s.Status == PendienteInformacion && cmd.Actor.Role == RoleAutorizado {
			return nil, precondition(op, "el caso espera la información requerida: apórtela como respuesta al requerimiento")
		}
		if err := checkMessage(op, cmd); err != nil {
			return nil, err
		}
		return []any{ReplyAdded{Text: cmd.Text, Documents: documents(s.ID, len(s.Documents), cmd.Documents, cmd.Actor, now),
			By: cmd.Actor, At: now}}, nil
	}
}

// AddDocument attaches documents to a case that is not final, by either
// party; one DocumentAdded per document.
func (d *Decider) AddDocument(actor eventstore.Actor, docs ...DocumentInput) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.AddDocument")
		now = now.UTC()
		if err := onOpenCase(op, s, actor, requireParty); err != nil {
			return nil, err
		}
		var f errs.Fields
		if len(docs) == 0 {
			f.Add("documents", "indique al menos un documento")
		}
		checkDocuments(&f, docs)
		if len(f) > 0 {
			return nil, errs.E(op, errs.Invalid, f)
		}
		var out []any
		for _, doc := range documents(s.ID, len(s.Documents), docs, actor, now) {
			out = append(out, DocumentAdded{Document: doc, By: actor})
		}
		return out, nil
	}
}

// Reclassify changes the classification of a consulta or error_incidencia
// (tramitador only) and routes it again: CaseReclassified, CaseRouted.
func (d *Decider) Reclassify(cmd Reclassify) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.Reclassify")
		now = now.UTC()
		if err := onOpenCase(op, s, cmd.Actor, requireTramitador); err != nil {
			return nil, err
		}
		if s.Type == casia.Tramite {
			return nil, precondition(op, "un Trámite no se puede reclasificar; solo las Consultas y los Errores/Incidencias")
		}
		cl, sub, ok := d.catalogue.Classify(cmd.Materia, cmd.Categoria, cmd.Subcategoria)
		var f errs.Fields
		switch {
		case !ok:
			f.Add("subcategoria", "la clasificación materia/categoría/subcategoría no existe en el catálogo "+d.catalogue.Version)
		case !sub.Allows(s.Type):
			f.Add("subcategoria", fmt.Sprintf("la subcategoría %q no admite casos de tipo %s", sub.Name, s.Type.Label()))
		default:
			merged := maps.Clone(s.ExtraData)
			if merged == nil {
				merged = map[string]string{}
			}
			maps.Copy(merged, cmd.ExtraData)
			f = append(f, sub.ValidateExtra(merged)...)
		}
		if len(f) > 0 {
			return nil, errs.E(op, errs.Invalid, f)
		}
		if cl == s.Classification {
			return nil, precondition(op, "el caso ya tiene esa clasificación")
		}
		return []any{
			CaseReclassified{From: s.Classification, To: cl, CatalogueVersion: d.catalogue.Version,
				ExtraData: trimmed(cmd.ExtraData), By: cmd.Actor, At: now},
			CaseRouted{Unit: sub.Unit, Classification: cl, Reason: "reclasificacion", At: now},
		}, nil
	}
}

// RequestInformation makes a requerimiento (tramitador only; the case must
// be abierto or en_tramitacion): InformationRequested with the deadline of
// 20 días naturales by the legal calendar, and an email.
func (d *Decider) RequestInformation(cmd TextCommand) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.RequestInformation")
		now = now.UTC()
		if err := onOpenCase(op, s, cmd.Actor, requireTramitador); err != nil {
			return nil, err
		}
		if s.Status == PendienteInformacion {
			return nil, precondition(op, "el caso ya espera la respuesta a un requerimiento de información")
		}
		if err := checkMessage(op, cmd); err != nil {
			return nil, err
		}
		req := InformationRequested{
			RequestNo: s.Requests + 1, Text: cmd.Text,
			Documents: documents(s.ID, len(s.Documents), cmd.Documents, cmd.Actor, now),
			By:        cmd.Actor, RequestedAt: now, TermDays: InformationTermDays,
			LastDay:  d.cal.TermLastDay(now, InformationTermDays),
			Deadline: d.cal.TermEnd(now, InformationTermDays).UTC(),
		}
		consequence := ""
		if s.Type == casia.Tramite {
			consequence = " y se le tendrá por desistido de su solicitud mediante resolución (art. 68 de la Ley 39/2015)"
		}
		mail := emailTo(s, len(s.Emails), cmd.Contact, TemplateInformationRequested,
			map[string]string{"text": cmd.Text, "lastDay": DateText(req.LastDay), "consequence": consequence}, now)
		return []any{req, mail}, nil
	}
}

// ProvideInformation answers the pending requerimiento (an autorizado of the
// case's autorización), strictly before its deadline: at the deadline
// instant and later it is refused. The case returns to en_tramitacion.
func (d *Decider) ProvideInformation(cmd TextCommand) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.ProvideInformation")
		now = now.UTC()
		if err := onOpenCase(op, s, cmd.Actor, requireOwner); err != nil {
			return nil, err
		}
		if s.PendingRequest == nil {
			return nil, precondition(op, "el caso no tiene ningún requerimiento de información pendiente")
		}
		if calendar.Passed(now, s.PendingRequest.Deadline) {
			return nil, precondition(op, fmt.Sprintf("el plazo para aportar la información terminó el %s", DateText(s.PendingRequest.LastDay)))
		}
		if err := checkMessage(op, cmd); err != nil {
			return nil, err
		}
		return []any{InformationProvided{RequestNo: s.PendingRequest.RequestNo, Text: cmd.Text,
			Documents: documents(s.ID, len(s.Documents), cmd.Documents, cmd.Actor, now), By: cmd.Actor, At: now}}, nil
	}
}

// Resolve ends the case with the tramitador's answer (from abierto,
// en_tramitacion or pendiente_informacion, whose deadline it clears) and
// emails the autorización.
func (d *Decider) Resolve(cmd TextCommand) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.Resolve")
		now = now.UTC()
		if err := onOpenCase(op, s, cmd.Actor, requireTramitador); err != nil {
			return nil, err
		}
		if err := checkMessage(op, cmd); err != nil {
			return nil, err
		}
		return []any{
			CaseResolved{Text: cmd.Text, Documents: documents(s.ID, len(s.Documents), cmd.Documents, cmd.Actor, now), By: cmd.Actor, At: now},
			emailTo(s, len(s.Emails), cmd.Contact, TemplateCaseResolved, map[string]string{"text": cmd.Text}, now),
		}, nil
	}
}

// CloseMisfiled closes an error_incidencia whose matter needs a trámite
// (tramitador only), telling the autorizado to open a Trámite. An empty text
// uses a standard one.
func (d *Decider) CloseMisfiled(cmd TextCommand) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.CloseMisfiled")
		now = now.UTC()
		if err := onOpenCase(op, s, cmd.Actor, requireTramitador); err != nil {
			return nil, err
		}
		if s.Type != casia.ErrorIncidencia {
			return nil, precondition(op, "solo un Error/Incidencia puede cerrarse por requerir un Trámite")
		}
		reason := cmd.Text
		if strings.TrimSpace(reason) == "" {
			reason = misfiledDefaultReply
		}
		var f errs.Fields
		checkText(&f, "text", reason, MaxTextLen)
		if len(f) > 0 {
			return nil, errs.E(op, errs.Invalid, f)
		}
		return []any{
			CaseClosedMisfiled{Reason: reason, By: cmd.Actor, At: now},
			emailTo(s, len(s.Emails), cmd.Contact, TemplateCaseClosedMisfiled, map[string]string{"text": reason}, now),
		}, nil
	}
}

// CloseDeOficio closes a case whose requerimiento went unanswered (system
// only; the case must be pendiente_informacion and now at or after the
// deadline): CaseClosedDeOficio and an email. For a trámite it also issues
// the Resolución de Desistimiento (DesistimientoIssued), puts it at the
// autorización's disposal in the Sede Electrónica
// (NotificationMadeAvailable, 10 días naturales to access it) and sends the
// aviso email.
func (d *Decider) CloseDeOficio(cmd SystemCommand) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.CloseDeOficio")
		now = now.UTC()
		if !s.Exists() {
			return nil, notFound(op)
		}
		if err := requireSystem(op, s, cmd.Actor); err != nil {
			return nil, err
		}
		if s.Status != PendienteInformacion || s.PendingRequest == nil {
			return nil, precondition(op, fmt.Sprintf("el caso %s no espera información (está %s)", s.Number, s.Status.Label()))
		}
		req := *s.PendingRequest
		if !calendar.Passed(now, req.Deadline) {
			return nil, precondition(op, fmt.Sprintf("el plazo del requerimiento no ha terminado: termina el %s", DateText(req.LastDay)))
		}
		closed := CaseClosedDeOficio{RequestNo: req.RequestNo, RequestedAt: req.RequestedAt, Deadline: req.Deadline, ClosedAt: now}
		consequence := ""
		if s.Type == casia.Tramite {
			consequence = " Se ha dictado Resolución de Desistimiento, que se le notificará mediante su puesta a disposición en la Sede Electrónica de la Seguridad Social."
		}
		out := []any{closed, emailTo(s, len(s.Emails), cmd.Contact, TemplateCaseClosedDeOficio,
			map[string]string{"closedAt": SpanishDate(now), "requestedAt": SpanishDate(req.RequestedAt), "consequence": consequence}, now)}
		if s.Type != casia.Tramite {
			return out, nil
		}
		issued := DesistimientoIssued{
			ResolutionID:     ResolutionID(s.ID),
			Number:           ResolutionNumber(s.Number),
			VerificationCode: VerificationCode(d.codeKey, s.ID, req.RequestNo, req.Deadline),
			IssuedAt:         now,
			Facts:            d.facts(s, req, now),
		}
		notice := NotificationMadeAvailable{
			NotificationID: NotificationID(s.ID), ResolutionID: issued.ResolutionID, Authorization: s.Authorization,
			MadeAvailableAt: now, AccessDays: NotificationDays,
			LastDay:           d.cal.CalendarDaysLastDay(now, NotificationDays),
			RejectionDeadline: d.cal.CalendarDaysEnd(now, NotificationDays).UTC(),
		}
		out = append(out, issued, notice, emailTo(s, len(s.Emails)+1, cmd.Contact, TemplateDesistimientoAviso,
			map[string]string{"resolution": issued.Number, "lastDay": DateText(notice.LastDay)}, now))
		return out, nil
	}
}

// facts freezes what the resolution states.
func (d *Decider) facts(s State, req InformationRequest, now time.Time) DesistimientoFacts {
	province := DefaultProvinceCode
	ccc, naf := s.ExtraData["ccc"], s.ExtraData["naf"]
	c, cccErr := ident.ParseCCC(ccc)
	n, nafErr := ident.ParseNSS(naf)
	if nafErr == nil {
		province, naf = n.Province(), n.String()
	}
	if cccErr == nil {
		province, ccc = c.Province(), c.String()
	}
	name, _ := ident.ProvinceName(province)
	just := ""
	if s.Justificante != nil {
		just = s.Justificante.Number
	}
	return DesistimientoFacts{
		IssuingBody:      "Dirección Provincial de " + name,
		IssuingUnit:      s.Unit,
		Province:         name,
		CaseID:           s.ID,
		CaseNumber:       s.Number,
		CaseType:         s.Type,
		Classification:   s.Classification,
		Subject:          s.Subject,
		OpenedAt:         s.OpenedAt,
		Justificante:     just,
		Authorization:    s.Authorization,
		CCC:              ccc,
		NAF:              naf,
		RequestNo:        req.RequestNo,
		RequestText:      req.Text,
		RequestedAt:      req.RequestedAt,
		RequestedBy:      req.ByID,
		TermDays:         InformationTermDays,
		LastDay:          req.LastDay,
		Deadline:         req.Deadline,
		ClosedAt:         now,
		AppealBody:       "la persona titular de la Dirección Provincial de la Tesorería General de la Seguridad Social de " + name,
		AppealTermMonths: AppealTermMonths,
	}
}

// AccessNotification records that an autorizado of the case's autorización
// opened the notification of the desistimiento, before the access term
// ended. Accessing an accessed notification again appends nothing.
func (d *Decider) AccessNotification(actor eventstore.Actor) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.AccessNotification")
		now = now.UTC()
		if !s.Exists() || s.Desistimiento == nil || s.Desistimiento.NotificationID == "" {
			return nil, errs.E(op, errs.NotFound, "la notificación no existe")
		}
		if err := requireOwner(op, s, actor); err != nil {
			return nil, err
		}
		n := s.Desistimiento
		switch n.NotificationState {
		case Accedida:
			return nil, nil
		case Rechazada:
			return nil, precondition(op, fmt.Sprintf("la notificación se entendió rechazada el %s por no acceder a ella en %d días naturales (art. 43.2 de la Ley 39/2015)",
				SpanishDate(n.RejectedAt), NotificationDays))
		}
		if calendar.Passed(now, n.RejectionDeadline) {
			return nil, precondition(op, fmt.Sprintf("el plazo de %d días naturales para acceder a la notificación ha terminado; se entiende rechazada (art. 43.2 de la Ley 39/2015)", NotificationDays))
		}
		return []any{NotificationAccessed{NotificationID: n.NotificationID, By: actor, At: now}}, nil
	}
}

// RejectNotification records that the notification is deemed rejected
// (system only; now at or after its rejection deadline, and not accessed).
func (d *Decider) RejectNotification(cmd SystemCommand) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.RejectNotification")
		now = now.UTC()
		if !s.Exists() || s.Desistimiento == nil || s.Desistimiento.NotificationID == "" {
			return nil, errs.E(op, errs.NotFound, "la notificación no existe")
		}
		if err := requireSystem(op, s, cmd.Actor); err != nil {
			return nil, err
		}
		n := s.Desistimiento
		if n.NotificationState != PuestaADisposicion {
			return nil, precondition(op, fmt.Sprintf("la notificación ya está %s", notificationLabel(n.NotificationState)))
		}
		if !calendar.Passed(now, n.RejectionDeadline) {
			return nil, precondition(op, "el plazo para acceder a la notificación no ha terminado")
		}
		return []any{NotificationRejected{NotificationID: n.NotificationID, At: now}}, nil
	}
}

func notificationLabel(s NotificationState) string {
	switch s {
	case Accedida:
		return "accedida"
	case Rechazada:
		return "rechazada"
	}
	return "puesta a disposición"
}

// RecordEmailOutcome records the notifier's delivery outcome of one email of
// the case (system only): EmailSent or EmailFailed. Reports on an email that
// is already sent or finally failed append nothing.
func (d *Decider) RecordEmailOutcome(cmd EmailOutcome) commands.Decide[State] {
	return func(s State, now time.Time) ([]any, error) {
		const op = errs.Op("cases.RecordEmailOutcome")
		now = now.UTC()
		if !s.Exists() {
			return nil, notFound(op)
		}
		if err := requireSystem(op, s, cmd.Actor); err != nil {
			return nil, err
		}
		i := s.emailIndex(cmd.EmailID)
		if i < 0 {
			return nil, errs.E(op, errs.NotFound, "el correo no existe en el caso")
		}
		switch s.Emails[i].Status {
		case EmailStatusSent, EmailStatusFailed:
			return nil, nil
		case EmailStatusSkipped:
			return nil, precondition(op, "el correo no se solicitó: no hay dirección de contacto")
		}
		if cmd.Sent {
			return []any{EmailSent{EmailID: cmd.EmailID, Attempt: cmd.Attempt, At: now}}, nil
		}
		return []any{EmailFailed{EmailID: cmd.EmailID, Attempt: cmd.Attempt, Error: cmd.Error, Final: cmd.Final, At: now}}, nil
	}
}
