package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
)

func agentActor(c *echo.Context) actor { return actor{agent: currentAgent(c)} }

func optionalID(c *echo.Context, name string) (*int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return nil, chat.Errorf(chat.EINVALID, "%s must be a positive integer", name)
	}
	return &id, nil
}

// conversationItem is a conversation with the visitor's display fields, so
// the inbox renders without a request per row.
type conversationItem struct {
	*chat.Conversation
	Visitor *visitorSummary `json:"visitor,omitempty"`
	// LastMessage is the newest message that is not an event, for the
	// row's preview (notes included: only agents see the list).
	LastMessage *chat.Message `json:"last_message,omitempty"`
}

type visitorSummary struct {
	ID       int64  `json:"id"`
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
	Verified bool   `json:"verified"`
	LastPage string `json:"last_page,omitempty"`
}

func (s *Server) listConversations(c *echo.Context) error {
	me := currentAgent(c)
	f, err := conversationFilter(me, c.QueryParam) // inbox.go: shared with saved filters
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	page, err := s.store.ListConversations(ctx, me.WorkspaceID, f)
	if err != nil {
		return err
	}
	visitorIDs := make([]int64, 0, len(page.Conversations))
	convIDs := make([]int64, 0, len(page.Conversations))
	for _, conv := range page.Conversations {
		visitorIDs, convIDs = append(visitorIDs, conv.VisitorID), append(convIDs, conv.ID)
	}
	visitors, last, err := s.store.ListRows(ctx, me.WorkspaceID, visitorIDs, convIDs)
	if err != nil {
		return err
	}
	items := make([]conversationItem, 0, len(page.Conversations))
	for _, conv := range page.Conversations {
		item := conversationItem{Conversation: conv, LastMessage: last[conv.ID]}
		if v := visitors[conv.VisitorID]; v != nil {
			item.Visitor = summarise(v)
		}
		items = append(items, item)
	}
	return c.JSON(http.StatusOK, map[string]any{"conversations": items, "next_cursor": page.NextCursor})
}

func summarise(v *chat.Visitor) *visitorSummary {
	return &visitorSummary{ID: v.ID, Name: v.Name, Email: v.Email, Verified: v.Verified, LastPage: v.LastPage}
}

func (s *Server) getConversation(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	a := agentActor(c)
	conv, err := s.conversationFor(ctx, a, id)
	if err != nil {
		return err
	}
	v, err := s.store.Visitor(ctx, conv.WorkspaceID, conv.VisitorID)
	if err != nil {
		return err
	}
	markers, err := s.store.ReadMarkers(ctx, conv.WorkspaceID, conv.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"conversation": conv, "visitor": v, "read_markers": markers})
}

func (s *Server) conversationMessages(c *echo.Context) error { return s.messages(c, agentActor(c)) }
func (s *Server) reply(c *echo.Context) error                { return s.sendREST(c, agentActor(c), false) }
func (s *Server) note(c *echo.Context) error                 { return s.createNote(c) }
func (s *Server) agentRead(c *echo.Context) error            { return s.readREST(c, agentActor(c)) }

