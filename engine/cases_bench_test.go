package engine_test

import (
	"fmt"
	"net/http"
	"testing"

	"redengine/engine/enginetest"
)

// BenchmarkCaseOpenHTTP opens cases through HTTP on loopback (number
// reservation and opening, two appends each), in parallel, all racing for
// the same year's sequence.
func BenchmarkCaseOpenHTTP(b *testing.B) {
	e := enginetest.New(b)
	admin := e.Token("admin", "root")
	e.Post(admin, "/v1/autorizaciones", map[string]any{"number": "A0001", "usuarioPrincipal": "ana"}).Want(b, http.StatusCreated)
	ana := e.Token("autorizado", "ana")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			r := e.Post(ana, "/v1/cases", consulta("A0001", fmt.Sprintf("Consulta %d", i)))
			if r.Status != http.StatusCreated {
				b.Errorf("open: %d %s", r.Status, r.Body)
				return
			}
		}
	})
}
