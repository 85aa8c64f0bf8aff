package fie

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"redengine/errs"
)

// MaxLineLength is the longest line accepted, in bytes. Longer lines are an
// error (and are skipped, so parsing goes on).
const MaxLineLength = 4096

// MaxErrors is how many errors a refused file reports at most; past it the
// last entry says the list was cut.
const MaxErrors = 10_000

// LineError is one problem found in a FIE file, worded in Spanish for the
// person who sent it. Line is 1-based (0 when the problem is the file as a
// whole); Segment is the 3-letter tag and Field the JSON name of the field
// (both empty when they do not apply).
type LineError struct {
	Line    int    `json:"line"`
	Segment string `json:"segment"`
	Field   string `json:"field"`
	Reason  string `json:"reason"`
}

// String renders the error for logs and the command line.
func (e LineError) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "línea %d", e.Line)
	if e.Segment != "" {
		b.WriteString(" " + e.Segment)
	}
	if e.Field != "" {
		b.WriteString("." + e.Field)
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

// ParseError refuses a whole FIE file: every error found, in line order.
// Its kind is errs.Invalid.
type ParseError struct {
	Errors    []LineError
	Truncated bool // more than MaxErrors errors: the list was cut
}

// Error summarises the refusal in Spanish.
func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fichero FIE rechazado: %d errores", len(e.Errors))
	if e.Truncated {
		b.WriteString(" (lista cortada)")
	}
	for i, le := range e.Errors {
		if i == 3 {
			b.WriteString("; …")
			break
		}
		b.WriteString("; " + le.String())
	}
	return b.String()
}

// ErrKind reports errs.Invalid.
func (e *ParseError) ErrKind() errs.Kind { return errs.Invalid }

// Fields returns the errors as errs.Fields, the field named
// "línea N SEG.campo", for callers that only carry {field, reason}.
func (e *ParseError) Fields() errs.Fields {
	out := make(errs.Fields, 0, len(e.Errors))
	for _, le := range e.Errors {
		f := fmt.Sprintf("línea %d", le.Line)
		if le.Segment != "" {
			f += " " + le.Segment
			if le.Field != "" {
				f += "." + le.Field
			}
		}
		out = append(out, errs.FieldError{Field: f, Reason: le.Reason})
	}
	return out
}

// Parse reads a whole FIE 2.0 file. On any malformed line it returns a
// *ParseError with every error found and no file; a read failure is
// returned as is.
func Parse(r io.Reader) (*File, error) {
	f := &File{}
	p := newParser(r)
	// Benefits of the current worker gather in a scratch slice and are
	// copied once, sized, when the worker ends.
	var scratch []Benefit
	flush := func() {
		if len(scratch) == 0 {
			return
		}
		c := &f.Companies[len(f.Companies)-1]
		w := &c.Workers[len(c.Workers)-1]
		w.Benefits = append(make([]Benefit, 0, len(scratch)), scratch...)
		clear(scratch)
		scratch = scratch[:0]
	}
	p.onCompany = func(c Company) {
		flush()
		f.Companies = append(f.Companies, c)
	}
	p.onWorker = func(w Worker) {
		flush()
		c := &f.Companies[len(f.Companies)-1]
		c.Workers = append(c.Workers, w)
	}
	p.onBenefit = func(_ *Company, _ *Worker, b Benefit) error {
		scratch = append(scratch, b)
		return nil
	}
	if err := p.run(); err != nil {
		return nil, err
	}
	flush()
	f.Date = p.fileDate
	return f, nil
}

// ParseRecords reads a FIE 2.0 file as a stream, calling fn with each
// benefit record as soon as it is complete, so memory does not grow with the
// file. The file is still checked whole: if it turns out malformed,
// ParseRecords stops calling fn at the first error, reads on to collect every
// error and returns a *ParseError — the caller must then discard what fn
// received (stage it, or write it in one transaction). An error from fn
// stops parsing and is returned as is.
func ParseRecords(r io.Reader, fn func(Record) error) error {
	_, err := ParseStream(r, fn)
	return err
}

// Summary describes a parsed file: its ETI date and how many companies
// (EMP groups), workers (TRA groups) and benefit records it holds.
type Summary struct {
	Date      Date `json:"date"`
	Companies int  `json:"companies"`
	Workers   int  `json:"workers"`
	Records   int  `json:"records"`
}

