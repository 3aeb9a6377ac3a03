package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// newAgent creates an active agent in the fixture's workspace.
func newAgent(t *testing.T, db *store.DB, workspaceID int64, name string) *chat.Agent {
	t.Helper()
	a := &chat.Agent{WorkspaceID: workspaceID, Email: fmt.Sprintf("%s-%d@example.com", name, time.Now().UnixNano()), Name: name,
		Role: chat.RoleAgent, Capacity: 5, Active: true}
	must(t, db.CreateAgent(ctx, a))
	return a
}

// outboxOf returns the pending outbox events of one topic.
func outboxOf(t *testing.T, db *store.DB, topic string) []map[string]any {
	t.Helper()
	evs, err := db.PendingOutbox(ctx, 1000)
	must(t, err)
	var out []map[string]any
	for _, e := range evs {
		if e.Topic == topic {
			var p map[string]any
			must(t, json.Unmarshal(e.Payload, &p))
			out = append(out, p)
		}
	}
	return out
}

func TestAgentPreferencesAndUpdate(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	a := newAgent(t, db, ws, "dana")
	got, err := db.Agent(ctx, ws, a.ID)
	must(t, err)
	if got.Preferences != chat.DefaultAgentPreferences() || got.Timezone != "" {
		t.Fatalf("new agent: preferences %+v timezone %q, want every alert on and no timezone", got.Preferences, got.Timezone)
	}

	t1 := &chat.Team{WorkspaceID: ws, Name: "Billing"}
	t2 := &chat.Team{WorkspaceID: ws, Name: "Tech"}
	must(t, db.CreateTeam(ctx, t1))
	must(t, db.CreateTeam(ctx, t2))
	prefs := chat.DefaultAgentPreferences()
	prefs.Sound = false
	got, err = db.UpdateAgent(ctx, ws, a.ID, chat.AgentUpdate{Name: ptr("Dana S."), Timezone: ptr("Europe/Paris"),
		Preferences: &prefs, Capacity: ptr(7), Role: ptr(chat.RoleAdmin), TeamIDs: []int64{t2.ID, t1.ID, t2.ID}})
	must(t, err)
	if got.Name != "Dana S." || got.Timezone != "Europe/Paris" || got.Preferences != prefs || got.Capacity != 7 ||
		got.Role != chat.RoleAdmin || !slices.Equal(got.TeamIDs, []int64{t1.ID, t2.ID}) {
		t.Fatalf("after update: %+v", got)
	}
	// nil fields stay; an empty TeamIDs clears the memberships.
	got, err = db.UpdateAgent(ctx, ws, a.ID, chat.AgentUpdate{TeamIDs: []int64{}})
	must(t, err)
	if got.Name != "Dana S." || got.Preferences != prefs || len(got.TeamIDs) != 0 {
		t.Fatalf("after clearing teams: %+v", got)
	}

	other := storetest.Seed(t, db)
	foreignTeam := &chat.Team{WorkspaceID: other.Workspace.ID, Name: "Foreign"}
	must(t, db.CreateTeam(ctx, foreignTeam))
	_, err = db.UpdateAgent(ctx, ws, a.ID, chat.AgentUpdate{TeamIDs: []int64{foreignTeam.ID}})
	wantCode(t, err, chat.EINVALID)
	_, err = db.UpdateAgent(ctx, other.Workspace.ID, a.ID, chat.AgentUpdate{Name: ptr("x")})
	wantCode(t, err, chat.ENOTFOUND)
	_, err = db.UpdateAgent(ctx, ws, a.ID, chat.AgentUpdate{Role: ptr("owner")})
	wantCode(t, err, chat.EINVALID)
	_, err = db.UpdateAgent(ctx, ws, a.ID, chat.AgentUpdate{Capacity: ptr(-1)})
	wantCode(t, err, chat.EINVALID)

	// Deactivation ends every credential in the same transaction.
	_, err = db.CreateAgentSession(ctx, a.ID, "sess-dana", "csrf", time.Now().Add(time.Hour))
	must(t, err)
	must(t, db.CreateAPIToken(ctx, &chat.APIToken{WorkspaceID: ws, AgentID: a.ID, Name: "ci"}, "tok-dana"))
	must(t, db.SetAgentStatus(ctx, ws, a.ID, chat.StatusOnline))
	got, err = db.UpdateAgent(ctx, ws, a.ID, chat.AgentUpdate{Active: ptr(false)})
	must(t, err)
	if got.Active || got.Status != chat.StatusOffline {
		t.Fatalf("deactivated agent: %+v", got)
	}
	_, _, err = db.AgentBySession(ctx, "sess-dana")
	wantCode(t, err, chat.EUNAUTHORIZED)
	_, err = db.AgentByAPIToken(ctx, "tok-dana")
	wantCode(t, err, chat.EUNAUTHORIZED)
	tokens, err := db.ListAPITokens(ctx, ws)
	must(t, err)
	if len(tokens) != 0 {
		t.Fatalf("tokens after deactivation: %+v", tokens)
	}
	// Reactivating does not bring the credentials back.
	got, err = db.UpdateAgent(ctx, ws, a.ID, chat.AgentUpdate{Active: ptr(true)})
	must(t, err)
	if !got.Active {
		t.Fatal("not reactivated")
	}
	_, _, err = db.AgentBySession(ctx, "sess-dana")
	wantCode(t, err, chat.EUNAUTHORIZED)
}

