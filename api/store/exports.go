package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// exportRow maps the exports table (migration 00006).
type exportRow struct {
	ID             int64 `gorm:"primaryKey"`
	WorkspaceID    int64
	AgentID        *int64
	Kind           string
	ConversationID *int64
	Format         string
	Options        string // JSON chat.ExportOptions
	Status         string
	Progress       int
	Error          string
	FileName       string
	ContentType    string
	Size           int64
	StorageKey     string
	ExpiresAt      *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	StartedAt      *time.Time
	FinishedAt     *time.Time
}

func (exportRow) TableName() string { return "exports" }

func (r *exportRow) chat() *chat.Export {
	e := &chat.Export{
		ID:             r.ID,
		WorkspaceID:    r.WorkspaceID,
		Kind:           r.Kind,
		ConversationID: r.ConversationID,
		Format:         r.Format,
		Status:         r.Status,
		Progress:       r.Progress,
		Error:          r.Error,
		FileName:       r.FileName,
		ContentType:    r.ContentType,
		Size:           r.Size,
		StorageKey:     r.StorageKey,
		ExpiresAt:      utcPtr(r.ExpiresAt),
		CreatedAt:      r.CreatedAt.UTC(),
		UpdatedAt:      r.UpdatedAt.UTC(),
		StartedAt:      utcPtr(r.StartedAt),
		FinishedAt:     utcPtr(r.FinishedAt),
	}
	if r.AgentID != nil {
		e.AgentID = *r.AgentID
	}
	decodeJSON(r.Options, &e.Options)
	return e
}

// exportLinkRow maps export_links: only the token's sha256 hex is stored.
type exportLinkRow struct {
	TokenHash string `gorm:"primaryKey"`
	ExportID  int64
	ExpiresAt time.Time
	CreatedAt time.Time
}

func (exportLinkRow) TableName() string { return "export_links" }

// linkKeyRow maps link_keys: server-wide signing keys.
type linkKeyRow struct {
	Name      string `gorm:"primaryKey"`
	Secret    string // hex
	CreatedAt time.Time
}

func (linkKeyRow) TableName() string { return "link_keys" }

func init() {
	allRows = append(allRows, &exportRow{}, &exportLinkRow{}, &linkKeyRow{})
}

// LinkKey reads a signing key, creating it on first use. Two nodes creating
// it at once agree: the loser's insert is ignored and both read the winner's.
func (db *DB) LinkKey(ctx context.Context, name string) ([]byte, error) {
	if name == "" {
		return nil, invalid("link key name is required")
	}
	var row linkKeyRow
	err := db.read(ctx).Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		secret := make([]byte, 32)
		rand.Read(secret)
		err = db.write(ctx).Clauses(clause.OnConflict{DoNothing: true}).
			Create(&linkKeyRow{Name: name, Secret: hex.EncodeToString(secret), CreatedAt: now()}).Error
		if err != nil {
			return nil, dbError(err, "create link key", "link key")
		}
		err = db.write(ctx).Where("name = ?", name).Take(&row).Error
	}
	if err != nil {
		return nil, dbError(err, "read link key", "link key")
	}
	key, err := hex.DecodeString(row.Secret)
	if err != nil || len(key) < 16 {
		return nil, &opError{op: "read link key", err: errors.New("stored key is malformed")}
	}
	return key, nil
}

func validExportFormat(kind, format string) bool {
	switch kind {
	case chat.ExportConversation:
		return format == chat.FormatPDF || format == chat.FormatHTML || format == chat.FormatText || format == chat.FormatJSON
	case chat.ExportBulk:
		return format == chat.FormatZIP
	}
	return false
}

