package fier

import (
	"github.com/xuri/excelize/v2"

	"redengine/fie"
)

// Type is how a column's cells are written.
type Type int

// The column types.
const (
	Text    Type = iota // a string as is
	Code                // "code - description"
	Date                // a real Excel date (a number with the dd/mm/yyyy format)
	Integer             // a whole number
	Money               // euros with two decimals
)

// String names the type in Spanish, for the column dictionary.
func (t Type) String() string {
	switch t {
	case Code:
		return "código - descripción"
	case Date:
		return "fecha"
	case Integer:
		return "número"
	case Money:
		return "importe (€)"
	}
	return "texto"
}

// Column is one column of the FIER sheet.
type Column struct {
	Group  string  // FIE 2.0 segment group: EMP, RZS, TRA, …
	Header string  // field name in the second header row (Spanish)
	Width  float64 // column width in characters
	Type   Type
	Source string // the Record field it comes from (JSON path), "" for columns without data yet
	value  func(r *fie.Record) any
}

// Groups lists the segment groups in sheet order with their Spanish titles.
var Groups = []struct{ Code, Title string }{
	{"EMP", "Empresa"},
	{"RZS", "Razón social"},
	{"TRA", "Trabajador"},
	{"AYN", "Apellidos y nombre"},
	{"DAF", "Afiliación"},
	{"DIT", "Incapacidad temporal"},
	{"IT2", "IT contingencias profesionales"},
	{"ITD", "Pago directo"},
	{"OIT", "Otros datos de IT"},
	{"CIT", "Parte de confirmación"},
	{"DIP", "Incapacidad permanente"},
	{"JUB", "Jubilación"},
	{"DOP", "Otras prestaciones"},
	{"NAC", "Nacimiento y cuidado de menor"},
}

// groupTitle renders the first header row's text for a group: "DIT -
// Incapacidad temporal".
func groupTitle(code string) string {
	for _, g := range Groups {
		if g.Code == code {
			return g.Code + " - " + g.Title
		}
	}
	return code
}

// Columns returns the column dictionary of the FIER sheet, in order.
func Columns() []Column { return append([]Column(nil), columns...) }

