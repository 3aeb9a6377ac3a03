package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// openStatuses are the states in which a conversation counts against its
// assignee's capacity.
var openStatuses = []string{chat.ConvOpen, chat.ConvPending}

// RoutingSettings returns a workspace's routing settings.
func (db *DB) RoutingSettings(ctx context.Context, workspaceID int64) (chat.RoutingSettings, error) {
	var row workspaceRow
	var rs chat.RoutingSettings
	if err := db.read(ctx).Where("id = ?", workspaceID).Take(&row).Error; err != nil {
		return rs, dbError(err, "find workspace", "workspace")
	}
	decodeJSON(row.Routing, &rs)
	return rs, nil
}

// SetRoutingSettings saves a workspace's routing settings.
func (db *DB) SetRoutingSettings(ctx context.Context, workspaceID int64, rs chat.RoutingSettings) error {
	switch rs.Policy {
	case "", chat.PolicyRoundRobin, chat.PolicyLeastBusy:
	default:
		return invalid("unknown routing policy %q", rs.Policy)
	}
	if rs.FirstResponseSeconds < 0 || rs.OfflineGraceSeconds < 0 {
		return invalid("durations must not be negative")
	}
	for _, r := range rs.Rules {
		if err := inWorkspace(db.read(ctx), &teamRow{}, workspaceID, r.TeamID, "team"); err != nil {
			return err
		}
	}
	res := db.write(ctx).Model(&workspaceRow{}).Where("id = ?", workspaceID).Update("routing", encodeJSON(rs))
	if res.Error != nil {
		return dbError(res.Error, "save routing settings", "workspace")
	} else if res.RowsAffected == 0 {
		return notFound("workspace")
	}
	return nil
}

// SetTeamRouting sets a team's policy ("" = the workspace default) and
// whether its queue is drained automatically.
func (db *DB) SetTeamRouting(ctx context.Context, workspaceID, teamID int64, policy string, autoAssign bool) error {
	switch policy {
	case "", chat.PolicyRoundRobin, chat.PolicyLeastBusy:
	default:
		return invalid("unknown routing policy %q", policy)
	}
	res := db.write(ctx).Model(&teamRow{}).Where("id = ? AND workspace_id = ?", teamID, workspaceID).
		Updates(map[string]any{"policy": policy, "auto_assign": autoAssign})
	if res.Error != nil {
		return dbError(res.Error, "set team routing", "team")
	} else if res.RowsAffected == 0 {
		return notFound("team")
	}
	return nil
}

// ListTeams returns a workspace's teams.
func (db *DB) ListTeams(ctx context.Context, workspaceID int64) ([]*chat.Team, error) {
	var rows []teamRow
	if err := db.read(ctx).Where("workspace_id = ?", workspaceID).Order("id").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list teams", "team")
	}
	out := make([]*chat.Team, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// RoutingAgents returns the workspace's active agents with their teams,
// their open load and when they were last assigned.
func (db *DB) RoutingAgents(ctx context.Context, workspaceID int64) ([]*chat.AgentLoad, error) {
	var rows []agentRow
	if err := db.read(ctx).Where("workspace_id = ? AND active = ?", workspaceID, true).Order("id").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list routing agents", "agent")
	}
	type loadRow struct {
		AssigneeID int64
		N          int
	}
	var loads []loadRow
	err := db.read(ctx).Model(&conversationRow{}).Select("assignee_id, count(*) AS n").
		Where("workspace_id = ? AND assignee_id IS NOT NULL AND status IN ?", workspaceID, openStatuses).
		Group("assignee_id").Scan(&loads).Error
	if err != nil {
		return nil, dbError(err, "count agent load", "conversation")
	}
	byAgent := map[int64]int{}
	for _, l := range loads {
		byAgent[l.AssigneeID] = l.N
	}
	var members []teamMemberRow
	if err := db.read(ctx).Joins("JOIN teams ON teams.id = team_members.team_id").
		Where("teams.workspace_id = ?", workspaceID).Find(&members).Error; err != nil {
		return nil, dbError(err, "list team members", "team")
	}
	teams := map[int64][]int64{}
	for _, m := range members {
		teams[m.AgentID] = append(teams[m.AgentID], m.TeamID)
	}
	out := make([]*chat.AgentLoad, len(rows))
	for i := range rows {
		a := rows[i].chat()
		a.TeamIDs = teams[a.ID]
		if a.TeamIDs == nil {
			a.TeamIDs = []int64{}
		}
		out[i] = &chat.AgentLoad{Agent: *a, Open: byAgent[a.ID], LastAssignedAt: utcPtr(rows[i].LastAssignedAt), StatusSince: utcPtr(rows[i].StatusSince)}
	}
	return out, nil
}