func (s *Server) assign(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		AssigneeID *int64 `json:"assignee_id"`
		TeamID     *int64 `json:"team_id"`
		Note       string `json:"note"` // stored as a private note with the transfer
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := validNote(in.Note); err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	if in.AssigneeID != nil && *in.AssigneeID != 0 {
		target, err := s.store.Agent(ctx, me.WorkspaceID, *in.AssigneeID)
		if err != nil {
			return err
		}
		if !target.Active {
			return chat.Errorf(chat.EINVALID, "%s is deactivated", target.Name)
		}
	} else {
		in.AssigneeID = nil
	}
	if in.TeamID != nil && *in.TeamID == 0 {
		in.TeamID = nil
	}
	conv, msg, err := s.store.Assign(ctx, me.WorkspaceID, id, in.AssigneeID, in.TeamID, me.Name)
	if err != nil {
		return err
	}
	s.applyChange(ctx, conv, msg)
	if strings.TrimSpace(in.Note) != "" {
		if err := s.transferNote(c, id, in.Note); err != nil {
			return err
		}
		if conv, err = s.store.Conversation(ctx, me.WorkspaceID, id); err != nil {
			return err
		}
	}
	s.audit(c, me, "conversation.assign", fmt.Sprintf("conversation:%d", id), mustJSON(in))
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) setStatus(c *echo.Context, status string) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	conv, msg, err := s.store.SetStatus(ctx, me.WorkspaceID, id, status, nil, me.Name)
	if err != nil {
		return err
	}
	s.capacityChanged(me.WorkspaceID)
	s.applyChange(ctx, conv, msg)
	s.audit(c, me, "conversation."+status, fmt.Sprintf("conversation:%d", id), nil)
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) closeConversation(c *echo.Context) error  { return s.setStatus(c, chat.ConvClosed) }
func (s *Server) reopenConversation(c *echo.Context) error { return s.setStatus(c, chat.ConvOpen) }

func (s *Server) setLabels(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Labels []string `json:"labels"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if len(in.Labels) > chat.MaxLabels {
		return chat.Errorf(chat.EINVALID, "at most %d labels", chat.MaxLabels)
	}
	seen := map[string]bool{}
	labels := []string{}
	for _, l := range in.Labels {
		l = strings.ToLower(strings.TrimSpace(l))
		if l == "" || len(l) > chat.MaxLabelLen {
			return chat.Errorf(chat.EINVALID, "labels must have 1 to %d characters", chat.MaxLabelLen)
		}
		if !seen[l] {
			seen[l] = true
			labels = append(labels, l)
		}
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	conv, err := s.store.SetLabels(ctx, me.WorkspaceID, id, labels)
	if err != nil {
		return err
	}
	s.publishConversation(ctx, conv)
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) setPriority(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Priority string `json:"priority"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	switch in.Priority {
	case chat.PriorityLow, chat.PriorityNormal, chat.PriorityHigh, chat.PriorityUrgent:
	default:
		return chat.Errorf(chat.EINVALID, "priority must be low, normal, high or urgent")
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	conv, err := s.store.SetPriority(ctx, me.WorkspaceID, id, in.Priority)
	if err != nil {
		return err
	}
	s.publishConversation(ctx, conv)
	return c.JSON(http.StatusOK, conv)
}

func (s *Server) listAgents(c *echo.Context) error {
	agents, err := s.store.ListAgents(c.Request().Context(), currentAgent(c).WorkspaceID)
	if err != nil {
		return err
	}
	s.effectiveStatus(c.Request().Context(), agents)
	return c.JSON(http.StatusOK, map[string]any{"agents": agents})
}

func (s *Server) setMyStatus(c *echo.Context) error {
	var in struct {
		Status string `json:"status"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.setAgentStatus(c.Request().Context(), currentAgent(c), in.Status); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) setAgentStatus(ctx context.Context, a *chat.Agent, status string) error {
	switch status {
	case chat.StatusOnline, chat.StatusAway, chat.StatusOffline:
	default:
		return chat.Errorf(chat.EINVALID, "status must be online, away or offline")
	}
	if err := s.store.SetAgentStatus(ctx, a.WorkspaceID, a.ID, status); err != nil {
		return err
	}
	a.Status = status
	s.capacityChanged(a.WorkspaceID)
	s.publish(ctx, workspaceTopic(a.WorkspaceID), &realtime.Event{Kind: "presence",
		Frame: mustJSON(map[string]any{"type": "presence", "agent_id": a.ID, "status": status})})
	return nil
}

func (s *Server) getVisitor(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	v, err := s.store.Visitor(ctx, me.WorkspaceID, id)
	if err != nil {
		return err
	}
	convs, err := s.store.VisitorConversations(ctx, me.WorkspaceID, id)
	if err != nil {
		return err
	}
	pages, err := s.store.PageViews(ctx, me.WorkspaceID, id, 50)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"visitor": v, "conversations": convs, "pages": pages})
}
