package chat

import (
	"encoding/json"
	"time"
)

// Roles of an agent inside a workspace.
const (
	RoleAdmin = "admin"
	RoleAgent = "agent"
)

// Agent availability.
const (
	StatusOnline  = "online"
	StatusAway    = "away"
	StatusOffline = "offline"
)

// Conversation states.
const (
	ConvOpen    = "open"
	ConvPending = "pending"
	ConvSnoozed = "snoozed"
	ConvClosed  = "closed"
)

// Message authors.
const (
	AuthorVisitor = "visitor"
	AuthorAgent   = "agent"
	AuthorSystem  = "system"
	AuthorBot     = "bot"
)

// Message kinds. A note is private: visitors never see it.
const (
	KindText       = "text"
	KindNote       = "note"
	KindAttachment = "attachment"
	KindEvent      = "event"
)

// Priorities.
const (
	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// Limits shared by the REST and websocket layers.
const (
	MaxBodyLen     = 10000 // characters in one message
	MaxClientIDLen = 64
	MaxLabels      = 20
	MaxLabelLen    = 40
)

// Workspace is a tenant: everything else belongs to exactly one.
type Workspace struct {
	ID            int64     `json:"id"`
	Name          string    `json:"name"`
	RetentionDays int       `json:"retention_days"`
	CreatedAt     time.Time `json:"created_at"`
}

// Site is one widget install.
type Site struct {
	ID               int64        `json:"id"`
	WorkspaceID      int64        `json:"workspace_id"`
	Name             string       `json:"name"`
	PublicKey        string       `json:"public_key"`
	AllowedOrigins   []string     `json:"allowed_origins"`
	IdentitySecret   string       `json:"-"`
	IdentityRequired bool         `json:"identity_required"`
	Settings         SiteSettings `json:"settings"`
	CreatedAt        time.Time    `json:"created_at"`
}

// SiteSettings is the site's widget configuration, stored as one JSON document
// because it changes shape as the widget grows.
type SiteSettings struct {
	Color          string          `json:"color,omitempty"`
	Position       string          `json:"position,omitempty"` // "right" | "left"
	Greeting       string          `json:"greeting,omitempty"`
	Timezone       string          `json:"timezone,omitempty"`
	BusinessHours  []BusinessHours `json:"business_hours,omitempty"`
	PreChatFields  []PreChatField  `json:"prechat_fields,omitempty"`
	OfflineMessage string          `json:"offline_message,omitempty"`
	TypingPreview  bool            `json:"typing_preview,omitempty"`
	MaxUploadBytes int64           `json:"max_upload_bytes,omitempty"`
	Locale         string          `json:"locale,omitempty"` // default language of the widget
	Proactive      []ProactiveRule `json:"proactive,omitempty"`
	RatingEnabled  bool            `json:"rating_enabled,omitempty"`
	// AutoCloseHours closes a conversation inactive this long (0 = never).
	AutoCloseHours int `json:"auto_close_hours,omitempty"`
	// TranscriptOnClose emails identified visitors the transcript on close.
	TranscriptOnClose bool `json:"transcript_on_close,omitempty"`
	// RatingEmail emails visitors who left an address a rating request
	// when a conversation closes without a rating from the widget.
	RatingEmail bool `json:"rating_email,omitempty"`
	// FirstResponseSeconds overrides the workspace's first-response window
	// for this site's conversations (0 = the workspace's).
	FirstResponseSeconds int `json:"first_response_seconds,omitempty"`
}

// ProactiveRule greets a visitor whose page matches URLPattern (a glob with
// *) after DelaySeconds on the page.
type ProactiveRule struct {
	URLPattern   string `json:"url_pattern"`
	DelaySeconds int    `json:"delay_seconds"`
	Message      string `json:"message"`
}

// BusinessHours is an opening window on one weekday (0 = Sunday), "HH:MM".
type BusinessHours struct {
	Day  int    `json:"day"`
	Open string `json:"open"`
	Shut string `json:"close"`
}

// PreChatField is one field of the pre-chat form.
type PreChatField struct {
	Name     string   `json:"name"`
	Label    string   `json:"label"`
	Type     string   `json:"type"` // text | email | select
	Required bool     `json:"required"`
	Options  []string `json:"options,omitempty"` // for select
}

// Agent is a support agent or an admin.
type Agent struct {
	ID           int64     `json:"id"`
	WorkspaceID  int64     `json:"workspace_id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Status       string    `json:"status"`
	Capacity     int       `json:"capacity"`
	Active       bool      `json:"active"`
	PasswordHash string    `json:"-"`
	TeamIDs      []int64   `json:"team_ids"`
	CreatedAt    time.Time `json:"created_at"`
	// Timezone is an IANA name chosen by the agent ("" = the browser's).
	Timezone    string           `json:"timezone"`
	Preferences AgentPreferences `json:"preferences"`
}

// Team groups agents for routing.
type Team struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspace_id"`
	Name        string    `json:"name"`
	Policy      string    `json:"policy"`      // "" = the workspace's default policy
	AutoAssign  bool      `json:"auto_assign"` // false: the team's queue is drained by hand
	CreatedAt   time.Time `json:"created_at"`
	AgentIDs    []int64   `json:"agent_ids"` // the members, where the store fills them in
}

// Routing policies.
const (
	PolicyRoundRobin = "round_robin" // the eligible agent assigned least recently
	PolicyLeastBusy  = "least_busy"  // the eligible agent with the fewest open conversations
)

// RoutingSettings configure automatic assignment for a workspace.
type RoutingSettings struct {
	Disabled bool   `json:"disabled,omitempty"` // no automatic assignment at all
	Policy   string `json:"policy,omitempty"`   // default policy; "" = round robin
	// FirstResponseSeconds: an assigned conversation nobody answered in this
	// time goes back to the queue (0 = never).
	FirstResponseSeconds int `json:"first_response_seconds,omitempty"`
	// OfflineGraceSeconds: an agent gone for longer than this loses their
	// open conversations to the queue (default 120).
	OfflineGraceSeconds int `json:"offline_grace_seconds,omitempty"`
	// QueueAlertMinutes: agents who want queue alerts get an email about a
	// conversation waiting longer than this (default 5; negative = never).
	QueueAlertMinutes int           `json:"queue_alert_minutes,omitempty"`
	Rules             []RoutingRule `json:"rules,omitempty"`
}

// RoutingRule sends a new conversation to a team. Every non-empty condition
// must match; the first matching rule wins.
type RoutingRule struct {
	TeamID     int64  `json:"team_id"`
	SiteID     int64  `json:"site_id,omitempty"`
	URLPattern string `json:"url_pattern,omitempty"` // glob with *, matched against the visitor's page
	Language   string `json:"language,omitempty"`    // matches the visitor's locale prefix, e.g. "fr"
	Field      string `json:"field,omitempty"`       // a pre-chat field / visitor attribute ...
	Value      string `json:"value,omitempty"`       // ... and its value
}

// AgentLoad is what routing needs to know about an agent.
type AgentLoad struct {
	Agent
	Open           int        `json:"open"` // open or pending conversations assigned
	LastAssignedAt *time.Time `json:"last_assigned_at"`
	// StatusSince is when the agent last changed their status (nil: never).
	StatusSince *time.Time `json:"status_since,omitempty"`
}

// Visitor is a person on a site, anonymous or identified.
type Visitor struct {
	ID          int64             `json:"id"`
	WorkspaceID int64             `json:"workspace_id"`
	SiteID      int64             `json:"site_id"`
	ExternalID  string            `json:"external_id,omitempty"` // from identify(); empty when anonymous
	Verified    bool              `json:"verified"`
	Name        string            `json:"name,omitempty"`
	Email       string            `json:"email,omitempty"`
	Attributes  map[string]string `json:"attributes"`
	LastPage    string            `json:"last_page,omitempty"`
	UserAgent   string            `json:"user_agent,omitempty"`
	Locale      string            `json:"locale,omitempty"`
	LastSeenAt  time.Time         `json:"last_seen_at"`
	CreatedAt   time.Time         `json:"created_at"`
}

// Conversation is one thread between a visitor and the support team.
type Conversation struct {
	ID               int64      `json:"id"`
	WorkspaceID      int64      `json:"workspace_id"`
	SiteID           int64      `json:"site_id"`
	VisitorID        int64      `json:"visitor_id"`
	ClientID         string     `json:"client_id,omitempty"`
	Status           string     `json:"status"`
	AssigneeID       *int64     `json:"assignee_id"`
	TeamID           *int64     `json:"team_id"`
	Priority         string     `json:"priority"`
	Labels           []string   `json:"labels"`
	LastSeq          int64      `json:"last_seq"`
	LastMessageAt    time.Time  `json:"last_message_at"`
	FirstResponseAt  *time.Time `json:"first_response_at"`
	ResolvedAt       *time.Time `json:"resolved_at"`
	SnoozedUntil     *time.Time `json:"snoozed_until"`
	AssignedAt       *time.Time `json:"assigned_at"`
	PreviousAssignee *int64     `json:"previous_assignee_id"`
	Rating           *int       `json:"rating"` // 1-5, given by the visitor after close
	RatingComment    string     `json:"rating_comment,omitempty"`
	RatedAt          *time.Time `json:"rated_at"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Message is one entry of a conversation's transcript. Seq is gap-free and
// strictly increasing per conversation.
type Message struct {
	ID             int64           `json:"id"`
	ConversationID int64           `json:"conversation_id"`
	Seq            int64           `json:"seq"`
	ClientID       string          `json:"client_id,omitempty"`
	AuthorType     string          `json:"author_type"`
	AuthorID       int64           `json:"author_id,omitempty"`
	AuthorName     string          `json:"author_name,omitempty"`
	Kind           string          `json:"kind"`
	Body           string          `json:"body"`
	Attachments    []AttachmentRef `json:"attachments"`
	CreatedAt      time.Time       `json:"created_at"`
}

// Private reports whether visitors must never see the message.
func (m *Message) Private() bool { return m.Kind == KindNote }

// AttachmentRef is the part of an attachment carried inside a message.
type AttachmentRef struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// Attachment is an uploaded file; the bytes live in a BlobStorage.
type Attachment struct {
	ID             int64     `json:"id"`
	WorkspaceID    int64     `json:"workspace_id"`
	ConversationID int64     `json:"conversation_id"`
	Name           string    `json:"name"`
	ContentType    string    `json:"content_type"`
	Size           int64     `json:"size"`
	StorageKey     string    `json:"-"`
	UploaderType   string    `json:"uploader_type"`
	UploaderID     int64     `json:"uploader_id"`
	CreatedAt      time.Time `json:"created_at"`
}

// ReadMarker records the last seq a reader has seen in a conversation.
type ReadMarker struct {
	ConversationID int64     `json:"conversation_id"`
	ReaderType     string    `json:"reader_type"` // visitor | agent
	ReaderID       int64     `json:"reader_id"`
	Seq            int64     `json:"seq"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// OutboxEvent is work that must happen because of a committed change. It is
// written in the same transaction as the change; a relay hands it to the job
// queue and marks it dispatched.
type OutboxEvent struct {
	ID           int64           `json:"id"`
	WorkspaceID  int64           `json:"workspace_id"`
	Topic        string          `json:"topic"` // e.g. "message.created"
	Payload      json.RawMessage `json:"payload"`
	CreatedAt    time.Time       `json:"created_at"`
	DispatchedAt *time.Time      `json:"dispatched_at"`
}

// Outbox topics.
const (
	EventConversationCreated  = "conversation.created"
	EventConversationAssigned = "conversation.assigned"
	EventConversationClosed   = "conversation.closed"
	EventConversationReopened = "conversation.reopened"
	EventMessageCreated       = "message.created"
	EventRatingSubmitted      = "rating.submitted"
	EventTranscriptRequested  = "transcript.requested"
	EventPasswordReset        = "password.reset_requested"
	EventAgentInvited         = "agent.invited"
	EventMentionCreated       = "mention.created"
)

// AuditEntry records who changed what.
type AuditEntry struct {
	ID          int64           `json:"id"`
	WorkspaceID int64           `json:"workspace_id"`
	ActorType   string          `json:"actor_type"`
	ActorID     int64           `json:"actor_id"`
	Action      string          `json:"action"`
	Target      string          `json:"target"`
	Data        json.RawMessage `json:"data,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
}

// APIToken authenticates scripts as an agent. Only its hash is stored.
type APIToken struct {
	ID          int64      `json:"id"`
	WorkspaceID int64      `json:"workspace_id"`
	AgentID     int64      `json:"agent_id"`
	Name        string     `json:"name"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

// AgentSession is a logged-in browser. Only the token's hash is stored.
type AgentSession struct {
	ID        int64     `json:"id"`
	AgentID   int64     `json:"agent_id"`
	CSRFToken string    `json:"-"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// VisitorSession is a widget's bearer token, scoped to one site.
type VisitorSession struct {
	ID        int64     `json:"id"`
	VisitorID int64     `json:"visitor_id"`
	SiteID    int64     `json:"site_id"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

// AgentPreferences are an agent's alert switches. Every one defaults to on.
type AgentPreferences struct {
	NotifyQueue   bool `json:"notify_queue"`   // a new conversation in the queue
	NotifyMine    bool `json:"notify_mine"`    // a new message in a conversation of mine
	NotifyMention bool `json:"notify_mention"` // someone mentioned me in a note
	Sound         bool `json:"sound"`
	Desktop       bool `json:"desktop"` // browser notifications
}

// DefaultAgentPreferences has every alert on.
func DefaultAgentPreferences() AgentPreferences {
	return AgentPreferences{NotifyQueue: true, NotifyMine: true, NotifyMention: true, Sound: true, Desktop: true}
}

// AgentUpdate is a partial change to an agent: nil fields stay as they are.
type AgentUpdate struct {
	Name     *string
	Role     *string
	Capacity *int
	// Active false also ends the agent's sessions and API tokens and sets
	// their status to offline.
	Active *bool
	// TeamIDs, when non-nil, replaces the agent's team memberships.
	TeamIDs     []int64
	Timezone    *string
	Preferences *AgentPreferences
}

// ConversationCounts are the inbox views' sizes: open conversations per
// view, and every closed one.
type ConversationCounts struct {
	Unassigned int64 `json:"unassigned"` // open, nobody assigned
	Mine       int64 `json:"mine"`       // open, assigned to me
	MyTeams    int64 `json:"my_teams"`   // open, in one of my teams
	All        int64 `json:"all"`        // open
	Closed     int64 `json:"closed"`     // closed
	// Filters counts the agent's saved filters by id; filters with a search
	// term are left out (searching every message is too slow to repeat on
	// every change).
	Filters map[int64]int64 `json:"filters"`
}

// SavedFilter is an agent's named inbox filter: Query holds the inbox list's
// query parameters (status, assignee, team, site, label, priority, from, to, q).
type SavedFilter struct {
	ID          int64             `json:"id"`
	WorkspaceID int64             `json:"workspace_id"`
	AgentID     int64             `json:"agent_id"`
	Name        string            `json:"name"`
	Query       map[string]string `json:"query"`
	CreatedAt   time.Time         `json:"created_at"`
}

// PageView is a page a visitor was on.
type PageView struct {
	URL   string    `json:"url"`
	Title string    `json:"title"`
	At    time.Time `json:"at"`
}

// CannedResponse is a reply agents insert by typing /shortcut.
type CannedResponse struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspace_id"`
	Shortcut    string    `json:"shortcut"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Label is an entry of the workspace's label catalogue.
type Label struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspace_id"`
	Name        string    `json:"name"`
	Color       string    `json:"color"`
	CreatedAt   time.Time `json:"created_at"`
}
