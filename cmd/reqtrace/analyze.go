package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// Request is one HTTP request's goroutine time, from the trace.
type Request struct {
	Start, End trace.Time
	Running    time.Duration            // on a core
	Runnable   time.Duration            // ready, waiting for a core
	Blocked    map[string]time.Duration // waiting (or in a system call), by where
}

// Duration is the request's time in the server.
func (r *Request) Duration() time.Duration { return time.Duration(r.End - r.Start) }

// gor follows one goroutine: its state since when, what it last blocked
// on, and the request it is serving.
type gor struct {
	state trace.GoState
	since trace.Time
	where string
	cur   *Request
	task  trace.TaskID
}

// Requests reads an execution trace and returns the requests it holds —
// the runtime/trace tasks of type taskType (the engine's are
// api.TraceTask) — in the order they ended, each with the time of the
// goroutine that began it. prefix names the frames that say where a
// goroutine waited.
func Requests(in io.Reader, taskType, prefix string) ([]*Request, error) {
	r, err := trace.NewReader(in)
	if err != nil {
		return nil, err
	}
	gs := map[trace.GoID]*gor{}
	get := func(id trace.GoID, state trace.GoState, at trace.Time) *gor {
		g := gs[id]
		if g == nil {
			g = &gor{state: state, since: at}
			gs[id] = g
		}
		return g
	}
	var out []*Request
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		now := ev.Time()
		switch ev.Kind() {
		case trace.EventTaskBegin:
			if t := ev.Task(); t.Type == taskType && ev.Goroutine() != trace.NoGoroutine {
				g := get(ev.Goroutine(), trace.GoRunning, now)
				g.account(now)
				g.cur, g.task = &Request{Start: now, Blocked: map[string]time.Duration{}}, t.ID
			}
		case trace.EventTaskEnd:
			if ev.Goroutine() == trace.NoGoroutine {
				continue
			}
			if g := gs[ev.Goroutine()]; g != nil && g.cur != nil && g.task == ev.Task().ID {
				g.account(now)
				g.cur.End = now
				out = append(out, g.cur)
				g.cur = nil
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			from, to := st.Goroutine()
			g := get(st.Resource.Goroutine(), from, now)
			g.account(now)
			if to == trace.GoWaiting || to == trace.GoSyscall {
				g.where = where(funcs(ev.Stack()), prefix)
			}
			g.state = to
		}
	}
}

// account adds the time since g.since, in g's state, to its request.
func (g *gor) account(now trace.Time) {
	if q := g.cur; q != nil {
		d := time.Duration(now - g.since)
		switch g.state {
		case trace.GoRunning:
			q.Running += d
		case trace.GoRunnable:
			q.Runnable += d
		case trace.GoWaiting:
			q.Blocked[g.where] += d
		case trace.GoSyscall:
			q.Blocked["syscall "+g.where] += d
		}
	}
	g.since = now
}

func funcs(s trace.Stack) []string {
	var out []string
	for f := range s.Frames() {
		out = append(out, f.Func)
	}
	return out
}

// where names a blocking stack: its first frame under prefix and the frame
// that blocked ("?" for an empty stack). The trace already names a generic
// function without its type arguments ("Handler[...]").
func where(frames []string, prefix string) string {
	if len(frames) == 0 {
		return "?"
	}
	leaf := frames[0]
	for _, f := range frames {
		if strings.HasPrefix(f, prefix) {
			if f != leaf {
				return f + " ← " + leaf
			}
			return leaf
		}
	}
	return leaf
}

// Report writes the percentiles of the requests' durations and where the
// time of three bands went: 40–60 %, 90–99 % and the slowest 1 %.
func Report(out io.Writer, reqs []*Request, top int) {
	fmt.Fprintf(out, "requests %d\n", len(reqs))
	if len(reqs) == 0 {
		return
	}
	sorted := slices.Clone(reqs)
	slices.SortFunc(sorted, func(a, b *Request) int { return int(a.Duration() - b.Duration()) })
	n := len(sorted)
	at := func(q float64) time.Duration { return sorted[min(n-1, int(q*float64(n)))].Duration() }
	fmt.Fprintf(out, "p50 %v  p90 %v  p99 %v  max %v\n", at(.5), at(.9), at(.99), sorted[n-1].Duration())
	band := func(name string, qs []*Request) {
		if len(qs) == 0 {
			return
		}
		var total, running, runnable time.Duration
		blocked := map[string]time.Duration{}
		for _, q := range qs {
			total += q.Duration()
			running += q.Running
			runnable += q.Runnable
			for k, v := range q.Blocked {
				blocked[k] += v
			}
		}
		c := time.Duration(len(qs))
		fmt.Fprintf(out, "%s (%d requests), mean: %v — running %v, waiting for a core %v\n", name, len(qs), total/c, running/c, runnable/c)
		keys := make([]string, 0, len(blocked))
		for k := range blocked {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return int(blocked[b] - blocked[a]) })
		for i, k := range keys {
			if i == top {
				break
			}
			fmt.Fprintf(out, "  %10v  %s\n", blocked[k]/c, k)
		}
	}
	band("median band (40–60 %)", sorted[n*4/10:n*6/10])
	band("90–99 %", sorted[n*9/10:n*99/100])
	band("slowest 1 %", sorted[n*99/100:])
}
