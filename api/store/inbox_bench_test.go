package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// inboxPage is the console's list page size (LIST_PAGE in console.tsx).
const inboxPage = 50

type inboxView struct {
	name  string
	f     chat.ConversationFilter
	count func(*chat.ConversationCounts) int64 // nil: no count for this view
}

// inboxViews are the console's inbox views for agent me (viewQuery in
// console.tsx), a saved filter and two searches of the "all" view.
func inboxViews(in *storetest.Inbox) []inboxView {
	me := in.Me
	open := chat.ConvOpen
	return []inboxView{
		{"unassigned", chat.ConversationFilter{Status: open, AssigneeID: new(int64)}, func(c *chat.ConversationCounts) int64 { return c.Unassigned }},
		{"mine", chat.ConversationFilter{Status: open, AssigneeID: &me.ID}, func(c *chat.ConversationCounts) int64 { return c.Mine }},
		{"my_teams", chat.ConversationFilter{Status: open, TeamIDs: me.TeamIDs}, func(c *chat.ConversationCounts) int64 { return c.MyTeams }},
		{"all", chat.ConversationFilter{Status: open}, func(c *chat.ConversationCounts) int64 { return c.All }},
		{"closed", chat.ConversationFilter{Status: chat.ConvClosed}, func(c *chat.ConversationCounts) int64 { return c.Closed }},
		{"filter_label_priority", chat.ConversationFilter{Status: open, Label: "billing", Priority: chat.PriorityHigh}, nil},
		{"search_common", chat.ConversationFilter{Status: open, Query: in.CommonTerm}, nil},
		{"search_rare", chat.ConversationFilter{Status: open, Query: in.RareTerm}, nil},
	}
}

// walkInbox pages through a whole view, checks that pages neither skip nor
// repeat a row and come newest activity first, and returns the number of
// rows and the cursor of the page starting at 90% of the list ("" when the
// list has a single page).
func walkInbox(tb testing.TB, db *store.DB, ws int64, f chat.ConversationFilter) (n int, deep string) {
	tb.Helper()
	seen := map[int64]bool{}
	var total int
	var cursors []string
	var prev *chat.Conversation
	f.Limit = inboxPage
	for {
		page, err := db.ListConversations(ctx, ws, f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range page.Conversations {
			if seen[c.ID] {
				tb.Fatalf("conversation %d listed twice", c.ID)
			}
			seen[c.ID] = true
			if prev != nil && (c.LastMessageAt.After(prev.LastMessageAt) || c.LastMessageAt.Equal(prev.LastMessageAt) && c.ID > prev.ID) {
				tb.Fatalf("conversation %d (%v) listed after %d (%v)", c.ID, c.LastMessageAt, prev.ID, prev.LastMessageAt)
			}
			prev = c
		}
		total += len(page.Conversations)
		if page.NextCursor == "" {
			break
		}
		cursors = append(cursors, page.NextCursor)
		f.Cursor = page.NextCursor
	}
	if len(cursors) > 0 {
		deep = cursors[len(cursors)*9/10]
	}
	return total, deep
}

// logPlans logs the plan of every statement one call of fn runs: EXPLAIN
// QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, both the
// custom plan (for these parameter values) and the generic one.
func logPlans(b *testing.B, db *store.DB, what string, fn func() error) {
	b.Helper()
	stmts, err := store.CaptureReads(db, fn)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range stmts {
		plan, err := store.Explain(ctx, db, s, false)
		if err != nil {
			b.Fatalf("explain %s: %v", what, err)
		}
		b.Logf("%s (%s):\n  %s\n    %s", what, db.Dialect(), strings.Join(strings.Fields(s.SQL), " "), strings.Join(plan, "\n    "))
		if db.Dialect() == store.DialectPostgres {
			plan, err := store.Explain(ctx, db, s, true)
			if err != nil {
				b.Fatalf("explain %s (generic plan): %v", what, err)
			}
			b.Logf("%s, generic plan:\n    %s", what, strings.Join(plan, "\n    "))
		}
	}
}

// BenchmarkInbox measures the agent console's inbox on 10,000 open
// conversations (plus 5,000 closed, 500 snoozed or pending, ~77,000
// messages) in one workspace: the first page and a page 90% deep of each
// view, the per-view counts and text search. With -v it logs each query's
// plan. Set SWITCHBOARD_TEST_DATABASE_URL to measure PostgreSQL. Figures
// are in docs/benchmarks.md.
//
//	go test -run '^$' -bench Inbox -benchtime 20x ./api/store/
func BenchmarkInbox(b *testing.B) {
	db := storetest.Open(b)
	fx := storetest.Seed(b, db)
	start := time.Now()
	in := storetest.SeedInbox(b, db, fx, storetest.InboxOptions{})
	b.Logf("%s: seeded %d open, %d closed, %d snoozed and %d pending conversations, %d messages in %v",
		db.Dialect(), in.Open, in.Closed, in.Snoozed, in.Snoozed, in.Messages, time.Since(start).Round(time.Millisecond))
	ws, me := fx.Workspace.ID, in.Me

	counts, err := db.ConversationCounts(ctx, ws, me.ID, me.TeamIDs)
	if err != nil {
		b.Fatal(err)
	}
	if counts.All != int64(in.Open) {
		b.Fatalf("counts.all = %d, want %d", counts.All, in.Open)
	}
	b.Run("counts", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.ConversationCounts(ctx, ws, me.ID, me.TeamIDs); err != nil {
				b.Fatal(err)
			}
		}
	})
	if testing.Verbose() {
		logPlans(b, db, "counts", func() error {
			_, err := db.ConversationCounts(ctx, ws, me.ID, me.TeamIDs)
			return err
		})
	}

	for _, v := range inboxViews(in) {
		n, deep := walkInbox(b, db, ws, v.f)
		if v.count != nil && v.count(counts) != int64(n) {
			b.Fatalf("%s: the list has %d conversations, the count says %d", v.name, n, v.count(counts))
		}
		if n == 0 {
			b.Fatalf("%s: empty view", v.name)
		}
		pages := map[string]string{"first": ""}
		if deep != "" {
			pages["deep"] = deep
		}
		b.Logf("%s: %d conversations", v.name, n)
		for _, which := range []string{"first", "deep"} {
			cursor, ok := pages[which]
			if !ok {
				continue
			}
			f := v.f
			f.Limit, f.Cursor = inboxPage, cursor
			list := func() error {
				page, err := db.ListConversations(ctx, ws, f)
				if err == nil && len(page.Conversations) == 0 {
					err = fmt.Errorf("%s/%s: empty page", v.name, which)
				}
				return err
			}
			b.Run(v.name+"/"+which, func(b *testing.B) {
				for b.Loop() {
					if err := list(); err != nil {
						b.Fatal(err)
					}
				}
			})
			if testing.Verbose() {
				logPlans(b, db, v.name+"/"+which, list)
			}
		}
	}
}

