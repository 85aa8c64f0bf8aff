package load

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"redengine/metrics"
)

const metricsBefore = `# HELP redengine_store_append_stage_seconds Time of appends by stage.
# TYPE redengine_store_append_stage_seconds histogram
redengine_store_append_stage_seconds_bucket{stage="queue",le="0.001"} 10
redengine_store_append_stage_seconds_bucket{stage="queue",le="0.005"} 10
redengine_store_append_stage_seconds_bucket{stage="queue",le="0.01"} 10
redengine_store_append_stage_seconds_bucket{stage="queue",le="+Inf"} 10
redengine_store_append_stage_seconds_sum{stage="queue"} 0.005
redengine_store_append_stage_seconds_count{stage="queue"} 10
redengine_store_checkpoint_hold_seconds_bucket{le="0.001"} 0
redengine_store_checkpoint_hold_seconds_bucket{le="0.005"} 0
redengine_store_checkpoint_hold_seconds_bucket{le="0.01"} 1
redengine_store_checkpoint_hold_seconds_bucket{le="+Inf"} 1
redengine_store_checkpoint_hold_seconds_sum 0.008
redengine_store_checkpoint_hold_seconds_count 1
redengine_projection_lag_events{projection="cases"} 0
`

// After: the queue stage got 100 more appends (90 within 1 ms, 8 within
// 5 ms, 1 within 10 ms, 1 above), the checkpoints one more of 20 ms.
const metricsAfter = `redengine_store_append_stage_seconds_bucket{stage="queue",le="0.001"} 100
redengine_store_append_stage_seconds_bucket{stage="queue",le="0.005"} 108
redengine_store_append_stage_seconds_bucket{stage="queue",le="0.01"} 109
redengine_store_append_stage_seconds_bucket{stage="queue",le="+Inf"} 110
redengine_store_append_stage_seconds_sum{stage="queue"} 0.155
redengine_store_append_stage_seconds_count{stage="queue"} 110
redengine_store_checkpoint_hold_seconds_bucket{le="0.001"} 0
redengine_store_checkpoint_hold_seconds_bucket{le="0.005"} 0
redengine_store_checkpoint_hold_seconds_bucket{le="0.01"} 1
redengine_store_checkpoint_hold_seconds_bucket{le="+Inf"} 2
redengine_store_checkpoint_hold_seconds_sum 0.028
redengine_store_checkpoint_hold_seconds_count 2
`

func TestStoreStagesBetweenTwoReadings(t *testing.T) {
	before := parseStoreStages(strings.NewReader(metricsBefore))
	after := parseStoreStages(strings.NewReader(metricsAfter))
	d := after.Sub(before)
	q := d["queue"]
	if q.Count != 100 || q.Mean() != 1500*time.Microsecond {
		t.Errorf("queue: count %v mean %v, want 100 and 1.5ms", q.Count, q.Mean())
	}
	for _, c := range []struct {
		q      float64
		want   time.Duration
		within bool
	}{
		{0.5, time.Millisecond, true},
		{0.9, time.Millisecond, true},
		{0.95, 5 * time.Millisecond, true},
		{0.99, 10 * time.Millisecond, true},
		{1, 10 * time.Millisecond, false}, // above the last bound
	} {
		if got, within := q.Quantile(c.q); got != c.want || within != c.within {
			t.Errorf("quantile %v: %v (within %v), want %v (%v)", c.q, got, within, c.want, c.within)
		}
	}
	if got := q.Over(5 * time.Millisecond); got < 0.0199 || got > 0.0201 {
		t.Errorf("share over 5 ms %v, want 0.02", got)
	}
	cp := d["checkpoint"]
	if cp.Count != 1 || cp.Mean() != 20*time.Millisecond {
		t.Errorf("checkpoint: count %v mean %v, want 1 and 20ms", cp.Count, cp.Mean())
	}
	if _, ok := d["sync"]; ok {
		t.Error("a stage absent from /metrics was reported")
	}
	var out strings.Builder
	reportStages(&out, d)
	for _, want := range []string{"appends' queue mean 1.50ms, p99 ≤ 10.00ms, over 5 ms 2.00% of 100", "checkpoints' hold of the writer mean 20.00ms, p99 > 10.00ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestProcessCPUFromMetrics(t *testing.T) {
	for _, c := range []struct {
		body string
		want time.Duration
		ok   bool
	}{
		{"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\nprocess_open_fds 9\n", 12500 * time.Millisecond, true},
		{"process_cpu_seconds_total_other 3\n", 0, false},
		{"process_cpu_seconds_total x\n", 0, false},
		{"", 0, false},
	} {
		if got, ok := parseProcessCPU(c.body); got != c.want || ok != c.ok {
			t.Errorf("%q: %v %v, want %v %v", c.body, got, ok, c.want, c.ok)
		}
	}
	r := Result{Status: map[int]int{200: 300, 201: 100, 0: 7}, EngineCPU: 200 * time.Millisecond, EngineCPUKnown: true}
	var out strings.Builder
	r.Report(&out)
	if want := "engine CPU over the run (its /metrics): 0.20s, 0.500 CPU-ms per answered request"; !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, out.String())
	}
}

