package chat

import (
	"context"
	"io"
	"time"
)

// Every method that takes a workspaceID only sees rows of that workspace: an
// object of another workspace is reported as ENOTFOUND, exactly like a missing
// one. Every method that changes a conversation writes its outbox rows in the
// same transaction and returns only after the commit.

// WorkspaceStore manages tenants and their sites.
type WorkspaceStore interface {
	CreateWorkspace(ctx context.Context, name string) (*Workspace, error)
	ListWorkspaces(ctx context.Context) ([]*Workspace, error)
	// CreateSite creates a site; an empty PublicKey gets a random one. A
	// duplicate public key is ECONFLICT.
	CreateSite(ctx context.Context, s *Site) error
	// SiteByKey finds a site by its public key (ENOTFOUND otherwise).
	SiteByKey(ctx context.Context, publicKey string) (*Site, error)
	Site(ctx context.Context, workspaceID, siteID int64) (*Site, error)
	ListSites(ctx context.Context, workspaceID int64) ([]*Site, error)
	// UpdateSite saves name, allowed origins, identity settings and widget
	// settings; the public key never changes.
	UpdateSite(ctx context.Context, s *Site) error
}

// AgentStore manages agents, teams and their credentials.
type AgentStore interface {
	// CreateAgent stores a; Email is unique across all workspaces (ECONFLICT).
	CreateAgent(ctx context.Context, a *Agent) error
	Agent(ctx context.Context, workspaceID, agentID int64) (*Agent, error)
	// AgentByEmail is case-insensitive; used by login only.
	AgentByEmail(ctx context.Context, email string) (*Agent, error)
	ListAgents(ctx context.Context, workspaceID int64) ([]*Agent, error)
	SetAgentPassword(ctx context.Context, agentID int64, passwordHash string) error
	SetAgentStatus(ctx context.Context, workspaceID, agentID int64, status string) error
	CreateTeam(ctx context.Context, t *Team) error
	AddTeamMember(ctx context.Context, workspaceID, teamID, agentID int64) error

	// CreateAgentSession stores a session under tokenHash (sha256 hex of the cookie value).
	CreateAgentSession(ctx context.Context, agentID int64, tokenHash, csrfToken string, expires time.Time) (*AgentSession, error)
	// AgentBySession returns the active agent and session for a token hash
	// (EUNAUTHORIZED when missing, expired or the agent is inactive).
	AgentBySession(ctx context.Context, tokenHash string) (*Agent, *AgentSession, error)
	DeleteAgentSession(ctx context.Context, tokenHash string) error

	CreateAPIToken(ctx context.Context, t *APIToken, tokenHash string) error
	// AgentByAPIToken returns the active agent owning the token (EUNAUTHORIZED otherwise).
	AgentByAPIToken(ctx context.Context, tokenHash string) (*Agent, error)

	// CreateSetPasswordToken stores a one-time token for an agent; ConsumeSetPasswordToken
	// sets the password and deletes the token (EUNAUTHORIZED if unknown or expired).
	CreateSetPasswordToken(ctx context.Context, agentID int64, tokenHash string, expires time.Time) error
	ConsumeSetPasswordToken(ctx context.Context, tokenHash, passwordHash string) (*Agent, error)
}

// VisitorStore manages visitors and their widget sessions.
type VisitorStore interface {
	CreateVisitor(ctx context.Context, v *Visitor) error
	Visitor(ctx context.Context, workspaceID, visitorID int64) (*Visitor, error)
	// UpdateVisitor saves name, email, external id, verified, attributes,
	// last page, user agent, locale and last seen.
	UpdateVisitor(ctx context.Context, v *Visitor) error
	// EditVisitor applies edit to the stored visitor and saves it atomically
	// (read under a row lock, written in the same transaction).
	EditVisitor(ctx context.Context, workspaceID, visitorID int64, edit func(v *Visitor) error) (*Visitor, error)
	CreateVisitorSession(ctx context.Context, visitorID, siteID int64, tokenHash string, expires time.Time) (*VisitorSession, error)
	// VisitorBySession returns the visitor for a token hash (EUNAUTHORIZED when
	// missing or expired).
	VisitorBySession(ctx context.Context, tokenHash string) (*Visitor, *VisitorSession, error)
	// VerifiedVisitor finds the verified visitor with an external id on a
	// site; unverified visitors are never returned.
	VerifiedVisitor(ctx context.Context, siteID int64, externalID string) (*Visitor, error)
}

// NewConversation starts a conversation for a visitor. ClientID makes the call
// idempotent per visitor: a repeat returns the existing conversation.
type NewConversation struct {
	WorkspaceID int64
	SiteID      int64
	VisitorID   int64
	ClientID    string
	TeamID      *int64
}

// NewMessage is a message to append. ClientID makes the call idempotent per
// conversation: a repeat returns the stored message and created=false.
type NewMessage struct {
	WorkspaceID    int64
	ConversationID int64
	ClientID       string
	AuthorType     string
	AuthorID       int64
	AuthorName     string
	Kind           string
	Body           string
	AttachmentIDs  []int64 // must belong to the same conversation
	// Mentions (notes only) are agents of the workspace to notify: each gets
	// a mention.created outbox row in the message's transaction.
	Mentions []int64
}

