package engine_test

import (
	"runtime"
	"testing"

	"redengine/engine"
)

// TestServeProcs: one P more than the default only when the projections'
// thread is lowered, which happens on Linux alone.
func TestServeProcs(t *testing.T) {
	extra := 0
	if runtime.GOOS == "linux" {
		extra = 1
	}
	tests := []struct{ procs, nice, want int }{
		{2, 10, 2 + extra},
		{2, 1, 2 + extra},
		{2, 0, 2},
		{8, 0, 8},
		{1, 19, 1 + extra},
	}
	for _, tt := range tests {
		if got := engine.ServeProcs(tt.procs, tt.nice); got != tt.want {
			t.Errorf("ServeProcs(%d, %d) = %d, want %d", tt.procs, tt.nice, got, tt.want)
		}
	}
}
