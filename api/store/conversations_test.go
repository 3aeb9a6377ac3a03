package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// listAll pages through the inbox and returns the ids in order, failing on a
// repeated id.
func listAll(t *testing.T, db *store.DB, workspaceID int64, f chat.ConversationFilter) []int64 {
	t.Helper()
	var ids []int64
	seen := map[int64]bool{}
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		page, err := db.ListConversations(ctx, workspaceID, f)
		must(t, err)
		if f.Limit > 0 && len(page.Conversations) > f.Limit {
			t.Fatalf("page of %d, limit %d", len(page.Conversations), f.Limit)
		}
		for _, c := range page.Conversations {
			if seen[c.ID] {
				t.Fatalf("conversation %d listed twice", c.ID)
			}
			seen[c.ID] = true
			ids = append(ids, c.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		f.Cursor = page.NextCursor
	}
}

func TestListConversationsCursorVisitsEachOnce(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	other := storetest.Seed(t, db) // must never show up
	newConversation(t, db, other)

	const n = 23
	var convs []*chat.Conversation
	for range n {
		convs = append(convs, newConversation(t, db, fx))
	}
	// Force ties on last_message_at, the case a timestamp-only cursor gets
	// wrong: groups of four share a timestamp, groups ordered by age.
	base := time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)
	want := map[int64]time.Time{}
	for i, c := range convs {
		at := base.Add(time.Duration(i/4) * time.Second)
		want[c.ID] = at
		_, err := db.SQL().ExecContext(ctx, rebind(db, "UPDATE conversations SET last_message_at = ? WHERE id = ?"), at, c.ID)
		must(t, err)
	}

	for _, limit := range []int{1, 4, 5, 7, 50} {
		ids := listAll(t, db, fx.Workspace.ID, chat.ConversationFilter{Limit: limit})
		if len(ids) != n {
			t.Fatalf("limit %d: visited %d conversations, want %d", limit, len(ids), n)
		}
		// Newest first, id descending within a tie.
		sorted := slices.SortedFunc(slices.Values(ids), func(a, b int64) int {
			if c := want[b].Compare(want[a]); c != 0 {
				return c
			}
			return int(b - a)
		})
		if !slices.Equal(ids, sorted) {
			t.Fatalf("limit %d: order %v, want %v", limit, ids, sorted)
		}
	}
	page, err := db.ListConversations(ctx, fx.Workspace.ID, chat.ConversationFilter{})
	must(t, err)
	if len(page.Conversations) != n || page.NextCursor != "" {
		t.Fatalf("default page: %d conversations, cursor %q", len(page.Conversations), page.NextCursor)
	}
	if !page.Conversations[0].LastMessageAt.Equal(base.Add(5 * time.Second)) {
		t.Fatalf("times do not round-trip: %v", page.Conversations[0].LastMessageAt)
	}
	_, err = db.ListConversations(ctx, fx.Workspace.ID, chat.ConversationFilter{Cursor: "!!not a cursor"})
	wantCode(t, err, chat.EINVALID)
}

// rebind turns ? placeholders into $n for raw PostgreSQL statements.
func rebind(db *store.DB, q string) string {
	if db.Dialect() != store.DialectPostgres {
		return q
	}
	out, n := []byte{}, 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = fmt.Appendf(out, "$%d", n)
		} else {
			out = append(out, q[i])
		}
	}
	return string(out)
}

