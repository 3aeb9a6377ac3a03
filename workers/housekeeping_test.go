package workers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/workers"
)

func TestHousekeeping(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	blobs := store.NewDiskBlobs(t.TempDir())
	var published []*chat.Message
	h := &workers.Housekeeper{Store: db, Blobs: blobs, Log: quiet,
		Notify: func(_ context.Context, _ *chat.Conversation, m *chat.Message) { published = append(published, m) }}

	newConv := func(id string) *chat.Conversation {
		c, _, err := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID, VisitorID: fx.Visitor.ID, ClientID: id})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// A snoozed conversation wakes when its time comes.
	snoozed := newConv("s")
	until := time.Now().Add(time.Hour)
	if _, _, err := db.SetStatus(ctx, fx.Workspace.ID, snoozed.ID, chat.ConvSnoozed, &until, "Ann"); err != nil {
		t.Fatal(err)
	}
	// A site that auto-closes after 1 hour of inactivity.
	site := fx.Site
	site.Settings.AutoCloseHours = 1
	if err := db.UpdateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	idle := newConv("i")

	if err := h.RunOnce(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Conversation(ctx, fx.Workspace.ID, snoozed.ID); c.Status != chat.ConvSnoozed {
		t.Fatal("woke before its time")
	}
	if c, _ := db.Conversation(ctx, fx.Workspace.ID, idle.ID); c.Status != chat.ConvOpen {
		t.Fatal("closed an active conversation")
	}
	later := time.Now().Add(2 * time.Hour)
	if err := h.RunOnce(ctx, later); err != nil {
		t.Fatal(err)
	}
	woke := false
	for _, m := range published {
		woke = woke || (m.ConversationID == snoozed.ID && strings.Contains(m.Body, "snooze"))
	}
	if !woke {
		t.Fatal("snooze did not end with a system message")
	}
	if c, _ := db.Conversation(ctx, fx.Workspace.ID, idle.ID); c.Status != chat.ConvClosed {
		t.Fatalf("inactive conversation not auto-closed: %s", c.Status)
	}
	if len(published) < 2 || !strings.Contains(published[len(published)-1].Body, "auto-close") {
		t.Fatalf("changes not published with system messages: %d", len(published))
	}
	// Running again changes nothing (idempotent across workers).
	n := len(published)
	h.RunOnce(ctx, later)
	if len(published) != n {
		t.Fatal("a second run repeated the chores")
	}
}

// Rate-limit events older than chat.RateEventsKept are forgotten.
func TestHousekeepingPurgesRateEvents(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	h := &workers.Housekeeper{Store: db, Blobs: store.NewDiskBlobs(t.TempDir()), Log: quiet}
	now := time.Now()
	for _, at := range []time.Time{now.Add(-chat.RateEventsKept - time.Minute), now.Add(-time.Minute)} {
		if err := db.RecordRateEvent(ctx, "login", "ann@example.com", at); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.RunOnce(ctx, now); err != nil {
		t.Fatal(err)
	}
	n, err := db.CountRateEvents(ctx, "login", "ann@example.com", now.Add(-2*chat.RateEventsKept))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d events left, want the recent one", n)
	}
}
