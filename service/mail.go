package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	gomail "github.com/wneessen/go-mail"

	"lechat/model"
)

// Mailer sends one mail. Implemented by SMTPMailer and LogMailer; tests plug in fakes.
type Mailer interface {
	Send(ctx context.Context, m model.Mail) error
}

// SMTPConfig says how to reach the outgoing mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      string // "none", "starttls" or "tls"
	From     string
	Timeout  time.Duration
}

// SMTPMailer sends mail through an SMTP server with go-mail.
type SMTPMailer struct {
	cfg SMTPConfig
}

var _ Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer checks cfg and returns a mailer for it.
func NewSMTPMailer(cfg SMTPConfig) (*SMTPMailer, error) {
	switch cfg.TLS {
	case "none", "starttls", "tls":
	default:
		return nil, fmt.Errorf("smtp tls must be none, starttls or tls, not %q", cfg.TLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if err := gomail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("mail from %q: %w", cfg.From, err)
	}
	return &SMTPMailer{cfg: cfg}, nil
}

// Send delivers m with a text and an HTML part, within the configured timeout.
func (s *SMTPMailer) Send(ctx context.Context, m model.Mail) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout)}
	switch s.cfg.TLS {
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "tls":
		opts = append(opts, gomail.WithSSL())
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp send to %s:%d: %w", s.cfg.Host, s.cfg.Port, err)
	}
	return nil
}

// LogMailer writes each mail's text to the log instead of sending it: the
// default when no SMTP host is configured, so a local install works offline.
type LogMailer struct {
	Log *slog.Logger
}

var _ Mailer = (*LogMailer)(nil)

// Send logs m's recipient, subject and text part.
func (l *LogMailer) Send(ctx context.Context, m model.Mail) error {
	l.Log.InfoContext(ctx, "mail not sent: no SMTP host is configured, so here it is",
		"to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}
