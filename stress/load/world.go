package load

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"redengine/auth"
	"redengine/errs"
)

// CCC is the código de cuenta de cotización every autorización of a load
// world manages (a valid one; cases name it in their extra data).
const CCC = "28123456742"

// Aut is one autorización of a world: its number and its usuario
// principal.
type Aut struct {
	Number    string
	Principal string
}

// World is what a load run acts on: autorizaciones (each with its usuario
// principal as the only user) and a pool of open cases.
type World struct {
	C      *Client
	Tokens *Tokens
	Auts   []Aut
	// Prefix makes the world's names unique, so several runs can share one
	// engine.
	Prefix string

	mu    sync.Mutex
	cases []CaseRef
	seq   atomic.Int64
}

// CaseRef is an open case of the world.
type CaseRef struct {
	ID  string
	Aut int // index in Auts
}

// Admin returns the administrator's token.
func (w *World) Admin() string { return w.Tokens.For(auth.Admin, "load-admin") }

// Tramitador returns a tramitador's token.
func (w *World) Tramitador() string { return w.Tokens.For(auth.Tramitador, "load-tram") }

// User returns the token of autorización i's usuario principal.
func (w *World) User(i int) string { return w.Tokens.For(auth.Autorizado, w.Auts[i].Principal) }

// Next returns a number unique within the world (for keys, texts, emails).
func (w *World) Next() int64 { return w.seq.Add(1) }

// Setup registers auts autorizaciones named after prefix (idempotent: an
// existing one is reused) and opens cases consultas spread over them.
func Setup(ctx context.Context, c *Client, tk *Tokens, prefix string, auts, cases int) (*World, error) {
	const op = errs.Op("load.Setup")
	w := &World{C: c, Tokens: tk, Prefix: prefix}
	for i := range auts {
		a := Aut{Number: fmt.Sprintf("%s%04d", prefix, i), Principal: fmt.Sprintf("%s-u%04d", prefix, i)}
		r, err := c.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/autorizaciones", Token: w.Admin(),
			Key: "setup-" + a.Number, Body: map[string]any{"number": a.Number, "usuarioPrincipal": a.Principal,
				"cccs": []string{CCC}, "contactEmail": fmt.Sprintf("buzon-%s@load.test", a.Number)}})
		if err != nil {
			return nil, errs.E(op, errs.Unavailable, err)
		}
		if !r.OK() && r.Status != http.StatusConflict {
			return nil, errs.E(op, errs.Internal, "registering "+a.Number+": "+r.String())
		}
		w.Auts = append(w.Auts, a)
	}
	for i := range cases {
		id, _, err := w.OpenCase(ctx, i%len(w.Auts), fmt.Sprintf("setup-case-%s-%d", prefix, i))
		if err != nil {
			return nil, errs.E(op, err)
		}
		w.AddCase(CaseRef{ID: id, Aut: i % len(w.Auts)})
	}
	return w, nil
}

// ConsultaBody is a valid opening of a consulta for autorización number.
func ConsultaBody(number, subject string) map[string]any {
	return map[string]any{"authorization": number, "type": "consulta", "materia": "Recaudación",
		"categoria": "Aplazamientos", "subcategoria": "Solicitud y requisitos", "subject": subject,
		"body": "¿Qué garantías se exigen para un aplazamiento?", "extraData": map[string]string{"ccc": CCC}}
}

// OpenCase opens a consulta for autorización i with an idempotency key and
// returns its ID.
func (w *World) OpenCase(ctx context.Context, i int, key string) (string, *Response, error) {
	r, err := w.C.Do(ctx, Request{Method: http.MethodPost, Path: "/v1/cases", Token: w.User(i), Key: key,
		Body: ConsultaBody(w.Auts[i].Number, "Consulta "+key)})
	if err != nil {
		return "", nil, err
	}
	if !r.OK() {
		return "", r, errs.E(errs.Op("load.OpenCase"), errs.Internal, "opening a case: "+r.String())
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := r.Decode(&out); err != nil {
		return "", r, err
	}
	return out.ID, r, nil
}

// AddCase adds an open case to the pool.
func (w *World) AddCase(c CaseRef) {
	w.mu.Lock()
	w.cases = append(w.cases, c)
	w.mu.Unlock()
}

// Case returns the n-th case of the pool modulo its size (ok false when the
// pool is empty).
func (w *World) Case(n int) (CaseRef, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.cases) == 0 {
		return CaseRef{}, false
	}
	return w.cases[n%len(w.cases)], true
}

// dniLetters is the DNI control-letter table.
const dniLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// DNI returns the valid DNI with number n (n < 10^8).
func DNI(n int64) string { return fmt.Sprintf("%08d%c", n, dniLetters[n%23]) }

// NSSBody is a valid NSS assignment request for the person with DNI doc,
// acting for autorización number.
func NSSBody(number, doc string) map[string]any {
	return map[string]any{
		"authorization": number, "documentType": "DNI", "documentNumber": doc,
		"firstName": "María José", "surname1": "García", "surname2": "López", "birthDate": "1990-05-17",
		"sex": "mujer", "nationality": "ESP", "mobilePhone": "+34 612 345 678", "phoneConsent": true,
		"address": map[string]any{"tipoVia": "CL", "nombreVia": "Mayor", "numero": "5", "piso": "3", "puerta": "B",
			"codigoPostal": "28100", "localidad": "Alcobendas"},
		"emailDeclined": true,
	}
}
