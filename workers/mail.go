package workers

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Mailer sends one email.
type Mailer interface {
	Send(ctx context.Context, m chat.Mail) error
}

// SMTPMailer sends through an SMTP server (the only place go-mail is used).
type SMTPMailer struct {
	host     string
	opts     []mail.Option
	From     string
	implicit bool
}

// NewSMTPMailer configures a mailer from smtp://user:pass@host:port or
// smtps:// (implicit TLS). Plain smtp:// uses STARTTLS when the server
// offers it.
func NewSMTPMailer(rawURL, from string) (*SMTPMailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("invalid SMTP URL")
	}
	m := &SMTPMailer{host: u.Hostname(), From: from}
	port := 25
	if u.Port() != "" {
		if port, err = strconv.Atoi(u.Port()); err != nil {
			return nil, fmt.Errorf("invalid SMTP port %q", u.Port())
		}
	}
	m.opts = []mail.Option{mail.WithPort(port), mail.WithTimeout(20 * time.Second)}
	if u.Scheme == "smtps" {
		m.opts = append(m.opts, mail.WithSSL())
	} else {
		m.opts = append(m.opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		m.opts = append(m.opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(u.User.Username()), mail.WithPassword(pass))
	}
	return m, nil
}

func (s *SMTPMailer) Send(ctx context.Context, m chat.Mail) error {
	msg := mail.NewMsg()
	if err := msg.From(s.From); err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("to address: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	client, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return err
	}
	return client.DialAndSendWithContext(ctx, msg)
}

// MailStore keeps emails in the local mailbox, with their effect key.
type MailStore interface {
	Effects
	KeepMail(ctx context.Context, e *chat.MailboxEntry, effectKey string) error
}

// Postman sends emails once per effect key: through SMTP when configured
// (and records them in the mailbox), else into the local mailbox only, so
// nothing silently disappears.
type Postman struct {
	Store  MailStore
	Mailer Mailer // nil = local mailbox only
}

// Deliver sends m exactly once per key (see Once for the remaining window).
func (p *Postman) Deliver(ctx context.Context, key string, m chat.Mail) error {
	entry := &chat.MailboxEntry{WorkspaceID: m.WorkspaceID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, Status: "kept"}
	if p.Mailer == nil {
		// The mailbox row and the effect key commit together: exactly once.
		state, err := p.Store.ClaimEffect(ctx, key, EffectLease)
		if err != nil || state == chat.EffectDone {
			return err
		}
		if state == chat.EffectBusy {
			return fmt.Errorf("%s: %w", key, errBusy)
		}
		return p.Store.KeepMail(ctx, entry, key)
	}
	return Once(ctx, p.Store, key, func() error {
		if err := p.Mailer.Send(ctx, m); err != nil {
			return err
		}
		entry.Status = "sent"
		return p.Store.KeepMail(ctx, entry, "")
	})
}
