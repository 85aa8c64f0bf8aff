package documents

import (
	"fmt"
	"strings"

	"redengine/domain/cases"
)

// VerifyPath is the path of the API route that checks a verification code;
// documents print it followed by the code.
const VerifyPath = "/v1/documents/verify/"

// DesistimientoTitle is the title of a Resolución de Desistimiento.
const DesistimientoTitle = "RESOLUCIÓN DE DESISTIMIENTO"

// DesistimientoResolution builds the Resolución de Desistimiento of a
// trámite closed de oficio from its DesistimientoIssued event alone (so
// rendering it again gives the same document). It states, as reference
// §3 of the domain asks: the issuing body; the case number and type; the
// autorización and the CCC/NAF concerned; the facts (date and content of
// the requerimiento, that the 20 días naturales passed with no answer, the
// date of closure); the legal basis (arts. 21 and 68 Ley 39/2015, Orden
// ISM/903/2020); the decision (desistimiento and archive); the remedy
// (recurso de alzada, one month, before the body named); the date; and the
// verification code.
func DesistimientoResolution(ev cases.DesistimientoIssued) Resolution {
	f := ev.Facts
	r := New(f.IssuingBody, DesistimientoTitle, f.Province, ev.IssuedAt)
	if f.IssuingUnit != "" {
		r.Unit = "Unidad tramitadora: " + f.IssuingUnit
	}
	typeLabel := f.CaseType.Label()
	r.AddReference("Número de resolución", ev.Number).
		AddReference("Caso CASIA", fmt.Sprintf("%s (%s)", f.CaseNumber, typeLabel)).
		AddReference("Clasificación", f.Classification.String()).
		AddReference("Asunto", f.Subject).
		AddReference("Justificante", f.Justificante).
		AddReference("Autorización RED", f.Authorization).
		AddReference("Código Cuenta de Cotización (CCC)", f.CCC).
		AddReference("Número de afiliación (NAF)", f.NAF)

	concerned := ""
	switch {
	case f.CCC != "" && f.NAF != "":
		concerned = fmt.Sprintf(", referida al código cuenta de cotización %s y al número de afiliación %s", f.CCC, f.NAF)
	case f.CCC != "":
		concerned = fmt.Sprintf(", referida al código cuenta de cotización %s", f.CCC)
	case f.NAF != "":
		concerned = fmt.Sprintf(", referida al número de afiliación %s", f.NAF)
	}
	receipt := ""
	if f.Justificante != "" {
		receipt = fmt.Sprintf(" (justificante %s)", f.Justificante)
	}
	r.AddSection("Antecedentes de hecho",
		fmt.Sprintf("Primero. El %s, la autorización RED %s presentó a través del Servicio de Atención y Soporte al Autorizado RED (CASIA) "+
			"la solicitud de %s registrada con el número de caso %s%s, clasificada como «%s», con el asunto «%s»%s.",
			cases.SpanishDateTime(f.OpenedAt), f.Authorization, strings.ToLower(typeLabel), f.CaseNumber, receipt,
			f.Classification.String(), f.Subject, concerned),
		fmt.Sprintf("Segundo. El %s se requirió a la autorización, mediante el propio caso y con aviso a su dirección de correo de contacto, "+
			"para que en el plazo de %d días naturales aportara la siguiente información complementaria: «%s». "+
			"En el requerimiento se advertía de que, de no aportarla, se le tendría por desistida de su solicitud.",
			cases.SpanishDateTime(f.RequestedAt), f.TermDays, f.RequestText),
		fmt.Sprintf("Tercero. El plazo concedido finalizó el %s sin que se aportara la información requerida, "+
			"por lo que el %s el caso se cerró de oficio.",
			cases.DateText(f.LastDay), cases.SpanishDate(f.ClosedAt)),
	)
	r.AddSection("Fundamentos de derecho",
		"Primero. El artículo 68.1 de la Ley 39/2015, de 1 de octubre, del Procedimiento Administrativo Común de las "+
			"Administraciones Públicas, dispone que, si la solicitud de iniciación no reúne los requisitos exigidos, se requerirá al "+
			"interesado para que subsane la falta o acompañe los documentos preceptivos, con indicación de que, si así no lo hiciera, "+
			"se le tendrá por desistido de su petición, previa resolución que deberá ser dictada en los términos previstos en su artículo 21.",
		"Segundo. El artículo 21.1 de la misma Ley obliga a la Administración a dictar resolución expresa en todos los procedimientos; "+
			"en los casos de desistimiento de la solicitud, la resolución consistirá en la declaración de la circunstancia que concurra, "+
			"con indicación de los hechos producidos y las normas aplicables.",
		"Tercero. La Orden ISM/903/2020, de 24 de septiembre, por la que se regulan las notificaciones y comunicaciones electrónicas "+
			"en el ámbito de la Administración de la Seguridad Social, establece en su artículo 6 la práctica de las notificaciones "+
			"mediante su puesta a disposición en la Sede Electrónica de la Seguridad Social, en los términos del artículo 43 de la Ley 39/2015.",
		fmt.Sprintf("Cuarto. Esta resolución se dicta por la %s de la Tesorería General de la Seguridad Social, competente para "+
			"la tramitación de la solicitud, como actuación administrativa automatizada (artículo 41 de la Ley 40/2015, de 1 de octubre, "+
			"de Régimen Jurídico del Sector Público).", f.IssuingBody),
	)
	r.AddSection("Resuelve",
		fmt.Sprintf("Declarar DESISTIDA a la autorización RED %s de su solicitud tramitada en el caso %s y acordar el ARCHIVO de las "+
			"actuaciones, de conformidad con los artículos 21.1 y 68.1 de la Ley 39/2015, de 1 de octubre.", f.Authorization, f.CaseNumber),
	)
	months := "un mes"
	if f.AppealTermMonths > 1 {
		months = fmt.Sprintf("%d meses", f.AppealTermMonths)
	}
	r.AddSection("Recursos",
		fmt.Sprintf("Contra esta resolución, que no pone fin a la vía administrativa, podrá interponerse recurso de alzada ante %s "+
			"en el plazo de %s a contar desde el día siguiente al de su notificación, de conformidad con los artículos 121 y 122 "+
			"de la Ley 39/2015, de 1 de octubre.", f.AppealBody, months),
	)
	r.AddSection("Notificación",
		"Esta resolución se notifica mediante su puesta a disposición en la Sede Electrónica de la Seguridad Social (artículo 43 de la "+
			"Ley 39/2015 y artículo 6 de la Orden ISM/903/2020). La notificación se entenderá practicada en el momento en que se acceda "+
			"a su contenido y rechazada cuando hayan transcurrido diez días naturales desde su puesta a disposición sin que se acceda a él. "+
			"El aviso enviado al correo electrónico de contacto de la autorización es meramente informativo.",
	)
	r.Signature = []string{
		"Documento firmado electrónicamente mediante sello electrónico de la Tesorería General de la Seguridad Social",
		"(actuación administrativa automatizada, artículo 42 de la Ley 40/2015).",
	}
	r.VerificationCode = ev.VerificationCode
	r.VerifyAt = VerifyPath + ev.VerificationCode
	return *r
}

// RenderDesistimiento is RenderResolution(DesistimientoResolution(ev)).
func RenderDesistimiento(ev cases.DesistimientoIssued) ([]byte, error) {
	return RenderResolution(DesistimientoResolution(ev))
}
