package cases

import (
	"fmt"
	"time"

	"redengine/domain/calendar"
)

var monthNames = [...]string{"", "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
	"agosto", "septiembre", "octubre", "noviembre", "diciembre"}

func madrid() *time.Location {
	loc, err := calendar.LoadMadrid()
	if err != nil {
		// Unreachable: package calendar embeds the zone database.
		return time.UTC
	}
	return loc
}

// SpanishDate renders the civil date of t in Europe/Madrid as "2 de julio de
// 2021".
func SpanishDate(t time.Time) string {
	return DateText(calendar.DateOf(t.In(madrid())))
}

// DateText renders a civil date as "2 de julio de 2021".
func DateText(d calendar.Date) string {
	if !d.Valid() || d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d de %s de %d", d.Day, monthNames[d.Month], d.Year)
}

// SpanishDateTime renders t in Europe/Madrid as "2 de julio de 2021, a las
// 09:30 (hora peninsular)".
func SpanishDateTime(t time.Time) string {
	l := t.In(madrid())
	return fmt.Sprintf("%s, a las %02d:%02d (hora peninsular)", SpanishDate(t), l.Hour(), l.Minute())
}

const closedDeOficioText = "Caso cerrado de oficio: transcurrió el plazo de 20 días naturales sin que se aportara la información requerida."

// The email templates the case requests.
const (
	TemplateCaseOpenedTGSS       = "case_opened_tgss"
	TemplateInformationRequested = "information_requested"
	TemplateCaseResolved         = "case_resolved"
	TemplateCaseClosedMisfiled   = "case_closed_misfiled"
	TemplateCaseClosedDeOficio   = "case_closed_de_oficio"
	TemplateDesistimientoAviso   = "desistimiento_puesta_a_disposicion"
)

// NoContactReason is the reason recorded by EmailSkipped when the
// autorización has no contact address.
const NoContactReason = "la autorización no tiene dirección de correo de contacto registrada"

const signature = "\n\nEste mensaje se ha generado automáticamente; no responda a esta dirección. " +
	"Puede consultar el caso en la opción «Gestión de casos» del Servicio de Atención y Soporte al Autorizado RED (CASIA)."

// mail builds the subject and body of an email of the given template.
func mail(template string, s State, extra map[string]string) (subject, body string) {
	head := fmt.Sprintf("Autorización RED %s.\n\n", s.Authorization)
	switch template {
	case TemplateCaseOpenedTGSS:
		subject = fmt.Sprintf("CASIA: la TGSS ha abierto el caso %s", s.Number)
		body = head + fmt.Sprintf("La Tesorería General de la Seguridad Social ha abierto el caso %s (%s) dirigido a su autorización: «%s».\n\n%s",
			s.Number, s.Type.Label(), s.Subject, s.Body)
	case TemplateInformationRequested:
		subject = fmt.Sprintf("CASIA: se requiere información en el caso %s", s.Number)
		body = head + fmt.Sprintf("En el caso %s («%s») el tramitador solicita información complementaria:\n\n%s\n\n"+
			"Dispone de 20 días naturales para aportarla, hasta el %s inclusive. Si no la aporta, el caso se cerrará de oficio%s.",
			s.Number, s.Subject, extra["text"], extra["lastDay"], extra["consequence"])
	case TemplateCaseResolved:
		subject = fmt.Sprintf("CASIA: el caso %s ha sido resuelto", s.Number)
		body = head + fmt.Sprintf("El caso %s («%s») ha sido resuelto:\n\n%s", s.Number, s.Subject, extra["text"])
	case TemplateCaseClosedMisfiled:
		subject = fmt.Sprintf("CASIA: el caso %s se ha cerrado", s.Number)
		body = head + fmt.Sprintf("El caso %s («%s») se ha cerrado porque el asunto requiere la apertura de un caso de tipo Trámite.\n\n%s",
			s.Number, s.Subject, extra["text"])
	case TemplateCaseClosedDeOficio:
		subject = fmt.Sprintf("CASIA: el caso %s se ha cerrado de oficio", s.Number)
		body = head + fmt.Sprintf("El caso %s («%s») se ha cerrado de oficio el %s: el %s se le requirió información "+
			"complementaria y, transcurridos 20 días naturales, no se ha aportado.%s",
			s.Number, s.Subject, extra["closedAt"], extra["requestedAt"], extra["consequence"])
	case TemplateDesistimientoAviso:
		subject = fmt.Sprintf("Aviso de notificación: Resolución de Desistimiento %s (caso %s)", extra["resolution"], s.Number)
		body = head + fmt.Sprintf("Se ha puesto a su disposición en la Sede Electrónica de la Seguridad Social la Resolución de "+
			"Desistimiento %s del caso %s. Puede acceder a ella hasta el %s inclusive; si no accede en ese plazo, "+
			"la notificación se entenderá rechazada (art. 43.2 de la Ley 39/2015). "+
			"Este aviso es meramente informativo: su falta no impide que la notificación sea válida (art. 41.6 de la Ley 39/2015).",
			extra["resolution"], s.Number, extra["lastDay"])
	}
	return subject, body + signature
}