func TestListConversationsFilters(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID

	müller := &chat.Visitor{WorkspaceID: ws, SiteID: fx.Site.ID, Name: "Jörg MÜLLER", Email: "Joerg@Example.org"}
	must(t, db.CreateVisitor(ctx, müller))
	site2 := &chat.Site{WorkspaceID: ws, Name: "second"}
	must(t, db.CreateSite(ctx, site2))
	v2 := &chat.Visitor{WorkspaceID: ws, SiteID: site2.ID}
	must(t, db.CreateVisitor(ctx, v2))
	team := &chat.Team{WorkspaceID: ws, Name: "Billing"}
	must(t, db.CreateTeam(ctx, team))

	a := newConversation(t, db, fx) // assigned, closed, labelled vip, urgent, body match
	send(t, db, a, chat.AuthorVisitor, chat.KindText, "My INVOICE is wrong")
	_, _, err := db.Assign(ctx, ws, a.ID, ptr(fx.Admin.ID), ptr(team.ID), "")
	must(t, err)
	_, _, err = db.SetStatus(ctx, ws, a.ID, chat.ConvClosed, nil, "")
	must(t, err)
	_, err = db.SetLabels(ctx, ws, a.ID, []string{"vip", "billing"})
	must(t, err)
	_, err = db.SetPriority(ctx, ws, a.ID, chat.PriorityUrgent)
	must(t, err)

	b, _, err := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: ws, SiteID: fx.Site.ID, VisitorID: müller.ID})
	must(t, err)
	send(t, db, b, chat.AuthorVisitor, chat.KindText, "100% sure_not a wildcard")
	_, err = db.SetLabels(ctx, ws, b.ID, []string{"vipish"})
	must(t, err)

	c, _, err := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: ws, SiteID: site2.ID, VisitorID: v2.ID})
	must(t, err)
	send(t, db, c, chat.AuthorAgent, chat.KindNote, "invoice sent by mail")

	for _, tc := range []struct {
		name string
		f    chat.ConversationFilter
		want []int64
	}{
		{"all", chat.ConversationFilter{}, []int64{c.ID, b.ID, a.ID}},
		{"status closed", chat.ConversationFilter{Status: chat.ConvClosed}, []int64{a.ID}},
		{"status open", chat.ConversationFilter{Status: chat.ConvOpen}, []int64{c.ID, b.ID}},
		{"assignee", chat.ConversationFilter{AssigneeID: ptr(fx.Admin.ID)}, []int64{a.ID}},
		{"unassigned", chat.ConversationFilter{AssigneeID: ptr(int64(0))}, []int64{c.ID, b.ID}},
		{"team", chat.ConversationFilter{TeamID: ptr(team.ID)}, []int64{a.ID}},
		{"site", chat.ConversationFilter{SiteID: ptr(site2.ID)}, []int64{c.ID}},
		{"visitor", chat.ConversationFilter{VisitorID: ptr(müller.ID)}, []int64{b.ID}},
		{"label exact", chat.ConversationFilter{Label: "vip"}, []int64{a.ID}},
		{"label none", chat.ConversationFilter{Label: "vi"}, nil},
		{"priority", chat.ConversationFilter{Priority: chat.PriorityUrgent}, []int64{a.ID}},
		{"priority normal", chat.ConversationFilter{Priority: chat.PriorityNormal}, []int64{c.ID, b.ID}},
		{"query body, notes too", chat.ConversationFilter{Query: "invoice"}, []int64{c.ID, a.ID}},
		{"query case", chat.ConversationFilter{Query: "INVOICE IS"}, []int64{a.ID}},
		{"query unicode name", chat.ConversationFilter{Query: "müller"}, []int64{b.ID}},
		{"query email", chat.ConversationFilter{Query: "joerg@example"}, []int64{b.ID}},
		{"query literal %", chat.ConversationFilter{Query: "100%"}, []int64{b.ID}},
		{"query literal _", chat.ConversationFilter{Query: "e_n"}, []int64{b.ID}},
		{"query no wildcard", chat.ConversationFilter{Query: "%"}, []int64{b.ID}},
		{"query skips events", chat.ConversationFilter{Query: "conversation closed"}, nil},
		{"combined", chat.ConversationFilter{Status: chat.ConvOpen, Query: "invoice"}, []int64{c.ID}},
	} {
		ids := listAll(t, db, ws, tc.f)
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
		}
	}
	_, err = db.ListConversations(ctx, ws, chat.ConversationFilter{Status: "deleted"})
	wantCode(t, err, chat.EINVALID)

	list, err := db.VisitorConversations(ctx, ws, fx.Visitor.ID)
	must(t, err)
	if len(list) != 1 || list[0].ID != a.ID || !slices.Equal(list[0].Labels, []string{"vip", "billing"}) {
		t.Fatalf("VisitorConversations = %+v", list)
	}
}

