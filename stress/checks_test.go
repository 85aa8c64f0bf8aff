package stress

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/commands"
	"redengine/config"
	"redengine/engine"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

// readLog reads the whole global log of a store.
func readLog(ctx context.Context, t testing.TB, s eventstore.Store) []eventstore.Event {
	t.Helper()
	var all []eventstore.Event
	from := eventstore.Position{}
	for {
		batch, err := s.ReadAll(ctx, from, 5000)
		if err != nil {
			t.Fatalf("ReadAll: %v", err)
		}
		if len(batch) == 0 {
			return all
		}
		all = append(all, batch...)
		from = batch[len(batch)-1].Position
	}
}

// readLogFile opens the SQLite event store of a data dir and reads its log.
func readLogFile(ctx context.Context, t testing.TB, dataDir string) []eventstore.Event {
	t.Helper()
	s, err := sqlite.Open(ctx, filepath.Join(dataDir, "events.db"))
	if err != nil {
		t.Fatalf("opening the event store: %v", err)
	}
	defer s.Close()
	return readLog(ctx, t, s)
}

// checkNoDuplicates checks that event IDs are unique and that the events a
// command wrote to a stream carry exactly the IDs the pipeline derives from
// its command ID (commands.EventID with indices 0…n-1), each once: a command
// retried after a crash or repeated with its Idempotency-Key did not write
// its events twice.
func checkNoDuplicates(t testing.TB, evs []eventstore.Event) {
	t.Helper()
	seen := map[uuid.UUID]bool{}
	type key struct{ stream, cmd string }
	groups := map[key]map[uuid.UUID]bool{}
	for _, e := range evs {
		if seen[e.ID] {
			t.Errorf("event ID %s twice in the log (stream %s)", e.ID, e.Stream)
		}
		seen[e.ID] = true
		k := key{e.Stream, e.Metadata.CommandID}
		if groups[k] == nil {
			groups[k] = map[uuid.UUID]bool{}
		}
		groups[k][e.ID] = true
	}
	for k, ids := range groups {
		cmd, err := uuid.Parse(k.cmd)
		if err != nil {
			t.Errorf("stream %s: event without a command ID (%q)", k.stream, k.cmd)
			continue
		}
		for i := range len(ids) {
			if !ids[commands.EventID(cmd, k.stream, i)] {
				t.Errorf("stream %s, command %s: %d events but not the IDs 0…%d derived from the command (a duplicate?)", k.stream, k.cmd, len(ids), len(ids)-1)
				break
			}
		}
	}
}

// checkChain verifies the hash chain in process and with `redengine verify`.
func checkChain(ctx context.Context, t testing.TB, dataDir string) {
	t.Helper()
	s, err := sqlite.Open(ctx, filepath.Join(dataDir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := eventstore.Verify(ctx, s, nil)
	s.Close()
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Broken != nil {
		t.Errorf("hash chain broken at %s revision %d: %s", rep.Broken.Stream, rep.Broken.Revision, rep.Broken.Reason)
	}
	if out, err := runCLI(ctx, t, []string{"REDENGINE_DATA_DIR=" + dataDir}, "verify"); err != nil {
		t.Errorf("redengine verify: %v\n%s", err, out)
	}
}

// checkProjectionsConverge opens an engine on the data dir (nothing
// serving), lets every projection catch up from its checkpoint to the head
// of the log, takes each read model's digest, rebuilds each from scratch
// and compares: a live model must be exactly what a rebuild produces.
func checkProjectionsConverge(ctx context.Context, t testing.TB, cfg config.Config) map[string]string {
	t.Helper()
	e, err := engine.Open(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("engine.Open: %v", err)
	}
	defer e.Close()
	head, err := e.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Projections.Run(run) }()
	names := e.Projections.Names()
	sort.Strings(names)
	for _, name := range names {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := e.Projections.WaitFor(wctx, name, head)
		cancel()
		if err != nil {
			stop()
			<-done
			t.Fatalf("projection %s did not reach the head %s: %v", name, head, err)
		}
	}
	stop()
	<-done
	live := map[string]string{}
	for _, name := range names {
		d, err := e.Projections.Digest(ctx, name)
		if err != nil {
			t.Fatalf("digest %s: %v", name, err)
		}
		live[name] = d
	}
	for _, name := range names {
		if err := e.Projections.Rebuild(ctx, name, nil); err != nil {
			t.Fatalf("rebuild %s: %v", name, err)
		}
		d, err := e.Projections.Digest(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if d != live[name] {
			t.Errorf("projection %s: the live model (digest %.12s) differs from a rebuild (%.12s)", name, live[name], d)
		}
	}
	return live
}

// dataConfig is the configuration of an engine opened on a data dir by a
// check (no SMTP: nothing is sent from a check).
func dataConfig(dataDir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Addr = "127.0.0.1:0"
	return cfg
}

// byCorrelation indexes events by correlation ID.
func byCorrelation(evs []eventstore.Event) map[string][]eventstore.Event {
	m := map[string][]eventstore.Event{}
	for _, e := range evs {
		m[e.Metadata.CorrelationID] = append(m[e.Metadata.CorrelationID], e)
	}
	return m
}

func describeEvents(evs []eventstore.Event) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprintf(" %s@%s/%d", e.Type, e.Stream, e.Revision)
	}
	return s
}
