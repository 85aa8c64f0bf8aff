package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"redengine/auth"
	"redengine/config"
	"redengine/domain/fiecompany"
	"redengine/engine"
	"redengine/engine/enginetest"
	"redengine/eventstore"
	"redengine/fie"
	"redengine/fie/fier"
	"redengine/fie/fietest"
	"redengine/readmodels"
)

// fieWorld is a test engine with two autorizaciones, each managing one CCC
// of a generated FIE file.
type fieWorld struct {
	*enginetest.Engine
	inss, ana, eva, tram string
	file                 []byte
	parsed               *fie.File
	cccA, cccB           string
}

// today is the engine clock's date: processes imported now are received on it.
var today = fie.DateOf(enginetest.Start.In(madrid()))

func madrid() *time.Location {
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		return time.UTC
	}
	return loc
}

func newFIEWorld(t *testing.T, opts ...enginetest.Option) *fieWorld {
	t.Helper()
	e := enginetest.New(t, opts...)
	w := &fieWorld{Engine: e, inss: e.Token(auth.INSS, "inss.1"), ana: e.Token(auth.Autorizado, "ana"),
		eva: e.Token(auth.Autorizado, "eva"), tram: e.Token(auth.Tramitador, "tram.1")}
	var buf bytes.Buffer
	if err := fietest.Generate(&buf, 3, 4, 2, 7); err != nil {
		t.Fatal(err)
	}
	w.file = buf.Bytes()
	f, err := fie.Parse(bytes.NewReader(w.file))
	if err != nil {
		t.Fatal(err)
	}
	w.parsed = f
	w.cccA, w.cccB = f.Companies[0].CCC, f.Companies[1].CCC
	admin := e.Token(auth.Admin, "root")
	var pos string
	for _, a := range []struct{ number, user, ccc string }{{"1000001", "ana", w.cccA}, {"1000002", "eva", w.cccB}} {
		r := e.Post(admin, "/v1/autorizaciones", map[string]any{"number": a.number, "usuarioPrincipal": a.user,
			"cccs": []string{a.ccc}}).Want(t, http.StatusCreated)
		pos = r.Header.Get("X-Position")
	}
	if err := e.Projections.WaitFor(t.Context(), "autorizaciones", mustPos(t, pos)); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *fieWorld) importFile(t *testing.T, body []byte) *enginetest.Response {
	t.Helper()
	return w.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/fie/imports", Token: w.inss, Body: body, Type: "text/plain; charset=utf-8"})
}

// recordsOf returns the records of the file for one CCC.
func recordsOf(f *fie.File, ccc string) []fie.Record {
	var out []fie.Record
	for _, r := range f.Records() {
		if r.CCC == ccc {
			out = append(out, r)
		}
	}
	return out
}

func exportBody(ccc string, from, to fie.Date) map[string]string {
	return map[string]string{"ccc": ccc, "from": from.String(), "to": to.String()}
}

