// Package fier writes the FIER Excel workbook: the content of FIE 2.0 for a
// CCC and a date range, one row per worker and benefit process, with the
// columns grouped as FIE 2.0 (EMP, RZS, TRA, AYN, DAF, DIT, IT2, ITD, OIT,
// CIT, DIP, JUB, DOP, NAC) under two header rows.
//
// The workbook is written with excelize's stream writer and its zip output
// goes straight to the destination, so memory does not grow with the number
// of rows (beyond excelize's own 16 MiB stream buffer; past it rows go to a
// temporary file).
package fier

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/xuri/excelize/v2"

	"redengine/errs"
	"redengine/fie"
)

// SheetName is the name of the data sheet; QuerySheetName the sheet that
// records the query (CCC, dates, count).
const (
	SheetName      = "FIER"
	QuerySheetName = "Consulta"
)

// DateFormat is the number format of date cells.
const DateFormat = "dd/mm/yyyy"

// ContentType is the media type of the workbook, for the download response.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Meta describes the query the workbook answers. Every field is optional.
type Meta struct {
	CCC         string
	From, To    fie.Date
	GeneratedAt time.Time // when the download was generated (from the injected clock)
}

// FileName suggests a download name: FIER_<CCC>_<from>_<to>.xlsx, with the
// parts that are set (dates as yyyyMMdd).
func (m Meta) FileName() string {
	name := "FIER"
	if m.CCC != "" {
		name += "_" + m.CCC
	}
	if !m.From.IsZero() {
		name += "_" + m.From.FIE()
	}
	if !m.To.IsZero() {
		name += "_" + m.To.FIE()
	}
	return name + ".xlsx"
}

// Slice adapts a slice of records to the iterator WriteFIER takes.
func Slice(records []fie.Record) iter.Seq2[fie.Record, error] {
	return func(yield func(fie.Record, error) bool) {
		for _, r := range records {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// WriteFIER writes the FIER workbook for records to w and returns the number
// of data rows. Rows are written in the order the iterator yields them; an
// error from the iterator stops the export and is returned.
func WriteFIER(w io.Writer, records iter.Seq2[fie.Record, error], meta Meta) (int, error) {
	const op = errs.Op("fier.WriteFIER")
	f := excelize.NewFile()
	defer f.Close()
	n, err := writeBook(f, records, meta)
	if err != nil {
		return n, err
	}
	// Let excelize write its zip straight into w rather than into a buffer
	// holding the whole file.
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, compressor)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zw })
	if err := f.Write(io.Discard); err != nil {
		return n, errs.E(op, "no se pudo escribir el Excel FIER", err)
	}
	return n, nil
}

// flateWriters keeps deflate writers (about 1 MiB each) for reuse: a
// workbook has a dozen zip entries and a 300-row export would otherwise
// spend most of its allocations on them.
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.BestSpeed)
	return w
}}

type pooledFlate struct{ *flate.Writer }

func (p pooledFlate) Close() error {
	err := p.Writer.Close()
	p.Writer.Reset(io.Discard)
	flateWriters.Put(p.Writer)
	return err
}

func compressor(out io.Writer) (io.WriteCloser, error) {
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(out)
	return pooledFlate{w}, nil
}

type styles struct {
	group, header, date, money, integer int
}

func newStyles(f *excelize.File) (styles, error) {
	var s styles
	var err error
	border := []excelize.Border{
		{Type: "left", Color: "9BA7B4", Style: 1}, {Type: "right", Color: "9BA7B4", Style: 1},
		{Type: "top", Color: "9BA7B4", Style: 1}, {Type: "bottom", Color: "9BA7B4", Style: 1},
	}
	if s.group, err = f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E79"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"},
		Border:    border,
	}); err != nil {
		return s, err
	}
	if s.header, err = f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
		Border:    border,
	}); err != nil {
		return s, err
	}
	dateFmt := DateFormat
	if s.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return s, err
	}
	moneyFmt := "#,##0.00"
	if s.money, err = f.NewStyle(&excelize.Style{CustomNumFmt: &moneyFmt}); err != nil {
		return s, err
	}
	if s.integer, err = f.NewStyle(&excelize.Style{NumFmt: 1}); err != nil {
		return s, err
	}
	return s, nil
}

