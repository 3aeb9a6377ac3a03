package chat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// Export states. An export is created pending, a job moves it to running and
// then to ready (the file is in blob storage) or failed (Error says why).
const (
	ExportPending = "pending"
	ExportRunning = "running"
	ExportReady   = "ready"
	ExportFailed  = "failed"
)

// Export kinds.
const (
	ExportConversation = "conversation" // one conversation as PDF, HTML, text or JSON
	ExportBulk         = "bulk"         // every conversation matching a filter, as a ZIP
)

// Export formats. A conversation export has one of the first four; a bulk
// export is always a zip.
const (
	FormatPDF  = "pdf"
	FormatHTML = "html"
	FormatText = "txt"
	FormatJSON = "json"
	FormatCSV  = "csv" // inside a bulk export only
	FormatZIP  = "zip"
)

// EventExportRequested is the outbox topic of a new export; its payload is
// {"export_id", "workspace_id"}.
const EventExportRequested = "export.requested"

// ExportOptions are what the requester asked for.
type ExportOptions struct {
	IncludeNotes bool   `json:"include_notes"`
	Timezone     string `json:"timezone,omitempty"` // IANA name; "" = UTC
	// Bulk exports only.
	Filter      *ExportFilter `json:"filter,omitempty"`
	Formats     []string      `json:"formats,omitempty"` // json and/or csv
	IncludePDFs bool          `json:"include_pdfs,omitempty"`
}

// ExportFilter selects the conversations of a bulk export: the inbox
// filters, without text search.
type ExportFilter struct {
	Status     string  `json:"status,omitempty"`
	AssigneeID *int64  `json:"assignee_id,omitempty"` // pointer to 0 = unassigned
	Assigned   bool    `json:"assigned,omitempty"`    // assigned to anyone
	TeamID     *int64  `json:"team_id,omitempty"`     // pointer to 0 = no team
	TeamIDs    []int64 `json:"team_ids"`              // non-nil: any of these teams (empty matches nothing)
	SiteID     *int64  `json:"site_id,omitempty"`
	Label      string  `json:"label,omitempty"`
	Priority   string  `json:"priority,omitempty"`
	// From (inclusive) and To (exclusive) bound created_at.
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
}

// ConversationFilter is f as the store's conversation filter.
func (f ExportFilter) ConversationFilter() ConversationFilter {
	return ConversationFilter{Status: f.Status, AssigneeID: f.AssigneeID, Assigned: f.Assigned, TeamID: f.TeamID, TeamIDs: f.TeamIDs,
		SiteID: f.SiteID, Label: f.Label, Priority: f.Priority, CreatedFrom: f.From, CreatedTo: f.To}
}