func TestFierImportExportRoundTrip(t *testing.T) {
	w := newFIEWorld(t)
	imp := w.importFile(t, w.file).Want(t, http.StatusCreated).Map(t)
	c, wk, r := w.parsed.Counts()
	if imp["companies"] != float64(c) || imp["workers"] != float64(wk) || imp["records"] != float64(r) || imp["duplicate"] != false {
		t.Fatalf("import answer %v, want %d/%d/%d", imp, c, wk, r)
	}
	pos := imp["position"].(string)

	// The export waits for the import through minPosition.
	x := w.Post(w.ana, "/v1/fier/exports?minPosition="+pos, exportBody(w.cccA, today.AddDays(-16), today)).Want(t, http.StatusCreated).Map(t)
	want := recordsOf(w.parsed, w.cccA)
	if x["records"] != float64(len(want)) || x["authorization"] != "1000001" || x["ccc"] != w.cccA {
		t.Fatalf("export %v, want %d records of %s", x, len(want), w.cccA)
	}
	if exp, _ := time.Parse(time.RFC3339, x["expiresAt"].(string)); !exp.Equal(enginetest.Start.Add(24 * time.Hour)) {
		t.Errorf("expiresAt %v", x["expiresAt"])
	}
	url := x["downloadUrl"].(string)
	if url != "/v1/fier/exports/"+x["id"].(string)+"/download" {
		t.Errorf("downloadUrl %q", url)
	}
	w.Get(w.ana, "/v1/fier/exports/"+x["id"].(string)).Want(t, http.StatusOK)
	d := w.Get(w.ana, url).Want(t, http.StatusOK)
	if ct := d.Header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("content type %q", ct)
	}
	if cd := d.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, w.cccA) {
		t.Errorf("content disposition %q", cd)
	}
	if d.Header.Get("ETag") != `"`+x["sha256"].(string)+`"` || strconv.Itoa(len(d.Body)) != fmt.Sprint(x["bytes"]) {
		t.Errorf("etag %s / %d bytes, export says %v / %v", d.Header.Get("ETag"), len(d.Body), x["sha256"], x["bytes"])
	}

	xl, err := excelize.OpenReader(bytes.NewReader(d.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer xl.Close()
	rows, err := xl.GetRows(fier.SheetName)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2+len(want) {
		t.Fatalf("%d rows, want 2 header rows and %d records", len(rows), len(want))
	}
	col := map[string]int{}
	for i, h := range rows[1] {
		col[h] = i
	}
	if !strings.HasPrefix(rows[0][0], "EMP") || rows[1][col["CCC"]] != "CCC" || !strings.HasPrefix(rows[0][col["Fecha de baja médica"]], "DIT") {
		t.Fatalf("header rows %q / %q", rows[0][:3], rows[1][:3])
	}
	// Rows are in NAF, kind, start order: the read model's order.
	slices.SortFunc(want, func(a, b fie.Record) int {
		return strings.Compare(a.NAF+a.DIT.Start.String(), b.NAF+b.DIT.Start.String())
	})
	for i, rec := range want {
		row := rows[i+2]
		cell := func(h string) string {
			if col[h] < len(row) {
				return row[col[h]]
			}
			return ""
		}
		if cell("CCC") != rec.CCC || cell("NAF") != rec.NAF || cell("Primer apellido") != rec.Surname1 || cell("Razón social") != rec.CompanyName {
			t.Errorf("row %d: %q", i+3, row[:8])
		}
		if got, want := cell("Contingencia"), string(rec.DIT.Contingency)+" - "+rec.DIT.Contingency.Description(); got != want {
			t.Errorf("row %d contingencia %q, want %q", i+3, got, want)
		}
		if got, want := cell("Fecha de baja médica"), rec.DIT.Start.Time().Format("02/01/2006"); got != want {
			t.Errorf("row %d baja %q, want %q", i+3, got, want)
		}
		// The date is a real Excel date: a serial number with a date format.
		name, _ := excelize.CoordinatesToCellName(col["Fecha de baja médica"]+1, i+3)
		raw, _ := xl.GetCellValue(fier.SheetName, name, excelize.Options{RawCellValue: true})
		serial, err := strconv.ParseFloat(raw, 64)
		if err != nil || fie.DateOf(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(serial))) != rec.DIT.Start {
			t.Errorf("%s raw %q is not the serial of %s", name, raw, rec.DIT.Start)
		}
		sid, _ := xl.GetCellStyle(fier.SheetName, name)
		if st, err := xl.GetStyle(sid); err != nil || st.CustomNumFmt == nil || *st.CustomNumFmt != fier.DateFormat {
			t.Errorf("%s is not formatted as a date", name)
		}
	}

	// The export is on its stream, with who asked and the query.
	aud := w.Token(auth.Auditor, "aud")
	hist := w.Get(aud, "/v1/audit/streams/"+fiecompany.ExportCategory+"-"+x["id"].(string)).Want(t, http.StatusOK).Map(t)
	ev := hist["events"].([]any)[0].(map[string]any)
	if ev["type"] != fiecompany.TypeExportGenerated || ev["metadata"].(map[string]any)["actor"].(map[string]any)["id"] != "ana" {
		t.Errorf("export event %v", ev)
	}

	// Downloads expire; the next export sweeps expired workbooks away.
	w.Clock.Set(enginetest.Start.Add(24 * time.Hour))
	if p := w.Get(w.ana, url).Want(t, http.StatusGone).Map(t); p["kind"] != "not_found" || p["title"] != "Ya no disponible" ||
		!strings.Contains(p["detail"].(string), "haga una nueva consulta") {
		t.Errorf("an expired download: %v", p)
	}
	w.Post(w.ana, "/v1/fier/exports", exportBody(w.cccA, today.AddDays(-16), today)).Want(t, http.StatusCreated)
	w.Clock.Set(enginetest.Start.Add(49 * time.Hour))
	w.Post(w.ana, "/v1/fier/exports", exportBody(w.cccA, today, today.AddDays(2))).Want(t, http.StatusCreated)
	files, err := os.ReadDir(w.FIERDir())
	if err != nil || len(files) != 1 {
		t.Errorf("FIER dir after sweeps: %v, %v", files, err)
	}
}

