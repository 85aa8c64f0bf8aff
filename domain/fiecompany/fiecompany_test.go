package fiecompany_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"redengine/clock"
	"redengine/commands"
	"redengine/commands/scenario"
	"redengine/domain/fiecompany"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/fie"
	"redengine/fie/fietest"
)

func someRecords(t testing.TB, n int) []fie.Record {
	t.Helper()
	var out []fie.Record
	for r, err := range fietest.Records(n, n, 11) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestReceiveGivenWhenThen(t *testing.T) {
	recs := someRecords(t, 3)
	id := fiecompany.CompanyID(recs[0].Regimen, recs[0].CCC)
	file := fiecompany.Observation{Source: fiecompany.SourceFile, FileHash: strings.Repeat("a", 64), FileDate: fie.D(2026, 11, 27)}

	t.Run("each record becomes one event, in order", func(t *testing.T) {
		want := make([]any, len(recs))
		for i, r := range recs {
			want[i] = fiecompany.RecordReceived{Source: fiecompany.SourceFile, FileHash: file.FileHash, FileDate: file.FileDate, Record: r}
		}
		scenario.For(fiecompany.Aggregate()).
			When(fiecompany.Receive(id, file, recs)).
			Then(t, want...).
			ThenState(t, func(t testing.TB, s fiecompany.State) {
				if s.Records != 3 || s.CCC != recs[0].CCC || s.Name != recs[0].CompanyName || s.LastReceivedAt != scenario.DefaultNow {
					t.Errorf("state %+v", s)
				}
			})
	})

	t.Run("a later observation of the same process is another event", func(t *testing.T) {
		upd := recs[0]
		upd.DIT.End, upd.DIT.EndCause = upd.DIT.Start.AddDays(2), "01"
		scenario.For(fiecompany.Aggregate()).
			Given(fiecompany.RecordReceived{Source: fiecompany.SourceFile, Record: recs[0]}).
			When(fiecompany.Receive(id, fiecompany.Observation{Source: fiecompany.SourceAPI}, []fie.Record{upd})).
			Then(t, fiecompany.RecordReceived{Source: fiecompany.SourceAPI, Record: upd}).
			ThenState(t, func(t testing.TB, s fiecompany.State) {
				if s.Records != 2 {
					t.Errorf("records %d", s.Records)
				}
			})
	})

	t.Run("a record of another company is refused", func(t *testing.T) {
		other := recs[1]
		other.CCC = fietest.CCC(28, 1234)
		scenario.For(fiecompany.Aggregate()).
			When(fiecompany.Receive(id, file, []fie.Record{recs[0], other})).
			ThenErrorField(t, "records[1].ccc")
	})

	t.Run("an invalid record refuses the batch, naming its fields", func(t *testing.T) {
		bad := recs[2]
		bad.DIT.Contingency = "8"
		bad.DIT.Carencia = "X"
		o := scenario.For(fiecompany.Aggregate()).
			When(fiecompany.Receive(id, file, []fie.Record{recs[0], bad}))
		o.ThenErrorField(t, "records[1].dit.contingency")
		o.ThenErrorField(t, "records[1].dit.carencia")
	})

	t.Run("an unknown source is a bug", func(t *testing.T) {
		scenario.For(fiecompany.Aggregate()).
			When(fiecompany.Receive(id, fiecompany.Observation{Source: "fax"}, recs)).
			ThenError(t, errs.Internal)
	})
}

func TestImportGivenWhenThen(t *testing.T) {
	f := fiecompany.FileImported{Hash: strings.Repeat("b", 64), FileDate: fie.D(2026, 11, 27), Bytes: 100, Companies: 1, Workers: 2, Records: 3}
	scenario.For(fiecompany.ImportAggregate()).
		When(fiecompany.RecordImport(f)).
		Then(t, f).
		ThenState(t, func(t testing.TB, s fiecompany.ImportState) {
			if !s.Imported || s.File != f || s.ImportedAt != scenario.DefaultNow {
				t.Errorf("state %+v", s)
			}
		})
	// The same file again: nothing.
	scenario.For(fiecompany.ImportAggregate()).Given(f).When(fiecompany.RecordImport(f)).ThenNothing(t)
}

func TestPolicy(t *testing.T) {
	p := fiecompany.Policy{MaxDays: 17, MaxRecords: 300}
	d := fie.D(2026, 11, 1)
	for _, c := range []struct {
		from, to fie.Date
		field    string // "" = accepted
		mention  string
	}{
		{d, d, "", ""},
		{d, d.AddDays(16), "", ""},
		{d, d.AddDays(17), "to", "el máximo es 17 días"},
		{d.AddDays(1), d, "to", "anterior"},
		{fie.Date{}, d, "from", "obligatoria"},
		{fie.D(2026, 3, 20), fie.D(2026, 4, 5), "", ""}, // 17 days across the DST change
	} {
		err := p.CheckRange(c.from, c.to)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s..%s: %v", c.from, c.to, err)
			}
			continue
		}
		fs := errs.FieldsOf(err)
		if !errs.Is(errs.Invalid, err) || len(fs) == 0 || fs[0].Field != c.field || !strings.Contains(fs[0].Reason, c.mention) {
			t.Errorf("%s..%s: %v, want %s mentioning %q", c.from, c.to, err, c.field, c.mention)
		}
	}
	if got := fiecompany.Days(fie.D(2026, 3, 20), fie.D(2026, 4, 5)); got != 17 {
		t.Errorf("days across DST %d", got)
	}
	if err := p.CheckCount(0); !errs.Is(errs.NotFound, err) || !strings.Contains(errs.MessageOf(err), "no se ha generado ningún fichero de descarga") {
		t.Errorf("0 records: %v", err)
	}
	if err := p.CheckCount(300); err != nil {
		t.Errorf("300 records: %v", err)
	}
	if err := p.CheckCount(301); !errs.Is(errs.Invalid, err) || !strings.Contains(err.Error(), "300") {
		t.Errorf("301 records: %v", err)
	}
	if err := (fiecompany.Policy{}).CheckCount(1_000_000); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

