// Package fie reads and writes FIE 2.0 ("Fichero INSS Empresas") files: the
// fixed-width text file through which the INSS tells a company about changes
// in the benefit data (incapacidad temporal) of its workers.
//
// The layout follows docs/fier.md and the domain reference (§6). Offsets are
// 0-based, end-exclusive and counted in characters (the file is UTF-8).
// Parse and ParseRecords are strict: a file with any malformed line is
// refused whole, with every error found (*ParseError). Format and Writer are
// their inverse.
//
// A Record is one benefit observation — company, worker and one IT process
// with its DIT, ITD, OIT and CIT segments — with a stable Key (CCC, NAF,
// benefit kind, start date). It is what becomes one event and one row of the
// FIER read model and Excel.
package fie

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"redengine/errs"
)

// File is a parsed FIE 2.0 file.
type File struct {
	Date      Date      // generation date, from ETI
	Companies []Company // one per EMP group, in file order
}

// Company is one EMP group: a company account (régimen + CCC) and its
// workers.
type Company struct {
	Regimen string   `json:"regimen"` // 4 digits, e.g. 0111 Régimen General
	CCC     string   `json:"ccc"`     // código cuenta de cotización, 11 digits
	Name    string   `json:"name"`    // razón social (RZS)
	Workers []Worker `json:"workers,omitempty"`
}

// Worker is one TRA group: a worker of the company and its benefit
// processes.
type Worker struct {
	NAF      string    `json:"naf"`                // número de afiliación, 12 digits
	IPF      string    `json:"ipf"`                // identificador de persona física
	Surname1 string    `json:"surname1"`           // primer apellido
	Surname2 string    `json:"surname2,omitempty"` // segundo apellido
	Name     string    `json:"name"`               // nombre
	Benefits []Benefit `json:"benefits,omitempty"`
}

// Benefit is one benefit process of a worker. For incapacidad temporal, the
// DIT segment opens it and ITD, OIT and CIT (each at most once) complete it.
type Benefit struct {
	Kind BenefitKind `json:"kind"`
	DIT  DIT         `json:"dit"`
	ITD  *ITD        `json:"itd,omitempty"`
	OIT  *OIT        `json:"oit,omitempty"`
	CIT  *CIT        `json:"cit,omitempty"`
}

// Start returns the date that identifies the process: the DIT baja date.
func (b *Benefit) Start() Date { return b.DIT.Start }

// DIT is the "datos de incapacidad temporal" segment: one IT process.
type DIT struct {
	ResponsibleEntity    string      `json:"responsibleEntity"`              // entidad responsable [3,6)
	Start                Date        `json:"startDate"`                      // fecha de baja médica [6,14), required
	Relapse              Flag        `json:"relapse"`                        // recaída S/N [14,15)
	ProcessStart         Date        `json:"processStartDate"`               // fecha de inicio del proceso [15,23)
	PreviousProcess      Date        `json:"previousProcessDate,omitzero"`   // fecha del proceso anterior [23,31)
	AccumulatedDays      int         `json:"accumulatedDays"`                // días acumulados [31,35)
	NonExistentDate      Date        `json:"nonExistentDate,omitzero"`       // fecha de proceso inexistente [35,43)
	NonExistentCause     string      `json:"nonExistentCause,omitempty"`     // causa de proceso inexistente [43,45)
	Contingency          Contingency `json:"contingency"`                    // contingencia [45,46)
	Carencia             Carencia    `json:"carencia"`                       // carencia S/N/P [46,47)
	ProcessType          ProcessType `json:"processType,omitempty"`          // tipo de proceso [47,48)
	EstimatedDays        int         `json:"estimatedDays"`                  // duración estimada en días [48,52)
	PagoDelegadoEnd      Date        `json:"pagoDelegadoEndDate,omitzero"`   // fin del pago delegado [52,60)
	PagoDelegadoEndCause string      `json:"pagoDelegadoEndCause,omitempty"` // causa del fin del pago delegado [60,62)
	End                  Date        `json:"endDate,omitzero"`               // fecha de alta médica [62,70)
	EndCause             string      `json:"endCause,omitempty"`             // causa de alta [70,72)
	Annulled             Flag        `json:"annulled"`                       // parte anulado S/N [72,73)
}