func TestFieDuplicateImportStoredOnce(t *testing.T) {
	w := newFIEWorld(t)
	first := w.importFile(t, w.file).Want(t, http.StatusCreated).Map(t)
	head1, err := w.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	again := w.importFile(t, w.file).Want(t, http.StatusOK).Map(t)
	if again["duplicate"] != true || again["records"] != first["records"] || again["position"] != first["position"] || again["hash"] != first["hash"] {
		t.Errorf("repeat %v, first %v", again, first)
	}
	head2, _ := w.Store.Head(t.Context())
	if head2 != head1 {
		t.Errorf("a repeated file appended events: head %s → %s", head1, head2)
	}
	// One event per record on the company streams.
	evs, err := w.Store.ReadAll(t.Context(), eventstore.Position{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if strings.HasPrefix(e.Stream, fiecompany.Category+"-") {
			n++
		}
	}
	if _, _, r := w.parsed.Counts(); n != r {
		t.Errorf("%d record events, want %d", n, r)
	}
}

func TestFieMalformedFileRefusedWhole(t *testing.T) {
	w := newFIEWorld(t)
	head, err := w.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(w.file), "\n")
	var bad []int
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "TRA") && len(bad) == 0:
			lines[i] = "TRA" + "123456789012" + l[15:] // wrong NAF control digits
			bad = append(bad, i+1)
		case strings.HasPrefix(l, "DIT") && len(bad) == 1:
			lines[i] = l[:45] + "9" + l[46:] // contingency 9 does not exist
			bad = append(bad, i+1)
		}
	}
	lines = append(lines[:len(lines)-2], "XYZ garbage", lines[len(lines)-2], lines[len(lines)-1])
	r := w.importFile(t, []byte(strings.Join(lines, "\n"))).Want(t, http.StatusBadRequest)
	var p struct {
		Kind   string `json:"kind"`
		Detail string `json:"detail"`
		Errors []struct {
			Field  string `json:"field"`
			Reason string `json:"reason"`
		} `json:"errors"`
		LineErrors []fie.LineError `json:"lineErrors"`
	}
	r.JSON(t, &p)
	if p.Kind != "invalid" || len(p.LineErrors) < 3 || len(p.Errors) != len(p.LineErrors) {
		t.Fatalf("problem %s", r.Body)
	}
	found := map[string]bool{}
	for _, le := range p.LineErrors {
		found[fmt.Sprintf("%d %s %s", le.Line, le.Segment, le.Field)] = true
		if le.Reason == "" {
			t.Errorf("error without reason: %+v", le)
		}
	}
	for _, k := range []string{fmt.Sprintf("%d TRA naf", bad[0]), fmt.Sprintf("%d DIT contingency", bad[1])} {
		if !found[k] {
			t.Errorf("missing error %q in %v", k, p.LineErrors)
		}
	}
	if !strings.Contains(p.Errors[0].Field, "línea") {
		t.Errorf("errors[0].field %q", p.Errors[0].Field)
	}
	if after, _ := w.Store.Head(t.Context()); after != head {
		t.Errorf("a refused file stored events: head %s → %s", head, after)
	}
	w.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/fie/imports", Token: w.inss, Body: w.file, Type: "application/json"}).Want(t, http.StatusUnsupportedMediaType)
	if r := w.importFile(t, []byte("  \n\r\n")).Want(t, http.StatusBadRequest); !strings.Contains(string(r.Body), "está vacío") {
		t.Errorf("empty file: %s", r.Body)
	}
	w.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/fie/imports", Token: w.ana, Body: w.file, Type: "text/plain"}).Want(t, http.StatusForbidden)
}

