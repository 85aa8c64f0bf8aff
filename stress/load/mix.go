package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"redengine/errs"
)

// Sample is one request of a load run.
type Sample struct {
	Op      string // mix entry that issued it
	Name    string // what was asked: "open", "reply", "nss.confirm", "get"…
	Command bool   // a command (writes) or a query
	Status  int    // 0: transport error
	Err     error
	// Position is the X-Position of a command's answer (empty otherwise).
	Position string
}

// Op is one kind of work of a mix: it issues one or more requests and
// reports each through rec.
type Op func(ctx context.Context, w *World, rng *rand.Rand, rec func(Sample, *Response))

// Ops are the kinds of work a mix may name.
var opNames = []string{"open", "reply", "contact", "nss", "get", "list", "me"}

// Mix is a weighted choice of ops.
type Mix struct {
	names   []string
	weights []int
	total   int
}

// DefaultMix is the mix of cmd/loadgen when -mix is not given: mostly case
// work (opening, replying, reading), some contact changes and NSS
// assignments, and list queries on the read models.
const DefaultMix = "open=20,reply=40,contact=10,nss=10,get=10,list=10"

// ParseMix reads "name=weight,…" (names: open, reply, contact, nss, get,
// list, me).
func ParseMix(s string) (Mix, error) {
	const op = errs.Op("load.ParseMix")
	var m Mix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, ws, ok := strings.Cut(part, "=")
		if !ok {
			ws = "1"
		}
		w, err := strconv.Atoi(ws)
		if err != nil || w < 0 {
			return Mix{}, errs.E(op, errs.Invalid, fmt.Sprintf("peso no válido en %q", part))
		}
		if !slices.Contains(opNames, name) {
			return Mix{}, errs.E(op, errs.Invalid, fmt.Sprintf("operación desconocida %q (%s)", name, strings.Join(opNames, ", ")))
		}
		if w == 0 {
			continue
		}
		m.names = append(m.names, name)
		m.weights = append(m.weights, w)
		m.total += w
	}
	if m.total == 0 {
		return Mix{}, errs.E(op, errs.Invalid, "la mezcla está vacía")
	}
	return m, nil
}

// String is the mix as ParseMix reads it.
func (m Mix) String() string {
	var parts []string
	for i, n := range m.names {
		parts = append(parts, fmt.Sprintf("%s=%d", n, m.weights[i]))
	}
	return strings.Join(parts, ",")
}

// pick chooses an op name by weight.
func (m Mix) pick(rng *rand.Rand) string {
	n := rng.IntN(m.total)
	for i, w := range m.weights {
		if n < w {
			return m.names[i]
		}
		n -= w
	}
	return m.names[len(m.names)-1]
}

// run issues one op of the mix.
func (m Mix) run(ctx context.Context, name string, w *World, rng *rand.Rand, rec func(Sample, *Response)) {
	switch name {
	case "open":
		opOpen(ctx, w, rng, rec)
	case "reply":
		opReply(ctx, w, rng, rec)
	case "contact":
		opContact(ctx, w, rng, rec)
	case "nss":
		opNSS(ctx, w, rng, rec)
	case "get":
		opGet(ctx, w, rng, rec)
	case "list":
		opList(ctx, w, rng, rec)
	case "me":
		opMe(ctx, w, rng, rec)
	}
}

func (w *World) do(ctx context.Context, op, name string, command bool, r Request, rec func(Sample, *Response)) *Response {
	resp, err := w.C.Do(ctx, r)
	s := Sample{Op: op, Name: name, Command: command, Err: err}
	if resp != nil {
		s.Status = resp.Status
		if command && resp.OK() {
			s.Position = resp.Header.Get("X-Position")
		}
	}
	rec(s, resp)
	return resp
}

func (w *World) key(kind string) string {
	return fmt.Sprintf("%s-%s-%d", w.Prefix, kind, w.Next())
}

func opOpen(ctx context.Context, w *World, rng *rand.Rand, rec func(Sample, *Response)) {
	i := rng.IntN(len(w.Auts))
	key := w.key("open")
	r := w.do(ctx, "open", "open", true, Request{Method: http.MethodPost, Path: "/v1/cases", Token: w.User(i), Key: key,
		Body: ConsultaBody(w.Auts[i].Number, "Consulta "+key)}, rec)
	if r != nil && r.OK() {
		var out struct {
			ID string `json:"id"`
		}
		if r.Decode(&out) == nil {
			w.addRecent(CaseRef{ID: out.ID, Aut: i})
		}
	}
}