// ITD is the "pago directo" segment of an IT process.
type ITD struct {
	Start               Date   `json:"startDate"`                       // inicio del pago directo [3,11), required
	InitiatingEntity    string `json:"initiatingEntity,omitempty"`      // entidad iniciadora [11,14)
	CurrentEntity       string `json:"currentEntity,omitempty"`         // entidad actual [14,17)
	EntityPaymentStart  Date   `json:"entityPaymentStartDate,omitzero"` // inicio del pago por la entidad [17,25)
	EntityPaymentEnd    Date   `json:"entityPaymentEndDate,omitzero"`   // fin del pago por la entidad [25,33)
	BaseReguladoraCents int64  `json:"baseReguladoraCents"`             // base reguladora en céntimos [33,44)
}

// OIT is the "otros datos de IT" segment.
type OIT struct {
	ReviewStart     Date   `json:"reviewStartDate,omitzero"`        // inicio de revisión por la mutua [3,11)
	Cause1Date      Date   `json:"cause1Date,omitzero"`             // fecha de la causa 1 [11,19)
	Cause1          string `json:"cause1,omitempty"`                // causa 1 [19,21)
	Cause2Date      Date   `json:"cause2Date,omitzero"`             // [21,29)
	Cause2          string `json:"cause2,omitempty"`                // [29,31)
	Cause3Date      Date   `json:"cause3Date,omitzero"`             // [31,39)
	Cause3          string `json:"cause3,omitempty"`                // [39,41)
	Art1702         Flag   `json:"art1702,omitempty"`               // art. 170.2 LGSS S/N/blank [43,44)
	CertificateDate Date   `json:"medicalCertificateDate,omitzero"` // fecha del certificado médico [60,68)
}

// CIT is the "parte de confirmación" segment.
type CIT struct {
	Date   Date `json:"date"`   // fecha del parte de confirmación [3,11), required
	Number int  `json:"number"` // número del parte de confirmación [11,13)
}

// Record is one benefit observation, flat: company, worker and one benefit
// process. It is what POST /v1/fie/records takes, one event, and one FIER
// row.
type Record struct {
	Regimen     string      `json:"regimen"`
	CCC         string      `json:"ccc"`
	CompanyName string      `json:"companyName"`
	NAF         string      `json:"naf"`
	IPF         string      `json:"ipf"`
	Surname1    string      `json:"surname1"`
	Surname2    string      `json:"surname2,omitempty"`
	Name        string      `json:"name"`
	Kind        BenefitKind `json:"kind"`
	DIT         DIT         `json:"dit"`
	ITD         *ITD        `json:"itd,omitempty"`
	OIT         *OIT        `json:"oit,omitempty"`
	CIT         *CIT        `json:"cit,omitempty"`
}

// Key identifies a benefit process across files: the same IT process
// recurs in later files with updates and keeps its key.
type Key struct {
	CCC   string
	NAF   string
	Kind  BenefitKind
	Start Date
}

// String renders the key as "CCC/NAF/KIND/YYYY-MM-DD", usable as an ID.
func (k Key) String() string {
	return k.CCC + "/" + k.NAF + "/" + string(k.Kind) + "/" + k.Start.String()
}

// Key returns the record's key.
func (r *Record) Key() Key {
	return Key{CCC: r.CCC, NAF: r.NAF, Kind: r.Kind, Start: r.DIT.Start}
}

// NewRecord flattens one benefit of a worker of a company.
func NewRecord(c *Company, w *Worker, b *Benefit) Record {
	return Record{
		Regimen: c.Regimen, CCC: c.CCC, CompanyName: c.Name,
		NAF: w.NAF, IPF: w.IPF, Surname1: w.Surname1, Surname2: w.Surname2, Name: w.Name,
		Kind: b.Kind, DIT: b.DIT, ITD: b.ITD, OIT: b.OIT, CIT: b.CIT,
	}
}

// Records returns every benefit of the file as flat records, in file order.
func (f *File) Records() []Record {
	var out []Record
	for ci := range f.Companies {
		c := &f.Companies[ci]
		for wi := range c.Workers {
			w := &c.Workers[wi]
			for bi := range w.Benefits {
				out = append(out, NewRecord(c, w, &w.Benefits[bi]))
			}
		}
	}
	return out
}

// Counts returns the number of companies, workers and benefit records.
func (f *File) Counts() (companies, workers, records int) {
	companies = len(f.Companies)
	for _, c := range f.Companies {
		workers += len(c.Workers)
		for _, w := range c.Workers {
			records += len(w.Benefits)
		}
	}
	return
}

