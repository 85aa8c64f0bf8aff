package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSelfRun runs loadgen briefly against an engine of its own and checks
// the report's shape (no figures are asserted).
func TestSelfRun(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-self", "-duration", "1s", "-warmup", "0", "-auts", "2", "-cases", "2", "-concurrency", "4"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"COMMANDS", "QUERIES", "p99.9", "process CPU", "appends' sync_queue", "appends' wake", "host before the run: CPU unit", "host after it: CPU unit"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// The engine is this process: its CPU is the "process CPU" line's.
	if strings.Contains(out.String(), "engine CPU over the run") {
		t.Errorf("a self run reports the engine's CPU apart:\n%s", out.String())
	}
}

func TestBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-mix", "fly=1"}, &out, &errOut); code != 2 {
		t.Errorf("bad mix: exit %d", code)
	}
	if code := run([]string{}, &out, &errOut); code != 2 {
		t.Errorf("no -url and no -self: exit %d", code)
	}
}
