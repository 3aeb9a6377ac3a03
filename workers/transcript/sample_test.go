package transcript

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// sampleDoc is a conversation in many scripts, with a note, an event and
// attachments.
func sampleDoc(tb testing.TB) *Doc {
	tb.Helper()
	t0 := time.Date(2025, 3, 4, 13, 5, 0, 0, time.UTC)
	rating := 5
	conv := &chat.Conversation{ID: 42, WorkspaceID: 1, SiteID: 2, VisitorID: 3, Status: chat.ConvClosed, Priority: chat.PriorityHigh,
		Labels: []string{"billing", "vip"}, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour), LastMessageAt: t0.Add(time.Hour),
		ResolvedAt: ptr(t0.Add(time.Hour)), Rating: &rating, RatingComment: "Отлично!"}
	v := &chat.Visitor{ID: 3, Name: "Анна Каренина", Email: "anna@example.ru", Locale: "ru-RU", LastPage: "https://shop.example.com/cart",
		Attributes: map[string]string{"plan": "pro"}}
	site := &chat.Site{ID: 2, Name: "Shop <Example>"}
	bodies := []struct{ typ, kind, name, body string }{
		{chat.AuthorVisitor, chat.KindText, "Анна", "Здравствуйте! У меня вопрос по счёту №123."},
		{chat.AuthorAgent, chat.KindText, "Bob", "Hello Anna — Γειά σου κόσμε! How can I help?"},
		{chat.AuthorVisitor, chat.KindText, "Анна", "我的订单还没有到。请帮我查一下。日本語のテキストもあります。한국어 문장도 있습니다."},
		{chat.AuthorAgent, chat.KindNote, "Bob", "Private: check the refund <script>alert(1)</script>"},
		{chat.AuthorVisitor, chat.KindText, "Анна", "مرحبا بكم في موقعنا، السلام عليكم 123"},
		{chat.AuthorSystem, chat.KindEvent, "", "Conversation closed by Bob"},
		{chat.AuthorVisitor, chat.KindText, "Анна", strings.Repeat("A long line that has to wrap several times across the page width. ", 8) + "\nSecond paragraph.\nhttps://example.com/" + strings.Repeat("x", 150)},
	}
	var msgs []*chat.Message
	for i, b := range bodies {
		m := &chat.Message{ID: int64(i + 1), ConversationID: 42, Seq: int64(i + 1), AuthorType: b.typ, AuthorName: b.name,
			Kind: b.kind, Body: b.body, CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
		if i == 2 {
			m.Attachments = []chat.AttachmentRef{{ID: 9, Name: "квитанция.pdf", ContentType: "application/pdf", Size: 123456}}
		}
		msgs = append(msgs, m)
	}
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		tb.Fatal(err)
	}
	return &Doc{Conversation: conv, Visitor: v, Site: site, Messages: msgs, Location: loc, AssigneeName: "Bob", TeamName: "Support",
		GeneratedAt: t0.Add(2 * time.Hour)}
}

func ptr[T any](v T) *T { return &v }

var _ = fmt.Sprint
