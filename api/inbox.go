package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
)

// filterParams are the inbox list's query parameters a saved filter may hold.
var filterParams = []string{"status", "assignee", "team", "site", "label", "priority", "from", "to", "q"}

// conversationFilter reads the inbox list's query parameters (get returns
// one by name, "" when absent) for agent me. It is shared by the list and by
// saved filters, so a filter that saves is a filter that lists.
func conversationFilter(me *chat.Agent, get func(string) string) (chat.ConversationFilter, error) {
	f := chat.ConversationFilter{
		Status: get("status"), Priority: get("priority"),
		Label: strings.ToLower(strings.TrimSpace(get("label"))), Query: strings.TrimSpace(get("q")), Cursor: get("cursor"),
	}
	switch f.Status {
	case "", chat.ConvOpen, chat.ConvPending, chat.ConvSnoozed, chat.ConvClosed:
	default:
		return f, chat.Errorf(chat.EINVALID, "status must be open, pending, snoozed or closed")
	}
	switch f.Priority {
	case "", chat.PriorityLow, chat.PriorityNormal, chat.PriorityHigh, chat.PriorityUrgent:
	default:
		return f, chat.Errorf(chat.EINVALID, "priority must be low, normal, high or urgent")
	}
	if len(f.Label) > chat.MaxLabelLen {
		return f, chat.Errorf(chat.EINVALID, "label must be at most %d characters", chat.MaxLabelLen)
	}
	if len(f.Query) > 200 {
		return f, chat.Errorf(chat.EINVALID, "q must be at most 200 characters")
	}
	positive := func(name, v string) (*int64, error) {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return nil, chat.Errorf(chat.EINVALID, "%s must be a positive integer", name)
		}
		return &id, nil
	}
	var err error
	switch a := get("assignee"); a {
	case "":
	case "me":
		f.AssigneeID = &me.ID
	case "none":
		f.AssigneeID = new(int64)
	case "any":
		f.Assigned = true
	default:
		if f.AssigneeID, err = positive("assignee", a); err != nil {
			return f, chat.Errorf(chat.EINVALID, "assignee must be me, none, any or an agent id")
		}
	}
	switch t := get("team"); t {
	case "":
	case "mine":
		f.TeamIDs = append([]int64{}, me.TeamIDs...)
	case "none":
		f.TeamID = new(int64)
	default:
		if f.TeamID, err = positive("team", t); err != nil {
			return f, chat.Errorf(chat.EINVALID, "team must be mine, none or a team id")
		}
	}
	if v := get("site"); v != "" {
		if f.SiteID, err = positive("site", v); err != nil {
			return f, err
		}
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"from", &f.CreatedFrom}, {"to", &f.CreatedTo}} {
		if v := get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, chat.Errorf(chat.EINVALID, "%s must be an RFC 3339 time such as 2025-01-31T00:00:00Z", p.name)
			}
			*p.dst = &t
		}
	}
	if f.CreatedFrom != nil && f.CreatedTo != nil && !f.CreatedFrom.Before(*f.CreatedTo) {
		return f, chat.Errorf(chat.EINVALID, "from must be before to")
	}
	if v := get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 200 {
			return f, chat.Errorf(chat.EINVALID, "limit must be between 1 and 200")
		}
	}
	return f, nil
}

// conversationCounts answers the inbox views' sizes; each equals the
// length of the matching list (see ConversationCounts in the store).
func (s *Server) conversationCounts(c *echo.Context) error {
	me := currentAgent(c)
	ctx := c.Request().Context()
	counts, err := s.store.ConversationCounts(ctx, me.WorkspaceID, me.ID, me.TeamIDs)
	if err != nil {
		return err
	}
	filters, err := s.store.ListSavedFilters(ctx, me.WorkspaceID, me.ID)
	if err != nil {
		return err
	}
	counts.Filters = map[int64]int64{}
	for _, sf := range filters {
		if strings.TrimSpace(sf.Query["q"]) != "" {
			continue
		}
		f, err := conversationFilter(me, func(k string) string { return sf.Query[k] })
		if err != nil {
			continue // saved before a rule tightened: the list shows the error
		}
		if counts.Filters[sf.ID], err = s.store.CountConversations(ctx, me.WorkspaceID, f); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, counts)
}

func (s *Server) listFilters(c *echo.Context) error {
	me := currentAgent(c)
	filters, err := s.store.ListSavedFilters(c.Request().Context(), me.WorkspaceID, me.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"filters": filters})
}

