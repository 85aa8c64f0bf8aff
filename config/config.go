// Package config reads the engine's configuration from the environment, the
// one place where REDENGINE_* variables are interpreted. Flags of the CLI may
// override single fields after Load.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"redengine/errs"
)

// Config is the whole configuration of one engine process.
type Config struct {
	Addr        string // REDENGINE_ADDR, listen address (default 127.0.0.1:8080)
	DataDir     string // REDENGINE_DATA_DIR (default ./data)
	EventStore  string // REDENGINE_EVENTSTORE: empty = SQLite in DataDir; sqlite:///path = that SQLite file; esdb://… = EventStoreDB
	NodeName    string // REDENGINE_NODE_NAME: names this node when several share one event store
	DebugAddr   string // REDENGINE_DEBUG_ADDR: where to serve Go's profiles (net/http/pprof); empty: nowhere
	JWTSecret   string // REDENGINE_JWT_SECRET (HS256)
	SMTPAddr    string // REDENGINE_SMTP_ADDR host:port; empty = mail is queued, not sent
	SMTPFrom    string // REDENGINE_SMTP_FROM
	Holidays    string // REDENGINE_HOLIDAYS: path of a file of extra holidays (YYYY-MM-DD per line)
	Clock       string // REDENGINE_CLOCK: "" | system | manual:<RFC3339>
	Localidades string // REDENGINE_LOCALIDADES: path of a full postal-code → localidad CSV
	IdentityURL string // REDENGINE_IDENTITY_URL: external identity verification service
	// DocumentTypes accepted for NSS assignment (REDENGINE_NSS_DOCUMENT_TYPES, default "DNI").
	DocumentTypes []string
	// RateLimit is requests per second allowed per token (REDENGINE_RATE_LIMIT, 0 = off).
	RateLimit float64
	// RateBurst is the burst size of the per-token limiter (REDENGINE_RATE_BURST).
	RateBurst int
	// MaxBodyBytes bounds request bodies (REDENGINE_MAX_BODY, default 8 MiB).
	MaxBodyBytes int64
	// MaxImportBytes bounds an imported FIE file (REDENGINE_MAX_IMPORT_BODY,
	// default 256 MiB: a day's file of a large company).
	MaxImportBytes int64
	// FIERMaxDays and FIERMaxRecords are the FIER query policy (defaults 17 and 300).
	FIERMaxDays    int
	FIERMaxRecords int
	// FIERDownloadTTL is how long an export's download stays available (default 24h).
	FIERDownloadTTL time.Duration
	// WaitTimeout bounds how long a query with minPosition waits (default 2s).
	WaitTimeout time.Duration
	// CommitLinger is how long the embedded event store's writer may wait
	// for more appends before committing a small group
	// (REDENGINE_COMMIT_LINGER, default 250µs, 0 = never wait; at most
	// MaxCommitLinger). See sqlite.WithCommitLinger.
	CommitLinger time.Duration
	// ProjectionNice is the nice value of the thread that applies the read
	// models' live batches (REDENGINE_PROJECTION_NICE, default 10, 0 = the
	// process's own; at most 19; Linux). See projections.Options.Nice.
	ProjectionNice int
	// ProjectionGather is how long the read models' shared reader waits for
	// more events before applying a live batch, while no reader waits for
	// its own write (REDENGINE_PROJECTION_GATHER, default 25ms, 0 = never
	// wait; at most MaxProjectionGather). See projections.Options.Gather.
	ProjectionGather time.Duration
	// ProjectionWriteback is how often the kernel is asked to start writing
	// back the read models' unsynced pages (REDENGINE_PROJECTION_WRITEBACK,
	// default 5s, 0 = leave them to the kernel's own writeback; at most
	// MaxProjectionWriteback; Linux). See projections.DB.PaceWriteback.
	ProjectionWriteback time.Duration
	// Demo loads the demo data set on first start (REDENGINE_DEMO=1; make run sets it).
	Demo bool
}

// Default returns the configuration with every default filled in.
func Default() Config {
	return Config{
		Addr:                "127.0.0.1:8080",
		DataDir:             "./data",
		DocumentTypes:       []string{"DNI"},
		RateLimit:           0,
		RateBurst:           100,
		MaxBodyBytes:        8 << 20,
		MaxImportBytes:      256 << 20,
		FIERMaxDays:         17,
		FIERMaxRecords:      300,
		FIERDownloadTTL:     24 * time.Hour,
		WaitTimeout:         2 * time.Second,
		CommitLinger:        250 * time.Microsecond,
		ProjectionNice:      10,
		ProjectionGather:    25 * time.Millisecond,
		ProjectionWriteback: 5 * time.Second,
	}
}

// MaxProjectionGather bounds REDENGINE_PROJECTION_GATHER: the read models
// may trail the log by that much for readers that do not wait.
const MaxProjectionGather = time.Second

// MaxProjectionWriteback bounds REDENGINE_PROJECTION_WRITEBACK: past it
// the slices grow toward the kernel's own burst every 30 s.
const MaxProjectionWriteback = 10 * time.Second

// MaxCommitLinger bounds REDENGINE_COMMIT_LINGER: every small commit may
// wait that long, so it is added to a command's latency.
const MaxCommitLinger = 10 * time.Millisecond

