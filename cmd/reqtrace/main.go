// Command reqtrace reads a Go execution trace of a redengine serving HTTP
// and tells where its requests' time went: how long each request's goroutine
// ran, waited for a core, and was blocked, and on what — for the median
// requests, the 90th to 99th percentiles and the slowest 1 %.
//
//	curl -o serve.trace "http://$REDENGINE_DEBUG_ADDR/debug/pprof/trace?seconds=5"
//	reqtrace serve.trace
//
// The engine makes each request a runtime/trace task of type "http" while a
// trace is taken (api.TraceTask): a request's time is that of the goroutine
// that began its task, from its beginning to its end — after the request
// was read, before the answer left the buffers. Blocked time is keyed by
// the first frame of this module (-prefix) on the blocking stack and the
// frame that blocked. See docs/benchmarks.md, "Evening session of
// the 28th", for what it showed.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reqtrace", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("prefix", "redengine/", "package path prefix of the frames that name a wait")
	task := fs.String("task", "http", "type of the runtime/trace tasks that are requests (api.TraceTask)")
	top := fs.Int("top", 10, "waits listed per band")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: reqtrace [-task t] [-prefix p] [-top n] [trace file; default stdin]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in := stdin
	if fs.NArg() > 0 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, "reqtrace:", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	reqs, err := Requests(in, *task, *prefix)
	if err != nil {
		fmt.Fprintln(stderr, "reqtrace:", err)
		return 1
	}
	Report(stdout, reqs, *top)
	return 0
}
