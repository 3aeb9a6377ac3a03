// Package mailtest is a real SMTP server in-process for tests: it accepts
// every message and keeps it, with its subject and text and HTML parts
// decoded, so tests assert on what actually arrived over SMTP.
package mailtest

import (
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Mail is one message as it arrived.
type Mail struct {
	From    string   // envelope sender
	To      []string // envelope recipients
	Subject string   // decoded
	Text    string   // the text/plain parts, decoded
	HTML    string   // the text/html parts, decoded
	Raw     string   // the message as sent
}

// Server keeps what it receives.
type Server struct {
	mu   sync.Mutex
	msgs []Mail
}

// Start listens on a loopback port until the test ends and returns the
// server and its smtp:// URL.
func Start(tb testing.TB) (*Server, string) {
	tb.Helper()
	s := &Server{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return s, "smtp://" + ln.Addr().String()
}

// All returns the messages received so far, oldest first.
func (s *Server) All() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.msgs...)
}

type session struct {
	s   *Server
	cur Mail
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error { x.cur.From = from; return nil }
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.cur.To = append(x.cur.To, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := x.cur
	m.Raw = string(raw)
	if msg, err := mail.ReadMessage(strings.NewReader(m.Raw)); err == nil {
		m.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		readPart(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, m)
	x.s.mu.Unlock()
	x.cur = Mail{}
	return nil
}
func (x *session) Reset()        { x.cur = Mail{} }
func (x *session) Logout() error { return nil }

// readPart decodes text/plain and text/html parts, walking multiparts.
func readPart(m *Mail, ctype, encoding string, body io.Reader) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			readPart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // ignores line breaks
	}
	b, _ := io.ReadAll(body)
	switch mt {
	case "text/plain":
		m.Text += string(b)
	case "text/html":
		m.HTML += string(b)
	}
}
