package store

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// What the agent console adds to the store: workspace settings, agent
// updates and invitations, password resets, teams, API tokens, page
// history, claiming, inbox counts, saved filters, canned responses and the
// label catalogue.

// Limits of the console's objects.
const (
	maxSavedFilters    = 50  // per agent
	maxTeamsPerAgent   = 50  // team_ids of one agent
	maxMentions        = 20  // agents mentioned in one note
	keptPageViews      = 100 // per visitor; older page views are deleted
	maxResetsPerHour   = 5   // password-reset links per agent per hour
	maxNameLen         = 100 // team, filter, token and workspace names
	maxCannedTitleLen  = 200
	maxPageURLLen      = 2048
	maxPageTitleLen    = 300
	minRetentionDays   = 7
	maxRetentionDays   = 3650
	maxTimezoneNameLen = 64
)

var cannedShortcut = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// ---- workspace ----

func (db *DB) Workspace(ctx context.Context, id int64) (*chat.Workspace, error) {
	var row workspaceRow
	if err := db.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, dbError(err, "find workspace", "workspace")
	}
	return row.chat(), nil
}

// UpdateWorkspace saves w's name and retention (0 = keep forever, else
// 7..3650 days).
func (db *DB) UpdateWorkspace(ctx context.Context, w *chat.Workspace) error {
	w.Name = strings.TrimSpace(w.Name)
	switch {
	case w.Name == "" || utf8.RuneCountInString(w.Name) > maxNameLen:
		return invalid("workspace name must have 1 to %d characters", maxNameLen)
	case w.RetentionDays != 0 && (w.RetentionDays < minRetentionDays || w.RetentionDays > maxRetentionDays):
		return invalid("retention_days must be 0 (keep forever) or %d to %d", minRetentionDays, maxRetentionDays)
	}
	res := db.write(ctx).Model(&workspaceRow{}).Where("id = ?", w.ID).
		Updates(map[string]any{"name": w.Name, "retention_days": w.RetentionDays})
	if res.Error != nil {
		return dbError(res.Error, "update workspace", "workspace")
	} else if res.RowsAffected == 0 {
		return notFound("workspace")
	}
	return nil
}

// ---- agents ----

// teamsInWorkspace checks that every id names a team of the workspace and
// returns them without duplicates.
func teamsInWorkspace(tx *gorm.DB, workspaceID int64, ids []int64) ([]int64, error) {
	ids = uniqueIDs(ids)
	if len(ids) > maxTeamsPerAgent {
		return nil, invalid("at most %d teams", maxTeamsPerAgent)
	}
	if len(ids) == 0 {
		return []int64{}, nil
	}
	var found []int64
	if err := tx.Model(&teamRow{}).Where("workspace_id = ? AND id IN ?", workspaceID, ids).Pluck("id", &found).Error; err != nil {
		return nil, dbError(err, "find teams", "team")
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			return nil, invalid("team %d does not exist", id)
		}
	}
	return ids, nil
}

func setTeams(tx *gorm.DB, agentID int64, teamIDs []int64) error {
	if err := tx.Where("agent_id = ?", agentID).Delete(&teamMemberRow{}).Error; err != nil {
		return dbError(err, "clear team memberships", "team member")
	}
	t := now()
	for _, id := range teamIDs {
		if err := tx.Create(&teamMemberRow{TeamID: id, AgentID: agentID, CreatedAt: t}).Error; err != nil {
			return dbError(err, "add team member", "team member")
		}
	}
	return nil
}