// Validate checks that the record is complete and could be written as a
// FIE 2.0 line: an errs.Invalid error listing every {field, reason}, or nil.
// Field names are the JSON paths ("ccc", "dit.contingency").
func (r *Record) Validate() error {
	var fe errs.Fields
	add := func(prefix string) func(sp span, reason string) {
		return func(sp span, reason string) { fe.Add(prefix+sp.name, reason) }
	}
	company := Company{Regimen: r.Regimen, CCC: r.CCC, Name: r.CompanyName}
	company.checkEMP(add(""))
	company.checkRZS(func(sp span, reason string) { fe.Add("companyName", reason) })
	w := Worker{NAF: r.NAF, IPF: r.IPF, Surname1: r.Surname1, Surname2: r.Surname2, Name: r.Name}
	w.check(add(""))
	if r.Kind != KindIT {
		fe.Add("kind", fmt.Sprintf("tipo de prestación «%s» no admitido: se espera IT", r.Kind))
	}
	r.DIT.check(add("dit."))
	if r.ITD != nil {
		r.ITD.check(add("itd."))
	}
	if r.OIT != nil {
		r.OIT.check(add("oit."))
	}
	if r.CIT != nil {
		r.CIT.check(add("cit."))
	}
	if len(fe) == 0 {
		return nil
	}
	return errs.E(errs.Op("fie.Record.Validate"), errs.Invalid, "registro FIE no válido", fe)
}

// span is one field of a segment: its JSON name, its Spanish label and its
// position in the line (0-based, end-exclusive, in characters).
type span struct {
	name, label string
	start, end  int
}

func (s span) width() int { return s.end - s.start }

// The FIE 2.0 layout. Reserved positions are not listed; they are written
// as spaces and not interpreted when read.
var (
	etiDate = span{"date", "fecha del fichero", 3, 11}
	etfRows = span{"lines", "total de líneas", 3, 12}

	empRegimen = span{"regimen", "régimen", 3, 7}
	empCCC     = span{"ccc", "CCC", 7, 18}
	rzsName    = span{"name", "razón social", 5, 60}

	traNAF      = span{"naf", "NAF", 3, 15}
	traIPF      = span{"ipf", "IPF", 19, 33}
	aynSurname1 = span{"surname1", "primer apellido", 3, 23}
	aynSurname2 = span{"surname2", "segundo apellido", 23, 43}
	aynName     = span{"name", "nombre", 43, 58}

	ditEntity          = span{"responsibleEntity", "entidad responsable", 3, 6}
	ditStart           = span{"startDate", "fecha de baja", 6, 14}
	ditRelapse         = span{"relapse", "recaída", 14, 15}
	ditProcessStart    = span{"processStartDate", "fecha de inicio del proceso", 15, 23}
	ditPrevious        = span{"previousProcessDate", "fecha del proceso anterior", 23, 31}
	ditAccumulated     = span{"accumulatedDays", "días acumulados", 31, 35}
	ditNonExistent     = span{"nonExistentDate", "fecha de proceso inexistente", 35, 43}
	ditNonExistentWhy  = span{"nonExistentCause", "causa de proceso inexistente", 43, 45}
	ditContingency     = span{"contingency", "contingencia", 45, 46}
	ditCarencia        = span{"carencia", "carencia", 46, 47}
	ditProcessType     = span{"processType", "tipo de proceso", 47, 48}
	ditEstimated       = span{"estimatedDays", "duración estimada", 48, 52}
	ditPagoDelegado    = span{"pagoDelegadoEndDate", "fecha de fin del pago delegado", 52, 60}
	ditPagoDelegadoWhy = span{"pagoDelegadoEndCause", "causa de fin del pago delegado", 60, 62}
	ditEnd             = span{"endDate", "fecha de alta", 62, 70}
	ditEndCause        = span{"endCause", "causa de alta", 70, 72}
	ditAnnulled        = span{"annulled", "parte anulado", 72, 73}

	itdStart        = span{"startDate", "fecha de inicio del pago directo", 3, 11}
	itdInitiating   = span{"initiatingEntity", "entidad iniciadora", 11, 14}
	itdCurrent      = span{"currentEntity", "entidad actual", 14, 17}
	itdPaymentStart = span{"entityPaymentStartDate", "inicio del pago por la entidad", 17, 25}
	itdPaymentEnd   = span{"entityPaymentEndDate", "fin del pago por la entidad", 25, 33}
	itdBase         = span{"baseReguladoraCents", "base reguladora", 33, 44}

	oitReview      = span{"reviewStartDate", "inicio de revisión por la mutua", 3, 11}
	oitCause1Date  = span{"cause1Date", "fecha de la causa 1", 11, 19}
	oitCause1      = span{"cause1", "causa 1", 19, 21}
	oitCause2Date  = span{"cause2Date", "fecha de la causa 2", 21, 29}
	oitCause2      = span{"cause2", "causa 2", 29, 31}
	oitCause3Date  = span{"cause3Date", "fecha de la causa 3", 31, 39}
	oitCause3      = span{"cause3", "causa 3", 39, 41}
	oitArt1702     = span{"art1702", "artículo 170.2 LGSS", 43, 44}
	oitCertificate = span{"medicalCertificateDate", "fecha del certificado médico", 60, 68}

	citDate   = span{"date", "fecha del parte de confirmación", 3, 11}
	citNumber = span{"number", "número del parte de confirmación", 11, 13}
)

