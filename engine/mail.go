package engine

import (
	"redengine/mailer"
)

// openMailer builds the mailer when an SMTP server is configured. Without
// one, email requests stay in the outbox (and in the trail) until a server is
// configured and the engine restarts.
func (e *Engine) openMailer(recorders mailer.ByCategory) error {
	if e.Config.SMTPAddr == "" {
		return nil // Run says so: the commands of the CLI send no email
	}
	sender, err := mailer.NewSMTPSender(mailer.SMTPConfig{Addr: e.Config.SMTPAddr, From: e.Config.SMTPFrom})
	if err != nil {
		return err
	}
	var claimer mailer.Claimer
	if e.Config.NodeName != "" {
		// Several nodes share the event store: each attempt is claimed
		// through it, so one node sends it.
		claimer = mailer.NewStoreClaimer(e.Store, e.Config.NodeName, 0)
	}
	e.Mailer = mailer.New(e.ReadDB, e.Projections, sender, recorders, e.Clock, mailer.Options{
		Logger:  e.Log,
		Head:    e.Store.Head,
		Claimer: claimer,
		OnAttempt: func(a mailer.Attempt) {
			switch {
			case a.Sent:
				e.Metrics.Email("sent")
			case a.Final:
				e.Metrics.Email("final")
			default:
				e.Metrics.Email("failed")
			}
		},
	})
	return nil
}