// Export is a requested file: one conversation rendered, or a bulk ZIP.
type Export struct {
	ID             int64         `json:"id"`
	WorkspaceID    int64         `json:"workspace_id"`
	AgentID        int64         `json:"agent_id"` // who asked (0 once the agent is gone)
	Kind           string        `json:"kind"`
	ConversationID *int64        `json:"conversation_id"`
	Format         string        `json:"format"`
	Options        ExportOptions `json:"options"`
	Status         string        `json:"status"`
	Progress       int           `json:"progress"` // 0-100
	Error          string        `json:"error,omitempty"`
	FileName       string        `json:"file_name,omitempty"`
	ContentType    string        `json:"content_type,omitempty"`
	Size           int64         `json:"size"`
	StorageKey     string        `json:"-"`
	// ExpiresAt is when the file is deleted and every download link stops
	// working (set when the export becomes ready).
	ExpiresAt  *time.Time `json:"expires_at"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// ExportFile describes the finished file of an export.
type ExportFile struct {
	StorageKey  string
	FileName    string
	ContentType string
	Size        int64
	ExpiresAt   time.Time
}

// ExportStore keeps exports and their download links, and reads what bulk
// exports page through.
type ExportStore interface {
	// CreateExport stores e as pending together with its export.requested
	// outbox row, in one transaction, and fills in ID and the times. A
	// conversation export's conversation must be in e.WorkspaceID.
	CreateExport(ctx context.Context, e *Export) error
	Export(ctx context.Context, workspaceID, id int64) (*Export, error)
	// ListExports lists the newest exports first (at most limit, cap 100);
	// agentID 0 lists everyone's.
	ListExports(ctx context.Context, workspaceID, agentID int64, limit int) ([]*Export, error)
	// StartExport moves a pending or running export (a retried job) to
	// running with progress 0. A ready or failed export is ECONFLICT.
	StartExport(ctx context.Context, workspaceID, id int64) (*Export, error)
	// SetExportProgress records progress (0-100) of a running export.
	SetExportProgress(ctx context.Context, workspaceID, id int64, progress int) error
	// FinishExport marks a running export ready with its file.
	FinishExport(ctx context.Context, workspaceID, id int64, f ExportFile) error
	// FailExport marks a pending or running export failed with a reason
	// that is safe to show to the agent.
	FailExport(ctx context.Context, workspaceID, id int64, reason string) error

	// CreateExportLink stores a download link for a ready export: the sha256
	// hex of a random token, valid until expires (never beyond the file's
	// own expiry).
	CreateExportLink(ctx context.Context, workspaceID, exportID int64, tokenHash string, expires time.Time) error
	// ExportByLink finds the ready export a link opens; an unknown, expired
	// or foreign link, or an expired file, is ENOTFOUND.
	ExportByLink(ctx context.Context, exportID int64, tokenHash string) (*Export, error)
	// ExpiredExports lists exports whose file expired before t and is still
	// stored, oldest first; PurgeExport forgets the file (after the caller
	// deleted the blob) and drops expired links.
	ExpiredExports(ctx context.Context, t time.Time, limit int) ([]*Export, error)
	PurgeExport(ctx context.Context, id int64) error

	// ExportConversations pages through the conversations matching f
	// (Query, Cursor and Limit ignored; see ExportFilter) in id order, after afterID, at most
	// limit (cap 1000). Id order is stable while the export runs, unlike
	// the inbox's activity order.
	ExportConversations(ctx context.Context, workspaceID int64, f ConversationFilter, afterID int64, limit int) ([]*Conversation, error)
	// CountConversations counts the conversations matching f, Query, Cursor
	// and Limit ignored: what ExportConversations returns, and the count of
	// a saved filter without a search term.
	CountConversations(ctx context.Context, workspaceID int64, f ConversationFilter) (int64, error)

	// LinkKey returns the server-wide signing key called name, creating a
	// random one on first use (every node and worker then reads the same).
	LinkKey(ctx context.Context, name string) ([]byte, error)
}

// Signed links in emails: the key named LinkKey<Purpose> signs links of that
// purpose; the purpose is also part of the signature, so a link made for one
// use never works for another.
const (
	LinkKeyAttachments = "attachment-links"
	LinkKeyRatings     = "rating-links"

	LinkPurposeAttachment = "attachment"
	LinkPurposeRating     = "rating"
)

// AttachmentLinkTTL is how long an emailed attachment link works.
const AttachmentLinkTTL = 30 * 24 * time.Hour

// RatingLinkTTL is how long the links in a rating request work.
const RatingLinkTTL = 14 * 24 * time.Hour

// linkMAC is the signature of a link to object id for purpose.
func linkMAC(key []byte, purpose string, workspaceID, id, expires int64) []byte {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "switchboard %s link v1\x00%d\x00%d\x00%d", purpose, workspaceID, id, expires)
	return m.Sum(nil)
}

// SignLink returns the query of a link that works without a session until
// expires, for purpose, on object id (an attachment, a conversation):
// "w=<workspace>&e=<unix expiry>&s=<HMAC-SHA256, base64url>".
func SignLink(key []byte, purpose string, workspaceID, id int64, expires time.Time) string {
	e := expires.Unix()
	return "w=" + strconv.FormatInt(workspaceID, 10) + "&e=" + strconv.FormatInt(e, 10) +
		"&s=" + base64.RawURLEncoding.EncodeToString(linkMAC(key, purpose, workspaceID, id, e))
}

// VerifyLink checks a link's workspace, expiry and signature (SignLink's w,
// e and s) for purpose and object id at time now.
func VerifyLink(key []byte, purpose string, id int64, w, e, s string, now time.Time) (workspaceID int64, ok bool) {
	ws, err1 := strconv.ParseInt(w, 10, 64)
	exp, err2 := strconv.ParseInt(e, 10, 64)
	sig, err3 := base64.RawURLEncoding.DecodeString(s)
	if err1 != nil || err2 != nil || err3 != nil || ws <= 0 || now.Unix() >= exp {
		return 0, false
	}
	return ws, hmac.Equal(sig, linkMAC(key, purpose, ws, id, exp))
}