// ParseStream is ParseRecords that also returns the file's Summary (valid
// only when the error is nil).
func ParseStream(r io.Reader, fn func(Record) error) (Summary, error) {
	p := newParser(r)
	var s Summary
	p.onCompany = func(Company) { s.Companies++ }
	p.onWorker = func(Worker) { s.Workers++ }
	p.onBenefit = func(c *Company, w *Worker, b Benefit) error {
		s.Records++
		return fn(NewRecord(c, w, &b))
	}
	if err := p.run(); err != nil {
		return Summary{}, err
	}
	s.Date = p.fileDate
	return s, nil
}

// Hash returns the hex SHA-256 of everything r yields: the identity of a
// FIE file, to store it once however often it is imported.
func Hash(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ParseHashed is Parse that also returns the file's Hash and its size in
// bytes, computed as it reads: a file arriving over the network is hashed
// and parsed in one pass, without holding its bytes.
func ParseHashed(r io.Reader) (f *File, hash string, size int64, err error) {
	h := &countingHash{h: sha256.New()}
	if f, err = Parse(io.TeeReader(r, h)); err != nil {
		return nil, "", 0, err
	}
	return f, hex.EncodeToString(h.h.Sum(nil)), h.n, nil
}

// countingHash is a hash that counts the bytes written to it.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// HashBytes is Hash of an in-memory file.
func HashBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type parser struct {
	in     *bufio.Reader
	long   []byte
	lineNo int
	errors []LineError
	cut    bool

	onCompany func(Company)
	onWorker  func(Worker)
	onBenefit func(*Company, *Worker, Benefit) error

	fileDate        Date
	sawETI, sawETF  bool
	haveCompany     bool
	haveWorker      bool
	haveBenefit     bool
	company         Company
	worker          Worker
	benefit         Benefit
	companyLine     int
	workerLine      int
	needRZS         bool
	needAYN         bool
	cccs            map[string]int
	nafs            map[string]int
	starts          map[Date]int
	seg             string
	line            string
	runes           []rune
	ascii           bool
	reported        []string // fields already reported on this line
	callbackFailure error
}

func newParser(r io.Reader) *parser {
	return &parser{in: bufio.NewReaderSize(r, 64*1024), cccs: map[string]int{}}
}

// fail records an error of the current line.
func (p *parser) fail(line int, seg, field, reason string) {
	if len(p.errors) >= MaxErrors {
		p.cut = true
		return
	}
	p.errors = append(p.errors, LineError{Line: line, Segment: seg, Field: field, Reason: reason})
}

// failSpan records a field error of the current line, once per field.
func (p *parser) failSpan(sp span, reason string) {
	for _, name := range p.reported {
		if name == sp.name {
			return
		}
	}
	p.reported = append(p.reported, sp.name)
	p.fail(p.lineNo, p.seg, sp.name, reason)
}

// readLine returns the next line without its end of line, or io.EOF. A
// line over MaxLineLength is skipped and reported with tooLong set. The
// line may point into the reader's buffer: use it before the next call.
func (p *parser) readLine() (line []byte, tooLong bool, err error) {
	p.long = p.long[:0]
	for {
		chunk, err := p.in.ReadSlice('\n')
		if !tooLong {
			if len(p.long) == 0 && !errors.Is(err, bufio.ErrBufferFull) {
				line = chunk
			} else {
				p.long = append(p.long, chunk...)
				line = p.long
			}
			if len(line) > MaxLineLength+2 {
				tooLong, line = true, nil
				p.long = p.long[:0]
			}
		}
		switch {
		case err == nil:
			return trimEOL(line), tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if !tooLong && len(line) == 0 {
				return nil, false, io.EOF
			}
			return trimEOL(line), tooLong, nil
		default:
			return nil, false, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func (p *parser) run() error {
	for {
		raw, tooLong, err := p.readLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errs.E(errs.Op("fie.Parse"), "no se pudo leer el fichero FIE", err)
		}
		p.lineNo++
		if tooLong {
			p.fail(p.lineNo, "", "", fmt.Sprintf("línea de más de %d caracteres", MaxLineLength))
			continue
		}
		if p.lineNo == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xEF\xBB\xBF"))
		}
		p.line1(raw)
		if p.callbackFailure != nil {
			return p.callbackFailure
		}
	}
	switch {
	case p.lineNo == 0:
		p.fail(0, "ETI", "", "fichero vacío: debe empezar por ETI y terminar por ETF")
	case !p.sawETF:
		p.fail(p.lineNo, "ETF", "", "falta el segmento ETF al final del fichero (¿fichero truncado?)")
	}
	if len(p.errors) > 0 {
		if p.cut {
			p.errors = append(p.errors, LineError{Reason: fmt.Sprintf("hay más de %d errores; solo se muestran los primeros", MaxErrors)})
		}
		return &ParseError{Errors: p.errors, Truncated: p.cut}
	}
	return nil
}

// line1 handles one line.
func (p *parser) line1(raw []byte) {
	p.reported = p.reported[:0]
	p.seg = ""
	if len(raw) == 0 {
		p.fail(p.lineNo, "", "", "línea vacía")
		return
	}
	validUTF8 := utf8.Valid(raw)
	if !validUTF8 {
		at := 0
		for at < len(raw) {
			r, size := utf8.DecodeRune(raw[at:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			at += size
		}
		p.fail(p.lineNo, "", "", fmt.Sprintf("la línea no es texto UTF-8 válido (byte %d); convierta el fichero a UTF-8", at+1))
	}
	if len(raw) < 3 {
		p.fail(p.lineNo, "", "", "línea demasiado corta: falta el identificador de segmento")
		return
	}
	tag := string(raw[:3])
	widths, known := segmentWidth[tag]
	if !known {
		p.fail(p.lineNo, "", "", fmt.Sprintf("segmento «%s» desconocido: se espera ETI, EMP, RZS, TRA, AYN, DIT, ITD, OIT, CIT o ETF", printable(raw[:3])))
		return
	}
	p.seg = tag
	if p.sawETF {
		p.fail(p.lineNo, tag, "", "contenido después de ETF: ETF debe ser la última línea")
		return
	}
	if !p.sawETI && tag != "ETI" {
		p.fail(p.lineNo, tag, "", "el fichero debe empezar por el segmento ETI")
		p.sawETI = true
	}
	// Fields are read only from a well-formed line; the structure is
	// followed either way so one bad line gives one error.
	fieldsOK := validUTF8 && p.setLine(raw, widths)
	p.structure(tag, fieldsOK)
}

func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// setLine prepares the line for field access; false when its length is
// wrong (the error is recorded).
func (p *parser) setLine(raw []byte, widths [2]int) bool {
	full, min := widths[0], widths[1]
	p.line = string(raw)
	p.ascii = true
	for _, c := range raw {
		if c >= 0x80 {
			p.ascii = false
			break
		}
	}
	n := len(raw)
	if !p.ascii {
		p.runes = []rune(p.line)
		n = len(p.runes)
	}
	if n < min {
		p.fail(p.lineNo, p.seg, "", fmt.Sprintf("línea corta: %d caracteres; el segmento %s ocupa %d", n, p.seg, full))
		return false
	}
	if n > full {
		var tail string
		if p.ascii {
			tail = p.line[full:]
		} else {
			tail = string(p.runes[full:])
		}
		if strings.Trim(tail, " ") != "" {
			p.fail(p.lineNo, p.seg, "", fmt.Sprintf("contenido inesperado a partir de la posición %d: el segmento %s ocupa %d caracteres", full+1, p.seg, full))
			return false
		}
	}
	if n < full {
		pad := strings.Repeat(" ", full-n)
		p.line += pad
		if !p.ascii {
			p.runes = append(p.runes, []rune(pad)...)
		}
	}
	return true
}

// get returns the raw text of a field.
func (p *parser) get(sp span) string {
	if p.ascii {
		return p.line[sp.start:sp.end]
	}
	return string(p.runes[sp.start:sp.end])
}

func (p *parser) text(sp span) string { return strings.Trim(p.get(sp), " ") }

func (p *parser) date(sp span) Date {
	d, reason := parseFIEDate(p.get(sp))
	if reason != "" {
		p.failSpan(sp, sp.label+": "+reason)
	}
	return d
}

func (p *parser) number(sp span) int64 {
	s := p.get(sp)
	if !allDigits(s) {
		p.failSpan(sp, fmt.Sprintf("%s «%s» no válido: se esperan %d dígitos", sp.label, s, sp.width()))
		return 0
	}
	v, _ := strconv.ParseInt(s, 10, 64)
	return v
}

// structure applies a segment to the parse state.
func (p *parser) structure(tag string, ok bool) {
	switch tag {
	case "ETI":
		if p.lineNo != 1 {
			p.fail(p.lineNo, tag, "", "ETI repetido o fuera de lugar: solo puede ser la primera línea")
			p.sawETI = true
			return
		}
		p.sawETI = true
		if ok {
			d := p.date(etiDate)
			checkDate(p.failSpan, etiDate, d, true)
			p.fileDate = d
		}
	case "ETF":
		p.checkPending()
		p.closeCompany()
		p.sawETF = true
		if ok {
			n := p.number(etfRows)
			if len(p.reported) == 0 && n != int64(p.lineNo) {
				p.failSpan(etfRows, fmt.Sprintf("ETF declara %d líneas y el fichero tiene %d", n, p.lineNo))
			}
		}
	case "EMP":
		p.checkPending()
		p.closeCompany()
		p.company = Company{}
		p.haveCompany, p.companyLine, p.needRZS = true, p.lineNo, true
		p.nafs = map[string]int{}
		if ok {
			p.company.Regimen = p.get(empRegimen)
			p.company.CCC = p.get(empCCC)
			p.company.checkEMP(p.failSpan)
			if first, dup := p.cccs[p.company.CCC]; dup && len(p.reported) == 0 {
				p.failSpan(empCCC, fmt.Sprintf("CCC %s repetido: la empresa ya empezó en la línea %d", p.company.CCC, first))
			} else {
				p.cccs[p.company.CCC] = p.lineNo
			}
		}
	case "RZS":
		if !p.haveCompany || !p.needRZS {
			if !p.haveCompany {
				p.fail(p.lineNo, tag, "", "RZS sin EMP previo: la razón social debe seguir al segmento EMP")
			} else {
				p.fail(p.lineNo, tag, "", fmt.Sprintf("RZS fuera de lugar: debe ir justo después de EMP (línea %d)", p.companyLine))
			}
			return
		}
		p.needRZS = false
		if ok {
			p.company.Name = p.text(rzsName)
			p.company.checkRZS(p.failSpan)
		}
		if p.onCompany != nil && p.clean() {
			p.onCompany(p.company)
		}
	case "TRA":
		p.checkPending()
		if !p.haveCompany {
			p.fail(p.lineNo, tag, "", "TRA sin EMP previo: el trabajador no pertenece a ninguna empresa")
			p.haveCompany = true
			p.nafs = map[string]int{}
		}
		p.closeWorker()
		p.worker = Worker{}
		p.haveWorker, p.workerLine, p.needAYN = true, p.lineNo, true
		p.starts = map[Date]int{}
		if ok {
			p.worker.NAF = p.get(traNAF)
			p.worker.IPF = p.text(traIPF)
			p.worker.checkTRA(p.failSpan)
			if first, dup := p.nafs[p.worker.NAF]; dup && len(p.reported) == 0 {
				p.failSpan(traNAF, fmt.Sprintf("NAF %s repetido en la misma empresa: el trabajador ya apareció en la línea %d", p.worker.NAF, first))
			} else {
				p.nafs[p.worker.NAF] = p.lineNo
			}
		}
	case "AYN":
		if !p.haveWorker || !p.needAYN {
			if !p.haveWorker {
				p.fail(p.lineNo, tag, "", "AYN sin TRA previo: los apellidos y nombre deben seguir al segmento TRA")
			} else {
				p.fail(p.lineNo, tag, "", fmt.Sprintf("AYN fuera de lugar: debe ir justo después de TRA (línea %d)", p.workerLine))
			}
			return
		}
		p.needAYN = false
		if ok {
			p.worker.Surname1 = p.text(aynSurname1)
			p.worker.Surname2 = p.text(aynSurname2)
			p.worker.Name = p.text(aynName)
			p.worker.checkAYN(p.failSpan)
		}
		if p.onWorker != nil && p.clean() {
			p.onWorker(p.worker)
		}
	case "DIT":
		p.checkPending()
		if !p.haveWorker {
			p.fail(p.lineNo, tag, "", "DIT sin TRA previo: el proceso no pertenece a ningún trabajador")
			p.haveWorker = true
			p.starts = map[Date]int{}
		}
		p.closeBenefit()
		p.benefit = Benefit{Kind: KindIT}
		p.haveBenefit = true
		if ok {
			d := &p.benefit.DIT
			d.ResponsibleEntity = p.text(ditEntity)
			d.Start = p.date(ditStart)
			d.Relapse = Flag(p.text(ditRelapse))
			d.ProcessStart = p.date(ditProcessStart)
			d.PreviousProcess = p.date(ditPrevious)
			d.AccumulatedDays = int(p.number(ditAccumulated))
			d.NonExistentDate = p.date(ditNonExistent)
			d.NonExistentCause = p.text(ditNonExistentWhy)
			d.Contingency = Contingency(p.text(ditContingency))
			d.Carencia = Carencia(p.text(ditCarencia))
			d.ProcessType = ProcessType(p.text(ditProcessType))
			d.EstimatedDays = int(p.number(ditEstimated))
			d.PagoDelegadoEnd = p.date(ditPagoDelegado)
			d.PagoDelegadoEndCause = p.text(ditPagoDelegadoWhy)
			d.End = p.date(ditEnd)
			d.EndCause = p.text(ditEndCause)
			d.Annulled = Flag(p.text(ditAnnulled))
			d.check(p.failSpan)
			if !d.Start.IsZero() {
				if first, dup := p.starts[d.Start]; dup {
					p.failSpan(ditStart, fmt.Sprintf("proceso repetido: el trabajador ya tiene una baja del %s en la línea %d", d.Start, first))
				} else {
					p.starts[d.Start] = p.lineNo
				}
			}
		}
	case "ITD", "OIT", "CIT":
		p.checkPending()
		if !p.haveBenefit {
			p.fail(p.lineNo, tag, "", fmt.Sprintf("%s sin DIT previo: el segmento debe seguir al DIT de su proceso", tag))
			return
		}
		b := &p.benefit
		switch tag {
		case "ITD":
			if b.ITD != nil {
				p.fail(p.lineNo, tag, "", "segmento ITD repetido en el mismo proceso")
				return
			}
			t := &ITD{}
			b.ITD = t
			if ok {
				t.Start = p.date(itdStart)
				t.InitiatingEntity = p.text(itdInitiating)
				t.CurrentEntity = p.text(itdCurrent)
				t.EntityPaymentStart = p.date(itdPaymentStart)
				t.EntityPaymentEnd = p.date(itdPaymentEnd)
				t.BaseReguladoraCents = p.number(itdBase)
				t.check(p.failSpan)
			}
		case "OIT":
			if b.OIT != nil {
				p.fail(p.lineNo, tag, "", "segmento OIT repetido en el mismo proceso")
				return
			}
			o := &OIT{}
			b.OIT = o
			if ok {
				o.ReviewStart = p.date(oitReview)
				o.Cause1Date = p.date(oitCause1Date)
				o.Cause1 = p.text(oitCause1)
				o.Cause2Date = p.date(oitCause2Date)
				o.Cause2 = p.text(oitCause2)
				o.Cause3Date = p.date(oitCause3Date)
				o.Cause3 = p.text(oitCause3)
				o.Art1702 = Flag(p.text(oitArt1702))
				o.CertificateDate = p.date(oitCertificate)
				o.check(p.failSpan)
			}
		case "CIT":
			if b.CIT != nil {
				p.fail(p.lineNo, tag, "", "segmento CIT repetido en el mismo proceso")
				return
			}
			c := &CIT{}
			b.CIT = c
			if ok {
				c.Date = p.date(citDate)
				c.Number = int(p.number(citNumber))
				c.check(p.failSpan)
			}
		}
	}
}

// clean reports whether no error was found so far: only then are results
// handed out.
func (p *parser) clean() bool { return len(p.errors) == 0 && !p.cut }

// checkPending reports a missing RZS or AYN when another segment comes.
func (p *parser) checkPending() {
	if p.needRZS {
		p.fail(p.lineNo, p.seg, "", fmt.Sprintf("falta el segmento RZS de la empresa de la línea %d: debe ir justo después de EMP", p.companyLine))
		p.needRZS = false
	}
	if p.needAYN {
		p.fail(p.lineNo, p.seg, "", fmt.Sprintf("falta el segmento AYN del trabajador de la línea %d: debe ir justo después de TRA", p.workerLine))
		p.needAYN = false
	}
}

func (p *parser) closeBenefit() {
	if !p.haveBenefit {
		return
	}
	p.haveBenefit = false
	if p.onBenefit != nil && p.clean() && p.callbackFailure == nil {
		if err := p.onBenefit(&p.company, &p.worker, p.benefit); err != nil {
			p.callbackFailure = err
		}
	}
}

func (p *parser) closeWorker() {
	p.closeBenefit()
	p.haveWorker = false
}

func (p *parser) closeCompany() {
	p.closeWorker()
	p.haveCompany = false
}
