package mailer_test

import (
	"context"
	"fmt"
	"testing"

	"redengine/mailer"
)

// BenchmarkDeliverToMailpit measures one pass delivering b.N requested
// emails (each of its own aggregate, as cases are) to Mailpit over SMTP on loopback (one connection per message) and
// recording each outcome in the event store.
func BenchmarkDeliverToMailpit(b *testing.B) {
	needMailpit(b)
	e := newEnv(b)
	for i := 0; i < b.N; i++ {
		e.request(fmt.Sprint("bench", i), e.addr("bench"), "Caso 2026/000001: aviso", "Cuerpo del aviso con acentos: información.")
	}
	e.sync()
	m := e.newMailer(e.smtpSender(e.smtp), e.recorder(), mailer.Options{BatchSize: b.N})
	b.ResetTimer()
	p, err := m.Tick(e.ctx)
	b.StopTimer()
	if err != nil || p.Sent != b.N {
		b.Fatalf("pass = %+v, %v", p, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
}

// BenchmarkDeliverNoSMTP is the same pass with a sender that accepts at
// once: the cost of the outbox, the recorder and the waits.
func BenchmarkDeliverNoSMTP(b *testing.B) {
	e := newEnv(b)
	for i := 0; i < b.N; i++ {
		e.request(fmt.Sprint("bench", i), e.addr("bench"), "Asunto", "Cuerpo")
	}
	e.sync()
	m := e.newMailer(senderFunc(func(context.Context, mailer.Message) error { return nil }), e.recorder(), mailer.Options{BatchSize: b.N})
	b.ResetTimer()
	p, err := m.Tick(e.ctx)
	b.StopTimer()
	if err != nil || p.Sent != b.N {
		b.Fatalf("pass = %+v, %v", p, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "emails/s")
}
