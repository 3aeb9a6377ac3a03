package workers

import (
	"context"
	"fmt"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// AccountEmail handles agent.invited and password.reset_requested: the
// one-time set-password link, by email (or into the local mailbox).
func (n *Notifier) AccountEmail(ctx context.Context, p OutboxPayload) error {
	m := payloadMap(p)
	to, _ := m["email"].(string)
	link, _ := m["url"].(string)
	name, _ := m["name"].(string)
	if to == "" || link == "" {
		return nil
	}
	var subject, text string
	switch p.Topic {
	case "agent.invited":
		by, _ := m["invited_by_name"].(string)
		subject = "You are invited to Switchboard"
		text = fmt.Sprintf("Hi %s,\n\n%s invited you to answer chats on Switchboard.\nChoose your password here (the link works once and expires):\n\n%s\n", name, someone(by), link)
	case "password.reset_requested":
		subject = "Reset your Switchboard password"
		text = fmt.Sprintf("Hi %s,\n\nSomeone (hopefully you) asked to reset your password. Choose a new one here within two hours:\n\n%s\n\nIf it was not you, ignore this email.\n", name, link)
	default:
		return nil
	}
	return n.Postman.Deliver(ctx, fmt.Sprintf("account:%d", p.EventID), chat.Mail{WorkspaceID: p.WorkspaceID, To: to, Subject: subject, Text: text})
}

func someone(name string) string {
	if name == "" {
		return "Your team"
	}
	return name
}
