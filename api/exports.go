package api

import (
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Exports (docs/exports.md): an agent asks for a conversation as PDF, HTML,
// text or JSON, or an admin for a ZIP of every conversation matching a
// filter. The request is an exports row plus an export.requested outbox
// row in one transaction; a job renders the file into blob storage. The
// status shows progress and, once ready, a download link: a random token
// (only its hash is stored) that stops working after exportLinkTTL, and
// with the file, which is deleted after the worker's file TTL (7 days).

const (
	// exportLinkTTL is how long a download link works.
	exportLinkTTL = 24 * time.Hour
	// maxActiveExports bounds one agent's unfinished exports.
	maxActiveExports = 5
)

// exportView is an export as the API shows it.
type exportView struct {
	*chat.Export
	DownloadURL       string     `json:"download_url,omitempty"`
	DownloadExpiresAt *time.Time `json:"download_expires_at,omitempty"`
	Expired           bool       `json:"expired,omitempty"` // ready once, file deleted since
}

// visibleExport loads an export the agent may see: their own, or any of
// the workspace's for an admin. Anything else is ENOTFOUND.
func (s *Server) visibleExport(c *echo.Context) (*chat.Export, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	me := currentAgent(c)
	exp, err := s.store.Export(c.Request().Context(), me.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	if exp.AgentID != me.ID && me.Role != chat.RoleAdmin {
		return nil, chat.Errorf(chat.ENOTFOUND, "export not found")
	}
	return exp, nil
}

// checkActiveExports refuses a new export while the agent has too many
// unfinished ones.
func (s *Server) checkActiveExports(c *echo.Context, me *chat.Agent) error {
	recent, err := s.store.ListExports(c.Request().Context(), me.WorkspaceID, me.ID, 50)
	if err != nil {
		return err
	}
	active := 0
	for _, e := range recent {
		if e.Status == chat.ExportPending || e.Status == chat.ExportRunning {
			active++
		}
	}
	if active >= maxActiveExports {
		return chat.Errorf(chat.ERATELIMIT, "%d exports are still running; wait for one to finish", active)
	}
	return nil
}

// exportTimezone validates a requested zone, defaulting to the agent's.
func exportTimezone(tz string, me *chat.Agent) (string, error) {
	tz = strings.TrimSpace(tz)
	if tz == "" {
		tz = me.Timezone
	}
	if tz == "" {
		return "UTC", nil
	}
	if len(tz) > 64 {
		return "", chat.Errorf(chat.EINVALID, "timezone must be an IANA name such as Europe/Paris")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return "", chat.Errorf(chat.EINVALID, "unknown timezone %q (want an IANA name such as Europe/Paris)", tz)
	}
	return tz, nil
}

// exportConversation: POST /conversations/:id/export.
func (s *Server) exportConversation(c *echo.Context) error {
	me := currentAgent(c)
	ctx := c.Request().Context()
	conv, err := s.conversationFor(ctx, agentActor(c), mustPathID(c))
	if err != nil {
		return err
	}
	var in struct {
		Format       string `json:"format"`
		IncludeNotes bool   `json:"include_notes"`
		Timezone     string `json:"timezone"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	in.Format = strings.ToLower(strings.TrimSpace(in.Format))
	switch in.Format {
	case chat.FormatPDF, chat.FormatHTML, chat.FormatText, chat.FormatJSON:
	case "text":
		in.Format = chat.FormatText
	default:
		return chat.Errorf(chat.EINVALID, "format must be pdf, html, txt or json")
	}
	tz, err := exportTimezone(in.Timezone, me)
	if err != nil {
		return err
	}
	if err := s.checkActiveExports(c, me); err != nil {
		return err
	}
	exp := &chat.Export{WorkspaceID: me.WorkspaceID, AgentID: me.ID, Kind: chat.ExportConversation, ConversationID: &conv.ID,
		Format: in.Format, Options: chat.ExportOptions{IncludeNotes: in.IncludeNotes, Timezone: tz}}
	if err := s.store.CreateExport(ctx, exp); err != nil {
		return err
	}
	s.audit(c, me, "conversation.exported", fmt.Sprintf("conversation:%d", conv.ID),
		mustJSON(map[string]any{"export_id": exp.ID, "format": exp.Format, "include_notes": in.IncludeNotes}))
	return c.JSON(http.StatusAccepted, map[string]any{"export_id": exp.ID, "export": exportView{Export: exp}})
}

// mustPathID reads :id, mapping a malformed one to 0 (which is not found).
func mustPathID(c *echo.Context) int64 {
	id, _ := pathID(c, "id")
	return id
}

// bulkFilter reads a bulk export's filter, written like the inbox's query
// parameters: status, assignee (me|none|any|id), team (mine|none|id), site,
// label, priority, from, to (RFC 3339). Numbers may be JSON numbers.
func bulkFilter(me *chat.Agent, raw map[string]any) (*chat.ExportFilter, error) {
	get := func(name string) string {
		switch v := raw[name].(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	}
	known := []string{"status", "assignee", "team", "site", "label", "priority", "from", "to"}
	for k, v := range raw {
		if !slices.Contains(known, k) {
			return nil, chat.Errorf(chat.EINVALID, "filter.%s is not supported (use %s)", k, strings.Join(known, ", "))
		}
		switch v.(type) {
		case string, float64, nil:
		default:
			return nil, chat.Errorf(chat.EINVALID, "filter.%s must be a string", k)
		}
	}
	f, err := conversationFilter(me, get)
	if err != nil {
		return nil, chat.Errorf(chat.EINVALID, "filter: %s", chat.ErrorMessage(err))
	}
	return &chat.ExportFilter{Status: f.Status, AssigneeID: f.AssigneeID, Assigned: f.Assigned, TeamID: f.TeamID, TeamIDs: f.TeamIDs,
		SiteID: f.SiteID, Label: f.Label, Priority: f.Priority, From: f.CreatedFrom, To: f.CreatedTo}, nil
}

// createBulkExport: POST /exports (admins).
func (s *Server) createBulkExport(c *echo.Context) error {
	me := currentAgent(c)
	var in struct {
		Filter       map[string]any `json:"filter"`
		Formats      []string       `json:"formats"`
		IncludePDFs  bool           `json:"include_pdfs"`
		IncludeNotes bool           `json:"include_notes"`
		Timezone     string         `json:"timezone"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	filter, err := bulkFilter(me, in.Filter)
	if err != nil {
		return err
	}
	formats := []string{}
	for _, f := range in.Formats {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != chat.FormatJSON && f != chat.FormatCSV {
			return chat.Errorf(chat.EINVALID, "formats may hold json and csv")
		}
		if !slices.Contains(formats, f) {
			formats = append(formats, f)
		}
	}
	if len(formats) == 0 {
		formats = []string{chat.FormatJSON, chat.FormatCSV}
	}
	tz, err := exportTimezone(in.Timezone, me)
	if err != nil {
		return err
	}
	if err := s.checkActiveExports(c, me); err != nil {
		return err
	}
	exp := &chat.Export{WorkspaceID: me.WorkspaceID, AgentID: me.ID, Kind: chat.ExportBulk, Format: chat.FormatZIP,
		Options: chat.ExportOptions{Filter: filter, Formats: formats, IncludePDFs: in.IncludePDFs, IncludeNotes: in.IncludeNotes, Timezone: tz}}
	ctx := c.Request().Context()
	if err := s.store.CreateExport(ctx, exp); err != nil {
		return err
	}
	s.audit(c, me, "conversations.exported", fmt.Sprintf("export:%d", exp.ID), mustJSON(exp.Options))
	return c.JSON(http.StatusAccepted, map[string]any{"export_id": exp.ID, "export": exportView{Export: exp}})
}

// listExports: GET /exports — mine, or everyone's for an admin with all=true.
func (s *Server) listExports(c *echo.Context) error {
	me := currentAgent(c)
	agentID := me.ID
	if c.QueryParam("all") == "true" {
		if me.Role != chat.RoleAdmin {
			return chat.Errorf(chat.EFORBIDDEN, "only admins can list everyone's exports")
		}
		agentID = 0
	}
	exps, err := s.store.ListExports(c.Request().Context(), me.WorkspaceID, agentID, 50)
	if err != nil {
		return err
	}
	out := make([]exportView, len(exps))
	for i, e := range exps {
		out[i] = exportView{Export: e, Expired: e.Status == chat.ExportReady && e.StorageKey == ""}
	}
	return c.JSON(http.StatusOK, map[string]any{"exports": out})
}

// getExport: GET /exports/:id — the status, and a fresh download link once
// the export is ready.
func (s *Server) getExport(c *echo.Context) error {
	exp, err := s.visibleExport(c)
	if err != nil {
		return err
	}
	v := exportView{Export: exp}
	if exp.Status == chat.ExportReady {
		token, hash := NewToken("")
		expires := time.Now().Add(exportLinkTTL)
		switch err := s.store.CreateExportLink(c.Request().Context(), exp.WorkspaceID, exp.ID, hash, expires); chat.ErrorCode(err) {
		case "":
			if exp.ExpiresAt != nil && exp.ExpiresAt.Before(expires) {
				expires = *exp.ExpiresAt
			}
			v.DownloadURL = fmt.Sprintf("%s/api/v1/exports/%d/download?token=%s", strings.TrimRight(s.cfg.PublicURL, "/"), exp.ID, token)
			v.DownloadExpiresAt = &expires
		case chat.ECONFLICT:
			v.Expired = true // the file is gone
		default:
			return err
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store") // the link is a credential
	return c.JSON(http.StatusOK, v)
}

// downloadExport: GET /exports/:id/download?token=... — the token is the
// credential (no session needed, so the link works in a new tab or from
// curl); an unknown or expired token is 404.
func (s *Server) downloadExport(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	token := c.QueryParam("token")
	if token == "" || len(token) > 128 {
		return chat.Errorf(chat.ENOTFOUND, "download link not found or expired")
	}
	ctx := c.Request().Context()
	exp, err := s.store.ExportByLink(ctx, id, HashToken(token))
	if err != nil {
		return err
	}
	rc, err := s.blobs.Open(ctx, exp.StorageKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": cleanFileName(exp.FileName)}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if exp.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(exp.Size, 10))
	}
	ctype := exp.ContentType
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return c.Stream(http.StatusOK, ctype, rc)
}

// sharedAttachment: GET /shared/attachments/:id?w=&e=&s= — an attachment
// linked from a visitor's transcript email. The signature (a server-wide
// key, see chat.SignLink) is the credential; an expired, altered
// or foreign link is 404.
func (s *Server) sharedAttachment(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	key, err := s.store.LinkKey(ctx, chat.LinkKeyAttachments)
	if err != nil {
		return err
	}
	ws, ok := chat.VerifyLink(key, chat.LinkPurposeAttachment, id, c.QueryParam("w"), c.QueryParam("e"), c.QueryParam("s"), time.Now())
	if !ok {
		return chat.Errorf(chat.ENOTFOUND, "link not found or expired")
	}
	att, err := s.store.Attachment(ctx, ws, id)
	if err != nil {
		return err
	}
	rc, err := s.blobs.Open(ctx, att.StorageKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": cleanFileName(att.Name)}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Length", strconv.FormatInt(att.Size, 10))
	return c.Stream(http.StatusOK, att.ContentType, rc)
}