// UpdateAgent applies u to an agent of the workspace in one transaction.
// Deactivating deletes the agent's sessions and API tokens and sets their
// status to offline, so no credential of theirs works after the commit.
func (db *DB) UpdateAgent(ctx context.Context, workspaceID, agentID int64, u chat.AgentUpdate) (*chat.Agent, error) {
	fields := map[string]any{}
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		if name == "" || utf8.RuneCountInString(name) > maxNameLen {
			return nil, invalid("name must have 1 to %d characters", maxNameLen)
		}
		fields["name"] = name
	}
	if u.Role != nil {
		if !validRole(*u.Role) {
			return nil, invalid("role must be admin or agent")
		}
		fields["role"] = *u.Role
	}
	if u.Capacity != nil {
		if *u.Capacity < 0 {
			return nil, invalid("capacity must not be negative")
		}
		fields["capacity"] = *u.Capacity
	}
	if u.Timezone != nil {
		if len(*u.Timezone) > maxTimezoneNameLen {
			return nil, invalid("timezone is too long")
		}
		fields["timezone"] = *u.Timezone
	}
	if u.Preferences != nil {
		fields["preferences"] = encodeJSON(*u.Preferences)
	}
	if u.Active != nil {
		fields["active"] = *u.Active
		if !*u.Active {
			fields["status"], fields["status_since"] = chat.StatusOffline, statusSince(chat.StatusOffline)
		}
	}
	var out *chat.Agent
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var row agentRow
		if err := db.forUpdate(tx).Where("id = ? AND workspace_id = ?", agentID, workspaceID).Take(&row).Error; err != nil {
			return dbError(err, "find agent", "agent")
		}
		if u.TeamIDs != nil {
			ids, err := teamsInWorkspace(tx, workspaceID, u.TeamIDs)
			if err != nil {
				return err
			}
			if err := setTeams(tx, agentID, ids); err != nil {
				return err
			}
		}
		if len(fields) > 0 {
			if err := tx.Model(&agentRow{}).Where("id = ?", agentID).Updates(fields).Error; err != nil {
				return dbError(err, "update agent", "agent")
			}
		}
		if u.Active != nil && !*u.Active {
			if err := tx.Where("agent_id = ?", agentID).Delete(&agentSessionRow{}).Error; err != nil {
				return dbError(err, "end agent sessions", "session")
			}
			if err := tx.Where("agent_id = ?", agentID).Delete(&apiTokenRow{}).Error; err != nil {
				return dbError(err, "revoke API tokens", "API token")
			}
		}
		if err := tx.Where("id = ?", agentID).Take(&row).Error; err != nil {
			return dbError(err, "reload agent", "agent")
		}
		var err error
		out, err = agent(tx, row)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// withAgentID copies payload and adds the agent's id.
func withAgentID(payload map[string]any, agentID int64) map[string]any {
	out := maps.Clone(payload)
	if out == nil {
		out = map[string]any{}
	}
	out["agent_id"] = agentID
	return out
}

// InviteAgent creates the agent (active, offline, no password), its team
// memberships, a set-password token and an agent.invited outbox row in one
// transaction; see chat.ConsoleStore.
func (db *DB) InviteAgent(ctx context.Context, a *chat.Agent, tokenHash string, expires time.Time, payload map[string]any) error {
	a.Email = strings.TrimSpace(a.Email)
	a.Name = strings.TrimSpace(a.Name)
	if a.Role == "" {
		a.Role = chat.RoleAgent
	}
	switch {
	case a.Email == "" || !strings.Contains(a.Email, "@") || len(a.Email) > 254:
		return invalid("a valid email address is required")
	case !validRole(a.Role):
		return invalid("role must be admin or agent")
	case a.Capacity < 0:
		return invalid("capacity must not be negative")
	case tokenHash == "":
		return invalid("token hash is required")
	}
	row := agentRow{
		WorkspaceID: a.WorkspaceID,
		Email:       a.Email,
		Name:        a.Name,
		Role:        a.Role,
		Status:      chat.StatusOffline,
		Capacity:    a.Capacity,
		Active:      true,
		CreatedAt:   now(),
	}
	var out *chat.Agent
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&workspaceRow{}).Where("id = ?", a.WorkspaceID).Count(&n).Error; err != nil {
			return dbError(err, "find workspace", "workspace")
		} else if n == 0 {
			return notFound("workspace")
		}
		teams, err := teamsInWorkspace(tx, a.WorkspaceID, a.TeamIDs)
		if err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return dbError(err, "invite agent", "agent with this email")
		}
		if err := setTeams(tx, row.ID, teams); err != nil {
			return err
		}
		tok := setPasswordTokenRow{AgentID: row.ID, TokenHash: tokenHash, ExpiresAt: utc(expires), CreatedAt: now()}
		if err := tx.Create(&tok).Error; err != nil {
			return dbError(err, "create set-password token", "token")
		}
		if err := addOutbox(tx, a.WorkspaceID, chat.EventAgentInvited, withAgentID(payload, row.ID)); err != nil {
			return err
		}
		if err := tx.Where("id = ?", row.ID).Take(&row).Error; err != nil {
			return dbError(err, "reload agent", "agent")
		}
		out, err = agent(tx, row)
		return err
	})
	if err != nil {
		return err
	}
	*a = *out
	return nil
}