// Load reads the configuration from getenv (os.Getenv when nil).
func Load(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Default()
	var fields errs.Fields
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	integer := func(name string, dst *int) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				fields.Add(name, "debe ser un entero no negativo")
				return
			}
			*dst = n
		}
	}
	duration := func(name string, dst *time.Duration) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				fields.Add(name, "debe ser una duración positiva, p. ej. 24h")
				return
			}
			*dst = d
		}
	}
	// upTo reads a duration between 0 (the feature off) and limit.
	upTo := func(name string, limit time.Duration, example string, dst *time.Duration) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > limit {
				fields.Add(name, fmt.Sprintf("debe ser una duración entre 0 y %s, p. ej. %s", limit, example))
				return
			}
			*dst = d
		}
	}
	str("REDENGINE_ADDR", &c.Addr)
	str("REDENGINE_DATA_DIR", &c.DataDir)
	str("REDENGINE_EVENTSTORE", &c.EventStore)
	str("REDENGINE_NODE_NAME", &c.NodeName)
	str("REDENGINE_DEBUG_ADDR", &c.DebugAddr)
	str("REDENGINE_JWT_SECRET", &c.JWTSecret)
	str("REDENGINE_SMTP_ADDR", &c.SMTPAddr)
	str("REDENGINE_SMTP_FROM", &c.SMTPFrom)
	str("REDENGINE_HOLIDAYS", &c.Holidays)
	str("REDENGINE_CLOCK", &c.Clock)
	str("REDENGINE_LOCALIDADES", &c.Localidades)
	str("REDENGINE_IDENTITY_URL", &c.IdentityURL)
	if v := strings.TrimSpace(getenv("REDENGINE_NSS_DOCUMENT_TYPES")); v != "" {
		c.DocumentTypes = nil
		for _, t := range strings.Split(v, ",") {
			t = strings.ToUpper(strings.TrimSpace(t))
			if t != "DNI" && t != "NIE" {
				fields.Add("REDENGINE_NSS_DOCUMENT_TYPES", fmt.Sprintf("tipo de documento %q desconocido (DNI, NIE)", t))
				continue
			}
			c.DocumentTypes = append(c.DocumentTypes, t)
		}
	}
	if v := strings.TrimSpace(getenv("REDENGINE_RATE_LIMIT")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			fields.Add("REDENGINE_RATE_LIMIT", "debe ser un número no negativo de peticiones por segundo")
		} else {
			c.RateLimit = f
		}
	}
	integer("REDENGINE_RATE_BURST", &c.RateBurst)
	var maxBody int
	integer("REDENGINE_MAX_BODY", &maxBody)
	if maxBody > 0 {
		c.MaxBodyBytes = int64(maxBody)
	}
	var maxImport int
	integer("REDENGINE_MAX_IMPORT_BODY", &maxImport)
	if maxImport > 0 {
		c.MaxImportBytes = int64(maxImport)
	}
	integer("REDENGINE_FIER_MAX_DAYS", &c.FIERMaxDays)
	integer("REDENGINE_FIER_MAX_RECORDS", &c.FIERMaxRecords)
	duration("REDENGINE_FIER_DOWNLOAD_TTL", &c.FIERDownloadTTL)
	duration("REDENGINE_WAIT_TIMEOUT", &c.WaitTimeout)
	upTo("REDENGINE_COMMIT_LINGER", MaxCommitLinger, "500us", &c.CommitLinger)
	if v := strings.TrimSpace(getenv("REDENGINE_PROJECTION_NICE")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 19 {
			fields.Add("REDENGINE_PROJECTION_NICE", "debe ser un entero entre 0 (la prioridad del proceso) y 19 (la más baja)")
		} else {
			c.ProjectionNice = n
		}
	}
	upTo("REDENGINE_PROJECTION_GATHER", MaxProjectionGather, "10ms", &c.ProjectionGather)
	upTo("REDENGINE_PROJECTION_WRITEBACK", MaxProjectionWriteback, "5s", &c.ProjectionWriteback)
	switch strings.TrimSpace(getenv("REDENGINE_DEMO")) {
	case "", "0", "false":
	default:
		c.Demo = true
	}
	switch {
	case c.EventStore == "", strings.HasPrefix(c.EventStore, "esdb://"), strings.HasPrefix(c.EventStore, "esdb+discover://"):
	case strings.HasPrefix(c.EventStore, "sqlite://") && filepath.IsAbs(strings.TrimPrefix(c.EventStore, "sqlite://")):
	default:
		fields.Add("REDENGINE_EVENTSTORE", "vacío (SQLite en el directorio de datos), sqlite:///ruta/absoluta/events.db o una cadena esdb://…")
	}
	if len(fields) > 0 {
		return c, errs.E(errs.Op("config.Load"), errs.Invalid, "configuración no válida", fields)
	}
	return c, nil
}

// EventsPath is the SQLite event store file: the one REDENGINE_EVENTSTORE
// names as sqlite:///path (several processes may share it), or events.db in
// the data dir.
func (c Config) EventsPath() string {
	if p, ok := strings.CutPrefix(c.EventStore, "sqlite://"); ok {
		return p
	}
	return filepath.Join(c.DataDir, "events.db")
}

// ReadModelsPath is the read-model database file in the data dir.
func (c Config) ReadModelsPath() string { return filepath.Join(c.DataDir, "readmodels.db") }

// ManualClock reports whether the clock is manual.
func (c Config) ManualClock() bool { return strings.HasPrefix(c.Clock, "manual:") }
