package api

import (
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// One-time set-password links.
const (
	resetLinkLifetime  = 2 * time.Hour
	inviteLinkLifetime = 72 * time.Hour
)

// publicBase is the origin people reach this server at, for links in
// emails: the configured public URL, or else the scheme and Host of the
// request. Without a public URL a client chooses the Host, so production
// setups should set one (SWITCHBOARD_PUBLIC_URL).
func (s *Server) publicBase(c *echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

func (s *Server) setPasswordLink(c *echo.Context, token string) string {
	return s.publicBase(c) + "/set-password#token=" + token
}

// validEmail reports whether s is a bare address (no display name).
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && len(s) <= 254
}

// forgotPassword answers 202 whatever the email, so nobody can learn which
// addresses have accounts. For an active agent it stores a one-time link,
// valid two hours, and a password.reset_requested outbox row that the jobs
// turn into an email.
func (s *Server) forgotPassword(c *echo.Context) error {
	if !s.sameOrigin(c.Request()) {
		return chat.Errorf(chat.EFORBIDDEN, "cross-origin request refused")
	}
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if !validEmail(email) {
		return chat.Errorf(chat.EINVALID, "email is not a valid address")
	}
	ctx := c.Request().Context()
	accepted := func() error { return c.JSON(http.StatusAccepted, map[string]string{"status": "queued"}) }
	agent, err := s.store.AgentByEmail(ctx, email)
	if chat.ErrorCode(err) == chat.ENOTFOUND || (err == nil && !agent.Active) {
		return accepted()
	} else if err != nil {
		return err
	}
	token, hash := NewToken(prefixSetPass)
	expires := time.Now().Add(resetLinkLifetime).UTC()
	err = s.store.IssuePasswordReset(ctx, agent.ID, hash, expires, map[string]any{
		"workspace_id": agent.WorkspaceID, "email": agent.Email, "name": agent.Name,
		"url": s.setPasswordLink(c, token), "expires_at": expires,
	})
	switch chat.ErrorCode(err) {
	case "":
		s.audit(c, agent, "agent.password_reset_requested", agentTarget(agent.ID), nil)
	case chat.ERATELIMIT, chat.EFORBIDDEN:
		// Throttled or deactivated meanwhile: the answer stays the same.
		s.log.Info("password reset not issued", "agent", agent.ID, "reason", chat.ErrorMessage(err))
	default:
		return err
	}
	return accepted()
}

// preferencesPatch is a partial AgentPreferences.
type preferencesPatch struct {
	NotifyQueue   *bool `json:"notify_queue"`
	NotifyMine    *bool `json:"notify_mine"`
	NotifyMention *bool `json:"notify_mention"`
	Sound         *bool `json:"sound"`
	Desktop       *bool `json:"desktop"`
}

func (p *preferencesPatch) apply(to chat.AgentPreferences) chat.AgentPreferences {
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&to.NotifyQueue, p.NotifyQueue)
	set(&to.NotifyMine, p.NotifyMine)
	set(&to.NotifyMention, p.NotifyMention)
	set(&to.Sound, p.Sound)
	set(&to.Desktop, p.Desktop)
	return to
}

func validAgentName(name *string) error {
	if name == nil {
		return nil
	}
	*name = strings.TrimSpace(*name)
	if *name == "" || utf8.RuneCountInString(*name) > 100 || !utf8.ValidString(*name) {
		return chat.Errorf(chat.EINVALID, "name must have 1 to 100 characters")
	}
	return nil
}

func validTimezone(tz string) error {
	if tz == "" {
		return nil
	}
	if tz == "Local" || len(tz) > 64 {
		return chat.Errorf(chat.EINVALID, "timezone must be an IANA name such as Europe/Paris")
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return chat.Errorf(chat.EINVALID, "unknown timezone %q (want an IANA name such as Europe/Paris)", truncate(tz, 64))
	}
	return nil
}

// patchMe changes the agent's own name, timezone and alert preferences.
// Preferences not given keep their value.
func (s *Server) patchMe(c *echo.Context) error {
	var in struct {
		Name        *string           `json:"name"`
		Timezone    *string           `json:"timezone"`
		Preferences *preferencesPatch `json:"preferences"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := validAgentName(in.Name); err != nil {
		return err
	}
	if in.Timezone != nil {
		*in.Timezone = strings.TrimSpace(*in.Timezone)
		if err := validTimezone(*in.Timezone); err != nil {
			return err
		}
	}
	me := currentAgent(c)
	u := chat.AgentUpdate{Name: in.Name, Timezone: in.Timezone}
	if in.Preferences != nil {
		p := in.Preferences.apply(me.Preferences)
		u.Preferences = &p
	}
	agent, err := s.store.UpdateAgent(c.Request().Context(), me.WorkspaceID, me.ID, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, agent)
}
