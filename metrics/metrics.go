// Package metrics holds the engine's Prometheus instruments on a registry of
// its own (never the global default), so several engines can live in one
// test process.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the instruments every part of the engine reports to. The zero
// value is not usable; use New. A nil *Metrics is accepted by the helper
// methods and records nothing.
type Metrics struct {
	Registry        *prometheus.Registry
	RequestDuration *prometheus.HistogramVec // by method, route, status
	Appends         *prometheus.CounterVec   // by outcome: ok, conflict, duplicate, error
	ProjectionLag   *prometheus.GaugeVec     // by projection: events behind the head
	SchedulerPasses *prometheus.CounterVec   // by outcome
	SchedulerActs   *prometheus.CounterVec   // by action and outcome
	Emails          *prometheus.CounterVec   // by outcome: sent, failed, skipped
	// ProjectionBatches and ProjectionEvents count each projection's
	// committed transactions and the events they covered.
	ProjectionBatches *prometheus.CounterVec
	ProjectionEvents  *prometheus.CounterVec
	// StoreAppendStages is where the embedded store's appends spend their
	// time, by stage: queue, commit, sync_queue, sync, wake (see
	// StoreAppend);
	// StoreCheckpointHold how long each checkpoint finished by the
	// store's writer held its appends.
	StoreAppendStages   *prometheus.HistogramVec
	StoreCheckpointHold prometheus.Histogram

	queued, committing, syncQueued, syncing, waking prometheus.Observer // StoreAppendStages' series
}

// New creates the instruments on a fresh registry, with Go and process
// collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "redengine_http_request_duration_seconds",
			Help:    "HTTP request latency by route template.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "status"}),
		Appends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redengine_command_appends_total",
			Help: "Command appends to the event store by outcome.",
		}, []string{"outcome"}),
		ProjectionLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "redengine_projection_lag_events",
			Help: "Events of the global log not yet applied by each projection.",
		}, []string{"projection"}),
		SchedulerPasses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redengine_scheduler_passes_total",
			Help: "Scheduler passes by outcome.",
		}, []string{"outcome"}),
		SchedulerActs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redengine_scheduler_actions_total",
			Help: "Due deadlines acted on by action and outcome.",
		}, []string{"action", "outcome"}),
		Emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redengine_emails_total",
			Help: "Emails by outcome.",
		}, []string{"outcome"}),
		ProjectionBatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redengine_projection_batches_total",
			Help: "Read-model transactions committed by each projection.",
		}, []string{"projection"}),
		ProjectionEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redengine_projection_events_total",
			Help: "Events of the global log covered by each projection's committed batches.",
		}, []string{"projection"}),
		StoreAppendStages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "redengine_store_append_stage_seconds",
			Help:    "Time of the embedded event store's successful appends by stage: queue (until their group's commit starts), commit, sync_queue (until the WAL sync that covers it starts; durable appends only), sync (that fdatasync; durable appends only), wake (until the caller runs again).",
			Buckets: stageBuckets,
		}, []string{"stage"}),
		StoreCheckpointHold: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "redengine_store_checkpoint_hold_seconds",
			Help:    "How long each WAL checkpoint finished by the embedded event store's writer held its appends.",
			Buckets: stageBuckets,
		}),
	}
	m.queued = m.StoreAppendStages.WithLabelValues("queue")
	m.committing = m.StoreAppendStages.WithLabelValues("commit")
	m.syncQueued = m.StoreAppendStages.WithLabelValues("sync_queue")
	m.syncing = m.StoreAppendStages.WithLabelValues("sync")
	m.waking = m.StoreAppendStages.WithLabelValues("wake")
	r.MustRegister(m.RequestDuration, m.Appends, m.ProjectionLag, m.SchedulerPasses, m.SchedulerActs, m.Emails,
		m.ProjectionBatches, m.ProjectionEvents, m.StoreAppendStages, m.StoreCheckpointHold,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// stageBuckets are the bounds of the store's timings: from a tenth of a
// millisecond (a commit, a sync on an idle disk) to a quarter of a second.
var stageBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25}

// AppendStages is where one successful append of the embedded store spent
// its time (sqlite.AppendTiming, as the engine passes it on).
type AppendStages struct {
	Queue     time.Duration // until its group's commit started
	Commit    time.Duration // the commit
	SyncQueue time.Duration // until the WAL sync that covers it started
	Sync      time.Duration // that sync
	Wake      time.Duration // until the caller ran again
	// Provisional: answered at its commit; it has no sync stages.
	Provisional bool
}

// StoreAppend records one successful append of the embedded store by
// stage. A provisional append's sync stages are not recorded.
func (m *Metrics) StoreAppend(a AppendStages) {
	if m == nil {
		return
	}
	m.queued.Observe(a.Queue.Seconds())
	m.committing.Observe(a.Commit.Seconds())
	if !a.Provisional {
		m.syncQueued.Observe(a.SyncQueue.Seconds())
		m.syncing.Observe(a.Sync.Seconds())
	}
	m.waking.Observe(a.Wake.Seconds())
}

// CheckpointHold records how long a checkpoint finished by the embedded
// store's writer held its appends.
func (m *Metrics) CheckpointHold(d time.Duration) {
	if m != nil {
		m.StoreCheckpointHold.Observe(d.Seconds())
	}
}

// Append counts one append with its outcome.
func (m *Metrics) Append(outcome string) {
	if m != nil {
		m.Appends.WithLabelValues(outcome).Inc()
	}
}

// Email counts one email with its outcome.
func (m *Metrics) Email(outcome string) {
	if m != nil {
		m.Emails.WithLabelValues(outcome).Inc()
	}
}

// Lag sets a projection's lag.
func (m *Metrics) Lag(projection string, events float64) {
	if m != nil {
		m.ProjectionLag.WithLabelValues(projection).Set(events)
	}
}

// Pass counts one scheduler pass.
func (m *Metrics) Pass(outcome string) {
	if m != nil {
		m.SchedulerPasses.WithLabelValues(outcome).Inc()
	}
}

// Act counts one scheduler action.
func (m *Metrics) Act(action, outcome string) {
	if m != nil {
		m.SchedulerActs.WithLabelValues(action, outcome).Inc()
	}
}

// Batch counts one committed projection batch covering events events.
func (m *Metrics) Batch(projection string, events int) {
	if m != nil {
		m.ProjectionBatches.WithLabelValues(projection).Inc()
		m.ProjectionEvents.WithLabelValues(projection).Add(float64(events))
	}
}

// StoreCounters are an event store's running totals, read at each scrape.
type StoreCounters struct {
	Commits, Events, Checkpoints, Lingers func() uint64
}

// Store exposes an event store's own counters (the embedded SQLite store
// has them): redengine_store_commits_total (write transactions),
// redengine_store_events_total and redengine_store_checkpoints_total (WAL
// checkpoints) and redengine_store_commit_lingers_total (waits for more
// appends before a small commit). Events per commit is how much the
// writer's group commit is grouping.
func (m *Metrics) Store(c StoreCounters) {
	if m == nil {
		return
	}
	add := func(name, help string, f func() uint64) {
		if f != nil {
			m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
				func() float64 { return float64(f()) }))
		}
	}
	add("redengine_store_commits_total", "Write transactions committed by the event store.", c.Commits)
	add("redengine_store_events_total", "Events written by the event store.", c.Events)
	add("redengine_store_checkpoints_total", "WAL checkpoints run by the event store.", c.Checkpoints)
	add("redengine_store_commit_lingers_total", "Waits of the event store's writer for more appends before committing a small group.", c.Lingers)
}
