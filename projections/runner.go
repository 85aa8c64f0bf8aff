package projections

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"redengine/clock"
	"redengine/errs"
	"redengine/eventstore"
)

// CheckpointTable is the table holding one row per projection: its name, the
// position of the last event applied, the fingerprint of its schema and when
// it last moved.
const CheckpointTable = "projection_checkpoints"

// Options tune a Runner. The zero value is usable.
type Options struct {
	// BatchSize is the most events applied in one transaction (default 500).
	// A batch is also committed as soon as the subscription has nothing more
	// ready, so live events are applied one by one without waiting.
	BatchSize int
	// WaitTimeout bounds WaitFor (default 5s).
	WaitTimeout time.Duration
	// MinBackoff and MaxBackoff bound the pause before a failed projection
	// is retried; the pause doubles on each consecutive failure (defaults
	// 200ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// Logger receives failures and rebuild notices (default slog.Default()).
	Logger *slog.Logger
	// Clock stamps updated_at (default the system clock).
	Clock clock.Clock
	// OnBatch, when set, is called after each committed batch with the
	// number of events the batch covered and the new checkpoint (metrics).
	OnBatch func(projection string, events int, checkpoint eventstore.Position)
	// OnError, when set, is called for each failed batch (metrics).
	OnError func(projection string, err error)
	// Hold, when set, is asked before each batch whether a projection must
	// wait: nil, or a channel closed when it may go on (a Gate's Held). A
	// held projection leaves the shared reader, applies nothing, and catches
	// up from its checkpoint once released: the engine holds the FIER read
	// model while a FIE file is imported, so that the import has the cores
	// and answers sooner, and the model then catches up alone, about as
	// soon as it would have while competing. A projection is held at most
	// MaxHold in a row (default 30s).
	Hold    func(projection string) <-chan struct{}
	MaxHold time.Duration
	// Nice, when above 0, is the nice value (1–19) of the OS thread that
	// applies the live batches (Linux; elsewhere ignored, with a warning).
	// The commands' goroutines then get the cores first: under a full load
	// the kernel gives that thread what the requests leave, and the read
	// models follow in larger batches, which cost less per event. While a
	// WaitFor waits (a client reading its own write), batches are applied
	// at the process's priority instead, so that reader is not kept behind
	// the commands. A process that sets it should give Go one more P than
	// it has cores (redengine serve does), so that while the kernel holds
	// that thread back with a P the requests still have one per core.
	Nice int
	// Gather, when above 0, is how long the shared reader waits for more
	// events after the first of a live batch, up to 64 (or BatchSize), before it
	// applies the batch — while no WaitFor waits: a reader waiting for its
	// own write ends the wait at once. Each batch costs a transaction, the
	// checkpoints' updates and the pages it writes, whatever its size; at a
	// steady moderate load batches of one or two events cost the read
	// models twice the CPU per event they cost saturated. The models then
	// trail the log by up to Gather for readers that do not ask for a
	// position (the mailer's and the scheduler's follow included).
	Gather time.Duration
}

// Runner runs projections against a store and a read-model database.
type Runner struct {
	db    *sql.DB
	store eventstore.Store
	opts  Options
	log   *slog.Logger
	order []*proj
	by    map[string]*proj

	initMu sync.Mutex
	inited bool

	started atomic.Bool

	// live keeps the statements of live batches prepared (see stmtCache).
	live *stmtCache
	// joins takes caught-up projections to the shared reader (hub).
	joins chan *member
	// waiting counts the WaitFor calls waiting for a position (Waiting).
	waiting atomic.Int64
	// waited is signalled when a WaitFor begins to wait: the hub stops
	// gathering (Options.Gather).
	waited chan struct{}
	// gathering, when set (by tests), is called as the hub begins to wait
	// for more events of a batch.
	gathering func()
}

// proj is a projection and what the runner knows of it.
type proj struct {
	p      Projection
	name   string
	filter *eventstore.Filter
	schema string
	live   TableNames

	rebuilding sync.Mutex

	mu        sync.Mutex
	pos       eventstore.Position // last checkpoint known to this process
	notify    chan struct{}       // closed and replaced when pos moves
	running   bool
	lastErr   string
	lastErrAt time.Time
	heldSince time.Time // when Hold began to hold it (zero: not held)
}

