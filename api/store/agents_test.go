package store_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

func TestAgentsAndTeams(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID

	a := &chat.Agent{WorkspaceID: ws, Email: "Carol@Example.com", Name: "Carol", Active: true}
	must(t, db.CreateAgent(ctx, a))
	if a.ID == 0 || a.Role != chat.RoleAgent || a.Status != chat.StatusOffline || a.CreatedAt.IsZero() {
		t.Fatalf("created agent = %+v", a)
	}
	// Unique across workspaces, whatever the case.
	other := storetest.Seed(t, db)
	wantCode(t, db.CreateAgent(ctx, &chat.Agent{WorkspaceID: other.Workspace.ID, Email: "carol@EXAMPLE.com"}), chat.ECONFLICT)
	wantCode(t, db.CreateAgent(ctx, &chat.Agent{WorkspaceID: ws, Email: "nope"}), chat.EINVALID)
	wantCode(t, db.CreateAgent(ctx, &chat.Agent{WorkspaceID: ws, Email: "x@example.com", Role: "owner"}), chat.EINVALID)
	wantCode(t, db.CreateAgent(ctx, &chat.Agent{WorkspaceID: 999999, Email: "y@example.com"}), chat.ENOTFOUND)

	got, err := db.AgentByEmail(ctx, "CAROL@example.COM")
	must(t, err)
	if got.ID != a.ID {
		t.Fatalf("AgentByEmail found %d, want %d", got.ID, a.ID)
	}
	_, err = db.AgentByEmail(ctx, "nobody@example.com")
	wantCode(t, err, chat.ENOTFOUND)

	t1 := &chat.Team{WorkspaceID: ws, Name: "Sales"}
	t2 := &chat.Team{WorkspaceID: ws, Name: "Support"}
	must(t, db.CreateTeam(ctx, t1))
	must(t, db.CreateTeam(ctx, t2))
	wantCode(t, db.CreateTeam(ctx, &chat.Team{WorkspaceID: ws, Name: "Sales"}), chat.ECONFLICT)
	must(t, db.CreateTeam(ctx, &chat.Team{WorkspaceID: other.Workspace.ID, Name: "Sales"}))
	must(t, db.AddTeamMember(ctx, ws, t2.ID, a.ID))
	must(t, db.AddTeamMember(ctx, ws, t1.ID, a.ID))
	must(t, db.AddTeamMember(ctx, ws, t1.ID, a.ID)) // idempotent

	got, err = db.Agent(ctx, ws, a.ID)
	must(t, err)
	if !slices.Equal(got.TeamIDs, []int64{t1.ID, t2.ID}) {
		t.Fatalf("team ids = %v, want %v", got.TeamIDs, []int64{t1.ID, t2.ID})
	}
	list, err := db.ListAgents(ctx, ws)
	must(t, err)
	if len(list) != 2 || list[0].ID != fx.Admin.ID || len(list[0].TeamIDs) != 0 || len(list[1].TeamIDs) != 2 {
		t.Fatalf("ListAgents = %+v", list)
	}

	must(t, db.SetAgentStatus(ctx, ws, a.ID, chat.StatusAway))
	wantCode(t, db.SetAgentStatus(ctx, ws, a.ID, "busy"), chat.EINVALID)
	must(t, db.SetAgentPassword(ctx, a.ID, "hash-1"))
	wantCode(t, db.SetAgentPassword(ctx, 999999, "hash"), chat.ENOTFOUND)
	got, err = db.Agent(ctx, ws, a.ID)
	must(t, err)
	if got.Status != chat.StatusAway || got.PasswordHash != "hash-1" {
		t.Fatalf("after updates: %+v", got)
	}
}