// The file is parsed as it arrives: a body over the limit is refused with
// 413 whether its length is announced or not (chunked), and nothing is
// stored either way.
func TestFieImportOverTheBodyLimit(t *testing.T) {
	w := newFIEWorld(t, func(c *config.Config) { c.MaxImportBytes = 4096 })
	head, err := w.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var big bytes.Buffer
	if err := fietest.Generate(&big, 3, 20, 2, 8); err != nil {
		t.Fatal(err)
	}
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(big.Bytes())
		if chunked {
			body = io.MultiReader(body) // no length known: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, w.URL+"/v1/fie/imports", body)
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Authorization", "Bearer "+w.inss)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("chunked %v: %d %s %s", chunked, resp.StatusCode, resp.Header.Get("Content-Type"), msg)
		}
	}
	if after, _ := w.Store.Head(t.Context()); after != head {
		t.Errorf("an oversized file stored events: head %s → %s", head, after)
	}
	// Under the limit the same route imports.
	var small bytes.Buffer
	if err := fietest.Generate(&small, 1, 2, 1, 8); err != nil {
		t.Fatal(err)
	}
	w.importFile(t, small.Bytes()).Want(t, http.StatusCreated)
}

func TestFierPolicyLimits(t *testing.T) {
	w := newFIEWorld(t, func(c *config.Config) { c.FIERMaxDays = 17 })
	pos := w.importFile(t, w.file).Want(t, http.StatusCreated).Header.Get("X-Position")
	if err := w.Projections.WaitFor(t.Context(), readmodels.FIEName, mustPos(t, pos)); err != nil {
		t.Fatal(err)
	}
	// 18 days (both ends included) is one too many.
	r := w.Post(w.ana, "/v1/fier/exports", exportBody(w.cccA, today.AddDays(-17), today)).Want(t, http.StatusBadRequest)
	if !strings.Contains(string(r.Body), "17 días") || !strings.Contains(string(r.Body), "18 días") {
		t.Errorf("18 days: %s", r.Body)
	}
	w.Post(w.ana, "/v1/fier/exports", exportBody(w.cccA, today.AddDays(-16), today)).Want(t, http.StatusCreated)
	w.Post(w.ana, "/v1/fier/exports", exportBody(w.cccA, today, today.AddDays(-1))).Want(t, http.StatusBadRequest)
	w.Post(w.ana, "/v1/fier/exports", map[string]string{"ccc": w.cccA, "from": "2026-02-30", "to": today.String()}).Want(t, http.StatusBadRequest)
	// Nothing in the range: no download.
	nf := w.Post(w.ana, "/v1/fier/exports", exportBody(w.cccA, today.AddDays(-30), today.AddDays(-20))).Want(t, http.StatusNotFound)
	if !strings.Contains(string(nf.Body), "no se ha generado ningún fichero de descarga") {
		t.Errorf("404: %s", nf.Body)
	}
}

func TestFierDefaultPolicyNames300(t *testing.T) {
	w := newFIEWorld(t)
	// 301 records of one company through the JSON route.
	var recs []fie.Record
	for r := range fietest.Records(301, 301, 3) {
		recs = append(recs, r)
	}
	ccc := recs[0].CCC
	for start := 0; start < len(recs); start += 150 {
		end := min(start+150, len(recs))
		r := w.Post(w.inss, "/v1/fie/records", recs[start:end]).Want(t, http.StatusCreated)
		if err := w.Projections.WaitFor(t.Context(), readmodels.FIEName, mustPos(t, r.Header.Get("X-Position"))); err != nil {
			t.Fatal(err)
		}
	}
	tr := w.Post(w.tram, "/v1/fier/exports", exportBody(ccc, today, today)).Want(t, http.StatusBadRequest)
	if !strings.Contains(string(tr.Body), "máximo es 300 registros") || !strings.Contains(string(tr.Body), "301") {
		t.Errorf("records limit: %s", tr.Body)
	}
}

