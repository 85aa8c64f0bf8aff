package fietest

import (
	"iter"
	"math/rand/v2"
	"time"

	"redengine/fie"
)

// Records yields n valid records lazily — for exports of any size without
// holding them — in CCC then NAF order, perCompany records per company
// and three per worker. The same seed gives the same records.
func Records(n, perCompany int, seed int64) iter.Seq2[fie.Record, error] {
	return func(yield func(fie.Record, error) bool) {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x46494552))
		var c fie.Company
		var w fie.Worker
		var day fie.Date
		for i := 0; i < n; i++ {
			if i%perCompany == 0 {
				c = Company(rng, i/perCompany)
			}
			if i%3 == 0 || i%perCompany == 0 {
				w = Worker(rng, i)
				day = fie.D(2021, time.January, 1).AddDays(rng.IntN(700))
			}
			day = day.AddDays(1 + rng.IntN(40))
			b := Benefit(rng, day)
			if !yield(fie.NewRecord(&c, &w, &b), nil) {
				return
			}
		}
	}
}
