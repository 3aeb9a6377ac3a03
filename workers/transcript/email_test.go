package transcript

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// TestEmailLanguages: the visitor's language, Arabic right to left, notes
// and events left out, attachments linked, everything escaped.
func TestEmailLanguages(t *testing.T) {
	d := sampleDoc(t)
	d.Site.Settings.Timezone = "Europe/Paris"
	for _, c := range []struct{ locale, subject, you, dir, attachment string }{
		{"en-US", "Your conversation with Shop <Example>", "You", "ltr", "Attachment"},
		{"fr", "Votre conversation avec Shop <Example>", "Vous", "ltr", "Pièce jointe"},
		{"de_DE", "Ihr Gespräch mit Shop <Example>", "Sie", "ltr", "Anhang"},
		{"es-MX", "Tu conversación con Shop <Example>", "Tú", "ltr", "Archivo adjunto"},
		{"pt-BR", "Sua conversa com Shop <Example>", "Você", "ltr", "Anexo"},
		{"ar-EG", "محادثتك مع Shop <Example>", "أنت", "rtl", "مرفق"},
		{"xx", "Your conversation with Shop <Example>", "You", "ltr", "Attachment"},
	} {
		link := func(a chat.AttachmentRef) string { return fmt.Sprintf("https://chat.example.com/shared/%d", a.ID) }
		subject, text, html, err := EmailWith(EmailOptions{AttachmentURL: link}, d.Conversation, d.Visitor, d.Site, d.Messages, c.locale, "https://chat.example.com/")
		if err != nil {
			t.Fatal(err)
		}
		if subject != c.subject {
			t.Errorf("%s: subject %q", c.locale, subject)
		}
		for _, part := range []string{text, html} {
			for _, want := range []string{c.you, c.attachment, "Здравствуйте", "我的订单还没有到", "Bob", "квитанция.pdf"} {
				if !strings.Contains(part, want) {
					t.Errorf("%s: %q missing", c.locale, want)
				}
			}
			if strings.Contains(part, "check the refund") || strings.Contains(part, "Conversation closed by Bob") {
				t.Errorf("%s: a note or an event reached the visitor", c.locale)
			}
		}
		if !strings.Contains(html, `<html lang="`+c.locale[:2]+`" dir="`+c.dir+`">`) && c.locale != "xx" {
			t.Errorf("%s: html lang/dir missing", c.locale)
		}
		if !strings.Contains(html, `<a href="https://chat.example.com/shared/9"`) || !strings.Contains(text, "<https://chat.example.com/shared/9>") {
			t.Errorf("%s: attachment not linked", c.locale)
		}
		if strings.Contains(html, "Shop <Example>") || !strings.Contains(html, "Shop &lt;Example&gt;") {
			t.Errorf("%s: site name not escaped in HTML", c.locale)
		}
		if !strings.Contains(text, "Europe/Paris") || !strings.Contains(text, "14:05") {
			t.Errorf("%s: times not in the site's zone:\n%s", c.locale, text)
		}
	}
	// A body with markup stays text; a hostile link target is dropped.
	d.Messages = []*chat.Message{{ID: 1, AuthorType: chat.AuthorVisitor, Kind: chat.KindText, Body: `<img src=x onerror=alert(1)>`,
		Attachments: []chat.AttachmentRef{{ID: 5, Name: `"><script>x</script>`, Size: 10}}, CreatedAt: d.Conversation.CreatedAt}}
	_, _, html, err := EmailWith(EmailOptions{AttachmentURL: func(chat.AttachmentRef) string { return "javascript:alert(1)" }},
		d.Conversation, nil, nil, d.Messages, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "<img") || strings.Contains(html, "<script>") || strings.Contains(html, "javascript:") {
		t.Errorf("unsafe HTML:\n%s", html)
	}
	if !strings.Contains(html, "our team") {
		t.Error("no site: expected the generic name")
	}
	// Plain Email lists attachments without links.
	_, text, html, _ := Email(d.Conversation, nil, nil, d.Messages, "fr", "https://chat.example.com")
	if strings.Contains(html, "<a ") || !strings.Contains(text, "Pièce jointe: \"><script>x</script> (10 bytes)") {
		t.Errorf("unlinked attachments:\n%s\n%s", text, html)
	}
}
