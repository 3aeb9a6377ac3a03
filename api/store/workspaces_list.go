package store

import (
	"context"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// ListWorkspaces returns every workspace, oldest first (for admin commands).
func (db *DB) ListWorkspaces(ctx context.Context) ([]*chat.Workspace, error) {
	var rows []workspaceRow
	if err := db.read(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list workspaces", "workspace")
	}
	out := make([]*chat.Workspace, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}
