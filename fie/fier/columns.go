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

	str  func(*fie.Record) string   // Text and Code: the raw value
	desc func(code string) string   // Code: the description of a code
	date func(*fie.Record) fie.Date // Date
	num  func(*fie.Record) number   // Integer and Money
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

func dit[T any](f func(d *fie.DIT) T) func(*fie.Record) T {
	return func(r *fie.Record) T { return f(&r.DIT) }
}

// seg reads a value from an optional segment; the zero value when the
// record has none.
func seg[S, T any](get func(*fie.Record) *S, f func(*S) T) func(*fie.Record) T {
	return func(r *fie.Record) T {
		if s := get(r); s != nil {
			return f(s)
		}
		var zero T
		return zero
	}
}

func itdOf(r *fie.Record) *fie.ITD { return r.ITD }
func oitOf(r *fie.Record) *fie.OIT { return r.OIT }
func citOf(r *fie.Record) *fie.CIT { return r.CIT }

func itd[T any](f func(*fie.ITD) T) func(*fie.Record) T { return seg(itdOf, f) }
func oit[T any](f func(*fie.OIT) T) func(*fie.Record) T { return seg(oitOf, f) }
func cit[T any](f func(*fie.CIT) T) func(*fie.Record) T { return seg(citOf, f) }

func flagDesc(code string) string        { return fie.Flag(code).Description() }
func contingencyDesc(code string) string { return fie.Contingency(code).Description() }
func carenciaDesc(code string) string    { return fie.Carencia(code).Description() }
func processTypeDesc(code string) string { return fie.ProcessType(code).Description() }

// A number column's value; ok is false when the record has no such value.
type number struct {
	v  float64
	ok bool
}

func num(v float64) number { return number{v, true} }

