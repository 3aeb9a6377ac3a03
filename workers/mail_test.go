package workers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/workers"
	"github.com/switchboard-chat/switchboard/workers/mailtest"
)

func TestPostmanSendsOncePerKey(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	sink, url := mailtest.Start(t)
	mailer, err := workers.NewSMTPMailer(url, "Switchboard <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	p := &workers.Postman{Store: db, Mailer: mailer}
	m := chat.Mail{WorkspaceID: fx.Workspace.ID, To: "visitor@example.com", Subject: "Your conversation", Text: "Hello there", HTML: "<p>Hello there</p>"}
	for i := 0; i < 3; i++ { // retries of one job
		if err := p.Deliver(ctx, "transcript:1", m); err != nil {
			t.Fatal(err)
		}
	}
	got := sink.All()
	if len(got) != 1 || got[0].To[0] != "visitor@example.com" || !strings.Contains(got[0].Raw, "Subject: Your conversation") || !strings.Contains(got[0].Raw, "Hello there") {
		t.Fatalf("SMTP received %d messages: %+v", len(got), got)
	}
	// The mailbox keeps the record of what was sent.
	box, _ := db.Mailbox(ctx, fx.Workspace.ID, 10)
	if len(box) != 1 || box[0].Status != "sent" {
		t.Fatalf("mailbox: %+v", box)
	}

	// Without SMTP the email lands in the local mailbox, once.
	local := &workers.Postman{Store: db}
	for i := 0; i < 2; i++ {
		if err := local.Deliver(ctx, "transcript:2", m); err != nil {
			t.Fatal(err)
		}
	}
	box, _ = db.Mailbox(ctx, fx.Workspace.ID, 10)
	if len(box) != 2 || box[0].Status != "kept" {
		t.Fatalf("mailbox after a local delivery: %+v", box)
	}
}

// TestAgentDigestBatchesABurst: several notices for one agent become one
// email; a visitor's transcript request arrives by SMTP.
func TestAgentDigestAndTranscript(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	sink, url := mailtest.Start(t)
	mailer, _ := workers.NewSMTPMailer(url, "Switchboard <no-reply@example.com>")
	var tasks []*asynq.Task
	n := &workers.Notifier{Store: db, Postman: &workers.Postman{Store: db, Mailer: mailer},
		Queue: enqueuerFunc(func(t *asynq.Task) { tasks = append(tasks, t) }), Render: workers.PlainTranscript, BaseURL: "https://chat.example.com"}

	for i, topic := range []string{chat.EventConversationAssigned, "mention.created", chat.EventConversationAssigned} {
		data, _ := json.Marshal(map[string]any{"conversation_id": 10 + i, "assignee_id": fx.Admin.ID, "agent_id": fx.Admin.ID})
		if err := n.AgentNotice(ctx, workers.OutboxPayload{EventID: int64(100 + i), WorkspaceID: fx.Workspace.ID, Topic: topic, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	// A retried event adds nothing.
	data, _ := json.Marshal(map[string]any{"conversation_id": 10, "assignee_id": fx.Admin.ID})
	n.AgentNotice(ctx, workers.OutboxPayload{EventID: 100, WorkspaceID: fx.Workspace.ID, Topic: chat.EventConversationAssigned, Data: data})
	if len(tasks) == 0 {
		t.Fatal("no digest scheduled")
	}
	if err := n.ProcessTask(ctx, tasks[0]); err != nil {
		t.Fatal(err)
	}
	if err := n.ProcessTask(ctx, tasks[len(tasks)-1]); err != nil { // the duplicate digest task finds nothing pending
		t.Fatal(err)
	}
	got := sink.All()
	if len(got) != 1 || got[0].To[0] != fx.Admin.Email || strings.Count(strings.ToLower(got[0].Raw), "conversation #") != 3 {
		t.Fatalf("digest: %d emails %+v", len(got), got)
	}

	// "Email me this conversation".
	conv, _, _ := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID, VisitorID: fx.Visitor.ID, ClientID: "c"})
	db.CreateMessage(ctx, chat.NewMessage{WorkspaceID: fx.Workspace.ID, ConversationID: conv.ID, ClientID: "m1", AuthorType: chat.AuthorVisitor,
		AuthorID: fx.Visitor.ID, Kind: chat.KindText, Body: "Where is my order?"})
	data, _ = json.Marshal(map[string]any{"conversation_id": conv.ID, "email": "me@example.com"})
	if err := n.Transcript(ctx, workers.OutboxPayload{EventID: 500, WorkspaceID: fx.Workspace.ID, Topic: chat.EventTranscriptRequested, Data: data}); err != nil {
		t.Fatal(err)
	}
	got = sink.All()
	if len(got) != 2 || got[1].To[0] != "me@example.com" || !strings.Contains(got[1].Raw, "Where is my order?") {
		t.Fatalf("transcript email: %+v", got)
	}

}

// TestVisitorReplyEmail: an agent's replies to an away visitor are batched
// into one delayed email, and replies the visitor read meanwhile are skipped.
func TestVisitorReplyEmail(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	v := fx.Visitor
	v.Email = "visitor@example.com"
	if err := db.UpdateVisitor(ctx, v); err != nil {
		t.Fatal(err)
	}
	sink, url := mailtest.Start(t)
	mailer, _ := workers.NewSMTPMailer(url, "Switchboard <no-reply@example.com>")
	var tasks []*asynq.Task
	n := &workers.Notifier{Store: db, Postman: &workers.Postman{Store: db, Mailer: mailer},
		Queue: enqueuerFunc(func(t *asynq.Task) { tasks = append(tasks, t) })}
	digest := &workers.VisitorDigest{Notifier: n, Markers: db}

	conv, _, _ := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID, VisitorID: v.ID, ClientID: "c"})
	reply := func(i int, body string) int64 {
		m, _, err := db.CreateMessage(ctx, chat.NewMessage{WorkspaceID: fx.Workspace.ID, ConversationID: conv.ID, ClientID: body,
			AuthorType: chat.AuthorAgent, AuthorID: fx.Admin.ID, AuthorName: "Ann", Kind: chat.KindText, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(map[string]any{"conversation_id": conv.ID, "seq": m.Seq, "author_type": "agent", "kind": "text"})
		if err := n.VisitorReply(ctx, workers.OutboxPayload{EventID: int64(900 + i), WorkspaceID: fx.Workspace.ID, Topic: chat.EventMessageCreated, Data: data}); err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}
	first := reply(1, "Seen in the widget")
	if err := db.MarkRead(ctx, fx.Workspace.ID, chat.ReadMarker{ConversationID: conv.ID, ReaderType: chat.AuthorVisitor, ReaderID: v.ID, Seq: first}); err != nil {
		t.Fatal(err)
	}
	reply(2, "Your refund is on its way")
	reply(3, "Anything else?")
	if err := digest.ProcessTask(ctx, tasks[0]); err != nil {
		t.Fatal(err)
	}
	got := sink.All()
	if len(got) != 1 || !strings.Contains(got[0].Raw, "Your refund is on its way") || !strings.Contains(got[0].Raw, "Anything else?") || strings.Contains(got[0].Raw, "Seen in the widget") {
		t.Fatalf("visitor digest: %+v", got)
	}
	// Nothing left to send the second time.
	if err := digest.ProcessTask(ctx, tasks[0]); err != nil || len(sink.All()) != 1 {
		t.Fatalf("second digest: %v, %d emails", err, len(sink.All()))
	}
}

// TestQueueAlerts: a conversation waiting longer than the threshold alerts
// each agent who wants queue alerts, once.
func TestQueueAlerts(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	var tasks []*asynq.Task
	n := &workers.Notifier{Store: db, Postman: &workers.Postman{Store: db},
		Queue: enqueuerFunc(func(t *asynq.Task) { tasks = append(tasks, t) }), BaseURL: "https://chat.example.com"}
	if _, _, err := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID, VisitorID: fx.Visitor.ID, ClientID: "q"}); err != nil {
		t.Fatal(err)
	}
	if err := n.QueueAlerts(ctx, db, time.Now()); err != nil || len(tasks) != 0 {
		t.Fatalf("alerted about a fresh conversation: %v %d", err, len(tasks))
	}
	later := time.Now().Add(10 * time.Minute)
	for i := 0; i < 2; i++ {
		if err := n.QueueAlerts(ctx, db, later); err != nil {
			t.Fatal(err)
		}
	}
	pending, _ := db.PendingNotifications(ctx, chat.AuthorAgent, fx.Admin.ID)
	if len(pending) != 1 || pending[0].Kind != "queue_waiting" || len(tasks) == 0 {
		t.Fatalf("queue alerts: %d notices, %d tasks", len(pending), len(tasks))
	}
	if err := n.ProcessTask(ctx, tasks[0]); err != nil {
		t.Fatal(err)
	}
	box, _ := db.Mailbox(ctx, fx.Workspace.ID, 10)
	if len(box) != 1 || !strings.Contains(box[0].Text, "waiting in the queue") {
		t.Fatalf("mailbox: %+v", box)
	}
}

func TestAccountEmails(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	n := &workers.Notifier{Store: db, Postman: &workers.Postman{Store: db}}
	data, _ := json.Marshal(map[string]any{"email": "new@example.com", "name": "New", "url": "https://chat.example.com/set-password#token=sbp_x", "invited_by_name": "Ann"})
	for i := 0; i < 2; i++ {
		if err := n.AccountEmail(ctx, workers.OutboxPayload{EventID: 7, WorkspaceID: fx.Workspace.ID, Topic: "agent.invited", Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	box, _ := db.Mailbox(ctx, fx.Workspace.ID, 10)
	if len(box) != 1 || box[0].To != "new@example.com" || !strings.Contains(box[0].Text, "#token=sbp_x") {
		t.Fatalf("invitation email: %+v", box)
	}
}
