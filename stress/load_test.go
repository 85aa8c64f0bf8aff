package stress

import (
	"strings"
	"testing"
	"time"

	"redengine/engine/enginetest"
	"redengine/stress/load"
)

// TestLoadMix drives an in-process engine with the default mix of
// cmd/loadgen for a short while: every request answered, none failed with
// a 5xx or a broken connection, read-your-writes probes answered. Figures
// are for docs/benchmarks.md (cmd/loadgen), not asserted here.
func TestLoadMix(t *testing.T) {
	t.Parallel()
	e := enginetest.New(t, noSMTP)
	tk, err := load.NewTokens(enginetest.Secret, e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	c := load.NewClient(e.URL, 8)
	w, err := load.Setup(t.Context(), c, tk, "LM", 8, 16)
	if err != nil {
		t.Fatal(err)
	}
	mix, err := load.ParseMix(load.DefaultMix + ",me=5")
	if err != nil {
		t.Fatal(err)
	}
	res := load.Run(t.Context(), w, load.Config{Duration: pick(2*time.Second, 30*time.Second), Concurrency: 8, Mix: mix, Probe: true, Seed: 1})
	var b strings.Builder
	res.Report(&b)
	t.Log("\n" + b.String())
	if res.Commands.Errors+res.Queries.Errors+res.RYW.Errors > 0 {
		t.Errorf("errors under load: %v", res.Status)
	}
	if res.Commands.OK == 0 || res.Queries.OK == 0 {
		t.Errorf("nothing answered: %v", res.Status)
	}
}

func TestParseMix(t *testing.T) {
	m, err := load.ParseMix("open=2, reply=3,get")
	if err != nil || m.String() != "open=2,reply=3,get=1" {
		t.Errorf("ParseMix: %v %q", err, m.String())
	}
	for _, bad := range []string{"", "open=x", "fly=1", "open=0"} {
		if _, err := load.ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
}