// IssuePasswordReset stores a one-time set-password token for an active
// agent and its password.reset_requested outbox row in one transaction.
// Expired tokens of the agent are swept on the way. More than
// maxResetsPerHour requests in an hour are ERATELIMIT, so nobody can flood
// an inbox through the forgot-password form.
func (db *DB) IssuePasswordReset(ctx context.Context, agentID int64, tokenHash string, expires time.Time, payload map[string]any) error {
	if tokenHash == "" {
		return invalid("token hash is required")
	}
	return db.tx(ctx, func(tx *gorm.DB) error {
		var a agentRow
		if err := db.forUpdate(tx).Where("id = ?", agentID).Take(&a).Error; err != nil {
			return dbError(err, "find agent", "agent")
		}
		if !a.Active {
			return chat.Errorf(chat.EFORBIDDEN, "the agent is deactivated")
		}
		t := now()
		if err := tx.Where("agent_id = ? AND expires_at <= ?", agentID, t).Delete(&setPasswordTokenRow{}).Error; err != nil {
			return dbError(err, "sweep expired tokens", "token")
		}
		var recent int64
		if err := tx.Model(&setPasswordTokenRow{}).Where("agent_id = ? AND created_at > ?", agentID, t.Add(-time.Hour)).Count(&recent).Error; err != nil {
			return dbError(err, "count recent tokens", "token")
		}
		if recent >= maxResetsPerHour {
			return chat.Errorf(chat.ERATELIMIT, "too many password resets; try again later")
		}
		tok := setPasswordTokenRow{AgentID: agentID, TokenHash: tokenHash, ExpiresAt: utc(expires), CreatedAt: t}
		if err := tx.Create(&tok).Error; err != nil {
			return dbError(err, "create set-password token", "token")
		}
		return addOutbox(tx, a.WorkspaceID, chat.EventPasswordReset, withAgentID(payload, agentID))
	})
}

// ---- teams ----

// withMembers fills in the teams' agent ids with one query.
func withMembers(tx *gorm.DB, rows []teamRow) ([]*chat.Team, error) {
	out := make([]*chat.Team, len(rows))
	byID := make(map[int64]*chat.Team, len(rows))
	ids := make([]int64, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
		out[i].AgentIDs = []int64{}
		byID[rows[i].ID] = out[i]
		ids[i] = rows[i].ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var members []teamMemberRow
	if err := tx.Where("team_id IN ?", ids).Order("agent_id").Find(&members).Error; err != nil {
		return nil, dbError(err, "list team members", "team member")
	}
	for _, m := range members {
		byID[m.TeamID].AgentIDs = append(byID[m.TeamID].AgentIDs, m.AgentID)
	}
	return out, nil
}

func (db *DB) TeamsWithMembers(ctx context.Context, workspaceID int64) ([]*chat.Team, error) {
	var rows []teamRow
	tx := db.read(ctx)
	if err := tx.Where("workspace_id = ?", workspaceID).Order("name, id").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list teams", "team")
	}
	return withMembers(tx, rows)
}

