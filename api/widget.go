package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// originAllowed reports whether a visitor request may come from origin:
// the widget iframe (this server's origin), any origin when the site lists
// none, or one of the site's allowed origins.
func (s *Server) originAllowed(r *http.Request, site *chat.Site) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || s.sameOrigin(r) || len(site.AllowedOrigins) == 0 {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	for _, allowed := range site.AllowedOrigins {
		a, err := url.Parse(allowed)
		if err == nil && strings.EqualFold(a.Scheme, u.Scheme) && strings.EqualFold(a.Host, u.Host) {
			return true
		}
	}
	return false
}

type publicSite struct {
	Name      string            `json:"name"`
	PublicKey string            `json:"public_key"`
	Settings  chat.SiteSettings `json:"settings"`
}

type widgetSessionResponse struct {
	Token        string        `json:"token"`
	Visitor      *chat.Visitor `json:"visitor"`
	Site         publicSite    `json:"site"`
	Availability availability  `json:"availability"`
	ExpiresAt    time.Time     `json:"expires_at"`
}

// widgetSession hands the widget a bearer token for one site: the existing
// visitor's when the given token is still valid for that site, else a new
// anonymous visitor's. New visitors are rate limited per client address,
// resumes per visitor (widget_limits.go).
func (s *Server) widgetSession(c *echo.Context) error {
	var in struct {
		Site   string `json:"site"`
		Token  string `json:"token"`
		Page   string `json:"page"`
		Locale string `json:"locale"`
		Origin string `json:"origin"` // the host page, as the widget iframe reports it
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Site == "" || len(in.Site) > 100 {
		return chat.Errorf(chat.EINVALID, "site is required")
	}
	// Without a token this can only create a visitor: count it against the
	// client's address before any database work (widget_limits.go).
	if in.Token == "" {
		if err := s.limits.newVisitor(c); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	site, err := s.store.SiteByKey(ctx, in.Site)
	if err != nil {
		return err
	}
	if !s.originAllowed(c.Request(), site) {
		return chat.Errorf(chat.EFORBIDDEN, "this origin is not allowed for the site")
	}
	// From the iframe (our own origin) the browser's Origin says nothing
	// about the host page: check the page origin the frame reports too.
	// (frame-ancestors on frame.html is what stops other pages embedding it.)
	if in.Origin != "" && s.sameOrigin(c.Request()) {
		hostReq := c.Request().Clone(c.Request().Context())
		hostReq.Header.Set("Origin", in.Origin)
		hostReq.Host = "" // never "same origin" as the chat server itself
		if !s.originAllowed(hostReq, site) {
			return chat.Errorf(chat.EFORBIDDEN, "this origin is not allowed for the site")
		}
	}
	if len(in.Page) > 2048 {
		in.Page = in.Page[:2048]
	}
	if len(in.Locale) > 35 {
		in.Locale = ""
	}
	ua := c.Request().UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	avail, err := s.availability(ctx, site)
	if err != nil {
		return err
	}
	if in.Token != "" {
		v, sess, err := s.store.VisitorBySession(ctx, HashToken(in.Token))
		if err == nil && sess.SiteID == site.ID {
			if err := s.limits.visitorWrite(c, v.ID); err != nil {
				return err
			}
			v, err = s.store.EditVisitor(ctx, v.WorkspaceID, v.ID, func(v *chat.Visitor) error {
				v.LastSeenAt, v.UserAgent = time.Now(), ua
				if in.Page != "" {
					v.LastPage = in.Page
				}
				if in.Locale != "" {
					v.Locale = in.Locale
				}
				return nil
			})
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, widgetSessionResponse{Token: in.Token, Visitor: v, Site: toPublicSite(site), Availability: avail, ExpiresAt: sess.ExpiresAt})
		}
		// A stale or foreign token: this becomes a new visitor after all.
		if err := s.limits.newVisitor(c); err != nil {
			return err
		}
	}
	v := &chat.Visitor{WorkspaceID: site.WorkspaceID, SiteID: site.ID, LastPage: in.Page, Locale: in.Locale,
		UserAgent: ua, LastSeenAt: time.Now(), Attributes: map[string]string{}}
	if err := s.store.CreateVisitor(ctx, v); err != nil {
		return err
	}
	token, hash := NewToken(prefixVisitor)
	sess, err := s.store.CreateVisitorSession(ctx, v.ID, site.ID, hash, time.Now().Add(visitorLifetime))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, widgetSessionResponse{Token: token, Visitor: v, Site: toPublicSite(site), Availability: avail, ExpiresAt: sess.ExpiresAt})
}