func TestInviteAgentAndPasswordReset(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	team := &chat.Team{WorkspaceID: ws, Name: "Support"}
	must(t, db.CreateTeam(ctx, team))

	a := &chat.Agent{WorkspaceID: ws, Email: "new.hire@example.com", Name: "New Hire", Role: chat.RoleAgent, Capacity: 3, TeamIDs: []int64{team.ID}}
	must(t, db.InviteAgent(ctx, a, "invite-hash", time.Now().Add(time.Hour), map[string]any{"url": "https://x/set-password#token=t"}))
	if a.ID == 0 || !a.Active || a.Status != chat.StatusOffline || a.PasswordHash != "" || !slices.Equal(a.TeamIDs, []int64{team.ID}) {
		t.Fatalf("invited agent: %+v", a)
	}
	invited := outboxOf(t, db, chat.EventAgentInvited)
	if len(invited) != 1 || invited[0]["agent_id"] != float64(a.ID) || invited[0]["url"] != "https://x/set-password#token=t" {
		t.Fatalf("agent.invited rows: %v", invited)
	}
	got, err := db.ConsumeSetPasswordToken(ctx, "invite-hash", "argon-hash")
	must(t, err)
	if got.ID != a.ID || got.PasswordHash != "argon-hash" {
		t.Fatalf("consumed invite: %+v", got)
	}

	// A taken email or a foreign team leaves nothing behind.
	wantCode(t, db.InviteAgent(ctx, &chat.Agent{WorkspaceID: ws, Email: "NEW.HIRE@example.com"}, "h2", time.Now().Add(time.Hour), nil), chat.ECONFLICT)
	other := storetest.Seed(t, db)
	foreign := &chat.Team{WorkspaceID: other.Workspace.ID, Name: "Foreign"}
	must(t, db.CreateTeam(ctx, foreign))
	wantCode(t, db.InviteAgent(ctx, &chat.Agent{WorkspaceID: ws, Email: "b@example.com", TeamIDs: []int64{foreign.ID}}, "h3", time.Now().Add(time.Hour), nil), chat.EINVALID)
	wantCode(t, db.InviteAgent(ctx, &chat.Agent{WorkspaceID: ws, Email: "c@example.com", Role: "owner"}, "h4", time.Now().Add(time.Hour), nil), chat.EINVALID)
	if _, err := db.AgentByEmail(ctx, "b@example.com"); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Fatalf("failed invite left an agent: %v", err)
	}
	if n := len(outboxOf(t, db, chat.EventAgentInvited)); n != 1 {
		t.Fatalf("%d agent.invited rows after failed invites, want 1", n)
	}

	// Password resets: one outbox row each, at most 5 an hour.
	for i := range 5 {
		must(t, db.IssuePasswordReset(ctx, a.ID, fmt.Sprintf("reset-%d", i), time.Now().Add(2*time.Hour), map[string]any{"email": a.Email}))
	}
	wantCode(t, db.IssuePasswordReset(ctx, a.ID, "reset-6", time.Now().Add(2*time.Hour), nil), chat.ERATELIMIT)
	resets := outboxOf(t, db, chat.EventPasswordReset)
	if len(resets) != 5 || resets[0]["agent_id"] != float64(a.ID) || resets[0]["email"] != a.Email {
		t.Fatalf("password.reset_requested rows: %v", resets)
	}
	_, err = db.ConsumeSetPasswordToken(ctx, "reset-6", "x")
	wantCode(t, err, chat.EUNAUTHORIZED) // never stored
	_, err = db.ConsumeSetPasswordToken(ctx, "reset-4", "argon-2")
	must(t, err)

	_, err = db.UpdateAgent(ctx, ws, a.ID, chat.AgentUpdate{Active: ptr(false)})
	must(t, err)
	wantCode(t, db.IssuePasswordReset(ctx, a.ID, "reset-7", time.Now().Add(2*time.Hour), nil), chat.EFORBIDDEN)
}

