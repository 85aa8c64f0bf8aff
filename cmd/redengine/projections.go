package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"redengine/config"
	"redengine/engine"
	"redengine/errs"
)

// projectionsCmd runs `redengine projections status` and
// `redengine projections rebuild NAME`.
func projectionsCmd(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errs.E(errs.Invalid, "uso: redengine projections status | rebuild NAME")
	}
	if err := requireStore(cfg); err != nil {
		return err
	}
	e, err := engine.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer e.Close()
	switch args[0] {
	case "status":
		sts, err := e.Projections.Status(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCHECKPOINT\tHEAD\tLAG\tUPDATED")
		for _, s := range sts {
			lag := fmt.Sprint(s.Lag)
			if s.LagCapped {
				lag = ">" + lag
			}
			updated := "-"
			if !s.UpdatedAt.IsZero() {
				updated = s.UpdatedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Checkpoint, s.Head, lag, updated)
		}
		return tw.Flush()
	case "rebuild":
		if len(args) != 2 {
			return errs.E(errs.Invalid, "uso: redengine projections rebuild NAME")
		}
		bar := newProgress(stdout, "rebuild "+args[1], 0)
		start := time.Now()
		err := e.Projections.Rebuild(ctx, args[1], func(done, total int) {
			bar.SetTotal(int64(total))
			bar.Set(int64(done))
		})
		bar.Done()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rebuilt %s in %s\n", args[1], time.Since(start).Round(time.Millisecond))
		return nil
	}
	return errs.E(errs.Invalid, fmt.Sprintf("subcomando desconocido %q: status | rebuild NAME", args[0]))
}
