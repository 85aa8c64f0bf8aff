// Command redengine is the engine's single binary: the HTTP server and the
// operator's tools (tokens, hash-chain verification, projections, scheduler
// passes, FIE exports).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"redengine/auth"
	"redengine/clock"
	"redengine/config"
	"redengine/engine"
	"redengine/errs"
	"redengine/eventstore"
)

const usage = `redengine — Sistema RED event-sourced engine

Usage:
  redengine serve                         start the HTTP API, projections, scheduler and mailer
  redengine token --role R --sub S [--autorizacion A]... [--ttl 24h]
                                          print a bearer token signed with REDENGINE_JWT_SECRET
  redengine verify [--data DIR]           check the hash chain of every stream
  redengine projections status|rebuild NAME
  redengine scheduler run [--as-of RFC3339]
  redengine fie export --ccc C --from D --to D --out file.xlsx
  redengine fie import FILE | fie generate --companies N --workers N --records N --out FILE

Configuration comes from REDENGINE_* environment variables (docs/operations.md).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cfg, err := config.Load(nil)
	if err != nil {
		fmt.Fprintln(stderr, "redengine:", describe(err))
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var cmdErr error
	switch args[0] {
	case "serve":
		cmdErr = serve(ctx, cfg, log, args[1:], stdout)
	case "token":
		cmdErr = token(cfg, args[1:], stdout)
	case "verify":
		cmdErr = verify(ctx, cfg, args[1:], stdout)
	case "projections":
		cmdErr = projectionsCmd(ctx, cfg, log, args[1:], stdout)
	case "scheduler":
		cmdErr = schedulerCmd(ctx, cfg, log, args[1:], stdout)
	case "fie":
		cmdErr = fieCmd(ctx, cfg, log, args[1:], stdout)
	default:
		fmt.Fprintf(stderr, "redengine: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if cmdErr != nil {
		fmt.Fprintln(stderr, "redengine:", describe(cmdErr))
		if errs.Is(errs.Invalid, cmdErr) {
			return 2
		}
		return 1
	}
	return 0
}

// requireStore refuses a command that works on an existing embedded store
// when its file is missing: opened, the store would be created empty, and a
// mistyped data directory would pass `verify` with nothing in it.
func requireStore(cfg config.Config) error {
	if strings.HasPrefix(cfg.EventStore, "esdb") {
		return nil
	}
	if _, err := os.Stat(cfg.EventsPath()); errors.Is(err, os.ErrNotExist) {
		return errs.E(errs.Op("cli.requireStore"), errs.NotFound, fmt.Sprintf(
			"no hay almacén de eventos en %s: compruebe REDENGINE_DATA_DIR (o --data); serve lo crea al arrancar", cfg.EventsPath()))
	}
	return nil
}

// describe words err for the person at the terminal: a classified error
// (bad input, nothing found, a refused step…) by its message alone, as the
// API's problem details word it; an internal one whole, with the
// operations it passed through, for whoever has to look into it.
func describe(err error) string {
	msg := err.Error()
	fields := errs.FieldsOf(err)
	if errs.KindOf(err) != errs.Internal {
		switch m := errs.MessageOf(err); {
		case m != "":
			msg = m
		case len(fields) > 0:
			msg = ""
		default: // the words of what it wraps (a flag's parse error)
			for inner := errors.Unwrap(err); inner != nil; inner = errors.Unwrap(inner) {
				if _, ok := inner.(*errs.Error); !ok {
					msg = inner.Error()
					break
				}
			}
		}
	}
	for _, f := range fields {
		switch {
		case msg == "":
			msg = fmt.Sprintf("%s: %s", f.Field, f.Reason)
		case !strings.Contains(msg, f.Field):
			msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Reason)
		}
	}
	return msg
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (REDENGINE_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (REDENGINE_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return errs.E(errs.Invalid, err)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(engine.ServeGCPercent)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(engine.ServeProcs(runtime.GOMAXPROCS(0), cfg.ProjectionNice))
	}
	e, err := engine.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	return e.Run(ctx, stdout)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func token(cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	role := fs.String("role", "", "role: autorizado, tramitador, auditor, compliance, inss, admin")
	sub := fs.String("sub", "", "subject (user id)")
	ttl := fs.Duration("ttl", 24*time.Hour, "validity")
	var auts multiFlag
	fs.Var(&auts, "autorizacion", "autorización the token is narrowed to (repeatable)")
	if err := fs.Parse(args); err != nil {
		return errs.E(errs.Invalid, err)
	}
	clk, err := clock.Parse(cfg.Clock)
	if err != nil {
		return err
	}
	iss, err := auth.NewIssuer(cfg.JWTSecret, clk.Now)
	if err != nil {
		return err
	}
	p := auth.Principal{Subject: *sub, Role: auth.Role(*role)}
	if len(auts) > 0 {
		p.Autorizaciones = auts
	}
	tok, err := iss.Issue(p, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func verify(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (REDENGINE_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return errs.E(errs.Invalid, "uso: redengine verify [--data DIR]: "+err.Error())
	}
	if fs.NArg() > 0 {
		return errs.E(errs.Invalid, fmt.Sprintf("uso: redengine verify [--data DIR]: argumento de más %q", fs.Arg(0)))
	}
	if err := requireStore(cfg); err != nil {
		return err
	}
	clk, err := clock.Parse(cfg.Clock)
	if err != nil {
		return err
	}
	s, err := engine.OpenStore(ctx, cfg, clk)
	if err != nil {
		return err
	}
	defer s.Close()
	bar := newProgress(stdout, "verify", 0)
	rep, err := eventstore.Verify(ctx, s, func(n int) { bar.Set(int64(n)) })
	bar.Done()
	if err != nil {
		return err
	}
	if rep.Broken != nil {
		fmt.Fprintf(stdout, "BROKEN: stream %q revision %d (position %s): %s\n",
			rep.Broken.Stream, rep.Broken.Revision, rep.Broken.Position, rep.Broken.Reason)
		return errors.New("hash chain broken")
	}
	fmt.Fprintf(stdout, "ok: %d events in %d streams verified in %s\n", rep.Events, rep.Streams, rep.Took.Round(time.Millisecond))
	return nil
}
