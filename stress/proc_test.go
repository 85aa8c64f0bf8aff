package stress

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// engineBinary builds cmd/redengine once per test binary run.
func engineBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "redengine-stress-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "redengine")
		cmd := exec.Command("go", "build", "-o", binPath, "redengine/cmd/redengine")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/redengine: %v\n%s", err, out.Bytes())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a `redengine serve` child process.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	URL  string
	log  string
	done chan struct{}
	err  error
}

// serveEnv is the environment of a child engine: the given variables on
// top of this process's, without any REDENGINE_* setting of the caller's.
func serveEnv(vars ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if len(kv) > 10 && kv[:10] == "REDENGINE_" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, vars...)
}

// startProc starts `redengine serve` on a free loopback port with the data
// dir and extra REDENGINE_* variables, and waits until it is ready.
func startProc(t testing.TB, dataDir string, vars ...string) *proc {
	t.Helper()
	bin := engineBinary(t)
	var p *proc
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeAddr(t)
		logPath := filepath.Join(t.TempDir(), "serve.log")
		f, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "serve")
		cmd.Env = serveEnv(append([]string{"REDENGINE_ADDR=" + addr, "REDENGINE_DATA_DIR=" + dataDir}, vars...)...)
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			f.Close()
			t.Fatal(err)
		}
		p = &proc{t: t, cmd: cmd, URL: "http://" + addr, log: logPath, done: make(chan struct{})}
		go func() {
			p.err = cmd.Wait()
			f.Close()
			close(p.done)
		}()
		if p.waitReady(60 * time.Second) {
			t.Cleanup(p.kill)
			return p
		}
		p.kill()
	}
	t.Fatalf("redengine serve did not become ready; log:\n%s", p.tail())
	return nil
}

func (p *proc) waitReady(bound time.Duration) bool {
	deadline := time.Now().Add(bound)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return false
		default:
		}
		r, err := c.Get(p.URL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop asks for a graceful shutdown (SIGTERM) and waits; it fails the test
// if the engine does not stop cleanly.
func (p *proc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.kill()
		p.t.Fatalf("redengine did not stop within 60 s of SIGTERM")
	}
	if p.err != nil {
		p.t.Errorf("redengine stopped with %v; log:\n%s", p.err, p.tail())
	}
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// runCLI runs a redengine subcommand with the given REDENGINE_* variables.
func runCLI(ctx context.Context, t testing.TB, vars []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, engineBinary(t), args...)
	cmd.Env = serveEnv(vars...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// copyDir copies the regular files of src (an engine's data dir, the engine
// stopped) into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
