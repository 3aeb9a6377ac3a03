package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
)

// Tests of the agent console's REST API (docs/console-api.md).

// addAgent creates an active agent of the env's workspace and logs them in.
func (e *env) addAgent(name, role string) (*chat.Agent, *client) {
	e.t.Helper()
	hash, err := api.HashPassword(e.password)
	if err != nil {
		e.t.Fatal(err)
	}
	a := &chat.Agent{WorkspaceID: e.ws.ID, Email: fmt.Sprintf("%s%d@acme.test", strings.ToLower(name), seq.Add(1)), Name: name,
		Role: role, Status: chat.StatusOnline, Capacity: 5, Active: true, PasswordHash: hash}
	if err := e.db.CreateAgent(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
	return a, e.loginAgent(a.Email, e.password)
}

// startConversation has a new visitor of site open a conversation.
func (e *env) startConversation(site *chat.Site) (int64, visitorSession) {
	e.t.Helper()
	v, vs := e.newVisitor(site)
	var conv struct{ ID int64 }
	if st, body := v.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c1"}, &conv); st != 201 {
		e.t.Fatalf("start conversation: %d %s", st, body)
	}
	return conv.ID, vs
}

// outbox returns the payloads of the pending outbox rows of one topic.
func (e *env) outbox(topic string) []map[string]any {
	e.t.Helper()
	evs, err := e.db.PendingOutbox(context.Background(), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range evs {
		if ev.Topic == topic {
			var p map[string]any
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				e.t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

// none fails if a frame of type typ arrives within d.
func (w *wsClient) none(typ string, d time.Duration) {
	w.t.Helper()
	for _, f := range w.pending {
		if f.Type == typ {
			w.t.Fatalf("unexpected %s frame: %s", typ, f.Raw)
		}
	}
	deadline := time.After(d)
	for {
		select {
		case f := <-w.frames:
			if f.Type == typ {
				w.t.Fatalf("unexpected %s frame: %s", typ, f.Raw)
			}
			w.pending = append(w.pending, f)
		case <-deadline:
			return
		}
	}
}

// tokenFrom extracts the one-time token from a /set-password#token= link.
func tokenFrom(t *testing.T, link string) string {
	t.Helper()
	_, tok, ok := strings.Cut(link, "/set-password#token=")
	if !ok || tok == "" {
		t.Fatalf("not a set-password link: %q", link)
	}
	return tok
}

func TestForgotPassword(t *testing.T) {
	e := newEnv(t)
	anon := e.client()
	// Unknown addresses get the same answer and leave no trace.
	if st, body := anon.do("POST", "/api/v1/auth/forgot", map[string]string{"email": "nobody@acme.test"}, nil); st != 202 {
		t.Fatalf("unknown email: %d %s", st, body)
	}
	if rows := e.outbox(chat.EventPasswordReset); len(rows) != 0 {
		t.Fatalf("outbox rows for an unknown email: %v", rows)
	}
	anon.expectError("POST", "/api/v1/auth/forgot", map[string]string{"email": "not an email"}, 400, chat.EINVALID)

	// A real (active) agent gets a row with a two-hour one-time link.
	if st, body := anon.do("POST", "/api/v1/auth/forgot", map[string]string{"email": strings.ToUpper(e.admin.Email)}, nil); st != 202 {
		t.Fatalf("real email: %d %s", st, body)
	}
	rows := e.outbox(chat.EventPasswordReset)
	if len(rows) != 1 || rows[0]["agent_id"] != float64(e.admin.ID) || rows[0]["email"] != e.admin.Email {
		t.Fatalf("password.reset_requested rows: %v", rows)
	}
	link, _ := rows[0]["url"].(string)
	if !strings.HasPrefix(link, e.URL+"/set-password#token=") {
		t.Fatalf("reset link %q does not point at this server", link)
	}
	if exp, err := time.Parse(time.RFC3339, rows[0]["expires_at"].(string)); err != nil || exp.Sub(time.Now()) > 2*time.Hour || exp.Sub(time.Now()) < 110*time.Minute {
		t.Fatalf("expires_at %v (%v), want two hours from now", rows[0]["expires_at"], err)
	}
	if st, body := anon.do("POST", "/api/v1/auth/set-password", map[string]string{"token": tokenFrom(t, link), "password": "a fresh password"}, nil); st != 200 {
		t.Fatalf("set password with the reset link: %d %s", st, body)
	}
	e.loginAgent(e.admin.Email, "a fresh password")

	// Deactivated agents get nothing either; a flood stops at the limit.
	gone, _ := e.addAgent("Gone", chat.RoleAgent)
	inactive := false
	if _, err := e.db.UpdateAgent(context.Background(), e.ws.ID, gone.ID, chat.AgentUpdate{Active: &inactive}); err != nil {
		t.Fatal(err)
	}
	for range 7 {
		if st, _ := anon.do("POST", "/api/v1/auth/forgot", map[string]string{"email": gone.Email}, nil); st != 202 {
			t.Fatalf("deactivated agent: %d", st)
		}
		if st, _ := anon.do("POST", "/api/v1/auth/forgot", map[string]string{"email": e.admin.Email}, nil); st != 202 {
			t.Fatalf("repeated reset: %d", st)
		}
	}
	// The first link was used (and so no longer counts); then 5 an hour.
	rows = e.outbox(chat.EventPasswordReset)
	if len(rows) != 6 {
		t.Fatalf("%d reset rows after a flood, want 1 + 5 (the hourly limit)", len(rows))
	}
	for _, r := range rows {
		if r["agent_id"] == float64(gone.ID) {
			t.Fatal("a deactivated agent got a reset link")
		}
	}
	// A browser on another origin is refused outright.
	req, _ := http.NewRequest("POST", e.URL+"/api/v1/auth/forgot", strings.NewReader(`{"email":"x@acme.test"}`))
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("cross-origin forgot: %d", resp.StatusCode)
	}
}

func TestPatchMe(t *testing.T) {
	e := newEnv(t)
	c := e.loginAgent(e.admin.Email, e.password)
	var me struct{ Agent chat.Agent }
	c.do("GET", "/api/v1/me", nil, &me)
	if me.Agent.Preferences != chat.DefaultAgentPreferences() || me.Agent.Timezone != "" {
		t.Fatalf("defaults: %+v %q", me.Agent.Preferences, me.Agent.Timezone)
	}
	var got chat.Agent
	st, body := c.do("PATCH", "/api/v1/me", map[string]any{"name": "  Ada  ", "timezone": "America/New_York",
		"preferences": map[string]bool{"sound": false, "desktop": false}}, &got)
	want := chat.DefaultAgentPreferences()
	want.Sound, want.Desktop = false, false
	if st != 200 || got.Name != "Ada" || got.Timezone != "America/New_York" || got.Preferences != want {
		t.Fatalf("patch me: %d %s", st, body)
	}
	// Keys left out keep their value.
	c.do("PATCH", "/api/v1/me", map[string]any{"preferences": map[string]bool{"sound": true}}, &got)
	want.Sound = true
	if got.Preferences != want || got.Name != "Ada" {
		t.Fatalf("second patch: %+v", got)
	}
	c.do("GET", "/api/v1/me", nil, &me)
	if me.Agent.Preferences != want || me.Agent.Timezone != "America/New_York" {
		t.Fatalf("GET /me after patches: %+v", me.Agent)
	}
	c.expectError("PATCH", "/api/v1/me", map[string]any{"timezone": "Mars/Olympus_Mons"}, 400, chat.EINVALID)
	c.expectError("PATCH", "/api/v1/me", map[string]any{"timezone": "Local"}, 400, chat.EINVALID)
	c.expectError("PATCH", "/api/v1/me", map[string]any{"name": "   "}, 400, chat.EINVALID)
	c.expectError("PATCH", "/api/v1/me", map[string]any{"preferences": map[string]any{"sound": "loud"}}, 400, chat.EINVALID)
	// CSRF still applies.
	c.csrf = ""
	c.expectError("PATCH", "/api/v1/me", map[string]any{"name": "x"}, 403, chat.EFORBIDDEN)
}

type listResp struct {
	Conversations []struct {
		ID int64 `json:"id"`
	} `json:"conversations"`
	NextCursor string `json:"next_cursor"`
}

// listIDs pages through GET /conversations?query.
func (c *client) listIDs(query string) []int64 {
	c.e.t.Helper()
	var ids []int64
	cursor := ""
	for {
		q := query + "&limit=3"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var out listResp
		if st, body := c.do("GET", "/api/v1/conversations?"+q, nil, &out); st != 200 {
			c.e.t.Fatalf("list %s: %d %s", query, st, body)
		}
		for _, conv := range out.Conversations {
			ids = append(ids, conv.ID)
		}
		if out.NextCursor == "" {
			return ids
		}
		cursor = out.NextCursor
	}
}

func TestInboxViewsCountsAndSavedFilters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.loginAgent(e.admin.Email, e.password)
	bob, bobC := e.addAgent("Bob", chat.RoleAgent)
	team := &chat.Team{WorkspaceID: e.ws.ID, Name: "Support"}
	if err := e.db.CreateTeam(ctx, team); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddTeamMember(ctx, e.ws.ID, team.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-time.Second)
	var convs []int64
	for range 9 {
		id, _ := e.startConversation(e.site)
		convs = append(convs, id)
	}
	assign := func(c *client, conv int64, body map[string]any) {
		t.Helper()
		if st, raw := c.do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", conv), body, nil); st != 200 {
			t.Fatalf("assign: %d %s", st, raw)
		}
	}
	assign(admin, convs[0], map[string]any{"assignee_id": bob.ID})
	assign(admin, convs[1], map[string]any{"assignee_id": bob.ID, "team_id": team.ID})
	assign(admin, convs[2], map[string]any{"team_id": team.ID})
	assign(admin, convs[3], map[string]any{"assignee_id": e.admin.ID})
	if st, raw := admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", convs[4]), nil, nil); st != 200 {
		t.Fatalf("close: %d %s", st, raw)
	}
	if st, raw := admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/snooze", convs[5]), map[string]string{"until": time.Now().Add(time.Hour).Format(time.RFC3339)}, nil); st != 200 {
		t.Fatalf("snooze: %d %s", st, raw)
	}

	// Each count equals the length of its view's list.
	getCounts := func(c *client) map[string]int64 {
		t.Helper()
		var out chat.ConversationCounts
		if st, raw := c.do("GET", "/api/v1/conversations/counts", nil, &out); st != 200 {
			t.Fatalf("counts: %d %s", st, raw)
		}
		return map[string]int64{"unassigned": out.Unassigned, "mine": out.Mine, "my_teams": out.MyTeams, "all": out.All, "closed": out.Closed}
	}
	counts := getCounts(bobC)
	views := map[string]string{
		"unassigned": "status=open&assignee=none",
		"mine":       "status=open&assignee=me",
		"my_teams":   "status=open&team=mine",
		"all":        "status=open",
		"closed":     "status=closed",
	}
	want := map[string]int64{"unassigned": 4, "mine": 2, "my_teams": 2, "all": 7, "closed": 1}
	for view, q := range views {
		n := int64(len(bobC.listIDs(q)))
		if counts[view] != n || n != want[view] {
			t.Errorf("%s: count %d, list %d, want %d", view, counts[view], n, want[view])
		}
	}
	// The admin is in no team: their "my teams" is empty.
	counts = getCounts(admin)
	if counts["my_teams"] != 0 || counts["mine"] != 1 || len(admin.listIDs("team=mine")) != 0 {
		t.Fatalf("admin's counts: %v", counts)
	}

	// assignee=any, from/to.
	if ids := bobC.listIDs("assignee=any"); len(ids) != 3 || !slices.Contains(ids, convs[3]) {
		t.Fatalf("assignee=any: %v", ids)
	}
	if ids := bobC.listIDs("from=" + url.QueryEscape(start.Format(time.RFC3339))); len(ids) != 9 {
		t.Fatalf("from before everything: %d", len(ids))
	}
	if ids := bobC.listIDs("to=" + url.QueryEscape(start.Format(time.RFC3339))); len(ids) != 0 {
		t.Fatalf("to before everything: %d", len(ids))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, bad := range []string{"from=yesterday", "to=2025-13-01", "from=" + url.QueryEscape(future) + "&to=" + url.QueryEscape(start.Format(time.RFC3339)),
		"assignee=someone", "team=theirs", "status=lost", "priority=meh"} {
		bobC.expectError("GET", "/api/v1/conversations?"+bad, nil, 400, chat.EINVALID)
	}

	// Saved filters are per agent.
	var f chat.SavedFilter
	st, raw := bobC.do("POST", "/api/v1/filters", map[string]any{"name": "My team's open", "query": map[string]any{"status": "open", "team": "mine", "site": e.site.ID}}, &f)
	if st != 201 || f.ID == 0 || f.Query["site"] != fmt.Sprint(e.site.ID) || f.Query["team"] != "mine" {
		t.Fatalf("save filter: %d %s", st, raw)
	}
	bobC.expectError("POST", "/api/v1/filters", map[string]any{"name": "My team's open", "query": map[string]any{}}, 409, chat.ECONFLICT)
	bobC.expectError("POST", "/api/v1/filters", map[string]any{"name": "bad", "query": map[string]any{"sort": "x"}}, 400, chat.EINVALID)
	bobC.expectError("POST", "/api/v1/filters", map[string]any{"name": "bad", "query": map[string]any{"status": "lost"}}, 400, chat.EINVALID)
	bobC.expectError("POST", "/api/v1/filters", map[string]any{"name": "bad", "query": map[string]any{"team": []int{1}}}, 400, chat.EINVALID)
	bobC.expectError("POST", "/api/v1/filters", map[string]any{"name": "", "query": map[string]any{}}, 400, chat.EINVALID)
	var list struct{ Filters []chat.SavedFilter }
	bobC.do("GET", "/api/v1/filters", nil, &list)
	if len(list.Filters) != 1 || list.Filters[0].ID != f.ID {
		t.Fatalf("bob's filters: %+v", list.Filters)
	}
	// The saved query lists exactly like the view.
	q := url.Values{}
	for k, v := range list.Filters[0].Query {
		q.Set(k, v)
	}
	if ids := bobC.listIDs(q.Encode()); len(ids) != 2 {
		t.Fatalf("saved filter lists %v", ids)
	}
	// Saved filters are counted with the views, except those with a search
	// term (too slow to repeat on every change).
	var search chat.SavedFilter
	if st, raw := bobC.do("POST", "/api/v1/filters", map[string]any{"name": "Refunds", "query": map[string]any{"q": "refund"}}, &search); st != 201 {
		t.Fatalf("save a search: %d %s", st, raw)
	}
	var withFilters chat.ConversationCounts
	bobC.do("GET", "/api/v1/conversations/counts", nil, &withFilters)
	if n, ok := withFilters.Filters[f.ID]; !ok || n != 2 {
		t.Errorf("saved filter count: %v", withFilters.Filters)
	}
	if _, ok := withFilters.Filters[search.ID]; ok {
		t.Errorf("a search filter was counted: %v", withFilters.Filters)
	}
	assign(admin, convs[6], map[string]any{"team_id": team.ID})
	bobC.do("GET", "/api/v1/conversations/counts", nil, &withFilters)
	if n := withFilters.Filters[f.ID]; n != 3 || int64(len(bobC.listIDs(q.Encode()))) != n {
		t.Errorf("after one more team conversation the filter counts %d", n)
	}
	admin.do("GET", "/api/v1/filters", nil, &list)
	if len(list.Filters) != 0 {
		t.Fatalf("admin sees bob's filters: %+v", list.Filters)
	}
	admin.expectError("DELETE", fmt.Sprintf("/api/v1/filters/%d", f.ID), nil, 404, chat.ENOTFOUND)
	if st, raw := bobC.do("DELETE", fmt.Sprintf("/api/v1/filters/%d", f.ID), nil, nil); st != 204 {
		t.Fatalf("delete filter: %d %s", st, raw)
	}
}

