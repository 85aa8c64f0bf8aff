package fie

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"redengine/errs"
)

// Writer writes a FIE 2.0 file segment by segment, so files of any size can
// be produced without holding them: ETI on creation, then Company, Worker
// and Benefit calls in file order, then Close for ETF. Values are checked
// with the same rules as Parse, so what Writer writes Parse reads back.
type Writer struct {
	w          *bufio.Writer
	buf        []byte
	col        int
	lines      int
	err        error
	haveWorker bool
	haveComp   bool
	closed     bool
}

// NewWriter starts a FIE file dated date (the ETI date, required).
func NewWriter(w io.Writer, date Date) *Writer {
	fw := &Writer{w: bufio.NewWriterSize(w, 64*1024)}
	fw.checkValues("ETI", func(add addFunc) { checkDate(add, etiDate, date, true) })
	fw.begin("ETI")
	fw.date(etiDate, date)
	fw.end()
	return fw
}

// Format writes f as a FIE 2.0 file: the inverse of Parse.
func Format(w io.Writer, f *File) error {
	fw := NewWriter(w, f.Date)
	for ci := range f.Companies {
		c := &f.Companies[ci]
		fw.Company(c)
		for wi := range c.Workers {
			wk := &c.Workers[wi]
			fw.Worker(wk)
			for bi := range wk.Benefits {
				fw.Benefit(&wk.Benefits[bi])
			}
		}
	}
	return fw.Close()
}

// Company writes the EMP and RZS lines of c (not its workers).
func (fw *Writer) Company(c *Company) error {
	fw.checkValues("EMP", c.checkEMP)
	fw.checkValues("RZS", c.checkRZS)
	fw.begin("EMP")
	fw.raw(empRegimen, c.Regimen)
	fw.raw(empCCC, c.CCC)
	fw.end()
	fw.begin("RZS")
	fw.text(rzsName, c.Name)
	fw.end()
	fw.haveComp, fw.haveWorker = true, false
	return fw.err
}

// Worker writes the TRA and AYN lines of w (not its benefits).
func (fw *Writer) Worker(w *Worker) error {
	if !fw.haveComp && fw.err == nil {
		fw.err = errs.E(errs.Op("fie.Writer"), errs.Invalid, "TRA sin empresa: llame antes a Company")
	}
	fw.checkValues("TRA", w.check)
	fw.begin("TRA")
	fw.raw(traNAF, w.NAF)
	fw.text(traIPF, w.IPF)
	fw.end()
	fw.begin("AYN")
	fw.text(aynSurname1, w.Surname1)
	fw.text(aynSurname2, w.Surname2)
	fw.text(aynName, w.Name)
	fw.end()
	fw.haveWorker = true
	return fw.err
}

// Benefit writes the DIT line of b and its ITD, OIT and CIT lines.
func (fw *Writer) Benefit(b *Benefit) error {
	if !fw.haveWorker && fw.err == nil {
		fw.err = errs.E(errs.Op("fie.Writer"), errs.Invalid, "DIT sin trabajador: llame antes a Worker")
	}
	if b.Kind != KindIT && fw.err == nil {
		fw.err = errs.E(errs.Op("fie.Writer"), errs.Invalid, fmt.Sprintf("tipo de prestación «%s» no admitido en FIE 2.0", b.Kind))
	}
	d := &b.DIT
	fw.checkValues("DIT", d.check)
	fw.begin("DIT")
	fw.raw(ditEntity, d.ResponsibleEntity)
	fw.date(ditStart, d.Start)
	fw.raw(ditRelapse, string(d.Relapse))
	fw.date(ditProcessStart, d.ProcessStart)
	fw.date(ditPrevious, d.PreviousProcess)
	fw.number(ditAccumulated, int64(d.AccumulatedDays))
	fw.date(ditNonExistent, d.NonExistentDate)
	fw.raw(ditNonExistentWhy, d.NonExistentCause)
	fw.raw(ditContingency, string(d.Contingency))
	fw.raw(ditCarencia, string(d.Carencia))
	fw.raw(ditProcessType, string(d.ProcessType))
	fw.number(ditEstimated, int64(d.EstimatedDays))
	fw.date(ditPagoDelegado, d.PagoDelegadoEnd)
	fw.raw(ditPagoDelegadoWhy, d.PagoDelegadoEndCause)
	fw.date(ditEnd, d.End)
	fw.raw(ditEndCause, d.EndCause)
	fw.raw(ditAnnulled, string(d.Annulled))
	fw.end()
	if t := b.ITD; t != nil {
		fw.checkValues("ITD", t.check)
		fw.begin("ITD")
		fw.date(itdStart, t.Start)
		fw.raw(itdInitiating, t.InitiatingEntity)
		fw.raw(itdCurrent, t.CurrentEntity)
		fw.date(itdPaymentStart, t.EntityPaymentStart)
		fw.date(itdPaymentEnd, t.EntityPaymentEnd)
		fw.number(itdBase, t.BaseReguladoraCents)
		fw.end()
	}
	if o := b.OIT; o != nil {
		fw.checkValues("OIT", o.check)
		fw.begin("OIT")
		fw.date(oitReview, o.ReviewStart)
		fw.date(oitCause1Date, o.Cause1Date)
		fw.raw(oitCause1, o.Cause1)
		fw.date(oitCause2Date, o.Cause2Date)
		fw.raw(oitCause2, o.Cause2)
		fw.date(oitCause3Date, o.Cause3Date)
		fw.raw(oitCause3, o.Cause3)
		fw.raw(oitArt1702, string(o.Art1702))
		fw.date(oitCertificate, o.CertificateDate)
		fw.end()
	}
	if c := b.CIT; c != nil {
		fw.checkValues("CIT", c.check)
		fw.begin("CIT")
		fw.date(citDate, c.Date)
		fw.number(citNumber, int64(c.Number))
		fw.end()
	}
	return fw.err
}

