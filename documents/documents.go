// Package documents renders the engine's formal documents (resolutions) as
// PDF in one house style, with github.com/go-pdf/fpdf, and as plain text
// with the same content.
//
// A document is data (Resolution): the issuing body, a title, reference
// lines, sections of paragraphs, place and date, the signature line and the
// código seguro de verificación. RenderResolution lays any Resolution out
// in the house style:
//
//   - header on every page: "Tesorería General de la Seguridad Social —
//     Dirección Provincial de …" and the issuing unit, over a rule;
//   - the title, centred, and the reference lines in a framed box;
//   - sections, each a bold upper-case heading and justified
//     paragraphs;
//   - place and date, then the signature block;
//   - footer on every page: the verification code, where to verify it, and
//     "Página N de M".
//
// Output is deterministic: the PDF's creation and modification dates are
// the document's Date, catalogs are sorted and compression is fixed, so the
// same Resolution always gives byte-identical PDF. Text is in Spanish and
// is encoded in cp1252 for fpdf's core fonts (accents, ñ, «», —, €);
// characters outside cp1252 are replaced by a close ASCII form or "?".
//
// The package is pure apart from building bytes in memory: no clock reads,
// no files.
package documents

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"

	"redengine/domain/cases"
	"redengine/errs"
)

// Issuer is the name that heads every document.
const Issuer = "Tesorería General de la Seguridad Social"

// Field is a reference line under the title: "Label: Value".
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Section is a heading with its paragraphs.
type Section struct {
	Heading    string   `json:"heading"`
	Paragraphs []string `json:"paragraphs"`
}

// Resolution is a formal document in the house style. Build it as a value
// or with New and its Add methods; render it with RenderResolution or Text.
type Resolution struct {
	Body             string    `json:"body"`  // issuing body: "Dirección Provincial de Madrid"
	Unit             string    `json:"unit"`  // issuing unit, optional
	Title            string    `json:"title"` // "RESOLUCIÓN DE DESISTIMIENTO"
	Reference        []Field   `json:"reference"`
	Sections         []Section `json:"sections"`
	Place            string    `json:"place"` // where it is issued: "Madrid"
	Date             time.Time `json:"date"`  // when it is issued; also the PDF's dates
	Signature        []string  `json:"signature"`
	VerificationCode string    `json:"verificationCode"`
	VerifyAt         string    `json:"verifyAt"` // where the code can be checked
}

// New starts a document of the issuing body with a title, issued at place
// on date.
func New(body, title, place string, date time.Time) *Resolution {
	return &Resolution{Body: body, Title: title, Place: place, Date: date}
}

// AddReference adds a reference line; empty values are skipped.
func (r *Resolution) AddReference(label, value string) *Resolution {
	if strings.TrimSpace(value) != "" {
		r.Reference = append(r.Reference, Field{label, value})
	}
	return r
}

// AddSection adds a section with its paragraphs.
func (r *Resolution) AddSection(heading string, paragraphs ...string) *Resolution {
	r.Sections = append(r.Sections, Section{Heading: heading, Paragraphs: paragraphs})
	return r
}

// Header returns the line that heads every page: "Tesorería General de la
// Seguridad Social — <body>".
func (r Resolution) Header() string {
	if r.Body == "" {
		return Issuer
	}
	return Issuer + " — " + r.Body
}

// DateLine returns "Madrid, 23 de julio de 2021" (the date in Europe/Madrid).
func (r Resolution) DateLine() string {
	d := cases.SpanishDate(r.Date)
	if r.Place == "" {
		return d
	}
	return r.Place + ", " + d
}

// CodeLine returns the footer's verification line.
func (r Resolution) CodeLine() string {
	if r.VerificationCode == "" {
		return ""
	}
	s := "Código seguro de verificación (CSV): " + r.VerificationCode
	if r.VerifyAt != "" {
		s += ". Compruebe su autenticidad en " + r.VerifyAt
	}
	return s
}

func (r Resolution) validate() error {
	var f errs.Fields
	if strings.TrimSpace(r.Title) == "" {
		f.Add("title", "es obligatorio")
	}
	if r.Date.IsZero() {
		f.Add("date", "es obligatoria")
	}
	if len(f) > 0 {
		return errs.E(errs.Op("documents.Render"), errs.Invalid, f)
	}
	return nil
}

// Text renders the document as plain text, with the same content and order
// as the PDF (without the page numbers).
func (r Resolution) Text() string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteByte('\n') }
	line(r.Header())
	if r.Unit != "" {
		line(r.Unit)
	}
	line("")
	line(r.Title)
	line("")
	for _, f := range r.Reference {
		line(f.Label + ": " + f.Value)
	}
	for _, s := range r.Sections {
		line("")
		line(strings.ToUpper(s.Heading))
		for _, p := range s.Paragraphs {
			line(p)
		}
	}
	line("")
	line(r.DateLine())
	for _, s := range r.Signature {
		line(s)
	}
	if c := r.CodeLine(); c != "" {
		line("")
		line(c)
	}
	return b.String()
}

// House style measures, in millimetres and points.
const (
	marginLeft   = 25.0
	marginRight  = 20.0
	marginTop    = 38.0
	marginBottom = 28.0
	lineHeight   = 5.2
	bodyFont     = "Helvetica"
)

// RenderResolution renders r as a PDF (A4, house style). The same r always
// gives the same bytes.
func RenderResolution(r Resolution) ([]byte, error) { return render(r, true) }