func TestFierCCCScoping(t *testing.T) {
	w := newFIEWorld(t)
	pos := w.importFile(t, w.file).Want(t, http.StatusCreated).Header.Get("X-Position")
	q := "?minPosition=" + pos
	// eva's autorización manages cccB, not cccA.
	w.Post(w.eva, "/v1/fier/exports"+q, exportBody(w.cccA, today, today)).Want(t, http.StatusForbidden)
	w.Post(w.eva, "/v1/fier/exports"+q, map[string]string{"ccc": w.cccA, "from": today.String(), "to": today.String(), "authorization": "1000001"}).Want(t, http.StatusForbidden)
	w.Post(w.Token(auth.Autorizado, "nadie"), "/v1/fier/exports"+q, exportBody(w.cccA, today, today)).Want(t, http.StatusForbidden)
	w.Post(w.eva, "/v1/fier/exports"+q, map[string]string{"ccc": w.cccA, "from": today.String(), "to": today.String(), "authorization": "../x"}).Want(t, http.StatusBadRequest)
	w.Post(w.tram, "/v1/fier/exports"+q, map[string]string{"ccc": w.cccA, "from": today.String(), "to": today.String(), "authorization": "1000002"}).Want(t, http.StatusBadRequest)
	w.Post(w.ana, "/v1/fier/exports"+q, map[string]string{"ccc": w.cccA, "from": today.String(), "to": today.String(), "authorization": "1000001"}).Want(t, http.StatusCreated)
	// A token narrowed to another autorización cannot use ana's.
	w.Post(w.Token(auth.Autorizado, "ana", "1000002"), "/v1/fier/exports"+q, exportBody(w.cccA, today, today)).Want(t, http.StatusForbidden)
	w.Post(w.Token(auth.Auditor, "aud"), "/v1/fier/exports"+q, exportBody(w.cccA, today, today)).Want(t, http.StatusForbidden)
	w.Post(w.inss, "/v1/fier/exports"+q, exportBody(w.cccA, today, today)).Want(t, http.StatusForbidden)

	x := w.Post(w.eva, "/v1/fier/exports"+q, exportBody(w.cccB, today, today)).Want(t, http.StatusCreated).Map(t)
	url := x["downloadUrl"].(string)
	w.Get(w.ana, url).Want(t, http.StatusForbidden)
	w.Get(w.eva, url).Want(t, http.StatusOK)
	w.Get(w.tram, url).Want(t, http.StatusOK)
	w.Get(w.eva, "/v1/fier/exports/00000000-0000-0000-0000-000000000000/download").Want(t, http.StatusNotFound)
	w.Get(w.eva, "/v1/fier/exports/nope/download").Want(t, http.StatusNotFound)
	// A tramitador may query any CCC.
	w.Post(w.tram, "/v1/fier/exports"+q, exportBody(w.cccA, today, today)).Want(t, http.StatusCreated)
}

