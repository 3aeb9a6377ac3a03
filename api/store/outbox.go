package store

import (
	"context"
	"encoding/json"
	"strings"

	"gorm.io/gorm"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// addOutbox writes an outbox row inside the caller's transaction. payload is
// a map of plain values.
func addOutbox(tx *gorm.DB, workspaceID int64, topic string, payload map[string]any) error {
	row := outboxRow{WorkspaceID: workspaceID, Topic: topic, Payload: encodeJSON(payload), CreatedAt: now()}
	return dbError(tx.Create(&row).Error, "write outbox event", "outbox event")
}

// PendingOutbox returns up to limit (default and cap 1000) undispatched events,
// oldest first. Delivery is at least once: two relays may read the same rows,
// so handlers must be idempotent.
func (db *DB) PendingOutbox(ctx context.Context, limit int) ([]*chat.OutboxEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var rows []outboxRow
	if err := db.read(ctx).Where("dispatched_at IS NULL").Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, dbError(err, "list pending outbox", "outbox event")
	}
	out := make([]*chat.OutboxEvent, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// MarkDispatched stamps the events as dispatched; already dispatched or
// unknown ids are ignored.
func (db *DB) MarkDispatched(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := db.write(ctx).Model(&outboxRow{}).Where("id IN ? AND dispatched_at IS NULL", ids).Update("dispatched_at", now()).Error
	return dbError(err, "mark outbox dispatched", "outbox event")
}

// Audit stores e and fills in its ID and CreatedAt.
func (db *DB) Audit(ctx context.Context, e *chat.AuditEntry) error {
	e.Action = strings.TrimSpace(e.Action)
	if e.Action == "" {
		return invalid("audit action is required")
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return invalid("audit data is not valid JSON")
	}
	row := auditRow{
		WorkspaceID: e.WorkspaceID,
		ActorType:   e.ActorType,
		ActorID:     e.ActorID,
		Action:      e.Action,
		Target:      e.Target,
		CreatedAt:   now(),
	}
	if len(e.Data) > 0 {
		s := string(e.Data)
		row.Data = &s
	}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return dbError(err, "write audit entry", "audit entry")
	}
	e.ID, e.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// ListAudit returns the newest entries first, at most limit (default 50,
// capped at 500).
func (db *DB) ListAudit(ctx context.Context, workspaceID int64, limit int) ([]*chat.AuditEntry, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var rows []auditRow
	if err := db.read(ctx).Where("workspace_id = ?", workspaceID).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, dbError(err, "list audit entries", "audit entry")
	}
	out := make([]*chat.AuditEntry, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}
