package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
)

// availability tells the widget whether to offer live chat or the offline form.
type availability struct {
	Online       bool `json:"online"`
	AgentsOnline int  `json:"agents_online"`
	WithinHours  bool `json:"within_hours"`
}

func (s *Server) availability(ctx context.Context, site *chat.Site) (availability, error) {
	agents, err := s.store.ListAgents(ctx, site.WorkspaceID)
	if err != nil {
		return availability{}, err
	}
	s.effectiveStatus(ctx, agents)
	var a availability
	for _, ag := range agents {
		if ag.Active && ag.Status == chat.StatusOnline {
			a.AgentsOnline++
		}
	}
	a.WithinHours = withinHours(site.Settings, time.Now())
	a.Online = a.AgentsOnline > 0 && a.WithinHours
	return a, nil
}

// withinHours reports whether t falls in the site's business hours, in the
// site's timezone. No hours configured means always open.
func withinHours(st chat.SiteSettings, t time.Time) bool {
	if len(st.BusinessHours) == 0 {
		return true
	}
	loc := time.UTC
	if st.Timezone != "" {
		if l, err := time.LoadLocation(st.Timezone); err == nil {
			loc = l
		}
	}
	local := t.In(loc)
	now := local.Format("15:04")
	for _, h := range st.BusinessHours {
		if h.Day == int(local.Weekday()) && h.Open <= now && now < h.Shut {
			return true
		}
	}
	return false
}

func (s *Server) visitorSite(c *echo.Context) (*chat.Visitor, *chat.Site, error) {
	v := currentVisitor(c)
	site, err := s.store.Site(c.Request().Context(), v.WorkspaceID, v.SiteID)
	return v, site, err
}

func (s *Server) widgetAvailability(c *echo.Context) error {
	_, site, err := s.visitorSite(c)
	if err != nil {
		return err
	}
	a, err := s.availability(c.Request().Context(), site)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// visitorFields are the profile fields a widget may set.
type visitorFields struct {
	Name       *string           `json:"name"`
	Email      *string           `json:"email"`
	Attributes map[string]string `json:"attributes"`
	Locale     *string           `json:"locale"`
}

func (f *visitorFields) validate() error {
	if f.Name != nil {
		*f.Name = strings.TrimSpace(*f.Name)
		if utf8.RuneCountInString(*f.Name) > 200 {
			return chat.Errorf(chat.EINVALID, "name must be at most 200 characters")
		}
	}
	if f.Email != nil {
		*f.Email = strings.TrimSpace(*f.Email)
		if *f.Email != "" {
			if !validEmail(*f.Email) {
				return chat.Errorf(chat.EINVALID, "email is not a valid address")
			}
		}
	}
	if f.Locale != nil && len(*f.Locale) > 35 {
		return chat.Errorf(chat.EINVALID, "locale must be a language tag")
	}
	if len(f.Attributes) > 50 {
		return chat.Errorf(chat.EINVALID, "at most 50 attributes")
	}
	for k, v := range f.Attributes {
		if k == "" || len(k) > 64 || utf8.RuneCountInString(v) > 1000 || !utf8.ValidString(k+v) {
			return chat.Errorf(chat.EINVALID, "attribute names have 1-64 characters and values at most 1000")
		}
	}
	return nil
}

// apply copies the fields onto v. A verified visitor's name and email come
// from the site's own identify call and are not overwritten from the page.
func (f *visitorFields) apply(v *chat.Visitor) {
	if f.Name != nil && !v.Verified {
		v.Name = *f.Name
	}
	if f.Email != nil && !v.Verified {
		v.Email = *f.Email
	}
	if f.Locale != nil {
		v.Locale = *f.Locale
	}
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	for k, val := range f.Attributes {
		if len(v.Attributes) >= 100 {
			break
		}
		v.Attributes[k] = val
	}
}

func (s *Server) patchVisitor(c *echo.Context) error {
	var in visitorFields
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	cur := currentVisitor(c)
	v, err := s.store.EditVisitor(c.Request().Context(), cur.WorkspaceID, cur.ID, func(v *chat.Visitor) error {
		in.apply(v)
		v.LastSeenAt = time.Now()
		return nil
	})
	if err != nil {
		return err
	}
	s.publishVisitor(c.Request().Context(), v)
	return c.JSON(http.StatusOK, v)
}

func (s *Server) publishVisitor(ctx context.Context, v *chat.Visitor) {
	s.publish(ctx, workspaceTopic(v.WorkspaceID), &realtime.Event{Kind: "visitor.updated",
		Frame: mustJSON(map[string]any{"type": "visitor.updated", "visitor": v})})
}

// verifyIdentity checks hash = hex(HMAC-SHA256(secret, id)).
func verifyIdentity(secret, id, hash string) bool {
	if secret == "" || hash == "" {
		return false
	}
	got, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(hash)))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id))
	return hmac.Equal(got, m.Sum(nil))
}

