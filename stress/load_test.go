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
	w, mix := loadWorld(t, "LM", 8, 8, 16, load.DefaultMix+",me=5")
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
	if res.Late.Count != 0 || strings.Contains(b.String(), "due instant") {
		t.Errorf("a saturating run reports paced ops' lateness: %+v", res.Late)
	}
}

// TestLoadMixPaced drives the mix open-loop at a fixed rate: every op is
// accounted for in the client's own lateness (from its due instant to its
// start), which the report states beside the latencies that include it.
func TestLoadMixPaced(t *testing.T) {
	t.Parallel()
	w, mix := loadWorld(t, "LP", 4, 4, 8, load.DefaultMix)
	res := load.Run(t.Context(), w, load.Config{Duration: 1500 * time.Millisecond, Rate: 100, Concurrency: 4, Mix: mix, Seed: 3})
	var b strings.Builder
	res.Report(&b)
	t.Log("\n" + b.String())
	ops := 0
	for _, s := range res.ByName {
		ops += s.Count
	}
	// An op may send follow-up requests (counted by name too), so there
	// are at least as many requests as ops; 150 are due over the run (the
	// floor leaves room for a slow machine, where queued ones are cut off).
	if res.Late.Count < 50 || res.Late.Count > 151 || res.Late.Count > ops {
		t.Errorf("paced ops' lateness counts %d ops, with %d requests answered", res.Late.Count, ops)
	}
	if res.Late.P50 > res.Late.P99 || res.Late.P99 > res.Late.Max {
		t.Errorf("lateness percentiles out of order: %+v", res.Late)
	}
	if !strings.Contains(b.String(), "paced ops began after their due instant by p50 ") {
		t.Errorf("the report does not state the client's lateness:\n%s", b.String())
	}
}

// loadWorld starts an engine and sets up a load generator's world in it
// over clients connections: auts autorizaciones named after prefix and
// cases consultas (see load.Setup), with the mix parsed from spec.
func loadWorld(t *testing.T, prefix string, clients, auts, cases int, spec string) (*load.World, load.Mix) {
	t.Helper()
	e := enginetest.New(t, noSMTP)
	tk, err := load.NewTokens(enginetest.Secret, e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	w, err := load.Setup(t.Context(), load.NewClient(e.URL, clients), tk, prefix, auts, cases)
	if err != nil {
		t.Fatal(err)
	}
	mix, err := load.ParseMix(spec)
	if err != nil {
		t.Fatal(err)
	}
	return w, mix
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
