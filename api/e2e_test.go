package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// TestChatEndToEnd runs a visitor and an agent over real websockets,
// exchanges messages both ways, kills the visitor's connection while the
// agent keeps writing, resumes, and checks that nothing was lost,
// duplicated or reordered on either side.
func TestChatEndToEnd(t *testing.T) {
	e := newEnv(t)
	agentHTTP := e.loginAgent(e.admin.Email, e.password)
	agent := e.agentWS(agentHTTP)
	defer agent.close()
	_, vs := e.newVisitor(e.site)
	visitor := e.visitorWS(vs.Token)

	// The visitor starts a conversation with its first message.
	visitor.send(map[string]any{"type": "send", "id": "r1", "client_id": "c-1", "body": "Hello, is anyone there?"})
	ack := visitor.expect("ack")
	if ack.ID != "r1" || ack.Message == nil || ack.Message.Seq != 1 || ack.Message.ConversationID == 0 {
		t.Fatalf("bad ack: %s", ack.Raw)
	}
	convID := ack.Message.ConversationID

	// Collect everything each side sees, by seq.
	visitorSeen := map[int64]*chat.Message{}
	var visitorOrder []int64
	agentSeen := map[int64]*chat.Message{}
	var agentOrder []int64
	take := func(w *wsClient, seen map[int64]*chat.Message, order *[]int64, upTo int64) {
		t.Helper()
		for len(*order) == 0 || (*order)[len(*order)-1] < upTo {
			f := w.next("message", "gap")
			if f.Type == "gap" {
				t.Fatalf("unexpected gap frame: %s", f.Raw)
			}
			if f.Message.ConversationID != convID {
				continue
			}
			if _, dup := seen[f.Message.Seq]; dup {
				t.Fatalf("seq %d delivered twice", f.Message.Seq)
			}
			seen[f.Message.Seq] = f.Message
			*order = append(*order, f.Message.Seq)
		}
	}
	take(agent, agentSeen, &agentOrder, 1)
	take(visitor, visitorSeen, &visitorOrder, 1)
	if agentSeen[1].Body != "Hello, is anyone there?" || agentSeen[1].AuthorType != chat.AuthorVisitor {
		t.Fatalf("agent got %+v", agentSeen[1])
	}

	// Ten messages each way over the sockets, plus a private note.
	var last int64 = 1
	for i := 0; i < 10; i++ {
		visitor.send(map[string]any{"type": "send", "id": fmt.Sprint("v", i), "conversation_id": convID, "client_id": fmt.Sprint("cv-", i), "body": fmt.Sprint("visitor says ", i)})
		agent.send(map[string]any{"type": "send", "id": fmt.Sprint("a", i), "conversation_id": convID, "client_id": fmt.Sprint("ca-", i), "body": fmt.Sprint("agent says ", i)})
	}
	agent.send(map[string]any{"type": "send", "id": "note", "conversation_id": convID, "client_id": "note-1", "body": "internal: VIP customer", "private": true})
	last += 21
	take(agent, agentSeen, &agentOrder, last)
	take(visitor, visitorSeen, &visitorOrder, last-1) // the note is never delivered to the visitor

	// The visitor's connection dies mid-stream; the agent keeps writing.
	visitor.close()
	for i := 0; i < 15; i++ {
		st, body := agentHTTP.do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", convID),
			map[string]any{"client_id": fmt.Sprint("offline-", i), "body": fmt.Sprint("while you were away ", i)}, nil)
		if st != 201 {
			t.Fatalf("agent REST reply: %d %s", st, body)
		}
	}
	last += 15

	// The visitor reconnects and resumes from the last seq it saw, given in
	// the connect request so the replay comes before any live message.
	lastSeen := visitorOrder[len(visitorOrder)-1]
	visitor = e.visitorWSQuery(vs.Token, fmt.Sprintf("resume=%d:%d", convID, lastSeen))
	defer visitor.close()
	// Meanwhile new messages keep flowing, racing the replay.
	agent.send(map[string]any{"type": "send", "id": "late", "conversation_id": convID, "client_id": "late-1", "body": "one more"})
	last++
	take(visitor, visitorSeen, &visitorOrder, last)
	take(agent, agentSeen, &agentOrder, last)

	// A retried send (same client id) returns the stored message.
	visitor.send(map[string]any{"type": "send", "id": "retry", "conversation_id": convID, "client_id": "cv-3", "body": "visitor says 3"})
	retry := visitor.expect("ack")
	if retry.Message.Seq != visitorSeenByClient(visitorSeen, "cv-3") {
		t.Fatalf("retry acked seq %d, want the stored message", retry.Message.Seq)
	}

	// Agent: every seq 1..last exactly once, in order.
	for i, s := range agentOrder {
		if s != int64(i+1) {
			t.Fatalf("agent order %v: position %d has seq %d", agentOrder, i, s)
		}
	}
	// Visitor: every seq except the note, strictly increasing, no gaps.
	var prev int64
	for _, s := range visitorOrder {
		if s <= prev {
			t.Fatalf("visitor order not increasing: %v", visitorOrder)
		}
		for missing := prev + 1; missing < s; missing++ {
			if agentSeen[missing].Kind != chat.KindNote {
				t.Fatalf("visitor missed seq %d (%q)", missing, agentSeen[missing].Body)
			}
		}
		if visitorSeen[s].Kind == chat.KindNote {
			t.Fatalf("visitor received a private note")
		}
		prev = s
	}
	if prev != last {
		t.Fatalf("visitor ended at seq %d, want %d", prev, last)
	}
	// The REST history agrees with what was delivered live.
	var hist struct {
		Messages []*chat.Message `json:"messages"`
	}
	agentHTTP.do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages?after_seq=0&limit=500", convID), nil, &hist)
	if int64(len(hist.Messages)) != last {
		t.Fatalf("history has %d messages, want %d", len(hist.Messages), last)
	}
	for _, m := range hist.Messages {
		if agentSeen[m.Seq].ID != m.ID || agentSeen[m.Seq].Body != m.Body {
			t.Fatalf("history seq %d differs from live delivery", m.Seq)
		}
	}
}

