package store

import (
	"encoding/json"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Row structs map the tables one to one (GORM's default naming turns field
// names into column names). They stay private: callers only ever see chat
// types. JSON columns are carried as text; PostgreSQL stores them as jsonb.
// schema_test.go fails when a row struct and the migrations drift apart.

type workspaceRow struct {
	ID            int64 `gorm:"primaryKey"`
	Name          string
	RetentionDays int
	Routing       string // JSON chat.RoutingSettings
	CreatedAt     time.Time
}

func (workspaceRow) TableName() string { return "workspaces" }

func (r *workspaceRow) chat() *chat.Workspace {
	return &chat.Workspace{ID: r.ID, Name: r.Name, RetentionDays: r.RetentionDays, CreatedAt: r.CreatedAt.UTC()}
}

type siteRow struct {
	ID               int64 `gorm:"primaryKey"`
	WorkspaceID      int64
	Name             string
	PublicKey        string
	AllowedOrigins   string // JSON array of strings
	IdentitySecret   string
	IdentityRequired bool
	Settings         string // JSON chat.SiteSettings
	CreatedAt        time.Time
}

func (siteRow) TableName() string { return "sites" }

func (r *siteRow) chat() *chat.Site {
	s := &chat.Site{
		ID:               r.ID,
		WorkspaceID:      r.WorkspaceID,
		Name:             r.Name,
		PublicKey:        r.PublicKey,
		AllowedOrigins:   []string{},
		IdentitySecret:   r.IdentitySecret,
		IdentityRequired: r.IdentityRequired,
		CreatedAt:        r.CreatedAt.UTC(),
	}
	decodeJSON(r.AllowedOrigins, &s.AllowedOrigins)
	decodeJSON(r.Settings, &s.Settings)
	return s
}

type agentRow struct {
	ID             int64 `gorm:"primaryKey"`
	WorkspaceID    int64
	Email          string
	Name           string
	Role           string
	Status         string
	Capacity       int
	LastAssignedAt *time.Time
	StatusSince    *time.Time // when Status last changed
	Active         bool
	PasswordHash   string
	CreatedAt      time.Time
	Timezone       string
	Preferences    string `gorm:"default:{}"` // JSON chat.AgentPreferences; a missing key is true
}

func (agentRow) TableName() string { return "agents" }

// chat maps the row; TeamIDs are filled in by the caller (withTeams).
func (r *agentRow) chat() *chat.Agent {
	return &chat.Agent{
		ID:           r.ID,
		WorkspaceID:  r.WorkspaceID,
		Email:        r.Email,
		Name:         r.Name,
		Role:         r.Role,
		Status:       r.Status,
		Capacity:     r.Capacity,
		Active:       r.Active,
		PasswordHash: r.PasswordHash,
		TeamIDs:      []int64{},
		CreatedAt:    r.CreatedAt.UTC(),
		Timezone:     r.Timezone,
		Preferences:  decodePreferences(r.Preferences),
	}
}

type teamRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	Name        string
	Policy      string
	AutoAssign  bool
	CreatedAt   time.Time
}

func (teamRow) TableName() string { return "teams" }

func (r *teamRow) chat() *chat.Team {
	return &chat.Team{ID: r.ID, WorkspaceID: r.WorkspaceID, Name: r.Name, Policy: r.Policy, AutoAssign: r.AutoAssign, CreatedAt: r.CreatedAt.UTC()}
}

type teamMemberRow struct {
	TeamID    int64 `gorm:"primaryKey;autoIncrement:false"`
	AgentID   int64 `gorm:"primaryKey;autoIncrement:false"`
	CreatedAt time.Time
}

func (teamMemberRow) TableName() string { return "team_members" }

type agentSessionRow struct {
	ID        int64 `gorm:"primaryKey"`
	AgentID   int64
	TokenHash string
	CSRFToken string `gorm:"column:csrf_token"`
	ExpiresAt time.Time
	CreatedAt time.Time
}

func (agentSessionRow) TableName() string { return "agent_sessions" }

func (r *agentSessionRow) chat() *chat.AgentSession {
	return &chat.AgentSession{ID: r.ID, AgentID: r.AgentID, CSRFToken: r.CSRFToken, ExpiresAt: r.ExpiresAt.UTC(), CreatedAt: r.CreatedAt.UTC()}
}

type apiTokenRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	AgentID     int64
	Name        string
	TokenHash   string
	CreatedAt   time.Time
	LastUsedAt  *time.Time
}

