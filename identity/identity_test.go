package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"redengine/domain/calendar"
	"redengine/domain/ident"
	"redengine/domain/nss"
	"redengine/errs"
	"redengine/identity"
)

func doc(number string) identity.Document {
	return identity.Document{Type: ident.DocumentDNI, Number: number, FirstName: "María", Surname1: "García",
		Surname2: "López", BirthDate: calendar.Date{Year: 1990, Month: 5, Day: 17}}
}

const unavailableMsg = "no se ha podido realizar la comprobación del DNI; inténtelo más tarde"

// checkUnavailable asserts err is the "could not be performed" error.
func checkUnavailable(t *testing.T, err error) {
	t.Helper()
	if !errs.Is(errs.Unavailable, err) {
		t.Fatalf("err = %v (kind %s), want unavailable", err, errs.KindOf(err))
	}
	if got := errs.MessageOf(err); got != unavailableMsg {
		t.Errorf("message = %q, want %q", got, unavailableMsg)
	}
	if strings.Contains(err.Error(), "12345678Z") {
		t.Errorf("error carries the document: %v", err)
	}
}

// checkNotValid asserts err is the "not valid" error on documentNumber.
func checkNotValid(t *testing.T, err error, reason string) {
	t.Helper()
	if !errs.Is(errs.Invalid, err) {
		t.Fatalf("err = %v (kind %s), want invalid", err, errs.KindOf(err))
	}
	f := errs.FieldsOf(err)
	if len(f) != 1 || f[0].Field != "documentNumber" || !strings.Contains(f[0].Reason, reason) {
		t.Errorf("fields = %+v, want documentNumber with %q", f, reason)
	}
}

// service is a verification service on loopback that answers from a table
// of document numbers, and records what it was sent.
type service struct {
	mu       sync.Mutex
	got      []map[string]any
	release  chan struct{}
	verdicts map[string]string // number → "valid" | "invalid" | "500" | "hang" | "garbage" | "novalid" | "huge" | "404"
}

func newService(t *testing.T) (*service, *httptest.Server) {
	s := &service{release: make(chan struct{}), verdicts: map[string]string{
		"12345678Z": "valid", "00000000T": "invalid", "99999999R": "500", "26885671M": "hang",
		"11111111H": "garbage", "22222222J": "novalid", "44444444A": "huge", "55555555K": "404",
	}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.release) // let hanging handlers go before Close waits for them
		srv.Close()
	})
	return s, srv
}

func (s *service) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.got = append(s.got, body)
	s.mu.Unlock()
	number, _ := body["documentNumber"].(string)
	w.Header().Set("Content-Type", "application/json")
	switch s.verdicts[number] {
	case "valid":
		io.WriteString(w, `{"valid": true}`)
	case "invalid":
		io.WriteString(w, `{"valid": false, "reason": "el DNI no consta en el registro"}`)
	case "500":
		http.Error(w, "boom", http.StatusInternalServerError)
	case "404":
		http.Error(w, "not here", http.StatusNotFound)
	case "hang":
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
	case "garbage":
		io.WriteString(w, `<html>maintenance</html>`)
	case "novalid":
		io.WriteString(w, `{"ok": true}`)
	case "huge":
		io.WriteString(w, `{"valid": true, "reason": "`+strings.Repeat("x", 70<<10)+`"}`)
	default:
		io.WriteString(w, `{"valid": false}`)
	}
}

func TestHTTPVerifier(t *testing.T) {
	svc, srv := newService(t)
	v, err := identity.NewHTTPVerifier(srv.URL+"/verify", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("valid", func(t *testing.T) {
		r, err := v.Verify(ctx, doc("12345678Z"))
		if err != nil || !r.Valid {
			t.Fatalf("Verify = %+v, %v", r, err)
		}
		svc.mu.Lock()
		defer svc.mu.Unlock()
		want := map[string]any{"documentType": "DNI", "documentNumber": "12345678Z", "firstName": "María",
			"surname1": "García", "surname2": "López", "birthDate": "1990-05-17"}
		last := svc.got[len(svc.got)-1]
		for k, w := range want {
			if last[k] != w {
				t.Errorf("sent %s = %v, want %v", k, last[k], w)
			}
		}
		if len(last) != len(want) {
			t.Errorf("sent %v, want exactly %v", last, want)
		}
	})
	t.Run("not valid, with a reason", func(t *testing.T) {
		r, err := v.Verify(ctx, doc("00000000T"))
		if r.Valid || r.Reason != "el DNI no consta en el registro" {
			t.Errorf("result = %+v", r)
		}
		checkNotValid(t, err, "no consta en el registro")
	})
	t.Run("not valid, no reason", func(t *testing.T) {
		_, err := v.Verify(ctx, doc("01234567L"))
		checkNotValid(t, err, "no corresponde a los datos")
	})
	for name, number := range map[string]string{
		"500":                  "99999999R",
		"404":                  "55555555K",
		"hangs past timeout":   "26885671M",
		"not JSON":             "11111111H",
		"JSON without valid":   "22222222J",
		"reply over the limit": "44444444A",
	} {
		t.Run(name, func(t *testing.T) {
			r, err := v.Verify(ctx, doc(number))
			if r.Valid {
				t.Error("result says valid")
			}
			checkUnavailable(t, err)
		})
	}
	t.Run("caller's context cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := v.Verify(cctx, doc("12345678Z"))
		checkUnavailable(t, err)
	})
}

func TestHTTPVerifierClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	v, err := identity.NewHTTPVerifier("http://"+addr+"/verify", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), doc("12345678Z"))
	checkUnavailable(t, err)
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("cause is not a network error: %v", err)
	}
}

func TestNewHTTPVerifier(t *testing.T) {
	for _, bad := range []string{"", "localhost:8080", "ftp://x/y", "http://", "://"} {
		if _, err := identity.NewHTTPVerifier(bad, time.Second); !errs.Is(errs.Invalid, err) {
			t.Errorf("NewHTTPVerifier(%q) = %v, want invalid", bad, err)
		}
	}
	v, err := identity.NewHTTPVerifier("https://verifier.example/v1/check", 0)
	if err != nil || v.Timeout() != identity.DefaultTimeout || v.Name() != "http" {
		t.Errorf("v = %+v, %v", v, err)
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	v, err := identity.FromEnv(env(nil))
	if _, ok := v.(identity.Builtin); !ok || err != nil {
		t.Errorf("no URL: %T, %v", v, err)
	}
	v, err = identity.FromEnv(env(map[string]string{identity.EnvURL: "http://127.0.0.1:9/verify", identity.EnvTimeout: "750ms"}))
	h, ok := v.(*identity.HTTPVerifier)
	if !ok || err != nil || h.Timeout() != 750*time.Millisecond || h.URL() != "http://127.0.0.1:9/verify" {
		t.Errorf("URL set: %T %+v, %v", v, v, err)
	}
	if _, err := identity.FromEnv(env(map[string]string{identity.EnvURL: "http://x", identity.EnvTimeout: "soon"})); !errs.Is(errs.Invalid, err) {
		t.Errorf("bad timeout: %v", err)
	}
}

func TestBuiltin(t *testing.T) {
	ctx := context.Background()
	var v identity.Builtin
	for _, n := range []string{"12345678Z", "00000000T", "99999999R", "26885671M"} {
		if r, err := v.Verify(ctx, doc(n)); err != nil || !r.Valid {
			t.Errorf("%s: %+v, %v", n, r, err)
		}
	}
	nie := identity.Document{Type: ident.DocumentNIE, Number: "X1234567L", FirstName: "Ana", Surname1: "Pop"}
	if r, err := v.Verify(ctx, nie); err != nil || !r.Valid {
		t.Errorf("NIE: %+v, %v", r, err)
	}
	for _, n := range identity.NonExistentDocuments() {
		d := doc(n)
		if n[0] == 'X' || n[0] == 'Y' {
			d.Type = ident.DocumentNIE
		}
		r, err := v.Verify(ctx, d)
		if r.Valid {
			t.Errorf("%s declared valid", n)
		}
		checkNotValid(t, err, "no consta")
	}
	_, err := v.Verify(ctx, doc("12345678A"))
	checkNotValid(t, err, "letra")
	_, err = v.Verify(ctx, doc(identity.UnavailableDocument))
	checkUnavailable(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = v.Verify(cctx, doc("12345678Z"))
	checkUnavailable(t, err)
}

// TestCheck: the helper the API calls gives nss.RequestAssignment its
// Verification, and the decision accepts it.
func TestCheck(t *testing.T) {
	loc, _ := calendar.LoadMadrid()
	now := time.Date(2021, 7, 5, 10, 0, 0, 0, loc)
	req := nss.Request{DocumentType: "DNI", DocumentNumber: "12345678Z", FirstName: "María", Surname1: "García",
		Surname2: "López", BirthDate: "1990-05-17", Sex: "mujer", Nationality: "ESP", MobilePhone: "612345678",
		PhoneConsent: true, Address: nss.Address{TipoVia: "CL", NombreVia: "Mayor", CodigoPostal: "28100", Localidad: "Alcobendas"},
		EmailDeclined: true}
	p, err := nss.Validate(req, nss.DefaultPolicy(nss.DefaultCatalogue()), now)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := identity.Check(context.Background(), identity.Builtin{}, p)
	if err != nil || ver != (nss.Verification{Verifier: "builtin", Valid: true}) {
		t.Fatalf("Check = %+v, %v", ver, err)
	}

	_, srv := newService(t)
	hv, _ := identity.NewHTTPVerifier(srv.URL, 100*time.Millisecond)
	p.DocumentNumber = "00000000T"
	ver, err = identity.Check(context.Background(), hv, p)
	if ver.Valid || ver.Verifier != "http" {
		t.Errorf("ver = %+v", ver)
	}
	checkNotValid(t, err, "no consta")
	p.DocumentNumber = "99999999R"
	_, err = identity.Check(context.Background(), hv, p)
	checkUnavailable(t, err)
}
