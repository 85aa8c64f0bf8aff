package stress

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"redengine/auth"
	"redengine/config"
	"redengine/domain/cases"
	"redengine/eventstore"
	"redengine/eventstore/esdb"
	"redengine/eventstore/esdb/esdbtest"
	"redengine/stress/load"
)

// twoNodesStart is the instant both nodes' manual clocks start at.
const twoNodesStart = "2026-11-27T09:00:00Z"

// sharedKey is the REDENGINE_SECRET_KEY of both nodes: nodes of one event
// store must share it (verification codes, per-purpose secrets).
const sharedKey = "REDENGINE_SECRET_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// TestTwoNodesSQLite runs two `redengine serve` processes on one SQLite
// event store file (REDENGINE_EVENTSTORE=sqlite:///…/events.db), each with
// its own read models in its own data dir (docs/scaling.md).
func TestTwoNodesSQLite(t *testing.T) {
	t.Parallel()
	dirA, dirB := t.TempDir(), t.TempDir()
	shared := "sqlite://" + filepath.Join(dirA, "events.db")
	vars := []string{"REDENGINE_JWT_SECRET=" + crashSecret, "REDENGINE_CLOCK=manual:" + twoNodesStart, sharedKey,
		"REDENGINE_EVENTSTORE=" + shared}
	a := startProc(t, dirA, vars...)
	b := startProc(t, dirB, vars...)
	cfgA, cfgB := dataConfig(dirA), dataConfig(dirB)
	cfgA.EventStore, cfgB.EventStore = shared, shared
	twoNodes(t, a, b, func() []eventstore.Event { return readLogFile(t.Context(), t, dirA) }, cfgA, cfgB)
}

