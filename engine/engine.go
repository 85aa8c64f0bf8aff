// Package engine wires the parts of redengine into one running process:
// event store, command handlers, projections, scheduler, mailer and the HTTP
// API. cmd/redengine calls it; end-to-end tests start it on loopback.
package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"

	"database/sql"

	"redengine/api"
	"redengine/auth"
	"redengine/clock"
	"redengine/commands"
	"redengine/config"
	"redengine/docs"
	"redengine/domain/authorizations"
	"redengine/errs"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
	"redengine/mailer"
	"redengine/metrics"
	"redengine/projections"
	"redengine/readmodels"
	"redengine/scheduler"

	"github.com/google/uuid"
)

// ServeGCPercent is the garbage collector's target a serving process sets
// when GOGC is not in its environment (cmd/redengine serve, loadgen -self):
// the engine's live heap is tens of megabytes on machines with gigabytes,
// and collecting a quarter as often gave about 10 % more commands/s under
// the load mix (docs/benchmarks.md).
const ServeGCPercent = 400

// ServeProcs is the GOMAXPROCS a serving process sets when GOMAXPROCS is
// not in its environment, given the runtime's default procs and the
// projections' nice value: one P more than the cores when the read models'
// thread runs at a lower priority (on Linux), since the kernel may hold
// that thread back while it has a P; without that P the requests would have
// one core fewer than the machine. Under the load mix on two cores the pair gave
// about 10 % more commands/s (docs/benchmarks.md, "Noon session").
func ServeProcs(procs, nice int) int {
	if nice > 0 && runtime.GOOS == "linux" {
		return procs + 1
	}
	return procs
}

// Engine is one running engine.
type Engine struct {
	Config  config.Config
	Clock   clock.Clock
	Log     *slog.Logger
	Store   eventstore.Store
	Metrics *metrics.Metrics
	Issuer  *auth.Issuer
	API     *api.Server
	// ReadDB is readmodels.db; Projections keeps it up to date. Its
	// commits are not synced (projections.OpenUnsynced).
	ReadDB *sql.DB
	readDB *projections.DB
	// Reads runs the API's queries of ReadDB, each prepared once.
	Reads       *readmodels.Prepared
	Projections *projections.Runner
	Scheduler   *scheduler.Scheduler
	// Mailer delivers requested emails; nil when no SMTP server is
	// configured (emails then wait in the outbox).
	Mailer *mailer.Mailer

	// imports is closed while FIE files are imported: the FIER read model
	// waits meanwhile (projections.Options.Hold).
	imports *projections.Gate

	closeOnce  sync.Once
	secretOnce sync.Once
	master     []byte
	masterErr  error
}

// Open builds an engine from its configuration. The caller must Close it.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk, err := clock.Parse(cfg.Clock)
	if err != nil {
		return nil, err
	}
	return OpenWith(ctx, cfg, clk, log)
}