func TestSessionsAndTokens(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	hour := time.Now().Add(time.Hour)

	// Agent sessions.
	s, err := db.CreateAgentSession(ctx, fx.Admin.ID, "live", "csrf-1", hour)
	must(t, err)
	_, err = db.CreateAgentSession(ctx, fx.Admin.ID, "live", "csrf-2", hour)
	wantCode(t, err, chat.ECONFLICT)
	_, err = db.CreateAgentSession(ctx, 999999, "orphan", "csrf", hour)
	wantCode(t, err, chat.ENOTFOUND)
	a, got, err := db.AgentBySession(ctx, "live")
	must(t, err)
	if a.ID != fx.Admin.ID || got.ID != s.ID || got.CSRFToken != "csrf-1" || !got.ExpiresAt.Equal(hour.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("AgentBySession = %+v %+v", a, got)
	}
	_, err = db.CreateAgentSession(ctx, fx.Admin.ID, "expired", "csrf", time.Now().Add(-time.Second))
	must(t, err)
	_, _, err = db.AgentBySession(ctx, "expired")
	wantCode(t, err, chat.EUNAUTHORIZED)
	_, _, err = db.AgentBySession(ctx, "unknown")
	wantCode(t, err, chat.EUNAUTHORIZED)
	must(t, db.DeleteAgentSession(ctx, "live"))
	must(t, db.DeleteAgentSession(ctx, "live"))
	_, _, err = db.AgentBySession(ctx, "live")
	wantCode(t, err, chat.EUNAUTHORIZED)

	// An inactive agent cannot authenticate with a valid session or token.
	off := &chat.Agent{WorkspaceID: ws, Email: "off@example.com", Active: false}
	must(t, db.CreateAgent(ctx, off))
	_, err = db.CreateAgentSession(ctx, off.ID, "off-session", "csrf", hour)
	must(t, err)
	_, _, err = db.AgentBySession(ctx, "off-session")
	wantCode(t, err, chat.EUNAUTHORIZED)

	// API tokens.
	tok := &chat.APIToken{WorkspaceID: ws, AgentID: fx.Admin.ID, Name: "ci"}
	must(t, db.CreateAPIToken(ctx, tok, "api-hash"))
	if tok.ID == 0 || tok.CreatedAt.IsZero() {
		t.Fatalf("token = %+v", tok)
	}
	a, err = db.AgentByAPIToken(ctx, "api-hash")
	must(t, err)
	if a.ID != fx.Admin.ID {
		t.Fatalf("AgentByAPIToken = %d", a.ID)
	}
	_, err = db.AgentByAPIToken(ctx, "nope")
	wantCode(t, err, chat.EUNAUTHORIZED)
	must(t, db.CreateAPIToken(ctx, &chat.APIToken{WorkspaceID: ws, AgentID: off.ID}, "off-token"))
	_, err = db.AgentByAPIToken(ctx, "off-token")
	wantCode(t, err, chat.EUNAUTHORIZED)

	// Set-password tokens are single use and expire.
	must(t, db.CreateSetPasswordToken(ctx, off.ID, "invite", hour))
	must(t, db.CreateSetPasswordToken(ctx, off.ID, "stale", time.Now().Add(-time.Minute)))
	a, err = db.ConsumeSetPasswordToken(ctx, "invite", "new-hash")
	must(t, err)
	if a.ID != off.ID || a.PasswordHash != "new-hash" {
		t.Fatalf("consumed for %+v", a)
	}
	_, err = db.ConsumeSetPasswordToken(ctx, "invite", "again")
	wantCode(t, err, chat.EUNAUTHORIZED)
	_, err = db.ConsumeSetPasswordToken(ctx, "stale", "x")
	wantCode(t, err, chat.EUNAUTHORIZED)
	stored, err := db.Agent(ctx, ws, off.ID)
	must(t, err)
	if stored.PasswordHash != "new-hash" {
		t.Fatalf("password hash = %q", stored.PasswordHash)
	}

	// Visitor sessions.
	vs, err := db.CreateVisitorSession(ctx, fx.Visitor.ID, fx.Site.ID, "widget", hour)
	must(t, err)
	v, got2, err := db.VisitorBySession(ctx, "widget")
	must(t, err)
	if v.ID != fx.Visitor.ID || got2.ID != vs.ID || got2.SiteID != fx.Site.ID {
		t.Fatalf("VisitorBySession = %+v %+v", v, got2)
	}
	_, err = db.CreateVisitorSession(ctx, fx.Visitor.ID, fx.Site.ID, "widget-old", time.Now().Add(-time.Second))
	must(t, err)
	_, _, err = db.VisitorBySession(ctx, "widget-old")
	wantCode(t, err, chat.EUNAUTHORIZED)
	_, _, err = db.VisitorBySession(ctx, "nope")
	wantCode(t, err, chat.EUNAUTHORIZED)
	site2 := &chat.Site{WorkspaceID: ws}
	must(t, db.CreateSite(ctx, site2))
	_, err = db.CreateVisitorSession(ctx, fx.Visitor.ID, site2.ID, "wrong-site", hour)
	wantCode(t, err, chat.ENOTFOUND)
}

