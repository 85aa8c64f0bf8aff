package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"redengine/config"
	"redengine/errs"
	"redengine/fie"
	"redengine/fie/fier"
)

func TestFIECommandLine(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Clock = "manual:2026-11-27T09:00:00Z"
	log := slog.New(slog.DiscardHandler)
	var out bytes.Buffer
	file := filepath.Join(dir, "f.fie")
	if err := fieCmd(t.Context(), cfg, log, []string{"generate", "--companies", "2", "--workers", "400", "--records", "2", "--out", file}, &out); err != nil {
		t.Fatal(err)
	}
	if err := fieCmd(t.Context(), cfg, log, []string{"import", file}, &out); err != nil {
		t.Fatal(err)
	}
	if err := fieCmd(t.Context(), cfg, log, []string{"import", file}, &out); err != nil || !strings.Contains(out.String(), "ya estaba importado") {
		t.Fatalf("second import: %v\n%s", err, out.String())
	}
	raw, _ := os.ReadFile(file)
	f, err := fie.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	ccc := f.Companies[0].CCC
	xlsx := filepath.Join(dir, "out.xlsx")
	// 800 records and 30 days: beyond the API's policy, fine here.
	if err := fieCmd(t.Context(), cfg, log, []string{"export", "--ccc", ccc, "--from", "2026-11-01", "--to", "2026-11-30", "--out", xlsx}, &out); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(fier.SheetName)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2+800 || rows[2][1] != ccc {
		t.Errorf("%d rows, first %q", len(rows), rows[2][:3])
	}
	err = fieCmd(t.Context(), cfg, log, []string{"export", "--ccc", ccc, "--from", "2026-10-01", "--to", "2026-10-30", "--out", xlsx + "2"}, &out)
	if !errs.Is(errs.NotFound, err) {
		t.Errorf("empty range: %v", err)
	}
	if _, err := os.Stat(xlsx + "2"); err == nil {
		t.Errorf("an empty export left a file")
	}
	if err := fieCmd(t.Context(), cfg, log, []string{"export", "--ccc", "123", "--out", xlsx}, &out); !errs.Is(errs.Invalid, err) {
		t.Errorf("bad arguments: %v", err)
	}
}
