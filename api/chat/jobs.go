package chat

import (
	"context"
	"time"
)

// Mail is one email. Idempotency is the caller's job (see JobStore.ClaimEffect).
type Mail struct {
	WorkspaceID int64  `json:"workspace_id"`
	To          string `json:"to"`
	Subject     string `json:"subject"`
	Text        string `json:"text"`
	HTML        string `json:"html,omitempty"`
}

// MailboxEntry is an email kept locally (status "kept": no SMTP configured)
// or the record of one sent ("sent") or given up ("failed").
type MailboxEntry struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspace_id"`
	To          string    `json:"to"`
	Subject     string    `json:"subject"`
	Text        string    `json:"text"`
	HTML        string    `json:"html,omitempty"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// WebhookTopics are the events a webhook can subscribe to.
var WebhookTopics = []string{
	EventConversationCreated, EventConversationAssigned, EventConversationClosed,
	EventConversationReopened, EventMessageCreated, EventRatingSubmitted,
}

// Webhook is an endpoint that receives signed event notifications.
type Webhook struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspace_id"`
	URL         string    `json:"url"`
	Secret      string    `json:"secret,omitempty"`
	Events      []string  `json:"events"` // outbox topics; empty = all
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"created_at"`
}

// WebhookDelivery is one attempt to deliver an event to a webhook.
type WebhookDelivery struct {
	ID         int64     `json:"id"`
	WebhookID  int64     `json:"webhook_id"`
	EventID    int64     `json:"event_id"`
	Topic      string    `json:"topic"`
	Attempt    int       `json:"attempt"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error,omitempty"`
	DurationMS int       `json:"duration_ms"`
	CreatedAt  time.Time `json:"created_at"`
}

// Notification is a pending notice to an agent or visitor, batched into one
// email per recipient.
type Notification struct {
	ID            int64          `json:"id"`
	WorkspaceID   int64          `json:"workspace_id"`
	RecipientType string         `json:"recipient_type"`
	RecipientID   int64          `json:"recipient_id"`
	Kind          string         `json:"kind"`
	Payload       map[string]any `json:"payload"`
	CreatedAt     time.Time      `json:"created_at"`
}

// Effect claim states.
const (
	EffectClaimed = "claimed"
	EffectDone    = "done"
	EffectBusy    = "busy"
)

// JobStore is what background jobs need from storage.
type JobStore interface {
	// MarkOutboxDone records that every handler of an outbox row finished.
	MarkOutboxDone(ctx context.Context, id int64) error
	// StaleOutbox returns rows dispatched before t but never done: their
	// task may have been lost with Redis.
	StaleOutbox(ctx context.Context, before time.Time, limit int) ([]*OutboxEvent, error)

	// ClaimEffect starts a side effect identified by key: EffectClaimed
	// (go ahead), EffectDone (already done: skip) or EffectBusy (someone
	// else's claim younger than lease: try later). A claim older than lease
	// (its worker crashed) is taken over.
	ClaimEffect(ctx context.Context, key string, lease time.Duration) (string, error)
	// CompleteEffect marks an effect done; ReleaseEffect forgets a claim
	// whose effect failed, so a retry does it.
	CompleteEffect(ctx context.Context, key string) error
	ReleaseEffect(ctx context.Context, key string) error
	// KeepMail stores an email in the local mailbox and completes the
	// effect key in the same transaction: exactly once.
	KeepMail(ctx context.Context, e *MailboxEntry, effectKey string) error
	Mailbox(ctx context.Context, workspaceID int64, limit int) ([]*MailboxEntry, error)

	CreateWebhook(ctx context.Context, w *Webhook) error
	Webhooks(ctx context.Context, workspaceID int64) ([]*Webhook, error)
	Webhook(ctx context.Context, workspaceID, id int64) (*Webhook, error)
	DeleteWebhook(ctx context.Context, workspaceID, id int64) error
	AddWebhookDelivery(ctx context.Context, d *WebhookDelivery) error
	WebhookDeliveries(ctx context.Context, workspaceID, webhookID int64, limit int) ([]*WebhookDelivery, error)

	AddNotification(ctx context.Context, n *Notification) error
	// PendingNotifications returns a recipient's unsent notifications.
	PendingNotifications(ctx context.Context, recipientType string, recipientID int64) ([]*Notification, error)
	MarkNotificationsSent(ctx context.Context, ids []int64) error

	// WakeSnoozed reopens snoozed conversations whose time has come.
	WakeSnoozed(ctx context.Context, now time.Time) ([]*Conversation, []*Message, error)
	// AutoClose closes open conversations of sites with auto-close enabled
	// that have been inactive longer than the site allows.
	AutoClose(ctx context.Context, now time.Time) ([]*Conversation, []*Message, error)
	// PurgeExpired deletes closed conversations (with messages and
	// attachments rows) and idle visitors older than each workspace's
	// retention; it returns the blob keys of deleted attachments.
	PurgeExpired(ctx context.Context, now time.Time) (conversations int, blobKeys []string, err error)
}
