package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/workers"
	"github.com/switchboard-chat/switchboard/workers/mailtest"
)

// withTranscriptMail makes the env's jobs send transcript emails, as the
// worker does, through SMTP to a catcher.
func (x *exportEnv) withTranscriptMail(t *testing.T) *mailtest.Server {
	t.Helper()
	catcher, url := mailtest.Start(t)
	mailer, err := workers.NewSMTPMailer(url, "Switchboard <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	n := &workers.Notifier{Store: x.db, Postman: &workers.Postman{Store: x.db, Mailer: mailer},
		Render: workers.TranscriptEmail(x.db), BaseURL: x.URL}
	if x.outbox.Handlers == nil {
		x.outbox.Handlers = map[string][]workers.TopicHandler{}
	}
	x.outbox.Handlers[chat.EventTranscriptRequested] = append(x.outbox.Handlers[chat.EventTranscriptRequested], n.Transcript)
	return catcher
}

// TestAgentEmailsTranscript: an agent emails a conversation's transcript to
// the visitor's address (the default) and to another one; each arrives
// once by SMTP with the conversation's messages and without the private
// note. A bad address is 400, another workspace's conversation 404, and
// each request is audited.
func TestAgentEmailsTranscript(t *testing.T) {
	x := newExportEnv(t)
	catcher := x.withTranscriptMail(t)
	ctx := context.Background()
	conv := x.conversation(x.ws, x.site, x.admin) // visitor ivan@example.ru, locale ru, with a private note
	agent := x.loginAgent(x.admin.Email, x.password)
	path := fmt.Sprintf("/api/v1/conversations/%d/transcript/email", conv.ID)

	// Bad input first: nothing may be queued by it.
	for _, bad := range []string{"not an address", "Ann <ann@example.com>", "ann@example.com, bob@example.com", "ann@", strings.Repeat("a", 250) + "@example.com"} {
		agent.expectError("POST", path, map[string]string{"email": bad}, 400, chat.EINVALID)
	}
	agent.expectError("POST", path, "not an object", 400, chat.EINVALID)
	// Another workspace: 404 whatever the body, and no email.
	_, _, stranger := x.seedWorkspace("Initech", "another good password")
	other := x.loginAgent(stranger.Email, "another good password")
	other.expectError("POST", path, map[string]string{"email": "spy@example.com"}, 404, chat.ENOTFOUND)
	other.expectError("POST", path, map[string]string{}, 404, chat.ENOTFOUND)
	agent.expectError("POST", "/api/v1/conversations/999999/transcript/email", map[string]string{"email": "a@example.com"}, 404, chat.ENOTFOUND)
	// A visitor token is not an agent's credential.
	visitor, _ := x.newVisitor(x.site)
	if st, body := visitor.do("POST", path, map[string]string{"email": "a@example.com"}, nil); st != 401 {
		t.Fatalf("visitor token on the agent route: %d %s", st, body)
	}
	x.runJobs()
	if got := catcher.All(); len(got) != 0 {
		t.Fatalf("refused requests sent %d emails", len(got))
	}

	// Default recipient: the visitor's address.
	var out struct{ Status, Email string }
	if st, body := agent.do("POST", path, map[string]string{}, &out); st != 202 || out.Status != "queued" || out.Email != "ivan@example.ru" {
		t.Fatalf("email to the visitor: %d %s", st, body)
	}
	// Another address the agent typed (surrounding spaces are forgiven).
	if st, body := agent.do("POST", path, map[string]string{"email": "  boss@example.com "}, &out); st != 202 || out.Email != "boss@example.com" {
		t.Fatalf("email to another address: %d %s", st, body)
	}
	x.runJobs()
	x.runJobs() // a repeated run (the relay delivers at least once) sends nothing more

	got := catcher.All()
	if len(got) != 2 {
		t.Fatalf("want 2 emails, got %d: %+v", len(got), got)
	}
	to := map[string]mailtest.Mail{}
	for _, m := range got {
		if len(m.To) != 1 {
			t.Fatalf("recipients %v", m.To)
		}
		to[m.To[0]] = m
	}
	for _, addr := range []string{"ivan@example.ru", "boss@example.com"} {
		m, ok := to[addr]
		if !ok {
			t.Fatalf("no email to %s (got %v)", addr, to)
		}
		for _, part := range []struct{ name, body string }{{"text", m.Text}, {"html", m.HTML}} {
			for _, want := range []string{"Добрый день! Заказ не пришёл.", "Ελέγχω την παραγγελία σας", "谢谢", "скриншот.png"} {
				if !strings.Contains(part.body, want) {
					t.Errorf("%s, %s part: %q missing:\n%s", addr, part.name, want, part.body)
				}
			}
		}
		if strings.Contains(m.Raw, "Secret note") || strings.Contains(m.Text+m.HTML, "Secret note") || strings.Contains(m.Text+m.HTML, "VIP") {
			t.Errorf("the private note went to %s:\n%s", addr, m.Text)
		}
		if m.Subject == "" || !strings.Contains(m.Subject, x.site.Name) {
			t.Errorf("%s: subject %q", addr, m.Subject)
		}
		if !strings.Contains(m.Text, x.URL+"/api/v1/shared/attachments/") {
			t.Errorf("%s: the attachment is not linked:\n%s", addr, m.Text)
		}
	}

	// Audited: who sent which conversation where.
	entries, err := x.db.ListAudit(ctx, x.ws.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	var audited []map[string]any
	for _, a := range entries {
		if a.Action == "conversation.transcript_emailed" {
			if a.ActorID != x.admin.ID || a.Target != fmt.Sprintf("conversation:%d", conv.ID) {
				t.Errorf("audit entry %+v", a)
			}
			var d map[string]any
			json.Unmarshal(a.Data, &d)
			audited = append(audited, d)
		}
	}
	if len(audited) != 2 || audited[0]["email"] != "boss@example.com" || audited[0]["to_visitor"] != false ||
		audited[1]["email"] != "ivan@example.ru" || audited[1]["to_visitor"] != true {
		t.Errorf("audit data %v", audited)
	}

	// A visitor without an address: the agent has to type one.
	v := &chat.Visitor{WorkspaceID: x.ws.ID, SiteID: x.site.ID, Name: "Anon", Attributes: map[string]string{}}
	if err := x.db.CreateVisitor(ctx, v); err != nil {
		t.Fatal(err)
	}
	anon, _, err := x.db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: x.ws.ID, SiteID: x.site.ID, VisitorID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if st, _ := agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/transcript/email", anon.ID), map[string]string{"email": ""}, &e); st != 400 ||
		!strings.Contains(e.Error.Message, "visitor has not given an address") {
		t.Fatalf("no address at all: %d %+v", st, e)
	}

	// Not a spam relay: one agent's emails per hour are bounded.
	sent := 2
	for ; sent < 30; sent++ {
		if st, body := agent.do("POST", path, map[string]string{"email": fmt.Sprintf("r%d@example.com", sent)}, nil); st != 202 {
			t.Fatalf("email %d: %d %s", sent+1, st, body)
		}
	}
	agent.expectError("POST", path, map[string]string{"email": "one-too-many@example.com"}, 429, chat.ERATELIMIT)
}
