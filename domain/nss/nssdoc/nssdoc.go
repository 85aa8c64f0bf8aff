// Package nssdoc builds the resolution of an online NSS assignment — the
// document that "Duplicados de documentos TA" (field NSS ASIGNADO) prints —
// in the engine's house style (package documents), from the assignment's
// state alone, so the same assignment always gives the same document.
//
// It is a separate package so that domain/nss stays free of the PDF
// machinery. It is pure: no clock reads, no files.
package nssdoc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"redengine/documents"
	"redengine/domain/calendar"
	"redengine/domain/ident"
	"redengine/domain/nss"
	"redengine/errs"
)

// Title is the title of the document.
const Title = "RESOLUCIÓN DE ASIGNACIÓN DE NÚMERO DE SEGURIDAD SOCIAL"

// codeEncoding is base32 (A–Z, 2–7) without padding, as the other documents
// of the engine.
var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// VerificationCode returns the código seguro de verificación of the
// assignment resolution: HMAC-SHA256 keyed with key over
// "redengine/nss-asignacion/v1", the assignment ID, the NSS and the instant
// of the assignment (UTC, RFC 3339), the first 15 bytes in base32, grouped by
// four with hyphens ("ABCD-EFGH-IJKL-MNOP-QRST-UVWX"). It depends only on
// recorded facts, so every duplicate of one assignment carries the same
// code, and a verification route can recompute it from the assignment.
// Without the key nobody can forge the code of an assignment they know.
func VerificationCode(key []byte, s nss.State) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("redengine/nss-asignacion/v1\x00" + s.ID + "\x00" + s.NSS + "\x00" + s.AssignedAt.UTC().Format(time.RFC3339Nano)))
	raw := codeEncoding.EncodeToString(m.Sum(nil)[:15])
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(raw[i:min(i+4, len(raw))])
	}
	return b.String()
}

// AssignmentResolution builds the duplicate of the assignment resolution of
// s, issued at issuedAt (printed as the date of the duplicate; the
// resolution itself is dated at the assignment). It states the issuing
// body (the Dirección Provincial of the NSS's province), the NSS, the
// person, the domicile, the autorización that generated it, the facts
// (request, identity check, assignment, first alta and its consolidation),
// the legal basis, the decision, the remedy and the verification code.
//
// Only a consolidated assignment has a resolution to duplicate: otherwise
// it returns the errs.Precondition error of nss.CanIssueDuplicate, which
// says why.
func AssignmentResolution(s nss.State, key []byte, issuedAt time.Time) (documents.Resolution, error) {
	if err := nss.CanIssueDuplicate(s); err != nil {
		return documents.Resolution{}, err
	}
	n, err := ident.ParseNSS(s.NSS)
	if err != nil {
		return documents.Resolution{}, errs.E(errs.Op("nssdoc.AssignmentResolution"), errs.Internal, "NSS no válido en la asignación", err)
	}
	province, _ := ident.ProvinceName(n.Province())
	p := s.Person
	r := documents.New("Dirección Provincial de "+province, Title, province, s.AssignedAt)
	r.Unit = "Afiliación — Sistema RED (asignación de NSS en línea)"

	r.AddReference("Número de la Seguridad Social", n.Formatted()).
		AddReference("Apellidos y nombre", strings.TrimSpace(p.Surname1+" "+p.Surname2)+", "+p.FirstName).
		AddReference("Documento de identidad", string(p.DocumentType)+" "+p.DocumentNumber).
		AddReference("Fecha de nacimiento", dateText(p.BirthDate)).
		AddReference("Sexo", p.Sex).
		AddReference("Nacionalidad", nationality(p.Nationality)).
		AddReference("Domicilio", addressText(p.Address)).
		AddReference("Domicilio a efectos de notificaciones", notificationText(p.NotificationAddress)).
		AddReference("Autorización RED", s.Authorization).
		AddReference("Referencia de la asignación", s.ID).
		AddReference("Duplicado expedido el", spanishDateTime(issuedAt))

	r.AddSection("Antecedentes de hecho",
		fmt.Sprintf("Primero. El %s, la autorización RED %s solicitó a través del Sistema RED, en la modalidad en línea, la asignación "+
			"de número de la Seguridad Social a la persona identificada en el encabezamiento, facilitando su teléfono móvil con su "+
			"consentimiento expreso para su uso como medio de identificación y para el envío de comunicaciones y avisos.",
			spanishDateTime(s.RequestedAt), s.Authorization),
		fmt.Sprintf("Segundo. Se comprobó el %s de la persona y, confirmada la solicitud, el %s se le asignó el número de la Seguridad "+
			"Social %s.", documentWord(p.DocumentType), spanishDateTime(s.AssignedAt), n.Formatted()),
		fmt.Sprintf("Tercero. El %s la misma autorización solicitó el primer alta del trabajador, con fecha real %s, dentro de los tres "+
			"días naturales inmediatamente siguientes a la asignación; el alta quedó consolidada en el sistema el %s.",
			spanishDateTime(s.AltaRequestedAt), dateText(s.FechaReal), spanishDateTime(s.ConsolidatedAt)),
	)
	r.AddSection("Fundamentos de derecho",
		"Primero. El texto refundido de la Ley General de la Seguridad Social, aprobado por el Real Decreto Legislativo 8/2015, de 30 de "+
			"octubre, establece la afiliación obligatoria al sistema, única y vitalicia, y en su disposición adicional trigésima cuarta "+
			"prevé que el autorizado facilite, con el consentimiento de los interesados, el teléfono móvil de los trabajadores.",
		"Segundo. El Reglamento General sobre inscripción de empresas y afiliación, altas, bajas y variaciones de datos de trabajadores "+
			"en la Seguridad Social, aprobado por el Real Decreto 84/1996, de 26 de enero, atribuye a la Tesorería General de la "+
			"Seguridad Social la afiliación y la asignación del número de la Seguridad Social, que identifica a la persona en sus "+
			"relaciones con el sistema.",
		"Tercero. Conforme a las condiciones del servicio (Noticias RED, julio de 2021), la afiliación se produce con la solicitud del "+
			"primer alta, que debe presentarse en los tres días naturales siguientes a la asignación, con una fecha real no anterior a "+
			"la asignación ni posterior a ella en más de tres días; cumplidas estas condiciones y consolidada el alta, procede expedir "+
			"la documentación de la asignación.",
		"Cuarto. Esta resolución se dicta como actuación administrativa automatizada (artículo 41 de la Ley 40/2015, de 1 de octubre, "+
			"de Régimen Jurídico del Sector Público).",
	)
	r.AddSection("Resolución",
		fmt.Sprintf("Asignar a %s, con %s %s, el número de la Seguridad Social %s, con efectos desde el %s, y reconocer su afiliación "+
			"al sistema de la Seguridad Social con ocasión del alta consolidada con fecha real %s.",
			p.FullName(), documentWord(p.DocumentType), p.DocumentNumber, n.Formatted(), dateText(s.AssignmentDate), dateText(s.FechaReal)),
	)
	r.AddSection("Recursos",
		"Contra esta resolución, que no pone fin a la vía administrativa, podrá interponerse recurso de alzada ante la Dirección General "+
			"de la Tesorería General de la Seguridad Social en el plazo de un mes a contar desde el día siguiente al de su notificación, "+
			"de conformidad con los artículos 121 y 122 de la Ley 39/2015, de 1 de octubre.",
	)
	r.AddSection("Duplicado",
		"Este documento es un duplicado obtenido en línea a través de la funcionalidad «Duplicados de documentos TA» del Sistema RED "+
			"(campo NSS ASIGNADO); solo puede imprimirse en línea.",
	)
	r.Signature = []string{
		"Documento firmado electrónicamente mediante sello electrónico de la Tesorería General de la Seguridad Social",
		"(actuación administrativa automatizada, artículo 42 de la Ley 40/2015).",
	}
	r.VerificationCode = VerificationCode(key, s)
	r.VerifyAt = documents.VerifyPath + r.VerificationCode
	return *r, nil
}

