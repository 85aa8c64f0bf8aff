package fie_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"redengine/errs"
	"redengine/fie"
	"redengine/fie/fietest"
)

// Hand-written lines of a valid file; offsets as in the reference (§6).
const (
	lETI = "ETI20210308"
	lEMP = "EMP0111" + "28123456742"
	lDIT = "DIT" + "001" + "20210301" + "N" + "20210301" + "00000000" + "0000" + "00000000" + "  " +
		"3" + "S" + "2" + "0015" + "00000000" + "  " + "20210316" + "01" + "N"
	lITD = "ITD" + "20210320" + "061" + "072" + "20210320" + "00000000" + "00000123456"
	lOIT = "OIT" + "20210305" + "20210306" + "04" + "00000000" + "  " + "00000000" + "  " + "  " + "S" +
		"                " + "20210401"
	lCIT = "CIT" + "20210310" + "02"
)

func pad(s string, n int) string {
	return s + strings.Repeat(" ", n-len([]rune(s)))
}

var (
	lRZS  = "RZS  " + pad("TALLERES PEÑA S.L.", 55)
	lTRA  = "TRA" + "281234567840" + "    " + pad("1012345678Z", 14)
	lAYN  = "AYN" + pad("MUÑOZ", 20) + pad("GARCÍA", 20) + pad("IÑAKI", 15)
	lEMP2 = "EMP0521" + "23123456750"
	lRZS2 = "RZS  " + pad("TRANSPORTES IBÉRICA S.A.", 55)
	lTRA2 = "TRA" + "280123456742" + "    " + pad("10X1234567L", 14)
	lAYN2 = "AYN" + pad("LÓPEZ", 20) + pad("", 20) + pad("ANA", 15)
	lDIT2 = "DITINS" + "20210115" + "S" + "20201101" + "20201101" + "0042" + "00000000" + "  " +
		"1" + "P" + "4" + "0090" + "20210201" + "03" + "00000000" + "  " + "N"
)

// doc wraps body lines with ETI and a right ETF.
func doc(body ...string) string {
	lines := append([]string{lETI}, body...)
	lines = append(lines, fmt.Sprintf("ETF%09d", len(lines)+1))
	return strings.Join(lines, "\n") + "\n"
}

// put overwrites s at character offset at.
func put(line string, at int, s string) string {
	r := []rune(line)
	copy(r[at:], []rune(s))
	return string(r)
}

func validDoc() string {
	return doc(lEMP, lRZS, lTRA, lAYN, lDIT, lITD, lOIT, lCIT, lEMP2, lRZS2, lTRA2, lAYN2, lDIT2, lTRA, lAYN)
}