// Record writes r as a company, worker and benefit, opening new EMP and TRA
// groups only when the CCC or NAF changes from prev (nil for the first
// record): records must come grouped by CCC, then NAF.
func (fw *Writer) Record(r *Record, prev *Record) error {
	if prev == nil || prev.CCC != r.CCC || prev.Regimen != r.Regimen {
		fw.Company(&Company{Regimen: r.Regimen, CCC: r.CCC, Name: r.CompanyName})
		prev = nil
	}
	if prev == nil || prev.NAF != r.NAF {
		fw.Worker(&Worker{NAF: r.NAF, IPF: r.IPF, Surname1: r.Surname1, Surname2: r.Surname2, Name: r.Name})
	}
	return fw.Benefit(&Benefit{Kind: r.Kind, DIT: r.DIT, ITD: r.ITD, OIT: r.OIT, CIT: r.CIT})
}

// Close writes ETF with the line count and flushes. It reports the first
// error of any earlier call.
func (fw *Writer) Close() error {
	if fw.closed {
		return fw.err
	}
	fw.closed = true
	fw.begin("ETF")
	fw.number(etfRows, int64(fw.lines+1))
	fw.end()
	if fw.err != nil {
		return fw.err
	}
	if err := fw.w.Flush(); err != nil {
		fw.err = errs.E(errs.Op("fie.Writer"), "no se pudo escribir el fichero FIE", err)
	}
	return fw.err
}

// checkValues refuses values that Parse would refuse.
func (fw *Writer) checkValues(seg string, check func(addFunc)) {
	if fw.err != nil {
		return
	}
	var fe errs.Fields
	check(func(sp span, reason string) { fe.Add(seg+"."+sp.name, reason) })
	if len(fe) > 0 {
		fw.err = errs.E(errs.Op("fie.Writer"), errs.Invalid, "valores no válidos para FIE 2.0", fe)
	}
}

func (fw *Writer) begin(tag string) {
	fw.buf = append(fw.buf[:0], tag...)
	fw.col = 3
}

func (fw *Writer) padTo(col int) {
	for fw.col < col {
		fw.buf = append(fw.buf, ' ')
		fw.col++
	}
}

// raw writes s left-aligned in sp, padded with spaces.
func (fw *Writer) raw(sp span, s string) {
	fw.padTo(sp.start)
	fw.buf = append(fw.buf, s...)
	fw.col += utf8.RuneCountInString(s)
	fw.padTo(sp.end)
}

func (fw *Writer) text(sp span, s string) { fw.raw(sp, s) }

func (fw *Writer) date(sp span, d Date) {
	fw.padTo(sp.start)
	if d.IsZero() {
		fw.buf = append(fw.buf, "00000000"...)
	} else {
		fw.buf = d.appendFIE(fw.buf)
	}
	fw.col += 8
}

func (fw *Writer) number(sp span, v int64) {
	fw.padTo(sp.start)
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], v, 10)
	for i := len(s); i < sp.width(); i++ {
		fw.buf = append(fw.buf, '0')
	}
	fw.buf = append(fw.buf, s...)
	fw.col = sp.end
}

func (fw *Writer) end() {
	if fw.err != nil {
		return
	}
	fw.padTo(segmentWidth[string(fw.buf[:3])][0])
	fw.buf = append(fw.buf, '\n')
	if _, err := fw.w.Write(fw.buf); err != nil {
		fw.err = errs.E(errs.Op("fie.Writer"), "no se pudo escribir el fichero FIE", err)
	}
	fw.lines++
}