// identify attaches the site's own user id to the visitor. With a valid
// hash the visitor becomes verified, and an existing verified visitor with
// that id is resumed (their history follows them across browsers). An
// unverified identity never touches a verified visitor: it gets a visitor
// of its own.
func (s *Server) identify(c *echo.Context) error {
	var in struct {
		ID string `json:"id"`
		visitorFields
		Hash string `json:"hash"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	in.ID = strings.TrimSpace(in.ID)
	if in.ID == "" || len(in.ID) > 200 {
		return chat.Errorf(chat.EINVALID, "id is required (at most 200 characters)")
	}
	if err := in.visitorFields.validate(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, site, err := s.visitorSite(c)
	if err != nil {
		return err
	}
	verified := verifyIdentity(site.IdentitySecret, in.ID, in.Hash)
	if !verified && (site.IdentityRequired || in.Hash != "") {
		return chat.Errorf(chat.EFORBIDDEN, "identity verification failed: hash must be the hex HMAC-SHA256 of id with the site's identity secret")
	}
	token := bearer(c.Request())
	target := v
	switch {
	case verified:
		existing, err := s.store.VerifiedVisitor(ctx, site.ID, in.ID)
		switch {
		case err == nil:
			target = existing
		case chat.ErrorCode(err) != chat.ENOTFOUND:
			return err
		case v.ExternalID != "" && v.ExternalID != in.ID:
			target = nil // another user on this browser: a fresh visitor
		}
	case v.Verified:
		target = nil // unverified data never lands on a verified visitor
	}
	if target == nil {
		// A fresh visitor row: the same per-address budget as a new session.
		if err := s.limits.newVisitor(c); err != nil {
			return err
		}
		target = &chat.Visitor{WorkspaceID: v.WorkspaceID, SiteID: v.SiteID, LastPage: v.LastPage, UserAgent: v.UserAgent,
			Locale: v.Locale, Attributes: map[string]string{}, LastSeenAt: time.Now()}
		if err := s.store.CreateVisitor(ctx, target); err != nil {
			return err
		}
	}
	// Fields are applied before the verified flag so verified identities
	// can set their own name and email.
	moved := target.ID != v.ID
	target, err = s.store.EditVisitor(ctx, target.WorkspaceID, target.ID, func(t *chat.Visitor) error {
		t.Verified = false
		in.visitorFields.apply(t)
		t.ExternalID, t.Verified = in.ID, verified
		t.LastSeenAt = time.Now()
		if moved {
			t.LastPage, t.UserAgent = v.LastPage, v.UserAgent
		}
		return nil
	})
	if err != nil {
		return err
	}
	if moved {
		var hash string
		token, hash = NewToken(prefixVisitor)
		if _, err := s.store.CreateVisitorSession(ctx, target.ID, site.ID, hash, time.Now().Add(visitorLifetime)); err != nil {
			return err
		}
	}
	s.publishVisitor(ctx, target)
	return c.JSON(http.StatusOK, map[string]any{"token": token, "visitor": target})
}

func (s *Server) rateConversation(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Score   int    `json:"score"`
		Comment string `json:"comment"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v := currentVisitor(c)
	ctx := c.Request().Context()
	conv, err := s.store.RateConversation(ctx, v.WorkspaceID, id, v.ID, in.Score, in.Comment)
	if err != nil {
		return err
	}
	s.publishConversation(ctx, conv)
	return c.JSON(http.StatusOK, forVisitor(conv))
}

// requestTranscript records "email me this conversation"; the jobs send it.
func (s *Server) requestTranscript(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	in.Email = strings.TrimSpace(in.Email)
	if !validEmail(in.Email) {
		return chat.Errorf(chat.EINVALID, "email is not a valid address")
	}
	ctx := c.Request().Context()
	v := currentVisitor(c)
	conv, err := s.conversationFor(ctx, actor{visitor: v}, id)
	if err != nil {
		return err
	}
	err = s.store.AddOutboxEvent(ctx, conv.WorkspaceID, chat.EventTranscriptRequested, map[string]any{
		"conversation_id": conv.ID, "visitor_id": v.ID, "email": in.Email, "locale": v.Locale})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"status": "queued"})
}