// QueuedConversations returns the oldest perTeam open, unassigned
// conversations of each team (conversations without a team are one more
// queue), oldest first overall. A per-team limit, not a total one: a long
// queue that cannot move (nobody eligible, auto-assign off) must not hide
// the conversations of other teams.
func (db *DB) QueuedConversations(ctx context.Context, workspaceID int64, perTeam int) ([]*chat.Conversation, error) {
	if perTeam <= 0 || perTeam > 1000 {
		perTeam = 1000
	}
	var rows []conversationRow
	// ROW_NUMBER() works in PostgreSQL and SQLite >= 3.25.
	err := db.read(ctx).Raw(`SELECT * FROM (
			SELECT conversations.*, ROW_NUMBER() OVER (PARTITION BY COALESCE(team_id, 0) ORDER BY created_at, id) AS queue_place
			FROM conversations WHERE workspace_id = ? AND assignee_id IS NULL AND status = ?
		) queued WHERE queue_place <= ? ORDER BY created_at, id`, workspaceID, chat.ConvOpen, perTeam).Scan(&rows).Error
	if err != nil {
		return nil, dbError(err, "list queue", "conversation")
	}
	out := make([]*chat.Conversation, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// TryAssign gives a queued conversation to an agent, atomically: the agent
// row is locked so concurrent assignments to one agent (from any node) are
// serialised and the capacity check holds, and the conversation must still
// be open and unassigned. ECONFLICT when the conversation was taken or the
// agent is full or inactive; the caller picks again.
func (db *DB) TryAssign(ctx context.Context, workspaceID, conversationID, agentID int64) (*chat.Conversation, *chat.Message, error) {
	var (
		conv *conversationRow
		msg  *messageRow
	)
	err := db.tx(ctx, func(tx *gorm.DB) error {
		var agent agentRow
		if err := db.forUpdate(tx).Where("id = ? AND workspace_id = ?", agentID, workspaceID).Take(&agent).Error; err != nil {
			return dbError(err, "lock agent", "agent")
		}
		if !agent.Active {
			return chat.Errorf(chat.ECONFLICT, "agent is inactive")
		}
		var load int64
		if err := tx.Model(&conversationRow{}).Where("assignee_id = ? AND status IN ?", agentID, openStatuses).Count(&load).Error; err != nil {
			return dbError(err, "count agent load", "conversation")
		}
		if int(load) >= agent.Capacity {
			return chat.Errorf(chat.ECONFLICT, "agent is at capacity")
		}
		c, err := db.lockConversation(tx, workspaceID, conversationID)
		if err != nil {
			return err
		}
		if c.AssigneeID != nil || c.Status != chat.ConvOpen {
			return chat.Errorf(chat.ECONFLICT, "conversation is no longer queued")
		}
		t := now()
		if err := tx.Model(&conversationRow{}).Where("id = ?", c.ID).Updates(map[string]any{
			"assignee_id": agentID, "assigned_at": t, "updated_at": t}).Error; err != nil {
			return dbError(err, "assign conversation", "conversation")
		}
		if err := tx.Model(&agentRow{}).Where("id = ?", agentID).Update("last_assigned_at", t).Error; err != nil {
			return dbError(err, "record assignment", "agent")
		}
		name := agent.Name
		if name == "" {
			name = agent.Email
		}
		if msg, err = systemEvent(tx, c, name+" joined the conversation"); err != nil {
			return err
		}
		if err := addOutbox(tx, workspaceID, chat.EventConversationAssigned, map[string]any{
			"conversation_id": c.ID, "workspace_id": workspaceID, "assignee_id": agentID,
			"team_id": c.TeamID, "message_id": msg.ID, "seq": msg.Seq, "automatic": true}); err != nil {
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

// Requeue takes a conversation back from its assignee (only if it is still
// assignee), records them as the previous assignee so routing prefers
// someone else, and appends reason as a system message.
func (db *DB) Requeue(ctx context.Context, workspaceID, conversationID, assigneeID int64, reason string) (*chat.Conversation, *chat.Message, error) {
	var (
		conv *conversationRow
		msg  *messageRow
	)
	err := db.tx(ctx, func(tx *gorm.DB) error {
		c, err := db.lockConversation(tx, workspaceID, conversationID)
		if err != nil {
			return err
		}
		if c.AssigneeID == nil || *c.AssigneeID != assigneeID || (c.Status != chat.ConvOpen && c.Status != chat.ConvPending) {
			return chat.Errorf(chat.ECONFLICT, "conversation changed hands")
		}
		if err := tx.Model(&conversationRow{}).Where("id = ?", c.ID).Updates(map[string]any{
			"assignee_id": nil, "assigned_at": nil, "previous_assignee_id": assigneeID, "status": chat.ConvOpen, "updated_at": now()}).Error; err != nil {
			return dbError(err, "requeue conversation", "conversation")
		}
		if msg, err = systemEvent(tx, c, reason); err != nil {
			return err
		}
		if err := addOutbox(tx, workspaceID, chat.EventConversationAssigned, map[string]any{
			"conversation_id": c.ID, "workspace_id": workspaceID, "assignee_id": nil,
			"previous_assignee_id": assigneeID, "message_id": msg.ID, "seq": msg.Seq, "requeued": true}); err != nil {
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

// AssignedOpen returns a workspace's open or pending conversations that have
// an assignee (for the reassignment sweep).
func (db *DB) AssignedOpen(ctx context.Context, workspaceID int64) ([]*chat.Conversation, error) {
	var rows []conversationRow
	err := db.read(ctx).Where("workspace_id = ? AND assignee_id IS NOT NULL AND status IN ?", workspaceID, openStatuses).
		Order("id").Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "list assigned conversations", "conversation")
	}
	out := make([]*chat.Conversation, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// LastAssignee returns who last had one of the visitor's conversations
// (other than exclude), or 0.
func (db *DB) LastAssignee(ctx context.Context, workspaceID, visitorID, exclude int64) (int64, error) {
	var row conversationRow
	err := db.read(ctx).Where("workspace_id = ? AND visitor_id = ? AND id <> ? AND (assignee_id IS NOT NULL OR previous_assignee_id IS NOT NULL)",
		workspaceID, visitorID, exclude).Order("created_at DESC, id DESC").Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, dbError(err, "find last assignee", "conversation")
	}
	if row.AssigneeID != nil {
		return *row.AssigneeID, nil
	}
	return *row.PreviousAssigneeID, nil
}

// AssignmentWaits returns how long the latest assigned conversations (at
// most n) waited in the queue, newest first, for the wait estimate.
func (db *DB) AssignmentWaits(ctx context.Context, workspaceID int64, n int) ([]time.Duration, error) {
	var rows []conversationRow
	err := db.read(ctx).Select("created_at, assigned_at").
		Where("workspace_id = ? AND assigned_at IS NOT NULL", workspaceID).Order("assigned_at DESC").Limit(n).Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "list assignment waits", "conversation")
	}
	out := make([]time.Duration, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.AssignedAt.Sub(r.CreatedAt))
	}
	return out, nil
}

// SetAgentCapacity sets how many open conversations an agent may hold.
func (db *DB) SetAgentCapacity(ctx context.Context, workspaceID, agentID int64, capacity int) error {
	if capacity < 0 || capacity > 1000 {
		return invalid("capacity must be from 0 to 1000")
	}
	res := db.write(ctx).Model(&agentRow{}).Where("id = ? AND workspace_id = ?", agentID, workspaceID).Update("capacity", capacity)
	if res.Error != nil {
		return dbError(res.Error, "set capacity", "agent")
	} else if res.RowsAffected == 0 {
		return notFound("agent")
	}
	return nil
}
