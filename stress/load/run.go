package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Config is one load run.
type Config struct {
	Duration time.Duration
	// Rate is ops per second, scheduled open-loop (latency counts from the
	// instant an op was due, so queueing is included); 0 saturates: every
	// worker issues its next op as soon as the last one ended.
	Rate        float64
	Concurrency int
	Mix         Mix
	// Progress, when not nil, gets a progress line every second
	// (carriage-return refreshed: meant for a terminal).
	Progress io.Writer
	// Probe, when true, measures while loaded: the projection-lag gauge of
	// /metrics and how long a list query with minPosition (read your
	// writes) waits for the latest write, every 250 ms.
	Probe bool
	Seed  uint64
}

// Stats are latency percentiles of a set of requests.
type Stats struct {
	Count    int // requests
	OK       int // 2xx answers (the percentiles and PerSec are of these)
	Errors   int // transport errors and 5xx
	Refused  int // 4xx (409 conflicts and preconditions included)
	PerSec   float64
	P50, P99 time.Duration
	P999     time.Duration
	Max      time.Duration
}

// Result is what a run measured.
type Result struct {
	Elapsed  time.Duration
	Commands Stats // every command (2xx only in the percentiles)
	Queries  Stats
	ByName   map[string]Stats
	// Status counts answers by status (0: transport error).
	Status map[int]int
	// RYW is the latency of a read-your-writes query (minPosition of the
	// latest write) while loaded; MaxLag is the largest
	// redengine_projection_lag_events seen on /metrics.
	RYW    Stats
	MaxLag float64
	// Late, in a paced run, is how long after its due instant each op
	// began: the client's own pacing (Go's timers wake at millisecond
	// granularity when the process sleeps, and the client shares the
	// machine's cores) or, were every worker busy, the engine's queueing.
	// It is counted in the latencies, which run from the due instant.
	// Empty when saturating.
	Late Stats
	// Stages are the embedded event store's timings over the run, from
	// /metrics (empty without them).
	Stages StoreStages
	// EngineCommands is the engine's own timing of the commands it
	// answered 2xx over the run (EngineReading.Commands), when read.
	EngineCommands Histogram
	// EngineCPU is the engine process's CPU time over the run (from its
	// /metrics: set-up and warm-up excluded), when EngineCPUKnown.
	EngineCPU      time.Duration
	EngineCPUKnown bool
	// Host is the machine's speed probed before and after the run (set
	// by the caller; zero when not probed): see ProbeHost.
	Host [2]HostSpeed
}

type recorder struct {
	mu      sync.Mutex
	lat     map[string][]time.Duration // 2xx latencies by name
	cmdLat  []time.Duration
	qLat    []time.Duration
	counts  map[string]*Stats
	status  map[int]int
	cmdN    atomic.Int64
	qN      atomic.Int64
	errN    atomic.Int64
	win     []time.Duration // command latencies since the last progress line
	late    []time.Duration // how late paced ops began
	lastPos atomic.Value    // string
}

func newRecorder() *recorder {
	return &recorder{lat: map[string][]time.Duration{}, counts: map[string]*Stats{}, status: map[int]int{}}
}

func (r *recorder) add(s Sample, lat time.Duration) {
	ok := s.Err == nil && s.Status >= 200 && s.Status < 300
	r.mu.Lock()
	r.status[s.Status]++
	st := r.counts[s.Name]
	if st == nil {
		st = &Stats{}
		r.counts[s.Name] = st
	}
	st.Count++
	switch {
	case s.Err != nil || s.Status >= 500:
		st.Errors++
		r.errN.Add(1)
	case !ok:
		st.Refused++
	}
	if ok {
		r.lat[s.Name] = append(r.lat[s.Name], lat)
		if s.Command {
			r.cmdLat = append(r.cmdLat, lat)
			r.win = append(r.win, lat)
		} else {
			r.qLat = append(r.qLat, lat)
		}
	}
	r.mu.Unlock()
	if s.Command {
		r.cmdN.Add(1)
		if s.Position != "" {
			r.lastPos.Store(s.Position)
		}
	} else {
		r.qN.Add(1)
	}
}

// began records that a paced op began late after its due instant.
func (r *recorder) began(late time.Duration) {
	r.mu.Lock()
	r.late = append(r.late, late)
	r.mu.Unlock()
}

