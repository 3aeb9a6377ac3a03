package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
)

// InboxOptions sizes SeedInbox's data. Zero values take the defaults; a
// negative Closed or Snoozed means none.
type InboxOptions struct {
	Open    int // open conversations (default 10,000)
	Closed  int // closed conversations, older than the open ones (default Open/2)
	Snoozed int // snoozed and as many pending ones (default Open/40)
	Agents  int // agents besides the fixture's admin (default 30)
	Teams   int // teams (default 5); the admin is in the first two
}

// Inbox describes what SeedInbox created.
type Inbox struct {
	Fixture
	Me       *chat.Agent // the fixture's admin, with its TeamIDs: the "me" of the inbox views
	Agents   []*chat.Agent
	Teams    []*chat.Team
	Labels   []string // the label catalogue; every conversation label is one of these
	Open     int
	Closed   int
	Snoozed  int // snoozed, and as many pending
	Messages int // all messages seeded
	// RareTerm occurs in exactly one conversation's messages (an open one);
	// CommonTerm in about a quarter of the conversations.
	RareTerm, CommonTerm string
}

// Label names, in the order of their weight: "billing" is the most common.
var inboxLabels = []string{"billing", "bug", "shipping", "refund", "vip", "onboarding", "feature-request", "account", "integration", "spam"}

