package enginetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

// MailpitMessage is a message as Mailpit's search API lists it.
type MailpitMessage struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
	Snippet   string `json:"Snippet"`
	To        []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

// Mailpit returns the base URL of the test Mailpit (REDENGINE_TEST_MAILPIT),
// skipping the test when none runs.
func Mailpit(t testing.TB) string {
	t.Helper()
	u := os.Getenv("REDENGINE_TEST_MAILPIT")
	if u == "" || os.Getenv("REDENGINE_TEST_SMTP") == "" {
		t.Skip("no test Mailpit (REDENGINE_TEST_MAILPIT, REDENGINE_TEST_SMTP): run through make test")
	}
	return u
}

// MailTo waits until Mailpit holds at least n messages to addr and returns
// them. Delivery is asynchronous (the mailer subscription), so this polls in
// real time, bounded; it never waits on a deadline of the domain.
func MailTo(t testing.TB, addr string, n int) []MailpitMessage {
	t.Helper()
	base := Mailpit(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var res struct {
			Messages []MailpitMessage `json:"messages"`
		}
		resp, err := http.Get(base + "/api/v1/search?query=" + url.QueryEscape(`to:"`+addr+`"`))
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
		}
		if err == nil && len(res.Messages) >= n {
			return res.Messages
		}
		if time.Now().After(deadline) {
			t.Fatalf("Mailpit: %d messages to %s after 60s, want %d (err %v)", len(res.Messages), addr, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
