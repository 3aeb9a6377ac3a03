package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// Concurrent senders into one conversation get seqs 1..N exactly once each,
// and every message is acknowledged with its own seq.
func TestCreateMessageSeqIsGapFreeUnderConcurrency(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	c := newConversation(t, db, fx)

	const senders, each = 8, 50
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		acks []int64
		errs []error
	)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m, created, err := db.CreateMessage(ctx, chat.NewMessage{
					WorkspaceID: fx.Workspace.ID, ConversationID: c.ID,
					ClientID:   fmt.Sprintf("g%d-%d", g, i),
					AuthorType: chat.AuthorVisitor, AuthorID: fx.Visitor.ID, Kind: chat.KindText,
					Body: fmt.Sprintf("message %d from %d", i, g),
				})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if !created {
					errs = append(errs, fmt.Errorf("message %d/%d not created", g, i))
				} else {
					acks = append(acks, m.Seq)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d sends failed, first: %v", len(errs), errs[0])
	}
	slices.Sort(acks)
	for i, seq := range acks {
		if seq != int64(i+1) {
			t.Fatalf("acknowledged seqs are not 1..%d: position %d has %d", senders*each, i, seq)
		}
	}
	if len(acks) != senders*each {
		t.Fatalf("%d acks, want %d", len(acks), senders*each)
	}

	// The stored transcript agrees, read in pages.
	var stored []int64
	for after := int64(0); ; {
		page, err := db.Messages(ctx, fx.Workspace.ID, c.ID, after, 0, true)
		must(t, err)
		if len(page) == 0 {
			break
		}
		if len(page) > 100 {
			t.Fatalf("default page size is %d, want at most 100", len(page))
		}
		for _, m := range page {
			stored = append(stored, m.Seq)
		}
		after = page[len(page)-1].Seq
	}
	if len(stored) != senders*each || !slices.IsSorted(stored) || stored[0] != 1 || stored[len(stored)-1] != senders*each {
		t.Fatalf("stored seqs: %d rows, first %d, last %d, sorted %v", len(stored), stored[0], stored[len(stored)-1], slices.IsSorted(stored))
	}
	got, err := db.Conversation(ctx, fx.Workspace.ID, c.ID)
	must(t, err)
	if got.LastSeq != senders*each {
		t.Fatalf("last_seq = %d, want %d", got.LastSeq, senders*each)
	}
	if got.FirstResponseAt != nil {
		t.Fatalf("first_response_at set by visitor messages: %v", got.FirstResponseAt)
	}
}

func TestCreateMessageIsIdempotentPerClientID(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	c := newConversation(t, db, fx)
	in := chat.NewMessage{
		WorkspaceID: fx.Workspace.ID, ConversationID: c.ID, ClientID: "abc-1",
		AuthorType: chat.AuthorVisitor, Kind: chat.KindText, Body: "hello",
	}
	first, created, err := db.CreateMessage(ctx, in)
	must(t, err)
	if !created || first.Seq != 1 || first.ClientID != "abc-1" {
		t.Fatalf("first send: created=%v %+v", created, first)
	}
	in.Body = "hello (resent)"
	again, created, err := db.CreateMessage(ctx, in)
	must(t, err)
	if created || again.ID != first.ID || again.Seq != 1 || again.Body != "hello" {
		t.Fatalf("resend: created=%v %+v, want the stored message %+v", created, again, first)
	}
	// The same client id in another conversation is another message.
	c2 := newConversation(t, db, fx)
	in.ConversationID = c2.ID
	other, created, err := db.CreateMessage(ctx, in)
	must(t, err)
	if !created || other.ID == first.ID {
		t.Fatalf("same client id in another conversation: created=%v id=%d", created, other.ID)
	}

	// Concurrent resends: exactly one creates, all return the same row.
	const n = 12
	ids := make([]int64, n)
	createdCount := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, created, err := db.CreateMessage(ctx, chat.NewMessage{
				WorkspaceID: fx.Workspace.ID, ConversationID: c.ID, ClientID: "race",
				AuthorType: chat.AuthorVisitor, Kind: chat.KindText, Body: "racing",
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[i] = m.ID
			if created {
				createdCount++
			}
		}()
	}
	wg.Wait()
	if createdCount != 1 {
		t.Fatalf("%d concurrent resends created a row, want exactly 1", createdCount)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent resends returned different messages: %v", ids)
		}
	}
	msgs, err := db.Messages(ctx, fx.Workspace.ID, c.ID, 0, 500, true)
	must(t, err)
	if len(msgs) != 2 || msgs[1].Seq != 2 {
		t.Fatalf("transcript has %d messages, want 2 (hello, racing)", len(msgs))
	}
	got, err := db.Conversation(ctx, fx.Workspace.ID, c.ID)
	must(t, err)
	if got.LastSeq != 2 {
		t.Fatalf("last_seq = %d after resends, want 2", got.LastSeq)
	}
}

