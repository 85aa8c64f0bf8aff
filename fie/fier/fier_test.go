package fier_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"redengine/fie"
	"redengine/fie/fier"
	"redengine/fie/fietest"
)

// roundTrip generates a FIE file, parses it, exports it and opens the
// workbook.
func roundTrip(t *testing.T) ([]fie.Record, *excelize.File, []byte) {
	t.Helper()
	var src bytes.Buffer
	if err := fietest.Generate(&src, 3, 4, 5, 42); err != nil {
		t.Fatal(err)
	}
	file, err := fie.Parse(&src)
	if err != nil {
		t.Fatal(err)
	}
	recs := file.Records()
	var out bytes.Buffer
	meta := fier.Meta{CCC: recs[0].CCC, From: fie.D(2021, 1, 1), To: fie.D(2021, 1, 17),
		GeneratedAt: time.Date(2021, 9, 20, 10, 30, 0, 0, time.UTC)}
	n, err := fier.WriteFIER(&out, fier.Slice(recs), meta)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(recs) || n != 60 {
		t.Fatalf("wrote %d rows for %d records", n, len(recs))
	}
	x, err := excelize.OpenReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return recs, x, out.Bytes()
}

func colOf(t *testing.T, header string) string {
	t.Helper()
	for i, c := range fier.Columns() {
		if c.Header == header {
			name, _ := excelize.ColumnNumberToName(i + 1)
			return name
		}
	}
	t.Fatalf("no column %q", header)
	return ""
}

func TestHeaderRows(t *testing.T) {
	_, x, _ := roundTrip(t)
	cols := fier.Columns()
	rows, err := x.GetRows(fier.SheetName)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 62 {
		t.Fatalf("%d rows, want 2 header rows + 60", len(rows))
	}
	for i, c := range cols {
		if rows[1][i] != c.Header {
			t.Errorf("header %d = %q, want %q", i, rows[1][i], c.Header)
		}
	}
	// Row 1: one merged cell per group, in FIE 2.0 order, spanning its columns.
	merged, err := x.GetMergeCells(fier.SheetName)
	if err != nil {
		t.Fatal(err)
	}
	byStart := map[string]excelize.MergeCell{}
	for _, m := range merged {
		byStart[m.GetStartAxis()] = m
	}
	var groups []string
	for i := 0; i < len(cols); {
		j := i
		for j+1 < len(cols) && cols[j+1].Group == cols[i].Group {
			j++
		}
		groups = append(groups, cols[i].Group)
		start, _ := excelize.CoordinatesToCellName(i+1, 1)
		end, _ := excelize.CoordinatesToCellName(j+1, 1)
		v, _ := x.GetCellValue(fier.SheetName, start)
		if !strings.HasPrefix(v, cols[i].Group+" - ") {
			t.Errorf("group cell %s = %q", start, v)
		}
		if j > i {
			if m, ok := byStart[start]; !ok || m.GetEndAxis() != end {
				t.Errorf("group %s not merged over %s:%s", cols[i].Group, start, end)
			}
		}
		i = j + 1
	}
	want := "EMP RZS TRA AYN DAF DIT IT2 ITD OIT CIT DIP JUB DOP NAC"
	if got := strings.Join(groups, " "); got != want {
		t.Errorf("groups %q, want %q", got, want)
	}
}