var (
	firstNames = []string{"Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas", "Kavya", "Lars", "Mei", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás", "Uma", "Viktor", "Wen", "Yara", "Zoltán"}
	lastNames  = []string{"Almeida", "Berg", "Chen", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ivanova", "Jensen", "Kowalski", "López", "Müller", "Nakamura", "Okafor", "Petrov", "Rossi", "Schmidt", "Tanaka", "Wójcik"}
	openers    = []string{
		"Hi, my order #%d has not arrived yet. Can you check?",
		"Hello! I was charged twice for invoice %d, can I get a refund?",
		"The app crashes when I upload a file bigger than %d MB.",
		"How do I add a second user to my account? We are a team of %d.",
		"Is there a discount for annual plans? We have %d seats.",
		"I can't log in since this morning, it says error %d.",
		"Can I change the delivery address for order %d?",
		"Your checkout page shows a blank screen on step %d.",
		"Do you ship to Norway? The cart says %d days.",
		"Привет! Заказ %d ещё не пришёл. 你好，请问我的订单到了吗？",
	}
	replies = []string{
		"Thanks for reaching out! Let me look into that for you.",
		"Sorry about the trouble. Could you send me a screenshot?",
		"I've checked the tracking number: the parcel is with the courier.",
		"I have issued a refund; it takes 3 to 5 business days to show up.",
		"You can add users under Settings → Team. Anything else?",
		"That looks like a bug on our side, I've passed it to engineering.",
		"Yes, annual plans are 20% cheaper. I'll send you a quote.",
		"Could you try clearing the cache and logging in again?",
	}
	followUps = []string{
		"Thanks, that helps a lot.",
		"Still not working, unfortunately.",
		"Here is the screenshot you asked for.",
		"Great, I'll wait for the refund then.",
		"Perfect, thank you so much!",
		"Any news on this?",
		"Ok, I cleared the cache and it works now.",
	}
)

// SeedInbox fills fx's workspace (it uses fx.Workspace, fx.Site and
// fx.Admin) with a realistic inbox for measurements and scale tests:
// opt.Agents agents and opt.Teams teams, about one visitor per conversation
// (named or anonymous, a tenth of them returning), and conversations with 2
// to 8 messages each (text from both sides, the odd note and assignment
// event), spread over weeks of activity. Open ones are a fifth unassigned,
// the rest spread over the agents (fx.Admin among them), most in a team,
// with a mix of priorities and zero to three labels.
//
// The big tables are written with multi-row INSERTs in one transaction
// (the store's API would take minutes); the data is generated from a fixed
// seed, so every run sees the same inbox. On PostgreSQL the tables are
// vacuumed and analysed afterwards, as autovacuum would do on a live
// system; SQLite is left as the store leaves it (no statistics).
func SeedInbox(tb testing.TB, db *store.DB, fx Fixture, opt InboxOptions) *Inbox {
	tb.Helper()
	ctx := context.Background()
	if opt.Open == 0 {
		opt.Open = 10_000
	}
	if opt.Closed == 0 {
		opt.Closed = opt.Open / 2
	}
	if opt.Snoozed == 0 {
		opt.Snoozed = opt.Open / 40
	}
	opt.Closed, opt.Snoozed = max(0, opt.Closed), max(0, opt.Snoozed)
	if opt.Agents == 0 {
		opt.Agents = 30
	}
	if opt.Teams == 0 {
		opt.Teams = 5
	}
	fail := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("storetest: seed inbox: %s: %v", what, err)
		}
	}
	ws := fx.Workspace.ID
	in := &Inbox{Fixture: fx, Open: opt.Open, Closed: opt.Closed, Snoozed: opt.Snoozed, RareTerm: "ZX-4471-Q", CommonTerm: "refund"}

	// The small things go through the store.
	for i := range opt.Teams {
		t := &chat.Team{WorkspaceID: ws, Name: fmt.Sprintf("Team %c", 'A'+i), AutoAssign: true}
		fail("team", db.CreateTeam(ctx, t))
		in.Teams = append(in.Teams, t)
	}
	for _, name := range inboxLabels {
		l := &chat.Label{WorkspaceID: ws, Name: name, Color: "#64748b"}
		fail("label", db.CreateLabel(ctx, l))
		in.Labels = append(in.Labels, name)
	}
	tag := strings.ToLower(fx.Workspace.Name)
	tag = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, tag)
	for i := range opt.Agents {
		a := &chat.Agent{WorkspaceID: ws, Email: fmt.Sprintf("agent%d-%s@example.com", i, tag),
			Name: firstNames[i%len(firstNames)] + " " + lastNames[(i*7)%len(lastNames)], Role: chat.RoleAgent,
			Status: chat.StatusOnline, Capacity: 10, Active: true}
		fail("agent", db.CreateAgent(ctx, a))
		teams := []int64{in.Teams[i%len(in.Teams)].ID}
		if i%3 == 0 {
			teams = append(teams, in.Teams[(i+1)%len(in.Teams)].ID)
		}
		a, err := db.UpdateAgent(ctx, ws, a.ID, chat.AgentUpdate{TeamIDs: teams})
		fail("agent teams", err)
		in.Agents = append(in.Agents, a)
	}
	myTeams := []int64{in.Teams[0].ID}
	if len(in.Teams) > 1 {
		myTeams = append(myTeams, in.Teams[1].ID)
	}
	me, err := db.UpdateAgent(ctx, ws, fx.Admin.ID, chat.AgentUpdate{TeamIDs: myTeams})
	fail("admin teams", err)
	in.Me = me
	assignees := append([]*chat.Agent{me}, in.Agents...)

	// The big tables: one transaction of multi-row INSERTs.
	pg := db.Dialect() == store.DialectPostgres
	tx, err := db.SQL().BeginTx(ctx, nil)
	fail("begin", err)
	defer tx.Rollback()
	ins := &bulkInserter{tb: tb, ctx: ctx, tx: tx, pg: pg}

	rng := rand.New(rand.NewPCG(20261124, 10000))
	now := time.Now().UTC().Truncate(time.Microsecond)
	total := opt.Open + opt.Closed + 2*opt.Snoozed

	// Visitors: one per conversation, less the returning ones.
	type visitor struct {
		name, email string
		id          int64
	}
	nVisitors := total - total/10
	visitors := make([]visitor, nVisitors)
	visCols := []string{"workspace_id", "site_id", "external_id", "verified", "name", "email", "attributes", "last_page", "user_agent", "locale", "last_seen_at", "created_at"}
	var rows [][]any
	for i := range visitors {
		v := &visitors[i]
		ext := ""
		if rng.IntN(10) < 6 { // identified
			first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
			v.name = first + " " + last
			v.email = strings.ToLower(fmt.Sprintf("%s.%s%d@example.net", asciiOnly(first), asciiOnly(last), i))
			ext = fmt.Sprint("cust-", i)
		}
		seen := now.Add(-time.Duration(rng.Int64N(int64(60 * 24 * time.Hour))))
		rows = append(rows, []any{ws, fx.Site.ID, ext, ext != "", v.name, v.email, "{}",
			fmt.Sprintf("https://shop.example.com/products/%d", rng.IntN(500)), "Mozilla/5.0 (X11; Linux x86_64)", "en",
			seen, seen.Add(-time.Hour)})
	}
	before := ins.ids("SELECT COALESCE(MAX(id), 0) FROM visitors")[0]
	ins.insert("visitors", visCols, rows)
	ids := ins.ids("SELECT id FROM visitors WHERE workspace_id = ? AND id > ? ORDER BY id", ws, before)
	if len(ids) != nVisitors {
		tb.Fatalf("storetest: seed inbox: %d visitors read back, want %d", len(ids), nVisitors)
	}
	for i := range visitors {
		visitors[i].id = ids[i]
	}

	// Conversations, oldest activity first (ids grow with time, roughly).
	type conv struct {
		visitor  int
		status   string
		assignee *chat.Agent
		created  time.Time
		msgs     int
		id       int64
	}
	convs := make([]conv, total)
	statuses := make([]string, 0, total)
	for range opt.Closed {
		statuses = append(statuses, chat.ConvClosed)
	}
	for range opt.Snoozed {
		statuses = append(statuses, chat.ConvSnoozed, chat.ConvPending)
	}
	for range opt.Open {
		statuses = append(statuses, chat.ConvOpen)
	}
	rare := opt.Closed + 2*opt.Snoozed + opt.Open*3/4 // the open conversation with RareTerm
	convCols := []string{"workspace_id", "site_id", "visitor_id", "client_id", "status", "assignee_id", "team_id", "priority", "labels",
		"last_seq", "last_message_at", "first_response_at", "resolved_at", "snoozed_until", "assigned_at", "created_at", "updated_at"}
	rows = rows[:0]
	for k := range convs {
		c := &convs[k]
		c.status = statuses[k]
		if k < nVisitors {
			c.visitor = k
		} else {
			c.visitor = rng.IntN(nVisitors)
		}
		// Closed ones are 2 to 8 weeks old; the rest spread over the last
		// two weeks, in order, so activity interleaves with id order.
		var created time.Time
		if c.status == chat.ConvClosed {
			created = now.Add(-14*24*time.Hour - time.Duration(opt.Closed-k)*(42*24*time.Hour/time.Duration(max(1, opt.Closed))))
		} else {
			created = now.Add(-time.Duration(total-k) * (14 * 24 * time.Hour / time.Duration(total-opt.Closed)))
		}
		c.created = created.Add(time.Duration(rng.IntN(60_000)) * time.Millisecond).Truncate(time.Microsecond)
		c.msgs = 2 + rng.IntN(7)
		var assignee, team any
		var assignedAt, firstResponse, resolved, snoozed any
		if c.status != chat.ConvOpen || rng.IntN(5) > 0 { // a fifth of the open ones wait in the queue
			c.assignee = assignees[rng.IntN(len(assignees))]
			assignee = c.assignee.ID
			assignedAt = c.created.Add(30 * time.Second)
			firstResponse = c.created.Add(time.Minute)
		}
		if rng.IntN(10) < 7 {
			team = in.Teams[rng.IntN(len(in.Teams))].ID
			if c.assignee != nil && len(c.assignee.TeamIDs) > 0 {
				team = c.assignee.TeamIDs[0]
			}
		}
		priority := chat.PriorityNormal
		switch p := rng.IntN(20); {
		case p < 1:
			priority = chat.PriorityUrgent
		case p < 4:
			priority = chat.PriorityHigh
		case p < 6:
			priority = chat.PriorityLow
		}
		var labels []string
		for range rng.IntN(4) {
			// Skewed towards the front of the catalogue.
			l := inboxLabels[min(rng.IntN(len(inboxLabels)), rng.IntN(len(inboxLabels)))]
			if !contains(labels, l) {
				labels = append(labels, l)
			}
		}
		if labels == nil {
			labels = []string{}
		}
		lb, _ := json.Marshal(labels)
		last := c.created.Add(time.Duration(c.msgs-1) * 2 * time.Minute)
		if c.status == chat.ConvOpen || c.status == chat.ConvPending {
			// Open conversations are active: their last message may be hours later.
			last = last.Add(time.Duration(rng.Int64N(int64(48 * time.Hour)))).Truncate(time.Microsecond)
			if last.After(now) {
				last = now.Add(-time.Duration(rng.IntN(3600)) * time.Second)
			}
		}
		switch c.status {
		case chat.ConvClosed:
			resolved = last.Add(time.Minute)
		case chat.ConvSnoozed:
			snoozed = now.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
		}
		rows = append(rows, []any{ws, fx.Site.ID, visitors[c.visitor].id, fmt.Sprint("seed-", k), c.status, assignee, team, priority, string(lb),
			c.msgs, last, firstResponse, resolved, snoozed, assignedAt, c.created, last})
		c.created = last.Add(-time.Duration(c.msgs-1) * 2 * time.Minute) // messages end at last
	}
	ins.insert("conversations", convCols, rows)
	ids = ins.ids("SELECT id FROM conversations WHERE workspace_id = ? AND client_id LIKE 'seed-%' ORDER BY id", ws)
	if len(ids) != total {
		tb.Fatalf("storetest: seed inbox: %d conversations read back, want %d", len(ids), total)
	}
	for k := range convs {
		convs[k].id = ids[k]
	}

	// Messages.
	msgCols := []string{"conversation_id", "seq", "client_id", "author_type", "author_id", "author_name", "kind", "body", "attachments", "created_at"}
	rows = rows[:0]
	for k := range convs {
		c := &convs[k]
		v := visitors[c.visitor]
		for s := 1; s <= c.msgs; s++ {
			at := c.created.Add(time.Duration(s-1) * 2 * time.Minute)
			authorType, authorID, authorName, kind := chat.AuthorVisitor, v.id, v.name, chat.KindText
			var body string
			switch {
			case s == 1:
				body = fmt.Sprintf(openers[rng.IntN(len(openers))], 1000+rng.IntN(90000))
			case s == 2 && c.assignee != nil:
				authorType, authorID, authorName, kind = chat.AuthorSystem, 0, "", chat.KindEvent
				body = "Assigned to " + c.assignee.Name
			case s%2 == 1 && c.assignee != nil:
				authorType, authorID, authorName = chat.AuthorAgent, c.assignee.ID, c.assignee.Name
				body = replies[rng.IntN(len(replies))]
				if rng.IntN(8) == 0 {
					kind, body = chat.KindNote, "Customer since 2021, be nice. Checked billing: "+body
				}
			default:
				body = followUps[rng.IntN(len(followUps))]
			}
			if k == rare && s == 1 {
				body = "My tracking code is " + in.RareTerm + ", the parcel seems stuck."
			}
			if k == rare && kind == chat.KindEvent {
				kind, authorType = chat.KindText, chat.AuthorVisitor
			}
			rows = append(rows, []any{c.id, s, fmt.Sprint("m", s), authorType, authorID, authorName, kind, body, "[]", at})
			in.Messages++
		}
	}
	ins.insert("messages", msgCols, rows)
	fail("commit", tx.Commit())
	if pg {
		_, err := db.SQL().ExecContext(ctx, "VACUUM ANALYZE visitors, conversations, messages")
		fail("analyze", err)
	}
	return in
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 {
			return r
		}
		return 'x'
	}, s)
}