func stats(lat []time.Duration, elapsed time.Duration) Stats {
	s := Stats{Count: len(lat), OK: len(lat)}
	if elapsed > 0 {
		s.PerSec = float64(len(lat)) / elapsed.Seconds()
	}
	if len(lat) == 0 {
		return s
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		i := int(p * float64(len(lat)))
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return lat[i]
	}
	s.P50, s.P99, s.P999, s.Max = q(0.50), q(0.99), q(0.999), lat[len(lat)-1]
	return s
}

// Run drives the world with the configured mix until the duration is over
// or ctx ends.
func Run(ctx context.Context, w *World, cfg Config) Result {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	rec := newRecorder()
	before, beforeErr := ReadEngine(ctx, w.C)
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var jobs chan time.Time
	if cfg.Rate > 0 {
		jobs = make(chan time.Time, cfg.Concurrency*64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(jobs)
			interval := time.Duration(float64(time.Second) / cfg.Rate)
			for i := 0; ; i++ {
				due := start.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				select {
				case <-ctx.Done():
					return
				case jobs <- due:
				}
			}
		}()
	}
	for n := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(n)+1))
			for ctx.Err() == nil {
				due := time.Now()
				if jobs != nil {
					var ok bool
					if due, ok = <-jobs; !ok {
						return
					}
					rec.began(max(0, time.Since(due)))
				}
				name := cfg.Mix.pick(rng)
				first := true
				cfg.Mix.run(ctx, name, w, rng, func(s Sample, r *Response) {
					if ctx.Err() != nil && s.Err != nil {
						return // cut off by the end of the run
					}
					lat := time.Since(due)
					if !first && r != nil {
						lat = r.Latency // follow-up requests count from their own start
					}
					first = false
					rec.add(s, lat)
				})
			}
		}()
	}
	var probe struct {
		sync.Mutex
		ryw    []time.Duration
		rywErr int
		maxLag float64
	}
	var bg sync.WaitGroup
	if cfg.Probe {
		bg.Add(1)
		go func() {
			defer bg.Done()
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if lag, err := projectionLag(ctx, w.C); err == nil {
					probe.Lock()
					probe.maxLag = max(probe.maxLag, lag)
					probe.Unlock()
				}
				pos, _ := rec.lastPos.Load().(string)
				if pos == "" {
					continue
				}
				t0 := time.Now()
				r, err := w.C.Do(ctx, Request{Method: http.MethodGet, Path: "/v1/cases?limit=1&authorization=" + w.Auts[0].Number + "&minPosition=" + pos,
					Token: w.Tramitador()})
				if ctx.Err() != nil {
					return
				}
				probe.Lock()
				if err != nil || !r.OK() {
					probe.rywErr++
				} else {
					probe.ryw = append(probe.ryw, time.Since(t0))
				}
				probe.Unlock()
			}
		}()
	}
	if cfg.Progress != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			progress(ctx, cfg.Progress, rec, start, cfg.Duration)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	bg.Wait()
	res := Result{Elapsed: elapsed, ByName: map[string]Stats{}, Status: rec.status}
	res.Commands = stats(rec.cmdLat, elapsed)
	res.Queries = stats(rec.qLat, elapsed)
	for name, c := range rec.counts {
		s := stats(rec.lat[name], elapsed)
		s.Count, s.Errors, s.Refused = c.Count, c.Errors, c.Refused
		res.ByName[name] = s
		agg := &res.Commands
		if name == "get" || name == "list" || name == "me" {
			agg = &res.Queries
		}
		agg.Errors += c.Errors
		agg.Refused += c.Refused
	}
	res.Commands.Count = res.Commands.OK + res.Commands.Refused + res.Commands.Errors
	res.Queries.Count = res.Queries.OK + res.Queries.Refused + res.Queries.Errors
	res.RYW = stats(probe.ryw, elapsed)
	res.RYW.Errors = probe.rywErr
	res.MaxLag = probe.maxLag
	rec.mu.Lock()
	res.Late = stats(rec.late, 0)
	rec.mu.Unlock()
	if beforeErr == nil {
		if after, err := ReadEngine(context.WithoutCancel(ctx), w.C); err == nil {
			res.Stages = after.Stages.Sub(before.Stages)
			res.EngineCommands = after.Commands.Sub(before.Commands)
			if before.CPUKnown && after.CPUKnown {
				res.EngineCPU, res.EngineCPUKnown = after.CPU-before.CPU, true
			}
		}
	}
	return res
}