func TestGenerateGivenWhenThen(t *testing.T) {
	p := fiecompany.Policy{MaxDays: 17, MaxRecords: 300}
	now := scenario.DefaultNow
	ev := fiecompany.ExportGenerated{ID: "x1", CCC: fietest.CCC(28, 1), From: fie.D(2021, 7, 1), To: fie.D(2021, 7, 2),
		Records: 3, File: "x1.xlsx", Bytes: 10, SHA256: strings.Repeat("c", 64), ExpiresAt: now.Add(24 * time.Hour)}
	scenario.For(fiecompany.ExportAggregate()).When(fiecompany.Generate(p, ev)).Then(t, ev).
		ThenState(t, func(t testing.TB, s fiecompany.ExportState) {
			if !s.Generated || s.Expired(now) || !s.Expired(now.Add(24*time.Hour)) {
				t.Errorf("state %+v", s)
			}
		})
	scenario.For(fiecompany.ExportAggregate()).Given(ev).When(fiecompany.Generate(p, ev)).ThenNothing(t)
	tooMany := ev
	tooMany.Records = 301
	scenario.For(fiecompany.ExportAggregate()).When(fiecompany.Generate(p, tooMany)).ThenError(t, errs.Invalid)
	long := ev
	long.To = ev.From.AddDays(17)
	scenario.For(fiecompany.ExportAggregate()).When(fiecompany.Generate(p, long)).ThenErrorField(t, "to")
}

