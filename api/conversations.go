package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
)

// actor is whoever is acting: a visitor (through the widget) or an agent.
// REST handlers and the websocket gateway share the logic below through it.
type actor struct {
	agent   *chat.Agent
	visitor *chat.Visitor
}

func (a actor) workspaceID() int64 {
	if a.agent != nil {
		return a.agent.WorkspaceID
	}
	return a.visitor.WorkspaceID
}

func (a actor) isAgent() bool { return a.agent != nil }

// Topics. Agents of a workspace share one topic; each visitor has one.
func workspaceTopic(id int64) string { return fmt.Sprintf("w:%d", id) }
func visitorTopic(id int64) string   { return fmt.Sprintf("v:%d", id) }

// agentTopic reaches every connection of one agent, on every node: for
// mentions and notifications meant for them alone, and to end their sockets.
func agentTopic(id int64) string { return fmt.Sprintf("a:%d", id) }

// kindDisconnect, published on an agent's topic, closes that agent's sockets.
const kindDisconnect = "disconnect"

// disconnectAgent ends every websocket of an agent within moments, on every
// node (after deactivation, say).
func (s *Server) disconnectAgent(ctx context.Context, agentID int64) {
	s.publish(ctx, agentTopic(agentID), &realtime.Event{Kind: kindDisconnect})
}

// conversationFor loads a conversation the actor may see. A visitor naming
// someone else's conversation gets ENOTFOUND, exactly like a missing one.
func (s *Server) conversationFor(ctx context.Context, a actor, id int64) (*chat.Conversation, error) {
	if id <= 0 {
		return nil, chat.Errorf(chat.ENOTFOUND, "conversation not found")
	}
	conv, err := s.store.Conversation(ctx, a.workspaceID(), id)
	if err != nil {
		return nil, err
	}
	if !a.isAgent() && conv.VisitorID != a.visitor.ID {
		return nil, chat.Errorf(chat.ENOTFOUND, "conversation not found")
	}
	return conv, nil
}

// sendInput is a message as a client asks for it.
type sendInput struct {
	ConversationID int64
	ClientID       string
	Body           string
	AttachmentIDs  []int64
	Private        bool
	Mentions       []int64 // agents a note mentions (REST notes)
}

func validateSend(in *sendInput) error {
	in.ClientID = strings.TrimSpace(in.ClientID)
	switch {
	case in.ClientID == "":
		return chat.Errorf(chat.EINVALID, "client_id is required")
	case len(in.ClientID) > chat.MaxClientIDLen:
		return chat.Errorf(chat.EINVALID, "client_id must be at most %d characters", chat.MaxClientIDLen)
	case !utf8.ValidString(in.Body):
		return chat.Errorf(chat.EINVALID, "body must be valid UTF-8")
	case utf8.RuneCountInString(in.Body) > chat.MaxBodyLen:
		return chat.Errorf(chat.ETOOLARGE, "body must be at most %d characters", chat.MaxBodyLen)
	case strings.TrimSpace(in.Body) == "" && len(in.AttachmentIDs) == 0:
		return chat.Errorf(chat.EINVALID, "a message needs a body or an attachment")
	case len(in.AttachmentIDs) > 10:
		return chat.Errorf(chat.EINVALID, "at most 10 attachments per message")
	}
	return nil
}

// send stores a message and, after the commit, publishes it. A visitor
// without a conversation id starts a new conversation (idempotent by
// client id too). A repeated client id returns the stored message.
func (s *Server) send(ctx context.Context, a actor, in sendInput) (*chat.Message, bool, error) {
	start := time.Now()
	if err := validateSend(&in); err != nil {
		return nil, false, err
	}
	var conv *chat.Conversation
	var err error
	if in.ConversationID == 0 && !a.isAgent() {
		var created bool
		conv, created, err = s.store.CreateConversation(ctx, chat.NewConversation{
			WorkspaceID: a.visitor.WorkspaceID, SiteID: a.visitor.SiteID, VisitorID: a.visitor.ID, ClientID: in.ClientID,
		})
		if err != nil {
			return nil, false, err
		}
		if created {
			s.publishConversation(ctx, conv)
			defer s.newConversation(context.WithoutCancel(ctx), conv) // once the first message is in
		}
	} else if conv, err = s.conversationFor(ctx, a, in.ConversationID); err != nil {
		return nil, false, err
	}
	nm := chat.NewMessage{
		WorkspaceID: conv.WorkspaceID, ConversationID: conv.ID, ClientID: in.ClientID,
		Body: in.Body, AttachmentIDs: in.AttachmentIDs, Kind: chat.KindText, Mentions: in.Mentions,
	}
	if len(in.AttachmentIDs) > 0 && strings.TrimSpace(in.Body) == "" {
		nm.Kind = chat.KindAttachment
	}
	if a.isAgent() {
		nm.AuthorType, nm.AuthorID, nm.AuthorName = chat.AuthorAgent, a.agent.ID, a.agent.Name
		if in.Private {
			nm.Kind = chat.KindNote
		}
	} else {
		if in.Private {
			return nil, false, chat.Errorf(chat.EFORBIDDEN, "visitors cannot write private notes")
		}
		nm.AuthorType, nm.AuthorID, nm.AuthorName = chat.AuthorVisitor, a.visitor.ID, a.visitor.Name
	}
	msg, created, err := s.store.CreateMessage(ctx, nm)
	if err != nil {
		return nil, false, err
	}
	if created {
		messagesTotal.WithLabelValues(msg.AuthorType, msg.Kind).Inc()
		s.publishMessage(ctx, conv, msg, "")
		messageCommit.Observe(time.Since(start).Seconds())
	}
	return msg, created, nil
}