// trackPage records the page a visitor is on (sent by the widget on load
// and on single-page-app navigation) and tells the agents.
func (s *Server) trackPage(ctx context.Context, v *chat.Visitor, url, title string) error {
	url, title = strings.TrimSpace(url), strings.TrimSpace(title)
	if url == "" {
		return chat.Errorf(chat.EINVALID, "url is required")
	}
	page := truncate(url, 2048)
	saved, err := s.store.EditVisitor(ctx, v.WorkspaceID, v.ID, func(v *chat.Visitor) error {
		v.LastPage, v.LastSeenAt = page, time.Now()
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.store.AddPageView(ctx, v.WorkspaceID, v.ID, saved.LastPage, truncate(title, 300)); err != nil {
		return err
	}
	s.publish(ctx, workspaceTopic(v.WorkspaceID), &realtime.Event{Kind: "visitor.page", Frame: mustJSON(map[string]any{
		"type": "visitor.page", "visitor_id": v.ID, "url": saved.LastPage, "title": truncate(title, 300)})})
	return nil
}

// demoPage is a plain host page with the install snippet for the demo site.
const demoPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard demo shop</title>
<link rel="stylesheet" href="/demo.css">
</head>
<body>
<header><strong>Acme Outdoor</strong> <nav><a href="#tents">Tents</a> <a href="#boots">Boots</a> <a href="#help">Help</a></nav></header>
<main>
<h1>Gear for every trail</h1>
<p>This page is a stand-in for your own site. It embeds the Switchboard widget with the two lines below, exactly as you would.
Open the chat bubble in the corner and say hello, then answer yourself from the <a href="/" target="_blank">agent console</a>.</p>
<pre>&lt;script&gt;window.Switchboard=window.Switchboard||function(){(Switchboard.q=Switchboard.q||[]).push(arguments)};&lt;/script&gt;
&lt;script src="/widget.js" data-site="demo" async&gt;&lt;/script&gt;</pre>
</main>
<script src="/demo.js"></script>
<script src="/widget.js" data-site="demo" async></script>
</body>
</html>
`

const demoCSS = `body{font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2937;background:#f8fafc}
header{display:flex;justify-content:space-between;align-items:center;padding:16px 32px;background:#fff;border-bottom:1px solid #e5e7eb}
nav a{margin-left:20px;color:#4b5563;text-decoration:none}main{max-width:760px;margin:48px auto;padding:0 24px}
h1{font-size:40px;margin:0 0 16px}pre{background:#0f172a;color:#e2e8f0;padding:16px;border-radius:8px;white-space:pre-wrap;word-break:break-all;font-size:13px}
`

// The stub lives in a file so the demo page needs no inline script.
const demoJS = `window.Switchboard=window.Switchboard||function(){(Switchboard.q=Switchboard.q||[]).push(arguments)};`

func (s *Server) demoRoutes() {
	serve := func(ctype, body string) echo.HandlerFunc {
		return func(c *echo.Context) error {
			c.Response().Header().Set("Cache-Control", "no-cache")
			return c.Blob(http.StatusOK, ctype, []byte(body))
		}
	}
	s.echo.GET("/demo", serve("text/html; charset=utf-8", demoPage))
	s.echo.GET("/demo.css", serve("text/css; charset=utf-8", demoCSS))
	s.echo.GET("/demo.js", serve("text/javascript; charset=utf-8", demoJS))
}
