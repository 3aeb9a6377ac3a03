package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// TypeVisitorDigest emails a visitor the agent replies they have not seen.
const TypeVisitorDigest = "notify:visitor-digest"

// visitorDelay gives the visitor time to see a reply in the widget first;
// replies within the window are batched into one email.
var visitorDelay = 2 * time.Minute

// ReadMarkerStore tells whether the visitor saw a reply.
type ReadMarkerStore interface {
	ReadMarkers(ctx context.Context, workspaceID, conversationID int64) ([]*chat.ReadMarker, error)
}

// VisitorReply handles message.created: an agent's reply to a visitor who
// left an email address schedules a delayed, batched email.
func (n *Notifier) VisitorReply(ctx context.Context, p OutboxPayload) error {
	m := payloadMap(p)
	if m["author_type"] != chat.AuthorAgent || (m["kind"] != chat.KindText && m["kind"] != chat.KindAttachment) {
		return nil
	}
	conv, err := n.Store.Conversation(ctx, p.WorkspaceID, num(m, "conversation_id"))
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	v, err := n.Store.Visitor(ctx, p.WorkspaceID, conv.VisitorID)
	if err != nil {
		return err
	}
	if v.Email == "" {
		return nil
	}
	return Once(ctx, n.Postman.Store, fmt.Sprintf("visitor-notice:%d", p.EventID), func() error {
		if err := n.Store.AddNotification(ctx, &chat.Notification{WorkspaceID: p.WorkspaceID, RecipientType: chat.AuthorVisitor,
			RecipientID: v.ID, Kind: "agent_reply", Payload: m}); err != nil {
			return err
		}
		bucket := time.Now().UnixNano() / int64(visitorDelay)
		task := asynq.NewTask(TypeVisitorDigest, []byte(fmt.Sprintf(`{"workspace_id":%d,"visitor_id":%d}`, p.WorkspaceID, v.ID)),
			asynq.TaskID(fmt.Sprintf("vdigest:%d:%d", v.ID, bucket)), asynq.ProcessIn(visitorDelay), asynq.MaxRetry(10))
		if _, err := n.Queue.EnqueueContext(ctx, task); err != nil && !isConflict(err) {
			return err
		}
		return nil
	})
}

// VisitorDigest sends the replies a visitor has not read, skipping those
// they saw in the widget meanwhile.
type VisitorDigest struct {
	*Notifier
	Markers ReadMarkerStore
}

// ProcessTask implements asynq.Handler.
func (d *VisitorDigest) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p struct {
		WorkspaceID int64 `json:"workspace_id"`
		VisitorID   int64 `json:"visitor_id"`
	}
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.VisitorID == 0 {
		return fmt.Errorf("bad visitor digest payload: %w", asynq.SkipRetry)
	}
	pending, err := d.Store.PendingNotifications(ctx, chat.AuthorVisitor, p.VisitorID)
	if err != nil || len(pending) == 0 {
		return err
	}
	v, err := d.Store.Visitor(ctx, p.WorkspaceID, p.VisitorID)
	if err != nil {
		return err
	}
	seen := map[int64]int64{} // conversation -> visitor's read seq
	var unseen []*chat.Notification
	ids := make([]int64, len(pending))
	for i, no := range pending {
		ids[i] = no.ID
		conv := num(no.Payload, "conversation_id")
		if _, ok := seen[conv]; !ok {
			markers, err := d.Markers.ReadMarkers(ctx, p.WorkspaceID, conv)
			if err != nil && chat.ErrorCode(err) != chat.ENOTFOUND {
				return err
			}
			for _, mk := range markers {
				if mk.ReaderType == chat.AuthorVisitor && mk.ReaderID == v.ID {
					seen[conv] = mk.Seq
				}
			}
		}
		if num(no.Payload, "seq") > seen[conv] {
			unseen = append(unseen, no)
		}
	}
	if len(unseen) > 0 && v.Email != "" {
		var b strings.Builder
		b.WriteString("Hello,\n\nYou have new replies from the support team:\n\n")
		for _, no := range unseen {
			conv, seq := num(no.Payload, "conversation_id"), num(no.Payload, "seq")
			msgs, err := d.Store.Messages(ctx, p.WorkspaceID, conv, seq-1, 1, false)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				fmt.Fprintf(&b, "%s: %s\n\n", m.AuthorName, m.Body)
			}
		}
		b.WriteString("Reply on the site where you started the chat; the conversation is waiting for you.\n")
		key := fmt.Sprintf("vdigest:%d:%d-%d", v.ID, ids[0], ids[len(ids)-1])
		if err := d.Postman.Deliver(ctx, key, chat.Mail{WorkspaceID: p.WorkspaceID, To: v.Email,
			Subject: "New reply to your conversation", Text: b.String()}); err != nil {
			return err
		}
	}
	return d.Store.MarkNotificationsSent(ctx, ids)
}
