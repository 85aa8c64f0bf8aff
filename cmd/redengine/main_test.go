package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/auth"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVerifyFindsTheBrokenLink(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("REDENGINE_DATA_DIR", dir)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, dir+"/events.db")
	if err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"case-a", "case-b"} {
		for i := range 3 {
			_, err := s.Append(ctx, stream, eventstore.Any, eventstore.EventData{ID: uuid.New(), Type: "T", SchemaVersion: 1,
				Data: json.RawMessage(`{"i":` + string(rune('0'+i)) + `}`), Metadata: eventstore.Metadata{OccurredAt: time.Now()}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Close()

	code, out, errOut := runCLI(t, "verify")
	if code != 0 || !strings.Contains(out, "ok: 6 events in 2 streams") {
		t.Fatalf("verify on an intact log: code %d, out %q, err %q", code, out, errOut)
	}

	db, err := sql.Open("sqlite", dir+"/events.db")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET data = '{"i":9}' WHERE stream = 'case-b' AND revision = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errOut = runCLI(t, "verify")
	if code != 1 || !strings.Contains(out, `stream "case-b" revision 1`) {
		t.Fatalf("verify after tampering: code %d, out %q, err %q", code, out, errOut)
	}
	// --data names the directory; the tampered one still fails through it.
	t.Setenv("REDENGINE_DATA_DIR", t.TempDir())
	if code, out, errOut := runCLI(t, "verify", "--data", dir); code != 1 || !strings.Contains(out, `stream "case-b" revision 1`) {
		t.Fatalf("verify --data: code %d, out %q, err %q", code, out, errOut)
	}
}

// TestVerifyRefusesAMissingStore: a mistyped data directory is an error,
// not an empty store created there that verifies; extra arguments are
// refused.
func TestVerifyRefusesAMissingStore(t *testing.T) {
	missing := t.TempDir() + "/no-such-dir"
	t.Setenv("REDENGINE_DATA_DIR", missing)
	for _, args := range [][]string{{"verify"}, {"verify", "--data", missing}, {"projections", "status"}, {"scheduler", "run"},
		{"fie", "export", "--ccc", "28123456742", "--from", "2026-01-01", "--to", "2026-01-02", "--out", t.TempDir() + "/f.xlsx"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 1 || !strings.Contains(errOut, "no hay almacén de eventos en "+missing+"/events.db") || strings.Contains(out, "ok:") {
			t.Errorf("%v on a missing store: code %d, out %q, err %q", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the missing data directory was created: %v", err)
	}
	dir := t.TempDir()
	t.Setenv("REDENGINE_DATA_DIR", dir)
	if code, _, errOut := runCLI(t, "verify", "extra"); code != 2 || !strings.Contains(errOut, `argumento de más "extra"`) {
		t.Errorf("verify extra: code %d, err %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "verify", "--bogus"); code != 2 || !strings.Contains(errOut, "uso: redengine verify") {
		t.Errorf("verify --bogus: code %d, err %q", code, errOut)
	}
}

func TestTokenCommand(t *testing.T) {
	t.Setenv("REDENGINE_JWT_SECRET", "cli-test-secret-0123456789")
	code, out, errOut := runCLI(t, "token", "--role", "autorizado", "--sub", "ana", "--autorizacion", "1000001")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	iss, _ := auth.NewIssuer("cli-test-secret-0123456789", time.Now)
	p, err := iss.Verify(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "ana" || p.Role != auth.Autorizado || len(p.Autorizaciones) != 1 || p.Autorizaciones[0] != "1000001" {
		t.Errorf("claims %+v", p)
	}
	if code, _, _ := runCLI(t, "token", "--role", "king", "--sub", "x"); code != 2 {
		t.Errorf("unknown role: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "nonsense"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

func TestSchedulerRunByHand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("REDENGINE_DATA_DIR", dir)
	s, err := sqlite.Open(context.Background(), dir+"/events.db") // serve's first start
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, errOut := runCLI(t, "scheduler", "run", "--as-of", "2020-01-01T00:00:00Z")
	if code != 0 || !strings.Contains(out, "pass as of 2020-01-01T00:00:00Z") {
		t.Fatalf("code %d out %q err %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "scheduler", "run", "--as-of", time.Now().Add(time.Hour).Format(time.RFC3339))
	if code == 0 || !strings.Contains(errOut, "futuro") {
		t.Fatalf("a pass in the future with the system clock must be refused: code %d err %q", code, errOut)
	}
	t.Setenv("REDENGINE_CLOCK", "manual:2030-01-01T00:00:00Z")
	if code, _, errOut := runCLI(t, "scheduler", "run", "--as-of", "2031-01-01T00:00:00Z"); code != 0 {
		t.Fatalf("with a manual clock any instant is accepted: code %d err %q", code, errOut)
	}
}

// TestDescribe: the command line words a classified error by its message,
// without the operations it passed through, and an internal one whole.
func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"precondition", errs.E(errs.Op("fiecompany.CheckCount"), errs.Precondition, "no se ha generado ningún fichero de descarga: la consulta no devuelve registros"),
			"no se ha generado ningún fichero de descarga: la consulta no devuelve registros"},
		{"wrapped", errs.E(errs.Op("cli.fie.export"), errs.E(errs.Op("fiecompany.CheckCount"), errs.NotFound, "no consta la empresa")),
			"no consta la empresa"},
		{"fields", errs.E(errs.Op("config.Load"), errs.Invalid, "configuración no válida", errs.FieldError{Field: "REDENGINE_ADDR", Reason: "debe ser host:puerto"}),
			"configuración no válida\n  REDENGINE_ADDR: debe ser host:puerto"},
		{"internal", errs.E(errs.Op("sqlite.Open"), errs.Internal, "disk I/O error"), "sqlite.Open: disk I/O error"},
		{"a field alone", errs.E(errs.Invalid, errs.FieldError{Field: "--as-of", Reason: "instante RFC 3339 no válido"}),
			"--as-of: instante RFC 3339 no válido"},
		{"a flag's error", errs.E(errs.Invalid, errors.New("flag provided but not defined: -x")), "flag provided but not defined: -x"},
		{"unclassified", errors.New("open /x: permission denied"), "open /x: permission denied"},
	} {
		if got := describe(tc.err); got != tc.want {
			t.Errorf("%s: describe = %q, want %q", tc.name, got, tc.want)
		}
	}
}
