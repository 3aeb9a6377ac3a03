package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
)

// Administration: sites, agents, teams, canned responses, labels, API
// tokens, workspace settings and the audit log. Writes are for admins
// (requireAdmin); a few reads are open to every agent where the console
// needs them (canned responses, labels, teams, sites without their secret).
// Every change is written to the audit log.

// requireAdmin runs after requireAgent: agents who are not admins get 403.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if a := currentAgent(c); a == nil || a.Role != chat.RoleAdmin {
			return chat.Errorf(chat.EFORBIDDEN, "only admins can do this")
		}
		return next(c)
	}
}

func isAdmin(c *echo.Context) bool {
	a := currentAgent(c)
	return a != nil && a.Role == chat.RoleAdmin
}

func agentTarget(id int64) string { return fmt.Sprintf("agent:%d", id) }

// ---- sites ----

// adminSite is a site as admins see it: with the identity secret.
type adminSite struct {
	*chat.Site
	IdentitySecret string `json:"identity_secret"`
}

// siteView shows the identity secret to admins only.
func siteView(c *echo.Context, site *chat.Site) any {
	if isAdmin(c) {
		return adminSite{Site: site, IdentitySecret: site.IdentitySecret}
	}
	return site
}

func newIdentitySecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

var (
	hexColor    = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	clockTime   = regexp.MustCompile(`^(?:[01][0-9]|2[0-3]):[0-5][0-9]$`)
	languageTag = regexp.MustCompile(`^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$`)
	fieldName   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

func tooLong(s string, n int) bool { return utf8.RuneCountInString(s) > n || !utf8.ValidString(s) }

// cleanOrigins normalises allowed origins to scheme://host[:port].
func cleanOrigins(in []string) ([]string, error) {
	if len(in) > 50 {
		return nil, chat.Errorf(chat.EINVALID, "at most 50 allowed origins")
	}
	out := []string{}
	for _, o := range in {
		u, err := url.Parse(strings.TrimSpace(o))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, chat.Errorf(chat.EINVALID, "allowed origin %q must look like https://www.example.com", truncate(o, 100))
		}
		clean := u.Scheme + "://" + strings.ToLower(u.Host)
		if !slices.Contains(out, clean) {
			out = append(out, clean)
		}
	}
	return out, nil
}

