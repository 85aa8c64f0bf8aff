package metrics_test

import (
	"testing"
	"time"

	"redengine/metrics"
)

// counts returns the observations of a histogram family by its label
// "stage" ("" for a histogram without labels).
func counts(t *testing.T, m *metrics.Metrics, name string) map[string]uint64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			stage := ""
			for _, l := range mt.GetLabel() {
				if l.GetName() == "stage" {
					stage = l.GetValue()
				}
			}
			out[stage] = mt.GetHistogram().GetSampleCount()
		}
	}
	return out
}

// A durable append is recorded in all five stages; a provisional one has
// no sync_queue nor sync stage; a checkpoint's hold has a histogram of its
// own; a nil *Metrics records nothing.
func TestStoreAppendStages(t *testing.T) {
	m := metrics.New()
	m.StoreAppend(metrics.AppendStages{Queue: time.Millisecond, Commit: 2 * time.Millisecond, SyncQueue: time.Millisecond,
		Sync: 3 * time.Millisecond, Wake: 40 * time.Microsecond})
	m.StoreAppend(metrics.AppendStages{Queue: time.Millisecond, Commit: 2 * time.Millisecond, Wake: 50 * time.Microsecond, Provisional: true})
	m.CheckpointHold(8 * time.Millisecond)
	got := counts(t, m, "redengine_store_append_stage_seconds")
	for stage, want := range map[string]uint64{"queue": 2, "commit": 2, "sync_queue": 1, "sync": 1, "wake": 2} {
		if got[stage] != want {
			t.Errorf("stage %s: %d observations, want %d", stage, got[stage], want)
		}
	}
	if got := counts(t, m, "redengine_store_checkpoint_hold_seconds")[""]; got != 1 {
		t.Errorf("checkpoint holds: %d observations, want 1", got)
	}
	var none *metrics.Metrics
	none.StoreAppend(metrics.AppendStages{Queue: time.Millisecond})
	none.CheckpointHold(time.Millisecond)
}
