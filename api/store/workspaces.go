package store

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/switchboard-chat/switchboard/api/chat"
)

func (db *DB) CreateWorkspace(ctx context.Context, name string) (*chat.Workspace, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, invalid("workspace name is required")
	}
	row := workspaceRow{Name: name, Routing: "{}", CreatedAt: now()}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return nil, dbError(err, "create workspace", "workspace")
	}
	return row.chat(), nil
}

// workspaceExists reports ENOTFOUND for an unknown workspace, so that creating
// something in it fails with a clear error rather than a foreign key one.
func (db *DB) workspaceExists(ctx context.Context, id int64) error {
	var n int64
	if err := db.read(ctx).Model(&workspaceRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return dbError(err, "find workspace", "workspace")
	}
	if n == 0 {
		return notFound("workspace")
	}
	return nil
}

// CreateSite stores s and fills in its ID, CreatedAt and, when empty, a
// random PublicKey.
func (db *DB) CreateSite(ctx context.Context, s *chat.Site) error {
	if err := db.workspaceExists(ctx, s.WorkspaceID); err != nil {
		return err
	}
	if s.PublicKey == "" {
		s.PublicKey = "pk_" + strings.ToLower(rand.Text())
	}
	if s.AllowedOrigins == nil {
		s.AllowedOrigins = []string{}
	}
	row := siteRow{
		WorkspaceID:      s.WorkspaceID,
		Name:             strings.TrimSpace(s.Name),
		PublicKey:        s.PublicKey,
		AllowedOrigins:   encodeJSON(s.AllowedOrigins),
		IdentitySecret:   s.IdentitySecret,
		IdentityRequired: s.IdentityRequired,
		Settings:         encodeJSON(s.Settings),
		CreatedAt:        now(),
	}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return dbError(err, "create site", "site with this public key")
	}
	s.ID, s.Name, s.CreatedAt = row.ID, row.Name, row.CreatedAt
	return nil
}

func (db *DB) SiteByKey(ctx context.Context, publicKey string) (*chat.Site, error) {
	var row siteRow
	if err := db.read(ctx).Where("public_key = ?", publicKey).Take(&row).Error; err != nil {
		return nil, dbError(err, "find site by key", "site")
	}
	return row.chat(), nil
}

func (db *DB) Site(ctx context.Context, workspaceID, siteID int64) (*chat.Site, error) {
	var row siteRow
	if err := db.read(ctx).Where("id = ? AND workspace_id = ?", siteID, workspaceID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find site", "site")
	}
	return row.chat(), nil
}

func (db *DB) ListSites(ctx context.Context, workspaceID int64) ([]*chat.Site, error) {
	var rows []siteRow
	if err := db.read(ctx).Where("workspace_id = ?", workspaceID).Order("id").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list sites", "site")
	}
	out := make([]*chat.Site, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}