func progress(ctx context.Context, out io.Writer, rec *recorder, start time.Time, total time.Duration) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastC, lastQ int64
	last := start
	for {
		select {
		case <-ctx.Done():
			fmt.Fprint(out, "\r\033[K")
			return
		case now := <-t.C:
			c, q := rec.cmdN.Load(), rec.qN.Load()
			dt := now.Sub(last).Seconds()
			rec.mu.Lock()
			win := rec.win
			rec.win = nil
			rec.mu.Unlock()
			p99 := stats(win, 0).P99
			fmt.Fprintf(out, "\r\033[K%5.0fs/%s  commands %6.0f/s  p99 %7s  queries %6.0f/s  errors %d",
				now.Sub(start).Seconds(), total.Round(time.Second), float64(c-lastC)/dt, p99.Round(10*time.Microsecond),
				float64(q-lastQ)/dt, rec.errN.Load())
			lastC, lastQ, last = c, q, now
		}
	}
}

// projectionLag reads the largest redengine_projection_lag_events of
// /metrics.
func projectionLag(ctx context.Context, c *Client) (float64, error) {
	r, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "/metrics"})
	if err != nil {
		return 0, err
	}
	var lag float64
	sc := bufio.NewScanner(strings.NewReader(string(r.Body)))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "redengine_projection_lag_events") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			lag = max(lag, v)
		}
	}
	return lag, nil
}

// Report writes the result as a table.
func (r Result) Report(out io.Writer) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "what\tok/s\tok\trefused\terrors\tp50\tp99\tp99.9\tmax\t\n")
	row := func(name string, s Stats) {
		fmt.Fprintf(tw, "%s\t%.0f\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t\n", name, s.PerSec, s.OK, s.Refused, s.Errors,
			ms(s.P50), ms(s.P99), ms(s.P999), ms(s.Max))
	}
	row("COMMANDS", r.Commands)
	row("QUERIES", r.Queries)
	for _, n := range names(r.ByName) {
		row("  "+n, r.ByName[n])
	}
	if r.RYW.Count > 0 || r.RYW.Errors > 0 {
		row("read-your-write", r.RYW)
	}
	tw.Flush()
	var st []string
	for _, k := range sortedInts(r.Status) {
		st = append(st, fmt.Sprintf("%d×%d", k, r.Status[k]))
	}
	fmt.Fprintf(out, "elapsed %s; statuses %s; max projection lag on /metrics %.0f events\n",
		r.Elapsed.Round(time.Millisecond), strings.Join(st, " "), r.MaxLag)
	if r.Late.Count > 0 {
		fmt.Fprintf(out, "paced ops began after their due instant by p50 %s, p99 %s, p99.9 %s, max %s (the client's pacing; counted in the latencies)\n",
			ms(r.Late.P50), ms(r.Late.P99), ms(r.Late.P999), ms(r.Late.Max))
	}
	if n := r.answered(); r.EngineCPUKnown && n > 0 {
		fmt.Fprintf(out, "engine CPU over the run (its /metrics): %.2fs, %.3f CPU-ms per answered request\n",
			r.EngineCPU.Seconds(), float64(r.EngineCPU)/float64(time.Millisecond)/float64(n))
	}
	if h := r.EngineCommands; h.Count > 0 {
		fmt.Fprintf(out, "engine (its /metrics): commands answered 2xx, timed from its handler's start: mean %s, p99 %s, over 10 ms %.2f%% of %.0f\n",
			ms(h.Mean()), h.p99(), 100*h.Over(10*time.Millisecond), h.Count)
	}
	reportStages(out, r.Stages)
	for i, when := range [2]string{"before the run", "after it"} {
		if r.Host[i].CPU > 0 {
			r.Host[i].Report(out, when)
		}
	}
}

// answered counts the requests that got an HTTP answer.
func (r Result) answered() int {
	n := 0
	for status, c := range r.Status {
		if status != 0 {
			n += c
		}
	}
	return n
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func sortedInts(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