var columns = []Column{
	{Group: "EMP", Header: "Régimen", Width: 9, Type: Text, Source: "regimen", str: func(r *fie.Record) string { return r.Regimen }},
	{Group: "EMP", Header: "CCC", Width: 13, Type: Text, Source: "ccc", str: func(r *fie.Record) string { return r.CCC }},
	{Group: "RZS", Header: "Razón social", Width: 36, Type: Text, Source: "companyName", str: func(r *fie.Record) string { return r.CompanyName }},
	{Group: "TRA", Header: "NAF", Width: 14, Type: Text, Source: "naf", str: func(r *fie.Record) string { return r.NAF }},
	{Group: "TRA", Header: "IPF", Width: 15, Type: Text, Source: "ipf", str: func(r *fie.Record) string { return r.IPF }},
	{Group: "AYN", Header: "Primer apellido", Width: 18, Type: Text, Source: "surname1", str: func(r *fie.Record) string { return r.Surname1 }},
	{Group: "AYN", Header: "Segundo apellido", Width: 18, Type: Text, Source: "surname2", str: func(r *fie.Record) string { return r.Surname2 }},
	{Group: "AYN", Header: "Nombre", Width: 15, Type: Text, Source: "name", str: func(r *fie.Record) string { return r.Name }},
	{Group: "DAF", Header: "Fecha de alta en la empresa", Width: 12, Type: Date},
	{Group: "DAF", Header: "Fecha de baja en la empresa", Width: 12, Type: Date},
	{Group: "DIT", Header: "Entidad responsable", Width: 11, Type: Text, Source: "dit.responsibleEntity", str: dit(func(d *fie.DIT) string { return d.ResponsibleEntity })},
	{Group: "DIT", Header: "Fecha de baja médica", Width: 12, Type: Date, Source: "dit.startDate", date: dit(func(d *fie.DIT) fie.Date { return d.Start })},
	{Group: "DIT", Header: "Recaída", Width: 9, Type: Code, Source: "dit.relapse", str: dit(func(d *fie.DIT) string { return string(d.Relapse) }), desc: flagDesc},
	{Group: "DIT", Header: "Fecha de inicio del proceso", Width: 12, Type: Date, Source: "dit.processStartDate", date: dit(func(d *fie.DIT) fie.Date { return d.ProcessStart })},
	{Group: "DIT", Header: "Fecha del proceso anterior", Width: 12, Type: Date, Source: "dit.previousProcessDate", date: dit(func(d *fie.DIT) fie.Date { return d.PreviousProcess })},
	{Group: "DIT", Header: "Días acumulados", Width: 10, Type: Integer, Source: "dit.accumulatedDays", num: dit(func(d *fie.DIT) number { return num(float64(d.AccumulatedDays)) })},
	{Group: "DIT", Header: "Fecha de proceso inexistente", Width: 12, Type: Date, Source: "dit.nonExistentDate", date: dit(func(d *fie.DIT) fie.Date { return d.NonExistentDate })},
	{Group: "DIT", Header: "Causa de proceso inexistente", Width: 11, Type: Text, Source: "dit.nonExistentCause", str: dit(func(d *fie.DIT) string { return d.NonExistentCause })},
	{Group: "DIT", Header: "Contingencia", Width: 26, Type: Code, Source: "dit.contingency", str: dit(func(d *fie.DIT) string { return string(d.Contingency) }), desc: contingencyDesc},
	{Group: "DIT", Header: "Carencia", Width: 22, Type: Code, Source: "dit.carencia", str: dit(func(d *fie.DIT) string { return string(d.Carencia) }), desc: carenciaDesc},
	{Group: "DIT", Header: "Tipo de proceso", Width: 28, Type: Code, Source: "dit.processType", str: dit(func(d *fie.DIT) string { return string(d.ProcessType) }), desc: processTypeDesc},
	{Group: "DIT", Header: "Duración estimada (días)", Width: 10, Type: Integer, Source: "dit.estimatedDays", num: dit(func(d *fie.DIT) number { return num(float64(d.EstimatedDays)) })},
	{Group: "DIT", Header: "Fecha de fin del pago delegado", Width: 12, Type: Date, Source: "dit.pagoDelegadoEndDate", date: dit(func(d *fie.DIT) fie.Date { return d.PagoDelegadoEnd })},
	{Group: "DIT", Header: "Causa de fin del pago delegado", Width: 11, Type: Text, Source: "dit.pagoDelegadoEndCause", str: dit(func(d *fie.DIT) string { return d.PagoDelegadoEndCause })},
	{Group: "DIT", Header: "Fecha de alta médica", Width: 12, Type: Date, Source: "dit.endDate", date: dit(func(d *fie.DIT) fie.Date { return d.End })},
	{Group: "DIT", Header: "Causa de alta", Width: 9, Type: Text, Source: "dit.endCause", str: dit(func(d *fie.DIT) string { return d.EndCause })},
	{Group: "DIT", Header: "Parte anulado", Width: 9, Type: Code, Source: "dit.annulled", str: dit(func(d *fie.DIT) string { return string(d.Annulled) }), desc: flagDesc},
	{Group: "IT2", Header: "Fecha del AT/EP", Width: 12, Type: Date},
	{Group: "IT2", Header: "Tipo de accidente", Width: 14, Type: Text},
	{Group: "ITD", Header: "Fecha de inicio del pago directo", Width: 12, Type: Date, Source: "itd.startDate", date: itd(func(t *fie.ITD) fie.Date { return t.Start })},
	{Group: "ITD", Header: "Entidad iniciadora", Width: 10, Type: Text, Source: "itd.initiatingEntity", str: itd(func(t *fie.ITD) string { return t.InitiatingEntity })},
	{Group: "ITD", Header: "Entidad actual", Width: 10, Type: Text, Source: "itd.currentEntity", str: itd(func(t *fie.ITD) string { return t.CurrentEntity })},
	{Group: "ITD", Header: "Inicio del pago por la entidad", Width: 12, Type: Date, Source: "itd.entityPaymentStartDate", date: itd(func(t *fie.ITD) fie.Date { return t.EntityPaymentStart })},
	{Group: "ITD", Header: "Fin del pago por la entidad", Width: 12, Type: Date, Source: "itd.entityPaymentEndDate", date: itd(func(t *fie.ITD) fie.Date { return t.EntityPaymentEnd })},
	{Group: "ITD", Header: "Base reguladora (€)", Width: 13, Type: Money, Source: "itd.baseReguladoraCents", num: itd(func(t *fie.ITD) number { return num(float64(t.BaseReguladoraCents) / 100) })},
	{Group: "OIT", Header: "Inicio de revisión por la mutua", Width: 12, Type: Date, Source: "oit.reviewStartDate", date: oit(func(o *fie.OIT) fie.Date { return o.ReviewStart })},
	{Group: "OIT", Header: "Fecha de la causa 1", Width: 12, Type: Date, Source: "oit.cause1Date", date: oit(func(o *fie.OIT) fie.Date { return o.Cause1Date })},
	{Group: "OIT", Header: "Causa 1", Width: 8, Type: Text, Source: "oit.cause1", str: oit(func(o *fie.OIT) string { return o.Cause1 })},
	{Group: "OIT", Header: "Fecha de la causa 2", Width: 12, Type: Date, Source: "oit.cause2Date", date: oit(func(o *fie.OIT) fie.Date { return o.Cause2Date })},
	{Group: "OIT", Header: "Causa 2", Width: 8, Type: Text, Source: "oit.cause2", str: oit(func(o *fie.OIT) string { return o.Cause2 })},
	{Group: "OIT", Header: "Fecha de la causa 3", Width: 12, Type: Date, Source: "oit.cause3Date", date: oit(func(o *fie.OIT) fie.Date { return o.Cause3Date })},
	{Group: "OIT", Header: "Causa 3", Width: 8, Type: Text, Source: "oit.cause3", str: oit(func(o *fie.OIT) string { return o.Cause3 })},
	{Group: "OIT", Header: "Art. 170.2 LGSS", Width: 10, Type: Code, Source: "oit.art1702", str: oit(func(o *fie.OIT) string { return string(o.Art1702) }), desc: flagDesc},
	{Group: "OIT", Header: "Fecha del certificado médico", Width: 12, Type: Date, Source: "oit.medicalCertificateDate", date: oit(func(o *fie.OIT) fie.Date { return o.CertificateDate })},
	{Group: "CIT", Header: "Fecha del parte de confirmación", Width: 12, Type: Date, Source: "cit.date", date: cit(func(c *fie.CIT) fie.Date { return c.Date })},
	{Group: "CIT", Header: "Número del parte de confirmación", Width: 12, Type: Integer, Source: "cit.number", num: cit(func(c *fie.CIT) number { return num(float64(c.Number)) })},
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

// cache keeps, per column and export, the last text value and its boxed
// cell value: consecutive rows often repeat one (the company, a code), and
// reusing it spares an allocation per cell.
type cache struct {
	key string
	val any
	has bool
}

// cell renders the column's value of r as a stream-writer cell; a nil
// Value leaves the cell empty.
func (c *Column) cell(r *fie.Record, st *styles, memo *cache) excelize.Cell {
	switch {
	case c.str != nil:
		s := c.str(r)
		if s == "" {
			return excelize.Cell{}
		}
		if !memo.has || memo.key != s {
			v := s
			if c.desc != nil {
				v = fie.WithDescription(s, c.desc(s))
			}
			memo.key, memo.val, memo.has = s, v, true
		}
		return excelize.Cell{Value: memo.val}
	case c.date != nil:
		d := c.date(r)
		switch {
		case d.IsZero():
			return excelize.Cell{}
		case d.Before(firstExcelDate):
			return excelize.Cell{Value: d.Time().Format("02/01/2006")}
		}
		return excelize.Cell{StyleID: st.date, Value: excelSerial(d)}
	case c.num != nil:
		n := c.num(r)
		switch {
		case !n.ok:
			return excelize.Cell{}
		case c.Type == Money:
			return excelize.Cell{StyleID: st.money, Value: n.v}
		}
		return excelize.Cell{StyleID: st.integer, Value: int(n.v)}
	}
	return excelize.Cell{}
}