// New returns a runner for the projections. It checks their names and tables
// but does not touch the database: Init (called by Run, Rebuild, Status,
// Digest) creates what is missing.
func New(db *sql.DB, store eventstore.Store, projections []Projection, opts Options) (*Runner, error) {
	const op = errs.Op("projections.New")
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = 5 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.MinBackoff)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.MaxHold <= 0 {
		opts.MaxHold = 30 * time.Second
	}
	r := &Runner{db: db, store: store, opts: opts, log: opts.Logger, by: map[string]*proj{},
		live: newStmtCache(db), joins: make(chan *member), waited: make(chan struct{}, 1)}
	tables := map[string]string{CheckpointTable: "(runner)"}
	for _, p := range projections {
		name := p.Name()
		if name == "" {
			return nil, errs.E(op, errs.Internal, "proyección sin nombre")
		}
		if _, dup := r.by[name]; dup {
			return nil, errs.E(op, errs.Internal, fmt.Sprintf("proyección %q repetida", name))
		}
		pr := &proj{p: p, name: name, live: TableNames{}, notify: make(chan struct{})}
		if f, ok := p.(Filtered); ok {
			filter := f.Filter()
			pr.filter = &filter
		}
		h := sha256.New()
		if v, ok := p.(Versioned); ok {
			fmt.Fprintf(h, "version %d\n", v.Version())
		}
		ts := p.Tables()
		if len(ts) == 0 {
			return nil, errs.E(op, errs.Internal, fmt.Sprintf("proyección %q sin tablas", name))
		}
		for _, t := range ts {
			if !validIdent(t.Name) || strings.Contains(t.Name, "__") || t.Create == nil {
				return nil, errs.E(op, errs.Internal, fmt.Sprintf("proyección %q: tabla %q no válida", name, t.Name))
			}
			if other, dup := tables[t.Name]; dup {
				return nil, errs.E(op, errs.Internal, fmt.Sprintf("la tabla %q es de %s y de %s", t.Name, other, name))
			}
			tables[t.Name] = name
			pr.live[t.Name] = t.Name
			fmt.Fprintf(h, "table %s\n%s\n", t.Name, t.Create(t.Name))
			if t.Indexes != nil {
				for _, ix := range t.Indexes(t.Name) {
					fmt.Fprintf(h, "%s\n", ix)
				}
			}
		}
		pr.schema = hex.EncodeToString(h.Sum(nil))
		r.order = append(r.order, pr)
		r.by[name] = pr
	}
	return r, nil
}

// Names returns the projections' names in the order given to New.
func (r *Runner) Names() []string {
	out := make([]string, len(r.order))
	for i, pr := range r.order {
		out[i] = pr.name
	}
	return out
}

func (r *Runner) get(op errs.Op, name string) (*proj, error) {
	pr, ok := r.by[name]
	if !ok {
		return nil, errs.E(op, errs.NotFound, fmt.Sprintf("no existe la proyección %q", name))
	}
	return pr, nil
}

// Init creates the checkpoint table and, for each projection, its tables and
// checkpoint row when missing. A projection whose tables' statements (or
// Version) changed since its model was built has its tables dropped and
// recreated empty and its checkpoint reset, so it is rebuilt from the log by
// Run; this is logged. Init is idempotent and runs once per Runner.
func (r *Runner) Init(ctx context.Context) error {
	const op = errs.Op("projections.Init")
	r.initMu.Lock()
	defer r.initMu.Unlock()
	if r.inited {
		return nil
	}
	if _, err := r.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+CheckpointTable+` (
		name       TEXT PRIMARY KEY,
		position   TEXT NOT NULL,
		schema     TEXT NOT NULL,
		updated_at TEXT NOT NULL
	)`); err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	for _, pr := range r.order {
		if err := r.initOne(ctx, pr); err != nil {
			return errs.E(op, fmt.Sprintf("proyección %q", pr.name), err)
		}
	}
	r.inited = true
	return nil
}

