package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// TypeAgentDigest sends an agent the notifications that piled up, as one email.
const TypeAgentDigest = "notify:agent-digest"

// digestDelay batches a burst: everything within this window is one email.
const digestDelay = 30 * time.Second

// NotifyStore is what notification and transcript jobs read.
type NotifyStore interface {
	Conversation(ctx context.Context, workspaceID, id int64) (*chat.Conversation, error)
	Visitor(ctx context.Context, workspaceID, visitorID int64) (*chat.Visitor, error)
	Site(ctx context.Context, workspaceID, siteID int64) (*chat.Site, error)
	Agent(ctx context.Context, workspaceID, agentID int64) (*chat.Agent, error)
	Messages(ctx context.Context, workspaceID, conversationID, afterSeq int64, limit int, includePrivate bool) ([]*chat.Message, error)
	AddNotification(ctx context.Context, n *chat.Notification) error
	PendingNotifications(ctx context.Context, recipientType string, recipientID int64) ([]*chat.Notification, error)
	MarkNotificationsSent(ctx context.Context, ids []int64) error
}

// RenderTranscript renders the visitor's transcript email (see the
// transcript package).
type RenderTranscript func(conv *chat.Conversation, v *chat.Visitor, site *chat.Site, msgs []*chat.Message, locale, baseURL string) (subject, text, html string, err error)

// Notifier turns outbox events into emails: transcripts for visitors and
// batched notices for agents.
type Notifier struct {
	Store   NotifyStore
	Postman *Postman
	Queue   Enqueuer
	Render  RenderTranscript
	BaseURL string
}

func payloadMap(p OutboxPayload) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(p.Data, &m)
	return m
}

func num(m map[string]any, k string) int64 {
	f, _ := m[k].(float64)
	return int64(f)
}

// Transcript handles transcript.requested ("email me this conversation")
// and conversation.closed for sites that send transcripts on close.
func (n *Notifier) Transcript(ctx context.Context, p OutboxPayload) error {
	m := payloadMap(p)
	conv, err := n.Store.Conversation(ctx, p.WorkspaceID, num(m, "conversation_id"))
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil // purged meanwhile
	} else if err != nil {
		return err
	}
	v, err := n.Store.Visitor(ctx, p.WorkspaceID, conv.VisitorID)
	if err != nil {
		return err
	}
	site, err := n.Store.Site(ctx, p.WorkspaceID, conv.SiteID)
	if err != nil {
		return err
	}
	to, _ := m["email"].(string)
	if p.Topic == chat.EventConversationClosed {
		if !site.Settings.TranscriptOnClose || v.Email == "" {
			return nil
		}
		to = v.Email
	}
	if to == "" || n.Render == nil {
		return nil
	}
	var msgs []*chat.Message
	for after := int64(0); ; {
		page, err := n.Store.Messages(ctx, p.WorkspaceID, conv.ID, after, 500, false)
		if err != nil {
			return err
		}
		msgs = append(msgs, page...)
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].Seq
	}
	locale, _ := m["locale"].(string)
	if locale == "" {
		locale = v.Locale
	}
	subject, text, html, err := n.Render(conv, v, site, msgs, locale, n.BaseURL)
	if err != nil {
		return fmt.Errorf("render transcript: %v: %w", err, asynq.SkipRetry)
	}
	return n.Postman.Deliver(ctx, fmt.Sprintf("transcript:%d:%s", p.EventID, to),
		chat.Mail{WorkspaceID: p.WorkspaceID, To: to, Subject: subject, Text: text, HTML: html})
}