// OpenWith is Open with a given clock (tests pass a *clock.Manual).
func OpenWith(ctx context.Context, cfg config.Config, clk clock.Clock, log *slog.Logger) (*Engine, error) {
	const op = errs.Op("engine.Open")
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{Config: cfg, Clock: clk, Log: log, Metrics: metrics.New(), imports: projections.NewGate()}
	if cfg.JWTSecret != "" {
		iss, err := auth.NewIssuer(cfg.JWTSecret, clk.Now)
		if err != nil {
			return nil, errs.E(op, err)
		}
		e.Issuer = iss
	}
	m := e.Metrics
	store, err := OpenStore(ctx, cfg, clk, sqlite.WithObserver(sqlite.Observer{
		Append: func(t sqlite.AppendTiming) {
			m.StoreAppend(metrics.AppendStages{Queue: t.Queued, Commit: t.Committing, SyncQueue: t.SyncQueued,
				Sync: t.Syncing, Wake: t.Waking, Provisional: t.Provisional})
		},
		Checkpoint: m.CheckpointHold,
	}))
	if err != nil {
		return nil, errs.E(op, err)
	}
	if st, ok := store.(interface{ Stats() sqlite.Stats }); ok {
		e.Metrics.Store(metrics.StoreCounters{
			Commits:     func() uint64 { return st.Stats().Commits },
			Events:      func() uint64 { return st.Stats().Events },
			Checkpoints: func() uint64 { return st.Stats().Checkpoints },
			Lingers:     func() uint64 { return st.Stats().Lingers },
		})
	}
	store = counting(store, e.Metrics)
	e.Store = store
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		e.Close()
		return nil, errs.E(op, errs.Unavailable, "no se puede crear el directorio de datos", err)
	}
	db, err := projections.OpenUnsynced(ctx, cfg.ReadModelsPath())
	if err != nil {
		e.Close()
		return nil, errs.E(op, err)
	}
	db.PaceWriteback(cfg.ProjectionWriteback)
	if db.Discarded {
		e.Log.Warn("read models discarded: written without sync when the machine stopped; rebuilding them from the log", "path", cfg.ReadModelsPath())
	}
	e.readDB, e.ReadDB = db, db.DB
	e.Reads = readmodels.NewPrepared(e.ReadDB)
	dir := &api.Directory{
		Handler: commands.NewHandler(store, clk, authorizations.Aggregate(), e.conflictHook()),
		DB:      e.Reads,
		// The projections runner starts after the features are built.
		CatchUp: func(ctx context.Context) error {
			head, err := e.Store.Head(ctx)
			if err != nil {
				return err
			}
			return e.Projections.WaitFor(ctx, readmodels.Authorizations{}.Name(), head)
		},
	}
	feats, err := e.features(dir)
	if err != nil {
		e.Close()
		return nil, errs.E(op, err)
	}
	modules := []api.Module{
		api.Audit{Store: store},
	}
	projs := []projections.Projection{readmodels.Authorizations{}, mailer.NewOutbox()}
	recorders := mailer.ByCategory{}
	var mappers []scheduler.Mapper
	var prefixes []string
	actions := map[string]scheduler.Dispatcher{}
	for _, f := range feats {
		if f.Module != nil {
			modules = append(modules, f.Module)
		}
		projs = append(projs, f.Projections...)
		if f.Deadlines != nil {
			mappers = append(mappers, f.Deadlines)
			prefixes = append(prefixes, f.DeadlineStreams...)
		}
		for cat, r := range f.Recorders {
			recorders[cat] = r
		}
		for name, d := range f.Actions {
			if _, dup := actions[name]; dup {
				e.Close()
				return nil, errs.E(op, errs.Internal, "acción de plazo repetida: "+name)
			}
			actions[name] = d
		}
	}
	deadlines := scheduler.NewDeadlines(composeMappers(mappers), eventstore.Filter{StreamPrefixes: prefixes})
	projs = append(projs, deadlines)
	if err := e.startProjections(ctx, projs); err != nil {
		e.Close()
		return nil, errs.E(op, err)
	}
	e.Scheduler = scheduler.New(scheduler.Config{
		DB:          e.ReadDB,
		Store:       store,
		Projections: e.Projections,
		Deadlines:   deadlines,
		Dispatch:    dispatchByAction(actions, e.Metrics),
		Logger:      log,
		OnPass: func(r scheduler.Report, err error) {
			outcome := "ok"
			if err != nil || r.Failed > 0 {
				outcome = "failed"
			}
			e.Metrics.Pass(outcome)
		},
	})
	if err := e.openMailer(recorders); err != nil {
		e.Close()
		return nil, errs.E(op, err)
	}
	manual, _ := clk.(*clock.Manual)
	modules = append(modules, api.Authorizations{Dir: dir, Wait: e.Projections}, api.Admin{Manual: manual, Clock: clk, Pass: e.pass})
	e.API = api.New(api.Deps{
		Config:  cfg,
		Clock:   clk,
		Issuer:  e.Issuer,
		Log:     log,
		Metrics: e.Metrics,
		Ready:   e.ready,
		OpenAPI: docs.OpenAPI,
		Modules: modules,
	})
	return e, nil
}

// feature is what one capability (cases, NSS, FIE) adds to the engine.
type feature struct {
	Module      api.Module
	Projections []projections.Projection
	// Deadlines maps the feature's events to deadline changes (nil: none);
	// DeadlineStreams are the stream prefixes it reads.
	Deadlines       scheduler.Mapper
	DeadlineStreams []string
	// Actions handles the feature's due deadlines, by action name.
	Actions map[string]scheduler.Dispatcher
	// Recorders record email outcomes on the feature's aggregates, by
	// stream category.
	Recorders mailer.ByCategory
}