// ConversationFilter selects conversations for the agent inbox.
type ConversationFilter struct {
	Status     string // "" = any
	AssigneeID *int64 // nil = any; pointer to 0 = unassigned
	TeamID     *int64
	SiteID     *int64
	VisitorID  *int64
	Label      string
	Priority   string
	Query      string // matches message bodies, visitor name and email (case-insensitive substring)
	// TeamIDs, when non-nil, keeps conversations of any of these teams (an
	// empty list matches nothing): the "my teams" view.
	TeamIDs []int64
	// Assigned keeps conversations assigned to anyone.
	Assigned bool
	// CreatedFrom (inclusive) and CreatedTo (exclusive) bound created_at.
	CreatedFrom, CreatedTo *time.Time
	// Cursor paging, newest activity first: pass the previous page's
	// NextCursor. Limit defaults to 50 and is capped at 200.
	Cursor string
	Limit  int
}

// ConversationPage is one page of conversations.
type ConversationPage struct {
	Conversations []*Conversation `json:"conversations"`
	NextCursor    string          `json:"next_cursor"`
}

// ConversationStore manages conversations and their messages.
type ConversationStore interface {
	CreateConversation(ctx context.Context, in NewConversation) (c *Conversation, created bool, err error)
	Conversation(ctx context.Context, workspaceID, id int64) (*Conversation, error)
	ListConversations(ctx context.Context, workspaceID int64, f ConversationFilter) (*ConversationPage, error)
	// VisitorConversations lists a visitor's conversations, newest first.
	VisitorConversations(ctx context.Context, workspaceID, visitorID int64) ([]*Conversation, error)

	// CreateMessage appends a message with the next seq, in one transaction
	// with the conversation's last_seq, last_message_at, first_response_at
	// (first agent text) and an outbox row. A repeated ClientID returns the
	// stored message and created=false, never a second row.
	CreateMessage(ctx context.Context, in NewMessage) (m *Message, created bool, err error)
	// Messages returns up to limit messages with seq > afterSeq in seq order;
	// notes are left out unless includePrivate.
	Messages(ctx context.Context, workspaceID, conversationID, afterSeq int64, limit int, includePrivate bool) ([]*Message, error)

	// Assign sets the assignee (nil = unassign) and team, appends a system
	// event message and writes a conversation.assigned outbox row. When
	// nothing changes, nothing is written and the message is nil.
	Assign(ctx context.Context, workspaceID, conversationID int64, assigneeID, teamID *int64, actor string) (*Conversation, *Message, error)
	// SetStatus opens, closes (sets resolved_at), snoozes or marks pending,
	// appending a system event message. When nothing changes, nothing is
	// written and the message is nil.
	SetStatus(ctx context.Context, workspaceID, conversationID int64, status string, snoozeUntil *time.Time, actor string) (*Conversation, *Message, error)
	SetLabels(ctx context.Context, workspaceID, conversationID int64, labels []string) (*Conversation, error)
	SetPriority(ctx context.Context, workspaceID, conversationID int64, priority string) (*Conversation, error)

	// MarkRead moves a reader's marker forward (never back).
	MarkRead(ctx context.Context, workspaceID int64, r ReadMarker) error
	ReadMarkers(ctx context.Context, workspaceID, conversationID int64) ([]*ReadMarker, error)

	// RateConversation stores a visitor's 1-5 rating of their closed
	// conversation (ECONFLICT when not closed) with a rating.submitted outbox row.
	RateConversation(ctx context.Context, workspaceID, conversationID, visitorID int64, score int, comment string) (*Conversation, error)

	CreateAttachment(ctx context.Context, a *Attachment) error
	Attachment(ctx context.Context, workspaceID, id int64) (*Attachment, error)
}

// OutboxStore is read by the relay that moves work into the job queue.
type OutboxStore interface {
	// PendingOutbox returns up to limit undispatched events, oldest first.
	PendingOutbox(ctx context.Context, limit int) ([]*OutboxEvent, error)
	MarkDispatched(ctx context.Context, ids []int64) error
	// AddOutboxEvent records work with no other change to carry it.
	AddOutboxEvent(ctx context.Context, workspaceID int64, topic string, payload map[string]any) error
}

// AuditStore records and lists audit entries.
type AuditStore interface {
	Audit(ctx context.Context, e *AuditEntry) error
	ListAudit(ctx context.Context, workspaceID int64, limit int) ([]*AuditEntry, error)
}

