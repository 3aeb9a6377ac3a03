package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/switchboard-chat/switchboard/api/chat"
)

type jobEffectRow struct {
	Key       string `gorm:"primaryKey"`
	State     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (jobEffectRow) TableName() string { return "job_effects" }

type mailboxRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	ToAddr      string
	Subject     string
	TextBody    string
	HTMLBody    string `gorm:"column:html_body"`
	Status      string
	Error       string
	CreatedAt   time.Time
}

func (mailboxRow) TableName() string { return "mailbox" }

type webhookRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	URL         string `gorm:"column:url"`
	Secret      string
	Events      string // JSON array of topics
	Active      bool
	CreatedAt   time.Time
}

func (webhookRow) TableName() string { return "webhooks" }

func (r *webhookRow) chat() *chat.Webhook {
	w := &chat.Webhook{ID: r.ID, WorkspaceID: r.WorkspaceID, URL: r.URL, Secret: r.Secret, Events: []string{}, Active: r.Active, CreatedAt: r.CreatedAt.UTC()}
	decodeJSON(r.Events, &w.Events)
	return w
}

type webhookDeliveryRow struct {
	ID         int64 `gorm:"primaryKey"`
	WebhookID  int64
	EventID    int64
	Topic      string
	Attempt    int
	StatusCode int
	Error      string
	DurationMs int
	CreatedAt  time.Time
}

func (webhookDeliveryRow) TableName() string { return "webhook_deliveries" }

type notificationRow struct {
	ID            int64 `gorm:"primaryKey"`
	WorkspaceID   int64
	RecipientType string
	RecipientID   int64
	Kind          string
	Payload       string
	CreatedAt     time.Time
	SentAt        *time.Time
}

func (notificationRow) TableName() string { return "notifications" }

func init() {
	allRows = append(allRows, &jobEffectRow{}, &mailboxRow{}, &webhookRow{}, &webhookDeliveryRow{}, &notificationRow{})
}

func (db *DB) MarkOutboxDone(ctx context.Context, id int64) error {
	err := db.write(ctx).Model(&outboxRow{}).Where("id = ? AND done_at IS NULL", id).Update("done_at", now()).Error
	return dbError(err, "mark outbox done", "outbox event")
}

func (db *DB) StaleOutbox(ctx context.Context, before time.Time, limit int) ([]*chat.OutboxEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var rows []outboxRow
	err := db.read(ctx).Where("dispatched_at IS NOT NULL AND done_at IS NULL AND dispatched_at < ?", utc(before)).
		Order("id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "list stale outbox", "outbox event")
	}
	out := make([]*chat.OutboxEvent, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

func (db *DB) ClaimEffect(ctx context.Context, key string, lease time.Duration) (string, error) {
	if key == "" {
		return "", invalid("effect key is required")
	}
	state := chat.EffectBusy
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var row jobEffectRow
		err := db.forUpdate(tx).Where("key = ?", key).Take(&row).Error
		t := now()
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			state = chat.EffectClaimed
			return dbError(tx.Create(&jobEffectRow{Key: key, State: "pending", CreatedAt: t, UpdatedAt: t}).Error, "claim effect", "effect")
		case err != nil:
			return dbError(err, "find effect", "effect")
		case row.State == "done":
			state = chat.EffectDone
			return nil
		case t.Sub(row.UpdatedAt) < lease:
			return nil // someone is on it
		default:
			state = chat.EffectClaimed // a crashed attempt: take it over
			return dbError(tx.Model(&jobEffectRow{}).Where("key = ?", key).Update("updated_at", t).Error, "take over effect", "effect")
		}
	})
	if chat.ErrorCode(err) == chat.ECONFLICT {
		return chat.EffectBusy, nil // a concurrent claim inserted first
	}
	return state, err
}

func (db *DB) CompleteEffect(ctx context.Context, key string) error {
	return dbError(db.write(ctx).Model(&jobEffectRow{}).Where("key = ?", key).
		Updates(map[string]any{"state": "done", "updated_at": now()}).Error, "complete effect", "effect")
}

func (db *DB) ReleaseEffect(ctx context.Context, key string) error {
	return dbError(db.write(ctx).Where("key = ? AND state = ?", key, "pending").Delete(&jobEffectRow{}).Error, "release effect", "effect")
}

func (db *DB) KeepMail(ctx context.Context, e *chat.MailboxEntry, effectKey string) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		t := now()
		row := mailboxRow{WorkspaceID: e.WorkspaceID, ToAddr: e.To, Subject: e.Subject, TextBody: e.Text, HTMLBody: e.HTML,
			Status: e.Status, Error: e.Error, CreatedAt: t}
		if err := tx.Create(&row).Error; err != nil {
			return dbError(err, "keep mail", "mail")
		}
		e.ID, e.CreatedAt = row.ID, t
		if effectKey == "" {
			return nil
		}
		return dbError(tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}}, DoUpdates: clause.Assignments(map[string]any{"state": "done", "updated_at": t})}).
			Create(&jobEffectRow{Key: effectKey, State: "done", CreatedAt: t, UpdatedAt: t}).Error, "complete effect", "effect")
	})
}

