package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
)

func TestWebhooksAPI(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	admin.expectError("POST", "/api/v1/webhooks", map[string]any{"url": "ftp://example.com"}, 400, chat.EINVALID)
	admin.expectError("POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"nope"}}, 400, chat.EINVALID)
	var h chat.Webhook
	if st, body := admin.do("POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/h", "events": []string{"message.created"}}, &h); st != 201 || !strings.HasPrefix(h.Secret, "whsec_") {
		t.Fatalf("create webhook: %d %s", st, body)
	}
	var list struct {
		Webhooks []chat.Webhook
		Topics   []string
	}
	admin.do("GET", "/api/v1/webhooks", nil, &list)
	if len(list.Webhooks) != 1 || len(list.Topics) == 0 {
		t.Fatalf("list: %+v", list)
	}
	var ds struct{ Deliveries []chat.WebhookDelivery }
	if st, _ := admin.do("GET", fmt.Sprintf("/api/v1/webhooks/%d/deliveries", h.ID), nil, &ds); st != 200 {
		t.Fatalf("deliveries: %d", st)
	}
	// Another workspace cannot see or delete it.
	_, _, stranger := e.seedWorkspace("Initech", "another good password")
	s := e.loginAgent(stranger.Email, "another good password")
	s.expectError("GET", fmt.Sprintf("/api/v1/webhooks/%d/deliveries", h.ID), nil, 404, chat.ENOTFOUND)
	s.expectError("DELETE", fmt.Sprintf("/api/v1/webhooks/%d", h.ID), nil, 404, chat.ENOTFOUND)
	if st, _ := admin.do("DELETE", fmt.Sprintf("/api/v1/webhooks/%d", h.ID), nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	var mb struct{ Mails []chat.MailboxEntry }
	if st, _ := admin.do("GET", "/api/v1/mailbox", nil, &mb); st != 200 {
		t.Fatalf("mailbox: %d", st)
	}
}