// TestClaimHasExactlyOneWinner races agents for one conversation: exactly
// one claim succeeds, the others are ECONFLICT, and a single assignment is
// recorded.
func TestClaimHasExactlyOneWinner(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	conv := newConversation(t, db, fx)
	agents := []*chat.Agent{fx.Admin}
	for i := range 7 {
		agents = append(agents, newAgent(t, db, ws, fmt.Sprintf("racer%d", i)))
	}
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]error, len(agents))
	)
	for i, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, results[i] = db.ClaimConversation(ctx, ws, conv.ID, a.ID)
		}()
	}
	close(start)
	wg.Wait()
	winner := int64(0)
	for i, err := range results {
		switch chat.ErrorCode(err) {
		case "":
			if winner != 0 {
				t.Fatalf("two winners: %d and %d", winner, agents[i].ID)
			}
			winner = agents[i].ID
		case chat.ECONFLICT:
		default:
			t.Fatalf("claim by %d: %v", agents[i].ID, err)
		}
	}
	if winner == 0 {
		t.Fatal("nobody won the claim")
	}
	got, err := db.Conversation(ctx, ws, conv.ID)
	must(t, err)
	if got.AssigneeID == nil || *got.AssigneeID != winner || got.LastSeq != 1 {
		t.Fatalf("conversation after the race: assignee %v last_seq %d, want %d and 1", got.AssigneeID, got.LastSeq, winner)
	}
	if n := len(outboxOf(t, db, chat.EventConversationAssigned)); n != 1 {
		t.Fatalf("%d conversation.assigned rows, want 1", n)
	}
	// Claiming one's own conversation again changes nothing.
	again, msg, err := db.ClaimConversation(ctx, ws, conv.ID, winner)
	must(t, err)
	if msg != nil || again.LastSeq != 1 {
		t.Fatalf("re-claim wrote %+v", msg)
	}
	other := storetest.Seed(t, db)
	_, _, err = db.ClaimConversation(ctx, other.Workspace.ID, conv.ID, other.Admin.ID)
	wantCode(t, err, chat.ENOTFOUND)
}

