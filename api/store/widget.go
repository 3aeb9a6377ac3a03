package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// VerifiedVisitor finds the verified visitor of a site with an external id
// (ENOTFOUND when there is none). Unverified visitors are never returned, so
// an unverified identify() can never take over a verified visitor.
func (db *DB) VerifiedVisitor(ctx context.Context, siteID int64, externalID string) (*chat.Visitor, error) {
	if externalID == "" {
		return nil, notFound("visitor")
	}
	var row visitorRow
	err := db.read(ctx).Where("site_id = ? AND external_id = ? AND verified = ?", siteID, externalID, true).
		Order("id").Take(&row).Error
	if err != nil {
		return nil, dbError(err, "find verified visitor", "visitor")
	}
	return row.chat(), nil
}

// RateConversation stores the visitor's rating of a closed conversation and
// writes a rating.submitted outbox row. Rating again replaces the rating.
func (db *DB) RateConversation(ctx context.Context, workspaceID, conversationID, visitorID int64, score int, comment string) (*chat.Conversation, error) {
	if score < 1 || score > 5 {
		return nil, invalid("score must be from 1 to 5")
	}
	comment = strings.TrimSpace(comment)
	if len(comment) > 2000 {
		return nil, invalid("comment must be at most 2000 characters")
	}
	var conv *conversationRow
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var row conversationRow
		err := db.forUpdate(tx).Where("id = ? AND workspace_id = ? AND visitor_id = ?", conversationID, workspaceID, visitorID).Take(&row).Error
		if err != nil {
			return dbError(err, "find conversation", "conversation")
		}
		if row.Status != chat.ConvClosed {
			return chat.Errorf(chat.ECONFLICT, "only a closed conversation can be rated")
		}
		t := now()
		if err := tx.Model(&conversationRow{}).Where("id = ?", row.ID).
			Updates(map[string]any{"rating": score, "rating_comment": comment, "rated_at": t, "updated_at": t}).Error; err != nil {
			return dbError(err, "rate conversation", "conversation")
		}
		if err := addOutbox(tx, workspaceID, chat.EventRatingSubmitted, map[string]any{
			"conversation_id": row.ID, "workspace_id": workspaceID, "score": score, "comment": comment}); err != nil {
			return err
		}
		conv, err = reload(tx, row.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return conv.chat(), nil
}

// AddOutboxEvent records work that must happen (a transcript email, say)
// when no other change carries it.
func (db *DB) AddOutboxEvent(ctx context.Context, workspaceID int64, topic string, payload map[string]any) error {
	if topic == "" {
		return invalid("outbox topic is required")
	}
	return db.tx(ctx, func(tx *gorm.DB) error { return addOutbox(tx, workspaceID, topic, payload) })
}

// UpdateSite saves a site's name, allowed origins, identity settings and
// widget settings. The public key never changes.
func (db *DB) UpdateSite(ctx context.Context, s *chat.Site) error {
	if s.AllowedOrigins == nil {
		s.AllowedOrigins = []string{}
	}
	res := db.write(ctx).Model(&siteRow{}).Where("id = ? AND workspace_id = ?", s.ID, s.WorkspaceID).Updates(map[string]any{
		"name":              strings.TrimSpace(s.Name),
		"allowed_origins":   encodeJSON(s.AllowedOrigins),
		"identity_secret":   s.IdentitySecret,
		"identity_required": s.IdentityRequired,
		"settings":          encodeJSON(s.Settings),
	})
	if res.Error != nil {
		return dbError(res.Error, "update site", "site")
	} else if res.RowsAffected == 0 {
		return notFound("site")
	}
	return nil
}