// recentCap bounds the pool of cases replies go to, so streams stay as
// short as real cases (a handful of events) however long the run.
const recentCap = 512

func (w *World) addRecent(c CaseRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.cases) < recentCap {
		w.cases = append(w.cases, c)
		return
	}
	w.cases[int(w.seq.Load())%recentCap] = c
}

func opReply(ctx context.Context, w *World, rng *rand.Rand, rec func(Sample, *Response)) {
	c, ok := w.Case(rng.IntN(1 << 30))
	if !ok {
		opOpen(ctx, w, rng, rec)
		return
	}
	tok := w.User(c.Aut)
	if rng.IntN(2) == 0 {
		tok = w.Tramitador()
	}
	w.do(ctx, "reply", "reply", true, Request{Method: http.MethodPost, Path: "/v1/cases/" + c.ID + "/replies", Token: tok,
		Key: w.key("reply"), Body: map[string]any{"text": "Respuesta de carga " + strconv.FormatInt(w.Next(), 10)}}, rec)
}

func opContact(ctx context.Context, w *World, rng *rand.Rand, rec func(Sample, *Response)) {
	i := rng.IntN(len(w.Auts))
	a := w.Auts[i]
	w.do(ctx, "contact", "contact", true, Request{Method: http.MethodPut, Path: "/v1/autorizaciones/" + a.Number + "/contact",
		Token: w.User(i), Key: w.key("contact"),
		Body: map[string]string{"email": fmt.Sprintf("c%d-%s@load.test", w.Next(), strings.ToLower(a.Number))}}, rec)
}

func opNSS(ctx context.Context, w *World, rng *rand.Rand, rec func(Sample, *Response)) {
	i := rng.IntN(len(w.Auts))
	doc := DNI(nssBase(w.Prefix) + w.Next())
	r := w.do(ctx, "nss", "nss.request", true, Request{Method: http.MethodPost, Path: "/v1/nss-assignments", Token: w.User(i),
		Key: w.key("nss"), Body: NSSBody(w.Auts[i].Number, doc)}, rec)
	if r == nil || !r.OK() {
		return
	}
	var out struct {
		ID string `json:"id"`
	}
	if r.Decode(&out) != nil {
		return
	}
	w.do(ctx, "nss", "nss.confirm", true, Request{Method: http.MethodPost, Path: "/v1/nss-assignments/" + out.ID + "/confirm",
		Token: w.User(i), Key: w.key("confirm")}, rec)
}

// nssBase spreads the DNIs of different worlds apart (a person gets one NSS
// ever, so two runs on one engine must not reuse documents).
func nssBase(prefix string) int64 {
	var h int64
	for _, c := range prefix {
		h = (h*131 + int64(c)) % 9000
	}
	return (h + 100) * 10000
}

func opGet(ctx context.Context, w *World, rng *rand.Rand, rec func(Sample, *Response)) {
	c, ok := w.Case(rng.IntN(1 << 30))
	if !ok {
		opList(ctx, w, rng, rec)
		return
	}
	w.do(ctx, "get", "get", false, Request{Method: http.MethodGet, Path: "/v1/cases/" + c.ID, Token: w.User(c.Aut)}, rec)
}

func opList(ctx context.Context, w *World, rng *rand.Rand, rec func(Sample, *Response)) {
	i := rng.IntN(len(w.Auts))
	w.do(ctx, "list", "list", false, Request{Method: http.MethodGet, Path: "/v1/cases?limit=20&authorization=" + w.Auts[i].Number,
		Token: w.User(i)}, rec)
}

func opMe(ctx context.Context, w *World, rng *rand.Rand, rec func(Sample, *Response)) {
	i := rng.IntN(len(w.Auts))
	w.do(ctx, "me", "me", false, Request{Method: http.MethodGet, Path: "/v1/me/autorizaciones", Token: w.User(i)}, rec)
}

// names returns the sorted keys of a map.
func names[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