func (r *Runner) initOne(ctx context.Context, pr *proj) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return errs.E(errs.Unavailable, err)
	}
	defer tx.Rollback()
	var pos, schema string
	err = tx.QueryRowContext(ctx, `SELECT position, schema FROM `+CheckpointTable+` WHERE name = ?`, pr.name).Scan(&pos, &schema)
	fresh := errors.Is(err, sql.ErrNoRows)
	if err != nil && !fresh {
		return errs.E(errs.Unavailable, err)
	}
	missing := false
	for _, t := range pr.p.Tables() {
		ok, err := tableExists(ctx, tx, t.Name)
		if err != nil {
			return err
		}
		missing = missing || !ok
	}
	if !fresh && !missing && schema == pr.schema {
		cp, err := eventstore.ParsePosition(pos)
		if err != nil {
			return errs.E(errs.Internal, err)
		}
		pr.set(cp)
		return tx.Commit()
	}
	if !fresh {
		r.log.Warn("read model reset: its schema changed or a table is missing; it is rebuilt from the log",
			"projection", pr.name, "old_position", pos)
	}
	for _, t := range pr.p.Tables() {
		if err := createTable(ctx, tx, t, t.Name); err != nil {
			return err
		}
	}
	now := r.opts.Clock.Now().UTC().Format(time.RFC3339Nano)
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+CheckpointTable+` (name, position, schema, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET position = excluded.position, schema = excluded.schema, updated_at = excluded.updated_at`,
		pr.name, eventstore.Position{}.String(), pr.schema, now); err != nil {
		return errs.E(errs.Unavailable, err)
	}
	if err := tx.Commit(); err != nil {
		return errs.E(errs.Unavailable, err)
	}
	pr.set(eventstore.Position{})
	return nil
}

func tableExists(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n); err != nil {
		return false, errs.E(errs.Unavailable, err)
	}
	return n > 0, nil
}

// createTable (re)creates t under the given name, with its indexes.
func createTable(ctx context.Context, tx *sql.Tx, t Table, name string) error {
	stmts := []string{`DROP TABLE IF EXISTS ` + name, t.Create(name)}
	if t.Indexes != nil {
		stmts = append(stmts, t.Indexes(name)...)
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return errs.E(errs.Internal, fmt.Sprintf("tabla %s: %s", name, s), err)
		}
	}
	return nil
}

// Run applies events to every projection until ctx ends. Each projection
// has a goroutine of its own that catches up from its checkpoint by reading
// the log in pages (each page and the checkpoint in one transaction); once
// caught up, it joins the shared reader: one subscription to the log feeding
// every caught-up projection, which applies each batch of events to all of
// them in one transaction (each projection's rows with its own checkpoint).
// A projection whose Apply fails leaves the shared reader (the others carry
// on), is retried from its checkpoint after a pause (exponential backoff, so
// a poison event does not spin) and rejoins when it has caught up again. Run
// returns nil when ctx ends, or Init's error. A Runner runs once: a second
// Run is an errs.Conflict error.
func (r *Runner) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errs.E(errs.Op("projections.Run"), errs.Conflict, "las proyecciones ya están en marcha")
	}
	if err := r.Init(ctx); err != nil {
		r.started.Store(false)
		if ctx.Err() != nil {
			return nil // shut down before starting
		}
		return err
	}
	defer r.live.close()
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		r.hub(ctx)
	}()
	var wg sync.WaitGroup
	for _, pr := range r.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, pr)
		}()
	}
	wg.Wait()
	<-hubDone
	return nil
}

func (r *Runner) loop(ctx context.Context, pr *proj) {
	pr.mu.Lock()
	pr.running = true
	pr.mu.Unlock()
	defer func() {
		pr.mu.Lock()
		pr.running = false
		pr.mu.Unlock()
	}()
	backoff := r.opts.MinBackoff
	for ctx.Err() == nil {
		progressed, err := r.consume(ctx, pr)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			backoff = r.opts.MinBackoff
		}
		if h, ok := errors.AsType[*heldError](err); ok {
			select {
			case <-ctx.Done():
				return
			case <-h.until:
			case <-time.After(holdRecheck):
			}
			continue
		}
		pr.mu.Lock()
		pr.lastErr, pr.lastErrAt = err.Error(), time.Now()
		pr.mu.Unlock()
		r.log.Error("projection failed; retrying", "projection", pr.name, "error", err, "retry_in", backoff)
		if r.opts.OnError != nil {
			r.opts.OnError(pr.name, err)
		}
		// Full jitter keeps several failing projections from retrying in step.
		pause := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		backoff = min(backoff*2, r.opts.MaxBackoff)
	}
}