// Segment widths: the full length of each line kind, and the shortest line
// accepted (the end of the last required field; a line whose tail is a text
// field may have lost its trailing spaces).
var segmentWidth = map[string][2]int{
	"ETI": {11, 11},
	"ETF": {12, 12},
	"EMP": {18, 18},
	"RZS": {60, 6},
	"TRA": {33, 20},
	"AYN": {58, 44},
	"DIT": {73, 73},
	"ITD": {44, 44},
	"OIT": {68, 68},
	"CIT": {13, 13},
}

type addFunc func(sp span, reason string)

func (c *Company) checkEMP(add addFunc) {
	if len(c.Regimen) != 4 || !allDigits(c.Regimen) {
		add(empRegimen, fmt.Sprintf("régimen «%s» no válido: se esperan 4 dígitos", c.Regimen))
	}
	if r := CheckCCC(c.CCC); r != "" {
		add(empCCC, r)
	}
}

func (c *Company) checkRZS(add addFunc) { checkText(add, rzsName, c.Name, true) }

func (w *Worker) check(add addFunc) {
	w.checkTRA(add)
	w.checkAYN(add)
}

func (w *Worker) checkTRA(add addFunc) {
	if r := CheckNAF(w.NAF); r != "" {
		add(traNAF, r)
	}
	if checkText(add, traIPF, w.IPF, true) {
		for _, ch := range w.IPF {
			if !(ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == ' ') {
				add(traIPF, fmt.Sprintf("IPF «%s» no válido: solo letras mayúsculas y dígitos", w.IPF))
				break
			}
		}
	}
}

func (w *Worker) checkAYN(add addFunc) {
	checkText(add, aynSurname1, w.Surname1, true)
	checkText(add, aynSurname2, w.Surname2, false)
	checkText(add, aynName, w.Name, true)
}

func (d *DIT) check(add addFunc) {
	checkEntity(add, ditEntity, d.ResponsibleEntity, true)
	checkDate(add, ditStart, d.Start, true)
	checkFlag(add, ditRelapse, d.Relapse, false)
	checkDate(add, ditProcessStart, d.ProcessStart, false)
	checkDate(add, ditPrevious, d.PreviousProcess, false)
	checkInt(add, ditAccumulated, int64(d.AccumulatedDays))
	checkDate(add, ditNonExistent, d.NonExistentDate, false)
	checkCause(add, ditNonExistentWhy, d.NonExistentCause)
	if !d.Contingency.Valid() {
		add(ditContingency, fmt.Sprintf("contingencia «%s» no válida: se espera 1 (enfermedad común), 2 (accidente no laboral), 3 (accidente de trabajo), 4 (enfermedad profesional) o 5 (periodo de observación)", d.Contingency))
	}
	if !d.Carencia.Valid() {
		add(ditCarencia, fmt.Sprintf("carencia «%s» no válida: se espera S (acreditada), N (no acreditada), P (consultar al INSS) o blanco", d.Carencia))
	}
	if !d.ProcessType.Valid() {
		add(ditProcessType, fmt.Sprintf("tipo de proceso «%s» no válido: se espera 1, 2, 3, 4 o blanco", d.ProcessType))
	}
	checkInt(add, ditEstimated, int64(d.EstimatedDays))
	checkDate(add, ditPagoDelegado, d.PagoDelegadoEnd, false)
	checkCause(add, ditPagoDelegadoWhy, d.PagoDelegadoEndCause)
	checkDate(add, ditEnd, d.End, false)
	checkCause(add, ditEndCause, d.EndCause)
	checkFlag(add, ditAnnulled, d.Annulled, false)
	if !d.End.IsZero() && !d.Start.IsZero() && d.End.Before(d.Start) {
		add(ditEnd, fmt.Sprintf("la fecha de alta %s es anterior a la fecha de baja %s", d.End, d.Start))
	}
}