// ConsoleStore is what the agent console adds: account settings, inbox
// views, claiming, page history and the workspace's administration.
type ConsoleStore interface {
	Workspace(ctx context.Context, id int64) (*Workspace, error)
	// UpdateWorkspace saves name and retention days.
	UpdateWorkspace(ctx context.Context, w *Workspace) error

	// UpdateAgent applies a partial change; see AgentUpdate.
	UpdateAgent(ctx context.Context, workspaceID, agentID int64, u AgentUpdate) (*Agent, error)
	// InviteAgent creates a (password-less) agent with its team memberships,
	// a one-time set-password token and an agent.invited outbox row (payload
	// plus agent_id), in one transaction. A taken email is ECONFLICT.
	InviteAgent(ctx context.Context, a *Agent, tokenHash string, expires time.Time, payload map[string]any) error
	// IssuePasswordReset stores a one-time set-password token for an active
	// agent with a password.reset_requested outbox row (payload plus
	// agent_id). ERATELIMIT after 5 in an hour for one agent.
	IssuePasswordReset(ctx context.Context, agentID int64, tokenHash string, expires time.Time, payload map[string]any) error

	// TeamsWithMembers lists the workspace's teams with their agent ids.
	TeamsWithMembers(ctx context.Context, workspaceID int64) ([]*Team, error)
	// Team finds one team with its agent ids.
	Team(ctx context.Context, workspaceID, teamID int64) (*Team, error)
	RenameTeam(ctx context.Context, workspaceID, teamID int64, name string) (*Team, error)
	// DeleteTeam removes a team; its conversations keep their assignee and lose the team.
	DeleteTeam(ctx context.Context, workspaceID, teamID int64) error

	ListAPITokens(ctx context.Context, workspaceID int64) ([]*APIToken, error)
	DeleteAPIToken(ctx context.Context, workspaceID, tokenID int64) error

	// ListRows returns what the inbox list shows beside each conversation,
	// in two queries whatever the page size: the visitors by id and each
	// conversation's newest message that is not an event (notes included).
	// Ids of another workspace are left out.
	ListRows(ctx context.Context, workspaceID int64, visitorIDs, conversationIDs []int64) (map[int64]*Visitor, map[int64]*Message, error)

	// AddPageView records a page a visitor was on (the newest 100 are kept).
	AddPageView(ctx context.Context, workspaceID, visitorID int64, url, title string) error
	// PageViews lists a visitor's pages, newest first, at most limit (cap 100).
	PageViews(ctx context.Context, workspaceID, visitorID int64, limit int) ([]*PageView, error)

	// ClaimConversation assigns a conversation to agentID only if nobody
	// has it (ECONFLICT otherwise; claiming one's own is a no-op with a nil
	// message). Of two agents claiming at once exactly one wins.
	ClaimConversation(ctx context.Context, workspaceID, conversationID, agentID int64) (*Conversation, *Message, error)
	// ConversationCounts counts the inbox views for an agent in teamIDs.
	ConversationCounts(ctx context.Context, workspaceID, agentID int64, teamIDs []int64) (*ConversationCounts, error)

	// Saved filters belong to one agent: another agent's are ENOTFOUND.
	ListSavedFilters(ctx context.Context, workspaceID, agentID int64) ([]*SavedFilter, error)
	CreateSavedFilter(ctx context.Context, f *SavedFilter) error
	DeleteSavedFilter(ctx context.Context, workspaceID, agentID, filterID int64) error

	// Canned responses: the shortcut is unique per workspace (ECONFLICT).
	ListCanned(ctx context.Context, workspaceID int64) ([]*CannedResponse, error)
	Canned(ctx context.Context, workspaceID, id int64) (*CannedResponse, error)
	CreateCanned(ctx context.Context, r *CannedResponse) error
	// UpdateCanned saves shortcut, title and body of r (found by ID within WorkspaceID).
	UpdateCanned(ctx context.Context, r *CannedResponse) error
	DeleteCanned(ctx context.Context, workspaceID, id int64) error

	// The label catalogue: names are unique per workspace (ECONFLICT).
	ListLabels(ctx context.Context, workspaceID int64) ([]*Label, error)
	CreateLabel(ctx context.Context, l *Label) error
	DeleteLabel(ctx context.Context, workspaceID, id int64) error
}

// RateLimitStore keeps the events that rate limits count (failed logins per
// email, transcripts emailed per agent) in the database, so that every node
// sees the same count and a restart forgets nothing. A bucket names the
// limit; a key is what it limits within the bucket.
type RateLimitStore interface {
	// RecordRateEvent records one event for key in bucket, at at.
	RecordRateEvent(ctx context.Context, bucket, key string, at time.Time) error
	// CountRateEvents counts key's events in bucket later than since.
	CountRateEvents(ctx context.Context, bucket, key string, since time.Time) (int, error)
	// ClearRateEvents forgets every event of key in bucket.
	ClearRateEvents(ctx context.Context, bucket, key string) error
	// PurgeRateEvents deletes the events, of any bucket, older than before.
	PurgeRateEvents(ctx context.Context, before time.Time) (int, error)
}

// RateEventsKept is how long rate-limit events are kept (housekeeping purges
// older ones): longer than any limit's window.
const RateEventsKept = 24 * time.Hour

// Store is everything the server needs from storage.
type Store interface {
	ConsoleStore
	WorkspaceStore
	AgentStore
	VisitorStore
	ConversationStore
	OutboxStore
	AuditStore
	RoutingStore
	JobStore
	ExportStore
	RateLimitStore
	Ping(ctx context.Context) error
	Close() error
}

// BlobStorage keeps attachment bytes: local disk by default.
type BlobStorage interface {
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}