func (db *DB) CreateExport(ctx context.Context, e *chat.Export) error {
	if !validExportFormat(e.Kind, e.Format) {
		return invalid("unknown export kind %q or format %q", e.Kind, e.Format)
	}
	if (e.Kind == chat.ExportConversation) != (e.ConversationID != nil) {
		return invalid("a conversation export names exactly one conversation")
	}
	row := exportRow{
		WorkspaceID:    e.WorkspaceID,
		Kind:           e.Kind,
		ConversationID: e.ConversationID,
		Format:         e.Format,
		Options:        encodeJSON(e.Options),
		Status:         chat.ExportPending,
	}
	if e.AgentID != 0 {
		row.AgentID = &e.AgentID
	}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if e.ConversationID != nil {
			if err := inWorkspace(tx, &conversationRow{}, e.WorkspaceID, *e.ConversationID, "conversation"); err != nil {
				return err
			}
		}
		if e.AgentID != 0 {
			if err := inWorkspace(tx, &agentRow{}, e.WorkspaceID, e.AgentID, "agent"); err != nil {
				return err
			}
		}
		row.CreatedAt = now()
		row.UpdatedAt = row.CreatedAt
		if err := tx.Create(&row).Error; err != nil {
			return dbError(err, "create export", "export")
		}
		return addOutbox(tx, e.WorkspaceID, chat.EventExportRequested, map[string]any{
			"export_id": row.ID, "workspace_id": e.WorkspaceID, "kind": e.Kind, "format": e.Format,
		})
	})
	if err != nil {
		return err
	}
	*e = *row.chat()
	return nil
}

func (db *DB) Export(ctx context.Context, workspaceID, id int64) (*chat.Export, error) {
	var row exportRow
	if err := db.read(ctx).Where("id = ? AND workspace_id = ?", id, workspaceID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find export", "export")
	}
	return row.chat(), nil
}

func (db *DB) ListExports(ctx context.Context, workspaceID, agentID int64, limit int) ([]*chat.Export, error) {
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	q := db.read(ctx).Where("workspace_id = ?", workspaceID)
	if agentID != 0 {
		q = q.Where("agent_id = ?", agentID)
	}
	var rows []exportRow
	if err := q.Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, dbError(err, "list exports", "export")
	}
	out := make([]*chat.Export, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// updateExport applies fields to an export in one of the given states; an
// export in any other state is ECONFLICT, a missing one ENOTFOUND.
func (db *DB) updateExport(ctx context.Context, workspaceID, id int64, states []string, fields map[string]any) (*chat.Export, error) {
	var row exportRow
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := db.forUpdate(tx).Where("id = ? AND workspace_id = ?", id, workspaceID).Take(&row).Error; err != nil {
			return dbError(err, "find export", "export")
		}
		ok := false
		for _, s := range states {
			ok = ok || row.Status == s
		}
		if !ok {
			return chat.Errorf(chat.ECONFLICT, "export is %s", row.Status)
		}
		fields["updated_at"] = now()
		if err := tx.Model(&exportRow{}).Where("id = ?", id).Updates(fields).Error; err != nil {
			return dbError(err, "update export", "export")
		}
		return dbError(tx.Where("id = ?", id).Take(&row).Error, "reload export", "export")
	})
	if err != nil {
		return nil, err
	}
	return row.chat(), nil
}

func (db *DB) StartExport(ctx context.Context, workspaceID, id int64) (*chat.Export, error) {
	return db.updateExport(ctx, workspaceID, id, []string{chat.ExportPending, chat.ExportRunning},
		map[string]any{"status": chat.ExportRunning, "progress": 0, "started_at": now(), "error": ""})
}

func (db *DB) SetExportProgress(ctx context.Context, workspaceID, id int64, progress int) error {
	progress = max(0, min(progress, 100))
	err := db.write(ctx).Model(&exportRow{}).Where("id = ? AND workspace_id = ? AND status = ?", id, workspaceID, chat.ExportRunning).
		Updates(map[string]any{"progress": progress, "updated_at": now()}).Error
	return dbError(err, "set export progress", "export")
}

func (db *DB) FinishExport(ctx context.Context, workspaceID, id int64, f chat.ExportFile) error {
	if f.StorageKey == "" || f.FileName == "" {
		return invalid("a finished export needs a file")
	}
	_, err := db.updateExport(ctx, workspaceID, id, []string{chat.ExportRunning}, map[string]any{
		"status": chat.ExportReady, "progress": 100, "storage_key": f.StorageKey, "file_name": f.FileName,
		"content_type": f.ContentType, "size": f.Size, "expires_at": utc(f.ExpiresAt), "finished_at": now(),
	})
	return err
}