func TestWorkspaceIsolation(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	them := storetest.Seed(t, db)
	ws, theirs := fx.Workspace.ID, them.Workspace.ID
	c := newConversation(t, db, fx)
	send(t, db, c, chat.AuthorVisitor, chat.KindText, "secret")
	a := &chat.Attachment{WorkspaceID: ws, ConversationID: c.ID, StorageKey: "iso"}
	must(t, db.CreateAttachment(ctx, a))
	team := &chat.Team{WorkspaceID: ws, Name: "Ours"}
	must(t, db.CreateTeam(ctx, team))

	notFound := map[string]error{}
	_, notFound["Site"] = db.Site(ctx, theirs, fx.Site.ID)
	_, notFound["Agent"] = db.Agent(ctx, theirs, fx.Admin.ID)
	_, notFound["Visitor"] = db.Visitor(ctx, theirs, fx.Visitor.ID)
	_, notFound["Conversation"] = db.Conversation(ctx, theirs, c.ID)
	_, notFound["Messages"] = db.Messages(ctx, theirs, c.ID, 0, 0, true)
	_, notFound["VisitorConversations"] = db.VisitorConversations(ctx, theirs, fx.Visitor.ID)
	_, notFound["Attachment"] = db.Attachment(ctx, theirs, a.ID)
	_, notFound["ReadMarkers"] = db.ReadMarkers(ctx, theirs, c.ID)
	_, _, notFound["CreateMessage"] = db.CreateMessage(ctx, chat.NewMessage{WorkspaceID: theirs, ConversationID: c.ID, AuthorType: chat.AuthorAgent, Kind: chat.KindText, Body: "x"})
	_, _, notFound["Assign"] = db.Assign(ctx, theirs, c.ID, nil, nil, "")
	_, _, notFound["SetStatus"] = db.SetStatus(ctx, theirs, c.ID, chat.ConvClosed, nil, "")
	_, notFound["SetLabels"] = db.SetLabels(ctx, theirs, c.ID, []string{"x"})
	_, notFound["SetPriority"] = db.SetPriority(ctx, theirs, c.ID, chat.PriorityHigh)
	notFound["MarkRead"] = db.MarkRead(ctx, theirs, chat.ReadMarker{ConversationID: c.ID, ReaderType: chat.AuthorAgent, ReaderID: 1, Seq: 1})
	notFound["SetAgentStatus"] = db.SetAgentStatus(ctx, theirs, fx.Admin.ID, chat.StatusAway)
	notFound["AddTeamMember(their agent)"] = db.AddTeamMember(ctx, ws, team.ID, them.Admin.ID)
	notFound["AddTeamMember(our team)"] = db.AddTeamMember(ctx, theirs, team.ID, them.Admin.ID)
	notFound["UpdateVisitor"] = db.UpdateVisitor(ctx, &chat.Visitor{ID: fx.Visitor.ID, WorkspaceID: theirs, Name: "hijack"})
	notFound["CreateAttachment"] = db.CreateAttachment(ctx, &chat.Attachment{WorkspaceID: theirs, ConversationID: c.ID, StorageKey: "x"})
	notFound["CreateAPIToken"] = db.CreateAPIToken(ctx, &chat.APIToken{WorkspaceID: theirs, AgentID: fx.Admin.ID}, "h")
	notFound["CreateVisitor"] = db.CreateVisitor(ctx, &chat.Visitor{WorkspaceID: theirs, SiteID: fx.Site.ID})
	_, _, notFound["CreateConversation"] = db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: theirs, SiteID: fx.Site.ID, VisitorID: fx.Visitor.ID})
	_, _, notFound["CreateConversation(their visitor)"] = db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: ws, SiteID: fx.Site.ID, VisitorID: them.Visitor.ID})
	_, _, notFound["Assign(their agent)"] = db.Assign(ctx, ws, c.ID, ptr(them.Admin.ID), nil, "")
	for name, err := range notFound {
		if chat.ErrorCode(err) != chat.ENOTFOUND {
			t.Errorf("%s across workspaces: %v, want ENOTFOUND", name, err)
		}
	}

	page, err := db.ListConversations(ctx, theirs, chat.ConversationFilter{})
	must(t, err)
	if len(page.Conversations) != 0 {
		t.Fatalf("their inbox shows %d of our conversations", len(page.Conversations))
	}
	sites, err := db.ListSites(ctx, theirs)
	must(t, err)
	agents, err := db.ListAgents(ctx, theirs)
	must(t, err)
	if len(sites) != 1 || sites[0].ID != them.Site.ID || len(agents) != 1 || agents[0].ID != them.Admin.ID {
		t.Fatalf("their lists: sites %+v agents %+v", sites, agents)
	}
	// Nothing was changed by the attempts.
	v, err := db.Visitor(ctx, ws, fx.Visitor.ID)
	must(t, err)
	got, err := db.Conversation(ctx, ws, c.ID)
	must(t, err)
	if v.Name == "hijack" || got.LastSeq != 1 || got.Status != chat.ConvOpen || len(got.Labels) != 0 {
		t.Fatalf("cross-workspace writes leaked: visitor %q, conversation %+v", v.Name, got)
	}
}