// AgentNotice queues a notice for an agent (assigned to them, mentioned)
// and schedules their digest; a burst becomes one email.
func (n *Notifier) AgentNotice(ctx context.Context, p OutboxPayload) error {
	m := payloadMap(p)
	var agentID int64
	kind := ""
	switch p.Topic {
	case chat.EventConversationAssigned:
		agentID, kind = num(m, "assignee_id"), "assigned"
	case "mention.created":
		agentID, kind = num(m, "agent_id"), "mention"
	}
	if agentID == 0 {
		return nil
	}
	agent, err := n.Store.Agent(ctx, p.WorkspaceID, agentID)
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if !agent.Active || (kind == "assigned" && !agent.Preferences.NotifyMine) || (kind == "mention" && !agent.Preferences.NotifyMention) {
		return nil
	}
	// One notice per event and agent, even when this handler runs twice.
	return Once(ctx, n.Postman.Store, fmt.Sprintf("notice:%d:%d", p.EventID, agentID), func() error {
		if err := n.Store.AddNotification(ctx, &chat.Notification{WorkspaceID: p.WorkspaceID, RecipientType: chat.AuthorAgent,
			RecipientID: agentID, Kind: kind, Payload: m}); err != nil {
			return err
		}
		return n.scheduleDigest(ctx, p.WorkspaceID, agentID)
	})
}

// ProcessTask sends an agent's digest (TypeAgentDigest).
func (n *Notifier) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p struct {
		WorkspaceID int64 `json:"workspace_id"`
		AgentID     int64 `json:"agent_id"`
	}
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.AgentID == 0 {
		return fmt.Errorf("bad digest payload: %w", asynq.SkipRetry)
	}
	pending, err := n.Store.PendingNotifications(ctx, chat.AuthorAgent, p.AgentID)
	if err != nil || len(pending) == 0 {
		return err
	}
	agent, err := n.Store.Agent(ctx, p.WorkspaceID, p.AgentID)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hi %s,\n\n", agent.Name)
	ids := make([]int64, len(pending))
	for i, no := range pending {
		ids[i] = no.ID
		conv := num(no.Payload, "conversation_id")
		switch no.Kind {
		case "assigned":
			fmt.Fprintf(&b, "- Conversation #%d was assigned to you: %s/#/c/%d\n", conv, n.BaseURL, conv)
		case "mention":
			fmt.Fprintf(&b, "- You were mentioned in conversation #%d: %s/#/c/%d\n", conv, n.BaseURL, conv)
		case "queue_waiting":
			fmt.Fprintf(&b, "- Conversation #%d has been waiting in the queue for more than %d minutes: %s/#/c/%d\n", conv, num(no.Payload, "minutes"), n.BaseURL, conv)
		default:
			fmt.Fprintf(&b, "- %s in conversation #%d\n", no.Kind, conv)
		}
	}
	b.WriteString("\nYou can switch these emails off in your console settings.\n")
	subject := fmt.Sprintf("Switchboard: %d update(s) for you", len(pending))
	key := fmt.Sprintf("digest:%d:%d-%d", p.AgentID, ids[0], ids[len(ids)-1])
	if err := n.Postman.Deliver(ctx, key, chat.Mail{WorkspaceID: p.WorkspaceID, To: agent.Email, Subject: subject, Text: b.String()}); err != nil {
		return err
	}
	return n.Store.MarkNotificationsSent(ctx, ids)
}

func isConflict(err error) bool { return errors.Is(err, asynq.ErrTaskIDConflict) }

// PlainTranscript is a text-only transcript email, used when no richer
// renderer is wired.
func PlainTranscript(conv *chat.Conversation, v *chat.Visitor, site *chat.Site, msgs []*chat.Message, _ string, baseURL string) (string, string, string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Your conversation with %s\n\n", site.Name)
	for _, m := range msgs {
		who := m.AuthorName
		if who == "" {
			who = map[string]string{chat.AuthorVisitor: "You", chat.AuthorSystem: "—"}[m.AuthorType]
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", m.CreatedAt.UTC().Format("2006-01-02 15:04"), who, m.Body)
		for _, a := range m.Attachments {
			fmt.Fprintf(&b, "    attachment: %s\n", a.Name)
		}
	}
	return "Your conversation with " + site.Name, b.String(), "", nil
}