// validateSettings checks a site's widget settings; maxUpload is the
// server's own cap on attachments.
func validateSettings(st *chat.SiteSettings, maxUpload int64) error {
	bad := func(format string, args ...any) error {
		return chat.Errorf(chat.EINVALID, "settings: "+format, args...)
	}
	switch {
	case st.Color != "" && !hexColor.MatchString(st.Color):
		return bad("color must be a hex color such as #3355ff")
	case st.Position != "" && st.Position != "right" && st.Position != "left":
		return bad("position must be right or left")
	case tooLong(st.Greeting, 500):
		return bad("greeting must be at most 500 characters")
	case tooLong(st.OfflineMessage, 2000):
		return bad("offline_message must be at most 2000 characters")
	case st.Locale != "" && !languageTag.MatchString(st.Locale):
		return bad("locale must be a language tag such as en or pt-BR")
	case st.MaxUploadBytes < 0 || st.MaxUploadBytes > maxUpload:
		return bad("max_upload_bytes must be between 0 (the server's limit) and %d", maxUpload)
	case len(st.BusinessHours) > 50:
		return bad("at most 50 business hours entries")
	case len(st.PreChatFields) > 20:
		return bad("at most 20 pre-chat fields")
	case len(st.Proactive) > 20:
		return bad("at most 20 proactive rules")
	case st.AutoCloseHours < 0 || st.AutoCloseHours > 24*365:
		return bad("auto_close_hours must be between 0 (never) and 8760")
	case st.FirstResponseSeconds < 0 || st.FirstResponseSeconds > 7*24*3600:
		return bad("first_response_seconds must be between 0 (the workspace's) and 604800")
	}
	if st.Timezone != "" {
		if err := validTimezone(st.Timezone); err != nil {
			return bad("timezone must be an IANA name such as Europe/Paris")
		}
	}
	for _, h := range st.BusinessHours {
		if h.Day < 0 || h.Day > 6 {
			return bad("business_hours: day must be 0 (Sunday) to 6 (Saturday)")
		}
		if !clockTime.MatchString(h.Open) || !clockTime.MatchString(h.Shut) || h.Open >= h.Shut {
			return bad("business_hours: open and close must be HH:MM with open before close")
		}
	}
	var names []string
	for _, f := range st.PreChatFields {
		switch {
		case !fieldName.MatchString(f.Name):
			return bad("prechat_fields: name must be 1 to 64 of letters, digits, _ . -")
		case slices.Contains(names, f.Name):
			return bad("prechat_fields: %s appears twice", f.Name)
		case tooLong(f.Label, 200):
			return bad("prechat_fields: label must be at most 200 characters")
		case f.Type != "text" && f.Type != "email" && f.Type != "select":
			return bad("prechat_fields: type must be text, email or select")
		case f.Type == "select" && (len(f.Options) == 0 || len(f.Options) > 50):
			return bad("prechat_fields: a select needs 1 to 50 options")
		}
		for _, o := range f.Options {
			if strings.TrimSpace(o) == "" || tooLong(o, 200) {
				return bad("prechat_fields: options must have 1 to 200 characters")
			}
		}
		names = append(names, f.Name)
	}
	for _, r := range st.Proactive {
		switch {
		case strings.TrimSpace(r.URLPattern) == "" || tooLong(r.URLPattern, 500):
			return bad("proactive: url_pattern must have 1 to 500 characters")
		case r.DelaySeconds < 0 || r.DelaySeconds > 3600:
			return bad("proactive: delay_seconds must be between 0 and 3600")
		case strings.TrimSpace(r.Message) == "" || tooLong(r.Message, 1000):
			return bad("proactive: message must have 1 to 1000 characters")
		}
	}
	return nil
}

func validSiteName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || tooLong(name, 100) {
		return "", chat.Errorf(chat.EINVALID, "name must have 1 to 100 characters")
	}
	return name, nil
}

// mergeSettings overlays the top-level keys of patch on cur: a key given
// replaces the stored value (null resets it), a key left out keeps it.
func mergeSettings(cur chat.SiteSettings, patch json.RawMessage) (chat.SiteSettings, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil {
		return cur, chat.Errorf(chat.EINVALID, "settings must be an object")
	}
	base := map[string]json.RawMessage{}
	_ = json.Unmarshal(mustJSON(cur), &base)
	for k, v := range p {
		base[k] = v
	}
	var out chat.SiteSettings
	if err := json.Unmarshal(mustJSON(base), &out); err != nil {
		return cur, chat.Errorf(chat.EINVALID, "settings: %v", err)
	}
	return out, nil
}

func (s *Server) listSites(c *echo.Context) error {
	sites, err := s.store.ListSites(c.Request().Context(), currentAgent(c).WorkspaceID)
	if err != nil {
		return err
	}
	out := make([]any, len(sites))
	for i, site := range sites {
		out[i] = siteView(c, site)
	}
	return c.JSON(http.StatusOK, map[string]any{"sites": out})
}

func (s *Server) getSite(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	site, err := s.store.Site(c.Request().Context(), currentAgent(c).WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, siteView(c, site))
}