func (apiTokenRow) TableName() string { return "api_tokens" }

type setPasswordTokenRow struct {
	ID        int64 `gorm:"primaryKey"`
	AgentID   int64
	TokenHash string
	ExpiresAt time.Time
	CreatedAt time.Time
}

func (setPasswordTokenRow) TableName() string { return "set_password_tokens" }

type visitorRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	SiteID      int64
	ExternalID  string
	Verified    bool
	Name        string
	Email       string
	Attributes  string // JSON object of strings
	LastPage    string
	UserAgent   string
	Locale      string
	LastSeenAt  time.Time
	CreatedAt   time.Time
}

func (visitorRow) TableName() string { return "visitors" }

func (r *visitorRow) chat() *chat.Visitor {
	v := &chat.Visitor{
		ID:          r.ID,
		WorkspaceID: r.WorkspaceID,
		SiteID:      r.SiteID,
		ExternalID:  r.ExternalID,
		Verified:    r.Verified,
		Name:        r.Name,
		Email:       r.Email,
		LastPage:    r.LastPage,
		UserAgent:   r.UserAgent,
		Locale:      r.Locale,
		LastSeenAt:  r.LastSeenAt.UTC(),
		CreatedAt:   r.CreatedAt.UTC(),
	}
	decodeJSON(r.Attributes, &v.Attributes)
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	return v
}

type visitorSessionRow struct {
	ID        int64 `gorm:"primaryKey"`
	VisitorID int64
	SiteID    int64
	TokenHash string
	ExpiresAt time.Time
	CreatedAt time.Time
}

func (visitorSessionRow) TableName() string { return "visitor_sessions" }

func (r *visitorSessionRow) chat() *chat.VisitorSession {
	return &chat.VisitorSession{ID: r.ID, VisitorID: r.VisitorID, SiteID: r.SiteID, ExpiresAt: r.ExpiresAt.UTC(), CreatedAt: r.CreatedAt.UTC()}
}

