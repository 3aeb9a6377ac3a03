package api_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// TestGapIsFilledFromTheDatabase: messages that were committed but whose
// events never reached this node (here: written straight to the store) are
// sent, in order, before the next live message.
func TestGapIsFilledFromTheDatabase(t *testing.T) {
	e := newEnv(t)
	agent := e.agentWS(e.loginAgent(e.admin.Email, e.password))
	defer agent.close()
	_, vs := e.newVisitor(e.site)
	visitor := e.visitorWS(vs.Token)
	defer visitor.close()
	visitor.send(map[string]any{"type": "send", "id": "1", "client_id": "first", "body": "first"})
	convID := visitor.expect("ack").Message.ConversationID
	if m := agent.expect("message"); m.Message.Seq != 1 {
		t.Fatalf("agent got seq %d", m.Message.Seq)
	}
	// Seqs 2..5 are committed silently: their events are "lost".
	for i := 2; i <= 5; i++ {
		kind := chat.KindText
		if i == 3 {
			kind = chat.KindNote // visitors must not get this one even through a gap fill
		}
		if _, _, err := e.db.CreateMessage(context.Background(), chat.NewMessage{WorkspaceID: e.ws.ID, ConversationID: convID,
			ClientID: fmt.Sprint("lost-", i), AuthorType: chat.AuthorAgent, AuthorID: e.admin.ID, Kind: kind, Body: fmt.Sprint("lost ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	visitor.send(map[string]any{"type": "send", "id": "2", "conversation_id": convID, "client_id": "sixth", "body": "sixth"})
	for want := int64(2); want <= 6; want++ {
		if m := agent.expect("message"); m.Message.Seq != want {
			t.Fatalf("agent got seq %d, want %d", m.Message.Seq, want)
		}
	}
	visitor.expect("message") // its own first message
	for _, want := range []int64{2, 4, 5, 6} {
		m := visitor.expect("message")
		if m.Message.Seq != want {
			t.Fatalf("visitor got seq %d, want %d", m.Message.Seq, want)
		}
		if m.Message.Kind == chat.KindNote {
			t.Fatal("gap fill leaked a note to the visitor")
		}
	}
}

// TestResumeTooFarBehindSaysGap: a client more than 500 messages behind is
// told to refetch over REST instead of being flooded or silently skipped,
// and live delivery continues after the gap.
func TestResumeTooFarBehindSaysGap(t *testing.T) {
	e := newEnv(t)
	_, vs := e.newVisitor(e.site)
	visitor := e.visitorWS(vs.Token)
	defer visitor.close()
	visitor.send(map[string]any{"type": "send", "id": "1", "client_id": "first", "body": "first"})
	convID := visitor.expect("ack").Message.ConversationID
	for i := 0; i < 520; i++ {
		if _, _, err := e.db.CreateMessage(context.Background(), chat.NewMessage{WorkspaceID: e.ws.ID, ConversationID: convID,
			ClientID: fmt.Sprint("bulk-", i), AuthorType: chat.AuthorAgent, AuthorID: e.admin.ID, Kind: chat.KindText, Body: "bulk"}); err != nil {
			t.Fatal(err)
		}
	}
	visitor.send(map[string]any{"type": "resume", "id": "r", "conversations": []map[string]int64{{"conversation_id": convID, "last_seq": 1}}})
	gap := visitor.expect("gap")
	if gap.ConversationID != convID || gap.AfterSeq != 1 {
		t.Fatalf("gap frame: %s", gap.Raw)
	}
	visitor.expect("resumed")
	// The REST refetch the gap asks for has everything.
	c := e.client()
	c.auth = "Bearer " + vs.Token
	var page struct {
		Messages []chat.Message `json:"messages"`
		LastSeq  int64          `json:"last_seq"`
	}
	c.do("GET", fmt.Sprintf("/api/v1/widget/conversations/%d/messages?after_seq=1&limit=500", convID), nil, &page)
	if len(page.Messages) != 500 || page.Messages[0].Seq != 2 || page.LastSeq != 521 {
		t.Fatalf("refetch: %d messages from seq %d, last_seq %d", len(page.Messages), page.Messages[0].Seq, page.LastSeq)
	}
	// Live messages continue after the gap without another fill.
	visitor.send(map[string]any{"type": "send", "id": "2", "conversation_id": convID, "client_id": "after", "body": "after"})
	for {
		m := visitor.expect("message")
		if m.Message.Seq == 522 {
			break
		}
		if m.Message.Seq > 1 {
			t.Fatalf("unexpected replay of seq %d after the gap", m.Message.Seq)
		}
	}
}

// TestResumeFrameRacingLiveMessages: a resume frame sent after live
// messages already went out still delivers everything missed, once.
func TestResumeFrameRacingLiveMessages(t *testing.T) {
	e := newEnv(t)
	agentHTTP := e.loginAgent(e.admin.Email, e.password)
	_, vs := e.newVisitor(e.site)
	visitor := e.visitorWS(vs.Token)
	visitor.send(map[string]any{"type": "send", "id": "1", "client_id": "first", "body": "first"})
	convID := visitor.expect("ack").Message.ConversationID
	visitor.close()
	for i := 0; i < 5; i++ {
		agentHTTP.do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", convID), map[string]any{"client_id": fmt.Sprint("away-", i), "body": "missed"}, nil)
	}
	visitor = e.visitorWS(vs.Token)
	defer visitor.close()
	// A live message goes out before the resume frame arrives.
	agentHTTP.do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", convID), map[string]any{"client_id": "live", "body": "live"}, nil)
	if m := visitor.expect("message"); m.Message.Seq != 7 {
		t.Fatalf("live message seq %d", m.Message.Seq)
	}
	visitor.send(map[string]any{"type": "resume", "id": "r", "conversations": []map[string]int64{{"conversation_id": convID, "last_seq": 1}}})
	got := map[int64]int{}
	for len(got) < 5 {
		m := visitor.expect("message")
		got[m.Message.Seq]++
	}
	visitor.expect("resumed")
	for s := int64(2); s <= 6; s++ {
		if got[s] != 1 {
			t.Fatalf("seq %d delivered %d times on resume: %v", s, got[s], got)
		}
	}
	select {
	case f := <-visitor.frames:
		if f.Type == "message" {
			t.Fatalf("extra message after resume: %s", f.Raw)
		}
	default:
	}
}