// consume catches up from the checkpoint with full-page reads, then joins
// the shared reader until it is sent away with an error. It reports whether
// it committed anything.
func (r *Runner) consume(ctx context.Context, pr *proj) (progressed bool, err error) {
	cp, err := r.checkpoint(ctx, pr.name)
	if err != nil {
		return false, err
	}
	pr.set(cp)
	cp, progressed, err = r.catchUp(ctx, pr, cp)
	if err != nil {
		return progressed, err
	}
	// Then follow the log with the others.
	if ch := r.held(pr); ch != nil {
		return progressed, &heldError{until: ch}
	}
	m := &member{pr: pr, from: cp, done: make(chan error, 1)}
	select {
	case r.joins <- m:
	case <-ctx.Done():
		return progressed, ctx.Err()
	}
	select {
	case err := <-m.done:
		return progressed || m.progressed, err
	case <-ctx.Done():
		return progressed, ctx.Err()
	}
}

// catchUp applies the log to pr from cp, by full pages, one transaction
// per page, until a page comes back short; it returns the new checkpoint and
// whether it committed anything. The next page is read while the current
// one is applied (the log and the read models are two files: the reads of
// one and the writes of the other go on two cores).
func (r *Runner) catchUp(ctx context.Context, pr *proj, cp eventstore.Position) (_ eventstore.Position, progressed bool, err error) {
	var ahead <-chan page
	for {
		if ch := r.held(pr); ch != nil {
			return cp, progressed, &heldError{until: ch}
		}
		p := page{}
		if ahead != nil {
			p = <-ahead
		} else {
			p.evs, p.err = r.store.ReadAll(ctx, cp, r.opts.BatchSize)
		}
		if p.err != nil {
			return cp, progressed, errs.E(errs.Op("projections.Run"), p.err)
		}
		full := len(p.evs) == r.opts.BatchSize
		ahead = nil
		if full {
			ahead = r.readAhead(ctx, p.evs[len(p.evs)-1].Position)
		}
		if len(p.evs) > 0 {
			if cp, err = r.applyLive(ctx, pr, p.evs); err != nil {
				return cp, progressed, err
			}
			progressed = true
		}
		if !full {
			return cp, progressed, nil
		}
	}
}

// CatchUp applies the log to the projection name from its checkpoint up to
// the log's end and returns, without joining the shared reader: for a
// command that needs one read model up to date and no other (redengine fie
// export). It is safe beside a running Run, here or in another process: each
// page's transaction skips what the checkpoint already covers.
func (r *Runner) CatchUp(ctx context.Context, name string) error {
	const op = errs.Op("projections.CatchUp")
	pr, err := r.get(op, name)
	if err != nil {
		return err
	}
	if err := r.Init(ctx); err != nil {
		return errs.E(op, err)
	}
	cp, err := r.checkpoint(ctx, pr.name)
	if err != nil {
		return errs.E(op, err)
	}
	if _, _, err := r.catchUp(ctx, pr, cp); err != nil {
		return errs.E(op, err)
	}
	return nil
}

// page is a page of the log read ahead.
type page struct {
	evs []eventstore.Event
	err error
}

// readAhead reads the page of the log after from on a goroutine of its own;
// the page arrives on the channel (buffered: a page nobody waits for any
// more is dropped with it).
func (r *Runner) readAhead(ctx context.Context, from eventstore.Position) <-chan page {
	ch := make(chan page, 1)
	go func() {
		evs, err := r.store.ReadAll(ctx, from, r.opts.BatchSize)
		ch <- page{evs, err}
	}()
	return ch
}

// member is a caught-up projection fed by the shared reader.
type member struct {
	pr   *proj
	from eventstore.Position // its checkpoint when it joined
	// done receives, once, the error that sent it away from the reader.
	done chan error
	// progressed is set when a batch committed for it (read by its
	// goroutine after done).
	progressed bool
}