// TestTwoNodesEventStoreDB runs two `redengine serve` processes on the
// EventStoreDB adapter against the wire-level test server (served by this
// test process), each with its own read models.
func TestTwoNodesEventStoreDB(t *testing.T) {
	t.Parallel()
	url, _ := esdbtest.Start(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	vars := []string{"REDENGINE_JWT_SECRET=" + crashSecret, "REDENGINE_CLOCK=manual:" + twoNodesStart, sharedKey, "REDENGINE_EVENTSTORE=" + url}
	a := startProc(t, dirA, vars...)
	b := startProc(t, dirB, vars...)
	cfgA, cfgB := dataConfig(dirA), dataConfig(dirB)
	cfgA.EventStore, cfgB.EventStore = url, url
	twoNodes(t, a, b, func() []eventstore.Event {
		s, err := esdb.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return readLog(t.Context(), t, s)
	}, cfgA, cfgB)
}

// tramiteBody is a valid opening of a trámite for autorización number.
func tramiteBody(number, subject string) map[string]any {
	return map[string]any{"authorization": number, "type": "tramite",
		"materia": "Afiliación (altas y bajas)", "categoria": "Altas", "subcategoria": "Alta fuera de plazo",
		"subject": subject, "body": "Solicitamos el alta con Fecha Real 01/07/2021.",
		"extraData": map[string]string{"ccc": load.CCC, "naf": "281234567840", "fechaReal": "2021-07-01"}}
}

type passReport struct {
	Pass struct {
		Considered, Acted, AlreadyDone, Failed int
	} `json:"pass"`
}

// twoNodes is the scenario on two running nodes of one event store: writes
// spread over both, reads on both converge, and each due deadline is acted
// on exactly once when both run scheduler passes at the same instant.
func twoNodes(t *testing.T, a, b *proc, log func() []eventstore.Event, cfgA, cfgB config.Config) {
	ctx := t.Context()
	tk, err := load.NewTokens(crashSecret, func() time.Time { t0, _ := time.Parse(time.RFC3339, twoNodesStart); return t0 })
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*load.Client{load.NewClient(a.URL, 16), load.NewClient(b.URL, 16)}
	admin, tram, user := tk.For(auth.Admin, "root"), tk.For(auth.Tramitador, "tram-1"), tk.For(auth.Autorizado, "ppal")
	do := func(n int, r load.Request, want int) *load.Response {
		t.Helper()
		resp, err := nodes[n].Do(ctx, r)
		if err != nil || resp.Status != want {
			t.Fatalf("node %c: %s %s: %v %v", 'A'+n, r.Method, r.Path, err, resp)
		}
		return resp
	}
	do(0, load.Request{Method: http.MethodPost, Path: "/v1/autorizaciones", Token: admin, Body: map[string]any{
		"number": "N0001", "usuarioPrincipal": "ppal", "cccs": []string{load.CCC}, "contactEmail": "buzon@gestoria.test"}}, http.StatusCreated)

	// Writes spread over both nodes, in parallel: openings (every one
	// reserves a number on the same sequence stream, so the nodes conflict
	// and retry) and requerimientos, which set a deadline each.
	const perNode = 6
	var mu sync.Mutex
	var ids []string
	var last eventstore.Position
	note := func(r *load.Response) {
		p, err := eventstore.ParsePosition(r.Header.Get("X-Position"))
		if err != nil {
			t.Errorf("X-Position: %v", err)
			return
		}
		mu.Lock()
		if last.Less(p) {
			last = p
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for n := range 2 {
		for i := range perNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := load.ConsultaBody("N0001", fmt.Sprintf("Consulta %d/%d", n, i))
				if i%2 == 1 {
					body = tramiteBody("N0001", fmt.Sprintf("Trámite %d/%d", n, i))
				}
				// The autorización was registered through node A: node B
				// reads it from the shared log.
				r, err := nodes[n].Do(ctx, load.Request{Method: http.MethodPost, Path: "/v1/cases", Token: user, Body: body})
				if err != nil || r.Status != http.StatusCreated {
					t.Errorf("open on node %c: %v %v", 'A'+n, err, r)
					return
				}
				var c struct{ ID string }
				if err := r.Decode(&c); err != nil {
					t.Error(err)
					return
				}
				// The requerimiento goes through the other node.
				r, err = nodes[1-n].Do(ctx, load.Request{Method: http.MethodPost, Path: "/v1/cases/" + c.ID + "/information-requests",
					Token: tram, Body: map[string]string{"text": "Aporte el documento de identidad."}})
				if err != nil || r.Status != http.StatusOK {
					t.Errorf("requerimiento on node %c: %v %v", 'B'-n, err, r)
					return
				}
				note(r)
				mu.Lock()
				ids = append(ids, c.ID)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	slices.Sort(ids)

	// Reads converge: both nodes' read models, once at the last write,
	// list the same cases in the same states.
	list := func(n int, minPos string) map[string]string {
		path := "/v1/cases?authorization=N0001&limit=500"
		if minPos != "" {
			path += "&minPosition=" + minPos
		}
		var out struct {
			Items []struct{ ID, State string } `json:"items"`
		}
		if err := do(n, load.Request{Method: http.MethodGet, Path: path, Token: tram}, http.StatusOK).Decode(&out); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, it := range out.Items {
			m[it.ID] = it.State
		}
		return m
	}
	la, lb := list(0, last.String()), list(1, last.String())
	if !maps.Equal(la, lb) || len(la) != len(ids) {
		t.Fatalf("reads differ at %s: node A %v, node B %v (want %d cases)", last, la, lb, len(ids))
	}
	for id, st := range la {
		if st != "pendiente_informacion" {
			t.Errorf("case %s: %s", id, st)
		}
	}

	// Both nodes run scheduler passes at the same instants: past every
	// requerimiento's term (close de oficio; a trámite also gets its
	// desistimiento put at disposal), then 10 days later (the unread
	// notifications are rejected).
	acted := map[string]int{}
	for _, now := range []string{"2027-01-08T10:00:00+01:00", "2027-01-20T10:00:00+01:00"} {
		var reps [2]passReport
		var wg sync.WaitGroup
		for n := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := nodes[n].Do(ctx, load.Request{Method: http.MethodPost, Path: "/v1/admin/clock", Token: admin, Body: map[string]string{"now": now}})
				if err != nil || r.Status != http.StatusOK {
					t.Errorf("clock on node %c: %v %v", 'A'+n, err, r)
					return
				}
				if err := json.Unmarshal(r.Body, &reps[n]); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		ra, rb := reps[0].Pass, reps[1].Pass
		if ra.Failed+rb.Failed != 0 {
			t.Errorf("pass at %s: failures A %+v B %+v", now, ra, rb)
		}
		for n, r := range []struct{ Considered, Acted, AlreadyDone, Failed int }{ra, rb} {
			if r.Acted+r.AlreadyDone != r.Considered {
				t.Errorf("pass at %s on node %c: %+v", now, 'A'+n, r)
			}
		}
		acted[now] = ra.Acted + rb.Acted
		// Both nodes may report "acted" for one deadline: when both decide
		// before either has appended, the second append proposes the same
		// event IDs at the same expected revision and the store accepts it
		// as an idempotent no-op. The log below is what counts.
		t.Logf("pass at %s: node A %+v, node B %+v", now, ra, rb)
	}
	if got := acted["2027-01-08T10:00:00+01:00"]; got < len(ids) {
		t.Errorf("closures: the nodes acted %d times on %d due deadlines", got, len(ids))
	}
	if got, want := acted["2027-01-20T10:00:00+01:00"], len(ids)/2; got < want {
		t.Errorf("rejections: the nodes acted %d times on %d due deadlines", got, want)
	}

	// The log: each deadline's outcome exactly once, no event twice.
	evs := log()
	checkNoDuplicates(t, evs)
	counts := map[string]map[string]int{}
	for _, e := range evs {
		counts[e.Stream] = addCount(counts[e.Stream], e.Type)
	}
	for i, id := range ids {
		c := counts[cases.Category+"-"+id]
		tramite := c[cases.TypeDesistimientoIssued] > 0
		want := map[string]int{cases.TypeCaseClosedDeOficio: 1}
		if tramite {
			want[cases.TypeDesistimientoIssued] = 1
			want[cases.TypeNotificationMadeAvailable] = 1
			want[cases.TypeNotificationRejected] = 1
		}
		for typ, n := range want {
			if c[typ] != n {
				t.Errorf("case %d (%s): %d %s, want %d", i, id, c[typ], typ, n)
			}
		}
	}

	// Both read models converge on the final state…
	eventually(t, "both nodes to show every case closed de oficio", time.Minute, func() bool {
		la, lb := list(0, ""), list(1, "")
		if !maps.Equal(la, lb) || len(la) != len(ids) {
			return false
		}
		for _, st := range la {
			if st != "cerrado_de_oficio" {
				return false
			}
		}
		return true
	})
	// A resolution issued by whichever node acted verifies on both.
	verified := 0
	for _, id := range ids {
		var c struct {
			Desistimiento *struct{ VerificationCode string } `json:"desistimiento"`
		}
		if err := do(0, load.Request{Method: http.MethodGet, Path: "/v1/cases/" + id, Token: tram}, http.StatusOK).Decode(&c); err != nil {
			t.Fatal(err)
		}
		if c.Desistimiento == nil {
			continue
		}
		for n := range 2 {
			var v struct{ Authentic bool }
			if err := do(n, load.Request{Method: http.MethodGet, Path: "/v1/documents/verify/" + c.Desistimiento.VerificationCode}, http.StatusOK).Decode(&v); err != nil || !v.Authentic {
				t.Errorf("code %s on node %c: authentic %v %v", c.Desistimiento.VerificationCode, 'A'+n, v.Authentic, err)
			}
		}
		verified++
	}
	if verified != len(ids)/2 {
		t.Errorf("%d desistimientos verified, want %d", verified, len(ids)/2)
	}
	a.stop()
	b.stop()
	// …and, row for row, on what a rebuild produces.
	da := checkProjectionsConverge(ctx, t, cfgA)
	db := checkProjectionsConverge(ctx, t, cfgB)
	if !maps.Equal(da, db) {
		t.Errorf("read models differ between the nodes:\nA %v\nB %v", da, db)
	}
}

func addCount(m map[string]int, k string) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[k]++
	return m
}
