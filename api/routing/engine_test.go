package routing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
	"github.com/switchboard-chat/switchboard/api/routing"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// world is a workspace on the real store with presence in Redis (the real
// one when SWITCHBOARD_TEST_REDIS_URL is set, else miniredis).
type world struct {
	t        testing.TB
	ctx      context.Context
	db       *store.DB
	presence *realtime.Presence
	engine   *routing.Engine
	ws       *chat.Workspace
	site     *chat.Site
	n        int
}

func newWorld(t testing.TB) *world {
	t.Helper()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	var client *redis.Client
	if u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		client = redis.NewClient(opt)
	} else {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		client = redis.NewClient(&redis.Options{Addr: m.Addr()})
	}
	t.Cleanup(func() { client.Close() })
	// A long TTL: the slow simulation (under -race) must not see agents expire.
	presence := realtime.NewPresence(client, fmt.Sprintf("rt%d:", time.Now().UnixNano()), time.Hour)
	// The seeded admin stays out of routing unless a test says otherwise.
	if err := db.SetAgentStatus(context.Background(), fx.Workspace.ID, fx.Admin.ID, chat.StatusOffline); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ctx: context.Background(), db: db, presence: presence,
		engine: routing.New(db, presence, nil, quiet), ws: fx.Workspace, site: fx.Site}
}

// agent creates an agent; online means chose "online" and is connected.
func (w *world) agent(capacity int, online bool, teams ...int64) *chat.Agent {
	w.t.Helper()
	w.n++
	a := &chat.Agent{WorkspaceID: w.ws.ID, Email: fmt.Sprintf("agent%d-%d@example.com", w.n, time.Now().UnixNano()), Name: fmt.Sprint("Agent ", w.n),
		Role: chat.RoleAgent, Status: chat.StatusOffline, Capacity: capacity, Active: true}
	if err := w.db.CreateAgent(w.ctx, a); err != nil {
		w.t.Fatal(err)
	}
	for _, team := range teams {
		if err := w.db.AddTeamMember(w.ctx, w.ws.ID, team, a.ID); err != nil {
			w.t.Fatal(err)
		}
	}
	if online {
		w.online(a)
	}
	return a
}