func TestConversationCountsMatchLists(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	me := newAgent(t, db, ws, "me")
	colleague := newAgent(t, db, ws, "colleague")
	mine := &chat.Team{WorkspaceID: ws, Name: "Mine"}
	theirs := &chat.Team{WorkspaceID: ws, Name: "Theirs"}
	must(t, db.CreateTeam(ctx, mine))
	must(t, db.CreateTeam(ctx, theirs))
	must(t, db.AddTeamMember(ctx, ws, mine.ID, me.ID))

	// 12 conversations in every combination of state, assignee and team.
	for i := range 12 {
		c := newConversation(t, db, fx)
		var assignee, team *int64
		switch i % 3 {
		case 1:
			assignee = &me.ID
		case 2:
			assignee = &colleague.ID
		}
		switch i % 4 {
		case 1:
			team = &mine.ID
		case 2:
			team = &theirs.ID
		}
		if assignee != nil || team != nil {
			_, _, err := db.Assign(ctx, ws, c.ID, assignee, team, "")
			must(t, err)
		}
		switch i % 5 {
		case 1:
			_, _, err := db.SetStatus(ctx, ws, c.ID, chat.ConvClosed, nil, "")
			must(t, err)
		case 2:
			_, _, err := db.SetStatus(ctx, ws, c.ID, chat.ConvSnoozed, ptr(time.Now().Add(time.Hour)), "")
			must(t, err)
		}
	}
	// Another workspace's conversations never count.
	other := storetest.Seed(t, db)
	newConversation(t, db, other)

	counts, err := db.ConversationCounts(ctx, ws, me.ID, []int64{mine.ID})
	must(t, err)
	open := chat.ConvOpen
	views := map[string]struct {
		got int64
		f   chat.ConversationFilter
	}{
		"unassigned": {counts.Unassigned, chat.ConversationFilter{Status: open, AssigneeID: ptr(int64(0))}},
		"mine":       {counts.Mine, chat.ConversationFilter{Status: open, AssigneeID: &me.ID}},
		"my_teams":   {counts.MyTeams, chat.ConversationFilter{Status: open, TeamIDs: []int64{mine.ID}}},
		"all":        {counts.All, chat.ConversationFilter{Status: open}},
		"closed":     {counts.Closed, chat.ConversationFilter{Status: chat.ConvClosed}},
	}
	for name, v := range views {
		v.f.Limit = 5
		if n := int64(len(listAll(t, db, ws, v.f))); n != v.got || n == 0 {
			t.Errorf("%s: count %d, list has %d (want equal and non-zero)", name, v.got, n)
		}
	}
	// No teams: "my teams" is empty, in the count and in the list.
	counts, err = db.ConversationCounts(ctx, ws, colleague.ID, nil)
	must(t, err)
	if counts.MyTeams != 0 || len(listAll(t, db, ws, chat.ConversationFilter{TeamIDs: []int64{}})) != 0 {
		t.Fatalf("my_teams without teams: %+v", counts)
	}
	if counts.All != views["all"].got || counts.Mine != int64(len(listAll(t, db, ws, chat.ConversationFilter{Status: open, AssigneeID: &colleague.ID}))) {
		t.Fatalf("colleague's counts: %+v", counts)
	}
}

func TestListConversationsAssignedAndDates(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	before := time.Now().Add(-time.Second)
	a := newConversation(t, db, fx)
	b := newConversation(t, db, fx)
	_, _, err := db.Assign(ctx, ws, b.ID, &fx.Admin.ID, nil, "")
	must(t, err)
	if ids := listAll(t, db, ws, chat.ConversationFilter{Assigned: true}); !slices.Equal(ids, []int64{b.ID}) {
		t.Fatalf("assigned = %v, want [%d]", ids, b.ID)
	}
	mid := b.CreatedAt // b was created after a
	if ids := listAll(t, db, ws, chat.ConversationFilter{CreatedFrom: &mid}); !slices.Equal(ids, []int64{b.ID}) {
		t.Fatalf("from b's creation = %v, want [%d]", ids, b.ID)
	}
	if ids := listAll(t, db, ws, chat.ConversationFilter{CreatedTo: &mid}); !slices.Equal(ids, []int64{a.ID}) {
		t.Fatalf("to b's creation (exclusive) = %v, want [%d]", ids, a.ID)
	}
	after := time.Now().Add(time.Second)
	if ids := listAll(t, db, ws, chat.ConversationFilter{CreatedFrom: &before, CreatedTo: &after}); len(ids) != 2 {
		t.Fatalf("whole range = %v", ids)
	}
}