// ingester opens a real SQLite store in a temporary directory.
func ingester(t testing.TB) (*fiecompany.Ingester, eventstore.Store) {
	t.Helper()
	clk := clock.NewManual(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	s, err := sqlite.Open(t.Context(), t.TempDir()+"/events.db", sqlite.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &fiecompany.Ingester{
		Companies: commands.NewHandler(s, clk, fiecompany.Aggregate()),
		Imports:   commands.NewHandler(s, clk, fiecompany.ImportAggregate()),
		Store:     s,
		Clock:     clk,
		Parallel:  3,
	}, s
}

func countEvents(t *testing.T, s eventstore.Store, prefix string) int {
	t.Helper()
	evs, err := s.ReadAll(context.Background(), eventstore.Position{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if strings.HasPrefix(e.Stream, prefix) {
			n++
		}
	}
	return n
}

func TestImportFileChunksAndStoresOnce(t *testing.T) {
	in, s := ingester(t)
	var buf bytes.Buffer
	// 2 companies × 130 workers × 4 records: 520 records each, two appends.
	if err := fietest.Generate(&buf, 2, 130, 4, 5); err != nil {
		t.Fatal(err)
	}
	meta := commands.Meta{Actor: eventstore.Actor{ID: "inss.1", Role: "inss"}}
	res, err := in.ImportFile(t.Context(), buf.Bytes(), meta)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.Companies != 2 || res.Workers != 260 || res.Records != 1040 || len(res.Hash) != 64 {
		t.Fatalf("result %+v", res)
	}
	if n := countEvents(t, s, fiecompany.Category+"-"); n != 1040 {
		t.Errorf("%d record events", n)
	}
	head, _ := s.Head(t.Context())
	if res.Position != head {
		t.Errorf("position %s, head %s: the import is recorded last", res.Position, head)
	}
	// Chunked: the first company's stream has 520 events in two commands.
	evs, err := s.ReadStream(t.Context(), fiecompany.Aggregate().Stream(fiecompany.CompanyID(res0(t, buf.Bytes()))), 0, eventstore.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmds := map[string]int{}
	for _, e := range evs {
		cmds[e.Metadata.CommandID]++
		if e.Metadata.Actor.ID != "inss.1" {
			t.Fatalf("actor %+v", e.Metadata.Actor)
		}
	}
	if len(evs) != 520 || len(cmds) != 2 {
		t.Errorf("%d events in %d commands", len(evs), len(cmds))
	}

	again, err := in.ImportFile(t.Context(), buf.Bytes(), meta)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Records != 1040 || again.Position != res.Position || !again.ImportedAt.Equal(res.ImportedAt) {
		t.Errorf("repeat %+v", again)
	}
	if after, _ := s.Head(t.Context()); after != head {
		t.Errorf("repeat wrote events")
	}
}

// ImportReader reads, hashes and parses in one pass: the same import as
// ImportFile, recognised as the same file by either.
func TestImportReaderIsImportFile(t *testing.T) {
	in, s := ingester(t)
	var buf bytes.Buffer
	if err := fietest.Generate(&buf, 3, 5, 2, 11); err != nil {
		t.Fatal(err)
	}
	res, err := in.ImportReader(t.Context(), iotest.HalfReader(bytes.NewReader(buf.Bytes())), commands.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.Companies != 3 || res.Records != 30 || res.Hash != fie.HashBytes(buf.Bytes()) {
		t.Fatalf("result %+v", res)
	}
	if n := countEvents(t, s, fiecompany.Category+"-"); n != 30 {
		t.Errorf("%d record events", n)
	}
	evs, err := s.ReadStream(t.Context(), fiecompany.ImportAggregate().Stream(res.Hash), 0, eventstore.Forward, 0)
	if err != nil || len(evs) != 1 || !strings.Contains(string(evs[0].Data), fmt.Sprintf(`"bytes":%d`, buf.Len())) {
		t.Fatalf("import record %v %v", evs, err)
	}
	for _, again := range []func() (fiecompany.ImportResult, error){
		func() (fiecompany.ImportResult, error) {
			return in.ImportFile(t.Context(), buf.Bytes(), commands.Meta{})
		},
		func() (fiecompany.ImportResult, error) {
			return in.ImportReader(t.Context(), bytes.NewReader(buf.Bytes()), commands.Meta{})
		},
	} {
		r, err := again()
		if err != nil || !r.Duplicate || r.Position != res.Position {
			t.Errorf("repeat %+v %v", r, err)
		}
	}
	if n := countEvents(t, s, ""); n != 31 {
		t.Errorf("%d events after the repeats, want 31", n)
	}
	// A malformed file, read as it arrives, stores nothing.
	head, _ := s.Head(t.Context())
	bad := bytes.Replace(buf.Bytes(), []byte("\nDIT"), []byte("\nDIX"), 1)
	if _, err := in.ImportReader(t.Context(), bytes.NewReader(bad), commands.Meta{}); !errors.As(err, new(*fie.ParseError)) {
		t.Errorf("malformed: %v", err)
	}
	if after, _ := s.Head(t.Context()); after != head {
		t.Errorf("a malformed file stored events")
	}
}

func res0(t *testing.T, file []byte) (string, string) {
	f, err := fie.Parse(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	return f.Companies[0].Regimen, f.Companies[0].CCC
}

func TestImportFileResumesAndRacesSafely(t *testing.T) {
	in, s := ingester(t)
	var buf bytes.Buffer
	if err := fietest.Generate(&buf, 5, 3, 2, 9); err != nil {
		t.Fatal(err)
	}
	// An interrupted import: the store fails after two company appends.
	failing := &failAfter{Store: s, left: 2}
	broken := *in
	broken.Store = failing
	broken.Parallel = 1
	if _, err := broken.ImportFile(t.Context(), buf.Bytes(), commands.Meta{}); err == nil {
		t.Fatal("the failing store did not fail")
	}
	partial := countEvents(t, s, fiecompany.Category+"-")
	if partial == 0 || partial >= 30 {
		t.Fatalf("%d events written before the failure", partial)
	}
	// Sent again (twice at once): completes, no record twice.
	var wg sync.WaitGroup
	results := make([]fiecompany.ImportResult, 2)
	errs2 := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs2[i] = in.ImportFile(context.Background(), buf.Bytes(), commands.Meta{})
		}()
	}
	wg.Wait()
	for i, err := range errs2 {
		if err != nil {
			t.Fatalf("import %d: %v", i, err)
		}
	}
	if n := countEvents(t, s, fiecompany.Category+"-"); n != 30 {
		t.Errorf("%d record events, want 30", n)
	}
	if n := countEvents(t, s, fiecompany.ImportCategory+"-"); n != 1 {
		t.Errorf("%d import events", n)
	}
	// Both requests saw no prior import; the store's idempotent append
	// makes the later one write nothing, so both may answer as the first.
	if results[0].Position != results[1].Position || results[0].Records != 30 || results[1].Records != 30 {
		t.Errorf("concurrent imports disagree: %+v %+v", results[0], results[1])
	}
}

func TestMalformedFileStoresNothing(t *testing.T) {
	in, s := ingester(t)
	var buf bytes.Buffer
	if err := fietest.Generate(&buf, 2, 2, 2, 1); err != nil {
		t.Fatal(err)
	}
	body := bytes.Replace(buf.Bytes(), []byte("\nDIT"), []byte("\nDIX"), 1)
	_, err := in.ImportFile(t.Context(), body, commands.Meta{})
	var pe *fie.ParseError
	if !errors.As(err, &pe) || len(pe.Errors) == 0 {
		t.Fatalf("err %v", err)
	}
	if head, _ := s.Head(t.Context()); !head.IsZero() {
		t.Errorf("a malformed file stored events")
	}
}

func TestReceiveRecordsIdempotent(t *testing.T) {
	in, s := ingester(t)
	recs := someRecords(t, 1200) // 1200 of one company: three appends
	meta := commands.Meta{CommandID: commands.IDFromKey("test", "k1")}
	res, err := in.ReceiveRecords(t.Context(), recs, meta)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.Records != 1200 || res.Companies != 1 || res.Workers != 400 {
		t.Fatalf("%+v", res)
	}
	again, err := in.ReceiveRecords(t.Context(), recs, meta)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Position != res.Position {
		t.Errorf("repeat %+v, first %+v", again, res)
	}
	if n := countEvents(t, s, fiecompany.Category+"-"); n != 1200 {
		t.Errorf("%d events", n)
	}
}

// failAfter is a store whose appends fail after left successful ones.
type failAfter struct {
	eventstore.Store
	mu   sync.Mutex
	left int
}

func (f *failAfter) Append(ctx context.Context, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) (eventstore.AppendResult, error) {
	f.mu.Lock()
	if f.left == 0 {
		f.mu.Unlock()
		return eventstore.AppendResult{}, errs.E(errs.Unavailable, "simulated outage")
	}
	f.left--
	f.mu.Unlock()
	return f.Store.Append(ctx, stream, exp, evs...)
}