// feed is the shared reader's subscription and the pump reading it ahead.
type feed struct {
	sub    eventstore.Subscription
	ch     chan eventstore.Event // closed when the subscription fails
	err    error                 // why, readable once ch is closed
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *Runner) startFeed(ctx context.Context, from eventstore.Position) (*feed, error) {
	sub, err := r.store.Subscribe(ctx, from, eventstore.Filter{})
	if err != nil {
		return nil, errs.E(errs.Op("projections.Run"), err)
	}
	pctx, cancel := context.WithCancel(ctx)
	f := &feed{sub: sub, ch: make(chan eventstore.Event, r.opts.BatchSize), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer close(f.ch)
		for {
			e, err := sub.Next(pctx)
			if err != nil {
				f.err = err
				return
			}
			select {
			case f.ch <- e:
			case <-pctx.Done():
				f.err = pctx.Err()
				return
			}
		}
	}()
	return f, nil
}

func (f *feed) stop() {
	if f == nil {
		return
	}
	f.cancel()
	f.sub.Close()
	<-f.done
}

// hub is the shared reader: one subscription to the log (running while it
// has members), whose events go to every member in batches — whatever the
// pump has ready, up to BatchSize, so a burst goes in one transaction and a
// lone event is applied at once. Every member has applied the log up to at
// (the last event handed out); a projection joining behind it is first
// brought to it from the log. With Options.Nice the hub hands each batch to
// a goroutine on a thread of lower priority (runLowered) and waits for it,
// unless a reader waits for a position (Waiting); catching up runs at the
// process's priority.
func (r *Runner) hub(ctx context.Context) {
	run := func(apply func()) { apply() }
	if n := r.opts.Nice; n > 0 {
		// The batches go to a goroutine on a lowered thread, and the hub
		// waits for each; while a reader waits for a position, the hub
		// applies them itself, at the process's priority.
		low := make(chan func())
		lowDone := make(chan struct{})
		go func() {
			defer close(lowDone)
			runLowered(min(n, 19), func(err error) {
				if err != nil {
					r.log.Warn("las proyecciones siguen con la prioridad del proceso", "nice", n, "err", err)
				}
				for apply := range low {
					apply()
				}
			})
		}()
		defer func() {
			close(low)
			<-lowDone
		}()
		run = func(apply func()) {
			if r.waiting.Load() > 0 {
				apply()
				return
			}
			done := make(chan struct{})
			low <- func() {
				defer close(done)
				apply()
			}
			<-done
		}
	}
	r.follow(ctx, run)
}

// maxGathered is the batch the hub stops gathering at: such a batch
// already spreads its fixed cost, and a larger one only keeps a reader
// that arrives while it is applied at low priority waiting longer
// (saturated, gathering up to 500 raised the read-your-writes median by
// half or more, for no rate measurably gained).
const maxGathered = 64

