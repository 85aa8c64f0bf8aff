package engine

import (
	"context"
	"errors"
	"testing"

	"redengine/fie"
)

func TestFiePrefetch(t *testing.T) {
	stopped := make(chan int, 1)
	seq := func(yield func(fie.Record, error) bool) {
		n := 0
		defer func() { stopped <- n }()
		for i := 0; i < 100_000; i++ {
			n++
			if !yield(fie.Record{NAF: "x"}, nil) {
				return
			}
		}
	}
	got := 0
	for r, err := range prefetch(context.Background(), seq) {
		if err != nil || r.NAF != "x" {
			t.Fatal(r, err)
		}
		if got++; got == 10 {
			break
		}
	}
	if n := <-stopped; n >= 100_000 {
		t.Errorf("the reader went on to the end after the consumer stopped")
	}

	all := 0
	for range prefetch(context.Background(), func(yield func(fie.Record, error) bool) {
		for i := 0; i < 1000; i++ {
			if !yield(fie.Record{}, nil) {
				return
			}
		}
	}) {
		all++
	}
	if all != 1000 {
		t.Errorf("%d records, want 1000", all)
	}

	boom := errors.New("boom")
	var last error
	for _, err := range prefetch(context.Background(), func(yield func(fie.Record, error) bool) {
		if yield(fie.Record{}, nil) {
			yield(fie.Record{}, boom)
		}
	}) {
		last = err
	}
	if last != boom {
		t.Errorf("error %v", last)
	}
}
