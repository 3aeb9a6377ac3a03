package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/rating"
)

// TypeRatingRequest emails a visitor a rating request for a closed
// conversation.
const TypeRatingRequest = "notify:rating-request"

// RatingDelay leaves the visitor time to rate in the widget first, and an
// agent time to reopen a conversation closed by mistake.
var RatingDelay = 10 * time.Minute

// RatingRequestPayload identifies the close event a request is for.
type RatingRequestPayload struct {
	WorkspaceID    int64 `json:"workspace_id"`
	ConversationID int64 `json:"conversation_id"`
	EventID        int64 `json:"event_id"`
}

// NewRatingRequestTask schedules the rating request of one close event.
func NewRatingRequestTask(p RatingRequestPayload) *asynq.Task {
	b, _ := json.Marshal(p)
	return asynq.NewTask(TypeRatingRequest, b, asynq.TaskID(fmt.Sprintf("rating:%d:%d", p.ConversationID, p.EventID)),
		asynq.ProcessIn(RatingDelay), asynq.MaxRetry(10))
}

// RatingRequests schedules (on conversation.closed) and sends rating
// request emails for sites with SiteSettings.RatingEmail.
type RatingRequests struct {
	*Notifier
	Keys LinkKeys
}

// Closed handles conversation.closed: a site that asks for ratings by email
// gets a delayed task; the task decides whether to send.
func (r *RatingRequests) Closed(ctx context.Context, p OutboxPayload) error {
	m := payloadMap(p)
	conv, err := r.Store.Conversation(ctx, p.WorkspaceID, num(m, "conversation_id"))
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	site, err := r.Store.Site(ctx, p.WorkspaceID, conv.SiteID)
	if err != nil || !site.Settings.RatingEmail {
		return err
	}
	_, err = r.Queue.EnqueueContext(ctx, NewRatingRequestTask(RatingRequestPayload{WorkspaceID: p.WorkspaceID, ConversationID: conv.ID, EventID: p.EventID}))
	if isConflict(err) {
		return nil // this close's task is already scheduled
	}
	return err
}

// ProcessTask sends the request unless the conversation was rated or
// reopened meanwhile, the visitor left no address or the site stopped
// asking. One email per close event, however often the task runs.
func (r *RatingRequests) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p RatingRequestPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ConversationID == 0 || p.WorkspaceID == 0 {
		return fmt.Errorf("bad rating request payload: %w", asynq.SkipRetry)
	}
	conv, err := r.Store.Conversation(ctx, p.WorkspaceID, p.ConversationID)
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if conv.Status != chat.ConvClosed || conv.Rating != nil {
		return nil
	}
	site, err := r.Store.Site(ctx, p.WorkspaceID, conv.SiteID)
	if err != nil || !site.Settings.RatingEmail {
		return err
	}
	v, err := r.Store.Visitor(ctx, p.WorkspaceID, conv.VisitorID)
	if err != nil || v.Email == "" {
		return err
	}
	if r.BaseURL == "" {
		return fmt.Errorf("rating request needs the public URL (SWITCHBOARD_PUBLIC_URL): %w", asynq.SkipRetry)
	}
	key, err := r.Keys.LinkKey(ctx, chat.LinkKeyRatings)
	if err != nil {
		return err
	}
	query := chat.SignLink(key, chat.LinkPurposeRating, p.WorkspaceID, conv.ID, time.Now().Add(chat.RatingLinkTTL))
	base := strings.TrimRight(r.BaseURL, "/")
	link := func(score int) string { return fmt.Sprintf("%s/rate/%d?%s&score=%d", base, conv.ID, query, score) }
	subject, text, html, err := rating.Email(site.Name, v.Locale, link)
	if err != nil {
		return fmt.Errorf("render rating request: %v: %w", err, asynq.SkipRetry)
	}
	return r.Postman.Deliver(ctx, fmt.Sprintf("rating:%d:%d", conv.ID, p.EventID),
		chat.Mail{WorkspaceID: p.WorkspaceID, To: v.Email, Subject: subject, Text: text, HTML: html})
}