// ReadEngine over real HTTP, from the engine's own metrics registry (its
// process collector and the store's histograms).
func TestReadEngineFromTheMetricsRegistry(t *testing.T) {
	m := metrics.New()
	m.StoreAppend(metrics.AppendStages{Queue: time.Millisecond, Commit: time.Millisecond, SyncQueue: time.Millisecond,
		Sync: 2 * time.Millisecond, Wake: 100 * time.Microsecond})
	// Commands answered 2xx on two routes count; a refusal and queries
	// (GET, HEAD) do not.
	for _, o := range []struct {
		method, route, status string
		d                     time.Duration
	}{
		{"POST", "/v1/cases", "201", 3 * time.Millisecond},
		{"POST", "/v1/cases", "201", 4 * time.Millisecond},
		{"POST", "/v1/cases/:id/messages", "200", 20 * time.Millisecond},
		{"PUT", "/v1/autorizaciones/:number/contact", "200", 2 * time.Millisecond},
		{"POST", "/v1/cases", "409", 30 * time.Millisecond},
		{"GET", "/v1/cases", "200", 40 * time.Millisecond},
		{"HEAD", "/v1/cases", "200", 50 * time.Millisecond},
	} {
		m.RequestDuration.WithLabelValues(o.method, o.route, o.status).Observe(o.d.Seconds())
	}
	srv := httptest.NewServer(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	r, err := ReadEngine(context.Background(), NewClient(srv.URL, 1))
	if err != nil {
		t.Fatal(err)
	}
	// Found (a fresh test process may have used under the counter's 10 ms
	// tick, so its value may be 0).
	if !r.CPUKnown || r.CPU < 0 {
		t.Errorf("process CPU %v (known %v), want this process's CPU time", r.CPU, r.CPUKnown)
	}
	for _, stage := range []string{"queue", "commit", "sync_queue", "sync", "wake"} {
		if r.Stages[stage].Count != 1 {
			t.Errorf("stage %s: %v observations, want 1", stage, r.Stages[stage].Count)
		}
	}
	c := r.Commands
	if c.Count != 4 || c.Over(10*time.Millisecond) != 0.25 || c.Over(5*time.Millisecond) != 0.25 || c.Mean().Round(time.Microsecond) != 7250*time.Microsecond {
		t.Errorf("commands' timing: %v answers, %.2f over 10 ms, mean %v; want 4, 0.25, 7.25ms (%+v)",
			c.Count, c.Over(10*time.Millisecond), c.Mean(), c)
	}
	var out strings.Builder
	Result{EngineCommands: c}.Report(&out)
	if want := "engine (its /metrics): commands answered 2xx, timed from its handler's start: mean 7.25ms, p99 ≤ 25.00ms, over 10 ms 25.00% of 4"; !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, out.String())
	}
}