// TestConcurrentClaimHasOneWinner: agents click "claim" at the same moment;
// exactly one gets the conversation, the others 409.
func TestConcurrentClaimHasOneWinner(t *testing.T) {
	e := newEnv(t)
	conv, _ := e.startConversation(e.site)
	clients := []*client{e.loginAgent(e.admin.Email, e.password)}
	ids := []int64{e.admin.ID}
	for i := range 5 {
		a, c := e.addAgent(fmt.Sprintf("Racer%d", i), chat.RoleAgent)
		clients, ids = append(clients, c), append(ids, a.ID)
	}
	path := fmt.Sprintf("/api/v1/conversations/%d/claim", conv)
	var wg sync.WaitGroup
	start := make(chan struct{})
	statuses := make([]int, len(clients))
	bodies := make([][]byte, len(clients))
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i], bodies[i] = c.do("POST", path, nil, nil)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, st := range statuses {
		switch st {
		case 200:
			if winner >= 0 {
				t.Fatalf("two winners: %d and %d", ids[winner], ids[i])
			}
			winner = i
		case 409:
			if !contains(bodies[i], chat.ECONFLICT) {
				t.Fatalf("409 without conflict code: %s", bodies[i])
			}
		default:
			t.Fatalf("claim: %d %s", st, bodies[i])
		}
	}
	if winner < 0 {
		t.Fatal("nobody won")
	}
	var got chat.Conversation
	clients[winner].do("POST", path, nil, &got) // claiming one's own again is fine
	if got.AssigneeID == nil || *got.AssigneeID != ids[winner] {
		t.Fatalf("conversation after the race: %+v", got)
	}
	loser := clients[(winner+1)%len(clients)]
	loser.expectError("POST", path, nil, 409, chat.ECONFLICT)
	loser.expectError("POST", "/api/v1/conversations/999999/claim", nil, 404, chat.ENOTFOUND)
	if n := len(e.outbox(chat.EventConversationAssigned)); n != 1 {
		t.Fatalf("%d conversation.assigned rows, want 1", n)
	}
}