func TestAssignAndSetStatus(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	bob := &chat.Agent{WorkspaceID: ws, Email: "bob@example.com", Name: "Bob", Active: true}
	must(t, db.CreateAgent(ctx, bob))
	c := newConversation(t, db, fx)
	send(t, db, c, chat.AuthorVisitor, chat.KindText, "hi")

	got, ev, err := db.Assign(ctx, ws, c.ID, ptr(bob.ID), nil, "Alice")
	must(t, err)
	if got.AssigneeID == nil || *got.AssigneeID != bob.ID || got.LastSeq != 2 {
		t.Fatalf("assigned conversation = %+v", got)
	}
	if ev.Seq != 2 || ev.AuthorType != chat.AuthorSystem || ev.Kind != chat.KindEvent || ev.Body != "Conversation assigned to Bob by Alice" {
		t.Fatalf("assign event = %+v", ev)
	}
	// The same assignment again changes nothing.
	again, ev2, err := db.Assign(ctx, ws, c.ID, ptr(bob.ID), nil, "Alice")
	must(t, err)
	if ev2 != nil || again.LastSeq != 2 {
		t.Fatalf("repeated assign appended %+v", ev2)
	}
	got, ev, err = db.Assign(ctx, ws, c.ID, nil, nil, "")
	must(t, err)
	if got.AssigneeID != nil || ev.Body != "Conversation unassigned" || ev.Seq != 3 {
		t.Fatalf("unassign: %+v %+v", got, ev)
	}

	// First response: a note or a visitor message does not count, the first
	// agent text does, and later ones do not move it.
	send(t, db, c, chat.AuthorAgent, chat.KindNote, "looking")
	if got, _ = db.Conversation(ctx, ws, c.ID); got.FirstResponseAt != nil {
		t.Fatal("a note set first_response_at")
	}
	first := send(t, db, c, chat.AuthorAgent, chat.KindText, "hello!")
	send(t, db, c, chat.AuthorAgent, chat.KindText, "still there?")
	got, err = db.Conversation(ctx, ws, c.ID)
	must(t, err)
	if got.FirstResponseAt == nil || !got.FirstResponseAt.Equal(first.CreatedAt) {
		t.Fatalf("first_response_at = %v, want %v", got.FirstResponseAt, first.CreatedAt)
	}

	got, ev, err = db.SetStatus(ctx, ws, c.ID, chat.ConvClosed, nil, "Alice")
	must(t, err)
	if got.Status != chat.ConvClosed || got.ResolvedAt == nil || ev.Body != "Conversation closed by Alice" || ev.Seq != got.LastSeq {
		t.Fatalf("close: %+v %+v", got, ev)
	}
	if _, ev, err = db.SetStatus(ctx, ws, c.ID, chat.ConvClosed, nil, "Alice"); err != nil || ev != nil {
		t.Fatalf("closing twice: %v %+v", err, ev)
	}
	_, _, err = db.SetStatus(ctx, ws, c.ID, chat.ConvSnoozed, nil, "")
	wantCode(t, err, chat.EINVALID)
	_, _, err = db.SetStatus(ctx, ws, c.ID, chat.ConvSnoozed, ptr(time.Now().Add(-time.Minute)), "")
	wantCode(t, err, chat.EINVALID)
	_, _, err = db.SetStatus(ctx, ws, c.ID, "archived", nil, "")
	wantCode(t, err, chat.EINVALID)

	until := time.Now().Add(time.Hour)
	got, _, err = db.SetStatus(ctx, ws, c.ID, chat.ConvSnoozed, &until, "")
	must(t, err)
	if got.SnoozedUntil == nil || !got.SnoozedUntil.Equal(until.UTC().Truncate(time.Microsecond)) || got.ResolvedAt != nil {
		t.Fatalf("snoozed: %+v", got)
	}
	got, ev, err = db.SetStatus(ctx, ws, c.ID, chat.ConvOpen, nil, "Bob")
	must(t, err)
	if got.Status != chat.ConvOpen || got.SnoozedUntil != nil || ev.Body != "Conversation reopened by Bob" {
		t.Fatalf("reopen: %+v %+v", got, ev)
	}
	want := []string{
		chat.EventConversationCreated,
		chat.EventMessageCreated, chat.EventMessageCreated, chat.EventConversationAssigned,
		chat.EventMessageCreated, chat.EventConversationAssigned,
		chat.EventMessageCreated, chat.EventMessageCreated, chat.EventMessageCreated,
		chat.EventMessageCreated, chat.EventConversationClosed,
		chat.EventMessageCreated, // snoozed: no topic of its own
		chat.EventMessageCreated, chat.EventConversationReopened,
	}
	if topics := outboxTopics(t, db); !slices.Equal(topics, want) {
		t.Fatalf("outbox:\n got %v\nwant %v", topics, want)
	}

	// Labels: trimmed, deduplicated, validated.
	got, err = db.SetLabels(ctx, ws, c.ID, []string{" vip ", "vip", "billing"})
	must(t, err)
	if !slices.Equal(got.Labels, []string{"vip", "billing"}) {
		t.Fatalf("labels = %v", got.Labels)
	}
	_, err = db.SetLabels(ctx, ws, c.ID, []string{""})
	wantCode(t, err, chat.EINVALID)
	_, err = db.SetPriority(ctx, ws, c.ID, "meh")
	wantCode(t, err, chat.EINVALID)
	inactive := &chat.Agent{WorkspaceID: ws, Email: "gone@example.com", Active: false}
	must(t, db.CreateAgent(ctx, inactive))
	_, _, err = db.Assign(ctx, ws, c.ID, ptr(inactive.ID), nil, "")
	wantCode(t, err, chat.EINVALID)
}