func (db *DB) Team(ctx context.Context, workspaceID, teamID int64) (*chat.Team, error) {
	var row teamRow
	tx := db.read(ctx)
	if err := tx.Where("id = ? AND workspace_id = ?", teamID, workspaceID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find team", "team")
	}
	list, err := withMembers(tx, []teamRow{row})
	if err != nil {
		return nil, err
	}
	return list[0], nil
}

// RenameTeam changes a team's name (unique per workspace: ECONFLICT).
func (db *DB) RenameTeam(ctx context.Context, workspaceID, teamID int64, name string) (*chat.Team, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxNameLen {
		return nil, invalid("team name must have 1 to %d characters", maxNameLen)
	}
	res := db.write(ctx).Model(&teamRow{}).Where("id = ? AND workspace_id = ?", teamID, workspaceID).Update("name", name)
	if res.Error != nil {
		return nil, dbError(res.Error, "rename team", "team with this name")
	} else if res.RowsAffected == 0 {
		return nil, notFound("team")
	}
	return db.Team(ctx, workspaceID, teamID)
}

// DeleteTeam deletes a team and its memberships; its conversations keep
// their assignee and lose the team (ON DELETE SET NULL).
func (db *DB) DeleteTeam(ctx context.Context, workspaceID, teamID int64) error {
	res := db.write(ctx).Where("id = ? AND workspace_id = ?", teamID, workspaceID).Delete(&teamRow{})
	if res.Error != nil {
		return dbError(res.Error, "delete team", "team")
	} else if res.RowsAffected == 0 {
		return notFound("team")
	}
	return nil
}

// ---- API tokens ----

func (r *apiTokenRow) apiToken() *chat.APIToken {
	return &chat.APIToken{ID: r.ID, WorkspaceID: r.WorkspaceID, AgentID: r.AgentID, Name: r.Name,
		CreatedAt: r.CreatedAt.UTC(), LastUsedAt: utcPtr(r.LastUsedAt)}
}

func (db *DB) ListAPITokens(ctx context.Context, workspaceID int64) ([]*chat.APIToken, error) {
	var rows []apiTokenRow
	if err := db.read(ctx).Where("workspace_id = ?", workspaceID).Order("id").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list API tokens", "API token")
	}
	out := make([]*chat.APIToken, len(rows))
	for i := range rows {
		out[i] = rows[i].apiToken()
	}
	return out, nil
}

func (db *DB) DeleteAPIToken(ctx context.Context, workspaceID, tokenID int64) error {
	res := db.write(ctx).Where("id = ? AND workspace_id = ?", tokenID, workspaceID).Delete(&apiTokenRow{})
	if res.Error != nil {
		return dbError(res.Error, "delete API token", "API token")
	} else if res.RowsAffected == 0 {
		return notFound("API token")
	}
	return nil
}

// ---- page history ----

