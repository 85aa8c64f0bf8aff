// Package esdb is the EventStoreDB (KurrentDB) adapter of the event store
// port, over the official client github.com/EventStore/EventStore-Client-Go/v4.
//
// Mapping of the port:
//   - An event is written with its ID as given (deterministic IDs stay
//     deterministic), its type, its data as JSON, and the envelope the
//     server has no place for (schema version, canonical metadata, previous
//     hash, hash) as JSON in the event's custom metadata.
//   - Append reads the stream's tail first, to chain the hashes and to answer
//     an idempotent re-append with the original result, then appends with
//     the revision it read as the expected one, so the server guarantees the
//     chain. Any and StreamExists are retried internally on a conflict.
//   - ReadAll and Subscribe skip system events ($ streams or $ types); a
//     subscription that the server drops is resumed after the last event it
//     delivered, with a bounded backoff.
//
// See docs/eventstoredb.md.
package esdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"redengine/errs"
	"redengine/eventstore"
)

// Store is the EventStoreDB adapter. It is safe for concurrent use.
type Store struct {
	conf *esdb.Configuration
	opts options
	log  *slog.Logger

	// life ends when the store is closed; subscriptions live under it.
	life context.Context
	end  context.CancelFunc

	mu     sync.Mutex
	client *esdb.Client
	closed bool
}

var _ eventstore.Store = (*Store)(nil)

type options struct {
	logger         *slog.Logger
	appendRetries  int
	resubscribeMax int
	backoffMin     time.Duration
	backoffMax     time.Duration
	skipPing       bool
}

// Option configures Open.
type Option func(*options)

// WithLogger sets where the adapter and the client log. The client's own
// messages go at debug level. The default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithAppendRetries bounds how many times an append with Any or StreamExists
// is retried after losing a race (default 1000). Explicit revisions are
// never retried.
func WithAppendRetries(n int) Option { return func(o *options) { o.appendRetries = n } }

// WithResubscribe sets how a dropped subscription is resumed: up to attempts
// consecutive failed attempts (default 30), the first one at once, then
// waiting from minDelay doubling up to maxDelay (defaults 50 ms and 2 s).
func WithResubscribe(attempts int, minDelay, maxDelay time.Duration) Option {
	return func(o *options) { o.resubscribeMax, o.backoffMin, o.backoffMax = attempts, minDelay, maxDelay }
}

// WithoutPing makes Open return without reaching the server; the first
// operation connects.
func WithoutPing() Option { return func(o *options) { o.skipPing = true } }

// Open connects to EventStoreDB with a connection string such as
// esdb://127.0.0.1:2113?tls=false, and checks that the server answers
// (unless WithoutPing).
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	const op = errs.Op("esdb.Open")
	o := options{
		logger:         slog.Default(),
		appendRetries:  1000,
		resubscribeMax: 30,
		backoffMin:     50 * time.Millisecond,
		backoffMax:     2 * time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	conf, err := esdb.ParseConnectionString(connString)
	if err != nil {
		return nil, errs.E(op, errs.Invalid, "cadena de conexión de EventStoreDB no válida", err)
	}
	log := o.logger.With("component", "esdb")
	conf.Logger = func(level esdb.LogLevel, format string, args ...any) {
		// The client logs every error it hands back; the adapter reports
		// what matters, so the client's voice is debug only.
		log.Debug(fmt.Sprintf(format, args...), "client_level", level)
	}
	s := &Store{conf: conf, opts: o, log: log}
	s.life, s.end = context.WithCancel(context.Background())
	if _, err := s.conn(op); err != nil {
		s.end()
		return nil, err
	}
	if !o.skipPing {
		if _, err := s.Head(ctx); err != nil {
			_ = s.Close()
			return nil, errs.E(op, err)
		}
	}
	return s, nil
}

// Close releases the connection and ends every subscription.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.end()
	if s.client != nil {
		return s.client.Close()
	}
	return nil
}