func (w *world) online(a *chat.Agent) {
	w.t.Helper()
	if err := w.db.SetAgentStatus(w.ctx, w.ws.ID, a.ID, chat.StatusOnline); err != nil {
		w.t.Fatal(err)
	}
	if err := w.presence.Heartbeat(w.ctx, "agent", w.ws.ID, a.ID, fmt.Sprint("conn", a.ID)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) offline(a *chat.Agent) {
	w.t.Helper()
	if err := w.presence.Leave(w.ctx, "agent", w.ws.ID, a.ID, fmt.Sprint("conn", a.ID)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) team(name string) int64 {
	w.t.Helper()
	t := &chat.Team{WorkspaceID: w.ws.ID, Name: name}
	if err := w.db.CreateTeam(w.ctx, t); err != nil {
		w.t.Fatal(err)
	}
	return t.ID
}

// conversation starts a conversation for a visitor (a new one when v is nil).
func (w *world) conversation(v *chat.Visitor, team int64) *chat.Conversation {
	w.t.Helper()
	if v == nil {
		v = w.visitor()
	}
	w.n++
	in := chat.NewConversation{WorkspaceID: w.ws.ID, SiteID: w.site.ID, VisitorID: v.ID, ClientID: fmt.Sprint("c", w.n)}
	if team != 0 {
		in.TeamID = &team
	}
	c, _, err := w.db.CreateConversation(w.ctx, in)
	if err != nil {
		w.t.Fatal(err)
	}
	// Distinct creation times keep "oldest first" unambiguous.
	time.Sleep(2 * time.Millisecond)
	return c
}

// conversationFast is conversation without the pause (creation order is
// still kept by the id tie-break).
func (w *world) conversationFast(v *chat.Visitor, team int64) *chat.Conversation {
	w.t.Helper()
	if v == nil {
		v = w.visitor()
	}
	w.n++
	in := chat.NewConversation{WorkspaceID: w.ws.ID, SiteID: w.site.ID, VisitorID: v.ID, ClientID: fmt.Sprint("c", w.n)}
	if team != 0 {
		in.TeamID = &team
	}
	c, _, err := w.db.CreateConversation(w.ctx, in)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) visitor() *chat.Visitor {
	w.t.Helper()
	v := &chat.Visitor{WorkspaceID: w.ws.ID, SiteID: w.site.ID}
	if err := w.db.CreateVisitor(w.ctx, v); err != nil {
		w.t.Fatal(err)
	}
	return v
}

func (w *world) drain() int {
	w.t.Helper()
	n, err := w.engine.Drain(w.ctx, w.ws.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) assignee(c *chat.Conversation) int64 {
	w.t.Helper()
	got, err := w.db.Conversation(w.ctx, w.ws.ID, c.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	if got.AssigneeID == nil {
		return 0
	}
	return *got.AssigneeID
}

func (w *world) closeConv(c *chat.Conversation) {
	w.t.Helper()
	if _, _, err := w.db.SetStatus(w.ctx, w.ws.ID, c.ID, chat.ConvClosed, nil, ""); err != nil {
		w.t.Fatal(err)
	}
}

func TestOnlyEligibleAgentsGetWork(t *testing.T) {
	w := newWorld(t)
	sales := w.team("Sales")
	offline := w.agent(5, false)
	away := w.agent(5, true)
	if err := w.db.SetAgentStatus(w.ctx, w.ws.ID, away.ID, chat.StatusAway); err != nil {
		t.Fatal(err)
	}
	disconnected := w.agent(5, true)
	w.offline(disconnected) // chose online, but no live connection
	full := w.agent(0, true)
	seller := w.agent(1, true, sales)

	c1 := w.conversation(nil, sales)
	c2 := w.conversation(nil, sales)
	if n := w.drain(); n != 1 {
		t.Fatalf("assigned %d, want 1 (one seller with capacity 1)", n)
	}
	if got := w.assignee(c1); got != seller.ID {
		t.Fatalf("c1 went to %d, want the seller %d (offline %d, away %d, disconnected %d, full %d)", got, seller.ID, offline.ID, away.ID, disconnected.ID, full.ID)
	}
	if w.assignee(c2) != 0 {
		t.Fatal("c2 was assigned beyond capacity")
	}
	// Capacity frees up: the queue drains in order.
	w.closeConv(c1)
	w.drain()
	if w.assignee(c2) != seller.ID {
		t.Fatal("queue did not drain when capacity freed up")
	}
}

func TestPoliciesAndFIFO(t *testing.T) {
	w := newWorld(t)
	a := w.agent(10, true)
	b := w.agent(10, true)
	// Round robin alternates.
	var got []int64
	for i := 0; i < 4; i++ {
		c := w.conversation(nil, 0)
		w.drain()
		got = append(got, w.assignee(c))
	}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] {
		t.Fatalf("round robin gave %v", got)
	}
	// Least busy: b closes its conversations and gets the next two.
	if err := w.db.SetRoutingSettings(w.ctx, w.ws.ID, chat.RoutingSettings{Policy: chat.PolicyLeastBusy}); err != nil {
		t.Fatal(err)
	}
	convs, _ := w.db.AssignedOpen(w.ctx, w.ws.ID)
	for _, c := range convs {
		if *c.AssigneeID == b.ID {
			w.closeConv(c)
		}
	}
	for i := 0; i < 2; i++ {
		c := w.conversation(nil, 0)
		w.drain()
		if w.assignee(c) != b.ID {
			t.Fatalf("least busy gave %d, want %d (a=%d)", w.assignee(c), b.ID, a.ID)
		}
	}

	// FIFO: with nobody eligible, conversations wait; when one agent comes
	// online with capacity 2, the two oldest go first.
	w2 := newWorld(t)
	var queue []*chat.Conversation
	for i := 0; i < 4; i++ {
		queue = append(queue, w2.conversation(nil, 0))
	}
	if w2.drain() != 0 {
		t.Fatal("assigned with nobody online")
	}
	w2.agent(2, true)
	w2.drain()
	for i, c := range queue {
		if assigned := w2.assignee(c) != 0; assigned != (i < 2) {
			t.Fatalf("conversation %d assigned=%v: not FIFO", i, assigned)
		}
	}
}

func TestReturningVisitorAndRules(t *testing.T) {
	w := newWorld(t)
	a := w.agent(10, true)
	b := w.agent(10, true)
	v := w.visitor()
	first := w.conversation(v, 0)
	w.drain()
	had := w.assignee(first)
	w.closeConv(first)
	// Others got work meanwhile, so round robin alone would not pick `had` twice.
	for i := 0; i < 3; i++ {
		w.conversation(nil, 0)
		w.drain()
	}
	again := w.conversation(v, 0)
	w.drain()
	if w.assignee(again) != had {
		t.Fatalf("returning visitor went to %d, not their agent %d (a=%d b=%d)", w.assignee(again), had, a.ID, b.ID)
	}

	// Team rules: French visitors on /pricing go to the French team.
	fr := w.team("French")
	frAgent := w.agent(5, true, fr)
	if err := w.db.SetRoutingSettings(w.ctx, w.ws.ID, chat.RoutingSettings{Rules: []chat.RoutingRule{{TeamID: fr, Language: "fr", URLPattern: "https://*/pricing*"}}}); err != nil {
		t.Fatal(err)
	}
	pv := w.visitor()
	pv.Locale, pv.LastPage = "fr-CA", "https://shop.example/pricing?x=1"
	if err := w.db.UpdateVisitor(w.ctx, pv); err != nil {
		t.Fatal(err)
	}
	c := w.conversation(pv, 0)
	if _, err := w.engine.Route(w.ctx, c); err != nil {
		t.Fatal(err)
	}
	w.drain()
	got, _ := w.db.Conversation(w.ctx, w.ws.ID, c.ID)
	if got.TeamID == nil || *got.TeamID != fr || w.assignee(c) != frAgent.ID {
		t.Fatalf("rule routing: team %v assignee %d, want team %d agent %d", got.TeamID, w.assignee(c), fr, frAgent.ID)
	}
	// A non-matching visitor stays out of the team.
	other := w.conversation(nil, 0)
	w.engine.Route(w.ctx, other)
	got, _ = w.db.Conversation(w.ctx, w.ws.ID, other.ID)
	if got.TeamID != nil {
		t.Fatal("rule matched a visitor without the language")
	}

	// Automatic assignment off for a team: its queue waits for a human.
	if err := w.db.SetTeamRouting(w.ctx, w.ws.ID, fr, "", false); err != nil {
		t.Fatal(err)
	}
	held := w.conversation(nil, fr)
	w.drain()
	if w.assignee(held) != 0 {
		t.Fatal("team with auto-assign off got an automatic assignment")
	}
}

func TestReassignment(t *testing.T) {
	w := newWorld(t)
	if err := w.db.SetRoutingSettings(w.ctx, w.ws.ID, chat.RoutingSettings{OfflineGraceSeconds: 1, FirstResponseSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	a := w.agent(5, true)
	b := w.agent(5, true)
	c := w.conversation(nil, 0)
	w.drain()
	first := w.assignee(c)
	// Nobody answers within the window: back to the queue, to the other agent.
	time.Sleep(1100 * time.Millisecond)
	w.online(a)
	w.online(b)
	if n, err := w.engine.Reassign(w.ctx, w.ws.ID); err != nil || n != 1 {
		t.Fatalf("reassign: %d %v", n, err)
	}
	w.drain()
	second := w.assignee(c)
	if second == 0 || second == first {
		t.Fatalf("after no answer the conversation went to %d (first %d)", second, first)
	}
	msgs, _ := w.db.Messages(w.ctx, w.ws.ID, c.ID, 0, 100, true)
	found := false
	for _, m := range msgs {
		if m.AuthorType == chat.AuthorSystem && contains(m.Body, "did not answer in time") {
			found = true
		}
	}
	if !found {
		t.Fatal("no system message about the reassignment")
	}
	// The agent answers: no more first-response reassignment. Then they go
	// offline beyond the grace period: the conversation moves again.
	if _, _, err := w.db.CreateMessage(w.ctx, chat.NewMessage{WorkspaceID: w.ws.ID, ConversationID: c.ID, ClientID: "answer",
		AuthorType: chat.AuthorAgent, AuthorID: second, Kind: chat.KindText, Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	holder := a
	if second == b.ID {
		holder = b
	}
	w.offline(holder)
	time.Sleep(1100 * time.Millisecond)
	w.online(map[bool]*chat.Agent{true: b, false: a}[holder == a])
	if n, _ := w.engine.Reassign(w.ctx, w.ws.ID); n != 1 {
		t.Fatalf("offline agent's conversation not requeued (%d)", n)
	}
	w.drain()
	if got := w.assignee(c); got == holder.ID || got == 0 {
		t.Fatalf("after going offline the conversation is with %d", got)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"https://*/pricing*", "https://shop.example/pricing?x=1", true},
		{"https://*/pricing*", "https://shop.example/about", false},
		{"*", "anything", true},
		{"*/checkout", "https://a/b/checkout", true},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"a*b*c", "a-x-b-y-c", true},
		{"a*b*c", "a-x-c-y-b", false},
	} {
		if got := routing.GlobMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("GlobMatch(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestStuckQueueDoesNotStarveOtherTeams: a team whose long queue cannot move
// (nobody eligible) does not keep a newer conversation of another team from
// its free agent, and every queued visitor still gets a place in line.
func TestStuckQueueDoesNotStarveOtherTeams(t *testing.T) {
	w := newWorld(t)
	stuck, free := w.team("Stuck"), w.team("Free")
	w.agent(5, false, stuck) // offline: nobody eligible in Stuck
	helper := w.agent(5, true, free)
	for i := 0; i < 520; i++ {
		w.conversationFast(nil, stuck)
	}
	newest := w.conversation(nil, free)
	if n := w.drain(); n != 1 || w.assignee(newest) != helper.ID {
		t.Fatalf("drain assigned %d; the Free team's conversation went to %d, want %d", n, w.assignee(newest), helper.ID)
	}
	late := w.conversation(nil, free)
	w.agent(5, false, free)
	if err := w.db.SetAgentCapacity(w.ctx, w.ws.ID, helper.ID, 1); err != nil {
		t.Fatal(err)
	}
	w.drain()
	pos, err := w.engine.Positions(w.ctx, w.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	places := map[int64]int{}
	for _, p := range pos {
		places[p.ConversationID] = p.Position
	}
	if places[late.ID] != 1 {
		t.Errorf("the Free team's waiting visitor is at %d, want 1 (behind nobody from Stuck)", places[late.ID])
	}
	if len(places) < 501 {
		t.Errorf("%d queued visitors have a place", len(places))
	}
}

// TestChosenOfflineBeyondGrace: an agent who sets themselves offline but
// leaves the console open (still connected) loses their conversations after
// the grace period; one who is away keeps them.
func TestChosenOfflineBeyondGrace(t *testing.T) {
	w := newWorld(t)
	if err := w.db.SetRoutingSettings(w.ctx, w.ws.ID, chat.RoutingSettings{OfflineGraceSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	leaver := w.agent(5, true)
	c := w.conversation(nil, 0)
	w.drain()
	if w.assignee(c) != leaver.ID {
		t.Fatal("not assigned")
	}
	stayer := w.agent(5, true)
	d := w.conversation(nil, 0)
	w.drain()
	if w.assignee(d) != stayer.ID {
		t.Fatalf("second conversation went to %d", w.assignee(d))
	}
	if err := w.db.SetAgentStatus(w.ctx, w.ws.ID, leaver.ID, chat.StatusOffline); err != nil {
		t.Fatal(err)
	}
	if err := w.db.SetAgentStatus(w.ctx, w.ws.ID, stayer.ID, chat.StatusAway); err != nil {
		t.Fatal(err)
	}
	if n, err := w.engine.Reassign(w.ctx, w.ws.ID); err != nil || n != 0 {
		t.Fatalf("reassigned within the grace period: %d %v", n, err)
	}
	time.Sleep(1100 * time.Millisecond)
	for _, a := range []*chat.Agent{leaver, stayer} { // the consoles are still open: heartbeats go on
		if err := w.presence.Heartbeat(w.ctx, "agent", w.ws.ID, a.ID, fmt.Sprint("conn", a.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := w.engine.Reassign(w.ctx, w.ws.ID); err != nil || n != 1 {
		t.Fatalf("reassign after the grace period: %d %v", n, err)
	}
	if w.assignee(c) != 0 || w.assignee(d) != stayer.ID {
		t.Fatalf("after the grace: c with %d (want queued), d with %d (want the away agent)", w.assignee(c), w.assignee(d))
	}
	// Setting offline again later does not restart the clock for nothing:
	// status_since only moves when the status changes.
	a1, _ := w.db.RoutingAgents(w.ctx, w.ws.ID)
	if err := w.db.SetAgentStatus(w.ctx, w.ws.ID, leaver.ID, chat.StatusOffline); err != nil {
		t.Fatal(err)
	}
	a2, _ := w.db.RoutingAgents(w.ctx, w.ws.ID)
	for i := range a1 {
		if a1[i].ID == leaver.ID && (a1[i].StatusSince == nil || !a1[i].StatusSince.Equal(*a2[i].StatusSince)) {
			t.Fatalf("status_since moved without a change: %v -> %v", a1[i].StatusSince, a2[i].StatusSince)
		}
	}
}

// TestRuleConditions: each condition of a team rule on its own and together.
func TestRuleConditions(t *testing.T) {
	conv := &chat.Conversation{SiteID: 7}
	v := &chat.Visitor{Locale: "pt-BR", LastPage: "https://shop.example/help/returns", Email: "ana@corp.example",
		Attributes: map[string]string{"plan": "Enterprise", "topic": "billing"}}
	for _, c := range []struct {
		name string
		rule chat.RoutingRule
		want bool
	}{
		{"no condition", chat.RoutingRule{}, true},
		{"site", chat.RoutingRule{SiteID: 7}, true},
		{"another site", chat.RoutingRule{SiteID: 8}, false},
		{"pre-chat field", chat.RoutingRule{Field: "topic", Value: "billing"}, true},
		{"pre-chat field, any case", chat.RoutingRule{Field: "plan", Value: "enterprise"}, true},
		{"pre-chat field, other value", chat.RoutingRule{Field: "topic", Value: "sales"}, false},
		{"missing field", chat.RoutingRule{Field: "company", Value: "x"}, false},
		{"email field", chat.RoutingRule{Field: "email", Value: "ana@corp.example"}, true},
		{"language prefix", chat.RoutingRule{Language: "pt"}, true},
		{"language exact", chat.RoutingRule{Language: "pt-BR"}, true},
		{"other language", chat.RoutingRule{Language: "p"}, false},
		{"url", chat.RoutingRule{URLPattern: "https://*/help/*"}, true},
		{"all together", chat.RoutingRule{SiteID: 7, Language: "pt", URLPattern: "*/returns", Field: "topic", Value: "billing"}, true},
		{"all but one", chat.RoutingRule{SiteID: 7, Language: "pt", URLPattern: "*/returns", Field: "topic", Value: "sales"}, false},
	} {
		if got := routing.Matches(c.rule, conv, v); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestSiteFirstResponseWindow: a site's own first-response window applies to
// its conversations; other sites keep the workspace's (none here).
func TestSiteFirstResponseWindow(t *testing.T) {
	w := newWorld(t)
	strict := &chat.Site{WorkspaceID: w.ws.ID, Name: "Strict", PublicKey: fmt.Sprint("strict", time.Now().UnixNano()),
		Settings: chat.SiteSettings{FirstResponseSeconds: 1}}
	if err := w.db.CreateSite(w.ctx, strict); err != nil {
		t.Fatal(err)
	}
	w.agent(5, true)
	relaxed := w.conversation(nil, 0)
	sv := &chat.Visitor{WorkspaceID: w.ws.ID, SiteID: strict.ID}
	if err := w.db.CreateVisitor(w.ctx, sv); err != nil {
		t.Fatal(err)
	}
	urgent, _, err := w.db.CreateConversation(w.ctx, chat.NewConversation{WorkspaceID: w.ws.ID, SiteID: strict.ID, VisitorID: sv.ID, ClientID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	w.drain()
	if w.assignee(relaxed) == 0 || w.assignee(urgent) == 0 {
		t.Fatal("not assigned")
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := w.engine.Reassign(w.ctx, w.ws.ID); err != nil || n != 1 {
		t.Fatalf("reassign: %d %v", n, err)
	}
	if w.assignee(urgent) != 0 || w.assignee(relaxed) == 0 {
		t.Fatalf("the strict site's conversation should be back in the queue, the other kept: urgent %d, relaxed %d", w.assignee(urgent), w.assignee(relaxed))
	}
}