type conversationRow struct {
	ID                 int64 `gorm:"primaryKey"`
	WorkspaceID        int64
	SiteID             int64
	VisitorID          int64
	ClientID           string
	Status             string
	AssigneeID         *int64
	TeamID             *int64
	Priority           string
	Labels             string // JSON array of strings
	LastSeq            int64
	LastMessageAt      time.Time
	FirstResponseAt    *time.Time
	ResolvedAt         *time.Time
	SnoozedUntil       *time.Time
	AssignedAt         *time.Time
	PreviousAssigneeID *int64
	Rating             *int
	RatingComment      string
	RatedAt            *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func (conversationRow) TableName() string { return "conversations" }

func (r *conversationRow) chat() *chat.Conversation {
	c := &chat.Conversation{
		ID:               r.ID,
		WorkspaceID:      r.WorkspaceID,
		SiteID:           r.SiteID,
		VisitorID:        r.VisitorID,
		ClientID:         r.ClientID,
		Status:           r.Status,
		AssigneeID:       r.AssigneeID,
		TeamID:           r.TeamID,
		Priority:         r.Priority,
		Labels:           []string{},
		LastSeq:          r.LastSeq,
		LastMessageAt:    r.LastMessageAt.UTC(),
		FirstResponseAt:  utcPtr(r.FirstResponseAt),
		ResolvedAt:       utcPtr(r.ResolvedAt),
		SnoozedUntil:     utcPtr(r.SnoozedUntil),
		AssignedAt:       utcPtr(r.AssignedAt),
		PreviousAssignee: r.PreviousAssigneeID,
		Rating:           r.Rating,
		RatingComment:    r.RatingComment,
		RatedAt:          utcPtr(r.RatedAt),
		CreatedAt:        r.CreatedAt.UTC(),
		UpdatedAt:        r.UpdatedAt.UTC(),
	}
	decodeJSON(r.Labels, &c.Labels)
	if c.Labels == nil {
		c.Labels = []string{}
	}
	return c
}

type messageRow struct {
	ID             int64 `gorm:"primaryKey"`
	ConversationID int64
	Seq            int64
	ClientID       string
	AuthorType     string
	AuthorID       int64
	AuthorName     string
	Kind           string
	Body           string
	Attachments    string // JSON array of chat.AttachmentRef
	CreatedAt      time.Time
}

func (messageRow) TableName() string { return "messages" }

func (r *messageRow) chat() *chat.Message {
	m := &chat.Message{
		ID:             r.ID,
		ConversationID: r.ConversationID,
		Seq:            r.Seq,
		ClientID:       r.ClientID,
		AuthorType:     r.AuthorType,
		AuthorID:       r.AuthorID,
		AuthorName:     r.AuthorName,
		Kind:           r.Kind,
		Body:           r.Body,
		CreatedAt:      r.CreatedAt.UTC(),
	}
	decodeJSON(r.Attachments, &m.Attachments)
	if m.Attachments == nil {
		m.Attachments = []chat.AttachmentRef{}
	}
	return m
}

type attachmentRow struct {
	ID             int64 `gorm:"primaryKey"`
	WorkspaceID    int64
	ConversationID int64
	MessageID      *int64 // set once the attachment is sent in a message
	Name           string
	ContentType    string
	Size           int64
	StorageKey     string
	UploaderType   string
	UploaderID     int64
	CreatedAt      time.Time
}

func (attachmentRow) TableName() string { return "attachments" }

func (r *attachmentRow) chat() *chat.Attachment {
	return &chat.Attachment{
		ID:             r.ID,
		WorkspaceID:    r.WorkspaceID,
		ConversationID: r.ConversationID,
		Name:           r.Name,
		ContentType:    r.ContentType,
		Size:           r.Size,
		StorageKey:     r.StorageKey,
		UploaderType:   r.UploaderType,
		UploaderID:     r.UploaderID,
		CreatedAt:      r.CreatedAt.UTC(),
	}
}

type readMarkerRow struct {
	ConversationID int64  `gorm:"primaryKey;autoIncrement:false"`
	ReaderType     string `gorm:"primaryKey"`
	ReaderID       int64  `gorm:"primaryKey;autoIncrement:false"`
	Seq            int64
	UpdatedAt      time.Time
}

func (readMarkerRow) TableName() string { return "read_markers" }

func (r *readMarkerRow) chat() *chat.ReadMarker {
	return &chat.ReadMarker{ConversationID: r.ConversationID, ReaderType: r.ReaderType, ReaderID: r.ReaderID, Seq: r.Seq, UpdatedAt: r.UpdatedAt.UTC()}
}

type outboxRow struct {
	ID           int64 `gorm:"primaryKey"`
	WorkspaceID  int64
	Topic        string
	Payload      string // JSON
	CreatedAt    time.Time
	DispatchedAt *time.Time
	DoneAt       *time.Time
}

func (outboxRow) TableName() string { return "outbox" }

func (r *outboxRow) chat() *chat.OutboxEvent {
	return &chat.OutboxEvent{
		ID:           r.ID,
		WorkspaceID:  r.WorkspaceID,
		Topic:        r.Topic,
		Payload:      json.RawMessage(r.Payload),
		CreatedAt:    r.CreatedAt.UTC(),
		DispatchedAt: utcPtr(r.DispatchedAt),
	}
}

type auditRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	ActorType   string
	ActorID     int64
	Action      string
	Target      string
	Data        *string // JSON, NULL when absent
	CreatedAt   time.Time
}