func text(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func date(d fie.Date) any {
	if d.IsZero() {
		return nil
	}
	return d
}

func flag(f fie.Flag) any { return text(fie.WithDescription(string(f), f.Description())) }

func dit(f func(d *fie.DIT) any) func(*fie.Record) any {
	return func(r *fie.Record) any { return f(&r.DIT) }
}

func itd(f func(t *fie.ITD) any) func(*fie.Record) any {
	return func(r *fie.Record) any {
		if r.ITD == nil {
			return nil
		}
		return f(r.ITD)
	}
}

func oit(f func(o *fie.OIT) any) func(*fie.Record) any {
	return func(r *fie.Record) any {
		if r.OIT == nil {
			return nil
		}
		return f(r.OIT)
	}
}

func cit(f func(c *fie.CIT) any) func(*fie.Record) any {
	return func(r *fie.Record) any {
		if r.CIT == nil {
			return nil
		}
		return f(r.CIT)
	}
}

var columns = []Column{
	{Group: "EMP", Header: "Régimen", Width: 9, Type: Text, Source: "regimen", value: func(r *fie.Record) any { return text(r.Regimen) }},
	{Group: "EMP", Header: "CCC", Width: 13, Type: Text, Source: "ccc", value: func(r *fie.Record) any { return text(r.CCC) }},
	{Group: "RZS", Header: "Razón social", Width: 36, Type: Text, Source: "companyName", value: func(r *fie.Record) any { return text(r.CompanyName) }},
	{Group: "TRA", Header: "NAF", Width: 14, Type: Text, Source: "naf", value: func(r *fie.Record) any { return text(r.NAF) }},
	{Group: "TRA", Header: "IPF", Width: 15, Type: Text, Source: "ipf", value: func(r *fie.Record) any { return text(r.IPF) }},
	{Group: "AYN", Header: "Primer apellido", Width: 18, Type: Text, Source: "surname1", value: func(r *fie.Record) any { return text(r.Surname1) }},
	{Group: "AYN", Header: "Segundo apellido", Width: 18, Type: Text, Source: "surname2", value: func(r *fie.Record) any { return text(r.Surname2) }},
	{Group: "AYN", Header: "Nombre", Width: 15, Type: Text, Source: "name", value: func(r *fie.Record) any { return text(r.Name) }},
	{Group: "DAF", Header: "Fecha de alta en la empresa", Width: 12, Type: Date},
	{Group: "DAF", Header: "Fecha de baja en la empresa", Width: 12, Type: Date},
	{Group: "DIT", Header: "Entidad responsable", Width: 11, Type: Text, Source: "dit.responsibleEntity", value: dit(func(d *fie.DIT) any { return text(d.ResponsibleEntity) })},
	{Group: "DIT", Header: "Fecha de baja médica", Width: 12, Type: Date, Source: "dit.startDate", value: dit(func(d *fie.DIT) any { return date(d.Start) })},
	{Group: "DIT", Header: "Recaída", Width: 9, Type: Code, Source: "dit.relapse", value: dit(func(d *fie.DIT) any { return flag(d.Relapse) })},
	{Group: "DIT", Header: "Fecha de inicio del proceso", Width: 12, Type: Date, Source: "dit.processStartDate", value: dit(func(d *fie.DIT) any { return date(d.ProcessStart) })},
	{Group: "DIT", Header: "Fecha del proceso anterior", Width: 12, Type: Date, Source: "dit.previousProcessDate", value: dit(func(d *fie.DIT) any { return date(d.PreviousProcess) })},
	{Group: "DIT", Header: "Días acumulados", Width: 10, Type: Integer, Source: "dit.accumulatedDays", value: dit(func(d *fie.DIT) any { return d.AccumulatedDays })},
	{Group: "DIT", Header: "Fecha de proceso inexistente", Width: 12, Type: Date, Source: "dit.nonExistentDate", value: dit(func(d *fie.DIT) any { return date(d.NonExistentDate) })},
	{Group: "DIT", Header: "Causa de proceso inexistente", Width: 11, Type: Text, Source: "dit.nonExistentCause", value: dit(func(d *fie.DIT) any { return text(d.NonExistentCause) })},
	{Group: "DIT", Header: "Contingencia", Width: 26, Type: Code, Source: "dit.contingency", value: dit(func(d *fie.DIT) any {
		return text(fie.WithDescription(string(d.Contingency), d.Contingency.Description()))
	})},
	{Group: "DIT", Header: "Carencia", Width: 22, Type: Code, Source: "dit.carencia", value: dit(func(d *fie.DIT) any {
		return text(fie.WithDescription(string(d.Carencia), d.Carencia.Description()))
	})},
	{Group: "DIT", Header: "Tipo de proceso", Width: 28, Type: Code, Source: "dit.processType", value: dit(func(d *fie.DIT) any {
		return text(fie.WithDescription(string(d.ProcessType), d.ProcessType.Description()))
	})},
	{Group: "DIT", Header: "Duración estimada (días)", Width: 10, Type: Integer, Source: "dit.estimatedDays", value: dit(func(d *fie.DIT) any { return d.EstimatedDays })},
	{Group: "DIT", Header: "Fecha de fin del pago delegado", Width: 12, Type: Date, Source: "dit.pagoDelegadoEndDate", value: dit(func(d *fie.DIT) any { return date(d.PagoDelegadoEnd) })},
	{Group: "DIT", Header: "Causa de fin del pago delegado", Width: 11, Type: Text, Source: "dit.pagoDelegadoEndCause", value: dit(func(d *fie.DIT) any { return text(d.PagoDelegadoEndCause) })},
	{Group: "DIT", Header: "Fecha de alta médica", Width: 12, Type: Date, Source: "dit.endDate", value: dit(func(d *fie.DIT) any { return date(d.End) })},
	{Group: "DIT", Header: "Causa de alta", Width: 9, Type: Text, Source: "dit.endCause", value: dit(func(d *fie.DIT) any { return text(d.EndCause) })},
	{Group: "DIT", Header: "Parte anulado", Width: 9, Type: Code, Source: "dit.annulled", value: dit(func(d *fie.DIT) any { return flag(d.Annulled) })},
	{Group: "IT2", Header: "Fecha del AT/EP", Width: 12, Type: Date},
	{Group: "IT2", Header: "Tipo de accidente", Width: 14, Type: Text},
	{Group: "ITD", Header: "Fecha de inicio del pago directo", Width: 12, Type: Date, Source: "itd.startDate", value: itd(func(t *fie.ITD) any { return date(t.Start) })},
	{Group: "ITD", Header: "Entidad iniciadora", Width: 10, Type: Text, Source: "itd.initiatingEntity", value: itd(func(t *fie.ITD) any { return text(t.InitiatingEntity) })},
	{Group: "ITD", Header: "Entidad actual", Width: 10, Type: Text, Source: "itd.currentEntity", value: itd(func(t *fie.ITD) any { return text(t.CurrentEntity) })},
	{Group: "ITD", Header: "Inicio del pago por la entidad", Width: 12, Type: Date, Source: "itd.entityPaymentStartDate", value: itd(func(t *fie.ITD) any { return date(t.EntityPaymentStart) })},
	{Group: "ITD", Header: "Fin del pago por la entidad", Width: 12, Type: Date, Source: "itd.entityPaymentEndDate", value: itd(func(t *fie.ITD) any { return date(t.EntityPaymentEnd) })},
	{Group: "ITD", Header: "Base reguladora (€)", Width: 13, Type: Money, Source: "itd.baseReguladoraCents", value: itd(func(t *fie.ITD) any { return float64(t.BaseReguladoraCents) / 100 })},
	{Group: "OIT", Header: "Inicio de revisión por la mutua", Width: 12, Type: Date, Source: "oit.reviewStartDate", value: oit(func(o *fie.OIT) any { return date(o.ReviewStart) })},
	{Group: "OIT", Header: "Fecha de la causa 1", Width: 12, Type: Date, Source: "oit.cause1Date", value: oit(func(o *fie.OIT) any { return date(o.Cause1Date) })},
	{Group: "OIT", Header: "Causa 1", Width: 8, Type: Text, Source: "oit.cause1", value: oit(func(o *fie.OIT) any { return text(o.Cause1) })},
	{Group: "OIT", Header: "Fecha de la causa 2", Width: 12, Type: Date, Source: "oit.cause2Date", value: oit(func(o *fie.OIT) any { return date(o.Cause2Date) })},
	{Group: "OIT", Header: "Causa 2", Width: 8, Type: Text, Source: "oit.cause2", value: oit(func(o *fie.OIT) any { return text(o.Cause2) })},
	{Group: "OIT", Header: "Fecha de la causa 3", Width: 12, Type: Date, Source: "oit.cause3Date", value: oit(func(o *fie.OIT) any { return date(o.Cause3Date) })},
	{Group: "OIT", Header: "Causa 3", Width: 8, Type: Text, Source: "oit.cause3", value: oit(func(o *fie.OIT) any { return text(o.Cause3) })},
	{Group: "OIT", Header: "Art. 170.2 LGSS", Width: 10, Type: Code, Source: "oit.art1702", value: oit(func(o *fie.OIT) any { return flag(o.Art1702) })},
	{Group: "OIT", Header: "Fecha del certificado médico", Width: 12, Type: Date, Source: "oit.medicalCertificateDate", value: oit(func(o *fie.OIT) any { return date(o.CertificateDate) })},
	{Group: "CIT", Header: "Fecha del parte de confirmación", Width: 12, Type: Date, Source: "cit.date", value: cit(func(c *fie.CIT) any { return date(c.Date) })},
	{Group: "CIT", Header: "Número del parte de confirmación", Width: 12, Type: Integer, Source: "cit.number", value: cit(func(c *fie.CIT) any { return c.Number })},
	{Group: "DIP", Header: "Fecha de efectos de la IP", Width: 12, Type: Date},
	{Group: "DIP", Header: "Grado de incapacidad permanente", Width: 16, Type: Text},
	{Group: "JUB", Header: "Fecha de efectos de la jubilación", Width: 12, Type: Date},
	{Group: "JUB", Header: "Modalidad de jubilación", Width: 16, Type: Text},
	{Group: "DOP", Header: "Prestación", Width: 16, Type: Text},
	{Group: "DOP", Header: "Fecha de inicio de la prestación", Width: 12, Type: Date},
	{Group: "DOP", Header: "Fecha de fin de la prestación", Width: 12, Type: Date},
	{Group: "NAC", Header: "Fecha de inicio del descanso", Width: 12, Type: Date},
	{Group: "NAC", Header: "Fecha de fin del descanso", Width: 12, Type: Date},
}

// cell renders the column's value of r as a stream-writer cell; a nil
// Value leaves the cell empty.
func (c *Column) cell(r *fie.Record, st *styles) excelize.Cell {
	if c.value == nil {
		return excelize.Cell{}
	}
	v := c.value(r)
	switch v := v.(type) {
	case nil:
		return excelize.Cell{}
	case fie.Date:
		if v.Before(firstExcelDate) {
			return excelize.Cell{Value: v.Time().Format("02/01/2006")}
		}
		return excelize.Cell{StyleID: st.date, Value: excelSerial(v)}
	case float64:
		return excelize.Cell{StyleID: st.money, Value: v}
	case int:
		return excelize.Cell{StyleID: st.integer, Value: v}
	}
	return excelize.Cell{Value: v}
}
