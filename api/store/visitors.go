package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// CreateVisitor stores v and fills in its ID, CreatedAt and, when zero,
// LastSeenAt. The site must belong to v.WorkspaceID.
func (db *DB) CreateVisitor(ctx context.Context, v *chat.Visitor) error {
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	t := now()
	if v.LastSeenAt.IsZero() {
		v.LastSeenAt = t
	}
	row := visitorRow{
		WorkspaceID: v.WorkspaceID,
		SiteID:      v.SiteID,
		ExternalID:  v.ExternalID,
		Verified:    v.Verified,
		Name:        v.Name,
		Email:       v.Email,
		Attributes:  encodeJSON(v.Attributes),
		LastPage:    v.LastPage,
		UserAgent:   v.UserAgent,
		Locale:      v.Locale,
		LastSeenAt:  utc(v.LastSeenAt),
		CreatedAt:   t,
	}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := inWorkspace(tx, &siteRow{}, v.WorkspaceID, v.SiteID, "site"); err != nil {
			return err
		}
		return dbError(tx.Create(&row).Error, "create visitor", "visitor")
	})
	if err != nil {
		return err
	}
	v.ID, v.LastSeenAt, v.CreatedAt = row.ID, row.LastSeenAt, row.CreatedAt
	return nil
}

func (db *DB) Visitor(ctx context.Context, workspaceID, visitorID int64) (*chat.Visitor, error) {
	var row visitorRow
	if err := db.read(ctx).Where("id = ? AND workspace_id = ?", visitorID, workspaceID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find visitor", "visitor")
	}
	return row.chat(), nil
}

// UpdateVisitor saves the mutable fields of v, found by v.ID within
// v.WorkspaceID. A zero LastSeenAt leaves the stored one unchanged. It
// overwrites every field; handlers that change a few fields of a visitor
// other requests may be changing at the same time use EditVisitor.
func (db *DB) UpdateVisitor(ctx context.Context, v *chat.Visitor) error {
	return saveVisitor(db.write(ctx), v)
}

// EditVisitor reads the visitor under a row lock, lets edit change it and
// saves it in the same transaction, so two requests changing different
// fields (the page tracker and setAttributes, say) never undo each other.
func (db *DB) EditVisitor(ctx context.Context, workspaceID, visitorID int64, edit func(v *chat.Visitor) error) (*chat.Visitor, error) {
	var v *chat.Visitor
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var row visitorRow
		if err := db.forUpdate(tx).Where("id = ? AND workspace_id = ?", visitorID, workspaceID).Take(&row).Error; err != nil {
			return dbError(err, "find visitor", "visitor")
		}
		v = row.chat()
		if err := edit(v); err != nil {
			return err
		}
		v.ID, v.WorkspaceID = row.ID, row.WorkspaceID
		return saveVisitor(tx, v)
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

func saveVisitor(tx *gorm.DB, v *chat.Visitor) error {
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	fields := map[string]any{
		"name":        v.Name,
		"email":       v.Email,
		"external_id": v.ExternalID,
		"verified":    v.Verified,
		"attributes":  encodeJSON(v.Attributes),
		"last_page":   v.LastPage,
		"user_agent":  v.UserAgent,
		"locale":      v.Locale,
	}
	if !v.LastSeenAt.IsZero() {
		v.LastSeenAt = utc(v.LastSeenAt)
		fields["last_seen_at"] = v.LastSeenAt
	}
	res := tx.Model(&visitorRow{}).Where("id = ? AND workspace_id = ?", v.ID, v.WorkspaceID).Updates(fields)
	if res.Error != nil {
		return dbError(res.Error, "update visitor", "visitor")
	} else if res.RowsAffected == 0 {
		return notFound("visitor")
	}
	return nil
}

// CreateVisitorSession stores a widget session; the visitor must belong to
// the site.
func (db *DB) CreateVisitorSession(ctx context.Context, visitorID, siteID int64, tokenHash string, expires time.Time) (*chat.VisitorSession, error) {
	if tokenHash == "" {
		return nil, invalid("token hash is required")
	}
	row := visitorSessionRow{VisitorID: visitorID, SiteID: siteID, TokenHash: tokenHash, ExpiresAt: utc(expires), CreatedAt: now()}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&visitorRow{}).Where("id = ? AND site_id = ?", visitorID, siteID).Count(&n).Error; err != nil {
			return dbError(err, "find visitor", "visitor")
		} else if n == 0 {
			return notFound("visitor")
		}
		return dbError(tx.Create(&row).Error, "create visitor session", "session")
	})
	if err != nil {
		return nil, err
	}
	return row.chat(), nil
}

func (db *DB) VisitorBySession(ctx context.Context, tokenHash string) (*chat.Visitor, *chat.VisitorSession, error) {
	var s visitorSessionRow
	tx := db.read(ctx)
	if err := tx.Where("token_hash = ?", tokenHash).Take(&s).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, unauthorized()
	} else if err != nil {
		return nil, nil, dbError(err, "find visitor session", "session")
	}
	if !s.ExpiresAt.After(time.Now()) {
		return nil, nil, unauthorized()
	}
	var v visitorRow
	if err := tx.Where("id = ?", s.VisitorID).Take(&v).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, unauthorized()
	} else if err != nil {
		return nil, nil, dbError(err, "find visitor", "visitor")
	}
	return v.chat(), s.chat(), nil
}