func TestCreateConversationIsIdempotentPerVisitorClientID(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	in := chat.NewConversation{WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID, VisitorID: fx.Visitor.ID, ClientID: "conv-1"}

	const n = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[int64]bool{}
	created := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, ok, err := db.CreateConversation(ctx, in)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[c.ID] = true
			if ok {
				created++
			}
		}()
	}
	wg.Wait()
	if created != 1 || len(ids) != 1 {
		t.Fatalf("created %d times, %d distinct conversations; want 1 and 1", created, len(ids))
	}
	topics := outboxTopics(t, db)
	if !slices.Equal(topics, []string{chat.EventConversationCreated}) {
		t.Fatalf("outbox = %v, want one conversation.created", topics)
	}
	// Another visitor may use the same client id.
	v2 := &chat.Visitor{WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID}
	must(t, db.CreateVisitor(ctx, v2))
	in.VisitorID = v2.ID
	if _, ok, err := db.CreateConversation(ctx, in); err != nil || !ok {
		t.Fatalf("other visitor, same client id: created=%v err=%v", ok, err)
	}
}

func TestNotesAreHiddenUnlessPrivateIncluded(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	c := newConversation(t, db, fx)
	send(t, db, c, chat.AuthorVisitor, chat.KindText, "help")
	send(t, db, c, chat.AuthorAgent, chat.KindNote, "internal: VIP customer")
	send(t, db, c, chat.AuthorAgent, chat.KindText, "hi!")

	public, err := db.Messages(ctx, fx.Workspace.ID, c.ID, 0, 0, false)
	must(t, err)
	if len(public) != 2 || public[0].Seq != 1 || public[1].Seq != 3 {
		t.Fatalf("public transcript = %+v, want seqs 1 and 3", public)
	}
	for _, m := range public {
		if m.Private() {
			t.Fatalf("note visible without includePrivate: %+v", m)
		}
	}
	all, err := db.Messages(ctx, fx.Workspace.ID, c.ID, 0, 0, true)
	must(t, err)
	if len(all) != 3 || all[1].Kind != chat.KindNote {
		t.Fatalf("full transcript = %d messages, want 3 with the note second", len(all))
	}
	after, err := db.Messages(ctx, fx.Workspace.ID, c.ID, 2, 0, true)
	must(t, err)
	if len(after) != 1 || after[0].Seq != 3 {
		t.Fatalf("messages after seq 2 = %+v", after)
	}
	limited, err := db.Messages(ctx, fx.Workspace.ID, c.ID, 0, 1, true)
	must(t, err)
	if len(limited) != 1 {
		t.Fatalf("limit 1 returned %d", len(limited))
	}

	_, _, err = db.CreateMessage(ctx, chat.NewMessage{WorkspaceID: fx.Workspace.ID, ConversationID: c.ID,
		AuthorType: chat.AuthorVisitor, Kind: chat.KindNote, Body: "sneaky"})
	wantCode(t, err, chat.EINVALID)
}

func TestCreateMessageValidation(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	c := newConversation(t, db, fx)
	base := chat.NewMessage{WorkspaceID: fx.Workspace.ID, ConversationID: c.ID, AuthorType: chat.AuthorVisitor, Kind: chat.KindText, Body: "x"}
	for name, mod := range map[string]func(*chat.NewMessage){
		"empty body":      func(m *chat.NewMessage) { m.Body = "  " },
		"long body":       func(m *chat.NewMessage) { m.Body = string(make([]rune, chat.MaxBodyLen+1)) },
		"long client id":  func(m *chat.NewMessage) { m.ClientID = fmt.Sprintf("%065d", 1) },
		"unknown kind":    func(m *chat.NewMessage) { m.Kind = "html" },
		"unknown author":  func(m *chat.NewMessage) { m.AuthorType = "robot" },
		"visitor event":   func(m *chat.NewMessage) { m.Kind = chat.KindEvent },
		"no attachments":  func(m *chat.NewMessage) { m.Kind = chat.KindAttachment },
		"bad attachments": func(m *chat.NewMessage) { m.AttachmentIDs = []int64{999999} },
	} {
		in := base
		mod(&in)
		if _, _, err := db.CreateMessage(ctx, in); chat.ErrorCode(err) != chat.EINVALID {
			t.Errorf("%s: error %v, want EINVALID", name, err)
		}
	}
	// Nothing of the failed attempts was written.
	got, err := db.Conversation(ctx, fx.Workspace.ID, c.ID)
	must(t, err)
	if got.LastSeq != 0 {
		t.Fatalf("last_seq = %d after rejected messages", got.LastSeq)
	}
	if topics := outboxTopics(t, db); slices.Contains(topics, chat.EventMessageCreated) {
		t.Fatalf("outbox has message.created after rejected messages: %v", topics)
	}
	// Exactly MaxBodyLen characters, multi-byte, is fine.
	ok := base
	ok.Body = string(slices.Repeat([]rune{'é'}, chat.MaxBodyLen))
	if _, _, err := db.CreateMessage(ctx, ok); err != nil {
		t.Fatalf("body of %d characters: %v", chat.MaxBodyLen, err)
	}
}

