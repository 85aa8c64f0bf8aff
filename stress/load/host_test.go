package load

import (
	"context"
	"os"
	"strings"
	"testing"
)

// A probe times its CPU units and durable writes in the dir it is given,
// leaves nothing there, and reports both on one line.
func TestProbeHost(t *testing.T) {
	dir := t.TempDir()
	h, err := ProbeHost(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if h.CPU <= 0 || h.Syncs != hostSyncs || h.Dir != dir || h.SyncP50 <= 0 || h.SyncP99 < h.SyncP50 {
		t.Errorf("probe %+v, want a CPU time, %d syncs in %s, p50 ≤ p99", h, hostSyncs, dir)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the probe left %d files in its dir", len(left))
	}
	var out strings.Builder
	h.Report(&out, "before the run")
	for _, want := range []string{"host before the run: CPU unit ", "fdatasync p50 ", "(300, in " + dir + ")"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report %q lacks %q", out.String(), want)
		}
	}
}

// Without a dir only the CPU is timed, and the report says nothing of
// syncs; a cancelled probe stops with the context's error.
func TestProbeHostWithoutDisk(t *testing.T) {
	h, err := ProbeHost(t.Context(), "")
	if err != nil || h.CPU <= 0 || h.Syncs != 0 {
		t.Fatalf("probe %+v, %v; want the CPU alone", h, err)
	}
	var out strings.Builder
	Result{Host: [2]HostSpeed{h, {}}}.Report(&out)
	if !strings.Contains(out.String(), "host before the run: CPU unit") || strings.Contains(out.String(), "fdatasync") ||
		strings.Contains(out.String(), "after it") {
		t.Errorf("report:\n%s", out.String())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ProbeHost(ctx, t.TempDir()); err != context.Canceled {
		t.Errorf("cancelled probe: %v", err)
	}
}