func TestParseEverySegment(t *testing.T) {
	f, err := fie.Parse(strings.NewReader(validDoc()))
	if err != nil {
		t.Fatal(err)
	}
	want := &fie.File{
		Date: fie.D(2021, time.March, 8),
		Companies: []fie.Company{
			{Regimen: "0111", CCC: "28123456742", Name: "TALLERES PEÑA S.L.", Workers: []fie.Worker{{
				NAF: "281234567840", IPF: "1012345678Z", Surname1: "MUÑOZ", Surname2: "GARCÍA", Name: "IÑAKI",
				Benefits: []fie.Benefit{{
					Kind: fie.KindIT,
					DIT: fie.DIT{
						ResponsibleEntity: "001", Start: fie.D(2021, 3, 1), Relapse: fie.No, ProcessStart: fie.D(2021, 3, 1),
						Contingency: fie.AccidenteTrabajo, Carencia: fie.CarenciaAcreditada, ProcessType: "2", EstimatedDays: 15,
						End: fie.D(2021, 3, 16), EndCause: "01", Annulled: fie.No,
					},
					ITD: &fie.ITD{Start: fie.D(2021, 3, 20), InitiatingEntity: "061", CurrentEntity: "072",
						EntityPaymentStart: fie.D(2021, 3, 20), BaseReguladoraCents: 123456},
					OIT: &fie.OIT{ReviewStart: fie.D(2021, 3, 5), Cause1Date: fie.D(2021, 3, 6), Cause1: "04",
						Art1702: fie.Si, CertificateDate: fie.D(2021, 4, 1)},
					CIT: &fie.CIT{Date: fie.D(2021, 3, 10), Number: 2},
				}},
			}}},
			{Regimen: "0521", CCC: "23123456750", Name: "TRANSPORTES IBÉRICA S.A.", Workers: []fie.Worker{
				{NAF: "280123456742", IPF: "10X1234567L", Surname1: "LÓPEZ", Name: "ANA", Benefits: []fie.Benefit{{
					Kind: fie.KindIT,
					DIT: fie.DIT{
						ResponsibleEntity: "INS", Start: fie.D(2021, 1, 15), Relapse: fie.Si, ProcessStart: fie.D(2020, 11, 1),
						PreviousProcess: fie.D(2020, 11, 1), AccumulatedDays: 42, Contingency: fie.EnfermedadComun,
						Carencia: fie.CarenciaConsultar, ProcessType: "4", EstimatedDays: 90,
						PagoDelegadoEnd: fie.D(2021, 2, 1), PagoDelegadoEndCause: "03", Annulled: fie.No,
					},
				}}},
				{NAF: "281234567840", IPF: "1012345678Z", Surname1: "MUÑOZ", Surname2: "GARCÍA", Name: "IÑAKI"},
			}},
		},
	}
	if !reflect.DeepEqual(f, want) {
		gotJSON, _ := json.MarshalIndent(f, "", " ")
		wantJSON, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("parsed file differs\ngot:  %s\nwant: %s", gotJSON, wantJSON)
	}
	if c, w, r := f.Counts(); c != 2 || w != 3 || r != 2 {
		t.Errorf("counts = %d, %d, %d", c, w, r)
	}
	recs := f.Records()
	if len(recs) != 2 || recs[0].Key().String() != "28123456742/281234567840/IT/2021-03-01" {
		t.Fatalf("records = %+v", recs)
	}
	if recs[1].CompanyName != "TRANSPORTES IBÉRICA S.A." || recs[1].Surname1 != "LÓPEZ" {
		t.Errorf("flattening lost company or worker: %+v", recs[1])
	}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			t.Errorf("parsed record does not validate: %v", err)
		}
	}
}

func TestFormatIsInverseOfParse(t *testing.T) {
	in := validDoc()
	f, err := fie.Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := fie.Format(&out, f); err != nil {
		t.Fatal(err)
	}
	if out.String() != in {
		t.Fatalf("Format(Parse(x)) != x\n got: %q\nwant: %q", out.String(), in)
	}
}