func (db *DB) Mailbox(ctx context.Context, workspaceID int64, limit int) ([]*chat.MailboxEntry, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var rows []mailboxRow
	if err := db.read(ctx).Where("workspace_id = ?", workspaceID).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, dbError(err, "list mailbox", "mail")
	}
	out := make([]*chat.MailboxEntry, len(rows))
	for i, r := range rows {
		out[i] = &chat.MailboxEntry{ID: r.ID, WorkspaceID: r.WorkspaceID, To: r.ToAddr, Subject: r.Subject, Text: r.TextBody,
			HTML: r.HTMLBody, Status: r.Status, Error: r.Error, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

func (db *DB) CreateWebhook(ctx context.Context, w *chat.Webhook) error {
	if w.Events == nil {
		w.Events = []string{}
	}
	row := webhookRow{WorkspaceID: w.WorkspaceID, URL: strings.TrimSpace(w.URL), Secret: w.Secret, Events: encodeJSON(w.Events), Active: true, CreatedAt: now()}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return dbError(err, "create webhook", "webhook")
	}
	w.ID, w.CreatedAt, w.Active = row.ID, row.CreatedAt, true
	return nil
}

func (db *DB) Webhooks(ctx context.Context, workspaceID int64) ([]*chat.Webhook, error) {
	var rows []webhookRow
	if err := db.read(ctx).Where("workspace_id = ?", workspaceID).Order("id").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list webhooks", "webhook")
	}
	out := make([]*chat.Webhook, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

func (db *DB) Webhook(ctx context.Context, workspaceID, id int64) (*chat.Webhook, error) {
	var row webhookRow
	if err := db.read(ctx).Where("id = ? AND workspace_id = ?", id, workspaceID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find webhook", "webhook")
	}
	return row.chat(), nil
}

func (db *DB) DeleteWebhook(ctx context.Context, workspaceID, id int64) error {
	res := db.write(ctx).Where("id = ? AND workspace_id = ?", id, workspaceID).Delete(&webhookRow{})
	if res.Error != nil {
		return dbError(res.Error, "delete webhook", "webhook")
	} else if res.RowsAffected == 0 {
		return notFound("webhook")
	}
	return nil
}

func (db *DB) AddWebhookDelivery(ctx context.Context, d *chat.WebhookDelivery) error {
	row := webhookDeliveryRow{WebhookID: d.WebhookID, EventID: d.EventID, Topic: d.Topic, Attempt: d.Attempt,
		StatusCode: d.StatusCode, Error: d.Error, DurationMs: d.DurationMS, CreatedAt: now()}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return dbError(err, "log webhook delivery", "webhook delivery")
	}
	d.ID, d.CreatedAt = row.ID, row.CreatedAt
	return nil
}

func (db *DB) WebhookDeliveries(ctx context.Context, workspaceID, webhookID int64, limit int) ([]*chat.WebhookDelivery, error) {
	if _, err := db.Webhook(ctx, workspaceID, webhookID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var rows []webhookDeliveryRow
	if err := db.read(ctx).Where("webhook_id = ?", webhookID).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, dbError(err, "list webhook deliveries", "webhook delivery")
	}
	out := make([]*chat.WebhookDelivery, len(rows))
	for i, r := range rows {
		out[i] = &chat.WebhookDelivery{ID: r.ID, WebhookID: r.WebhookID, EventID: r.EventID, Topic: r.Topic, Attempt: r.Attempt,
			StatusCode: r.StatusCode, Error: r.Error, DurationMS: r.DurationMs, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

func (db *DB) AddNotification(ctx context.Context, n *chat.Notification) error {
	if n.Payload == nil {
		n.Payload = map[string]any{}
	}
	row := notificationRow{WorkspaceID: n.WorkspaceID, RecipientType: n.RecipientType, RecipientID: n.RecipientID, Kind: n.Kind,
		Payload: encodeJSON(n.Payload), CreatedAt: now()}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return dbError(err, "add notification", "notification")
	}
	n.ID, n.CreatedAt = row.ID, row.CreatedAt
	return nil
}

func (db *DB) PendingNotifications(ctx context.Context, recipientType string, recipientID int64) ([]*chat.Notification, error) {
	var rows []notificationRow
	if err := db.read(ctx).Where("recipient_type = ? AND recipient_id = ? AND sent_at IS NULL", recipientType, recipientID).
		Order("id").Limit(500).Find(&rows).Error; err != nil {
		return nil, dbError(err, "list notifications", "notification")
	}
	out := make([]*chat.Notification, len(rows))
	for i, r := range rows {
		out[i] = &chat.Notification{ID: r.ID, WorkspaceID: r.WorkspaceID, RecipientType: r.RecipientType, RecipientID: r.RecipientID,
			Kind: r.Kind, Payload: map[string]any{}, CreatedAt: r.CreatedAt.UTC()}
		decodeJSON(r.Payload, &out[i].Payload)
	}
	return out, nil
}

func (db *DB) MarkNotificationsSent(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return dbError(db.write(ctx).Model(&notificationRow{}).Where("id IN ? AND sent_at IS NULL", ids).Update("sent_at", now()).Error,
		"mark notifications sent", "notification")
}

// transition moves conversations to a status, each with its system message
// and outbox row (SetStatus), one transaction per conversation so a failure
// leaves the others done.
func (db *DB) transition(ctx context.Context, ids []struct{ W, C int64 }, status, actor string) ([]*chat.Conversation, []*chat.Message, error) {
	var convs []*chat.Conversation
	var msgs []*chat.Message
	for _, id := range ids {
		c, m, err := db.SetStatus(ctx, id.W, id.C, status, nil, actor)
		if err != nil {
			return convs, msgs, err
		}
		convs, msgs = append(convs, c), append(msgs, m)
	}
	return convs, msgs, nil
}

func (db *DB) WakeSnoozed(ctx context.Context, t time.Time) ([]*chat.Conversation, []*chat.Message, error) {
	var rows []conversationRow
	err := db.read(ctx).Select("id, workspace_id").Where("status = ? AND snoozed_until IS NOT NULL AND snoozed_until <= ?", chat.ConvSnoozed, utc(t)).
		Limit(500).Find(&rows).Error
	if err != nil {
		return nil, nil, dbError(err, "list snoozed", "conversation")
	}
	ids := make([]struct{ W, C int64 }, len(rows))
	for i, r := range rows {
		ids[i] = struct{ W, C int64 }{r.WorkspaceID, r.ID}
	}
	return db.transition(ctx, ids, chat.ConvOpen, "the snooze timer")
}

func (db *DB) AutoClose(ctx context.Context, t time.Time) ([]*chat.Conversation, []*chat.Message, error) {
	var sites []siteRow
	if err := db.read(ctx).Find(&sites).Error; err != nil {
		return nil, nil, dbError(err, "list sites", "site")
	}
	var ids []struct{ W, C int64 }
	for i := range sites {
		st := sites[i].chat().Settings
		if st.AutoCloseHours <= 0 {
			continue
		}
		var rows []conversationRow
		cutoff := utc(t.Add(-time.Duration(st.AutoCloseHours) * time.Hour))
		err := db.read(ctx).Select("id, workspace_id").
			Where("site_id = ? AND status IN ? AND last_message_at < ?", sites[i].ID, openStatuses, cutoff).Limit(500).Find(&rows).Error
		if err != nil {
			return nil, nil, dbError(err, "list inactive", "conversation")
		}
		for _, r := range rows {
			ids = append(ids, struct{ W, C int64 }{r.WorkspaceID, r.ID})
		}
	}
	return db.transition(ctx, ids, chat.ConvClosed, "auto-close after inactivity")
}

func (db *DB) PurgeExpired(ctx context.Context, t time.Time) (int, []string, error) {
	var workspaces []workspaceRow
	if err := db.read(ctx).Where("retention_days > 0").Find(&workspaces).Error; err != nil {
		return 0, nil, dbError(err, "list workspaces", "workspace")
	}
	purged := 0
	var keys []string
	for _, w := range workspaces {
		cutoff := utc(t.Add(-time.Duration(w.RetentionDays) * 24 * time.Hour))
		err := db.tx(ctx, func(tx *gorm.DB) error {
			var convIDs []int64
			if err := tx.Model(&conversationRow{}).Where("workspace_id = ? AND status = ? AND last_message_at < ?", w.ID, chat.ConvClosed, cutoff).
				Limit(1000).Pluck("id", &convIDs).Error; err != nil {
				return dbError(err, "find expired conversations", "conversation")
			}
			if len(convIDs) > 0 {
				var atts []attachmentRow
				if err := tx.Where("conversation_id IN ?", convIDs).Find(&atts).Error; err != nil {
					return dbError(err, "find expired attachments", "attachment")
				}
				for _, a := range atts {
					keys = append(keys, a.StorageKey)
				}
				for _, m := range []any{&attachmentRow{}, &messageRow{}, &readMarkerRow{}} {
					if err := tx.Where("conversation_id IN ?", convIDs).Delete(m).Error; err != nil {
						return dbError(err, "purge conversation data", "conversation")
					}
				}
				if err := tx.Where("id IN ?", convIDs).Delete(&conversationRow{}).Error; err != nil {
					return dbError(err, "purge conversations", "conversation")
				}
				purged += len(convIDs)
			}
			// Visitors with nothing left and not seen since the cutoff.
			return dbError(tx.Where("workspace_id = ? AND last_seen_at < ? AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.visitor_id = visitors.id)", w.ID, cutoff).
				Delete(&visitorRow{}).Error, "purge visitors", "visitor")
		})
		if err != nil {
			return purged, keys, err
		}
	}
	return purged, keys, nil
}
