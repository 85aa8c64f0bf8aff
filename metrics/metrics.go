// Package metrics holds the engine's Prometheus instruments on a registry of
// its own (never the global default), so several engines can live in one
// test process.
package metrics

import (
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
	}
	r.MustRegister(m.RequestDuration, m.Appends, m.ProjectionLag, m.SchedulerPasses, m.SchedulerActs, m.Emails,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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
