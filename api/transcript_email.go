package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// An agent emails a conversation's transcript from the console. It is the
// visitor's transcript email exactly (docs/exports.md "Visitor transcript
// email": HTML + plain text in the visitor's language, attachments as signed
// links, never private notes or system events), whoever the recipient is:
// the server cannot tell a visitor's address from anyone else's, so notes
// never go out by email. An agent who needs the notes exports the
// conversation with include_notes instead.
//
// The request is a transcript.requested outbox row, the same one the
// widget's "email me this conversation" writes; workers.Notifier.Transcript
// sends it once per row (its effect key is the row's id and the address).

const (
	// maxTranscriptMails bounds the transcripts one agent may email per
	// transcriptMailWindow (counted in the database, so across every node):
	// the address is the agent's to choose, so a stolen session or API token
	// must not become a spam relay.
	maxTranscriptMails   = 30
	transcriptMailWindow = time.Hour
)

// emailTranscript: POST /conversations/:id/transcript/email {email?}.
// Without an email it goes to the visitor's address on file.
func (s *Server) emailTranscript(c *echo.Context) error {
	me := currentAgent(c)
	ctx := c.Request().Context()
	conv, err := s.conversationFor(ctx, agentActor(c), mustPathID(c))
	if err != nil {
		return err
	}
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.store.Visitor(ctx, conv.WorkspaceID, conv.VisitorID)
	if err != nil {
		return err
	}
	to := strings.TrimSpace(in.Email)
	if to == "" {
		to = strings.TrimSpace(v.Email)
		if to == "" {
			return chat.Errorf(chat.EINVALID, "email is required: the visitor has not given an address")
		}
	}
	if !validEmail(to) {
		return chat.Errorf(chat.EINVALID, "email is not a valid address: write one address such as name@example.com")
	}
	key := strconv.FormatInt(me.ID, 10)
	if locked, err := s.transcriptMails.locked(ctx, key); err != nil {
		return err
	} else if locked {
		return chat.Errorf(chat.ERATELIMIT, "you have emailed %d transcripts in the last hour; try again later", maxTranscriptMails)
	}
	toVisitor := v.Email != "" && strings.EqualFold(to, strings.TrimSpace(v.Email))
	err = s.store.AddOutboxEvent(ctx, conv.WorkspaceID, chat.EventTranscriptRequested, map[string]any{
		"conversation_id": conv.ID, "visitor_id": conv.VisitorID, "email": to, "requested_by_agent_id": me.ID})
	if err != nil {
		return err
	}
	if err := s.transcriptMails.record(ctx, key); err != nil {
		// The email is queued: failing now would only invite a resend.
		s.log.Warn("email transcript: count it against the limit", "agent", me.ID, "err", err)
	}
	s.audit(c, me, "conversation.transcript_emailed", fmt.Sprintf("conversation:%d", conv.ID),
		mustJSON(map[string]any{"email": to, "to_visitor": toVisitor}))
	return c.JSON(http.StatusAccepted, map[string]any{"status": "queued", "email": to})
}
