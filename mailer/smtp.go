package mailer

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"redengine/errs"
)

// DefaultFrom is the From address when none is configured.
const DefaultFrom = "Sistema RED <no-responder@redengine.invalid>"

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	// Addr is the server's host:port (REDENGINE_SMTP_ADDR).
	Addr string
	// From is the sender, "Name <addr>" or "addr" (REDENGINE_SMTP_FROM;
	// default DefaultFrom).
	From string
	// Username and Password, when Username is set, authenticate with the
	// best mechanism the server offers (PLAIN/LOGIN only over TLS).
	Username, Password string
	// RequireTLS refuses to send unless the server offers STARTTLS. By
	// default TLS is used when offered (opportunistic).
	RequireTLS bool
	// Timeout bounds connecting and each SMTP exchange (default 10s).
	Timeout time.Duration
	// HELO is the name announced to the server (default "localhost").
	HELO string
}

// SMTPSender sends messages over SMTP with github.com/wneessen/go-mail, one
// connection per message. It is safe for concurrent use.
type SMTPSender struct {
	host string
	port int
	from *mail.Address
	cfg  SMTPConfig
}

// NewSMTPSender checks cfg and returns a sender. It does not connect.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	const op = errs.Op("mailer.NewSMTPSender")
	var fields errs.Fields
	host, portText, err := net.SplitHostPort(cfg.Addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || host == "" || perr != nil || port < 1 || port > 65535 {
		fields.Add("REDENGINE_SMTP_ADDR", "debe ser host:puerto, por ejemplo 127.0.0.1:1025")
	}
	if strings.TrimSpace(cfg.From) == "" {
		cfg.From = DefaultFrom
	}
	from, ferr := mail.ParseAddress(cfg.From)
	if ferr != nil {
		fields.Add("REDENGINE_SMTP_FROM", "no es una dirección de correo válida")
	}
	if len(fields) > 0 {
		return nil, errs.E(op, errs.Invalid, "configuración de correo no válida", fields)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.HELO == "" {
		cfg.HELO = "localhost"
	}
	return &SMTPSender{host: host, port: port, from: from, cfg: cfg}, nil
}

// Send builds the message and delivers it: plain text, UTF-8
// (quoted-printable), From the configured sender, To the recipient, the
// Subject, Date from m.Date, Message-ID <emailId@redengine>, and
// Auto-Submitted: auto-generated. An error says why the server did not
// accept it.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	const op = errs.Op("mailer.SMTPSender.Send")
	msg, err := s.Build(m)
	if err != nil {
		return errs.E(op, err)
	}
	policy := gomail.TLSOpportunistic
	if s.cfg.RequireTLS {
		policy = gomail.TLSMandatory
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.cfg.Timeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithHELO(s.cfg.HELO),
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password),
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return errs.E(op, errs.Internal, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return errs.E(op, errs.Unavailable, err)
	}
	return nil
}

// Build returns the go-mail message for m (exported for tests and tools that
// want to see the exact message).
func (s *SMTPSender) Build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return nil, errs.E(errs.Invalid, "la dirección del destinatario no es válida", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(MessageID(m.EmailID))
	date := m.Date
	if date.IsZero() {
		return nil, errs.E(errs.Internal, fmt.Sprintf("correo %s sin fecha", m.EmailID))
	}
	msg.SetDateWithValue(date)
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderContentLang, "es")
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	return msg, nil
}