func TestSavedFiltersArePerAgent(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	other := newAgent(t, db, ws, "other")
	f := &chat.SavedFilter{WorkspaceID: ws, AgentID: fx.Admin.ID, Name: " Urgent mine ", Query: map[string]string{"assignee": "me", "priority": "urgent"}}
	must(t, db.CreateSavedFilter(ctx, f))
	if f.ID == 0 || f.Name != "Urgent mine" {
		t.Fatalf("saved filter: %+v", f)
	}
	wantCode(t, db.CreateSavedFilter(ctx, &chat.SavedFilter{WorkspaceID: ws, AgentID: fx.Admin.ID, Name: "Urgent mine"}), chat.ECONFLICT)
	wantCode(t, db.CreateSavedFilter(ctx, &chat.SavedFilter{WorkspaceID: ws, AgentID: fx.Admin.ID, Name: "  "}), chat.EINVALID)
	must(t, db.CreateSavedFilter(ctx, &chat.SavedFilter{WorkspaceID: ws, AgentID: other.ID, Name: "Urgent mine"})) // names are per agent

	list, err := db.ListSavedFilters(ctx, ws, fx.Admin.ID)
	must(t, err)
	if len(list) != 1 || list[0].Query["priority"] != "urgent" || list[0].AgentID != fx.Admin.ID {
		t.Fatalf("admin's filters: %+v", list)
	}
	wantCode(t, db.DeleteSavedFilter(ctx, ws, other.ID, f.ID), chat.ENOTFOUND)
	must(t, db.DeleteSavedFilter(ctx, ws, fx.Admin.ID, f.ID))
	wantCode(t, db.DeleteSavedFilter(ctx, ws, fx.Admin.ID, f.ID), chat.ENOTFOUND)
	list, err = db.ListSavedFilters(ctx, ws, other.ID)
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("other's filters: %+v", list)
	}
}

func TestPageViewsKeepTheNewest(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws, v := fx.Workspace.ID, fx.Visitor.ID
	for i := range 120 {
		must(t, db.AddPageView(ctx, ws, v, fmt.Sprintf("https://shop.example/p/%d", i), fmt.Sprintf("Page %d", i)))
	}
	pages, err := db.PageViews(ctx, ws, v, 0)
	must(t, err)
	if len(pages) != 50 || pages[0].URL != "https://shop.example/p/119" || pages[0].Title != "Page 119" || pages[49].URL != "https://shop.example/p/70" {
		t.Fatalf("default page: %d pages, first %+v", len(pages), pages[0])
	}
	all, err := db.PageViews(ctx, ws, v, 1000)
	must(t, err)
	if len(all) != 100 || all[99].URL != "https://shop.example/p/20" {
		t.Fatalf("kept %d page views (last %+v), want the newest 100", len(all), all[len(all)-1])
	}
	wantCode(t, db.AddPageView(ctx, ws, v, "  ", ""), chat.EINVALID)
	other := storetest.Seed(t, db)
	wantCode(t, db.AddPageView(ctx, other.Workspace.ID, v, "https://x", ""), chat.ENOTFOUND)
	pages, err = db.PageViews(ctx, other.Workspace.ID, v, 10)
	must(t, err)
	if len(pages) != 0 {
		t.Fatalf("another workspace sees %d page views", len(pages))
	}
}