func TestReadMarkerNeverMovesBack(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	ws := fx.Workspace.ID
	c := newConversation(t, db, fx)
	for i := range 5 {
		send(t, db, c, chat.AuthorVisitor, chat.KindText, fmt.Sprint("m", i))
	}
	mark := func(readerType string, id, seq int64) error {
		return db.MarkRead(ctx, ws, chat.ReadMarker{ConversationID: c.ID, ReaderType: readerType, ReaderID: id, Seq: seq})
	}
	must(t, mark(chat.AuthorAgent, fx.Admin.ID, 3))
	must(t, mark(chat.AuthorAgent, fx.Admin.ID, 2)) // ignored
	must(t, mark(chat.AuthorVisitor, fx.Visitor.ID, 5))
	must(t, mark(chat.AuthorVisitor, fx.Visitor.ID, 0)) // ignored
	wantCode(t, mark(chat.AuthorAgent, fx.Admin.ID, 6), chat.EINVALID)
	wantCode(t, mark("bot", 1, 1), chat.EINVALID)

	markers, err := db.ReadMarkers(ctx, ws, c.ID)
	must(t, err)
	if len(markers) != 2 || markers[0].ReaderType != chat.AuthorAgent || markers[0].Seq != 3 ||
		markers[1].ReaderType != chat.AuthorVisitor || markers[1].Seq != 5 {
		t.Fatalf("markers = %+v", markers)
	}
	must(t, mark(chat.AuthorAgent, fx.Admin.ID, 4))
	markers, err = db.ReadMarkers(ctx, ws, c.ID)
	must(t, err)
	if markers[0].Seq != 4 {
		t.Fatalf("marker did not move forward: %+v", markers[0])
	}
}
