package fie_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"redengine/errs"
	"redengine/fie"
	"redengine/fie/fietest"
)

func TestIdentifiersFromTheReference(t *testing.T) {
	for _, naf := range []string{"281234567840", "231234567823", "121234567805", "280123456742"} {
		if r := fie.CheckNAF(naf); r != "" {
			t.Errorf("NAF %s: %s", naf, r)
		}
	}
	if r := fie.CheckNAF("280123456785"); !strings.Contains(r, "deberían ser 42") {
		t.Errorf("naive concatenation accepted: %q", r)
	}
	for _, ccc := range []string{"28123456742", "23123456750"} {
		if r := fie.CheckCCC(ccc); r != "" {
			t.Errorf("CCC %s: %s", ccc, r)
		}
	}
	for _, bad := range []string{"", "2812345674", "28123456743", "00123456700", "2812345674A"} {
		if fie.CheckCCC(bad) == "" {
			t.Errorf("CCC %q accepted", bad)
		}
	}
	for pp := 1; pp <= 52; pp++ {
		for _, n := range []int{0, 1, 9_999_999, 10_000_000, 99_999_999} {
			if r := fie.CheckNAF(fietest.NAF(pp, n)); r != "" {
				t.Errorf("generated NAF: %s", r)
			}
		}
		if r := fie.CheckCCC(fietest.CCC(pp, 1234567)); r != "" {
			t.Errorf("generated CCC: %s", r)
		}
	}
}

func TestCodeDescriptions(t *testing.T) {
	want := map[fie.Contingency]string{
		"1": "Enfermedad común", "2": "Accidente no laboral", "3": "Accidente de trabajo",
		"4": "Enfermedad profesional", "5": "Periodo de observación", "6": "", "": "",
	}
	for c, d := range want {
		if c.Description() != d || c.Valid() != (d != "") {
			t.Errorf("contingency %q: %q", c, c.Description())
		}
	}
	if fie.CarenciaAcreditada.Description() != "Acreditada" || fie.CarenciaNoAcreditada.Description() != "No acreditada" ||
		fie.CarenciaConsultar.Description() != "Consultar al INSS" || fie.Carencia("X").Valid() {
		t.Error("carencia descriptions")
	}
	if fie.Si.Description() != "Sí" || fie.No.Description() != "No" || !fie.Si.Bool() || fie.No.Bool() {
		t.Error("flags")
	}
	if got := fie.WithDescription(string(fie.AccidenteTrabajo), fie.AccidenteTrabajo.Description()); got != "3 - Accidente de trabajo" {
		t.Errorf("WithDescription = %q", got)
	}
	if fie.WithDescription("07", "") != "07" || fie.WithDescription("", "x") != "" {
		t.Error("WithDescription edge cases")
	}
	if fie.ProcessType("2").Description() == "" || fie.ProcessType("5").Valid() || !fie.ProcessType("").Valid() {
		t.Error("process types")
	}
}

