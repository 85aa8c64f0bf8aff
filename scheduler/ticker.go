package scheduler

import (
	"context"
	"log/slog"
	"time"
	_ "time/tzdata" // Europe/Madrid on a machine without a zone database

	"github.com/robfig/cron/v3"

	"redengine/clock"
	"redengine/errs"
)

// Location is the time zone the ticker's schedule runs in.
const Location = "Europe/Madrid"

// Ticker runs a scheduler pass each minute, as of the clock's now. It only
// ticks: what is due, and what to do, is the Scheduler's business. A tick
// that comes while the previous pass still runs is skipped.
type Ticker struct {
	s   *Scheduler
	clk clock.Clock
	log *slog.Logger
}

// NewTicker returns a ticker for s reading the time from clk.
func NewTicker(s *Scheduler, clk clock.Clock, logger *slog.Logger) *Ticker {
	if logger == nil {
		logger = slog.Default()
	}
	return &Ticker{s: s, clk: clk, log: logger}
}

// Run ticks at the start of every minute (cron "* * * * *" in
// Europe/Madrid) until ctx ends, then waits for a running pass to finish.
func (t *Ticker) Run(ctx context.Context) error {
	loc, err := time.LoadLocation(Location)
	if err != nil {
		return errs.E(errs.Op("scheduler.Ticker"), errs.Internal, err)
	}
	c := cron.New(cron.WithLocation(loc), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	if _, err := c.AddFunc("* * * * *", func() { t.tick(ctx) }); err != nil {
		return errs.E(errs.Op("scheduler.Ticker"), errs.Internal, err)
	}
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}

// tick runs one pass as of the clock's now and logs its outcome.
func (t *Ticker) tick(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	rep, err := t.s.Due(ctx, t.clk.Now())
	if err != nil {
		if ctx.Err() == nil {
			t.log.Error("scheduler pass failed", "as_of", rep.AsOf, "error", err)
		}
		return
	}
	if rep.Considered > 0 {
		t.log.Info("scheduler pass", "as_of", rep.AsOf, "considered", rep.Considered, "acted", rep.Acted,
			"already_done", rep.AlreadyDone, "failed", rep.Failed, "took", rep.Took)
	}
}
