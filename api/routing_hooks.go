package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
	"github.com/switchboard-chat/switchboard/api/routing"
)

// RoutingNotify is the engine's Notify: publish what it changed.
func (s *Server) RoutingNotify(ctx context.Context, conv *chat.Conversation, msg *chat.Message) {
	s.applyChange(ctx, conv, msg)
}

// PublishQueue tells every queued visitor of a workspace their place in line.
func (s *Server) PublishQueue(ctx context.Context, workspaceID int64) {
	if s.cfg.Routing == nil {
		return
	}
	positions, err := s.cfg.Routing.Positions(ctx, workspaceID)
	if err != nil {
		s.log.Warn("queue positions", "err", err)
		return
	}
	if len(positions) > 200 {
		positions = positions[:200] // the rest hear at their next reconnect
	}
	for _, p := range positions {
		conv, err := s.store.Conversation(ctx, workspaceID, p.ConversationID)
		if err != nil {
			continue
		}
		s.publish(ctx, visitorTopic(conv.VisitorID), &realtime.Event{Kind: "queue",
			Frame: mustJSON(map[string]any{"type": "queue", "conversation_id": p.ConversationID,
				"position": p.Position, "estimated_wait_seconds": p.EstimatedWait})})
	}
}

// newConversation routes a conversation a visitor just started: team rules
// first, then a drain so an agent gets it at once.
func (s *Server) newConversation(ctx context.Context, conv *chat.Conversation) {
	if s.cfg.Routing == nil {
		return
	}
	if _, err := s.cfg.Routing.Route(ctx, conv); err != nil {
		s.log.Warn("routing rules", "conversation", conv.ID, "err", err)
	}
	s.cfg.Routing.Trigger(conv.WorkspaceID)
}

// capacityChanged asks routing to drain a workspace's queue: an agent came
// online, a conversation closed, capacity was raised.
func (s *Server) capacityChanged(workspaceID int64) {
	if s.cfg.Routing != nil {
		s.cfg.Routing.Trigger(workspaceID)
	}
}

// heartbeat keeps a connection's presence alive.
func (s *Server) heartbeat(ctx context.Context, c *wsConn) {
	if s.cfg.Presence == nil {
		return
	}
	kind, ws, id := c.presenceKey()
	if err := s.cfg.Presence.Heartbeat(ctx, kind, ws, id, c.id); err != nil {
		s.log.Warn("presence heartbeat", "err", err)
	}
}

func (s *Server) leave(c *wsConn) {
	if s.cfg.Presence == nil {
		return
	}
	kind, ws, id := c.presenceKey()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.cfg.Presence.Leave(ctx, kind, ws, id, c.id)
}

// announceGone tells a workspace that a person's connection closed, unless
// another of their connections (a second tab, another node) is still
// alive. Without presence tracking only visitors are announced, as before.
func (s *Server) announceGone(c *wsConn) {
	kind, ws, id := c.presenceKey()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.cfg.Presence == nil {
		if kind == "visitor" {
			s.publish(ctx, workspaceTopic(ws), visitorPresence(id, false))
		}
		return
	}
	if still, err := s.cfg.Presence.Present(ctx, kind, ws, id); err != nil {
		s.log.Warn("presence", "err", err)
		return
	} else if still {
		return
	}
	s.publish(ctx, workspaceTopic(ws), gonePresence(kind, id))
}

func visitorPresence(id int64, online bool) *realtime.Event {
	return &realtime.Event{Kind: "presence", Frame: mustJSON(map[string]any{"type": "presence", "visitor_id": id, "online": online})}
}

// gonePresence says a person has no live connection left: a visitor is
// offline, an agent shows offline whatever status they chose.
func gonePresence(kind string, id int64) *realtime.Event {
	if kind == "agent" {
		return &realtime.Event{Kind: "presence", Frame: mustJSON(map[string]any{"type": "presence", "agent_id": id, "status": chat.StatusOffline})}
	}
	return visitorPresence(id, false)
}

// WatchPresence notices people whose connections stopped heartbeating
// without a goodbye (their node died, their network went) and tells their
// workspace, every interval until ctx ends. Each node runs it; a repeated
// "gone" frame is harmless.
func (s *Server) WatchPresence(ctx context.Context, every time.Duration) {
	if s.cfg.Presence == nil {
		return
	}
	type key struct {
		ws   int64
		kind string
	}
	prev := map[key]map[int64]time.Time{}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		wss, err := s.store.ListWorkspaces(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("presence watch", "err", err)
		}
		for _, w := range wss {
			for _, kind := range []string{"agent", "visitor"} {
				seen, err := s.cfg.Presence.Seen(ctx, kind, w.ID)
				if err != nil {
					continue
				}
				k := key{w.ID, kind}
				if old, ok := prev[k]; ok {
					for id := range old {
						if _, still := seen[id]; !still {
							s.publish(ctx, workspaceTopic(w.ID), gonePresence(kind, id))
						}
					}
				}
				prev[k] = seen
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *wsConn) presenceKey() (string, int64, int64) {
	if c.actor.isAgent() {
		return "agent", c.actor.agent.WorkspaceID, c.actor.agent.ID
	}
	return "visitor", c.actor.visitor.WorkspaceID, c.actor.visitor.ID
}

// effectiveStatus shows an agent as offline when none of their connections
// is alive, whatever status they chose.
func (s *Server) effectiveStatus(ctx context.Context, agents []*chat.Agent) {
	if s.cfg.Presence == nil || len(agents) == 0 {
		return
	}
	seen, err := s.cfg.Presence.Seen(ctx, "agent", agents[0].WorkspaceID)
	if err != nil {
		return
	}
	for _, a := range agents {
		if _, ok := seen[a.ID]; !ok {
			a.Status = chat.StatusOffline
		}
	}
}

func (s *Server) widgetQueue(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := currentVisitor(c)
	conv, err := s.conversationFor(ctx, actor{visitor: v}, id)
	if err != nil {
		return err
	}
	out := routing.QueuePosition{ConversationID: conv.ID}
	if s.cfg.Routing != nil && conv.AssigneeID == nil && conv.Status == chat.ConvOpen {
		positions, err := s.cfg.Routing.Positions(ctx, conv.WorkspaceID)
		if err != nil {
			return err
		}
		for _, p := range positions {
			if p.ConversationID == conv.ID {
				out = p
			}
		}
	}
	return c.JSON(http.StatusOK, out)
}
