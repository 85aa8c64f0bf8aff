// Command loadgen drives a realistic mix of commands and queries over HTTP
// against a redengine and reports throughput and p50/p99/p99.9 latency,
// with a progress line on a terminal, plus read-your-writes latency and the
// projection lag seen on /metrics while loaded.
//
//	loadgen -self -duration 30s                 # own engine in a temp dir, saturate
//	loadgen -self -rate 1000 -duration 30s      # paced at 1,000 ops/s
//	loadgen -url http://127.0.0.1:8080 -secret "$REDENGINE_JWT_SECRET"
//
// The mix is "name=weight,…" over open, reply, contact, nss, get, list, me
// (docs/benchmarks.md, "Load and stress").
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"golang.org/x/term"

	"redengine/config"
	"redengine/engine"
	"redengine/stress/load"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "engine base URL (e.g. http://127.0.0.1:8080); empty with -self")
	secret := fs.String("secret", os.Getenv("REDENGINE_JWT_SECRET"), "JWT secret of the engine (REDENGINE_JWT_SECRET)")
	self := fs.Bool("self", false, "start an engine in this process on a temporary data dir")
	dataDir := fs.String("data", "", "with -self: data dir to use (kept); default a temporary one (removed)")
	duration := fs.Duration("duration", 30*time.Second, "how long to load (after warm-up)")
	warmup := fs.Duration("warmup", 3*time.Second, "saturating warm-up before measuring (0: none)")
	rate := fs.Float64("rate", 0, "ops per second, open loop (0 = saturate)")
	conc := fs.Int("concurrency", 32, "concurrent clients")
	mixFlag := fs.String("mix", load.DefaultMix, "weighted mix: open, reply, contact, nss, get, list, me")
	auts := fs.Int("auts", 50, "autorizaciones to create")
	cases := fs.Int("cases", 100, "cases to open before loading")
	prefix := fs.String("prefix", "", "name prefix of the world (default random)")
	probe := fs.Bool("probe", true, "measure read-your-writes latency and projection lag while loaded")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	clientKind := fs.String("client", "lean", "HTTP client: lean (HTTP/1.1 on kept-alive connections, in the caller's goroutine) or std (net/http)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measured phase (the engine too, with -self)")
	hostProbe := fs.Bool("host", true, "time a fixed CPU unit and durable 4 KiB writes before and after the run, to tell a slow hour of the machine from a slow build")
	hostDir := fs.String("host-dir", "", "where the durable writes of -host go (default: the -data dir with -self, else the system's temporary dir; should be the engine's disk)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	mix, err := load.ParseMix(*mixFlag)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *prefix == "" {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		*prefix = "L" + hex.EncodeToString(b)
	}
	*prefix = upper(*prefix)
	if *self {
		base, sec, closeFn, err := startSelf(ctx, *dataDir)
		if err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
		defer closeFn()
		*url, *secret = base, sec
	}
	if *url == "" || *secret == "" {
		fmt.Fprintln(stderr, "loadgen: give -url and -secret, or -self")
		return 2
	}
	var client *load.Client
	switch *clientKind {
	case "lean":
		if client, err = load.NewLeanClient(*url, *conc); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 2
		}
	case "std":
		client = load.NewClient(*url, *conc)
	default:
		fmt.Fprintln(stderr, "loadgen: -client is lean or std")
		return 2
	}
	tokens, err := load.NewTokens(*secret, time.Now)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	fmt.Fprintf(stderr, "loadgen: %s  mix %s  concurrency %d  rate %s  client %s  GOMAXPROCS %d\n", *url, mix, *conc, rateText(*rate), *clientKind, runtime.GOMAXPROCS(0))
	if *hostDir == "" {
		*hostDir = os.TempDir()
		if *self && *dataDir != "" {
			*hostDir = *dataDir
		}
	}
	var host [2]load.HostSpeed
	if *hostProbe {
		if host[0], err = load.ProbeHost(ctx, *hostDir); err != nil {
			fmt.Fprintln(stderr, "loadgen: host probe:", err)
			return 1
		}
	}
	w, err := load.Setup(ctx, client, tokens, *prefix, *auts, *cases)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen: setup:", err)
		return 1
	}
	var progress io.Writer
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = stderr
	}
	if *warmup > 0 {
		load.Run(ctx, w, load.Config{Duration: *warmup, Concurrency: *conc, Mix: mix, Seed: 1})
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuTime()
	res := load.Run(ctx, w, load.Config{Duration: *duration, Rate: *rate, Concurrency: *conc, Mix: mix,
		Progress: progress, Probe: *probe, Seed: 2})
	cpu := cpuTime() - cpu0
	if *hostProbe {
		// After the run (the engine idle again): the CPU unit only moves
		// with the machine, and a slower disk shows in the syncs.
		if host[1], err = load.ProbeHost(ctx, *hostDir); err != nil {
			fmt.Fprintln(stderr, "loadgen: host probe:", err)
			return 1
		}
	}
	res.Host = host
	if *self {
		// The engine's /metrics counts this whole process: the line below
		// says so; the report's "engine CPU" would not.
		res.EngineCPU, res.EngineCPUKnown = 0, false
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		res.Report(stdout)
		ops := res.Commands.OK + res.Queries.OK
		if ops > 0 && cpu > 0 {
			fmt.Fprintf(stdout, "process CPU %s over %s (%.2f cores); %.2f CPU-ms per answered request%s\n",
				cpu.Round(time.Millisecond), res.Elapsed.Round(time.Millisecond), cpu.Seconds()/res.Elapsed.Seconds(),
				float64(cpu)/float64(time.Millisecond)/float64(ops), selfNote(*self))
		}
	}
	return 0
}

func selfNote(self bool) string {
	if self {
		return " (engine and load generator together)"
	}
	return " (load generator only)"
}

func rateText(r float64) string {
	if r <= 0 {
		return "saturate"
	}
	return fmt.Sprintf("%.0f/s", r)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// startSelf starts an engine in this process on loopback: the embedded
// store in dir (a temporary dir when empty), the system clock, no SMTP
// (emails wait in the outbox).
func startSelf(ctx context.Context, dir string) (url, secret string, closeFn func(), err error) {
	tmp := ""
	if dir == "" {
		if tmp, err = os.MkdirTemp("", "loadgen-"); err != nil {
			return "", "", nil, err
		}
		dir = tmp
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(engine.ServeGCPercent) // as redengine serve does
	}
	cfg := config.Default()
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(engine.ServeProcs(runtime.GOMAXPROCS(0), cfg.ProjectionNice)) // likewise
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	cfg.DataDir = dir
	cfg.JWTSecret = hex.EncodeToString(b)
	cfg.Addr = "127.0.0.1:0"
	e, err := engine.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.Close()
		return "", "", nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(sctx, l, nil) }()
	return "http://" + l.Addr().String(), cfg.JWTSecret, func() {
		cancel()
		<-done
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}, nil
}