func TestAssignWithNoteAndSnooze(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	bob, _ := e.addAgent("Bob", chat.RoleAgent)
	conv, vs := e.startConversation(e.site)
	vw := e.visitorWS(vs.Token)
	defer vw.close()

	var got chat.Conversation
	st, raw := admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", conv), map[string]any{"assignee_id": bob.ID, "note": "VIP, be nice"}, &got)
	if st != 200 || got.AssigneeID == nil || *got.AssigneeID != bob.ID || got.LastSeq != 2 {
		t.Fatalf("assign with note: %d %s", st, raw)
	}
	var msgs struct{ Messages []chat.Message }
	admin.do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), nil, &msgs)
	if len(msgs.Messages) != 2 || msgs.Messages[0].Kind != chat.KindEvent || msgs.Messages[1].Kind != chat.KindNote ||
		msgs.Messages[1].Body != "VIP, be nice" || msgs.Messages[1].AuthorID != e.admin.ID {
		t.Fatalf("messages after transfer: %+v", msgs.Messages)
	}
	// The visitor never sees the note.
	visitor := e.client()
	visitor.auth = "Bearer " + vs.Token
	visitor.do("GET", fmt.Sprintf("/api/v1/widget/conversations/%d/messages", conv), nil, &msgs)
	if len(msgs.Messages) != 1 || msgs.Messages[0].Kind != chat.KindEvent {
		t.Fatalf("visitor sees %+v", msgs.Messages)
	}
	vw.expect("conversation.updated")
	vw.none("nothing", 300*time.Millisecond) // collect what else arrives
	for _, f := range vw.pending {
		if contains(f.Raw, "VIP") {
			t.Fatalf("visitor socket got the note: %s", f.Raw)
		}
	}
	admin.expectError("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", conv), map[string]any{"assignee_id": bob.ID, "note": strings.Repeat("x", chat.MaxBodyLen+1)}, 413, chat.ETOOLARGE)

	// Snooze.
	path := fmt.Sprintf("/api/v1/conversations/%d/snooze", conv)
	until := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	if st, raw := admin.do("POST", path, map[string]string{"until": until.Format(time.RFC3339)}, &got); st != 200 || got.Status != chat.ConvSnoozed || got.SnoozedUntil == nil || !got.SnoozedUntil.Equal(until) {
		t.Fatalf("snooze: %d %s", st, raw)
	}
	admin.expectError("POST", path, map[string]string{"until": time.Now().Add(-time.Minute).Format(time.RFC3339)}, 400, chat.EINVALID)
	admin.expectError("POST", path, map[string]string{"until": "tomorrow"}, 400, chat.EINVALID)
	admin.expectError("POST", path, map[string]string{"until": time.Now().Add(400 * 24 * time.Hour).Format(time.RFC3339)}, 400, chat.EINVALID)
	admin.expectError("POST", "/api/v1/conversations/999999/snooze", map[string]string{"until": until.Format(time.RFC3339)}, 404, chat.ENOTFOUND)
}