func TestNoteMentionsWriteOutboxRows(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	conv := newConversation(t, db, fx)
	bob := newAgent(t, db, ws, "bob")
	note := chat.NewMessage{WorkspaceID: ws, ConversationID: conv.ID, ClientID: "n1", AuthorType: chat.AuthorAgent,
		AuthorID: fx.Admin.ID, AuthorName: fx.Admin.Name, Kind: chat.KindNote, Body: "@bob look", Mentions: []int64{bob.ID, bob.ID, fx.Admin.ID}}
	m, created, err := db.CreateMessage(ctx, note)
	must(t, err)
	if !created {
		t.Fatal("note not created")
	}
	rows := outboxOf(t, db, chat.EventMentionCreated)
	if len(rows) != 1 || rows[0]["agent_id"] != float64(bob.ID) || rows[0]["message_id"] != float64(m.ID) || rows[0]["by_agent_id"] != float64(fx.Admin.ID) {
		t.Fatalf("mention rows: %v", rows) // one for bob; none for the author
	}
	// A resend notifies nobody again.
	_, created, err = db.CreateMessage(ctx, note)
	must(t, err)
	if created || len(outboxOf(t, db, chat.EventMentionCreated)) != 1 {
		t.Fatal("resend wrote another mention")
	}

	// Only active agents of the workspace, only in notes; a bad mention stores nothing.
	other := storetest.Seed(t, db)
	bad := note
	bad.ClientID, bad.Mentions = "n2", []int64{other.Admin.ID}
	_, _, err = db.CreateMessage(ctx, bad)
	wantCode(t, err, chat.EINVALID)
	bad.Kind, bad.Mentions = chat.KindText, []int64{bob.ID}
	_, _, err = db.CreateMessage(ctx, bad)
	wantCode(t, err, chat.EINVALID)
	_, err = db.UpdateAgent(ctx, ws, bob.ID, chat.AgentUpdate{Active: ptr(false)})
	must(t, err)
	bad.Kind = chat.KindNote
	_, _, err = db.CreateMessage(ctx, bad)
	wantCode(t, err, chat.EINVALID)
	got, err := db.Conversation(ctx, ws, conv.ID)
	must(t, err)
	if got.LastSeq != m.Seq {
		t.Fatalf("failed notes moved last_seq to %d", got.LastSeq)
	}
}

func TestTeamsTokensWorkspace(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	other := storetest.Seed(t, db)
	sales := &chat.Team{WorkspaceID: ws, Name: "Sales"}
	support := &chat.Team{WorkspaceID: ws, Name: "Support"}
	must(t, db.CreateTeam(ctx, sales))
	must(t, db.CreateTeam(ctx, support))
	must(t, db.AddTeamMember(ctx, ws, support.ID, fx.Admin.ID))
	teams, err := db.TeamsWithMembers(ctx, ws)
	must(t, err)
	if len(teams) != 2 || teams[0].Name != "Sales" || len(teams[0].AgentIDs) != 0 || !slices.Equal(teams[1].AgentIDs, []int64{fx.Admin.ID}) {
		t.Fatalf("teams: %+v %+v", teams[0], teams[1])
	}
	_, err = db.RenameTeam(ctx, ws, sales.ID, "Support")
	wantCode(t, err, chat.ECONFLICT)
	renamed, err := db.RenameTeam(ctx, ws, sales.ID, "Presales")
	must(t, err)
	if renamed.Name != "Presales" {
		t.Fatalf("renamed: %+v", renamed)
	}
	_, err = db.RenameTeam(ctx, other.Workspace.ID, sales.ID, "Mine now")
	wantCode(t, err, chat.ENOTFOUND)

	conv := newConversation(t, db, fx)
	_, _, err = db.Assign(ctx, ws, conv.ID, &fx.Admin.ID, &support.ID, "")
	must(t, err)
	wantCode(t, db.DeleteTeam(ctx, other.Workspace.ID, support.ID), chat.ENOTFOUND)
	must(t, db.DeleteTeam(ctx, ws, support.ID))
	got, err := db.Conversation(ctx, ws, conv.ID)
	must(t, err)
	if got.TeamID != nil || got.AssigneeID == nil {
		t.Fatalf("after deleting its team: team %v assignee %v", got.TeamID, got.AssigneeID)
	}
	admin, err := db.Agent(ctx, ws, fx.Admin.ID)
	must(t, err)
	if len(admin.TeamIDs) != 0 {
		t.Fatalf("membership survived its team: %v", admin.TeamIDs)
	}

	tok := &chat.APIToken{WorkspaceID: ws, AgentID: fx.Admin.ID, Name: "ci"}
	must(t, db.CreateAPIToken(ctx, tok, "hash-ci"))
	tokens, err := db.ListAPITokens(ctx, ws)
	must(t, err)
	if len(tokens) != 1 || tokens[0].Name != "ci" || tokens[0].AgentID != fx.Admin.ID {
		t.Fatalf("tokens: %+v", tokens)
	}
	wantCode(t, db.DeleteAPIToken(ctx, other.Workspace.ID, tok.ID), chat.ENOTFOUND)
	must(t, db.DeleteAPIToken(ctx, ws, tok.ID))
	_, err = db.AgentByAPIToken(ctx, "hash-ci")
	wantCode(t, err, chat.EUNAUTHORIZED)

	w, err := db.Workspace(ctx, ws)
	must(t, err)
	w.Name, w.RetentionDays = "Renamed", 30
	must(t, db.UpdateWorkspace(ctx, w))
	w, err = db.Workspace(ctx, ws)
	must(t, err)
	if w.Name != "Renamed" || w.RetentionDays != 30 {
		t.Fatalf("workspace: %+v", w)
	}
	w.RetentionDays = 3
	wantCode(t, db.UpdateWorkspace(ctx, w), chat.EINVALID)
	_, err = db.Workspace(ctx, 999999)
	wantCode(t, err, chat.ENOTFOUND)
}