// gather waits up to Options.Gather for more events to join batch, until
// it holds maxGathered (or BatchSize) events, ctx ends, the feed closes or
// a reader begins to wait for a position (or already waits), and returns
// the batch.
func (r *Runner) gather(ctx context.Context, in <-chan eventstore.Event, batch []eventstore.Event) []eventstore.Event {
	most := min(r.opts.BatchSize, maxGathered)
	if r.opts.Gather <= 0 || len(batch) >= most {
		return batch
	}
	// A signal left by a wait that began while the hub was not gathering
	// is stale; a wait still going on is seen by the count, one that
	// begins from here on by the signal.
	select {
	case <-r.waited:
	default:
	}
	if r.waiting.Load() > 0 {
		return batch
	}
	t := time.NewTimer(r.opts.Gather)
	defer t.Stop()
	if r.gathering != nil {
		r.gathering()
	}
	for len(batch) < most {
		select {
		case e, ok := <-in:
			if !ok {
				return batch // seen again by the hub's next select
			}
			batch = append(batch, e)
		case <-r.waited:
			return batch
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// follow is the hub's loop: it feeds every caught-up member the log's
// batches, each applied through run, until ctx ends.
func (r *Runner) follow(ctx context.Context, run func(apply func())) {
	var (
		members []*member
		f       *feed
		at      eventstore.Position
	)
	// The hub's transactions run on a connection of their own: the runner
	// is the only writer of the read models, so that connection's page
	// cache stays valid from one batch to the next (SQLite drops a
	// connection's cache when another one wrote since it last read), and
	// the rows, indexes and checkpoints a batch touches are mostly read
	// from memory. On a pool connection, last used by an API read, each
	// batch began with a cold cache.
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
		f.stop()
		for _, m := range members {
			m.done <- ctx.Err()
		}
	}()
	// dismiss sends every member away with err.
	dismiss := func(err error) {
		for _, m := range members {
			m.done <- err
		}
		members = nil
	}
	batch := make([]eventstore.Event, 0, r.opts.BatchSize)
	for {
		var in <-chan eventstore.Event
		if f != nil {
			in = f.ch
		}
		select {
		case <-ctx.Done():
			return
		case m := <-r.joins:
			if f == nil {
				nf, err := r.startFeed(ctx, m.from)
				if err != nil {
					m.done <- err
					continue
				}
				f, at = nf, m.from
			} else if m.from.Less(at) {
				if err := r.bridge(ctx, m, at); err != nil {
					m.done <- err
					continue
				}
			}
			members = append(members, m)
		case e, ok := <-in:
			if !ok {
				err := errs.E(errs.Op("projections.Run"), errs.Unavailable, "suscripción interrumpida", f.err)
				f.stop()
				f = nil
				dismiss(err)
				continue
			}
			batch = append(batch[:0], e)
		fill:
			for len(batch) < r.opts.BatchSize {
				select {
				case e, ok := <-in:
					if !ok {
						break fill // seen again by the next select
					}
					batch = append(batch, e)
				default:
					break fill
				}
			}
			batch = r.gather(ctx, in, batch)
			members = r.dropHeld(members)
			if len(members) > 0 && conn == nil {
				c, err := r.db.Conn(ctx)
				if err != nil {
					// The feed stops below, as when no member is left.
					dismiss(errs.E(errs.Op("projections.Run"), errs.Unavailable, err))
				} else {
					conn = c
				}
			}
			if len(members) > 0 {
				var ok bool
				run(func() { members, ok = r.applyShared(ctx, conn, members, batch) })
				if !ok {
					// The transaction itself failed: the connection
					// goes back to the pool (which drops it if it is
					// broken) and the next batch takes one again.
					conn.Close()
					conn = nil
				}
			}
			at = batch[len(batch)-1].Position
			clear(batch)
			if len(members) == 0 {
				f.stop()
				f = nil
			}
		}
	}
}

// bridge brings a joining member from its checkpoint to at, the last event
// the others have applied, reading the log in pages.
func (r *Runner) bridge(ctx context.Context, m *member, at eventstore.Position) error {
	from := m.from
	for from.Less(at) {
		evs, err := r.store.ReadAll(ctx, from, r.opts.BatchSize)
		if err != nil {
			return errs.E(errs.Op("projections.Run"), err)
		}
		n := len(evs)
		for n > 0 && at.Less(evs[n-1].Position) {
			n--
		}
		if n == 0 {
			return errs.E(errs.Op("projections.Run"), errs.Internal,
				fmt.Sprintf("el log no tiene la posición %s después de la %s", at, from))
		}
		if _, err := r.applyLive(ctx, m.pr, evs[:n]); err != nil {
			return err
		}
		m.progressed = true
		from = evs[n-1].Position
	}
	return nil
}

// applyShared applies batch to every member in one transaction on conn. A
// member whose Apply fails is sent away with its error and the batch is
// applied again, in a new transaction, to the others; a failure of the
// transaction itself sends every member away (ok false). It returns the
// members that remain.
func (r *Runner) applyShared(ctx context.Context, conn *sql.Conn, members []*member, batch []eventstore.Event) (remain []*member, ok bool) {
	for len(members) > 0 {
		bad, err := r.applyBatch(ctx, conn, members, batch)
		if err == nil {
			return members, true
		}
		if bad < 0 {
			for _, m := range members {
				m.done <- err
			}
			return nil, false
		}
		members[bad].done <- err
		members = slices.Delete(members, bad, bad+1)
	}
	return members, true
}

// applyBatch is applyLive for several projections at once: one transaction
// in which each member's events after its stored checkpoint are applied and
// its checkpoint moved. On an Apply error it returns the failing member's
// index (-1 for a failure of the transaction itself); nothing is committed.
func (r *Runner) applyBatch(ctx context.Context, conn *sql.Conn, members []*member, batch []eventstore.Event) (int, error) {
	const op = errs.Op("projections.apply")
	ctx = batchContext(ctx)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return -1, errs.E(op, errs.Unavailable, err)
	}
	defer tx.Rollback()
	ctx = withStmts(ctx, r.live, tx)
	cps, err := lockCheckpoints(ctx, tx, members[0].pr.name)
	if err != nil {
		return -1, errs.E(op, err)
	}
	type outcome struct {
		from, last eventstore.Position
	}
	outs := make([]outcome, len(members))
	now := ""
	for i, m := range members {
		cp, ok := cps[m.pr.name]
		if !ok {
			return i, errs.E(op, errs.Internal, fmt.Sprintf("falta el punto de control de %q", m.pr.name))
		}
		last, err := r.applyTo(ctx, tx, m.pr, m.pr.live, cp, batch)
		if err != nil {
			return i, errs.E(op, err)
		}
		outs[i] = outcome{cp, last}
		if last == cp {
			continue
		}
		if now == "" {
			now = r.opts.Clock.Now().UTC().Format(time.RFC3339Nano)
		}
		if _, err := Exec(ctx, tx, `UPDATE `+CheckpointTable+` SET position = ?, updated_at = ? WHERE name = ?`,
			last.String(), now, m.pr.name); err != nil {
			return -1, errs.E(op, errs.Unavailable, err)
		}
	}
	if now != "" {
		if err := tx.Commit(); err != nil {
			return -1, errs.E(op, errs.Unavailable, err)
		}
	}
	for i, m := range members {
		o := outs[i]
		if o.last == o.from {
			m.pr.set(o.from)
			continue
		}
		m.progressed = true
		m.pr.mu.Lock()
		m.pr.lastErr = ""
		m.pr.mu.Unlock()
		if r.opts.OnBatch != nil {
			r.opts.OnBatch(m.pr.name, len(batch), o.last)
		}
		m.pr.set(o.last)
	}
	return 0, nil
}

// batchContext is ctx without its cancellation, for the statements of one
// batch's transaction. The SQLite driver watches a cancellable context of
// each statement with a goroutine of its own (started and stopped around
// every Exec and Query: a dozen per batch of a few events, 6 % of the
// allocations under load), and database/sql one per transaction. A batch is
// short and is committed or rolled back whole, so it runs to its end; the
// loops around it stop between batches when ctx ends.
func batchContext(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// lockCheckpoints starts the write side of tx, like lockCheckpoint, and
// returns every checkpoint as the database has it.
func lockCheckpoints(ctx context.Context, tx *sql.Tx, name string) (map[string]eventstore.Position, error) {
	if _, err := Exec(ctx, tx, `UPDATE `+CheckpointTable+` SET name = name WHERE name = ?`, name); err != nil {
		return nil, errs.E(errs.Unavailable, err)
	}
	const q = `SELECT name, position FROM ` + CheckpointTable
	var rows *sql.Rows
	var err error
	if st := stmtFor(ctx, tx, q); st != nil {
		rows, err = st.QueryContext(ctx)
	} else {
		rows, err = tx.QueryContext(ctx, q)
	}
	if err != nil {
		return nil, errs.E(errs.Unavailable, "leyendo los puntos de control", err)
	}
	defer rows.Close()
	out := map[string]eventstore.Position{}
	for rows.Next() {
		var n, s string
		if err := rows.Scan(&n, &s); err != nil {
			return nil, errs.E(errs.Unavailable, "leyendo los puntos de control", err)
		}
		p, err := eventstore.ParsePosition(s)
		if err != nil {
			return nil, errs.E(errs.Internal, err)
		}
		out[n] = p
	}
	if err := rows.Err(); err != nil {
		return nil, errs.E(errs.Unavailable, "leyendo los puntos de control", err)
	}
	return out, nil
}

// checkpoint reads a projection's checkpoint from the database.
func (r *Runner) checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	var s string
	if err := r.db.QueryRowContext(ctx, `SELECT position FROM `+CheckpointTable+` WHERE name = ?`, name).Scan(&s); err != nil {
		return eventstore.Position{}, errs.E(errs.Unavailable, "leyendo el punto de control", err)
	}
	p, err := eventstore.ParsePosition(s)
	if err != nil {
		return eventstore.Position{}, errs.E(errs.Internal, err)
	}
	return p, nil
}

// lockCheckpoint starts the write side of tx (so the transaction holds the
// write lock from its first statement, whatever the connection's settings)
// and returns the projection's checkpoint as the database has it.
func lockCheckpoint(ctx context.Context, tx *sql.Tx, name string) (eventstore.Position, error) {
	if _, err := Exec(ctx, tx, `UPDATE `+CheckpointTable+` SET name = name WHERE name = ?`, name); err != nil {
		return eventstore.Position{}, errs.E(errs.Unavailable, err)
	}
	var s string
	if err := QueryRow(ctx, tx, `SELECT position FROM `+CheckpointTable+` WHERE name = ?`, name).Scan(&s); err != nil {
		return eventstore.Position{}, errs.E(errs.Unavailable, "leyendo el punto de control", err)
	}
	p, err := eventstore.ParsePosition(s)
	if err != nil {
		return eventstore.Position{}, errs.E(errs.Internal, err)
	}
	return p, nil
}

// applyLive applies a batch to the live tables and moves the checkpoint, in
// one transaction. Events at or before the stored checkpoint are skipped, so
// a batch that overlaps what is already applied (after a rebuild swapped the
// model, or when two processes run the same projection) applies nothing twice.
func (r *Runner) applyLive(ctx context.Context, pr *proj, batch []eventstore.Event) (eventstore.Position, error) {
	const op = errs.Op("projections.apply")
	ctx = batchContext(ctx)
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return eventstore.Position{}, errs.E(op, errs.Unavailable, err)
	}
	defer tx.Rollback()
	ctx = withStmts(ctx, r.live, tx)
	cp, err := lockCheckpoint(ctx, tx, pr.name)
	if err != nil {
		return eventstore.Position{}, errs.E(op, err)
	}
	last, err := r.applyTo(ctx, tx, pr, pr.live, cp, batch)
	if err != nil {
		return eventstore.Position{}, errs.E(op, err)
	}
	if last == cp {
		pr.set(cp)
		return cp, nil
	}
	if _, err := Exec(ctx, tx, `UPDATE `+CheckpointTable+` SET position = ?, updated_at = ? WHERE name = ?`,
		last.String(), r.opts.Clock.Now().UTC().Format(time.RFC3339Nano), pr.name); err != nil {
		return eventstore.Position{}, errs.E(op, errs.Unavailable, err)
	}
	if err := tx.Commit(); err != nil {
		return eventstore.Position{}, errs.E(op, errs.Unavailable, err)
	}
	pr.mu.Lock()
	pr.lastErr = ""
	pr.mu.Unlock()
	if r.opts.OnBatch != nil {
		r.opts.OnBatch(pr.name, len(batch), last)
	}
	pr.set(last)
	return last, nil
}

