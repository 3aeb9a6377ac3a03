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

func validRole(r string) bool { return r == chat.RoleAdmin || r == chat.RoleAgent }

func validAgentStatus(s string) bool {
	return s == chat.StatusOnline || s == chat.StatusAway || s == chat.StatusOffline
}

// CreateAgent stores a and fills in its ID and CreatedAt. An empty Role means
// agent and an empty Status offline.
func (db *DB) CreateAgent(ctx context.Context, a *chat.Agent) error {
	a.Email = strings.TrimSpace(a.Email)
	if a.Email == "" || !strings.Contains(a.Email, "@") || len(a.Email) > 254 {
		return invalid("a valid email address is required")
	}
	if a.Role == "" {
		a.Role = chat.RoleAgent
	}
	if a.Status == "" {
		a.Status = chat.StatusOffline
	}
	switch {
	case !validRole(a.Role):
		return invalid("unknown role %q", a.Role)
	case !validAgentStatus(a.Status):
		return invalid("unknown agent status %q", a.Status)
	case a.Capacity < 0:
		return invalid("capacity must not be negative")
	}
	if err := db.workspaceExists(ctx, a.WorkspaceID); err != nil {
		return err
	}
	row := agentRow{
		WorkspaceID:  a.WorkspaceID,
		Email:        a.Email,
		Name:         strings.TrimSpace(a.Name),
		Role:         a.Role,
		Status:       a.Status,
		Capacity:     a.Capacity,
		Active:       a.Active,
		PasswordHash: a.PasswordHash,
		CreatedAt:    now(),
	}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return dbError(err, "create agent", "agent with this email")
	}
	a.ID, a.Name, a.CreatedAt = row.ID, row.Name, row.CreatedAt
	if a.TeamIDs == nil {
		a.TeamIDs = []int64{}
	}
	return nil
}

// agents maps rows and fills in their team ids with one query.
func agents(tx *gorm.DB, rows []agentRow) ([]*chat.Agent, error) {
	out := make([]*chat.Agent, len(rows))
	byID := make(map[int64]*chat.Agent, len(rows))
	ids := make([]int64, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
		byID[rows[i].ID] = out[i]
		ids[i] = rows[i].ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var members []teamMemberRow
	if err := tx.Where("agent_id IN ?", ids).Order("team_id").Find(&members).Error; err != nil {
		return nil, dbError(err, "list team members", "team member")
	}
	for _, m := range members {
		byID[m.AgentID].TeamIDs = append(byID[m.AgentID].TeamIDs, m.TeamID)
	}
	return out, nil
}

func agent(tx *gorm.DB, row agentRow) (*chat.Agent, error) {
	list, err := agents(tx, []agentRow{row})
	if err != nil {
		return nil, err
	}
	return list[0], nil
}

func (db *DB) Agent(ctx context.Context, workspaceID, agentID int64) (*chat.Agent, error) {
	var row agentRow
	tx := db.read(ctx)
	if err := tx.Where("id = ? AND workspace_id = ?", agentID, workspaceID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find agent", "agent")
	}
	return agent(tx, row)
}

// AgentByEmail matches case-insensitively (the unique index is on lower(email)).
func (db *DB) AgentByEmail(ctx context.Context, email string) (*chat.Agent, error) {
	var row agentRow
	tx := db.read(ctx)
	if err := tx.Where("lower(email) = lower(?)", strings.TrimSpace(email)).Take(&row).Error; err != nil {
		return nil, dbError(err, "find agent by email", "agent")
	}
	return agent(tx, row)
}

func (db *DB) ListAgents(ctx context.Context, workspaceID int64) ([]*chat.Agent, error) {
	var rows []agentRow
	tx := db.read(ctx)
	if err := tx.Where("workspace_id = ?", workspaceID).Order("id").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list agents", "agent")
	}
	return agents(tx, rows)
}

func (db *DB) SetAgentPassword(ctx context.Context, agentID int64, passwordHash string) error {
	res := db.write(ctx).Model(&agentRow{}).Where("id = ?", agentID).Update("password_hash", passwordHash)
	if res.Error != nil {
		return dbError(res.Error, "set agent password", "agent")
	} else if res.RowsAffected == 0 {
		return notFound("agent")
	}
	return nil
}