func TestDate(t *testing.T) {
	d := fie.D(2024, time.February, 29)
	if !d.Valid() || d.String() != "2024-02-29" || d.FIE() != "20240229" {
		t.Fatalf("%v %q %q", d.Valid(), d.String(), d.FIE())
	}
	if fie.D(2023, 2, 29).Valid() || fie.D(1899, 12, 31).Valid() || fie.D(2023, 0, 1).Valid() {
		t.Error("invalid dates accepted")
	}
	if z := (fie.Date{}); !z.IsZero() || !z.Valid() || z.FIE() != "00000000" || z.String() != "" || !z.Time().IsZero() {
		t.Error("zero date")
	}
	if got := d.Time(); got != time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC) {
		t.Errorf("Time() = %v", got)
	}
	if d.AddDays(1) != fie.D(2024, 3, 1) || !d.Before(d.AddDays(1)) || !d.AddDays(1).After(d) {
		t.Error("AddDays/Before/After")
	}
	var got struct{ A, B fie.Date }
	if err := json.Unmarshal([]byte(`{"A":"2021-03-08","B":null}`), &got); err != nil || got.A != fie.D(2021, 3, 8) || !got.B.IsZero() {
		t.Fatalf("unmarshal: %v %+v", err, got)
	}
	b, _ := json.Marshal(got)
	if string(b) != `{"A":"2021-03-08","B":null}` {
		t.Errorf("marshal: %s", b)
	}
	for _, bad := range []string{`"2021-02-30"`, `"08/03/2021"`, `20210308`, `"1800-01-01"`} {
		var d fie.Date
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func validRecord(t *testing.T) fie.Record {
	t.Helper()
	f, err := fie.Parse(strings.NewReader(validDoc()))
	if err != nil {
		t.Fatal(err)
	}
	return f.Records()[0]
}

func TestRecordJSONRoundTrip(t *testing.T) {
	r := validRecord(t)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"ccc":"28123456742"`, `"companyName":"TALLERES PEÑA S.L."`, `"contingency":"3"`,
		`"startDate":"2021-03-01"`, `"baseReguladoraCents":123456`, `"kind":"IT"`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
	// A date the record does not have is left out (every FIE record is an
	// event: empty dates as null were a quarter of its bytes).
	if bytes.Contains(b, []byte(`"previousProcessDate"`)) || bytes.Contains(b, []byte(":null")) {
		t.Errorf("JSON has an empty date: %s", b)
	}
	var back fie.Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("round trip differs:\n%+v\n%+v", back, r)
	}
	// Records written before empty dates were left out say null: the same.
	old := bytes.Replace(b, []byte(`"accumulatedDays"`), []byte(`"previousProcessDate":null,"nonExistentDate":null,"accumulatedDays"`), 1)
	var fromOld fie.Record
	if err := json.Unmarshal(old, &fromOld); err != nil || !reflect.DeepEqual(fromOld, r) {
		t.Fatalf("a record with null dates reads %+v, %v; want %+v", fromOld, err, r)
	}
}

func TestRecordValidate(t *testing.T) {
	if err := (&fie.Record{}).Validate(); err == nil {
		t.Fatal("empty record accepted")
	}
	r := validRecord(t)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	r.CCC = "28123456743"
	r.CompanyName = ""
	r.NAF = "28123456784"
	r.Surname1 = strings.Repeat("A", 21)
	r.Name = " ANA"
	r.Kind = "JUB"
	r.DIT.Contingency = "9"
	r.DIT.Carencia = "X"
	r.DIT.Start = fie.Date{}
	r.DIT.AccumulatedDays = 10000
	r.DIT.Relapse = ""
	r.DIT.End = fie.D(2021, 2, 30)
	r.ITD.BaseReguladoraCents = -1
	r.OIT.Art1702 = "Y"
	r.CIT.Number = 100
	err := r.Validate()
	if !errs.Is(errs.Invalid, err) {
		t.Fatalf("kind %v", errs.KindOf(err))
	}
	got := map[string]bool{}
	for _, f := range errs.FieldsOf(err) {
		got[f.Field] = true
		if f.Reason == "" {
			t.Errorf("field %s without reason", f.Field)
		}
	}
	for _, f := range []string{"ccc", "companyName", "naf", "surname1", "name", "kind", "dit.contingency",
		"dit.carencia", "dit.startDate", "dit.accumulatedDays", "dit.relapse", "dit.endDate",
		"itd.baseReguladoraCents", "oit.art1702", "cit.number"} {
		if !got[f] {
			t.Errorf("no error for %s; got %v", f, got)
		}
	}
}

func TestWriterRefusesWhatParseRefuses(t *testing.T) {
	var buf bytes.Buffer
	fw := fie.NewWriter(&buf, fie.D(2021, 3, 8))
	if err := fw.Worker(&fie.Worker{}); !errs.Is(errs.Invalid, err) {
		t.Fatalf("worker before company: %v", err)
	}
	fw = fie.NewWriter(&buf, fie.D(2021, 3, 8))
	err := fw.Company(&fie.Company{Regimen: "0111", CCC: "28123456743", Name: "X"})
	if !errs.Is(errs.Invalid, err) || fw.Close() == nil {
		t.Fatalf("bad CCC written: %v", err)
	}
	if err := fie.Format(&buf, &fie.File{}); !errs.Is(errs.Invalid, err) {
		t.Fatalf("file without date: %v", err)
	}
}

func TestWriterRecord(t *testing.T) {
	f, err := fie.Parse(strings.NewReader(validDoc()))
	if err != nil {
		t.Fatal(err)
	}
	recs := f.Records()
	var buf bytes.Buffer
	fw := fie.NewWriter(&buf, f.Date)
	var prev *fie.Record
	for i := range recs {
		if err := fw.Record(&recs[i], prev); err != nil {
			t.Fatal(err)
		}
		prev = &recs[i]
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := fie.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Records(), recs) {
		t.Fatal("records written one by one read back differently")
	}
}

// The JSON example of the manual is a valid record.
func TestManualRecordExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/fier.md")
	if err != nil {
		t.Skip("docs/fier.md not present")
	}
	s := string(doc)
	i := strings.Index(s, "```json\n{\n  \"regimen\"")
	if i < 0 {
		t.Fatal("record example not found in docs/fier.md")
	}
	s = s[i+len("```json\n"):]
	s = s[:strings.Index(s, "```")]
	var r fie.Record
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Key().String() != "28123456742/281234567840/IT/2021-03-01" {
		t.Fatal(r.Key())
	}
}