func (t *ITD) check(add addFunc) {
	checkDate(add, itdStart, t.Start, true)
	checkEntity(add, itdInitiating, t.InitiatingEntity, false)
	checkEntity(add, itdCurrent, t.CurrentEntity, false)
	checkDate(add, itdPaymentStart, t.EntityPaymentStart, false)
	checkDate(add, itdPaymentEnd, t.EntityPaymentEnd, false)
	checkInt(add, itdBase, t.BaseReguladoraCents)
}

func (o *OIT) check(add addFunc) {
	checkDate(add, oitReview, o.ReviewStart, false)
	checkDate(add, oitCause1Date, o.Cause1Date, false)
	checkCause(add, oitCause1, o.Cause1)
	checkDate(add, oitCause2Date, o.Cause2Date, false)
	checkCause(add, oitCause2, o.Cause2)
	checkDate(add, oitCause3Date, o.Cause3Date, false)
	checkCause(add, oitCause3, o.Cause3)
	checkFlag(add, oitArt1702, o.Art1702, true)
	checkDate(add, oitCertificate, o.CertificateDate, false)
}

func (c *CIT) check(add addFunc) {
	checkDate(add, citDate, c.Date, true)
	checkInt(add, citNumber, int64(c.Number))
}

// checkText reports a text field that is missing, too long or holds
// characters that cannot go in a line; it returns true when the text is
// acceptable so far.
func checkText(add addFunc, sp span, s string, required bool) bool {
	if strings.TrimSpace(s) == "" {
		if required {
			add(sp, fmt.Sprintf("%s: obligatorio, está en blanco", sp.label))
			return false
		}
		return true
	}
	if !utf8.ValidString(s) {
		add(sp, fmt.Sprintf("%s: no es texto UTF-8 válido", sp.label))
		return false
	}
	if n := utf8.RuneCountInString(s); n > sp.width() {
		add(sp, fmt.Sprintf("%s: %d caracteres, el máximo es %d", sp.label, n, sp.width()))
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			add(sp, fmt.Sprintf("%s: contiene caracteres de control", sp.label))
			return false
		}
	}
	if s != strings.TrimSpace(s) {
		add(sp, fmt.Sprintf("%s: no puede empezar ni terminar con espacios", sp.label))
		return false
	}
	return true
}

func checkEntity(add addFunc, sp span, s string, required bool) {
	if s == "" && !required {
		return
	}
	ok := len(s) == sp.width()
	for i := 0; ok && i < len(s); i++ {
		ch := s[i]
		ok = ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
	}
	if !ok {
		reason := fmt.Sprintf("%s «%s» no válida: se esperan %d letras mayúsculas o dígitos", sp.label, s, sp.width())
		if !required {
			reason += ", o blanco"
		}
		add(sp, reason)
	}
}

func checkDate(add addFunc, sp span, d Date, required bool) {
	switch {
	case !d.Valid():
		add(sp, fmt.Sprintf("%s: fecha %04d-%02d-%02d no válida", sp.label, d.Year, int(d.Month), d.Day))
	case required && d.IsZero():
		add(sp, fmt.Sprintf("%s: obligatoria, no puede ser 00000000", sp.label))
	}
}

func checkFlag(add addFunc, sp span, f Flag, blankOK bool) {
	if f == Si || f == No || (blankOK && f == "") {
		return
	}
	reason := fmt.Sprintf("%s «%s» no válido: se espera S o N", sp.label, f)
	if blankOK {
		reason += " o blanco"
	}
	add(sp, reason)
}

func checkCause(add addFunc, sp span, s string) {
	if s == "" || (len(s) == sp.width() && allDigits(s)) {
		return
	}
	add(sp, fmt.Sprintf("%s «%s» no válida: se esperan %d dígitos o blanco", sp.label, s, sp.width()))
}

func checkInt(add addFunc, sp span, v int64) {
	limit := int64(1)
	for i := 0; i < sp.width(); i++ {
		limit *= 10
	}
	if v < 0 || v >= limit {
		add(sp, fmt.Sprintf("%s: %d fuera de rango (0 a %d)", sp.label, v, limit-1))
	}
}
