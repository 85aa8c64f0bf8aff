package engine_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"redengine/config"
)

// mailpit reads the Mailpit of REDENGINE_TEST_MAILPIT (scripts/mailpit.sh).
type mailpit struct {
	t    *testing.T
	base string
}

func needMailpit(t *testing.T) mailpit {
	t.Helper()
	if os.Getenv("REDENGINE_TEST_SMTP") == "" || os.Getenv("REDENGINE_TEST_MAILPIT") == "" {
		t.Skip("REDENGINE_TEST_SMTP / REDENGINE_TEST_MAILPIT not set: run `eval \"$(scripts/mailpit.sh start)\"`")
	}
	return mailpit{t: t, base: strings.TrimRight(os.Getenv("REDENGINE_TEST_MAILPIT"), "/")}
}

type mpMessage struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	To      []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

// to returns the messages Mailpit holds for an address.
func (m mailpit) to(addr string) []mpMessage {
	m.t.Helper()
	resp, err := http.Get(m.base + "/api/v1/search?limit=100&query=" + url.QueryEscape("to:"+addr))
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Messages []mpMessage `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		m.t.Fatal(err)
	}
	return res.Messages
}

// text returns a message's plain-text body.
func (m mailpit) text(id string) string {
	m.t.Helper()
	resp, err := http.Get(m.base + "/api/v1/message/" + id)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	var msg struct {
		Text string `json:"Text"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msg); err != nil {
		m.t.Fatal(err)
	}
	return msg.Text
}

// eventually polls cond until it holds, failing after a generous bound: the
// mailer delivers in real time, in the background.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCaseEmailsDeliveredToMailpit: the emails of a TGSS-opened case and of
// a trámite closed de oficio reach the contact address through SMTP, in
// Spanish with the case number, and the trail records each delivery.
func TestCaseEmailsDeliveredToMailpit(t *testing.T) {
	mp := needMailpit(t)
	w := newCasesWorld(t, func(c *config.Config) { c.SMTPAddr = os.Getenv("REDENGINE_TEST_SMTP") })
	contact := "buzon+" + uuid.NewString()[:8] + "@gestoria.test"
	w.e.Put(w.ana, "/v1/autorizaciones/A0001/contact", map[string]string{"email": contact}).Want(t, http.StatusOK)

	body := consulta("A0001", "Verificación de datos")
	body["origin"] = "tgss"
	opened := w.open(t, w.tram, body)
	eventually(t, "the TGSS opening email", func() bool { return len(mp.to(contact)) == 1 })
	msg := mp.to(contact)[0]
	if !strings.Contains(msg.Subject, opened.Number) {
		t.Errorf("subject %q does not name %s", msg.Subject, opened.Number)
	}
	if text := mp.text(msg.ID); !strings.Contains(text, opened.Number) {
		t.Errorf("body does not name the case: %q", text)
	}
	eventually(t, "EmailSent on the case", func() bool {
		return slices.Equal(w.get(t, w.ana, opened.ID).templates(), []string{"case_opened_tgss:sent:" + contact})
	})

	w.clock(t, "2026-12-01T10:00:00+01:00")
	c := w.open(t, w.ana, tramite("Alta"))
	w.request(t, c.ID, "Aporte el contrato.")
	if n := w.clock(t, "2026-12-22T00:00:00+01:00"); n != 1 {
		t.Fatalf("closure acted %d", n)
	}
	// Requerimiento, closure and aviso of the puesta a disposición.
	eventually(t, "the case's three emails", func() bool { return len(mp.to(contact)) == 4 })
	var subjects []string
	for _, m := range mp.to(contact) {
		if strings.Contains(m.Subject, c.Number) {
			subjects = append(subjects, m.Subject)
		}
	}
	if len(subjects) != 3 {
		t.Errorf("subjects naming %s: %q", c.Number, subjects)
	}
	closed := w.get(t, w.ana, c.ID)
	w.sync(t)
	eventually(t, "every delivery in the trail", func() bool {
		var d desistimientoDoc
		w.e.Get(w.comp, "/v1/desistimientos/"+closed.Desistimiento.ResolutionID).Want(t, http.StatusOK).JSON(t, &d)
		n := 0
		for _, m := range d.Emails {
			if m.Status == "sent" && m.To == contact {
				n++
			}
		}
		return n == 3
	})
}