func toPublicSite(s *chat.Site) publicSite {
	return publicSite{Name: s.Name, PublicKey: s.PublicKey, Settings: s.Settings}
}

func visitorActor(c *echo.Context) actor { return actor{visitor: currentVisitor(c)} }

func pathID(c *echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, chat.Errorf(chat.ENOTFOUND, "not found")
	}
	return id, nil
}

func (s *Server) widgetConversations(c *echo.Context) error {
	v := currentVisitor(c)
	convs, err := s.store.VisitorConversations(c.Request().Context(), v.WorkspaceID, v.ID)
	if err != nil {
		return err
	}
	out := make([]visitorConversation, 0, len(convs))
	for _, conv := range convs {
		out = append(out, forVisitor(conv))
	}
	return c.JSON(http.StatusOK, map[string]any{"conversations": out})
}

func (s *Server) widgetCreateConversation(c *echo.Context) error {
	var in struct {
		ClientID string `json:"client_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.ClientID == "" || len(in.ClientID) > chat.MaxClientIDLen {
		return chat.Errorf(chat.EINVALID, "client_id is required (at most %d characters)", chat.MaxClientIDLen)
	}
	v := currentVisitor(c)
	ctx := c.Request().Context()
	conv, created, err := s.store.CreateConversation(ctx, chat.NewConversation{
		WorkspaceID: v.WorkspaceID, SiteID: v.SiteID, VisitorID: v.ID, ClientID: in.ClientID})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.publishConversation(ctx, conv)
		s.newConversation(ctx, conv)
	}
	return c.JSON(status, forVisitor(conv))
}

func (s *Server) widgetConversation(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	conv, err := s.conversationFor(c.Request().Context(), visitorActor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, forVisitor(conv))
}

// pageParams reads after_seq and limit.
func pageParams(c *echo.Context) (afterSeq int64, limit int, err error) {
	if v := c.QueryParam("after_seq"); v != "" {
		if afterSeq, err = strconv.ParseInt(v, 10, 64); err != nil || afterSeq < 0 {
			return 0, 0, chat.Errorf(chat.EINVALID, "after_seq must be a non-negative integer")
		}
	}
	limit = 100
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			return 0, 0, chat.Errorf(chat.EINVALID, "limit must be between 1 and 500")
		}
	}
	return afterSeq, limit, nil
}

func (s *Server) messages(c *echo.Context, a actor) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	afterSeq, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	conv, err := s.conversationFor(ctx, a, id)
	if err != nil {
		return err
	}
	msgs, err := s.store.Messages(ctx, conv.WorkspaceID, conv.ID, afterSeq, limit, a.isAgent())
	if err != nil {
		return err
	}
	if msgs == nil {
		msgs = []*chat.Message{}
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": msgs, "last_seq": conv.LastSeq})
}

func (s *Server) widgetMessages(c *echo.Context) error { return s.messages(c, visitorActor(c)) }

type sendRequest struct {
	ClientID      string  `json:"client_id"`
	Body          string  `json:"body"`
	AttachmentIDs []int64 `json:"attachment_ids"`
	Private       bool    `json:"private"`
}

func (s *Server) sendREST(c *echo.Context, a actor, private bool) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in sendRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	msg, created, err := s.send(c.Request().Context(), a, sendInput{
		ConversationID: id, ClientID: in.ClientID, Body: in.Body, AttachmentIDs: in.AttachmentIDs, Private: in.Private || private,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, msg)
}

func (s *Server) widgetSend(c *echo.Context) error { return s.sendREST(c, visitorActor(c), false) }

func (s *Server) readREST(c *echo.Context, a actor) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Seq int64 `json:"seq"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.markRead(c.Request().Context(), a, id, in.Seq, ""); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) widgetRead(c *echo.Context) error { return s.readREST(c, visitorActor(c)) }