// replacer maps characters outside cp1252 that users and templates write to
// something cp1252 has.
var replacer = strings.NewReplacer(
	"→", "->", "←", "<-", "≤", "<=", "≥", ">=", "≠", "!=", "\u00a0", " ", "\u2009", " ", "\u202f", " ",
	"‐", "-", "‑", "-", "‒", "-", "−", "-", "\t", "    ", "\r\n", "\n", "\r", "\n",
)

// toCP1252 prepares UTF-8 text for fpdf's cp1252 translator: composed
// (NFC), common non-cp1252 characters replaced, and any other rune that
// cp1252 lacks replaced by "?".
func toCP1252(s string) string {
	s = replacer.Replace(norm.NFC.String(s))
	return strings.Map(func(r rune) rune {
		if r < 0x80 {
			if r < 0x20 && r != '\n' {
				return ' '
			}
			return r
		}
		if _, ok := charmap.Windows1252.EncodeRune(r); ok {
			return r
		}
		return '?'
	}, s)
}

func render(r Resolution, compress bool) ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	utf := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	tr := func(s string) string { return utf(toCP1252(s)) }
	stamp := r.Date.UTC()
	pdf.SetCreationDate(stamp)
	pdf.SetModificationDate(stamp)
	pdf.SetCatalogSort(true)
	pdf.SetCompression(compress)
	pdf.SetTitle(r.Title, true)
	pdf.SetAuthor(r.Header(), true)
	pdf.SetCreator("redengine", true)
	pdf.SetProducer("redengine (go-pdf/fpdf)", true)
	pdf.SetLang("es-ES")
	pdf.SetMargins(marginLeft, marginTop, marginRight)
	pdf.SetAutoPageBreak(true, marginBottom)
	pdf.AliasNbPages("{nb}")
	pageW, pageH := pdf.GetPageSize()
	textW := pageW - marginLeft - marginRight

	pdf.SetHeaderFunc(func() {
		pdf.SetY(14)
		pdf.SetFont(bodyFont, "B", 11)
		pdf.SetTextColor(0, 51, 102)
		pdf.CellFormat(textW, 5.5, tr(Issuer), "", 1, "L", false, 0, "")
		pdf.SetFont(bodyFont, "", 9.5)
		pdf.SetTextColor(60, 60, 60)
		sub := r.Body
		if r.Unit != "" {
			if sub != "" {
				sub += " · "
			}
			sub += r.Unit
		}
		pdf.CellFormat(textW, 5, tr(sub), "", 1, "L", false, 0, "")
		pdf.SetDrawColor(0, 51, 102)
		pdf.SetLineWidth(0.6)
		pdf.Line(marginLeft, 27, pageW-marginRight, 27)
		pdf.SetTextColor(0, 0, 0)
		pdf.SetY(marginTop)
	})
	pdf.SetFooterFunc(func() {
		y := pageH - marginBottom + 6
		pdf.SetDrawColor(150, 150, 150)
		pdf.SetLineWidth(0.2)
		pdf.Line(marginLeft, y, pageW-marginRight, y)
		pdf.SetY(y + 1.5)
		pdf.SetFont(bodyFont, "", 7.5)
		pdf.SetTextColor(80, 80, 80)
		if c := r.CodeLine(); c != "" {
			pdf.MultiCell(textW, 3.6, tr(c), "", "L", false)
		}
		pdf.CellFormat(textW, 4, tr(fmt.Sprintf("Página %d de {nb}", pdf.PageNo())), "", 0, "R", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})

	pdf.AddPage()
	// Title.
	pdf.SetFont(bodyFont, "B", 14)
	pdf.MultiCell(textW, 7, tr(r.Title), "", "C", false)
	pdf.Ln(4)
	// Reference box.
	if len(r.Reference) > 0 {
		pdf.SetFillColor(242, 245, 249)
		pdf.SetDrawColor(190, 200, 215)
		pdf.SetLineWidth(0.2)
		labelW := 0.0
		pdf.SetFont(bodyFont, "B", 9.5)
		for _, f := range r.Reference {
			labelW = max(labelW, pdf.GetStringWidth(tr(f.Label+":"))+3)
		}
		labelW = min(labelW, textW*0.45)
		for _, f := range r.Reference {
			pdf.SetFont(bodyFont, "B", 9.5)
			pdf.CellFormat(labelW, 5.5, tr(f.Label+":"), "", 0, "L", true, 0, "")
			pdf.SetFont(bodyFont, "", 9.5)
			pdf.MultiCell(textW-labelW, 5.5, tr(f.Value), "", "L", true)
		}
		pdf.Ln(4)
	}
	// Sections.
	for _, s := range r.Sections {
		pdf.SetFont(bodyFont, "B", 10.5)
		pdf.SetTextColor(0, 51, 102)
		pdf.MultiCell(textW, 6, tr(strings.ToUpper(s.Heading)), "", "L", false)
		pdf.SetTextColor(0, 0, 0)
		pdf.SetFont(bodyFont, "", 10)
		for _, p := range s.Paragraphs {
			pdf.MultiCell(textW, lineHeight, tr(p), "", "J", false)
			pdf.Ln(1.8)
		}
		pdf.Ln(2)
	}
	// Place, date and signature.
	pdf.Ln(2)
	pdf.SetFont(bodyFont, "", 10)
	pdf.MultiCell(textW, lineHeight, tr(r.DateLine()), "", "R", false)
	if len(r.Signature) > 0 {
		pdf.Ln(3)
		pdf.SetFont(bodyFont, "I", 9)
		for _, s := range r.Signature {
			pdf.MultiCell(textW, 4.6, tr(s), "", "C", false)
		}
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, errs.E(errs.Op("documents.Render"), errs.Internal, err)
	}
	return buf.Bytes(), nil
}