// AddPageView records a page and deletes the visitor's page views beyond
// the newest keptPageViews, so a long-lived visitor's history stays small.
func (db *DB) AddPageView(ctx context.Context, workspaceID, visitorID int64, url, title string) error {
	url, title = strings.TrimSpace(url), strings.TrimSpace(title)
	if url == "" {
		return invalid("url is required")
	}
	url, title = truncateRunes(url, maxPageURLLen), truncateRunes(title, maxPageTitleLen)
	return db.tx(ctx, func(tx *gorm.DB) error {
		if err := inWorkspace(tx, &visitorRow{}, workspaceID, visitorID, "visitor"); err != nil {
			return err
		}
		row := pageViewRow{WorkspaceID: workspaceID, VisitorID: visitorID, URL: url, Title: title, CreatedAt: now()}
		if err := tx.Create(&row).Error; err != nil {
			return dbError(err, "record page view", "page view")
		}
		// Everything older than the keptPageViews-th newest row goes. When
		// there are fewer rows the subquery is NULL and nothing matches.
		err := tx.Exec(`DELETE FROM page_views WHERE visitor_id = ? AND id < (
			SELECT id FROM page_views WHERE visitor_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
			visitorID, visitorID, keptPageViews-1).Error
		return dbError(err, "trim page views", "page view")
	})
}

// PageViews returns a visitor's pages, newest first: at most limit
// (default 50, cap keptPageViews).
func (db *DB) PageViews(ctx context.Context, workspaceID, visitorID int64, limit int) ([]*chat.PageView, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, keptPageViews)
	var rows []pageViewRow
	err := db.read(ctx).Where("workspace_id = ? AND visitor_id = ?", workspaceID, visitorID).
		Order("id DESC").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "list page views", "page view")
	}
	out := make([]*chat.PageView, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// truncateRunes cuts s to at most n bytes without splitting a character.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ---- conversations ----

// ClaimConversation assigns an unassigned conversation to agentID; see
// chat.ConsoleStore. The conversation row is locked (SQLite: the database)
// and the update repeats "assignee_id IS NULL" in its WHERE, so of two
// concurrent claims exactly one changes the row and the other gets
// ECONFLICT.
func (db *DB) ClaimConversation(ctx context.Context, workspaceID, conversationID, agentID int64) (*chat.Conversation, *chat.Message, error) {
	var (
		conv *conversationRow
		msg  *messageRow
	)
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var me agentRow
		if err := tx.Where("id = ? AND workspace_id = ?", agentID, workspaceID).Take(&me).Error; err != nil {
			return dbError(err, "find agent", "agent")
		}
		if !me.Active {
			return invalid("agent %s is inactive", me.Email)
		}
		c, err := db.lockConversation(tx, workspaceID, conversationID)
		if err != nil {
			return err
		}
		if c.AssigneeID != nil {
			if *c.AssigneeID == agentID {
				conv = c // already mine: nothing to do
				return nil
			}
			return claimConflict(tx, *c.AssigneeID)
		}
		t := now()
		res := tx.Model(&conversationRow{}).Where("id = ? AND assignee_id IS NULL", c.ID).
			Updates(map[string]any{"assignee_id": agentID, "assigned_at": t, "updated_at": t})
		if res.Error != nil {
			return dbError(res.Error, "claim conversation", "conversation")
		} else if res.RowsAffected == 0 {
			return chat.Errorf(chat.ECONFLICT, "someone else claimed this conversation first")
		}
		name := me.Name
		if name == "" {
			name = me.Email
		}
		if msg, err = systemEvent(tx, c, "Conversation claimed by "+name); err != nil {
			return err
		}
		err = addOutbox(tx, workspaceID, chat.EventConversationAssigned, map[string]any{
			"conversation_id":      c.ID,
			"workspace_id":         workspaceID,
			"assignee_id":          agentID,
			"previous_assignee_id": nil,
			"team_id":              c.TeamID,
			"message_id":           msg.ID,
			"seq":                  msg.Seq,
			"claimed":              true,
		})
		if err != nil {
			return err
		}
		conv, err = reload(tx, c.ID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return conv.chat(), msgOrNil(msg), nil
}

func claimConflict(tx *gorm.DB, holderID int64) error {
	var holder agentRow
	if err := tx.Select("name", "email").Where("id = ?", holderID).Take(&holder).Error; err == nil {
		name := holder.Name
		if name == "" {
			name = holder.Email
		}
		return chat.Errorf(chat.ECONFLICT, "%s already has this conversation", name)
	}
	return chat.Errorf(chat.ECONFLICT, "someone else already has this conversation")
}

// consoleFilters applies the console's inbox filters (my teams, assigned to
// anyone, creation date range) to a conversations query.
func consoleFilters(q *gorm.DB, f chat.ConversationFilter) *gorm.DB {
	if f.TeamIDs != nil {
		if len(f.TeamIDs) == 0 {
			q = q.Where("1 = 0")
		} else {
			q = q.Where("team_id IN ?", f.TeamIDs)
		}
	}
	if f.Assigned {
		q = q.Where("assignee_id IS NOT NULL")
	}
	if f.CreatedFrom != nil {
		q = q.Where("created_at >= ?", utc(*f.CreatedFrom))
	}
	if f.CreatedTo != nil {
		q = q.Where("created_at < ?", utc(*f.CreatedTo))
	}
	return q
}

// ConversationCounts counts the inbox views. Each count equals the length
// of the matching list: unassigned = status=open&assignee=none, mine =
// status=open&assignee=me, my_teams = status=open&team=mine, all =
// status=open, closed = status=closed. The open views are counted in one
// pass over the open conversations, closed ones apart: they pile up for
// ever, and counting them needs nothing but conversations_status. On
// SQLite both parts read only indexes (conversations_assignee_inbox holds
// every column the open counts need).
func (db *DB) ConversationCounts(ctx context.Context, workspaceID, agentID int64, teamIDs []int64) (*chat.ConversationCounts, error) {
	teamCond, args := "1 = 0", []any{agentID}
	if len(teamIDs) > 0 {
		teamCond = "team_id IN ?"
		args = append(args, teamIDs)
	}
	args = append(args, workspaceID, workspaceID)
	var out struct {
		Unassigned, Mine, MyTeams, AllOpen, Closed int64
	}
	// COUNT(*) FILTER (WHERE ...) works in PostgreSQL and SQLite >= 3.30.
	err := db.read(ctx).Raw(`SELECT
		COUNT(*) FILTER (WHERE assignee_id IS NULL) AS unassigned,
		COUNT(*) FILTER (WHERE assignee_id = ?) AS mine,
		COUNT(*) FILTER (WHERE `+teamCond+`) AS my_teams,
		COUNT(*) AS all_open,
		(SELECT COUNT(*) FROM conversations WHERE workspace_id = ? AND status = 'closed') AS closed
		FROM conversations WHERE workspace_id = ? AND status = 'open'`, args...).Scan(&out).Error
	if err != nil {
		return nil, dbError(err, "count conversations", "conversation")
	}
	return &chat.ConversationCounts{Unassigned: out.Unassigned, Mine: out.Mine, MyTeams: out.MyTeams, All: out.AllOpen, Closed: out.Closed}, nil
}

// addMentions writes a mention.created outbox row for each agent a note
// mentions, in the note's transaction. Every mentioned agent must be an
// active agent of the workspace; the author mentioning themselves is
// dropped silently.
func addMentions(tx *gorm.DB, conv *conversationRow, m *messageRow, mentions []int64) error {
	ids := uniqueIDs(mentions)
	if len(ids) == 0 {
		return nil
	}
	switch {
	case m.Kind != chat.KindNote:
		return invalid("only notes can mention agents")
	case len(ids) > maxMentions:
		return invalid("a note can mention at most %d agents", maxMentions)
	}
	var found []int64
	err := tx.Model(&agentRow{}).Where("workspace_id = ? AND active = ? AND id IN ?", conv.WorkspaceID, true, ids).Pluck("id", &found).Error
	if err != nil {
		return dbError(err, "find mentioned agents", "agent")
	}
	for _, id := range ids {
		if !slices.Contains(found, id) {
			return invalid("mentioned agent %d is not an active agent of this workspace", id)
		}
	}
	for _, id := range ids {
		if m.AuthorType == chat.AuthorAgent && id == m.AuthorID {
			continue
		}
		err := addOutbox(tx, conv.WorkspaceID, chat.EventMentionCreated, map[string]any{
			"conversation_id": conv.ID,
			"workspace_id":    conv.WorkspaceID,
			"message_id":      m.ID,
			"seq":             m.Seq,
			"agent_id":        id,
			"by_agent_id":     m.AuthorID,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ---- saved filters ----

func (db *DB) ListSavedFilters(ctx context.Context, workspaceID, agentID int64) ([]*chat.SavedFilter, error) {
	var rows []savedFilterRow
	err := db.read(ctx).Where("workspace_id = ? AND agent_id = ?", workspaceID, agentID).Order("id").Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "list saved filters", "saved filter")
	}
	out := make([]*chat.SavedFilter, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// CreateSavedFilter stores f and fills in its ID and CreatedAt. Names are
// unique per agent (ECONFLICT); an agent keeps at most maxSavedFilters.
func (db *DB) CreateSavedFilter(ctx context.Context, f *chat.SavedFilter) error {
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" || utf8.RuneCountInString(f.Name) > maxNameLen {
		return invalid("filter name must have 1 to %d characters", maxNameLen)
	}
	if f.Query == nil {
		f.Query = map[string]string{}
	}
	row := savedFilterRow{WorkspaceID: f.WorkspaceID, AgentID: f.AgentID, Name: f.Name, Query: encodeJSON(f.Query), CreatedAt: now()}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := inWorkspace(tx, &agentRow{}, f.WorkspaceID, f.AgentID, "agent"); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&savedFilterRow{}).Where("agent_id = ?", f.AgentID).Count(&n).Error; err != nil {
			return dbError(err, "count saved filters", "saved filter")
		} else if n >= maxSavedFilters {
			return invalid("at most %d saved filters", maxSavedFilters)
		}
		return dbError(tx.Create(&row).Error, "create saved filter", "filter with this name")
	})
	if err != nil {
		return err
	}
	f.ID, f.CreatedAt = row.ID, row.CreatedAt
	return nil
}

func (db *DB) DeleteSavedFilter(ctx context.Context, workspaceID, agentID, filterID int64) error {
	res := db.write(ctx).Where("id = ? AND workspace_id = ? AND agent_id = ?", filterID, workspaceID, agentID).Delete(&savedFilterRow{})
	if res.Error != nil {
		return dbError(res.Error, "delete saved filter", "saved filter")
	} else if res.RowsAffected == 0 {
		return notFound("saved filter")
	}
	return nil
}

// ---- canned responses ----

func validateCanned(r *chat.CannedResponse) error {
	r.Shortcut = strings.TrimSpace(r.Shortcut)
	r.Title = strings.TrimSpace(r.Title)
	switch {
	case !cannedShortcut.MatchString(r.Shortcut):
		return invalid("shortcut must be 1 to 32 of a-z, 0-9, _ and -")
	case utf8.RuneCountInString(r.Title) > maxCannedTitleLen:
		return invalid("title must be at most %d characters", maxCannedTitleLen)
	case !utf8.ValidString(r.Body) || strings.TrimSpace(r.Body) == "":
		return invalid("body is required")
	case utf8.RuneCountInString(r.Body) > chat.MaxBodyLen:
		return invalid("body must be at most %d characters", chat.MaxBodyLen)
	}
	return nil
}

func (db *DB) ListCanned(ctx context.Context, workspaceID int64) ([]*chat.CannedResponse, error) {
	var rows []cannedRow
	if err := db.read(ctx).Where("workspace_id = ?", workspaceID).Order("shortcut").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list canned responses", "canned response")
	}
	out := make([]*chat.CannedResponse, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

func (db *DB) Canned(ctx context.Context, workspaceID, id int64) (*chat.CannedResponse, error) {
	var row cannedRow
	if err := db.read(ctx).Where("id = ? AND workspace_id = ?", id, workspaceID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find canned response", "canned response")
	}
	return row.chat(), nil
}

func (db *DB) CreateCanned(ctx context.Context, r *chat.CannedResponse) error {
	if err := validateCanned(r); err != nil {
		return err
	}
	if err := db.workspaceExists(ctx, r.WorkspaceID); err != nil {
		return err
	}
	t := now()
	row := cannedRow{WorkspaceID: r.WorkspaceID, Shortcut: r.Shortcut, Title: r.Title, Body: r.Body, CreatedAt: t, UpdatedAt: t}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return dbError(err, "create canned response", "canned response with this shortcut")
	}
	r.ID, r.CreatedAt, r.UpdatedAt = row.ID, row.CreatedAt, row.UpdatedAt
	return nil
}

func (db *DB) UpdateCanned(ctx context.Context, r *chat.CannedResponse) error {
	if err := validateCanned(r); err != nil {
		return err
	}
	t := now()
	res := db.write(ctx).Model(&cannedRow{}).Where("id = ? AND workspace_id = ?", r.ID, r.WorkspaceID).
		Updates(map[string]any{"shortcut": r.Shortcut, "title": r.Title, "body": r.Body, "updated_at": t})
	if res.Error != nil {
		return dbError(res.Error, "update canned response", "canned response with this shortcut")
	} else if res.RowsAffected == 0 {
		return notFound("canned response")
	}
	r.UpdatedAt = t
	return nil
}

func (db *DB) DeleteCanned(ctx context.Context, workspaceID, id int64) error {
	res := db.write(ctx).Where("id = ? AND workspace_id = ?", id, workspaceID).Delete(&cannedRow{})
	if res.Error != nil {
		return dbError(res.Error, "delete canned response", "canned response")
	} else if res.RowsAffected == 0 {
		return notFound("canned response")
	}
	return nil
}

// ---- labels ----

func (db *DB) ListLabels(ctx context.Context, workspaceID int64) ([]*chat.Label, error) {
	var rows []labelRow
	if err := db.read(ctx).Where("workspace_id = ?", workspaceID).Order("name").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list labels", "label")
	}
	out := make([]*chat.Label, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// CreateLabel stores l (name 1 to chat.MaxLabelLen characters, unique per
// workspace) and fills in its ID and CreatedAt.
func (db *DB) CreateLabel(ctx context.Context, l *chat.Label) error {
	l.Name = strings.TrimSpace(l.Name)
	if l.Name == "" || utf8.RuneCountInString(l.Name) > chat.MaxLabelLen {
		return invalid("label name must have 1 to %d characters", chat.MaxLabelLen)
	}
	if len(l.Color) > 32 {
		return invalid("color is too long")
	}
	if err := db.workspaceExists(ctx, l.WorkspaceID); err != nil {
		return err
	}
	row := labelRow{WorkspaceID: l.WorkspaceID, Name: l.Name, Color: l.Color, CreatedAt: now()}
	if err := db.write(ctx).Create(&row).Error; err != nil {
		return dbError(err, "create label", "label with this name")
	}
	l.ID, l.CreatedAt = row.ID, row.CreatedAt
	return nil
}

func (db *DB) DeleteLabel(ctx context.Context, workspaceID, id int64) error {
	res := db.write(ctx).Where("id = ? AND workspace_id = ?", id, workspaceID).Delete(&labelRow{})
	if res.Error != nil {
		return dbError(res.Error, "delete label", "label")
	} else if res.RowsAffected == 0 {
		return notFound("label")
	}
	return nil
}

func (db *DB) ListRows(ctx context.Context, workspaceID int64, visitorIDs, conversationIDs []int64) (map[int64]*chat.Visitor, map[int64]*chat.Message, error) {
	visitors := map[int64]*chat.Visitor{}
	last := map[int64]*chat.Message{}
	tx := db.read(ctx)
	if len(visitorIDs) > 0 {
		var rows []visitorRow
		if err := tx.Where("workspace_id = ? AND id IN ?", workspaceID, visitorIDs).Find(&rows).Error; err != nil {
			return nil, nil, dbError(err, "list visitors", "visitor")
		}
		for i := range rows {
			visitors[rows[i].ID] = rows[i].chat()
		}
	}
	if len(conversationIDs) > 0 {
		var rows []messageRow
		err := tx.Raw(`SELECT m.* FROM messages m JOIN (
				SELECT mm.conversation_id, MAX(mm.seq) AS seq FROM messages mm
				JOIN conversations c ON c.id = mm.conversation_id AND c.workspace_id = ?
				WHERE mm.conversation_id IN ? AND mm.kind <> ? GROUP BY mm.conversation_id
			) newest ON m.conversation_id = newest.conversation_id AND m.seq = newest.seq`,
			workspaceID, conversationIDs, chat.KindEvent).Scan(&rows).Error
		if err != nil {
			return nil, nil, dbError(err, "list newest messages", "message")
		}
		for i := range rows {
			last[rows[i].ConversationID] = rows[i].chat()
		}
	}
	return visitors, last, nil
}
