package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"redengine/commands"
	"redengine/config"
	"redengine/engine"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/fie"
	"redengine/fie/fietest"
)

const fieUsage = `uso:
  redengine fie export --ccc C --from AAAA-MM-DD --to AAAA-MM-DD --out fichero.xlsx
      FIER Excel of a CCC for any range, with no policy limit (bulk use)
  redengine fie import FICHERO
      import a FIE 2.0 file into the engine's store, as POST /v1/fie/imports does
  redengine fie generate --companies N --workers N --records N [--seed S] --out fichero.fie
      write a valid synthetic FIE 2.0 file (demos and benchmarks)`

// fieCmd runs `redengine fie export|import|generate`.
func fieCmd(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errs.E(errs.Invalid, fieUsage)
	}
	switch args[0] {
	case "export":
		return fieExport(ctx, cfg, log, args[1:], stdout)
	case "import":
		return fieImport(ctx, cfg, log, args[1:], stdout)
	case "generate":
		return fieGenerate(args[1:], stdout)
	}
	return errs.E(errs.Invalid, fmt.Sprintf("subcomando desconocido %q\n%s", args[0], fieUsage))
}

func fieExport(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fie export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ccc := fs.String("ccc", "", "código cuenta de cotización (11 dígitos)")
	fromS := fs.String("from", "", "first date received, AAAA-MM-DD")
	toS := fs.String("to", "", "last date received, AAAA-MM-DD")
	out := fs.String("out", "", "the .xlsx file to write")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (REDENGINE_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return errs.E(errs.Invalid, err.Error()+"\n"+fieUsage)
	}
	var fe errs.Fields
	if r := fie.CheckCCC(*ccc); r != "" {
		fe.Add("--ccc", r)
	}
	from, err := fie.ParseDate(*fromS)
	if err != nil || from.IsZero() {
		fe.Add("--from", "fecha obligatoria AAAA-MM-DD")
	}
	to, err := fie.ParseDate(*toS)
	if err != nil || to.IsZero() {
		fe.Add("--to", "fecha obligatoria AAAA-MM-DD")
	}
	if len(fe) == 0 && to.Before(from) {
		fe.Add("--to", "anterior a --from")
	}
	if *out == "" {
		fe.Add("--out", "obligatorio: el fichero .xlsx a escribir")
	}
	if len(fe) > 0 {
		return errs.E(errs.Invalid, "argumentos no válidos", fe)
	}
	// Bringing the read model up to date may take a while after a bulk
	// import; the command waits as long as it runs.
	cfg.WaitTimeout = time.Hour
	if err := requireStore(cfg); err != nil {
		return err
	}
	e, err := engine.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer e.Close()
	start := time.Now()
	if err := e.CatchUpFIE(ctx); err != nil {
		return err
	}
	caughtUp := time.Since(start)
	// Reading rows and writing the workbook allocate briskly; with the
	// collector's default target a large share of two cores goes to GC. A
	// larger target keeps the peak below 150 MB
	// and the wall time down (docs/benchmarks.md). Restored on return.
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	tmp, err := os.CreateTemp(filepath.Dir(*out), filepath.Base(*out)+".*.tmp")
	if err != nil {
		return errs.E(errs.Unavailable, "no se puede crear el fichero de salida", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	bar := newProgress(stdout, "FIER", 0)
	n, err := e.ExportFIER(ctx, *ccc, from, to, bw, func(done, total int) {
		bar.SetTotal(int64(total))
		bar.Set(int64(done))
	})
	bar.Done()
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return errs.E(errs.Unavailable, err)
	}
	if err := tmp.Close(); err != nil {
		return errs.E(errs.Unavailable, err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return errs.E(errs.Unavailable, err)
	}
	fmt.Fprintf(stdout, "%d registros del CCC %s (%s a %s) en %s: vista al día en %s, Excel en %s\n", n, *ccc, from, to, *out,
		caughtUp.Round(time.Millisecond), (time.Since(start) - caughtUp).Round(time.Millisecond))
	return nil
}

func fieImport(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fie import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (REDENGINE_DATA_DIR)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return errs.E(errs.Invalid, fieUsage)
	}
	file, err := os.Open(fs.Arg(0))
	if err != nil {
		return errs.E(errs.Invalid, "no se puede leer el fichero", err)
	}
	defer file.Close()
	e, err := engine.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer e.Close()
	start := time.Now()
	meta := commands.Meta{Actor: eventstore.Actor{ID: "redengine-cli", Role: "inss"}}
	res, err := e.FIEIngester().ImportReader(ctx, file, meta)
	var pe *fie.ParseError
	if errors.As(err, &pe) {
		for i, le := range pe.Errors {
			if i == 50 {
				fmt.Fprintf(stdout, "… y %d errores más\n", len(pe.Errors)-50)
				break
			}
			fmt.Fprintln(stdout, le.String())
		}
		return errs.E(errs.Invalid, fmt.Sprintf("fichero rechazado entero: %d errores; no se ha guardado nada", len(pe.Errors)))
	}
	if err != nil {
		return err
	}
	what := "importado"
	if res.Duplicate {
		what = "ya estaba importado (no se ha guardado de nuevo)"
	}
	fmt.Fprintf(stdout, "%s %s: %d empresas, %d trabajadores, %d registros, posición %s, %s\n",
		fs.Arg(0), what, res.Companies, res.Workers, res.Records, res.Position, time.Since(start).Round(time.Millisecond))
	return nil
}

func fieGenerate(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fie generate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	companies := fs.Int("companies", 10, "companies (EMP groups)")
	workers := fs.Int("workers", 10, "workers per company")
	records := fs.Int("records", 2, "benefit records per worker")
	seed := fs.Int64("seed", 1, "seed: the same seed gives the same file")
	out := fs.String("out", "", "the file to write")
	if err := fs.Parse(args); err != nil || *out == "" || *companies < 1 || *workers < 1 || *records < 1 {
		return errs.E(errs.Invalid, fieUsage)
	}
	f, err := os.Create(*out)
	if err != nil {
		return errs.E(errs.Invalid, err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := fietest.Generate(bw, *companies, *workers, *records, *seed); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return errs.E(errs.Unavailable, err)
	}
	if err := f.Close(); err != nil {
		return errs.E(errs.Unavailable, err)
	}
	fmt.Fprintf(stdout, "%s: %d registros\n", *out, *companies**workers**records)
	return nil
}