// conn returns the client, creating it when there is none.
func (s *Store) conn(op errs.Op) (*esdb.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errs.E(op, errs.Unavailable, "el almacén de eventos está cerrado")
	}
	if s.client == nil {
		c, err := esdb.NewClient(s.conf)
		if err != nil {
			return nil, errs.E(op, errs.Invalid, "configuración de EventStoreDB no válida", err)
		}
		s.client = c
	}
	return s.client, nil
}

// renew drops client c after it closed itself (the client gives up for good
// when discovery fails), so that the next operation connects again.
func (s *Store) renew(c *esdb.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == c && !s.closed {
		_ = c.Close()
		s.client = nil
	}
}

// fail maps an error of the client to the port's kinds.
func (s *Store) fail(ctx context.Context, op errs.Op, c *esdb.Client, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return canceled(op, ctx.Err())
	}
	var ee *esdb.Error
	if errors.As(err, &ee) {
		switch ee.Code() {
		case esdb.ErrorCodeConnectionClosed:
			s.renew(c)
			return errs.E(op, errs.Unavailable, "EventStoreDB no está disponible", err)
		case esdb.ErrorUnavailable, esdb.ErrorCodeDeadlineExceeded, esdb.ErrorCodeNotLeader, esdb.ErrorAborted:
			return errs.E(op, errs.Unavailable, "EventStoreDB no está disponible", err)
		case esdb.ErrorCodeUnauthenticated:
			return errs.E(op, errs.Unauthenticated, "EventStoreDB rechaza las credenciales", err)
		case esdb.ErrorCodeAccessDenied:
			return errs.E(op, errs.Forbidden, "EventStoreDB deniega el acceso", err)
		case esdb.ErrorCodeStreamDeleted:
			return errs.E(op, errs.Precondition, "el flujo está borrado", err)
		case esdb.ErrorCodeResourceNotFound:
			return errs.E(op, errs.NotFound, err)
		}
	}
	switch grpcCode(err) {
	case codes.InvalidArgument:
		return errs.E(op, errs.Invalid, "EventStoreDB rechaza la petición", err)
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return errs.E(op, errs.Unavailable, "EventStoreDB no está disponible", err)
	case codes.ResourceExhausted:
		return errs.E(op, errs.TooMany, "EventStoreDB está saturado", err)
	case codes.Canceled:
		return errs.E(op, errs.Unavailable, err)
	}
	return errs.E(op, errs.Internal, err)
}

// canceled is the error of an operation whose context ended, as the other
// adapters report it.
func canceled(op errs.Op, err error) error {
	return errs.E(op, errs.Unavailable, "operación cancelada", err)
}

// grpcCode finds the gRPC status code along err's chain.
func grpcCode(err error) codes.Code {
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) {
		return st.GRPCStatus().Code()
	}
	return codes.Unknown
}

// isWrongExpectedVersion reports whether the client refused an append for
// its expected revision.
func isWrongExpectedVersion(err error) bool {
	var ee *esdb.Error
	return errors.As(err, &ee) && ee.Code() == esdb.ErrorCodeWrongExpectedVersion
}

func isNotFound(err error) bool {
	var ee *esdb.Error
	return errors.As(err, &ee) && ee.Code() == esdb.ErrorCodeResourceNotFound
}

// currentRe reads the current revision from the client's conflict message
// ("... expecting '1' but got '3'"); the client keeps no field for it.
var currentRe = regexp.MustCompile(`but got '([^']*)'`)

func currentFromConflict(err error) (int64, bool) {
	m := currentRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	if m[1] == "no_stream" {
		return -1, true
	}
	n, perr := strconv.ParseInt(m[1], 10, 64)
	return n, perr == nil && n >= 0
}

func toPosition(p esdb.Position) eventstore.Position {
	return eventstore.Position{Commit: p.Commit, Prepare: p.Prepare}
}

func fromPosition(p eventstore.Position) esdb.AllPosition {
	if p.IsZero() {
		return esdb.Start{}
	}
	return esdb.Position{Commit: p.Commit, Prepare: p.Prepare}
}