func visitorSeenByClient(seen map[int64]*chat.Message, clientID string) int64 {
	for s, m := range seen {
		if m.ClientID == clientID {
			return s
		}
	}
	return -1
}

// TestTypingReadPresenceAndUpdates checks the other live events.
func TestTypingReadPresenceAndUpdates(t *testing.T) {
	e := newEnv(t)
	agentHTTP := e.loginAgent(e.admin.Email, e.password)
	agent := e.agentWS(agentHTTP)
	defer agent.close()
	_, vs := e.newVisitor(e.site)
	visitor := e.visitorWS(vs.Token)
	defer visitor.close()

	visitor.send(map[string]any{"type": "send", "id": "1", "client_id": "x", "body": "hi"})
	convID := visitor.expect("ack").Message.ConversationID

	visitor.send(map[string]any{"type": "typing", "conversation_id": convID, "typing": true, "preview": "secret draft"})
	typing := agent.expect("typing")
	if typing.ConversationID != convID {
		t.Fatalf("typing for %d", typing.ConversationID)
	}
	if string(typing.Raw) == "" || contains(typing.Raw, "secret draft") {
		t.Fatalf("typing preview leaked although the site did not enable it: %s", typing.Raw)
	}
	agent.send(map[string]any{"type": "typing", "conversation_id": convID, "typing": true})
	if f := visitor.expect("typing"); !contains(f.Raw, e.admin.Name) {
		t.Fatalf("visitor typing frame lacks agent name: %s", f.Raw)
	}
	agent.send(map[string]any{"type": "read", "conversation_id": convID, "seq": 1})
	if f := visitor.expect("read"); !contains(f.Raw, `"seq":1`) {
		t.Fatalf("read frame: %s", f.Raw)
	}
	// Closing the conversation reaches the visitor as a system message and
	// an update without internal fields.
	if st, body := agentHTTP.do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", convID), nil, nil); st != 200 {
		t.Fatalf("close: %d %s", st, body)
	}
	upd := visitor.expect("conversation.updated") // the creation
	if contains(upd.Raw, "workspace_id") || contains(upd.Raw, "labels") {
		t.Fatalf("visitor update leaks internal fields: %s", upd.Raw)
	}
	if upd = visitor.expect("conversation.updated"); !contains(upd.Raw, `"status":"closed"`) {
		t.Fatalf("visitor update: %s", upd.Raw)
	}
	sys := visitor.expect("message")
	if sys.Message.Seq == 1 { // the visitor's own "hi"
		sys = visitor.expect("message")
	}
	if sys.Message.AuthorType != chat.AuthorSystem || sys.Message.Seq != 2 {
		t.Fatalf("system message: %s", sys.Raw)
	}
	// Presence: the agent sees the visitor go offline.
	visitor.close()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f := <-agent.frames:
			if f.Type == "presence" && contains(f.Raw, `"online":false`) {
				return
			}
		case <-deadline:
			t.Fatal("no offline presence for the visitor")
		}
	}
}

func contains(b []byte, sub string) bool { return strings.Contains(string(b), sub) }
