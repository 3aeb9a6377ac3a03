package chat

import (
	"context"
	"time"
)

// RoutingStore is the storage side of automatic assignment (api/routing
// declares the narrower set its engine uses).
type RoutingStore interface {
	RoutingSettings(ctx context.Context, workspaceID int64) (RoutingSettings, error)
	SetRoutingSettings(ctx context.Context, workspaceID int64, rs RoutingSettings) error
	// SetTeamRouting sets a team's policy ("" = workspace default) and
	// whether its queue is drained automatically.
	SetTeamRouting(ctx context.Context, workspaceID, teamID int64, policy string, autoAssign bool) error
	SetAgentCapacity(ctx context.Context, workspaceID, agentID int64, capacity int) error
	ListTeams(ctx context.Context, workspaceID int64) ([]*Team, error)
	RoutingAgents(ctx context.Context, workspaceID int64) ([]*AgentLoad, error)
	// QueuedConversations returns the oldest perTeam queued conversations
	// of each team, oldest first overall.
	QueuedConversations(ctx context.Context, workspaceID int64, perTeam int) ([]*Conversation, error)
	// TryAssign gives a queued conversation to an agent under capacity,
	// atomically; ECONFLICT when the conversation or the agent changed.
	TryAssign(ctx context.Context, workspaceID, conversationID, agentID int64) (*Conversation, *Message, error)
	// Requeue takes a conversation back from assigneeID with a system message.
	Requeue(ctx context.Context, workspaceID, conversationID, assigneeID int64, reason string) (*Conversation, *Message, error)
	AssignedOpen(ctx context.Context, workspaceID int64) ([]*Conversation, error)
	LastAssignee(ctx context.Context, workspaceID, visitorID, exclude int64) (int64, error)
	AssignmentWaits(ctx context.Context, workspaceID int64, n int) ([]time.Duration, error)
}
