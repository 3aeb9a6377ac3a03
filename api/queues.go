package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// mountQueues serves the job dashboard (asynqmon, built by cmd) at
// /admin/queues for admins. Its UI cannot send our CSRF header, so writes
// must prove they come from this origin (Origin or Referer); the session
// cookie is SameSite=Lax and never rides on cross-site POSTs either.
func (s *Server) mountQueues(h http.Handler) {
	guard := func(c *echo.Context) error {
		r := c.Request()
		agent, _, err := s.authenticateAgent(r)
		if err != nil {
			return err
		}
		if agent.Role != chat.RoleAdmin {
			return chat.Errorf(chat.EFORBIDDEN, "admins only")
		}
		if !safeMethod(r.Method) && !s.sameOriginStrict(r) {
			return chat.Errorf(chat.EFORBIDDEN, "cross-origin request refused")
		}
		h.ServeHTTP(c.Response(), r)
		return nil
	}
	s.echo.Any("/admin/queues", guard)
	s.echo.Any("/admin/queues/*", guard)
}

// sameOriginStrict requires an Origin or Referer naming this server.
func (s *Server) sameOriginStrict(r *http.Request) bool {
	if r.Header.Get("Origin") != "" {
		return s.sameOrigin(r)
	}
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host == "" {
		return false
	}
	clone := r.Clone(r.Context())
	clone.Header.Set("Origin", ref.Scheme+"://"+ref.Host)
	return s.sameOrigin(clone) && strings.HasPrefix(ref.Path, "/admin/queues")
}