// TestInboxQueryPlans checks on SQLite that every inbox view pages from an
// index in list order: no full scan of conversations, no sort, a deep page
// starts at its cursor (a range on last_message_at) instead of walking the
// pages before it, Unassigned and Mine seek to their assignee; and that the
// counts read indexes only. SQLite keeps
// no statistics unless ANALYZE runs (the store never runs it), so its plans
// do not depend on the data and a small inbox shows the plans of a big one.
// PostgreSQL's plans follow its statistics: BenchmarkInbox -v logs them.
func TestInboxQueryPlans(t *testing.T) {
	db := storetest.Open(t)
	if db.Dialect() != store.DialectSQLite {
		t.Skip("PostgreSQL plans depend on table statistics; see BenchmarkInbox -v")
	}
	fx := storetest.Seed(t, db)
	in := storetest.SeedInbox(t, db, fx, storetest.InboxOptions{Open: 200, Agents: 3})
	ws, me := fx.Workspace.ID, in.Me

	plans := func(fn func() error) []string {
		t.Helper()
		stmts, err := store.CaptureReads(db, fn)
		must(t, err)
		var out []string
		for _, s := range stmts {
			plan, err := store.Explain(ctx, db, s, false)
			must(t, err)
			out = append(out, strings.Join(plan, "\n"))
		}
		return out
	}
	for _, v := range inboxViews(in) {
		f := v.f
		f.Limit = 2
		page, err := db.ListConversations(ctx, ws, f)
		must(t, err)
		for _, which := range []string{"first", "deep"} {
			if which == "deep" {
				if page.NextCursor == "" {
					continue
				}
				f.Cursor = page.NextCursor
			}
			for _, plan := range plans(func() error { _, err := db.ListConversations(ctx, ws, f); return err }) {
				if !strings.HasPrefix(plan, "SEARCH conversations USING INDEX ") ||
					strings.Contains(plan, "SCAN conversations") || strings.Contains(plan, "TEMP B-TREE") ||
					which == "deep" && !strings.Contains(plan, "last_message_at<?") ||
					// Unassigned and Mine read only their own rows.
					(v.name == "unassigned" || v.name == "mine") && !strings.Contains(plan, "assignee_id=?") {
					t.Errorf("%s/%s: plan\n%s", v.name, which, plan)
				}
			}
		}
	}
	for _, plan := range plans(func() error { _, err := db.ConversationCounts(ctx, ws, me.ID, me.TeamIDs); return err }) {
		if strings.Contains(plan, "SCAN conversations") || strings.Count(plan, "USING COVERING INDEX") != 2 {
			t.Errorf("counts: plan\n%s", plan)
		}
	}
}