// createFilter saves a named inbox filter for the calling agent. Query
// values may be strings or integers (ids); they are stored as strings,
// exactly as they go into the list's URL.
func (s *Server) createFilter(c *echo.Context) error {
	var in struct {
		Name  string                     `json:"name"`
		Query map[string]json.RawMessage `json:"query"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	query := map[string]string{}
	for k, raw := range in.Query {
		if !slices.Contains(filterParams, k) {
			return chat.Errorf(chat.EINVALID, "query: unknown parameter %q (want %s)", truncate(k, 32), strings.Join(filterParams, ", "))
		}
		var str string
		var num json.Number
		switch {
		case string(raw) == "null":
			continue
		case json.Unmarshal(raw, &str) == nil:
		case json.Unmarshal(raw, &num) == nil:
			if _, err := num.Int64(); err != nil {
				return chat.Errorf(chat.EINVALID, "query: %s must be a string or an integer", k)
			}
			str = num.String()
		default:
			return chat.Errorf(chat.EINVALID, "query: %s must be a string or an integer", k)
		}
		if str = strings.TrimSpace(str); str != "" {
			query[k] = str
		}
	}
	me := currentAgent(c)
	if _, err := conversationFilter(me, func(k string) string { return query[k] }); err != nil {
		return chat.Errorf(chat.EINVALID, "query: %s", chat.ErrorMessage(err))
	}
	f := &chat.SavedFilter{WorkspaceID: me.WorkspaceID, AgentID: me.ID, Name: in.Name, Query: query}
	if err := s.store.CreateSavedFilter(c.Request().Context(), f); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, f)
}

func (s *Server) deleteFilter(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	me := currentAgent(c)
	if err := s.store.DeleteSavedFilter(c.Request().Context(), me.WorkspaceID, me.ID, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// claim assigns a conversation to the caller unless someone else has it
// (409). Claiming one's own conversation again changes nothing.
func (s *Server) claim(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	conv, msg, err := s.store.ClaimConversation(ctx, me.WorkspaceID, id, me.ID)
	if err != nil {
		return err
	}
	if msg != nil {
		s.applyChange(ctx, conv, msg)
		s.audit(c, me, "conversation.claim", fmt.Sprintf("conversation:%d", id), nil)
		s.capacityChanged(me.WorkspaceID) // the queue moved: routing re-drains and tells visitors their place
	}
	return c.JSON(http.StatusOK, conv)
}

// maxSnooze bounds how far ahead a conversation can be snoozed.
const maxSnooze = 366 * 24 * time.Hour

func (s *Server) snooze(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Until string `json:"until"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	until, err := time.Parse(time.RFC3339, strings.TrimSpace(in.Until))
	switch {
	case err != nil:
		return chat.Errorf(chat.EINVALID, "until must be an RFC 3339 time such as 2025-01-31T09:00:00Z")
	case !until.After(time.Now()):
		return chat.Errorf(chat.EINVALID, "until must be in the future")
	case until.After(time.Now().Add(maxSnooze)):
		return chat.Errorf(chat.EINVALID, "until must be within a year")
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	conv, msg, err := s.store.SetStatus(ctx, me.WorkspaceID, id, chat.ConvSnoozed, &until, me.Name)
	if err != nil {
		return err
	}
	s.applyChange(ctx, conv, msg)
	s.capacityChanged(me.WorkspaceID) // a snoozed conversation no longer counts against its assignee
	s.audit(c, me, "conversation.snoozed", fmt.Sprintf("conversation:%d", id), mustJSON(map[string]any{"until": until.UTC()}))
	return c.JSON(http.StatusOK, conv)
}

// validMentions checks the shape of a note's mentions; the store checks
// that each is an active agent of the workspace.
func validMentions(ids []int64) error {
	if len(ids) > 20 {
		return chat.Errorf(chat.EINVALID, "a note can mention at most 20 agents")
	}
	for _, id := range ids {
		if id <= 0 {
			return chat.Errorf(chat.EINVALID, "mentions must be agent ids")
		}
	}
	return nil
}

// createNote stores a private note. Each agent it mentions (other than the
// author) gets a mention frame on their own connections, on every node; the
// store wrote a mention.created outbox row for each in the note's
// transaction. A resend with the same client_id notifies nobody again.
func (s *Server) createNote(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		sendRequest
		Mentions []int64 `json:"mentions"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := validMentions(in.Mentions); err != nil {
		return err
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	msg, created, err := s.send(ctx, agentActor(c), sendInput{ConversationID: id, ClientID: in.ClientID, Body: in.Body,
		AttachmentIDs: in.AttachmentIDs, Private: true, Mentions: in.Mentions})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		frame := mustJSON(map[string]any{"type": "mention", "conversation_id": id, "message": msg,
			"by": map[string]any{"id": me.ID, "name": me.Name}})
		var notified []int64
		for _, agentID := range in.Mentions {
			if agentID == me.ID || slices.Contains(notified, agentID) {
				continue
			}
			notified = append(notified, agentID)
			s.publish(ctx, agentTopic(agentID), &realtime.Event{Kind: "mention", Frame: frame})
		}
	}
	return c.JSON(status, msg)
}

// validNote checks the note that may come with a transfer.
func validNote(note string) error {
	if strings.TrimSpace(note) != "" {
		in := sendInput{ClientID: "note", Body: note}
		if err := validateSend(&in); err != nil {
			return err
		}
	}
	return nil
}

// transferNote stores the note written with an assignment as a private
// note right after the assignment's event message.
func (s *Server) transferNote(c *echo.Context, convID int64, note string) error {
	if strings.TrimSpace(note) == "" {
		return nil
	}
	clientID, _ := NewToken("transfer-")
	_, _, err := s.send(c.Request().Context(), agentActor(c), sendInput{
		ConversationID: convID, ClientID: clientID, Body: note, Private: true})
	return err
}