// applyTo applies the events of batch after position from to the given
// tables within tx, and returns the position of the last event covered.
func (r *Runner) applyTo(ctx context.Context, tx *sql.Tx, pr *proj, tables TableNames, from eventstore.Position, batch []eventstore.Event) (eventstore.Position, error) {
	last := from
	for i := range batch {
		e := &batch[i]
		if !last.Less(e.Position) {
			continue
		}
		if pr.filter == nil || pr.filter.Match(e) {
			if err := pr.p.Apply(ctx, tx, tables, *e); err != nil {
				return last, fmt.Errorf("evento %s (%s, %s@%d, posición %s): %w", e.ID, e.Type, e.Stream, e.Revision, e.Position, err)
			}
		}
		last = e.Position
	}
	return last, nil
}

// set records the checkpoint known to this process and wakes waiters.
func (pr *proj) set(p eventstore.Position) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if p == pr.pos {
		return
	}
	pr.pos = p
	close(pr.notify)
	pr.notify = make(chan struct{})
}

// advance is set, but only forward.
func (pr *proj) advance(p eventstore.Position) {
	pr.mu.Lock()
	behind := pr.pos.Less(p)
	pr.mu.Unlock()
	if behind {
		pr.set(p)
	}
}

func (pr *proj) snapshot() (eventstore.Position, <-chan struct{}) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.pos, pr.notify
}