// TestMentionReachesOnlyTheMentioned: a note mentioning Bob sends a
// mention frame to Bob's sockets and nobody else's.
func TestMentionReachesOnlyTheMentioned(t *testing.T) {
	e := newEnv(t)
	adminC := e.loginAgent(e.admin.Email, e.password)
	bob, bobC := e.addAgent("Bob", chat.RoleAgent)
	_, carolC := e.addAgent("Carol", chat.RoleAgent)
	adminWS, bobWS, bobWS2, carolWS := e.agentWS(adminC), e.agentWS(bobC), e.agentWS(bobC), e.agentWS(carolC)
	for _, w := range []*wsClient{adminWS, bobWS, bobWS2, carolWS} {
		defer w.close()
	}
	conv, _ := e.startConversation(e.site)
	var msg chat.Message
	st, raw := adminC.do("POST", fmt.Sprintf("/api/v1/conversations/%d/notes", conv),
		map[string]any{"client_id": "note-1", "body": "@Bob can you take this?", "mentions": []int64{bob.ID, e.admin.ID}}, &msg)
	if st != 201 || msg.Kind != chat.KindNote {
		t.Fatalf("note: %d %s", st, raw)
	}
	for _, w := range []*wsClient{bobWS, bobWS2} { // every tab of Bob's
		f := w.expect("mention")
		var m struct {
			ConversationID int64        `json:"conversation_id"`
			Message        chat.Message `json:"message"`
			By             struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"by"`
		}
		if err := json.Unmarshal(f.Raw, &m); err != nil {
			t.Fatal(err)
		}
		if m.ConversationID != conv || m.Message.ID != msg.ID || m.By.ID != e.admin.ID || m.By.Name != e.admin.Name {
			t.Fatalf("mention frame: %s", f.Raw)
		}
	}
	carolWS.expect("message") // Carol sees the note itself ...
	carolWS.none("mention", 500*time.Millisecond)
	adminWS.none("mention", 100*time.Millisecond) // ... but only Bob is mentioned
	rows := e.outbox(chat.EventMentionCreated)
	if len(rows) != 1 || rows[0]["agent_id"] != float64(bob.ID) {
		t.Fatalf("mention.created rows: %v", rows)
	}
	// A resend of the same note mentions nobody again.
	if st, _ := adminC.do("POST", fmt.Sprintf("/api/v1/conversations/%d/notes", conv),
		map[string]any{"client_id": "note-1", "body": "@Bob can you take this?", "mentions": []int64{bob.ID}}, nil); st != 200 {
		t.Fatalf("resend: %d", st)
	}
	bobWS.none("mention", 300*time.Millisecond)

	// Only agents of this workspace can be mentioned.
	_, _, stranger := e.seedWorkspace("Other", "other password 1")
	adminC.expectError("POST", fmt.Sprintf("/api/v1/conversations/%d/notes", conv),
		map[string]any{"client_id": "note-2", "body": "hi", "mentions": []int64{stranger.ID}}, 400, chat.EINVALID)
	adminC.expectError("POST", fmt.Sprintf("/api/v1/conversations/%d/notes", conv),
		map[string]any{"client_id": "note-3", "body": "hi", "mentions": []int64{-1}}, 400, chat.EINVALID)
	if n := len(e.outbox(chat.EventMentionCreated)); n != 1 {
		t.Fatalf("%d mention rows after refused notes", n)
	}
}

func TestVisitorPageHistory(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	_, vs := e.newVisitor(e.site)
	w := e.visitorWS(vs.Token)
	defer w.close()
	for _, p := range []string{"home", "pricing", "checkout"} {
		w.send(map[string]any{"type": "page", "url": "https://shop.example/" + p, "title": strings.ToUpper(p)})
	}
	var out struct {
		Visitor chat.Visitor
		Pages   []chat.PageView
	}
	path := fmt.Sprintf("/api/v1/visitors/%d", vs.Visitor.ID)
	deadline := time.Now().Add(5 * time.Second)
	for len(out.Pages) < 3 && time.Now().Before(deadline) {
		admin.do("GET", path, nil, &out)
		time.Sleep(20 * time.Millisecond)
	}
	if len(out.Pages) != 3 || out.Pages[0].URL != "https://shop.example/checkout" || out.Pages[0].Title != "CHECKOUT" || out.Pages[2].URL != "https://shop.example/home" || out.Pages[0].At.IsZero() {
		t.Fatalf("pages: %+v", out.Pages)
	}
	for i := range 60 {
		if err := e.db.AddPageView(context.Background(), e.ws.ID, vs.Visitor.ID, fmt.Sprintf("https://shop.example/p%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	admin.do("GET", path, nil, &out)
	if len(out.Pages) != 50 || out.Pages[0].URL != "https://shop.example/p59" {
		t.Fatalf("%d pages (first %+v), want the newest 50", len(out.Pages), out.Pages[0])
	}
}

// adminRoutes are the admin-only operations, with a valid-looking body.
func adminRoutes(siteID int64) [][3]any {
	return [][3]any{
		{"POST", "/api/v1/sites", map[string]any{"name": "x"}},
		{"PATCH", fmt.Sprintf("/api/v1/sites/%d", siteID), map[string]any{"name": "x"}},
		{"POST", fmt.Sprintf("/api/v1/sites/%d/rotate-secret", siteID), nil},
		{"POST", "/api/v1/agents/invite", map[string]any{"email": "x@acme.test", "name": "X"}},
		{"PATCH", "/api/v1/agents/1", map[string]any{"name": "x"}},
		{"POST", "/api/v1/teams", map[string]any{"name": "x"}},
		{"PATCH", "/api/v1/teams/1", map[string]any{"name": "x"}},
		{"DELETE", "/api/v1/teams/1", nil},
		{"POST", "/api/v1/canned", map[string]any{"shortcut": "x", "body": "x"}},
		{"PATCH", "/api/v1/canned/1", map[string]any{"body": "x"}},
		{"DELETE", "/api/v1/canned/1", nil},
		{"POST", "/api/v1/labels", map[string]any{"name": "x"}},
		{"DELETE", "/api/v1/labels/1", nil},
		{"GET", "/api/v1/tokens", nil},
		{"POST", "/api/v1/tokens", map[string]any{"name": "x"}},
		{"DELETE", "/api/v1/tokens/1", nil},
		{"GET", "/api/v1/workspace", nil},
		{"PATCH", "/api/v1/workspace", map[string]any{"name": "x"}},
		{"GET", "/api/v1/audit", nil},
	}
}

func TestAdminRoutesAreForAdmins(t *testing.T) {
	e := newEnv(t)
	plain, agent := e.addAgent("Plain", chat.RoleAgent)
	for _, r := range adminRoutes(e.site.ID) {
		agent.expectError(r[0].(string), r[1].(string), r[2], 403, chat.EFORBIDDEN)
	}
	anon := e.client()
	for _, r := range adminRoutes(e.site.ID) {
		anon.expectError(r[0].(string), r[1].(string), r[2], 401, chat.EUNAUTHORIZED)
	}
	// What every agent may read; sites without their secret.
	for _, p := range []string{"/api/v1/canned", "/api/v1/labels", "/api/v1/teams", "/api/v1/sites", fmt.Sprintf("/api/v1/sites/%d", e.site.ID)} {
		st, raw := agent.do("GET", p, nil, nil)
		if st != 200 || contains(raw, "identity_secret") {
			t.Fatalf("agent GET %s: %d %s", p, st, raw)
		}
	}
	admin := e.loginAgent(e.admin.Email, e.password)
	if _, raw := admin.do("GET", "/api/v1/sites", nil, nil); !contains(raw, "identity_secret") {
		t.Fatalf("admin does not see the identity secret: %s", raw)
	}
	// An agent promoted to admin gets in at once.
	var promoted chat.Agent
	admin.do("PATCH", fmt.Sprintf("/api/v1/agents/%d", plain.ID), map[string]any{"role": "admin"}, &promoted)
	if promoted.Role != chat.RoleAdmin {
		t.Fatalf("promotion: %+v", promoted)
	}
	if st, raw := agent.do("GET", "/api/v1/workspace", nil, nil); st != 200 {
		t.Fatalf("promoted agent: %d %s", st, raw)
	}
}

// TestOtherWorkspacesAreNotFound: ids of another workspace answer 404, as
// if they did not exist.
func TestOtherWorkspacesAreNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.loginAgent(e.admin.Email, e.password)
	// Objects in the env's workspace ...
	team := &chat.Team{WorkspaceID: e.ws.ID, Name: "Mine"}
	if err := e.db.CreateTeam(ctx, team); err != nil {
		t.Fatal(err)
	}
	canned := &chat.CannedResponse{WorkspaceID: e.ws.ID, Shortcut: "hi", Body: "Hello!"}
	if err := e.db.CreateCanned(ctx, canned); err != nil {
		t.Fatal(err)
	}
	label := &chat.Label{WorkspaceID: e.ws.ID, Name: "vip"}
	if err := e.db.CreateLabel(ctx, label); err != nil {
		t.Fatal(err)
	}
	tok := &chat.APIToken{WorkspaceID: e.ws.ID, AgentID: e.admin.ID, Name: "ci"}
	if err := e.db.CreateAPIToken(ctx, tok, "h"); err != nil {
		t.Fatal(err)
	}
	bob, _ := e.addAgent("Bob", chat.RoleAgent)
	conv, vs := e.startConversation(e.site)
	var f chat.SavedFilter
	admin.do("POST", "/api/v1/filters", map[string]any{"name": "f", "query": map[string]any{}}, &f)

	// ... are invisible to the admin of another one.
	_, _, otherAdmin := e.seedWorkspace("Globex", "globex password")
	other := e.loginAgent(otherAdmin.Email, "globex password")
	for _, r := range [][3]any{
		{"GET", fmt.Sprintf("/api/v1/sites/%d", e.site.ID), nil},
		{"PATCH", fmt.Sprintf("/api/v1/sites/%d", e.site.ID), map[string]any{"name": "mine"}},
		{"POST", fmt.Sprintf("/api/v1/sites/%d/rotate-secret", e.site.ID), nil},
		{"PATCH", fmt.Sprintf("/api/v1/agents/%d", bob.ID), map[string]any{"active": false}},
		{"PATCH", fmt.Sprintf("/api/v1/teams/%d", team.ID), map[string]any{"name": "x"}},
		{"DELETE", fmt.Sprintf("/api/v1/teams/%d", team.ID), nil},
		{"PATCH", fmt.Sprintf("/api/v1/canned/%d", canned.ID), map[string]any{"body": "x"}},
		{"DELETE", fmt.Sprintf("/api/v1/canned/%d", canned.ID), nil},
		{"DELETE", fmt.Sprintf("/api/v1/labels/%d", label.ID), nil},
		{"DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), nil},
		{"DELETE", fmt.Sprintf("/api/v1/filters/%d", f.ID), nil},
		{"POST", fmt.Sprintf("/api/v1/conversations/%d/claim", conv), nil},
		{"POST", fmt.Sprintf("/api/v1/conversations/%d/snooze", conv), map[string]any{"until": time.Now().Add(time.Hour).Format(time.RFC3339)}},
		{"POST", fmt.Sprintf("/api/v1/conversations/%d/notes", conv), map[string]any{"client_id": "x", "body": "x"}},
		{"GET", fmt.Sprintf("/api/v1/visitors/%d", vs.Visitor.ID), nil},
	} {
		other.expectError(r[0].(string), r[1].(string), r[2], 404, chat.ENOTFOUND)
	}
	// Lists hold only the caller's workspace.
	for p, key := range map[string]string{"/api/v1/sites": "sites", "/api/v1/teams": "teams", "/api/v1/canned": "canned", "/api/v1/labels": "labels", "/api/v1/tokens": "tokens"} {
		var out map[string][]map[string]any
		other.do("GET", p, nil, &out)
		for _, item := range out[key] {
			if ws, ok := item["workspace_id"]; ok && ws != float64(otherAdmin.WorkspaceID) {
				t.Fatalf("%s lists %v of workspace %v", p, item["id"], ws)
			}
		}
	}
	var counts chat.ConversationCounts
	other.do("GET", "/api/v1/conversations/counts", nil, &counts)
	if counts.All != 0 {
		t.Fatalf("other workspace counts %v", counts)
	}
	// Nothing changed.
	got, err := e.db.Agent(ctx, e.ws.ID, bob.ID)
	if err != nil || !got.Active {
		t.Fatalf("bob after a foreign deactivation attempt: %+v %v", got, err)
	}
}

func TestSitesAdministration(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	var site struct {
		chat.Site
		IdentitySecret string `json:"identity_secret"`
	}
	st, raw := admin.do("POST", "/api/v1/sites", map[string]any{"name": "Docs", "allowed_origins": []string{"https://Docs.Example.com/", "https://docs.example.com"},
		"settings": map[string]any{"color": "#112233", "greeting": "Hello", "business_hours": []map[string]any{{"day": 1, "open": "09:00", "close": "17:00"}}}}, &site)
	if st != 201 || site.ID == 0 || site.PublicKey == "" || len(site.IdentitySecret) < 32 || !slices.Equal(site.AllowedOrigins, []string{"https://docs.example.com"}) ||
		site.Settings.Color != "#112233" || len(site.Settings.BusinessHours) != 1 {
		t.Fatalf("create site: %d %s", st, raw)
	}
	path := fmt.Sprintf("/api/v1/sites/%d", site.ID)
	// Settings keys given replace the stored ones; the rest stay.
	st, raw = admin.do("PATCH", path, map[string]any{"identity_required": true, "settings": map[string]any{"greeting": "Hi there", "typing_preview": true}}, &site)
	if st != 200 || !site.IdentityRequired || site.Settings.Greeting != "Hi there" || !site.Settings.TypingPreview || site.Settings.Color != "#112233" || len(site.Settings.BusinessHours) != 1 {
		t.Fatalf("patch site: %d %s", st, raw)
	}
	st, raw = admin.do("PATCH", path, map[string]any{"settings": map[string]any{"business_hours": []map[string]any{{"day": 2, "open": "10:00", "close": "12:00"}}}}, &site)
	if st != 200 || len(site.Settings.BusinessHours) != 1 || site.Settings.BusinessHours[0] != (chat.BusinessHours{Day: 2, Open: "10:00", Shut: "12:00"}) {
		t.Fatalf("replace business hours: %d %s", st, raw)
	}
	for _, bad := range []map[string]any{
		{"name": ""},
		{"allowed_origins": []string{"docs.example.com"}},
		{"allowed_origins": []string{"https://docs.example.com/path"}},
		{"allowed_origins": []string{"javascript://x"}},
		{"settings": map[string]any{"color": "red"}},
		{"settings": map[string]any{"position": "top"}},
		{"settings": map[string]any{"timezone": "Nowhere/Land"}},
		{"settings": map[string]any{"business_hours": []map[string]any{{"day": 7, "open": "09:00", "close": "17:00"}}}},
		{"settings": map[string]any{"business_hours": []map[string]any{{"day": 1, "open": "18:00", "close": "17:00"}}}},
		{"settings": map[string]any{"prechat_fields": []map[string]any{{"name": "plan", "label": "Plan", "type": "select"}}}},
		{"settings": map[string]any{"prechat_fields": []map[string]any{{"name": "x", "type": "date"}}}},
		{"settings": map[string]any{"proactive": []map[string]any{{"url_pattern": "/pricing*", "delay_seconds": -1, "message": "hi"}}}},
		{"settings": map[string]any{"max_upload_bytes": 1 << 40}},
		{"settings": "blue"},
	} {
		admin.expectError("PATCH", path, bad, 400, chat.EINVALID)
	}
	admin.expectError("POST", "/api/v1/sites", map[string]any{"name": "x", "settings": map[string]any{"color": 5}}, 400, chat.EINVALID)

	// Rotating the secret: hashes made with the old one stop verifying.
	old := site.IdentitySecret
	var rot struct {
		IdentitySecret string `json:"identity_secret"`
	}
	if st, raw := admin.do("POST", path+"/rotate-secret", nil, &rot); st != 200 || rot.IdentitySecret == "" || rot.IdentitySecret == old {
		t.Fatalf("rotate: %d %s", st, raw)
	}
	full, _ := e.db.Site(context.Background(), e.ws.ID, site.ID)
	v, _ := e.newVisitor(full)
	v.expectError("POST", "/api/v1/widget/identify", map[string]any{"id": "u1", "hash": sign(old, "u1")}, 403, chat.EFORBIDDEN)
	var idn identifyResponse
	if st, raw := v.do("POST", "/api/v1/widget/identify", map[string]any{"id": "u1", "hash": sign(rot.IdentitySecret, "u1")}, &idn); st != 200 || !idn.Visitor.Verified {
		t.Fatalf("identify with the new secret: %d %s", st, raw)
	}
	var sites struct{ Sites []map[string]any }
	admin.do("GET", "/api/v1/sites", nil, &sites)
	if len(sites.Sites) != 2 || sites.Sites[1]["identity_secret"] != rot.IdentitySecret {
		t.Fatalf("sites: %+v", sites.Sites)
	}
	admin.expectError("GET", "/api/v1/sites/999999", nil, 404, chat.ENOTFOUND)
}

func TestInviteSetPasswordAndLogin(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	team := &chat.Team{WorkspaceID: e.ws.ID, Name: "Support"}
	if err := e.db.CreateTeam(context.Background(), team); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Agent     chat.Agent `json:"agent"`
		InviteURL string     `json:"invite_url"`
	}
	st, raw := admin.do("POST", "/api/v1/agents/invite", map[string]any{"email": "Newbie@Acme.test", "name": "Newbie", "role": "agent", "team_ids": []int64{team.ID}, "capacity": 3}, &out)
	if st != 201 || out.Agent.ID == 0 || out.Agent.Email != "newbie@acme.test" || out.Agent.Capacity != 3 || !slices.Equal(out.Agent.TeamIDs, []int64{team.ID}) || !out.Agent.Active {
		t.Fatalf("invite: %d %s", st, raw)
	}
	if !strings.HasPrefix(out.InviteURL, e.URL+"/set-password#token=") {
		t.Fatalf("invite_url %q is not built from the request's host", out.InviteURL)
	}
	rows := e.outbox(chat.EventAgentInvited)
	if len(rows) != 1 || rows[0]["url"] != out.InviteURL || rows[0]["agent_id"] != float64(out.Agent.ID) || rows[0]["email"] != "newbie@acme.test" {
		t.Fatalf("agent.invited rows: %v", rows)
	}
	// No password yet: login fails until the link is used, once.
	e.client().expectError("POST", "/api/v1/auth/login", map[string]string{"email": "newbie@acme.test", "password": "whatever123"}, 401, chat.EUNAUTHORIZED)
	anon := e.client()
	token := tokenFrom(t, out.InviteURL)
	if st, raw := anon.do("POST", "/api/v1/auth/set-password", map[string]string{"token": token, "password": "my own password"}, nil); st != 200 {
		t.Fatalf("set password: %d %s", st, raw)
	}
	anon.expectError("POST", "/api/v1/auth/set-password", map[string]string{"token": token, "password": "again and again"}, 401, chat.EUNAUTHORIZED)
	newbie := e.loginAgent("newbie@acme.test", "my own password")
	var me struct{ Agent chat.Agent }
	newbie.do("GET", "/api/v1/me", nil, &me)
	if me.Agent.ID != out.Agent.ID || me.Agent.Role != chat.RoleAgent {
		t.Fatalf("invited agent's /me: %+v", me.Agent)
	}

	admin.expectError("POST", "/api/v1/agents/invite", map[string]any{"email": "NEWBIE@acme.test", "name": "Again"}, 409, chat.ECONFLICT)
	for _, bad := range []map[string]any{
		{"email": "not-an-email", "name": "X"},
		{"email": "x@acme.test", "name": ""},
		{"email": "x@acme.test", "name": "X", "role": "owner"},
		{"email": "x@acme.test", "name": "X", "capacity": -1},
		{"email": "x@acme.test", "name": "X", "team_ids": []int64{999999}},
	} {
		admin.expectError("POST", "/api/v1/agents/invite", bad, 400, chat.EINVALID)
	}
	if n := len(e.outbox(chat.EventAgentInvited)); n != 1 {
		t.Fatalf("%d agent.invited rows after refused invites", n)
	}

	// With a public URL configured, links use it whatever the Host.
	e2 := newEnvWith(t, api.Config{PublicURL: "https://chat.example.com"})
	admin2 := e2.client()
	token2, hash2 := api.NewToken("sbk_")
	if err := e2.db.CreateAPIToken(context.Background(), &chat.APIToken{WorkspaceID: e2.ws.ID, AgentID: e2.admin.ID, Name: "t"}, hash2); err != nil {
		t.Fatal(err)
	}
	admin2.auth = "Bearer " + token2
	if st, raw := admin2.do("POST", "/api/v1/agents/invite", map[string]any{"email": "p@acme.test", "name": "P"}, &out); st != 201 || !strings.HasPrefix(out.InviteURL, "https://chat.example.com/set-password#token=") {
		t.Fatalf("invite behind a public URL: %d %s", st, raw)
	}
}

// TestDeactivateAgent: a deactivated agent's sockets close within seconds
// and their cookie session and API tokens stop working at once.
func TestDeactivateAgent(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	bob, bobC := e.addAgent("Bob", chat.RoleAgent)
	bobWS := e.agentWS(bobC)
	defer bobWS.close()
	bobWS2 := e.agentWS(bobC)
	defer bobWS2.close()
	adminWS := e.agentWS(admin)
	defer adminWS.close()
	token, hash := api.NewToken("sbk_")
	if err := e.db.CreateAPIToken(context.Background(), &chat.APIToken{WorkspaceID: e.ws.ID, AgentID: bob.ID, Name: "bob's script"}, hash); err != nil {
		t.Fatal(err)
	}
	script := e.client()
	script.auth = "Bearer " + token
	if st, _ := script.do("GET", "/api/v1/me", nil, nil); st != 200 {
		t.Fatalf("bob's token before: %d", st)
	}

	var got chat.Agent
	start := time.Now()
	if st, raw := admin.do("PATCH", fmt.Sprintf("/api/v1/agents/%d", bob.ID), map[string]any{"active": false}, &got); st != 200 || got.Active || got.Status != chat.StatusOffline {
		t.Fatalf("deactivate: %d %s", st, raw)
	}
	for _, w := range []*wsClient{bobWS, bobWS2} {
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
			t.Fatal("bob's socket still open 5s after deactivation")
		}
	}
	t.Logf("sockets closed %v after the request started", time.Since(start).Round(time.Millisecond))
	bobC.expectError("GET", "/api/v1/me", nil, 401, chat.EUNAUTHORIZED)
	script.expectError("GET", "/api/v1/me", nil, 401, chat.EUNAUTHORIZED)
	e.client().expectError("POST", "/api/v1/auth/login", map[string]string{"email": bob.Email, "password": e.password}, 401, chat.EUNAUTHORIZED)
	// The admin's own socket is untouched and hears that bob went offline.
	for {
		f := adminWS.expect("presence")
		if contains(f.Raw, fmt.Sprintf(`"agent_id":%d`, bob.ID)) && contains(f.Raw, chat.StatusOffline) {
			break
		}
	}
	if st, _ := admin.do("GET", "/api/v1/me", nil, nil); st != 200 {
		t.Fatal("admin lost their session")
	}
	// Assigning to a deactivated agent is refused; reactivating lets them log in again.
	conv, _ := e.startConversation(e.site)
	admin.expectError("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", conv), map[string]any{"assignee_id": bob.ID}, 400, chat.EINVALID)
	admin.do("PATCH", fmt.Sprintf("/api/v1/agents/%d", bob.ID), map[string]any{"active": true}, &got)
	if !got.Active {
		t.Fatal("not reactivated")
	}
	e.loginAgent(bob.Email, e.password)

	// Admins cannot deactivate or demote themselves.
	self := fmt.Sprintf("/api/v1/agents/%d", e.admin.ID)
	admin.expectError("PATCH", self, map[string]any{"active": false}, 403, chat.EFORBIDDEN)
	admin.expectError("PATCH", self, map[string]any{"role": "agent"}, 403, chat.EFORBIDDEN)
	if st, raw := admin.do("PATCH", self, map[string]any{"name": "Boss", "capacity": 9}, &got); st != 200 || got.Name != "Boss" || got.Capacity != 9 || got.Role != chat.RoleAdmin {
		t.Fatalf("admin edits themselves: %d %s", st, raw)
	}
	// Validation.
	bobPath := fmt.Sprintf("/api/v1/agents/%d", bob.ID)
	admin.expectError("PATCH", bobPath, map[string]any{"role": "owner"}, 400, chat.EINVALID)
	admin.expectError("PATCH", bobPath, map[string]any{"capacity": 1000}, 400, chat.EINVALID)
	admin.expectError("PATCH", bobPath, map[string]any{"team_ids": []int64{424242}}, 400, chat.EINVALID)
	admin.expectError("PATCH", bobPath, map[string]any{"name": ""}, 400, chat.EINVALID)
	admin.expectError("PATCH", "/api/v1/agents/999999", map[string]any{"name": "x"}, 404, chat.ENOTFOUND)
}

func TestTeamsCannedLabelsTokensWorkspaceAudit(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	bob, bobC := e.addAgent("Bob", chat.RoleAgent)

	// Teams, with members set through the agent.
	var team chat.Team
	if st, raw := admin.do("POST", "/api/v1/teams", map[string]any{"name": " Support "}, &team); st != 201 || team.Name != "Support" || team.AgentIDs == nil {
		t.Fatalf("create team: %d %s", st, raw)
	}
	admin.expectError("POST", "/api/v1/teams", map[string]any{"name": "Support"}, 409, chat.ECONFLICT)
	admin.expectError("POST", "/api/v1/teams", map[string]any{"name": ""}, 400, chat.EINVALID)
	admin.do("PATCH", fmt.Sprintf("/api/v1/agents/%d", bob.ID), map[string]any{"team_ids": []int64{team.ID}}, nil)
	var teams struct{ Teams []chat.Team }
	bobC.do("GET", "/api/v1/teams", nil, &teams)
	if len(teams.Teams) != 1 || !slices.Equal(teams.Teams[0].AgentIDs, []int64{bob.ID}) {
		t.Fatalf("teams: %+v", teams.Teams)
	}
	if st, raw := admin.do("PATCH", fmt.Sprintf("/api/v1/teams/%d", team.ID), map[string]any{"name": "Care"}, &team); st != 200 || team.Name != "Care" || !slices.Equal(team.AgentIDs, []int64{bob.ID}) {
		t.Fatalf("rename team: %d %s", st, raw)
	}
	if st, _ := admin.do("DELETE", fmt.Sprintf("/api/v1/teams/%d", team.ID), nil, nil); st != 204 {
		t.Fatalf("delete team: %d", st)
	}
	admin.expectError("DELETE", fmt.Sprintf("/api/v1/teams/%d", team.ID), nil, 404, chat.ENOTFOUND)

	// Canned responses.
	var canned chat.CannedResponse
	if st, raw := admin.do("POST", "/api/v1/canned", map[string]any{"shortcut": "thanks", "title": "Thanks", "body": "Thanks for reaching out!"}, &canned); st != 201 || canned.ID == 0 {
		t.Fatalf("create canned: %d %s", st, raw)
	}
	admin.expectError("POST", "/api/v1/canned", map[string]any{"shortcut": "thanks", "body": "dup"}, 409, chat.ECONFLICT)
	admin.expectError("POST", "/api/v1/canned", map[string]any{"shortcut": "Thanks!", "body": "x"}, 400, chat.EINVALID)
	admin.expectError("POST", "/api/v1/canned", map[string]any{"shortcut": "empty"}, 400, chat.EINVALID)
	if st, raw := admin.do("PATCH", fmt.Sprintf("/api/v1/canned/%d", canned.ID), map[string]any{"body": "Thank you!"}, &canned); st != 200 || canned.Body != "Thank you!" || canned.Shortcut != "thanks" {
		t.Fatalf("patch canned: %d %s", st, raw)
	}
	var cannedList struct{ Canned []chat.CannedResponse }
	bobC.do("GET", "/api/v1/canned", nil, &cannedList)
	if len(cannedList.Canned) != 1 || cannedList.Canned[0].Body != "Thank you!" {
		t.Fatalf("canned list: %+v", cannedList)
	}
	if st, _ := admin.do("DELETE", fmt.Sprintf("/api/v1/canned/%d", canned.ID), nil, nil); st != 204 {
		t.Fatalf("delete canned: %d", st)
	}

	// Labels.
	var label chat.Label
	if st, raw := admin.do("POST", "/api/v1/labels", map[string]any{"name": " VIP ", "color": "#FF0000"}, &label); st != 201 || label.Name != "vip" || label.Color != "#ff0000" {
		t.Fatalf("create label: %d %s", st, raw)
	}
	admin.do("POST", "/api/v1/labels", map[string]any{"name": "billing"}, &label)
	if label.Color == "" {
		t.Fatal("label without a default color")
	}
	admin.expectError("POST", "/api/v1/labels", map[string]any{"name": "vip"}, 409, chat.ECONFLICT)
	admin.expectError("POST", "/api/v1/labels", map[string]any{"name": "x", "color": "red"}, 400, chat.EINVALID)
	admin.expectError("POST", "/api/v1/labels", map[string]any{"name": strings.Repeat("l", chat.MaxLabelLen+1)}, 400, chat.EINVALID)
	var labels struct{ Labels []chat.Label }
	bobC.do("GET", "/api/v1/labels", nil, &labels)
	if len(labels.Labels) != 2 || labels.Labels[0].Name != "billing" {
		t.Fatalf("labels: %+v", labels)
	}
	if st, _ := admin.do("DELETE", fmt.Sprintf("/api/v1/labels/%d", label.ID), nil, nil); st != 204 {
		t.Fatalf("delete label: %d", st)
	}

	// API tokens: shown once, then usable as the admin, then revoked.
	var tok struct {
		Token    string        `json:"token"`
		APIToken chat.APIToken `json:"api_token"`
	}
	if st, raw := admin.do("POST", "/api/v1/tokens", map[string]any{"name": "zapier"}, &tok); st != 201 || !strings.HasPrefix(tok.Token, "sbk_") || tok.APIToken.AgentID != e.admin.ID {
		t.Fatalf("create token: %d %s", st, raw)
	}
	admin.expectError("POST", "/api/v1/tokens", map[string]any{"name": ""}, 400, chat.EINVALID)
	script := e.client()
	script.auth = "Bearer " + tok.Token
	if st, _ := script.do("GET", "/api/v1/workspace", nil, nil); st != 200 {
		t.Fatalf("new token: %d", st)
	}
	var tokens struct{ Tokens []map[string]any }
	admin.do("GET", "/api/v1/tokens", nil, &tokens)
	if len(tokens.Tokens) != 1 || tokens.Tokens[0]["name"] != "zapier" || tokens.Tokens[0]["token"] != nil || tokens.Tokens[0]["token_hash"] != nil {
		t.Fatalf("tokens: %+v", tokens.Tokens)
	}
	if st, _ := admin.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.APIToken.ID), nil, nil); st != 204 {
		t.Fatalf("delete token: %d", st)
	}
	script.expectError("GET", "/api/v1/workspace", nil, 401, chat.EUNAUTHORIZED)

	// Workspace settings.
	var ws chat.Workspace
	if st, raw := admin.do("PATCH", "/api/v1/workspace", map[string]any{"name": "Acme Inc", "retention_days": 90}, &ws); st != 200 || ws.Name != "Acme Inc" || ws.RetentionDays != 90 {
		t.Fatalf("patch workspace: %d %s", st, raw)
	}
	admin.do("PATCH", "/api/v1/workspace", map[string]any{"retention_days": 0}, &ws)
	if ws.RetentionDays != 0 || ws.Name != "Acme Inc" {
		t.Fatalf("keep forever: %+v", ws)
	}
	admin.expectError("PATCH", "/api/v1/workspace", map[string]any{"retention_days": 3}, 400, chat.EINVALID)
	admin.expectError("PATCH", "/api/v1/workspace", map[string]any{"retention_days": 4000}, 400, chat.EINVALID)
	admin.expectError("PATCH", "/api/v1/workspace", map[string]any{"name": " "}, 400, chat.EINVALID)
	admin.do("GET", "/api/v1/workspace", nil, &ws)
	if ws.Name != "Acme Inc" {
		t.Fatalf("workspace: %+v", ws)
	}

	// The audit log recorded the admin's changes, newest first.
	var audit struct{ Audit []chat.AuditEntry }
	if st, raw := admin.do("GET", "/api/v1/audit?limit=200", nil, &audit); st != 200 {
		t.Fatalf("audit: %d %s", st, raw)
	}
	var actions []string
	for _, a := range audit.Audit {
		actions = append(actions, a.Action)
	}
	for _, want := range []string{"team.create", "team.update", "team.delete", "agent.update", "canned.create", "canned.update", "canned.delete",
		"label.create", "label.delete", "token.create", "token.delete", "workspace.update"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
	if len(audit.Audit) > 1 && audit.Audit[0].ID < audit.Audit[1].ID {
		t.Fatal("audit is not newest first")
	}
	admin.do("GET", "/api/v1/audit?limit=2", nil, &audit)
	if len(audit.Audit) != 2 {
		t.Fatalf("audit limit: %d", len(audit.Audit))
	}
	admin.expectError("GET", "/api/v1/audit?limit=0", nil, 400, chat.EINVALID)
	if strings.Contains(fmt.Sprint(audit.Audit), tok.Token) {
		t.Fatal("a token leaked into the audit log")
	}
}

// TestListRowsCarryVisitorAndPreview: each list row brings its visitor and
// its newest message that is not an event (notes included), so the console
// needs no request per row.
func TestListRowsCarryVisitorAndPreview(t *testing.T) {
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	convA, vsA := e.startConversation(e.site)
	convB, _ := e.startConversation(e.site)
	v := e.client()
	v.auth = "Bearer " + vsA.Token
	if st, raw := v.do("PATCH", "/api/v1/widget/visitor", map[string]string{"name": "Dana <b>"}, nil); st != 200 {
		t.Fatalf("name: %d %s", st, raw)
	}
	post := func(c *client, path, body string) {
		t.Helper()
		if st, raw := c.do("POST", path, map[string]string{"body": body, "client_id": body}, nil); st != 200 && st != 201 {
			t.Fatalf("%s: %d %s", path, st, raw)
		}
	}
	post(v, fmt.Sprintf("/api/v1/widget/conversations/%d/messages", convA), "Where is my order?")
	post(admin, fmt.Sprintf("/api/v1/conversations/%d/messages", convA), "Checking now")
	post(admin, fmt.Sprintf("/api/v1/conversations/%d/notes", convA), "VIP, be quick")
	if st, raw := admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", convA), nil, nil); st != 200 {
		t.Fatalf("close: %d %s", st, raw)
	}
	var out struct {
		Conversations []struct {
			ID      int64 `json:"id"`
			Visitor *struct {
				ID   int64
				Name string
			}
			LastMessage *chat.Message `json:"last_message"`
		}
	}
	if st, raw := admin.do("GET", "/api/v1/conversations?limit=10", nil, &out); st != 200 {
		t.Fatalf("list: %d %s", st, raw)
	}
	rows := map[int64]int{}
	for i, c := range out.Conversations {
		rows[c.ID] = i
	}
	a, b := out.Conversations[rows[convA]], out.Conversations[rows[convB]]
	if a.Visitor == nil || a.Visitor.ID != vsA.Visitor.ID || a.Visitor.Name != "Dana <b>" {
		t.Errorf("row A's visitor: %+v", a.Visitor)
	}
	if a.LastMessage == nil || a.LastMessage.Body != "VIP, be quick" || a.LastMessage.Kind != chat.KindNote || a.LastMessage.ConversationID != convA {
		t.Errorf("row A's preview (the close event is not one): %+v", a.LastMessage)
	}
	if b.Visitor == nil || b.LastMessage != nil {
		t.Errorf("row B (no messages): visitor %+v, preview %+v", b.Visitor, b.LastMessage)
	}

	// The store leaves out another workspace's ids.
	ws2, _, _ := e.seedWorkspace("Other", "another password 123")
	vs, last, err := e.db.ListRows(context.Background(), ws2.ID, []int64{vsA.Visitor.ID}, []int64{convA})
	if err != nil || len(vs) != 0 || len(last) != 0 {
		t.Fatalf("foreign rows: %v %v %v", vs, last, err)
	}
}