func TestFieRecordsJSON(t *testing.T) {
	w := newFIEWorld(t)
	recs := recordsOf(w.parsed, w.cccA)
	one := recs[0]
	r := w.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/fie/records", Token: w.inss, Body: one,
		Headers: map[string]string{"Idempotency-Key": "one-1"}}).Want(t, http.StatusCreated)
	if m := r.Map(t); m["records"] != float64(1) || m["companies"] != float64(1) || m["workers"] != float64(1) {
		t.Errorf("one record: %v", m)
	}
	head, _ := w.Store.Head(t.Context())
	again := w.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/fie/records", Token: w.inss, Body: one,
		Headers: map[string]string{"Idempotency-Key": "one-1"}}).Want(t, http.StatusCreated)
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat not replayed")
	}
	if h, _ := w.Store.Head(t.Context()); h != head {
		t.Errorf("a repeat appended events")
	}

	// An update of the same process: the read model keeps one row, the latest.
	upd := one
	upd.DIT.End, upd.DIT.EndCause = one.DIT.Start.AddDays(3), "01"
	upd.DIT.Annulled = fie.No
	many := append([]fie.Record{upd}, recs[1:]...)
	r = w.Post(w.inss, "/v1/fie/records", many).Want(t, http.StatusCreated)
	if m := r.Map(t); m["records"] != float64(len(many)) {
		t.Errorf("many: %v", m)
	}
	if err := w.Projections.WaitFor(t.Context(), readmodels.FIEName, mustPos(t, r.Header.Get("X-Position"))); err != nil {
		t.Fatal(err)
	}
	n := 0
	for row, err := range readmodels.FIERecords(t.Context(), w.ReadDB, w.cccA, today, today, 0) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if row.Record.Key() == one.Key() {
			if row.Record.DIT.End != upd.DIT.End || row.Observations != 2 || row.Source != fiecompany.SourceAPI || row.ReceivedOn != today {
				t.Errorf("latest state of the process: %+v", row)
			}
		}
	}
	if n != len(recs) {
		t.Errorf("%d rows, want %d (one per process)", n, len(recs))
	}

	// Invalid records refuse the whole request, naming each field.
	bad := append([]fie.Record(nil), recs[:2]...)
	bad[1].NAF = "281234567800"
	bad[1].DIT.Contingency = "7"
	head, _ = w.Store.Head(t.Context())
	p := w.Post(w.inss, "/v1/fie/records", bad).Want(t, http.StatusBadRequest).Map(t)
	fields := map[string]bool{}
	for _, e := range p["errors"].([]any) {
		fields[e.(map[string]any)["field"].(string)] = true
	}
	if !fields["[1].naf"] || !fields["[1].dit.contingency"] {
		t.Errorf("fields %v", fields)
	}
	if h, _ := w.Store.Head(t.Context()); h != head {
		t.Errorf("invalid records stored events")
	}
	w.Post(w.inss, "/v1/fie/records", []fie.Record{}).Want(t, http.StatusBadRequest)
	w.Post(w.inss, "/v1/fie/records", map[string]any{"ccc": w.cccA, "bogus": 1}).Want(t, http.StatusBadRequest)

	// A date that does not exist is named with its record and field, in
	// a list and alone.
	withBadDate := func(v any) string {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Replace(string(raw), `"startDate":"`+recs[1].DIT.Start.String()+`"`, `"startDate":"2026-02-30"`, 1)
	}
	for body, field := range map[string]string{withBadDate(recs[:2]): "[1].dit.startDate", withBadDate(recs[1]): "dit.startDate"} {
		r := w.Do(enginetest.Request{Method: http.MethodPost, Path: "/v1/fie/records", Token: w.inss, Body: body, Type: "application/json"})
		p := r.Map(t)
		errsOf, _ := p["errors"].([]any)
		if r.Status != http.StatusBadRequest || len(errsOf) != 1 || errsOf[0].(map[string]any)["field"] != field ||
			!strings.Contains(errsOf[0].(map[string]any)["reason"].(string), "fecha AAAA-MM-DD que exista") {
			t.Errorf("a date that does not exist (%s): %d %v", field, r.Status, p)
		}
	}
	if h, _ := w.Store.Head(t.Context()); h != head {
		t.Errorf("records with a bad date stored events")
	}

	// A list may not repeat a worker's process, as a file may not: the
	// repetition is named, nothing is stored.
	twice := []fie.Record{recs[0], recs[1], upd}
	p = w.Post(w.inss, "/v1/fie/records", twice).Want(t, http.StatusBadRequest).Map(t)
	errsOf := p["errors"].([]any)
	if len(errsOf) != 1 || errsOf[0].(map[string]any)["field"] != "[2].dit.startDate" ||
		!strings.Contains(errsOf[0].(map[string]any)["reason"].(string), "proceso repetido: el registro [0]") {
		t.Errorf("a repeated process: %v", p)
	}
	if h, _ := w.Store.Head(t.Context()); h != head {
		t.Errorf("a list repeating a process stored events")
	}
	// The same worker's other process, or the same date in another
	// company, is no repetition.
	other := upd
	other.DIT.Start = upd.DIT.Start.AddDays(-40)
	w.Post(w.inss, "/v1/fie/records", []fie.Record{upd, other}).Want(t, http.StatusCreated)
}

func TestFieDemo(t *testing.T) {
	e := enginetest.New(t)
	if err := e.LoadFIEDemo(t.Context()); err != nil {
		t.Fatal(err)
	}
	head, err := e.Store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.LoadFIEDemo(t.Context()); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.Store.Head(t.Context()); again != head {
		t.Errorf("a second demo load appended events")
	}
	if err := e.Projections.WaitFor(t.Context(), readmodels.FIEName, head); err != nil {
		t.Fatal(err)
	}
	for _, ccc := range engine.DemoFIECCCs {
		if n, err := readmodels.FIECount(t.Context(), e.ReadDB, ccc, today, today); err != nil || n != 40 {
			t.Errorf("demo %s: %d rows, %v", ccc, n, err)
		}
	}
}