func TestAttachmentsInMessages(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	c := newConversation(t, db, fx)
	other := newConversation(t, db, fx)
	att := func(conv *chat.Conversation, key string) *chat.Attachment {
		a := &chat.Attachment{WorkspaceID: fx.Workspace.ID, ConversationID: conv.ID, Name: key + ".png",
			ContentType: "image/png", Size: 42, StorageKey: key, UploaderType: chat.AuthorVisitor, UploaderID: fx.Visitor.ID}
		must(t, db.CreateAttachment(ctx, a))
		return a
	}
	a1, a2, foreign := att(c, "k1"), att(c, "k2"), att(other, "k3")

	dup := &chat.Attachment{WorkspaceID: fx.Workspace.ID, ConversationID: c.ID, StorageKey: "k1"}
	wantCode(t, db.CreateAttachment(ctx, dup), chat.ECONFLICT)

	in := chat.NewMessage{WorkspaceID: fx.Workspace.ID, ConversationID: c.ID, AuthorType: chat.AuthorVisitor,
		Kind: chat.KindAttachment, AttachmentIDs: []int64{a2.ID, a1.ID, a2.ID}}
	in.AttachmentIDs = append(in.AttachmentIDs, foreign.ID)
	_, _, err := db.CreateMessage(ctx, in)
	wantCode(t, err, chat.EINVALID)

	in.AttachmentIDs = in.AttachmentIDs[:3]
	m, _, err := db.CreateMessage(ctx, in)
	must(t, err)
	if len(m.Attachments) != 2 || m.Attachments[0].ID != a2.ID || m.Attachments[1].ID != a1.ID ||
		m.Attachments[0].Name != "k2.png" || m.Attachments[0].Size != 42 {
		t.Fatalf("message attachments = %+v", m.Attachments)
	}
	stored, err := db.Messages(ctx, fx.Workspace.ID, c.ID, 0, 0, false)
	must(t, err)
	if len(stored) != 1 || len(stored[0].Attachments) != 2 {
		t.Fatalf("stored message attachments = %+v", stored)
	}
	// An attachment goes into one message only.
	in.AttachmentIDs = []int64{a1.ID}
	_, _, err = db.CreateMessage(ctx, in)
	wantCode(t, err, chat.EINVALID)

	got, err := db.Attachment(ctx, fx.Workspace.ID, a1.ID)
	must(t, err)
	if got.StorageKey != "k1" || got.ConversationID != c.ID {
		t.Fatalf("attachment = %+v", got)
	}
}

func TestOutboxIsWrittenWithTheChange(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	c := newConversation(t, db, fx)
	m := send(t, db, c, chat.AuthorVisitor, chat.KindText, "hello")
	_, ev, err := db.SetStatus(ctx, fx.Workspace.ID, c.ID, chat.ConvClosed, nil, "Alice")
	must(t, err)

	pending, err := db.PendingOutbox(ctx, 100)
	must(t, err)
	var topics []string
	for _, e := range pending {
		topics = append(topics, e.Topic)
		if e.WorkspaceID != fx.Workspace.ID || e.DispatchedAt != nil {
			t.Errorf("event %+v", e)
		}
	}
	want := []string{chat.EventConversationCreated, chat.EventMessageCreated, chat.EventMessageCreated, chat.EventConversationClosed}
	if !slices.Equal(topics, want) {
		t.Fatalf("outbox topics = %v, want %v", topics, want)
	}
	var payload struct {
		MessageID      int64  `json:"message_id"`
		ConversationID int64  `json:"conversation_id"`
		WorkspaceID    int64  `json:"workspace_id"`
		Seq            int64  `json:"seq"`
		Kind           string `json:"kind"`
	}
	must(t, json.Unmarshal(pending[1].Payload, &payload))
	if payload.MessageID != m.ID || payload.ConversationID != c.ID || payload.WorkspaceID != fx.Workspace.ID || payload.Seq != 1 || payload.Kind != chat.KindText {
		t.Fatalf("message.created payload = %s", pending[1].Payload)
	}
	must(t, json.Unmarshal(pending[2].Payload, &payload))
	if payload.MessageID != ev.ID || payload.Kind != chat.KindEvent {
		t.Fatalf("event message payload = %s", pending[2].Payload)
	}

	// Limit, then dispatch the first two: only the rest stays pending.
	two, err := db.PendingOutbox(ctx, 2)
	must(t, err)
	if len(two) != 2 || two[0].ID != pending[0].ID {
		t.Fatalf("PendingOutbox(2) = %d events", len(two))
	}
	must(t, db.MarkDispatched(ctx, []int64{two[0].ID, two[1].ID}))
	must(t, db.MarkDispatched(ctx, nil))
	rest, err := db.PendingOutbox(ctx, 100)
	must(t, err)
	if len(rest) != 2 || rest[0].ID != pending[2].ID || rest[1].ID != pending[3].ID {
		t.Fatalf("after dispatch pending = %d events", len(rest))
	}
}
