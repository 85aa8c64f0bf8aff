package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"redengine/config"
	"redengine/engine"
	"redengine/errs"
	"redengine/scheduler"
)

// schedulerCmd runs `redengine scheduler run [--as-of RFC3339]`: one pass by
// hand, e.g. to catch up after an outage. With the system clock an as-of in
// the future is refused.
func schedulerCmd(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		return errs.E(errs.Invalid, "uso: redengine scheduler run [--as-of RFC3339]")
	}
	fs := flag.NewFlagSet("scheduler run", flag.ContinueOnError)
	asOf := fs.String("as-of", "", "instant of the pass (RFC 3339); default now")
	if err := fs.Parse(args[1:]); err != nil {
		return errs.E(errs.Invalid, err)
	}
	if err := requireStore(cfg); err != nil {
		return err
	}
	e, err := engine.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer e.Close()
	now := e.Clock.Now()
	if *asOf != "" {
		t, err := time.Parse(time.RFC3339, *asOf)
		if err != nil {
			return errs.E(errs.Invalid, errs.FieldError{Field: "--as-of", Reason: "instante RFC 3339 no válido"})
		}
		if err := scheduler.ValidateAsOf(e.Clock, t); err != nil {
			return err
		}
		now = t
	}
	rep, err := e.RunPass(ctx, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pass as of %s: %d due, %d acted, %d already done, %d failed\n",
		rep.AsOf.Format(time.RFC3339), rep.Considered, rep.Acted, rep.AlreadyDone, rep.Failed)
	if rep.Failed > 0 {
		return errs.E(errs.Internal, fmt.Sprintf("%d plazos fallaron; vuelva a ejecutar la pasada", rep.Failed))
	}
	return nil
}
