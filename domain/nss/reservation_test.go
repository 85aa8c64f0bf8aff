package nss_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"redengine/clock"
	"redengine/commands"
	"redengine/commands/scenario"
	"redengine/domain/ident"
	"redengine/domain/nss"
	"redengine/errs"
	"redengine/eventstore/sqlite"
)

var secret = []byte("test secret of the person keys")

func TestPersonKey(t *testing.T) {
	doc := ident.Document{Type: ident.DocumentDNI, Number: "12345678Z"}
	k := nss.PersonKey(secret, doc)
	if len(k) != 32 {
		t.Fatalf("key %q: want 32 hex digits", k)
	}
	if k != nss.PersonKey(secret, ident.Document{Type: ident.DocumentDNI, Number: "12345678z"}) {
		t.Error("the key depends on the letter's case")
	}
	if k == nss.PersonKey([]byte("another secret"), doc) {
		t.Error("the key does not depend on the secret")
	}
	if k == nss.PersonKey(secret, ident.Document{Type: ident.DocumentDNI, Number: "00000000T"}) {
		t.Error("two documents share a key")
	}
	stream := nss.PersonReservationAggregate().Stream(k)
	if stream != "nssperson-"+k {
		t.Errorf("stream = %q", stream)
	}
	for _, leak := range []string{"12345678", "5678Z"} {
		if strings.Contains(stream, leak) {
			t.Errorf("stream name %q contains %q", stream, leak)
		}
	}
}

func TestPersonReservation(t *testing.T) {
	now := at(t, 2021, 7, 5, 9, 55, 0)
	free := scenario.For(nss.PersonReservationAggregate()).At(now)
	held := free.Given(nss.PersonReserved{AssignmentID: "a1", ReservedAt: now})

	free.When(nss.Reserve("a1")).Then(t, nss.PersonReserved{AssignmentID: "a1", ReservedAt: now})
	held.When(nss.Reserve("a1")).ThenNothing(t)
	o := held.When(nss.Reserve("a2")).ThenError(t, errs.Precondition)
	if errs.MessageOf(o.Err()) != nss.ErrPersonHeldMessage {
		t.Errorf("message = %q", errs.MessageOf(o.Err()))
	}

	// Released after a cancellation or an elimination, the person may be
	// reserved again by a new assignment.
	for _, reason := range []string{nss.ReleaseCancelled, nss.ReleaseEliminated} {
		released := held.Given(nss.PersonReleased{AssignmentID: "a1", Reason: reason, ReleasedAt: now})
		released.When(nss.Reserve("a2")).Then(t, nss.PersonReserved{AssignmentID: "a2", ReservedAt: now}).
			ThenState(t, func(t testing.TB, r nss.PersonReservation) {
				if r.Holder != "a2" || r.Count != 2 {
					t.Errorf("state = %+v", r)
				}
			})
	}

	held.When(nss.Release("a1", nss.ReleaseCancelled)).Then(t, nss.PersonReleased{AssignmentID: "a1", Reason: nss.ReleaseCancelled, ReleasedAt: now})
	held.When(nss.Release("a2", nss.ReleaseCancelled)).ThenNothing(t)
	free.When(nss.Release("a1", nss.ReleaseEliminated)).ThenNothing(t)

	// Taking over from an orphan reservation.
	held.When(nss.ReserveReplacing("a2", "a1")).Then(t,
		nss.PersonReleased{AssignmentID: "a1", Reason: nss.ReleaseOrphan, ReleasedAt: now},
		nss.PersonReserved{AssignmentID: "a2", ReservedAt: now})
	held.When(nss.ReserveReplacing("a3", "a2")).ThenError(t, errs.Precondition)
	free.When(nss.ReserveReplacing("a2", "a1")).Then(t, nss.PersonReserved{AssignmentID: "a2", ReservedAt: now})

	// Which assignment events free the person.
	for ev, want := range map[any]string{nss.AssignmentCancelled{}: nss.ReleaseCancelled, nss.NSSEliminated{}: nss.ReleaseEliminated} {
		if got, ok := nss.ReleaseFor(ev); !ok || got != want {
			t.Errorf("ReleaseFor(%T) = %q, %v", ev, got, ok)
		}
	}
	if _, ok := nss.ReleaseFor(nss.AltaAnnulled{}); ok {
		t.Error("AltaAnnulled releases (NSSEliminated does)")
	}
}