// features builds every capability's wiring (engine/<feature>.go).
func (e *Engine) features(dir *api.Directory) ([]feature, error) {
	var out []feature
	for _, build := range []func(*api.Directory) (feature, error){e.casesFeature, e.nssFeature, e.fieFeature} {
		f, err := build(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	// One verification route serves every document of the engine.
	var docs *api.Cases
	for _, f := range out {
		if c, ok := f.Module.(*api.Cases); ok {
			docs = c
		}
	}
	for _, f := range out {
		if n, ok := f.Module.(*api.NSS); ok && docs != nil {
			docs.OtherDocuments = append(docs.OtherDocuments, n.VerifyCode)
		}
	}
	return out, nil
}

func (e *Engine) startProjections(ctx context.Context, projs []projections.Projection) error {
	r, err := projections.New(e.ReadDB, e.Store, projs, projections.Options{
		Logger:      e.Log,
		Clock:       e.Clock,
		WaitTimeout: e.Config.WaitTimeout,
		Nice:        e.Config.ProjectionNice,
		Gather:      e.Config.ProjectionGather,
		OnBatch:     func(name string, events int, _ eventstore.Position) { e.Metrics.Batch(name, events) },
		Hold: func(name string) <-chan struct{} {
			if name == readmodels.FIEName {
				return e.imports.Held()
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	if err := r.Init(ctx); err != nil {
		return err
	}
	e.Projections = r
	return nil
}

func (e *Engine) conflictHook() commands.Option {
	return commands.WithConflictHook(func(string, int) { e.Metrics.Append("conflict") })
}

// pass runs one scheduler pass as of now.
func (e *Engine) pass(ctx context.Context, now time.Time) (api.PassReport, error) {
	rep, err := e.Scheduler.Due(ctx, now)
	if e.Mailer != nil {
		e.Mailer.Notify() // the clock may have moved: backoffs may have expired
	}
	out := api.PassReport{AsOf: rep.AsOf.UTC(), Considered: rep.Considered, Acted: rep.Acted, AlreadyDone: rep.AlreadyDone, Failed: rep.Failed}
	for _, f := range rep.Failures {
		e.Log.Warn("deadline failed", "deadline", f.Deadline.ID, "action", f.Deadline.Action, "error", f.Err.Error())
	}
	return out, err
}

// RunPass runs one scheduler pass as of now outside the server (the CLI):
// it runs the projections until the pass is done, so the deadlines model
// has caught up with the log before the pass reads it.
func (e *Engine) RunPass(ctx context.Context, now time.Time) (api.PassReport, error) {
	bg, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.Projections.Run(bg)
	}()
	defer func() {
		stop()
		<-done
	}()
	return e.pass(ctx, now)
}

// composeMappers runs every feature's mapper on an event; each ignores the
// events of other features.
func composeMappers(ms []scheduler.Mapper) scheduler.Mapper {
	return func(ev eventstore.Event) ([]scheduler.Change, error) {
		var out []scheduler.Change
		for _, m := range ms {
			cs, err := m(ev)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
		return out, nil
	}
}

// dispatchByAction routes a due deadline to its feature's dispatcher.
func dispatchByAction(actions map[string]scheduler.Dispatcher, m *metrics.Metrics) scheduler.Dispatcher {
	return func(ctx context.Context, d scheduler.Deadline, id uuid.UUID) (scheduler.Outcome, error) {
		fn, ok := actions[d.Action]
		if !ok {
			return 0, errs.E(errs.Op("engine.dispatch"), errs.Internal, "acción de plazo desconocida: "+d.Action)
		}
		out, err := fn(ctx, d, id)
		switch {
		case err != nil:
			m.Act(d.Action, "failed")
		case out == scheduler.AlreadyDone:
			m.Act(d.Action, "already_done")
		default:
			m.Act(d.Action, "acted")
		}
		return out, err
	}
}

func (e *Engine) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := e.Store.Head(ctx); err != nil {
		return errs.E(errs.Op("engine.ready"), errs.Unavailable, "el almacén de eventos no responde", err)
	}
	return nil
}

// Listen opens the configured address.
func (e *Engine) Listen() (net.Listener, error) {
	l, err := net.Listen("tcp", e.Config.Addr)
	if err != nil {
		return nil, errs.E(errs.Op("engine.Listen"), errs.Unavailable, fmt.Sprintf("no se puede escuchar en %s", e.Config.Addr), err)
	}
	return l, nil
}

// Run serves on the configured address until ctx ends, then shuts down
// gracefully: in-flight requests finish, background work stops, the store
// closes. It writes a short banner to out.
func (e *Engine) Run(ctx context.Context, out io.Writer) error {
	l, err := e.Listen()
	if err != nil {
		return err
	}
	return e.Serve(ctx, l, out)
}

// serveDebug serves Go's profiles (net/http/pprof) on Config.DebugAddr
// until ctx ends: CPU, heap, goroutines, for measuring a running engine
// (docs/operations.md). Only on that address, never on the API's.
func (e *Engine) serveDebug(ctx context.Context, l net.Listener, wg *sync.WaitGroup) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	e.Log.Info("serving profiles", "addr", l.Addr().String())
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = srv.Serve(l)
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		_ = srv.Close()
	}()
}

// Serve is Run on a given listener.
func (e *Engine) Serve(ctx context.Context, l net.Listener, out io.Writer) error {
	defer e.Close()
	url := "http://" + l.Addr().String()
	// The profiles' address is taken before anything says the engine
	// serves: a taken address stops the start, not a running engine.
	var debugL net.Listener
	if e.Config.DebugAddr != "" {
		dl, err := net.Listen("tcp", e.Config.DebugAddr)
		if err != nil {
			return errs.E(errs.Op("engine.Serve"), errs.Unavailable, "no se puede escuchar en REDENGINE_DEBUG_ADDR "+e.Config.DebugAddr, err)
		}
		debugL = dl
		defer func() {
			if debugL != nil {
				debugL.Close()
			}
		}()
	}
	if e.Config.Demo {
		if err := e.LoadDemo(ctx); err != nil {
			return err
		}
	}
	if out != nil {
		fmt.Fprintf(out, "redengine listening on %s\n  OpenAPI: %s/openapi.yaml\n  data:    %s\n", url, url, e.Config.DataDir)
		if e.Config.Demo {
			e.PrintTokens(out, url)
		}
	}
	e.Log.Info("serving", "addr", l.Addr().String())
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := e.Projections.Run(bg); err != nil && bg.Err() == nil {
			e.Log.Error("projections stopped", "error", err.Error())
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.watchLag(bg, 15*time.Second)
	}()
	if debugL != nil {
		e.serveDebug(bg, debugL, &wg)
		debugL = nil // the profiles' server closes it
	}
	if e.Mailer != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.Mailer.Run(bg); err != nil && bg.Err() == nil {
				e.Log.Error("mailer stopped", "error", err.Error())
			}
		}()
	} else {
		e.Log.Info("no REDENGINE_SMTP_ADDR: emails are recorded and queued, not sent")
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := scheduler.NewTicker(e.Scheduler, e.Clock, e.Log)
		if err := t.Run(bg); err != nil && bg.Err() == nil {
			e.Log.Error("scheduler ticker stopped", "error", err.Error())
		}
	}()
	defer func() {
		stopBG()
		wg.Wait()
	}()
	errc := make(chan error, 1)
	go func() { errc <- e.API.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	e.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.API.Shutdown(sctx); err != nil {
		e.Log.Warn("shutdown", "error", err.Error())
	}
	return <-errc
}

// Close releases the engine's resources.
func (e *Engine) Close() error {
	var err error
	e.closeOnce.Do(func() {
		if e.Reads != nil {
			e.Reads.Close()
		}
		if e.readDB != nil {
			if cerr := e.readDB.Close(); cerr != nil {
				e.Log.Warn("closing the read models", "error", cerr.Error())
			}
		}
		if e.Store != nil {
			err = e.Store.Close()
		}
	})
	return err
}