// Render renders the duplicate as PDF (application/pdf). The same state,
// key and issuedAt always give the same bytes.
func Render(s nss.State, key []byte, issuedAt time.Time) ([]byte, error) {
	r, err := AssignmentResolution(s, key, issuedAt)
	if err != nil {
		return nil, err
	}
	return documents.RenderResolution(r)
}

func documentWord(t ident.DocumentType) string {
	if t == ident.DocumentNIE {
		return "NIE"
	}
	return "DNI"
}

func nationality(code string) string {
	c, err := ident.ParseCountry(code)
	if err != nil || c.Name() == "" {
		return code
	}
	return c.Name() + " (" + c.String() + ")"
}

func addressText(a nss.Address) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(a.TipoVia + " " + a.NombreVia))
	if a.Numero != "" {
		b.WriteString(", " + a.Numero)
	}
	if a.Piso != "" {
		b.WriteString(", piso " + a.Piso)
	}
	if a.Puerta != "" {
		b.WriteString(", puerta " + a.Puerta)
	}
	b.WriteString(" — " + a.CodigoPostal + " " + a.Localidad)
	return b.String()
}

func notificationText(a *nss.Address) string {
	if a == nil {
		return ""
	}
	return addressText(*a)
}

var months = [...]string{"", "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
	"agosto", "septiembre", "octubre", "noviembre", "diciembre"}

// dateText renders "5 de julio de 2021".
func dateText(d calendar.Date) string {
	if d.IsZero() || !d.Valid() {
		return ""
	}
	return fmt.Sprintf("%d de %s de %d", d.Day, months[d.Month], d.Year)
}

// spanishDateTime renders t in Europe/Madrid: "5 de julio de 2021, a las
// 10:00 (hora peninsular)".
func spanishDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	cal := calendar.New()
	l := t.In(cal.Location())
	return fmt.Sprintf("%s, a las %02d:%02d (hora peninsular)", dateText(cal.DateOf(t)), l.Hour(), l.Minute())
}