func (s *Server) createSite(c *echo.Context) error {
	var in struct {
		Name             string            `json:"name"`
		AllowedOrigins   []string          `json:"allowed_origins"`
		IdentityRequired bool              `json:"identity_required"`
		Settings         chat.SiteSettings `json:"settings"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	name, err := validSiteName(in.Name)
	if err != nil {
		return err
	}
	origins, err := cleanOrigins(in.AllowedOrigins)
	if err != nil {
		return err
	}
	if err := validateSettings(&in.Settings, s.cfg.MaxUploadBytes); err != nil {
		return err
	}
	me := currentAgent(c)
	site := &chat.Site{WorkspaceID: me.WorkspaceID, Name: name, AllowedOrigins: origins, IdentitySecret: newIdentitySecret(),
		IdentityRequired: in.IdentityRequired, Settings: in.Settings}
	if err := s.store.CreateSite(c.Request().Context(), site); err != nil {
		return err
	}
	s.audit(c, me, "site.create", fmt.Sprintf("site:%d", site.ID), mustJSON(map[string]any{"name": site.Name}))
	return c.JSON(http.StatusCreated, siteView(c, site))
}

func (s *Server) patchSite(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name             *string         `json:"name"`
		AllowedOrigins   *[]string       `json:"allowed_origins"`
		IdentityRequired *bool           `json:"identity_required"`
		Settings         json.RawMessage `json:"settings"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	site, err := s.store.Site(ctx, me.WorkspaceID, id)
	if err != nil {
		return err
	}
	if in.Name != nil {
		if site.Name, err = validSiteName(*in.Name); err != nil {
			return err
		}
	}
	if in.AllowedOrigins != nil {
		if site.AllowedOrigins, err = cleanOrigins(*in.AllowedOrigins); err != nil {
			return err
		}
	}
	if in.IdentityRequired != nil {
		site.IdentityRequired = *in.IdentityRequired
		if site.IdentityRequired && site.IdentitySecret == "" {
			site.IdentitySecret = newIdentitySecret() // verification needs a key
		}
	}
	if len(in.Settings) > 0 && string(in.Settings) != "null" {
		if site.Settings, err = mergeSettings(site.Settings, in.Settings); err != nil {
			return err
		}
		if err := validateSettings(&site.Settings, s.cfg.MaxUploadBytes); err != nil {
			return err
		}
	}
	if err := s.store.UpdateSite(ctx, site); err != nil {
		return err
	}
	changed := []string{}
	for k, given := range map[string]bool{"name": in.Name != nil, "allowed_origins": in.AllowedOrigins != nil,
		"identity_required": in.IdentityRequired != nil, "settings": len(in.Settings) > 0} {
		if given {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	s.audit(c, me, "site.update", fmt.Sprintf("site:%d", site.ID), mustJSON(map[string]any{"changed": changed}))
	return c.JSON(http.StatusOK, siteView(c, site))
}

// rotateSecret gives a site a new identity-verification secret; hashes made
// with the old one stop verifying at once.
func (s *Server) rotateSecret(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	site, err := s.store.Site(ctx, me.WorkspaceID, id)
	if err != nil {
		return err
	}
	site.IdentitySecret = newIdentitySecret()
	if err := s.store.UpdateSite(ctx, site); err != nil {
		return err
	}
	s.audit(c, me, "site.rotate_secret", fmt.Sprintf("site:%d", site.ID), nil)
	return c.JSON(http.StatusOK, map[string]string{"identity_secret": site.IdentitySecret})
}

// ---- agents ----

func validCapacity(n *int) error {
	if n != nil && (*n < 0 || *n > 100) {
		return chat.Errorf(chat.EINVALID, "capacity must be between 0 and 100")
	}
	return nil
}

func validRoleName(r *string) error {
	if r != nil && *r != chat.RoleAdmin && *r != chat.RoleAgent {
		return chat.Errorf(chat.EINVALID, "role must be admin or agent")
	}
	return nil
}

// inviteAgent creates an agent without a password and answers the one-time
// link that sets it (valid 72 hours). The link also goes to the jobs in an
// agent.invited outbox row, to be emailed.
func (s *Server) inviteAgent(c *echo.Context) error {
	var in struct {
		Email    string  `json:"email"`
		Name     string  `json:"name"`
		Role     string  `json:"role"`
		TeamIDs  []int64 `json:"team_ids"`
		Capacity *int    `json:"capacity"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if !validEmail(email) {
		return chat.Errorf(chat.EINVALID, "email is not a valid address")
	}
	if err := validAgentName(&in.Name); err != nil {
		return err
	}
	if in.Role == "" {
		in.Role = chat.RoleAgent
	}
	if err := validRoleName(&in.Role); err != nil {
		return err
	}
	capacity := 5
	if in.Capacity != nil {
		if err := validCapacity(in.Capacity); err != nil {
			return err
		}
		capacity = *in.Capacity
	}
	me := currentAgent(c)
	token, hash := NewToken(prefixSetPass)
	link := s.setPasswordLink(c, token)
	expires := time.Now().Add(inviteLinkLifetime).UTC()
	a := &chat.Agent{WorkspaceID: me.WorkspaceID, Email: email, Name: in.Name, Role: in.Role, Capacity: capacity, TeamIDs: in.TeamIDs}
	err := s.store.InviteAgent(c.Request().Context(), a, hash, expires, map[string]any{
		"workspace_id": me.WorkspaceID, "email": email, "name": in.Name, "role": in.Role,
		"invited_by": me.ID, "invited_by_name": me.Name, "url": link, "expires_at": expires,
	})
	if err != nil {
		return err
	}
	s.audit(c, me, "agent.invite", agentTarget(a.ID), mustJSON(map[string]any{"email": a.Email, "role": a.Role}))
	return c.JSON(http.StatusCreated, map[string]any{"agent": a, "invite_url": link})
}

// patchAgent changes an agent's name, role, capacity, teams or whether they
// are active. Deactivating ends their sessions and API tokens in the same
// transaction and then closes their websockets on every node. Admins cannot
// deactivate or demote themselves, so a workspace always keeps an admin.
func (s *Server) patchAgent(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name     *string  `json:"name"`
		Role     *string  `json:"role"`
		Capacity *int     `json:"capacity"`
		TeamIDs  *[]int64 `json:"team_ids"`
		Active   *bool    `json:"active"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := validAgentName(in.Name); err != nil {
		return err
	}
	if err := validRoleName(in.Role); err != nil {
		return err
	}
	if err := validCapacity(in.Capacity); err != nil {
		return err
	}
	me := currentAgent(c)
	if id == me.ID {
		if in.Active != nil && !*in.Active {
			return chat.Errorf(chat.EFORBIDDEN, "you cannot deactivate yourself")
		}
		if in.Role != nil && *in.Role != chat.RoleAdmin {
			return chat.Errorf(chat.EFORBIDDEN, "you cannot remove your own admin role")
		}
	}
	u := chat.AgentUpdate{Name: in.Name, Role: in.Role, Capacity: in.Capacity, Active: in.Active}
	if in.TeamIDs != nil {
		u.TeamIDs = append([]int64{}, (*in.TeamIDs)...)
	}
	ctx := c.Request().Context()
	agent, err := s.store.UpdateAgent(ctx, me.WorkspaceID, id, u)
	if err != nil {
		return err
	}
	if in.Capacity != nil || in.Active != nil || in.TeamIDs != nil {
		s.capacityChanged(agent.WorkspaceID) // routing's view of who can take what changed
	}
	if in.Active != nil && !*in.Active {
		s.endAgentSockets(ctx, agent.WorkspaceID, agent.ID)
		s.publish(ctx, workspaceTopic(agent.WorkspaceID), &realtime.Event{Kind: "presence",
			Frame: mustJSON(map[string]any{"type": "presence", "agent_id": agent.ID, "status": chat.StatusOffline})})
	}
	s.audit(c, me, "agent.update", agentTarget(agent.ID), mustJSON(in))
	return c.JSON(http.StatusOK, agent)
}

// endAgentSockets closes a deactivated agent's websockets on every node,
// now and once more a moment later: a socket that authenticated just before
// the deactivation may have subscribed just after the first notice.
func (s *Server) endAgentSockets(ctx context.Context, workspaceID, agentID int64) {
	s.disconnectAgent(ctx, agentID)
	ctx = context.WithoutCancel(ctx)
	time.AfterFunc(2*time.Second, func() {
		if a, err := s.store.Agent(ctx, workspaceID, agentID); err == nil && !a.Active {
			s.disconnectAgent(ctx, agentID)
		}
	})
}

// ---- teams ----

func (s *Server) listTeams(c *echo.Context) error {
	teams, err := s.store.TeamsWithMembers(c.Request().Context(), currentAgent(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"teams": teams})
}

func teamName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || tooLong(name, 100) {
		return "", chat.Errorf(chat.EINVALID, "name must have 1 to 100 characters")
	}
	return name, nil
}

func (s *Server) createTeam(c *echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	name, err := teamName(in.Name)
	if err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	t := &chat.Team{WorkspaceID: me.WorkspaceID, Name: name}
	if err := s.store.CreateTeam(ctx, t); err != nil {
		return err
	}
	team, err := s.store.Team(ctx, me.WorkspaceID, t.ID)
	if err != nil {
		return err
	}
	s.audit(c, me, "team.create", fmt.Sprintf("team:%d", team.ID), mustJSON(map[string]any{"name": team.Name}))
	return c.JSON(http.StatusCreated, team)
}

func (s *Server) patchTeam(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	name, err := teamName(in.Name)
	if err != nil {
		return err
	}
	me := currentAgent(c)
	team, err := s.store.RenameTeam(c.Request().Context(), me.WorkspaceID, id, name)
	if err != nil {
		return err
	}
	s.audit(c, me, "team.update", fmt.Sprintf("team:%d", team.ID), mustJSON(map[string]any{"name": team.Name}))
	return c.JSON(http.StatusOK, team)
}

func (s *Server) deleteTeam(c *echo.Context) error {
	return s.auditedDelete(c, "team.delete", "team", s.store.DeleteTeam)
}

// ---- canned responses ----

func (s *Server) listCanned(c *echo.Context) error {
	list, err := s.store.ListCanned(c.Request().Context(), currentAgent(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"canned": list})
}

type cannedInput struct {
	Shortcut *string `json:"shortcut"`
	Title    *string `json:"title"`
	Body     *string `json:"body"`
}

func (in *cannedInput) apply(r *chat.CannedResponse) {
	if in.Shortcut != nil {
		r.Shortcut = *in.Shortcut
	}
	if in.Title != nil {
		r.Title = *in.Title
	}
	if in.Body != nil {
		r.Body = *in.Body
	}
}

func (s *Server) createCanned(c *echo.Context) error {
	var in cannedInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	me := currentAgent(c)
	r := &chat.CannedResponse{WorkspaceID: me.WorkspaceID}
	in.apply(r)
	if err := s.store.CreateCanned(c.Request().Context(), r); err != nil {
		return err
	}
	s.audit(c, me, "canned.create", fmt.Sprintf("canned:%d", r.ID), mustJSON(map[string]any{"shortcut": r.Shortcut}))
	return c.JSON(http.StatusCreated, r)
}

func (s *Server) patchCanned(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in cannedInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	r, err := s.store.Canned(ctx, me.WorkspaceID, id)
	if err != nil {
		return err
	}
	in.apply(r)
	if err := s.store.UpdateCanned(ctx, r); err != nil {
		return err
	}
	s.audit(c, me, "canned.update", fmt.Sprintf("canned:%d", r.ID), mustJSON(map[string]any{"shortcut": r.Shortcut}))
	return c.JSON(http.StatusOK, r)
}

func (s *Server) deleteCanned(c *echo.Context) error {
	return s.auditedDelete(c, "canned.delete", "canned", s.store.DeleteCanned)
}

// ---- labels ----

// defaultLabelColor is a neutral slate for labels created without a color.
const defaultLabelColor = "#64748b"

func (s *Server) listLabels(c *echo.Context) error {
	list, err := s.store.ListLabels(c.Request().Context(), currentAgent(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"labels": list})
}

// createLabel adds a label to the catalogue. Names are lowercased, as
// conversation labels are.
func (s *Server) createLabel(c *echo.Context) error {
	var in struct {
		Name  string `json:"name"`
		Color string `json:"color"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	name := strings.ToLower(strings.TrimSpace(in.Name))
	if name == "" || tooLong(name, chat.MaxLabelLen) {
		return chat.Errorf(chat.EINVALID, "name must have 1 to %d characters", chat.MaxLabelLen)
	}
	color := strings.TrimSpace(in.Color)
	if color == "" {
		color = defaultLabelColor
	} else if !hexColor.MatchString(color) {
		return chat.Errorf(chat.EINVALID, "color must be a hex color such as #3355ff")
	}
	me := currentAgent(c)
	l := &chat.Label{WorkspaceID: me.WorkspaceID, Name: name, Color: strings.ToLower(color)}
	if err := s.store.CreateLabel(c.Request().Context(), l); err != nil {
		return err
	}
	s.audit(c, me, "label.create", fmt.Sprintf("label:%d", l.ID), mustJSON(map[string]any{"name": l.Name}))
	return c.JSON(http.StatusCreated, l)
}

func (s *Server) deleteLabel(c *echo.Context) error {
	return s.auditedDelete(c, "label.delete", "label", s.store.DeleteLabel)
}

// ---- API tokens ----

func (s *Server) listTokens(c *echo.Context) error {
	list, err := s.store.ListAPITokens(c.Request().Context(), currentAgent(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": list})
}

// createToken makes an API token that acts as the calling admin. The token
// itself is in this answer only; the server keeps its hash.
func (s *Server) createToken(c *echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || tooLong(name, 100) {
		return chat.Errorf(chat.EINVALID, "name must have 1 to 100 characters")
	}
	me := currentAgent(c)
	token, hash := NewToken(prefixAPI)
	t := &chat.APIToken{WorkspaceID: me.WorkspaceID, AgentID: me.ID, Name: name}
	if err := s.store.CreateAPIToken(c.Request().Context(), t, hash); err != nil {
		return err
	}
	s.audit(c, me, "token.create", fmt.Sprintf("token:%d", t.ID), mustJSON(map[string]any{"name": t.Name}))
	return c.JSON(http.StatusCreated, map[string]any{"token": token, "api_token": t})
}

func (s *Server) deleteToken(c *echo.Context) error {
	return s.auditedDelete(c, "token.delete", "token", s.store.DeleteAPIToken)
}

// ---- workspace ----

func (s *Server) getWorkspace(c *echo.Context) error {
	w, err := s.store.Workspace(c.Request().Context(), currentAgent(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

func (s *Server) patchWorkspace(c *echo.Context) error {
	var in struct {
		Name          *string `json:"name"`
		RetentionDays *int    `json:"retention_days"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	w, err := s.store.Workspace(ctx, me.WorkspaceID)
	if err != nil {
		return err
	}
	if in.Name != nil {
		if w.Name = strings.TrimSpace(*in.Name); w.Name == "" || tooLong(w.Name, 100) {
			return chat.Errorf(chat.EINVALID, "name must have 1 to 100 characters")
		}
	}
	if in.RetentionDays != nil {
		if d := *in.RetentionDays; d != 0 && (d < 7 || d > 3650) {
			return chat.Errorf(chat.EINVALID, "retention_days must be 0 (keep forever) or 7 to 3650")
		}
		w.RetentionDays = *in.RetentionDays
	}
	if err := s.store.UpdateWorkspace(ctx, w); err != nil {
		return err
	}
	s.audit(c, me, "workspace.update", fmt.Sprintf("workspace:%d", w.ID), mustJSON(in))
	return c.JSON(http.StatusOK, w)
}

// ---- audit ----

func (s *Server) listAudit(c *echo.Context) error {
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return chat.Errorf(chat.EINVALID, "limit must be between 1 and 500")
		}
		limit = n
	}
	entries, err := s.store.ListAudit(c.Request().Context(), currentAgent(c).WorkspaceID, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"audit": entries})
}

// auditedDelete is the admin DELETE handler: the path id, the workspace's
// object (404 for another workspace's), an audit entry, 204.
func (s *Server) auditedDelete(c *echo.Context, action, target string, del func(ctx context.Context, workspaceID, id int64) error) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	me := currentAgent(c)
	if err := del(c.Request().Context(), me.WorkspaceID, id); err != nil {
		return err
	}
	s.audit(c, me, action, fmt.Sprintf("%s:%d", target, id), nil)
	return c.NoContent(http.StatusNoContent)
}