func writeBook(f *excelize.File, records iter.Seq2[fie.Record, error], meta Meta) (int, error) {
	const op = errs.Op("fier.WriteFIER")
	fail := func(err error) error { return errs.E(op, "no se pudo generar el Excel FIER", err) }
	if err := f.SetSheetName(f.GetSheetName(0), SheetName); err != nil {
		return 0, fail(err)
	}
	st, err := newStyles(f)
	if err != nil {
		return 0, fail(err)
	}
	sw, err := f.NewStreamWriter(SheetName)
	if err != nil {
		return 0, fail(err)
	}
	cols := columns
	// One <col> range per run of equal widths: the stream writer scans
	// these ranges for every cell it writes.
	for start := 0; start < len(cols); {
		end := start
		for end+1 < len(cols) && cols[end+1].Width == cols[start].Width {
			end++
		}
		if err := sw.SetColWidth(start+1, end+1, cols[start].Width); err != nil {
			return 0, fail(err)
		}
		start = end + 1
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 2, TopLeftCell: "A3", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A3", ActiveCell: "A3", Pane: "bottomLeft"}},
	}); err != nil {
		return 0, fail(err)
	}

	// Header rows: segment groups (merged), then field names.
	row := make([]any, len(cols))
	for i, c := range cols {
		row[i] = excelize.Cell{StyleID: st.group, Value: groupTitle(c.Group)}
	}
	if err := sw.SetRow("A1", row, excelize.RowOpts{Height: 20}); err != nil {
		return 0, fail(err)
	}
	for i, c := range cols {
		row[i] = excelize.Cell{StyleID: st.header, Value: c.Header}
	}
	if err := sw.SetRow("A2", row, excelize.RowOpts{Height: 45}); err != nil {
		return 0, fail(err)
	}
	for start := 0; start < len(cols); {
		end := start
		for end+1 < len(cols) && cols[end+1].Group == cols[start].Group {
			end++
		}
		if end > start {
			if err := sw.MergeCell(cellName(start, 1), cellName(end, 1)); err != nil {
				return 0, fail(err)
			}
		}
		start = end + 1
	}

	// Data rows.
	n := 0
	cells := make([]excelize.Cell, len(cols))
	memo := make([]cache, len(cols))
	var cur fie.Record // one copy for the whole export, not one per row
	for rec, err := range records {
		if err != nil {
			return n, errs.E(op, "no se pudieron leer los registros del FIER", err)
		}
		cur = rec
		for i := range cols {
			cells[i] = cols[i].cell(&cur, &st, &memo[i])
			if cells[i].Value == nil {
				row[i] = nil
			} else {
				row[i] = &cells[i]
			}
		}
		if err := sw.SetRow(cellName(0, n+3), row); err != nil {
			return n, fail(err)
		}
		n++
	}

	// The autofilter covers the field-name row and the data; set on the
	// stream's worksheet before Flush writes it.
	lastRow := n + 2
	if err := f.AutoFilter(SheetName, cellName(0, 2)+":"+cellName(len(cols)-1, lastRow), nil); err != nil {
		return n, fail(err)
	}
	if err := sw.Flush(); err != nil {
		return n, fail(err)
	}
	if err := writeQuerySheet(f, meta, n, st); err != nil {
		return n, fail(err)
	}
	// The data sheet stays the active one (index 0). SetActiveSheet is not
	// called: it would re-read every sheet, the streamed one included.
	title := "FIER"
	if meta.CCC != "" {
		title += " CCC " + meta.CCC
	}
	if !meta.From.IsZero() || !meta.To.IsZero() {
		title += fmt.Sprintf(" del %s al %s", meta.From, meta.To)
	}
	if err := f.SetDocProps(&excelize.DocProperties{
		Title: title, Subject: "Fichero INSS Empresas (FIE 2.0)", Creator: "redengine", Language: "es-ES",
	}); err != nil {
		return n, fail(err)
	}
	return n, nil
}

func writeQuerySheet(f *excelize.File, meta Meta, n int, st styles) error {
	if _, err := f.NewSheet(QuerySheetName); err != nil {
		return err
	}
	set := func(cell string, v any) error { return f.SetCellValue(QuerySheetName, cell, v) }
	rows := []struct {
		label string
		value any
		style int
	}{
		{"CCC", meta.CCC, 0},
		{"Desde", dateValue(meta.From), st.date},
		{"Hasta", dateValue(meta.To), st.date},
		{"Registros", n, st.integer},
		{"Generado (UTC)", timeValue(meta.GeneratedAt), 0},
	}
	for i, r := range rows {
		if err := set(fmt.Sprintf("A%d", i+1), r.label); err != nil {
			return err
		}
		if err := set(fmt.Sprintf("B%d", i+1), r.value); err != nil {
			return err
		}
		if r.style != 0 {
			if err := f.SetCellStyle(QuerySheetName, fmt.Sprintf("B%d", i+1), fmt.Sprintf("B%d", i+1), r.style); err != nil {
				return err
			}
		}
	}
	if err := f.SetCellStyle(QuerySheetName, "A1", fmt.Sprintf("A%d", len(rows)), st.header); err != nil {
		return err
	}
	if err := f.SetColWidth(QuerySheetName, "A", "A", 18); err != nil {
		return err
	}
	return f.SetColWidth(QuerySheetName, "B", "B", 22)
}

func dateValue(d fie.Date) any {
	if d.IsZero() {
		return ""
	}
	return excelSerial(d)
}

func timeValue(t time.Time) any {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// excelSerial is the Excel (1900 system) serial number of a date: days since
// 1899-12-30, correct from 1900-03-01 on.
func excelSerial(d fie.Date) float64 {
	const unixEpochSerial = 25569 // 1970-01-01
	return float64(d.Time().Unix()/86400 + unixEpochSerial)
}

var firstExcelDate = fie.D(1900, time.March, 1)

func cellName(col0, row int) string {
	name, _ := excelize.CoordinatesToCellName(col0+1, row)
	return name
}
