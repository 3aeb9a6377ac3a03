package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-chat/switchboard/api/chat"
)

func (s *Server) listWebhooks(c *echo.Context) error {
	hooks, err := s.store.Webhooks(c.Request().Context(), currentAgent(c).WorkspaceID)
	if err != nil {
		return err
	}
	if hooks == nil {
		hooks = []*chat.Webhook{}
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": hooks, "topics": chat.WebhookTopics})
}

func (s *Server) createWebhook(c *echo.Context) error {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := url.Parse(strings.TrimSpace(in.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(in.URL) > 2048 || u.User != nil {
		return chat.Errorf(chat.EINVALID, "url must be an http(s) URL without credentials")
	}
	for _, e := range in.Events {
		if !slices.Contains(chat.WebhookTopics, e) {
			return chat.Errorf(chat.EINVALID, "unknown event %q (known: %s)", e, strings.Join(chat.WebhookTopics, ", "))
		}
	}
	me := currentAgent(c)
	secret, _ := NewToken("whsec_")
	h := &chat.Webhook{WorkspaceID: me.WorkspaceID, URL: u.String(), Secret: secret, Events: in.Events}
	if err := s.store.CreateWebhook(c.Request().Context(), h); err != nil {
		return err
	}
	s.audit(c, me, "webhook.create", fmt.Sprintf("webhook:%d", h.ID), mustJSON(map[string]any{"url": h.URL, "events": h.Events}))
	return c.JSON(http.StatusCreated, h)
}

func (s *Server) deleteWebhook(c *echo.Context) error {
	return s.auditedDelete(c, "webhook.delete", "webhook", s.store.DeleteWebhook)
}

func (s *Server) webhookDeliveries(c *echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ds, err := s.store.WebhookDeliveries(c.Request().Context(), currentAgent(c).WorkspaceID, id, 100)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []*chat.WebhookDelivery{}
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": ds})
}

// mailbox shows the emails kept locally (no SMTP configured) and the record
// of those sent, so nothing disappears silently.
func (s *Server) mailbox(c *echo.Context) error {
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return chat.Errorf(chat.EINVALID, "limit must be between 1 and 500")
		}
		limit = n
	}
	mails, err := s.store.Mailbox(c.Request().Context(), currentAgent(c).WorkspaceID, limit)
	if err != nil {
		return err
	}
	if mails == nil {
		mails = []*chat.MailboxEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"mails": mails})
}
