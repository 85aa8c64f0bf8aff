package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Histogram is a Prometheus histogram read from /metrics: cumulative
// counts by upper bound (seconds), and the sum and count.
type Histogram struct {
	Bounds []float64
	Counts []float64 // cumulative, one per bound
	Sum    float64
	Count  float64
}

// Sub returns h minus an earlier reading of the same histogram (the
// observations made between the two).
func (h Histogram) Sub(before Histogram) Histogram {
	out := Histogram{Bounds: h.Bounds, Counts: slices.Clone(h.Counts), Sum: h.Sum - before.Sum, Count: h.Count - before.Count}
	if len(before.Counts) == len(h.Counts) {
		for i := range out.Counts {
			out.Counts[i] -= before.Counts[i]
		}
	}
	return out
}

// Mean is the mean observation.
func (h Histogram) Mean() time.Duration {
	if h.Count <= 0 {
		return 0
	}
	return time.Duration(h.Sum / h.Count * float64(time.Second))
}

// Quantile returns the upper bound of the bucket holding quantile q (an
// observation above the last bound: the last bound and false).
func (h Histogram) Quantile(q float64) (time.Duration, bool) {
	if h.Count <= 0 || len(h.Bounds) == 0 {
		return 0, true
	}
	for i, c := range h.Counts {
		if c >= q*h.Count {
			return time.Duration(h.Bounds[i] * float64(time.Second)), true
		}
	}
	return time.Duration(h.Bounds[len(h.Bounds)-1] * float64(time.Second)), false
}

// p99 states the bucket of the 99th percentile: "≤ bound", or "> the last
// bound" above them all.
func (h Histogram) p99() string {
	q, within := h.Quantile(0.99)
	if !within {
		return "> " + ms(q)
	}
	return "≤ " + ms(q)
}

// Over returns the share of observations above bound d (d one of the
// bucket bounds; otherwise the next bound below it counts).
func (h Histogram) Over(d time.Duration) float64 {
	if h.Count <= 0 {
		return 0
	}
	le := 0.0
	for i, b := range h.Bounds {
		if time.Duration(b*float64(time.Second)) <= d {
			le = h.Counts[i]
		}
	}
	return 1 - le/h.Count
}

// StoreStages are the embedded event store's timings on /metrics:
// redengine_store_append_stage_seconds by stage (queue, commit, sync_queue,
// sync, wake) and
// redengine_store_checkpoint_hold_seconds under "checkpoint".
type StoreStages map[string]Histogram

// Sub returns the observations made since before.
func (s StoreStages) Sub(before StoreStages) StoreStages {
	out := StoreStages{}
	for k, h := range s {
		out[k] = h.Sub(before[k])
	}
	return out
}

// EngineReading is what the load generator reads from the engine's
// /metrics before and after its run: the store's timings and the
// process's CPU time.
type EngineReading struct {
	Stages StoreStages // empty for an engine on EventStoreDB, which has none
	// CPU is process_cpu_seconds_total (user and system); CPUKnown is false
	// where the process collector reports none.
	CPU      time.Duration
	CPUKnown bool
	// Commands is the engine's own timing of the commands it answered
	// 2xx (redengine_http_request_duration_seconds of every method but GET,
	// summed over routes): from its handler's start to its answer, without
	// the network or the client.
	Commands Histogram
}

// ReadEngine reads the engine's /metrics.
func ReadEngine(ctx context.Context, c *Client) (EngineReading, error) {
	r, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/metrics"})
	if err != nil {
		return EngineReading{}, err
	}
	if !r.OK() {
		return EngineReading{}, fmt.Errorf("load: /metrics answered %d", r.Status)
	}
	body := string(r.Body)
	cpu, ok := parseProcessCPU(body)
	return EngineReading{Stages: parseStoreStages(strings.NewReader(body)), CPU: cpu, CPUKnown: ok,
		Commands: parseCommandLatency(body)}, nil
}

// parseCommandLatency sums, over routes, the engine's request-duration
// histograms of 2xx answers to methods other than GET and HEAD (the
// commands).
func parseCommandLatency(body string) Histogram {
	const name = "redengine_http_request_duration_seconds"
	var h Histogram
	for line := range strings.Lines(body) {
		rest, ok := strings.CutPrefix(line, name)
		if m := label(line, "method"); !ok || m == "GET" || m == "HEAD" || !strings.HasPrefix(label(line, "status"), "2") {
			continue
		}
		h.addSample(rest, line)
	}
	return h
}

// addSample adds to h a /metrics line of its histogram, rest being what
// follows the metric's name; the lines of several series with the same
// bounds add up.
func (h *Histogram) addSample(rest, line string) {
	f := strings.Fields(line)
	v, err := strconv.ParseFloat(f[len(f)-1], 64)
	if err != nil {
		return
	}
	switch {
	case strings.HasPrefix(rest, "_bucket"):
		b, err := strconv.ParseFloat(label(line, "le"), 64)
		if err != nil || math.IsInf(b, 1) {
			return
		}
		i := slices.Index(h.Bounds, b)
		if i < 0 {
			i = len(h.Bounds)
			h.Bounds = append(h.Bounds, b)
			h.Counts = append(h.Counts, 0)
		}
		h.Counts[i] += v
	case strings.HasPrefix(rest, "_sum"):
		h.Sum += v
	case strings.HasPrefix(rest, "_count"):
		h.Count += v
	}
}

// parseProcessCPU finds process_cpu_seconds_total in a /metrics text.
func parseProcessCPU(body string) (time.Duration, bool) {
	const name = "process_cpu_seconds_total "
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, name); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, false
			}
			return time.Duration(f * float64(time.Second)), true
		}
	}
	return 0, false
}

func parseStoreStages(in io.Reader) StoreStages {
	const stage, hold = "redengine_store_append_stage_seconds", "redengine_store_checkpoint_hold_seconds"
	out := StoreStages{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var name, key string
		switch {
		case strings.HasPrefix(line, stage):
			name, key = line[len(stage):], label(line, "stage")
		case strings.HasPrefix(line, hold):
			name, key = line[len(hold):], "checkpoint"
		default:
			continue
		}
		if key == "" {
			continue
		}
		h := out[key]
		h.addSample(name, line)
		out[key] = h
	}
	return out
}

// label returns the value of label name in a metric line.
func label(line, name string) string {
	i := strings.Index(line, name+`="`)
	if i < 0 {
		return ""
	}
	rest := line[i+len(name)+2:]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// reportStages writes one line per stage: mean, the bucket of the p99 and
// the share above 5 ms.
func reportStages(out io.Writer, s StoreStages) {
	for _, k := range []string{"queue", "commit", "sync_queue", "sync", "wake", "checkpoint"} {
		h, ok := s[k]
		if !ok || h.Count <= 0 {
			continue
		}
		what := "appends' " + k
		if k == "checkpoint" {
			what = "checkpoints' hold of the writer"
		}
		fmt.Fprintf(out, "store (engine's /metrics): %s mean %s, p99 %s, over 5 ms %.2f%% of %.0f\n",
			what, ms(h.Mean()), h.p99(), 100*h.Over(5*time.Millisecond), h.Count)
	}
}
