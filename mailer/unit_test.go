package mailer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"redengine/errs"
)

func TestBackoffSchedule(t *testing.T) {
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 15 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 12 * time.Hour}
	for i, w := range want {
		if got := Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if Backoff(0) != Backoff(1) || Backoff(1000) != 12*time.Hour {
		t.Error("Backoff out of range")
	}
	var total time.Duration
	for n := 1; n < DefaultMaxAttempts; n++ {
		total += Backoff(n)
	}
	if total < 72*time.Hour {
		t.Errorf("the default attempts span only %s", total)
	}
}

func TestRedactRemovesAddresses(t *testing.T) {
	in := "550 5.1.1 <ana.garcia+x@gestoria.es>: Recipient address rejected, affected recipient(s): luis@x.es, affected message ID: <0b1c@redengine>"
	got := redact(in)
	if strings.Contains(got, "gestoria.es") || strings.Contains(got, "luis@") {
		t.Fatalf("redact left an address: %q", got)
	}
	if !strings.Contains(got, "0b1c@redengine") || !strings.Contains(got, "550 5.1.1") {
		t.Fatalf("redact removed too much: %q", got)
	}
}

func TestDescribeBoundsLength(t *testing.T) {
	got := describe(errors.New(strings.Repeat("ñ", 400)))
	if len(got) > maxErrorLen+len("…") || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "ñ") {
		t.Fatalf("describe = %q (%d bytes)", got, len(got))
	}
	for _, r := range got {
		if r == '\uFFFD' {
			t.Fatal("describe cut a character in half")
		}
	}
}

func TestNewSMTPSenderChecksConfig(t *testing.T) {
	for _, c := range []SMTPConfig{
		{Addr: "", From: "a@b.es"},
		{Addr: "localhost", From: "a@b.es"},
		{Addr: "localhost:0", From: "a@b.es"},
		{Addr: "localhost:25", From: "no es una dirección"},
	} {
		if _, err := NewSMTPSender(c); errs.KindOf(err) != errs.Invalid || len(errs.FieldsOf(err)) != 1 {
			t.Errorf("%+v: %v", c, err)
		}
	}
	s, err := NewSMTPSender(SMTPConfig{Addr: "127.0.0.1:1025"})
	if err != nil {
		t.Fatal(err)
	}
	if s.from.Address != "no-responder@redengine.invalid" {
		t.Fatalf("default From = %v", s.from)
	}
	if _, err := s.Build(Message{EmailID: "x", To: "not an address", Date: time.Now()}); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("bad recipient: %v", err)
	}
}

func TestMessageIDIsDeterministic(t *testing.T) {
	s, _ := NewSMTPSender(SMTPConfig{Addr: "127.0.0.1:1025", From: "RED <red@x.es>"})
	when := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	msg, err := s.Build(Message{EmailID: "e-1", To: "a@b.es", Subject: "Caso", Body: "Información", Date: when})
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.GetMessageID(); got != "<e-1@redengine>" {
		t.Fatalf("Message-ID = %q", got)
	}
	var b strings.Builder
	if _, err := msg.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Date: Mon, 02 Mar 2026 10:00:00 +0000") {
		t.Fatalf("message:\n%s", b.String())
	}
}
