package api

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
)

func (s *Server) getRouting(c *echo.Context) error {
	rs, err := s.store.RoutingSettings(c.Request().Context(), currentAgent(c).WorkspaceID)
	if err != nil {
		return err
	}
	if rs.Rules == nil {
		rs.Rules = []chat.RoutingRule{}
	}
	return c.JSON(http.StatusOK, rs)
}

func (s *Server) putRouting(c *echo.Context) error {
	var in chat.RoutingSettings
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if len(in.Rules) > 100 {
		return chat.Errorf(chat.EINVALID, "at most 100 rules")
	}
	if in.FirstResponseSeconds > 7*24*3600 || in.OfflineGraceSeconds > 24*3600 {
		return chat.Errorf(chat.EINVALID, "first_response_seconds is at most a week and offline_grace_seconds at most a day")
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	if err := s.store.SetRoutingSettings(ctx, me.WorkspaceID, in); err != nil {
		return err
	}
	s.audit(c, me, "routing.update", fmt.Sprintf("workspace:%d", me.WorkspaceID), mustJSON(in))
	s.capacityChanged(me.WorkspaceID)
	return c.JSON(http.StatusOK, in)
}

func (s *Server) putTeamRouting(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Policy     string `json:"policy"`
		AutoAssign *bool  `json:"auto_assign"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.AutoAssign == nil {
		return chat.Errorf(chat.EINVALID, "auto_assign is required")
	}
	me := currentAgent(c)
	ctx := c.Request().Context()
	if err := s.store.SetTeamRouting(ctx, me.WorkspaceID, id, in.Policy, *in.AutoAssign); err != nil {
		return err
	}
	s.audit(c, me, "team.routing", fmt.Sprintf("team:%d", id), mustJSON(in))
	s.capacityChanged(me.WorkspaceID)
	return c.JSON(http.StatusOK, map[string]any{"team_id": id, "policy": in.Policy, "auto_assign": *in.AutoAssign})
}