func TestValuesDatesAndDescriptions(t *testing.T) {
	recs, x, _ := roundTrip(t)
	get := func(header string, row int) string {
		v, err := x.GetCellValue(fier.SheetName, fmt.Sprintf("%s%d", colOf(t, header), row))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	raw := func(header string, row int) string {
		v, err := x.GetCellValue(fier.SheetName, fmt.Sprintf("%s%d", colOf(t, header), row), excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var sawITD, sawCIT, sawEnd bool
	for i, r := range recs {
		row := i + 3
		for header, want := range map[string]string{
			"Régimen": r.Regimen, "CCC": r.CCC, "Razón social": r.CompanyName, "NAF": r.NAF, "IPF": r.IPF,
			"Primer apellido": r.Surname1, "Segundo apellido": r.Surname2, "Nombre": r.Name,
			"Entidad responsable":         r.DIT.ResponsibleEntity,
			"Contingencia":                string(r.DIT.Contingency) + " - " + r.DIT.Contingency.Description(),
			"Fecha de baja médica":        fmt.Sprintf("%02d/%02d/%04d", r.DIT.Start.Day, int(r.DIT.Start.Month), r.DIT.Start.Year),
			"Días acumulados":             strconv.Itoa(r.DIT.AccumulatedDays),
			"Fecha de alta en la empresa": "", "Fecha del AT/EP": "", "Grado de incapacidad permanente": "",
			"Fecha de fin del descanso": "",
		} {
			if got := get(header, row); got != want {
				t.Errorf("row %d %s = %q, want %q", row, header, got, want)
			}
		}
		// A date is a number formatted as a date, not a string.
		cell := fmt.Sprintf("%s%d", colOf(t, "Fecha de baja médica"), row)
		typ, _ := x.GetCellType(fier.SheetName, cell)
		if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
			t.Errorf("%s type %v, want a number", cell, typ)
		}
		serial, err := strconv.ParseFloat(raw("Fecha de baja médica", row), 64)
		if err != nil || serial < 40000 {
			t.Fatalf("%s raw value %q is not a date serial", cell, raw("Fecha de baja médica", row))
		}
		if got := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(serial)); fie.DateOf(got) != r.DIT.Start {
			t.Errorf("%s serial %v is %v, want %v", cell, serial, got, r.DIT.Start)
		}
		styleID, _ := x.GetCellStyle(fier.SheetName, cell)
		style, err := x.GetStyle(styleID)
		if err != nil || style.CustomNumFmt == nil || *style.CustomNumFmt != fier.DateFormat {
			t.Errorf("%s style %+v is not the date format", cell, style)
		}
		if c := r.DIT.Carencia; c != "" {
			if got := get("Carencia", row); got != string(c)+" - "+c.Description() {
				t.Errorf("carencia %q", got)
			}
		}
		if got := get("Recaída", row); got != string(r.DIT.Relapse)+" - "+r.DIT.Relapse.Description() {
			t.Errorf("recaída %q", got)
		}
		if !r.DIT.End.IsZero() {
			sawEnd = true
			if get("Causa de alta", row) != r.DIT.EndCause || get("Fecha de alta médica", row) == "" {
				t.Errorf("row %d: alta not exported", row)
			}
		} else if get("Fecha de alta médica", row) != "" {
			t.Errorf("row %d: empty date exported", row)
		}
		if r.ITD != nil {
			sawITD = true
			want := fmt.Sprintf("%.2f", float64(r.ITD.BaseReguladoraCents)/100)
			if v, _ := strconv.ParseFloat(raw("Base reguladora (€)", row), 64); fmt.Sprintf("%.2f", v) != want {
				t.Errorf("base reguladora %v, want %s", v, want)
			}
		} else if get("Fecha de inicio del pago directo", row) != "" {
			t.Errorf("row %d: ITD columns filled without ITD", row)
		}
		if r.CIT != nil {
			sawCIT = true
			if get("Número del parte de confirmación", row) != strconv.Itoa(r.CIT.Number) {
				t.Errorf("CIT number")
			}
		}
	}
	if !sawITD || !sawCIT || !sawEnd {
		t.Fatalf("generated data lacks ITD (%v), CIT (%v) or alta (%v)", sawITD, sawCIT, sawEnd)
	}
}

func TestFrozenHeaderAutofilterWidths(t *testing.T) {
	_, x, raw := roundTrip(t)
	panes, err := x.GetPanes(fier.SheetName)
	if err != nil || !panes.Freeze || panes.YSplit != 2 || panes.TopLeftCell != "A3" {
		t.Fatalf("panes %+v %v", panes, err)
	}
	last, _ := excelize.ColumnNumberToName(len(fier.Columns()))
	wantRef := "A2:" + last + "62"
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var sheetXML []byte
	for _, zf := range zr.File {
		if zf.Name == "xl/worksheets/sheet1.xml" {
			rc, _ := zf.Open()
			sheetXML, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	if m := regexp.MustCompile(`<autoFilter ref="([^"]+)"`).FindSubmatch(sheetXML); m == nil || strings.ReplaceAll(string(m[1]), "$", "") != wantRef {
		t.Fatalf("autofilter %q, want %s", m, wantRef)
	}
	names := x.GetDefinedName()
	found := false
	for _, n := range names {
		found = found || n.Name == "_xlnm._FilterDatabase" && strings.HasSuffix(n.RefersTo, "$A$2:$"+last+"$62")
	}
	if !found {
		t.Errorf("no filter database name: %+v", names)
	}
	for i, c := range fier.Columns() {
		name, _ := excelize.ColumnNumberToName(i + 1)
		if w, _ := x.GetColWidth(fier.SheetName, name); w != c.Width || w < 8 {
			t.Errorf("column %s width %v, want %v", name, w, c.Width)
		}
	}
	// The query sheet.
	if v, _ := x.GetCellValue(fier.QuerySheetName, "B4"); v != "60" {
		t.Errorf("query sheet count %q", v)
	}
	if v, _ := x.GetCellValue(fier.QuerySheetName, "B2"); v != "01/01/2021" {
		t.Errorf("query sheet from %q", v)
	}
	if x.GetActiveSheetIndex() != 0 {
		t.Error("data sheet is not the active one")
	}
}

func TestNoRecordsAndIteratorFailure(t *testing.T) {
	var out bytes.Buffer
	n, err := fier.WriteFIER(&out, fier.Slice(nil), fier.Meta{})
	if err != nil || n != 0 {
		t.Fatalf("%d %v", n, err)
	}
	x, err := excelize.OpenReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows(fier.SheetName)
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	x.Close()

	boom := errors.New("read model unavailable")
	var failing iter.Seq2[fie.Record, error] = func(yield func(fie.Record, error) bool) {
		yield(fie.Record{}, boom)
	}
	if _, err := fier.WriteFIER(io.Discard, failing, fier.Meta{}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

// The manual documents every column.
func TestManualListsEveryColumn(t *testing.T) {
	doc, err := os.ReadFile("../../docs/fier.md")
	if err != nil {
		t.Skip("docs/fier.md not present")
	}
	for _, c := range fier.Columns() {
		if !bytes.Contains(doc, []byte("| "+c.Group+" | "+c.Header+" |")) {
			t.Errorf("docs/fier.md lacks the row for %s / %s", c.Group, c.Header)
		}
	}
}

func TestFileName(t *testing.T) {
	m := fier.Meta{CCC: "28123456742", From: fie.D(2021, 3, 1), To: fie.D(2021, 3, 17)}
	if got := m.FileName(); got != "FIER_28123456742_20210301_20210317.xlsx" {
		t.Fatal(got)
	}
	if got := (fier.Meta{}).FileName(); got != "FIER.xlsx" {
		t.Fatal(got)
	}
}

// Exports may run at the same time (several downloads at once).
func TestConcurrentExports(t *testing.T) {
	var recs []fie.Record
	for r := range fietest.Records(120, 40, 9) {
		recs = append(recs, r)
	}
	var want []byte
	errc := make(chan error, 4)
	outs := make([]bytes.Buffer, 4)
	for i := range outs {
		go func() {
			_, err := fier.WriteFIER(&outs[i], fier.Slice(recs), fier.Meta{CCC: recs[0].CCC})
			errc <- err
		}()
	}
	for range outs {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	for i := range outs {
		x, err := excelize.OpenReader(bytes.NewReader(outs[i].Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := x.GetRows(fier.SheetName)
		x.Close()
		if len(rows) != 122 {
			t.Fatalf("export %d: %d rows", i, len(rows))
		}
		got := []byte(fmt.Sprint(rows))
		if want == nil {
			want = got
		} else if !bytes.Equal(got, want) {
			t.Fatalf("export %d differs", i)
		}
	}
}
