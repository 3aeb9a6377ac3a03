package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// upload stores one multipart "file" for a conversation the actor may see.
// The bytes go to blob storage first; the row is written only once they are
// safely stored.
func (s *Server) upload(c *echo.Context, a actor) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	conv, err := s.conversationFor(ctx, a, id)
	if err != nil {
		return err
	}
	limit := s.cfg.MaxUploadBytes
	if !a.isAgent() {
		// A site may lower the limit for its visitors.
		if site, err := s.store.Site(ctx, conv.WorkspaceID, conv.SiteID); err == nil && site.Settings.MaxUploadBytes > 0 {
			limit = min(limit, site.Settings.MaxUploadBytes)
		}
	}
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, limit+1<<20)
	fh, err := c.FormFile("file")
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return chat.Errorf(chat.ETOOLARGE, "file is larger than %s", humanBytes(limit))
		}
		return chat.Errorf(chat.EINVALID, "multipart field \"file\" is required")
	}
	if fh.Size > limit {
		return chat.Errorf(chat.ETOOLARGE, "file is larger than %s", humanBytes(limit))
	}
	name := cleanFileName(fh.Filename)
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	// Sniff the type rather than trusting the client's header.
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	ctype := http.DetectContentType(head[:n])
	if ctype == "application/octet-stream" || strings.HasPrefix(ctype, "text/plain") {
		if byExt := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); byExt != "" && !strings.Contains(byExt, "html") && !strings.Contains(byExt, "javascript") {
			ctype = byExt
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	key, _ := NewToken("")
	key = fmt.Sprintf("%d/%d/%s", conv.WorkspaceID, conv.ID, key[:32])
	size, err := s.blobs.Put(ctx, key, f)
	if err != nil {
		return err
	}
	att := &chat.Attachment{WorkspaceID: conv.WorkspaceID, ConversationID: conv.ID, Name: name, ContentType: ctype, Size: size, StorageKey: key}
	if a.isAgent() {
		att.UploaderType, att.UploaderID = chat.AuthorAgent, a.agent.ID
	} else {
		att.UploaderType, att.UploaderID = chat.AuthorVisitor, a.visitor.ID
	}
	if err := s.store.CreateAttachment(ctx, att); err != nil {
		_ = s.blobs.Delete(ctx, key)
		return err
	}
	return c.JSON(http.StatusCreated, att)
}

// download streams an attachment to someone allowed to see its
// conversation, always as a download so it can never run as a page.
func (s *Server) download(c *echo.Context, a actor) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	att, err := s.store.Attachment(ctx, a.workspaceID(), id)
	if err != nil {
		return err
	}
	if _, err := s.conversationFor(ctx, a, att.ConversationID); err != nil {
		return chat.Errorf(chat.ENOTFOUND, "attachment not found")
	}
	rc, err := s.blobs.Open(ctx, att.StorageKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := c.Response().Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": att.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Content-Length", fmt.Sprint(att.Size))
	return c.Stream(http.StatusOK, att.ContentType, rc)
}

// cleanFileName keeps a display name safe for headers and file systems.
func cleanFileName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 32 || r == 127 || r == '"' || r == '/' {
			return -1
		}
		return r
	}, name)
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	if len(name) > 200 {
		name = name[:200]
	}
	if name == "" || name == "." || name == ".." {
		name = "file"
	}
	return name
}

func (s *Server) widgetUpload(c *echo.Context) error   { return s.upload(c, visitorActor(c)) }
func (s *Server) widgetDownload(c *echo.Context) error { return s.download(c, visitorActor(c)) }
func (s *Server) agentUpload(c *echo.Context) error    { return s.upload(c, agentActor(c)) }
func (s *Server) agentDownload(c *echo.Context) error  { return s.download(c, agentActor(c)) }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.4g MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.4g KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