func (auditRow) TableName() string { return "audit_log" }

func (r *auditRow) chat() *chat.AuditEntry {
	e := &chat.AuditEntry{
		ID:          r.ID,
		WorkspaceID: r.WorkspaceID,
		ActorType:   r.ActorType,
		ActorID:     r.ActorID,
		Action:      r.Action,
		Target:      r.Target,
		CreatedAt:   r.CreatedAt.UTC(),
	}
	if r.Data != nil {
		e.Data = json.RawMessage(*r.Data)
	}
	return e
}

// allRows lists every row struct; the schema test checks each against the
// migrated database.
var allRows = []any{
	&workspaceRow{}, &siteRow{}, &agentRow{}, &teamRow{}, &teamMemberRow{},
	&agentSessionRow{}, &apiTokenRow{}, &setPasswordTokenRow{}, &visitorRow{},
	&visitorSessionRow{}, &conversationRow{}, &messageRow{}, &attachmentRow{},
	&readMarkerRow{}, &outboxRow{}, &auditRow{},
	&savedFilterRow{}, &pageViewRow{}, &cannedRow{}, &labelRow{},
}

// encodeJSON renders a value of one of the plain types stored in JSON
// columns (slices, string maps, structs of those), which cannot fail.
func encodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("store: encode JSON column: " + err.Error())
	}
	return string(b)
}

// decodeJSON reads a JSON column leniently: a damaged value leaves the zero
// value rather than failing every read of the row (the store only writes
// valid JSON, and PostgreSQL's jsonb checks it too).
func decodeJSON(s string, v any) {
	if s != "" {
		_ = json.Unmarshal([]byte(s), v)
	}
}

// decodePreferences reads an agent's preferences over the defaults, so a
// key that was never set reads as true.
func decodePreferences(s string) chat.AgentPreferences {
	p := chat.DefaultAgentPreferences()
	decodeJSON(s, &p)
	return p
}

type savedFilterRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	AgentID     int64
	Name        string
	Query       string // JSON object of strings
	CreatedAt   time.Time
}

func (savedFilterRow) TableName() string { return "saved_filters" }

func (r *savedFilterRow) chat() *chat.SavedFilter {
	f := &chat.SavedFilter{ID: r.ID, WorkspaceID: r.WorkspaceID, AgentID: r.AgentID, Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
	decodeJSON(r.Query, &f.Query)
	if f.Query == nil {
		f.Query = map[string]string{}
	}
	return f
}

type pageViewRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	VisitorID   int64
	URL         string `gorm:"column:url"`
	Title       string
	CreatedAt   time.Time
}

func (pageViewRow) TableName() string { return "page_views" }

func (r *pageViewRow) chat() *chat.PageView {
	return &chat.PageView{URL: r.URL, Title: r.Title, At: r.CreatedAt.UTC()}
}

type cannedRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	Shortcut    string
	Title       string
	Body        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (cannedRow) TableName() string { return "canned_responses" }

func (r *cannedRow) chat() *chat.CannedResponse {
	return &chat.CannedResponse{ID: r.ID, WorkspaceID: r.WorkspaceID, Shortcut: r.Shortcut, Title: r.Title, Body: r.Body,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type labelRow struct {
	ID          int64 `gorm:"primaryKey"`
	WorkspaceID int64
	Name        string
	Color       string
	CreatedAt   time.Time
}

func (labelRow) TableName() string { return "labels" }

func (r *labelRow) chat() *chat.Label {
	return &chat.Label{ID: r.ID, WorkspaceID: r.WorkspaceID, Name: r.Name, Color: r.Color, CreatedAt: r.CreatedAt.UTC()}
}