func TestWorkspacesSitesVisitors(t *testing.T) {
	db := storetest.Open(t)
	_, err := db.CreateWorkspace(ctx, "  ")
	wantCode(t, err, chat.EINVALID)
	ws, err := db.CreateWorkspace(ctx, "Acme")
	must(t, err)

	s := &chat.Site{
		WorkspaceID: ws.ID, Name: "Shop", AllowedOrigins: []string{"https://shop.example"},
		IdentitySecret: "s3cret", IdentityRequired: true,
		Settings: chat.SiteSettings{Color: "#000", BusinessHours: []chat.BusinessHours{{Day: 1, Open: "09:00", Shut: "17:00"}},
			PreChatFields: []chat.PreChatField{{Name: "email", Label: "Email", Type: "email", Required: true}}, MaxUploadBytes: 1 << 20},
	}
	must(t, db.CreateSite(ctx, s))
	if s.ID == 0 || len(s.PublicKey) < 20 {
		t.Fatalf("site = %+v", s)
	}
	got, err := db.SiteByKey(ctx, s.PublicKey)
	must(t, err)
	if got.ID != s.ID || got.IdentitySecret != "s3cret" || !got.IdentityRequired || !slices.Equal(got.AllowedOrigins, s.AllowedOrigins) ||
		got.Settings.BusinessHours[0].Shut != "17:00" || !got.Settings.PreChatFields[0].Required || got.Settings.MaxUploadBytes != 1<<20 {
		t.Fatalf("SiteByKey = %+v", got)
	}
	_, err = db.SiteByKey(ctx, "pk_missing")
	wantCode(t, err, chat.ENOTFOUND)
	wantCode(t, db.CreateSite(ctx, &chat.Site{WorkspaceID: ws.ID, PublicKey: s.PublicKey}), chat.ECONFLICT)
	wantCode(t, db.CreateSite(ctx, &chat.Site{WorkspaceID: 999999}), chat.ENOTFOUND)

	v := &chat.Visitor{WorkspaceID: ws.ID, SiteID: s.ID}
	must(t, db.CreateVisitor(ctx, v))
	if v.LastSeenAt.IsZero() || v.Attributes == nil {
		t.Fatalf("visitor defaults: %+v", v)
	}
	seen := time.Date(2025, 6, 1, 8, 30, 0, 0, time.FixedZone("CEST", 2*3600))
	v.Name, v.Email, v.ExternalID, v.Verified = "Dana", "dana@example.com", "user-42", true
	v.Attributes = map[string]string{"plan": "pro"}
	v.LastPage, v.UserAgent, v.Locale, v.LastSeenAt = "/pricing", "Firefox", "de-DE", seen
	must(t, db.UpdateVisitor(ctx, v))
	got2, err := db.Visitor(ctx, ws.ID, v.ID)
	must(t, err)
	if got2.Name != "Dana" || got2.ExternalID != "user-42" || !got2.Verified || got2.Attributes["plan"] != "pro" ||
		got2.Locale != "de-DE" || !got2.LastSeenAt.Equal(seen) || got2.LastSeenAt.Location() != time.UTC {
		t.Fatalf("updated visitor = %+v", got2)
	}
	wantCode(t, db.UpdateVisitor(ctx, &chat.Visitor{ID: 999999, WorkspaceID: ws.ID}), chat.ENOTFOUND)

	e := &chat.AuditEntry{WorkspaceID: ws.ID, ActorType: "agent", ActorID: 1, Action: "site.create", Target: "site:1", Data: []byte(`{"name":"Shop"}`)}
	must(t, db.Audit(ctx, e))
	must(t, db.Audit(ctx, &chat.AuditEntry{WorkspaceID: ws.ID, Action: "login"}))
	wantCode(t, db.Audit(ctx, &chat.AuditEntry{WorkspaceID: ws.ID, Action: "x", Data: []byte("{")}), chat.EINVALID)
	entries, err := db.ListAudit(ctx, ws.ID, 0)
	must(t, err)
	if len(entries) != 2 || entries[0].Action != "login" || entries[0].Data != nil || entries[1].ID != e.ID {
		t.Fatalf("audit = %+v", entries)
	}
	var data struct{ Name string }
	if err := json.Unmarshal(entries[1].Data, &data); err != nil || data.Name != "Shop" {
		t.Fatalf("audit data = %s", entries[1].Data)
	}
}