func (db *DB) SetAgentStatus(ctx context.Context, workspaceID, agentID int64, status string) error {
	if !validAgentStatus(status) {
		return invalid("unknown agent status %q", status)
	}
	res := db.write(ctx).Model(&agentRow{}).Where("id = ? AND workspace_id = ?", agentID, workspaceID).
		Updates(map[string]any{"status": status, "status_since": statusSince(status)})
	if res.Error != nil {
		return dbError(res.Error, "set agent status", "agent")
	} else if res.RowsAffected == 0 {
		return notFound("agent")
	}
	return nil
}

// statusSince keeps an agent's status_since when the status does not change
// and restarts it when it does.
func statusSince(status string) clause.Expr {
	return gorm.Expr("CASE WHEN status = ? THEN status_since ELSE ? END", status, now())
}

// CreateTeam stores t and fills in its ID and CreatedAt. Team names are unique
// within a workspace (ECONFLICT).
func (db *DB) CreateTeam(ctx context.Context, t *chat.Team) error {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		return invalid("team name is required")
	}
	if err := db.workspaceExists(ctx, t.WorkspaceID); err != nil {
		return err
	}
	if t.Policy != "" && t.Policy != chat.PolicyRoundRobin && t.Policy != chat.PolicyLeastBusy {
		return invalid("unknown routing policy %q", t.Policy)
	}
	// New teams take part in automatic assignment; it is turned off by update.
	row := teamRow{WorkspaceID: t.WorkspaceID, Name: t.Name, Policy: t.Policy, AutoAssign: true, CreatedAt: now()}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return dbError(err, "create team", "team with this name")
	}
	t.ID, t.CreatedAt, t.AutoAssign = row.ID, row.CreatedAt, true
	return nil
}

// AddTeamMember is idempotent: adding a member twice is not an error.
func (db *DB) AddTeamMember(ctx context.Context, workspaceID, teamID, agentID int64) error {
	return db.tx(ctx, func(tx *gorm.DB) error {
		if err := inWorkspace(tx, &teamRow{}, workspaceID, teamID, "team"); err != nil {
			return err
		}
		if err := inWorkspace(tx, &agentRow{}, workspaceID, agentID, "agent"); err != nil {
			return err
		}
		row := teamMemberRow{TeamID: teamID, AgentID: agentID, CreatedAt: now()}
		err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
		return dbError(err, "add team member", "team member")
	})
}

// inWorkspace reports ENOTFOUND unless the row of model with id belongs to
// the workspace.
func inWorkspace(tx *gorm.DB, model any, workspaceID, id int64, what string) error {
	var n int64
	if err := tx.Model(model).Where("id = ? AND workspace_id = ?", id, workspaceID).Count(&n).Error; err != nil {
		return dbError(err, "find "+what, what)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}

func unauthorized() error { return chat.Errorf(chat.EUNAUTHORIZED, "invalid or expired credentials") }

func (db *DB) CreateAgentSession(ctx context.Context, agentID int64, tokenHash, csrfToken string, expires time.Time) (*chat.AgentSession, error) {
	if tokenHash == "" || csrfToken == "" {
		return nil, invalid("session token hash and CSRF token are required")
	}
	row := agentSessionRow{AgentID: agentID, TokenHash: tokenHash, CSRFToken: csrfToken, ExpiresAt: utc(expires), CreatedAt: now()}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", agentID).Take(&agentRow{}).Error; err != nil {
			return dbError(err, "find agent", "agent")
		}
		return dbError(tx.Create(&row).Error, "create agent session", "session")
	})
	if err != nil {
		return nil, err
	}
	return row.chat(), nil
}

// activeAgent loads an agent for authentication: anything missing or
// inactive is EUNAUTHORIZED.
func activeAgent(tx *gorm.DB, agentID int64) (*chat.Agent, error) {
	var row agentRow
	if err := tx.Where("id = ?", agentID).Take(&row).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, unauthorized()
	} else if err != nil {
		return nil, dbError(err, "find agent", "agent")
	}
	if !row.Active {
		return nil, unauthorized()
	}
	return agent(tx, row)
}

func (db *DB) AgentBySession(ctx context.Context, tokenHash string) (*chat.Agent, *chat.AgentSession, error) {
	var row agentSessionRow
	tx := db.read(ctx)
	if err := tx.Where("token_hash = ?", tokenHash).Take(&row).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, unauthorized()
	} else if err != nil {
		return nil, nil, dbError(err, "find agent session", "session")
	}
	if !row.ExpiresAt.After(time.Now()) {
		return nil, nil, unauthorized()
	}
	a, err := activeAgent(tx, row.AgentID)
	if err != nil {
		return nil, nil, err
	}
	return a, row.chat(), nil
}