func TestCannedAndLabels(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	other := storetest.Seed(t, db)
	r := &chat.CannedResponse{WorkspaceID: ws, Shortcut: "refund", Title: "Refund policy", Body: "Refunds take 5 days."}
	must(t, db.CreateCanned(ctx, r))
	wantCode(t, db.CreateCanned(ctx, &chat.CannedResponse{WorkspaceID: ws, Shortcut: "refund", Body: "again"}), chat.ECONFLICT)
	must(t, db.CreateCanned(ctx, &chat.CannedResponse{WorkspaceID: other.Workspace.ID, Shortcut: "refund", Body: "theirs"}))
	for _, bad := range []chat.CannedResponse{{Shortcut: "Refund", Body: "x"}, {Shortcut: "a b", Body: "x"}, {Shortcut: "", Body: "x"},
		{Shortcut: "this-shortcut-is-far-too-long-to-type", Body: "x"}, {Shortcut: "ok", Body: "  "}} {
		bad.WorkspaceID = ws
		wantCode(t, db.CreateCanned(ctx, &bad), chat.EINVALID)
	}
	r.Shortcut, r.Body = "refunds", "Refunds take 3 days."
	must(t, db.UpdateCanned(ctx, r))
	got, err := db.Canned(ctx, ws, r.ID)
	must(t, err)
	if got.Shortcut != "refunds" || got.Body != "Refunds take 3 days." || got.Title != "Refund policy" {
		t.Fatalf("canned after update: %+v", got)
	}
	_, err = db.Canned(ctx, other.Workspace.ID, r.ID)
	wantCode(t, err, chat.ENOTFOUND)
	wantCode(t, db.DeleteCanned(ctx, other.Workspace.ID, r.ID), chat.ENOTFOUND)
	must(t, db.DeleteCanned(ctx, ws, r.ID))
	list, err := db.ListCanned(ctx, ws)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("canned after delete: %+v", list)
	}

	l := &chat.Label{WorkspaceID: ws, Name: "vip", Color: "#ff0000"}
	must(t, db.CreateLabel(ctx, l))
	wantCode(t, db.CreateLabel(ctx, &chat.Label{WorkspaceID: ws, Name: "vip"}), chat.ECONFLICT)
	wantCode(t, db.CreateLabel(ctx, &chat.Label{WorkspaceID: ws, Name: ""}), chat.EINVALID)
	must(t, db.CreateLabel(ctx, &chat.Label{WorkspaceID: ws, Name: "billing"}))
	labels, err := db.ListLabels(ctx, ws)
	must(t, err)
	if len(labels) != 2 || labels[0].Name != "billing" || labels[1].Color != "#ff0000" {
		t.Fatalf("labels: %+v", labels)
	}
	wantCode(t, db.DeleteLabel(ctx, other.Workspace.ID, l.ID), chat.ENOTFOUND)
	must(t, db.DeleteLabel(ctx, ws, l.ID))
}
