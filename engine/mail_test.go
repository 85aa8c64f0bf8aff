package engine_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"redengine/auth"
	"redengine/engine/enginetest"
)

// TestEliminationMailReachesMailpit: an NSS eliminated by the scheduler sends
// its communication to the autorización's contact address through the real
// SMTP server, once, and the trail records the delivery.
func TestEliminationMailReachesMailpit(t *testing.T) {
	enginetest.Mailpit(t)
	w := newNSSWorld(t)
	contact := fmt.Sprintf("buzon-%d@gestoria-test.es", time.Now().UnixNano())
	w.Post(w.admin, "/v1/autorizaciones", map[string]any{"number": "8888888", "usuarioPrincipal": "mar",
		"contactEmail": contact}).Want(t, http.StatusCreated)
	mar := w.Token(auth.Autorizado, "mar")
	a := w.assignFor(t, mar, "8888888", dni(20000077))
	w.setClock(t, nssDay4)

	msgs := enginetest.MailTo(t, contact, 1)
	if len(msgs) != 1 {
		t.Fatalf("%d messages to %s, want 1", len(msgs), contact)
	}
	m := msgs[0]
	if !strings.Contains(m.Subject, "NSS") || !strings.HasSuffix(m.MessageID, "@redengine") {
		t.Errorf("message: %+v", m)
	}
	// The outcome is recorded on the assignment.
	for i := 0; ; i++ {
		if slices.Contains(eventTypes(w.history(t, a.ID)), "EmailSent") {
			break
		}
		if i > 600 {
			t.Fatal("EmailSent never recorded")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Another pass sends nothing more.
	w.Post(w.admin, "/v1/admin/scheduler/run", nil).Want(t, http.StatusOK)
	time.Sleep(300 * time.Millisecond)
	if n := len(enginetest.MailTo(t, contact, 1)); n != 1 {
		t.Errorf("%d messages after a second pass", n)
	}
}
