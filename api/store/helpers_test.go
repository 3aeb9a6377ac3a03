package store_test

import (
	"context"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

var ctx = context.Background()

func ptr[T any](v T) *T { return &v }

// wantCode fails the test unless err carries the domain error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := chat.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newConversation starts a conversation for the fixture's visitor.
func newConversation(t *testing.T, db *store.DB, fx storetest.Fixture) *chat.Conversation {
	t.Helper()
	c, created, err := db.CreateConversation(ctx, chat.NewConversation{
		WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID, VisitorID: fx.Visitor.ID,
	})
	must(t, err)
	if !created {
		t.Fatal("conversation without client id not created")
	}
	return c
}

func send(t *testing.T, db *store.DB, c *chat.Conversation, authorType, kind, body string) *chat.Message {
	t.Helper()
	m, _, err := db.CreateMessage(ctx, chat.NewMessage{
		WorkspaceID: c.WorkspaceID, ConversationID: c.ID, AuthorType: authorType, Kind: kind, Body: body,
	})
	must(t, err)
	return m
}

// outboxTopics lists the topics of all pending outbox rows, oldest first.
func outboxTopics(t *testing.T, db *store.DB) []string {
	t.Helper()
	evs, err := db.PendingOutbox(ctx, 1000)
	must(t, err)
	var topics []string
	for _, e := range evs {
		topics = append(topics, e.Topic)
	}
	return topics
}