// DeleteAgentSession is idempotent: deleting an unknown session is not an error.
func (db *DB) DeleteAgentSession(ctx context.Context, tokenHash string) error {
	err := db.write(ctx).Where("token_hash = ?", tokenHash).Delete(&agentSessionRow{}).Error
	return dbError(err, "delete agent session", "session")
}

// CreateAPIToken stores t under tokenHash and fills in its ID and CreatedAt;
// the agent must belong to t.WorkspaceID.
func (db *DB) CreateAPIToken(ctx context.Context, t *chat.APIToken, tokenHash string) error {
	if tokenHash == "" {
		return invalid("token hash is required")
	}
	row := apiTokenRow{WorkspaceID: t.WorkspaceID, AgentID: t.AgentID, Name: strings.TrimSpace(t.Name), TokenHash: tokenHash, CreatedAt: now()}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := inWorkspace(tx, &agentRow{}, t.WorkspaceID, t.AgentID, "agent"); err != nil {
			return err
		}
		return dbError(tx.Create(&row).Error, "create API token", "API token")
	})
	if err != nil {
		return err
	}
	t.ID, t.Name, t.CreatedAt, t.LastUsedAt = row.ID, row.Name, row.CreatedAt, nil
	return nil
}

// apiTokenTouchEvery limits last_used_at updates to one per token per minute,
// so a busy script does not turn every request into a write.
const apiTokenTouchEvery = time.Minute

func (db *DB) AgentByAPIToken(ctx context.Context, tokenHash string) (*chat.Agent, error) {
	var row apiTokenRow
	if err := db.read(ctx).Where("token_hash = ?", tokenHash).Take(&row).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, unauthorized()
	} else if err != nil {
		return nil, dbError(err, "find API token", "API token")
	}
	a, err := activeAgent(db.read(ctx), row.AgentID)
	if err != nil {
		return nil, err
	}
	if t := now(); row.LastUsedAt == nil || t.Sub(*row.LastUsedAt) >= apiTokenTouchEvery {
		// Best effort: failing to record the use must not fail the request.
		_ = db.write(ctx).Model(&apiTokenRow{}).Where("id = ?", row.ID).Update("last_used_at", t).Error
	}
	return a, nil
}

func (db *DB) CreateSetPasswordToken(ctx context.Context, agentID int64, tokenHash string, expires time.Time) error {
	if tokenHash == "" {
		return invalid("token hash is required")
	}
	return db.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", agentID).Take(&agentRow{}).Error; err != nil {
			return dbError(err, "find agent", "agent")
		}
		row := setPasswordTokenRow{AgentID: agentID, TokenHash: tokenHash, ExpiresAt: utc(expires), CreatedAt: now()}
		return dbError(tx.Create(&row).Error, "create set-password token", "token")
	})
}

// ConsumeSetPasswordToken deletes the token and sets the password in one
// transaction; of two concurrent uses of a token only one succeeds.
func (db *DB) ConsumeSetPasswordToken(ctx context.Context, tokenHash, passwordHash string) (*chat.Agent, error) {
	if passwordHash == "" {
		return nil, invalid("password hash is required")
	}
	var a *chat.Agent
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var tok setPasswordTokenRow
		if err := db.forUpdate(tx).Where("token_hash = ?", tokenHash).Take(&tok).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return unauthorized()
		} else if err != nil {
			return dbError(err, "find set-password token", "token")
		}
		if !tok.ExpiresAt.After(time.Now()) {
			return unauthorized()
		}
		res := tx.Where("id = ?", tok.ID).Delete(&setPasswordTokenRow{})
		if res.Error != nil {
			return dbError(res.Error, "delete set-password token", "token")
		} else if res.RowsAffected == 0 {
			return unauthorized() // consumed concurrently
		}
		if err := tx.Model(&agentRow{}).Where("id = ?", tok.AgentID).Update("password_hash", passwordHash).Error; err != nil {
			return dbError(err, "set agent password", "agent")
		}
		var row agentRow
		if err := tx.Where("id = ?", tok.AgentID).Take(&row).Error; err != nil {
			return dbError(err, "find agent", "agent")
		}
		var err error
		a, err = agent(tx, row)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}