func TestParseTolerances(t *testing.T) {
	cases := map[string]string{
		"CRLF line ends":           strings.ReplaceAll(validDoc(), "\n", "\r\n"),
		"UTF-8 BOM":                "\xEF\xBB\xBF" + validDoc(),
		"no final newline":         strings.TrimSuffix(validDoc(), "\n"),
		"trailing text spaces cut": doc(lEMP, strings.TrimRight(lRZS, " "), strings.TrimRight(lTRA, " "), strings.TrimRight(lAYN, " "), lDIT),
		"lines padded with spaces": doc(lEMP+"      ", lRZS+"   ", lTRA, lAYN, lDIT+strings.Repeat(" ", 100)),
		"worker without benefits":  doc(lEMP, lRZS, lTRA, lAYN),
		"company without workers":  doc(lEMP, lRZS),
		"no companies":             doc(),
		"blank carencia":           doc(lEMP, lRZS, lTRA, lAYN, put(lDIT, 46, " ")),
		"OIT art. 170.2 blank":     doc(lEMP, lRZS, lTRA, lAYN, lDIT, put(lOIT, 43, " ")),
		"segments in any order":    doc(lEMP, lRZS, lTRA, lAYN, lDIT, lCIT, lOIT, lITD),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := fie.Parse(strings.NewReader(in)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type wantErr struct {
	line    int
	segment string
	field   string
	reason  string // substring
}

func TestParseErrors(t *testing.T) {
	base := func(body ...string) string {
		return doc(append([]string{lEMP, lRZS, lTRA, lAYN}, body...)...)
	}
	cases := []struct {
		name string
		in   string
		want wantErr
	}{
		{"empty file", "", wantErr{0, "ETI", "", "fichero vacío"}},
		{"missing ETI", strings.TrimPrefix(validDoc(), lETI+"\n"), wantErr{1, "EMP", "", "debe empezar por el segmento ETI"}},
		{"missing ETF", strings.Join([]string{lETI, lEMP, lRZS}, "\n") + "\n", wantErr{3, "ETF", "", "falta el segmento ETF"}},
		{"ETI repeated", doc(lETI), wantErr{2, "ETI", "", "ETI repetido"}},
		{"ETI bad date", strings.Replace(doc(), lETI, "ETI20211301", 1), wantErr{1, "ETI", "date", "no existe"}},
		{"ETF wrong count", lETI + "\nETF000000007\n", wantErr{2, "ETF", "lines", "declara 7 líneas y el fichero tiene 2"}},
		{"ETF count not digits", lETI + "\nETF00000000X\n", wantErr{2, "ETF", "lines", "se esperan 9 dígitos"}},
		{"content after ETF", doc() + lEMP + "\n", wantErr{3, "EMP", "", "contenido después de ETF"}},
		{"blank line", doc(lEMP, "", lRZS), wantErr{3, "", "", "línea vacía"}},
		{"unknown segment", base("XYZ123"), wantErr{6, "", "", "segmento «XYZ» desconocido"}},
		{"lower-case tag", base(strings.ToLower(lDIT[:3]) + lDIT[3:]), wantErr{6, "", "", "desconocido"}},
		{"line under 3 chars", base("DI"), wantErr{6, "", "", "falta el identificador"}},
		{"invalid UTF-8", doc(lEMP, lRZS, lTRA, "AYN\xd1U\xd1OZ"+strings.Repeat(" ", 50)), wantErr{5, "", "", "no es texto UTF-8 válido (byte 4)"}},
		{"line too long", base(lDIT + strings.Repeat("X", 5000)), wantErr{6, "", "", "línea de más de 4096"}},
		{"short DIT", base(lDIT[:50]), wantErr{6, "DIT", "", "línea corta: 50 caracteres; el segmento DIT ocupa 73"}},
		{"short EMP", doc(lEMP[:15], lRZS), wantErr{2, "EMP", "", "línea corta"}},
		{"content past the layout", base(lDIT + "  X"), wantErr{6, "DIT", "", "contenido inesperado a partir de la posición 74"}},
		{"EMP missing before TRA", doc(lTRA, lAYN, lDIT), wantErr{2, "TRA", "", "TRA sin EMP previo"}},
		{"RZS without EMP", doc(lRZS), wantErr{2, "RZS", "", "RZS sin EMP previo"}},
		{"RZS missing", doc(lEMP, lTRA, lAYN), wantErr{3, "TRA", "", "falta el segmento RZS de la empresa de la línea 2"}},
		{"RZS twice", doc(lEMP, lRZS, lRZS), wantErr{4, "RZS", "", "RZS fuera de lugar"}},
		{"AYN missing", doc(lEMP, lRZS, lTRA, lDIT), wantErr{5, "DIT", "", "falta el segmento AYN del trabajador de la línea 4"}},
		{"AYN without TRA", doc(lEMP, lRZS, lAYN), wantErr{4, "AYN", "", "AYN sin TRA previo"}},
		{"DIT without TRA", doc(lEMP, lRZS, lDIT), wantErr{4, "DIT", "", "DIT sin TRA previo"}},
		{"ITD without DIT", base(lITD), wantErr{6, "ITD", "", "ITD sin DIT previo"}},
		{"ITD after a new TRA", base(lDIT, lTRA2, lAYN2, lITD), wantErr{9, "ITD", "", "ITD sin DIT previo"}},
		{"ITD repeated", base(lDIT, lITD, lITD), wantErr{8, "ITD", "", "ITD repetido"}},
		{"OIT repeated", base(lDIT, lOIT, lOIT), wantErr{8, "OIT", "", "OIT repetido"}},
		{"CIT repeated", base(lDIT, lCIT, lCIT), wantErr{8, "CIT", "", "CIT repetido"}},
		{"régimen not digits", doc(put(lEMP, 3, "01A1"), lRZS), wantErr{2, "EMP", "regimen", "se esperan 4 dígitos"}},
		{"CCC bad control digits", doc(put(lEMP, 16, "43"), lRZS), wantErr{2, "EMP", "ccc", "dígitos de control 43, deberían ser 42"}},
		{"CCC not digits", doc(put(lEMP, 8, "8A"), lRZS), wantErr{2, "EMP", "ccc", "se esperan 11 dígitos"}},
		{"CCC bad province", doc("EMP0111"+fietest.CCC(60, 1234567), lRZS), wantErr{2, "EMP", "ccc", "provincia 60"}},
		{"CCC repeated", doc(lEMP, lRZS, lEMP, lRZS), wantErr{4, "EMP", "ccc", "repetido: la empresa ya empezó en la línea 2"}},
		{"company name blank", doc(lEMP, "RZS"+strings.Repeat(" ", 57)), wantErr{3, "RZS", "name", "obligatorio"}},
		{"control character in name", doc(lEMP, put(lRZS, 8, "\t")), wantErr{3, "RZS", "name", "caracteres de control"}},
		{"NAF bad control digits", doc(lEMP, lRZS, put(lTRA, 13, "85"), lAYN), wantErr{4, "TRA", "naf", "dígitos de control 85, deberían ser 40"}},
		{"NAF repeated in company", base(lDIT, lTRA, lAYN), wantErr{7, "TRA", "naf", "repetido en la misma empresa"}},
		{"IPF blank", doc(lEMP, lRZS, put(lTRA, 19, strings.Repeat(" ", 14)), lAYN), wantErr{4, "TRA", "ipf", "obligatorio"}},
		{"IPF lower case", doc(lEMP, lRZS, put(lTRA, 19, "10abc"), lAYN), wantErr{4, "TRA", "ipf", "mayúsculas"}},
		{"first surname blank", doc(lEMP, lRZS, lTRA, put(lAYN, 3, strings.Repeat(" ", 20))), wantErr{5, "AYN", "surname1", "obligatorio"}},
		{"AYN cut before the name", doc(lEMP, lRZS, lTRA, lAYN[:40]), wantErr{5, "AYN", "", "línea corta"}},
		{"entity lower case", base(put(lDIT, 3, "ab1")), wantErr{6, "DIT", "responsibleEntity", "mayúsculas o dígitos"}},
		{"start date 00000000", base(put(lDIT, 6, "00000000")), wantErr{6, "DIT", "startDate", "obligatoria"}},
		{"start date 30 February", base(put(lDIT, 6, "20210230")), wantErr{6, "DIT", "startDate", "«20210230» no existe"}},
		{"start date not digits", base(put(lDIT, 6, "2021-3-1")), wantErr{6, "DIT", "startDate", "8 dígitos"}},
		{"start date blank", base(put(lDIT, 6, "        ")), wantErr{6, "DIT", "startDate", "8 dígitos"}},
		{"process date month 13", base(put(lDIT, 15, "20211301")), wantErr{6, "DIT", "processStartDate", "no existe"}},
		{"year before 1900", base(put(lDIT, 23, "18991231")), wantErr{6, "DIT", "previousProcessDate", "no existe"}},
		{"relapse not S/N", base(put(lDIT, 14, "X")), wantErr{6, "DIT", "relapse", "se espera S o N"}},
		{"relapse blank", base(put(lDIT, 14, " ")), wantErr{6, "DIT", "relapse", "se espera S o N"}},
		{"days not digits", base(put(lDIT, 31, "00a1")), wantErr{6, "DIT", "accumulatedDays", "se esperan 4 dígitos"}},
		{"cause one digit", base(put(lDIT, 43, " 1")), wantErr{6, "DIT", "nonExistentCause", "se esperan 2 dígitos o blanco"}},
		{"contingency 7", base(put(lDIT, 45, "7")), wantErr{6, "DIT", "contingency", "contingencia «7» no válida"}},
		{"contingency blank", base(put(lDIT, 45, " ")), wantErr{6, "DIT", "contingency", "no válida"}},
		{"carencia X", base(put(lDIT, 46, "X")), wantErr{6, "DIT", "carencia", "carencia «X» no válida"}},
		{"process type 9", base(put(lDIT, 47, "9")), wantErr{6, "DIT", "processType", "tipo de proceso «9»"}},
		{"estimated days not digits", base(put(lDIT, 48, "15  ")), wantErr{6, "DIT", "estimatedDays", "4 dígitos"}},
		{"alta before baja", base(put(lDIT, 62, "20210228")), wantErr{6, "DIT", "endDate", "anterior a la fecha de baja"}},
		{"annulled not S/N", base(put(lDIT, 72, "s")), wantErr{6, "DIT", "annulled", "se espera S o N"}},
		{"process repeated", base(lDIT, lDIT), wantErr{7, "DIT", "startDate", "proceso repetido"}},
		{"ITD start missing", base(lDIT, put(lITD, 3, "00000000")), wantErr{7, "ITD", "startDate", "obligatoria"}},
		{"ITD base not digits", base(lDIT, put(lITD, 33, "0000012345,")), wantErr{7, "ITD", "baseReguladoraCents", "11 dígitos"}},
		{"OIT art. 170.2 X", base(lDIT, put(lOIT, 43, "X")), wantErr{7, "OIT", "art1702", "S o N o blanco"}},
		{"OIT certificate bad date", base(lDIT, put(lOIT, 60, "20210431")), wantErr{7, "OIT", "medicalCertificateDate", "no existe"}},
		{"CIT date missing", base(lDIT, put(lCIT, 3, "00000000")), wantErr{7, "CIT", "date", "obligatoria"}},
		{"CIT number not digits", base(lDIT, put(lCIT, 11, "A1")), wantErr{7, "CIT", "number", "2 dígitos"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fie.Parse(strings.NewReader(tc.in))
			if tc.want == (wantErr{}) {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			pe := parseError(t, err)
			for _, le := range pe.Errors {
				if le.Line == tc.want.line && le.Segment == tc.want.segment && le.Field == tc.want.field &&
					strings.Contains(le.Reason, tc.want.reason) {
					return
				}
			}
			t.Fatalf("want %+v among %+v", tc.want, pe.Errors)
		})
	}
}

func parseError(t *testing.T, err error) *fie.ParseError {
	t.Helper()
	if err == nil {
		t.Fatal("file accepted, want it refused")
	}
	var pe *fie.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %v is not *fie.ParseError", err, err)
	}
	if !errs.Is(errs.Invalid, err) {
		t.Fatalf("kind = %v, want invalid", errs.KindOf(err))
	}
	return pe
}

func TestRefusedFileCollectsEveryError(t *testing.T) {
	in := doc(
		lEMP, lRZS, // 2, 3
		put(lTRA, 13, "85"), lAYN, // 4: bad NAF
		put(put(lDIT, 45, "7"), 6, "20210230"), // 6: two errors on one line
		lITD, lITD,                             // 8: repeated
		"FOO",                    // 9
		lEMP,                     // 10: CCC repeated; RZS missing at 11
		lTRA2, lAYN2, lDIT2[:60], // 11, 12, 13 short
	)
	_, err := fie.Parse(strings.NewReader(in))
	pe := parseError(t, err)
	want := []struct {
		line         int
		segment, fld string
	}{
		{4, "TRA", "naf"},
		{6, "DIT", "startDate"},
		{6, "DIT", "contingency"},
		{8, "ITD", ""},
		{9, "", ""},
		{10, "EMP", "ccc"},
		{11, "TRA", ""},
		{13, "DIT", ""},
	}
	if len(pe.Errors) != len(want) {
		t.Fatalf("got %d errors, want %d: %+v", len(pe.Errors), len(want), pe.Errors)
	}
	for i, w := range want {
		got := pe.Errors[i]
		if got.Line != w.line || got.Segment != w.segment || got.Field != w.fld || got.Reason == "" {
			t.Errorf("error %d = %+v, want line %d %s.%s", i, got, w.line, w.segment, w.fld)
		}
	}
	if !strings.Contains(pe.Error(), "8 errores") {
		t.Errorf("Error() = %q", pe.Error())
	}
	if f := pe.Fields(); len(f) != 8 || f[0].Field != "línea 4 TRA.naf" {
		t.Errorf("Fields() = %+v", f)
	}
}

func TestParseErrorListIsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(lETI + "\n")
	for i := 0; i < fie.MaxErrors+50; i++ {
		b.WriteString("XXX\n")
	}
	_, err := fie.Parse(strings.NewReader(b.String()))
	pe := parseError(t, err)
	if !pe.Truncated || len(pe.Errors) != fie.MaxErrors+1 {
		t.Fatalf("truncated=%v len=%d", pe.Truncated, len(pe.Errors))
	}
}

func TestParseRecordsStreamsTheSameRecords(t *testing.T) {
	var buf bytes.Buffer
	if err := fietest.Generate(&buf, 3, 4, 5, 7); err != nil {
		t.Fatal(err)
	}
	f, err := fie.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var got []fie.Record
	if err := fie.ParseRecords(bytes.NewReader(buf.Bytes()), func(r fie.Record) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := f.Records(); !reflect.DeepEqual(got, want) || len(got) != 60 {
		t.Fatalf("streamed %d records, parsed %d; equal=%v", len(got), len(want), reflect.DeepEqual(got, want))
	}
	sum, err := fie.ParseStream(bytes.NewReader(buf.Bytes()), func(fie.Record) error { return nil })
	if c, w, r := f.Counts(); err != nil || sum != (fie.Summary{Date: f.Date, Companies: c, Workers: w, Records: r}) {
		t.Fatalf("summary %+v, %v", sum, err)
	}

	// A callback error stops the parse and comes back as is.
	stop := errors.New("stop")
	n := 0
	err = fie.ParseRecords(bytes.NewReader(buf.Bytes()), func(fie.Record) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("err = %v after %d records", err, n)
	}

	// A malformed line stops the records and refuses the file.
	bad := validDoc()
	bad = strings.Replace(bad, lEMP2, put(lEMP2, 16, "00"), 1)
	n = 0
	err = fie.ParseRecords(strings.NewReader(bad), func(fie.Record) error { n++; return nil })
	parseError(t, err)
	if n != 1 {
		t.Fatalf("got %d records before the error, want the 1 completed before it", n)
	}
}

type failingReader struct{ after io.Reader }

func (r failingReader) Read(p []byte) (int, error) {
	n, err := r.after.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestParseReadFailure(t *testing.T) {
	_, err := fie.Parse(failingReader{strings.NewReader(lETI + "\n")})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	var pe *fie.ParseError
	if errors.As(err, &pe) {
		t.Fatal("a read failure is not a refusal of the file")
	}
}

func TestHash(t *testing.T) {
	in := validDoc()
	h1, err := fie.Hash(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if h1 != fie.HashBytes([]byte(in)) || len(h1) != 64 {
		t.Fatalf("hash %q", h1)
	}
	if h2 := fie.HashBytes([]byte(in + " ")); h2 == h1 {
		t.Fatal("different files, same hash")
	}
}

func TestParseHashed(t *testing.T) {
	in := validDoc()
	f, hash, size, err := fie.ParseHashed(iotest.OneByteReader(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fie.Parse(strings.NewReader(in))
	if hash != fie.HashBytes([]byte(in)) || size != int64(len(in)) || !reflect.DeepEqual(f, want) {
		t.Errorf("hash %s size %d (want %s, %d); same file as Parse: %v", hash, size, fie.HashBytes([]byte(in)), len(in), reflect.DeepEqual(f, want))
	}
	if _, _, _, err := fie.ParseHashed(strings.NewReader(strings.Replace(in, "\nDIT", "\nDIX", 1))); !errors.As(err, new(*fie.ParseError)) {
		t.Errorf("malformed file: %v", err)
	}
	if _, _, _, err := fie.ParseHashed(failingReader{strings.NewReader(lETI + "\n")}); err == nil || errors.As(err, new(*fie.ParseError)) {
		t.Errorf("read failure: %v", err)
	}
}

func TestGeneratedFilesParse(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		var buf bytes.Buffer
		if err := fietest.Generate(&buf, 4, 5, 6, seed); err != nil {
			t.Fatal(err)
		}
		f, err := fie.Parse(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if c, w, r := f.Counts(); c != 4 || w != 20 || r != 120 {
			t.Fatalf("seed %d: counts %d %d %d", seed, c, w, r)
		}
		var again bytes.Buffer
		if err := fie.Format(&again, f); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Fatalf("seed %d: generated file is not canonical", seed)
		}
	}
}