func (db *DB) FailExport(ctx context.Context, workspaceID, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = "export failed"
	}
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	_, err := db.updateExport(ctx, workspaceID, id, []string{chat.ExportPending, chat.ExportRunning},
		map[string]any{"status": chat.ExportFailed, "error": reason, "finished_at": now()})
	return err
}

func (db *DB) CreateExportLink(ctx context.Context, workspaceID, exportID int64, tokenHash string, expires time.Time) error {
	if len(tokenHash) != 64 {
		return invalid("token hash must be sha256 hex")
	}
	return db.tx(ctx, func(tx *gorm.DB) error {
		var row exportRow
		if err := tx.Where("id = ? AND workspace_id = ?", exportID, workspaceID).Take(&row).Error; err != nil {
			return dbError(err, "find export", "export")
		}
		t := now()
		if row.Status != chat.ExportReady || row.StorageKey == "" || row.ExpiresAt == nil || !row.ExpiresAt.After(t) {
			return chat.Errorf(chat.ECONFLICT, "export has no file to download")
		}
		expires = utc(expires)
		if expires.After(*row.ExpiresAt) {
			expires = row.ExpiresAt.UTC()
		}
		link := exportLinkRow{TokenHash: tokenHash, ExportID: exportID, ExpiresAt: expires, CreatedAt: t}
		return dbError(tx.Create(&link).Error, "create export link", "export link")
	})
}

func (db *DB) ExportByLink(ctx context.Context, exportID int64, tokenHash string) (*chat.Export, error) {
	gone := chat.Errorf(chat.ENOTFOUND, "download link not found or expired")
	var link exportLinkRow
	err := db.read(ctx).Where("token_hash = ? AND export_id = ?", tokenHash, exportID).Take(&link).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, gone
	} else if err != nil {
		return nil, dbError(err, "find export link", "export link")
	}
	t := now()
	if !link.ExpiresAt.After(t) {
		return nil, gone
	}
	var row exportRow
	if err := db.read(ctx).Where("id = ?", exportID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find export", "export")
	}
	if row.Status != chat.ExportReady || row.StorageKey == "" || row.ExpiresAt == nil || !row.ExpiresAt.After(t) {
		return nil, gone
	}
	return row.chat(), nil
}

func (db *DB) ExpiredExports(ctx context.Context, t time.Time, limit int) ([]*chat.Export, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	var rows []exportRow
	err := db.read(ctx).Where("storage_key <> '' AND expires_at < ?", utc(t)).Order("expires_at, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "list expired exports", "export")
	}
	out := make([]*chat.Export, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

func (db *DB) PurgeExport(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&exportRow{}).Where("id = ?", id).Updates(map[string]any{"storage_key": "", "updated_at": now()}).Error; err != nil {
			return dbError(err, "purge export", "export")
		}
		// This export's links, and any other expired link while we are here.
		err := tx.Where("export_id = ? OR expires_at < ?", id, now()).Delete(&exportLinkRow{}).Error
		return dbError(err, "purge export links", "export link")
	})
}

// exportQuery selects what the inbox list would, minus text search and cursor.
func (db *DB) exportQuery(ctx context.Context, workspaceID int64, f chat.ConversationFilter) (*gorm.DB, error) {
	return db.filterConversations(db.read(ctx).Model(&conversationRow{}), workspaceID, f)
}

func (db *DB) ExportConversations(ctx context.Context, workspaceID int64, f chat.ConversationFilter, afterID int64, limit int) ([]*chat.Conversation, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q, err := db.exportQuery(ctx, workspaceID, f)
	if err != nil {
		return nil, err
	}
	var rows []conversationRow
	if err := q.Where("id > ?", afterID).Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, dbError(err, "list conversations to export", "conversation")
	}
	out := make([]*chat.Conversation, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

func (db *DB) CountConversations(ctx context.Context, workspaceID int64, f chat.ConversationFilter) (int64, error) {
	q, err := db.exportQuery(ctx, workspaceID, f)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, dbError(err, "count conversations to export", "conversation")
	}
	return n, nil
}
