package cases_test

import (
	"testing"
	"time"

	"redengine/commands/scenario"
	"redengine/domain/cases"
	"redengine/errs"
)

func TestReserveNumber(t *testing.T) {
	agg := cases.SequenceAggregate()
	scenario.For(agg).When(cases.ReserveNumber(2026, "c1")).
		Then(t, cases.NumberReserved{Year: 2026, N: 1, CaseID: "c1"})
	scenario.For(agg).
		Given(cases.NumberReserved{Year: 2026, N: 1, CaseID: "c1"}, cases.NumberReserved{Year: 2026, N: 2, CaseID: "c2"}).
		When(cases.ReserveNumber(2026, "c3")).
		Then(t, cases.NumberReserved{Year: 2026, N: 3, CaseID: "c3"}).
		ThenState(t, func(t testing.TB, s cases.Sequence) {
			if s.Last != 3 || s.Year != 2026 {
				t.Fatalf("%+v", s)
			}
		})
	scenario.For(agg).Given(cases.NumberReserved{Year: 2025, N: 7, CaseID: "c"}).
		When(cases.ReserveNumber(2026, "c3")).ThenError(t, errs.Internal)
	scenario.For(agg).When(cases.ReserveNumber(2026, "")).ThenError(t, errs.Invalid)
	if agg.Stream(cases.SequenceID(2026)) != "casenumbers-2026" {
		t.Fatal(agg.Stream(cases.SequenceID(2026)))
	}
}

func TestNumberFormatAndYear(t *testing.T) {
	if got := cases.FormatNumber(2026, 123); got != "CAS-2026-000123" {
		t.Fatal(got)
	}
	// 31 Dec 23:30 UTC is already 1 Jan in Madrid.
	if y := cases.NumberYear(time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)); y != 2026 {
		t.Fatal(y)
	}
}
