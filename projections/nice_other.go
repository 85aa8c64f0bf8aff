//go:build !linux

package projections

import "errors"

// runLowered runs f at the process's priority: a thread's priority is only
// lowered on Linux.
func runLowered(_ int, f func(err error)) {
	f(errors.New("la prioridad de un hilo solo se cambia en Linux"))
}