func TestNumberCounter(t *testing.T) {
	now := at(t, 2021, 7, 5, 10, 0, 0)
	s := scenario.For(nss.CounterAggregate()).At(now)
	first, _ := ident.NewNSS(28, 1)
	s.When(nss.IssueNumber(28, "a1")).Then(t, nss.NSSNumberIssued{Province: "28", Number: 1, NSS: first.String(), AssignmentID: "a1", IssuedAt: now})

	after := s.Given(nss.NSSNumberIssued{Province: "28", Number: 12345677, NSS: "x", AssignmentID: "a1", IssuedAt: now})
	after.When(nss.IssueNumber(28, "a2")).Then(t,
		nss.NSSNumberIssued{Province: "28", Number: 12345678, NSS: workedNSS, AssignmentID: "a2", IssuedAt: now})
	after.When(nss.IssueNumber(28, "a1")).ThenNothing(t) // a retry of the same assignment

	// Below 10,000,000 the control digits use PP·10^7 + N (reference §5):
	// 28 01234567 → 280123456742.
	s.Given(nss.NSSNumberIssued{Province: "28", Number: 1234566, NSS: "x", AssignmentID: "a0"}).
		When(nss.IssueNumber(28, "a1")).Then(t,
		nss.NSSNumberIssued{Province: "28", Number: 1234567, NSS: "280123456742", AssignmentID: "a1", IssuedAt: now})

	s.Given(nss.NSSNumberIssued{Province: "28", Number: nss.LastNumber, NSS: "x", AssignmentID: "a0"}).
		When(nss.IssueNumber(28, "a1")).ThenError(t, errs.Precondition)

	if nss.CounterAggregate().Stream(nss.CounterID(8)) != "nsscounter-08" {
		t.Error("counter stream of Barcelona is not nsscounter-08")
	}
}

// TestUniquenessThroughTheStore runs the reservation aggregates through the
// real command pipeline on a real SQLite event store: many concurrent
// confirmations get distinct, consecutive numbers, and of many concurrent
// assignments for the same person exactly one reserves it.
func TestUniquenessThroughTheStore(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := clock.NewManual(at(t, 2021, 7, 5, 10, 0, 0))

	const n = 32
	counter := commands.NewHandler(store, clk, nss.CounterAggregate(), commands.WithMaxAttempts(4*n))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		issued = map[string]string{} // NSS → assignment
		nums   []int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("a%02d", i)
			res, err := counter.Handle(ctx, nss.CounterID(28), commands.Meta{}, nss.IssueNumber(28, id))
			if err != nil {
				t.Errorf("issue for %s: %v", id, err)
				return
			}
			if res.State.LastAssignment != id {
				t.Errorf("issue for %s: state names %s", id, res.State.LastAssignment)
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := issued[res.State.LastNSS]; dup {
				t.Errorf("NSS %s issued to %s and %s", res.State.LastNSS, other, id)
			}
			issued[res.State.LastNSS] = id
			nums = append(nums, int(res.State.Last))
		}()
	}
	wg.Wait()
	sort.Ints(nums)
	for i, v := range nums {
		if v != i+1 {
			t.Fatalf("numbers = %v, want 1..%d", nums, n)
		}
	}
	for s := range issued {
		if _, err := ident.ParseNSS(s); err != nil || s[:2] != "28" {
			t.Errorf("issued %q: %v", s, err)
		}
	}

	people := commands.NewHandler(store, clk, nss.PersonReservationAggregate(), commands.WithMaxAttempts(4*n))
	key := nss.PersonKey(secret, ident.Document{Type: ident.DocumentDNI, Number: "12345678Z"})
	var won, refused int
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := people.Handle(ctx, key, commands.Meta{}, nss.Reserve(fmt.Sprintf("b%02d", i)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errs.Is(errs.Precondition, err):
				refused++
			default:
				t.Errorf("reserve: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || refused != n-1 {
		t.Fatalf("won %d, refused %d; want 1 and %d", won, refused, n-1)
	}
	l, err := people.Load(ctx, key)
	if err != nil || l.Revision != 0 || !l.State.Held() {
		t.Fatalf("reservation stream: %+v, %v", l, err)
	}
}
