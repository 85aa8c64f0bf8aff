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
	r := &Runner{db: db, store: store, opts: opts, log: opts.Logger, by: map[string]*proj{}}
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

// Run applies events to every projection until ctx ends, each projection in
// its own goroutine: it subscribes from the projection's checkpoint, applies
// events in batches (each batch and its checkpoint in one transaction), and
// on any failure logs it, waits (exponential backoff, so a poison event does
// not spin) and starts again from the checkpoint. Run returns nil when ctx
// ends, or Init's error. A Runner runs once: a second Run is an
// errs.Conflict error.
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
	var wg sync.WaitGroup
	for _, pr := range r.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx, pr)
		}()
	}
	wg.Wait()
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

// consume catches up from the checkpoint with full-page reads, then
// subscribes and applies batches until an error. It reports whether it
// committed anything.
func (r *Runner) consume(ctx context.Context, pr *proj) (progressed bool, err error) {
	cp, err := r.checkpoint(ctx, pr.name)
	if err != nil {
		return false, err
	}
	pr.set(cp)
	// Catch up by reading full pages of the log: one transaction per page.
	for {
		evs, err := r.store.ReadAll(ctx, cp, r.opts.BatchSize)
		if err != nil {
			return progressed, errs.E(errs.Op("projections.Run"), err)
		}
		if len(evs) > 0 {
			if cp, err = r.applyLive(ctx, pr, evs); err != nil {
				return progressed, err
			}
			progressed = true
		}
		if len(evs) < r.opts.BatchSize {
			break
		}
	}
	// Then follow the log live.
	sub, err := r.store.Subscribe(ctx, cp, eventstore.Filter{})
	if err != nil {
		return false, errs.E(errs.Op("projections.Run"), err)
	}
	// A pump reads ahead into a buffer; the applier drains what is ready into
	// one batch, so catch-up goes in large transactions and live events are
	// applied as soon as they arrive.
	pctx, cancel := context.WithCancel(ctx)
	ch := make(chan eventstore.Event, r.opts.BatchSize)
	var subErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		for {
			e, err := sub.Next(pctx)
			if err != nil {
				subErr = err
				return
			}
			select {
			case ch <- e:
			case <-pctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		sub.Close()
		<-done
	}()
	batch := make([]eventstore.Event, 0, r.opts.BatchSize)
	for {
		e, ok := <-ch
		if !ok {
			<-done
			return progressed, errs.E(errs.Op("projections.Run"), errs.Unavailable, "suscripción interrumpida", subErr)
		}
		batch = append(batch[:0], e)
	fill:
		for len(batch) < r.opts.BatchSize {
			select {
			case e, ok := <-ch:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		if _, err := r.applyLive(ctx, pr, batch); err != nil {
			return progressed, err
		}
		progressed = true
	}
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
	if _, err := tx.ExecContext(ctx, `UPDATE `+CheckpointTable+` SET name = name WHERE name = ?`, name); err != nil {
		return eventstore.Position{}, errs.E(errs.Unavailable, err)
	}
	var s string
	if err := tx.QueryRowContext(ctx, `SELECT position FROM `+CheckpointTable+` WHERE name = ?`, name).Scan(&s); err != nil {
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
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return eventstore.Position{}, errs.E(op, errs.Unavailable, err)
	}
	defer tx.Rollback()
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
	if _, err := tx.ExecContext(ctx, `UPDATE `+CheckpointTable+` SET position = ?, updated_at = ? WHERE name = ?`,
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
