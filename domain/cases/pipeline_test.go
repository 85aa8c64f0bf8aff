package cases_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"redengine/catalog/casia"
	"redengine/clock"
	"redengine/commands"
	"redengine/domain/cases"
	"redengine/eventstore"
	"redengine/eventstore/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Concurrent openings never get the same number: the sequence stream's
// expected revision makes the losers decide again.
func TestCaseNumbersAreUniqueUnderConcurrency(t *testing.T) {
	st := openStore(t)
	h := commands.NewHandler(st, clock.NewManual(opening), cases.SequenceAggregate(), commands.WithMaxAttempts(100))
	const n = 24
	nums := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := h.Handle(context.Background(), cases.SequenceID(2021), commands.Meta{Actor: autorizado},
				cases.ReserveNumber(2021, fmt.Sprintf("case-%d", i)))
			if err != nil {
				t.Error(err)
				return
			}
			nums[i] = res.State.Last
		})
	}
	wg.Wait()
	sort.Ints(nums)
	for i, got := range nums {
		if got != i+1 {
			t.Fatalf("numbers = %v, want 1..%d each once", nums, n)
		}
	}
	// A repeated opening (same command ID) gets its number back and reserves none.
	meta := commands.Meta{CommandID: commands.IDFromKey("user-1 POST /v1/cases", "k1"), Actor: autorizado}
	first, err := h.Handle(context.Background(), cases.SequenceID(2021), meta, cases.ReserveNumber(2021, "case-x"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.Handle(context.Background(), cases.SequenceID(2021), meta, cases.ReserveNumber(2021, "case-x"))
	if err != nil || !again.Duplicate || again.Revision != first.Revision {
		t.Fatalf("repeat: %+v %v", again, err)
	}
}

// A trámite through the real pipeline and store: opened, information
// requested, closed de oficio at the deadline, notification rejected ten
// days later; the folded stream agrees with the decisions.
func TestTramiteThroughThePipeline(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clk := clock.NewManual(opening)
	d := decider()
	h := commands.NewHandler(st, clk, cases.Aggregate())
	meta := func(a eventstore.Actor) commands.Meta { return commands.Meta{Actor: a} }

	if _, err := h.Handle(ctx, caseID, meta(autorizado), d.Open(openCmd(casia.Tramite))); err != nil {
		t.Fatal(err)
	}
	if err := clk.Set(reqAt); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, caseID, meta(tramitador), d.RequestInformation(textCmd(tramitador, "Aporte el contrato."))); err != nil {
		t.Fatal(err)
	}
	if err := clk.Set(deadline); err != nil {
		t.Fatal(err)
	}
	res, err := h.Handle(ctx, caseID, meta(system), d.CloseDeOficio(sys))
	if err != nil {
		t.Fatal(err)
	}
	if res.State.Status != cases.CerradoDeOficio || res.State.Desistimiento == nil || len(res.Events) != 5 {
		t.Fatalf("after closure: %+v", res.State)
	}
	if err := clk.Set(rejection); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(ctx, caseID, meta(system), d.RejectNotification(sys)); err != nil {
		t.Fatal(err)
	}
	l, err := h.Load(ctx, caseID)
	if err != nil {
		t.Fatal(err)
	}
	if l.State.Desistimiento.NotificationState != cases.Rechazada || l.Revision != 9 {
		t.Fatalf("loaded: revision %d, %+v", l.Revision, l.State.Desistimiento)
	}
}