// publishMessage fans a committed message out. Visitors get a frame-less
// event for notes so their connection's seq bookkeeping stays gap-free
// without ever seeing the note.
func (s *Server) publishMessage(ctx context.Context, conv *chat.Conversation, msg *chat.Message, origin string) {
	frame := mustJSON(map[string]any{"type": "message", "message": msg})
	ev := &realtime.Event{Kind: "message", ConversationID: conv.ID, Seq: msg.Seq, Origin: origin, Frame: frame}
	s.publish(ctx, workspaceTopic(conv.WorkspaceID), ev)
	vev := ev
	if msg.Private() {
		vev = &realtime.Event{Kind: "message", ConversationID: conv.ID, Seq: msg.Seq}
	}
	s.publish(ctx, visitorTopic(conv.VisitorID), vev)
}

// visitorConversation is what a visitor may know about a conversation.
type visitorConversation struct {
	ID            int64     `json:"id"`
	Status        string    `json:"status"`
	LastSeq       int64     `json:"last_seq"`
	Assigned      bool      `json:"assigned"`
	LastMessageAt time.Time `json:"last_message_at"`
	CreatedAt     time.Time `json:"created_at"`
	Rating        *int      `json:"rating"`
}

func forVisitor(c *chat.Conversation) visitorConversation {
	return visitorConversation{ID: c.ID, Status: c.Status, LastSeq: c.LastSeq, Assigned: c.AssigneeID != nil,
		LastMessageAt: c.LastMessageAt, CreatedAt: c.CreatedAt, Rating: c.Rating}
}

func (s *Server) publishConversation(ctx context.Context, conv *chat.Conversation) {
	s.publish(ctx, workspaceTopic(conv.WorkspaceID), &realtime.Event{Kind: "conversation.updated",
		Frame: mustJSON(map[string]any{"type": "conversation.updated", "conversation": conv})})
	s.publish(ctx, visitorTopic(conv.VisitorID), &realtime.Event{Kind: "conversation.updated",
		Frame: mustJSON(map[string]any{"type": "conversation.updated", "conversation": forVisitor(conv)})})
}

// publish never fails the request: the change is committed and clients
// recover anything missed through seq gap-filling and resume.
func (s *Server) publish(ctx context.Context, topic string, ev *realtime.Event) {
	if err := s.hub.Publish(context.WithoutCancel(ctx), topic, ev); err != nil {
		s.log.Warn("publish failed", "topic", topic, "kind", ev.Kind, "err", err)
	}
}

// markRead stores a read marker and tells the other side.
func (s *Server) markRead(ctx context.Context, a actor, convID, seq int64, origin string) error {
	conv, err := s.conversationFor(ctx, a, convID)
	if err != nil {
		return err
	}
	if seq < 0 || seq > conv.LastSeq {
		return chat.Errorf(chat.EINVALID, "seq must be between 0 and %d", conv.LastSeq)
	}
	m := chat.ReadMarker{ConversationID: conv.ID, Seq: seq}
	if a.isAgent() {
		m.ReaderType, m.ReaderID = chat.AuthorAgent, a.agent.ID
	} else {
		m.ReaderType, m.ReaderID = chat.AuthorVisitor, a.visitor.ID
	}
	if err := s.store.MarkRead(ctx, conv.WorkspaceID, m); err != nil {
		return err
	}
	ev := &realtime.Event{Kind: "read", Origin: origin, Frame: mustJSON(map[string]any{
		"type": "read", "conversation_id": conv.ID, "reader_type": m.ReaderType, "reader_id": m.ReaderID, "seq": seq})}
	s.publish(ctx, workspaceTopic(conv.WorkspaceID), ev)
	if a.isAgent() {
		s.publish(ctx, visitorTopic(conv.VisitorID), ev)
	}
	return nil
}

// applyChange publishes the outcome of an agent action: the updated
// conversation and the system message the store appended.
func (s *Server) applyChange(ctx context.Context, conv *chat.Conversation, msg *chat.Message) {
	if msg != nil {
		s.publishMessage(ctx, conv, msg, "")
	}
	s.publishConversation(ctx, conv)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types are marshalled here
	}
	return b
}