// bulkInserter writes rows with multi-row INSERTs inside one transaction.
type bulkInserter struct {
	tb  testing.TB
	ctx context.Context
	tx  *sql.Tx
	pg  bool
}

func (b *bulkInserter) placeholders(q string) string {
	if !b.pg {
		return q
	}
	var out strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&out, "$%d", n)
		} else {
			out.WriteRune(r)
		}
	}
	return out.String()
}

// insert writes rows (each len(cols) values) in batches: PostgreSQL takes
// up to 65,535 parameters a statement; the SQLite driver binds parameters
// in time quadratic in their number, so its batches stay small.
func (b *bulkInserter) insert(table string, cols []string, rows [][]any) {
	b.tb.Helper()
	batch := 60_000 / len(cols)
	if !b.pg {
		batch = 40
	}
	for start := 0; start < len(rows); start += batch {
		chunk := rows[start:min(len(rows), start+batch)]
		var q strings.Builder
		fmt.Fprintf(&q, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		args := make([]any, 0, len(chunk)*len(cols))
		for i, row := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(one)
			args = append(args, row...)
		}
		if _, err := b.tx.ExecContext(b.ctx, b.placeholders(q.String()), args...); err != nil {
			b.tb.Fatalf("storetest: seed inbox: insert %s: %v", table, err)
		}
	}
}

// ids reads one int64 column.
func (b *bulkInserter) ids(q string, args ...any) []int64 {
	b.tb.Helper()
	res, err := b.tx.QueryContext(b.ctx, b.placeholders(q), args...)
	if err != nil {
		b.tb.Fatalf("storetest: seed inbox: %v", err)
	}
	defer res.Close()
	var out []int64
	for res.Next() {
		var id int64
		if err := res.Scan(&id); err != nil {
			b.tb.Fatalf("storetest: seed inbox: %v", err)
		}
		out = append(out, id)
	}
	if err := res.Err(); err != nil {
		b.tb.Fatalf("storetest: seed inbox: %v", err)
	}
	return out
}
