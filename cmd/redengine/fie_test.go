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

func TestFieCommandLine(t *testing.T) {
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

// The command-line benchmarks run against a data dir named by
// REDENGINE_BENCH_DATA, one step per process so that /usr/bin/time -v
// measures each alone:
//
//	go test -c -o /tmp/cli.test ./cmd/redengine
//	REDENGINE_BENCH_DATA=/tmp/fiebench /tmp/cli.test -test.run XXX -test.bench FIEImportCLI -test.benchtime 1x
//	REDENGINE_BENCH_DATA=/tmp/fiebench /usr/bin/time -v /tmp/cli.test -test.run XXX -test.bench FIEExportCLI -test.benchtime 1x
func benchConfig(b *testing.B) config.Config {
	dir := os.Getenv("REDENGINE_BENCH_DATA")
	if dir == "" {
		b.Skip("REDENGINE_BENCH_DATA not set")
	}
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Clock = "manual:2026-11-27T09:00:00Z"
	return cfg
}

// BenchmarkFIEImportCLI imports a 100,000-record file of one company
// (50,000 workers × 2 records) into the bench data dir.
func BenchmarkFIEImportCLI(b *testing.B) {
	cfg := benchConfig(b)
	file := filepath.Join(cfg.DataDir, "bulk.fie")
	var out bytes.Buffer
	if err := fieCmd(b.Context(), cfg, slog.New(slog.DiscardHandler), []string{"generate", "--companies", "1", "--workers", "50000", "--records", "2", "--out", file}, &out); err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	f, err := fie.Parse(bytes.NewReader(raw))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "bulk.ccc"), []byte(f.Companies[0].CCC), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := fieCmd(b.Context(), cfg, slog.New(slog.DiscardHandler), []string{"import", file}, &out); err != nil {
		b.Fatal(err)
	}
	b.Log(out.String())
}

// BenchmarkFIEExportCLI is `redengine fie export` of the 100,000 rows: the
// read model caught up from the log first (timed apart), then the workbook.
func BenchmarkFIEExportCLI(b *testing.B) {
	cfg := benchConfig(b)
	raw, err := os.ReadFile(filepath.Join(cfg.DataDir, "bulk.ccc"))
	if err != nil {
		b.Fatal(err)
	}
	ccc := string(raw)
	var out bytes.Buffer
	for i := 0; i < b.N; i++ {
		if err := fieCmd(b.Context(), cfg, slog.New(slog.DiscardHandler), []string{"export", "--ccc", ccc, "--from", "2026-11-27", "--to", "2026-11-27",
			"--out", filepath.Join(b.TempDir(), "bulk.xlsx")}, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.Log(out.String())
}
