package api

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v5"
)

// apiOp documents one REST operation. The OpenAPI document is built from
// this table; a test fails when a registered route is missing from it.
type apiOp struct {
	Method, Path, Summary, Auth string // Auth: "", "visitor", "agent"
	Body                        map[string]any
	Status                      string // success status, default "200"
}

func obj(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

var (
	str   = map[string]any{"type": "string"}
	i64   = map[string]any{"type": "integer", "format": "int64"}
	boo   = map[string]any{"type": "boolean"}
	ids   = map[string]any{"type": "array", "items": i64}
	strs  = map[string]any{"type": "array", "items": str}
	sendB = obj(map[string]any{"client_id": str, "body": str, "attachment_ids": ids, "private": boo}, "client_id")
)

var apiOps = []apiOp{
	{"GET", "/api/v1/openapi.json", "This document", "", nil, ""},
	{"POST", "/api/v1/auth/login", "Log an agent in (sets the sb_session cookie, returns the CSRF token)", "", obj(map[string]any{"email": str, "password": str}, "email", "password"), ""},
	{"POST", "/api/v1/auth/logout", "Log out (needs X-CSRF-Token)", "", nil, "204"},
	{"POST", "/api/v1/auth/set-password", "Set a password with a one-time token", "", obj(map[string]any{"token": str, "password": str}, "token", "password"), ""},
	{"POST", "/api/v1/widget/sessions", "Get a visitor bearer token scoped to one site", "", obj(map[string]any{"site": str, "token": str, "page": str, "locale": str}, "site"), "201"},
	{"GET", "/api/v1/widget/ws", "Visitor websocket (see docs/protocol.md)", "", nil, "101"},
	{"GET", "/api/v1/widget/conversations", "The visitor's conversations", "visitor", nil, ""},
	{"POST", "/api/v1/widget/conversations", "Start a conversation (idempotent by client_id)", "visitor", obj(map[string]any{"client_id": str}, "client_id"), "201"},
	{"GET", "/api/v1/widget/conversations/{id}", "One of the visitor's conversations", "visitor", nil, ""},
	{"GET", "/api/v1/widget/conversations/{id}/messages", "Messages after after_seq, in seq order (notes excluded)", "visitor", nil, ""},
	{"POST", "/api/v1/widget/conversations/{id}/messages", "Send as the visitor (idempotent by client_id)", "visitor", sendB, "201"},
	{"POST", "/api/v1/widget/conversations/{id}/read", "Mark read up to seq", "visitor", obj(map[string]any{"seq": i64}, "seq"), "204"},
	{"POST", "/api/v1/widget/conversations/{id}/attachments", "Upload a file (multipart field \"file\")", "visitor", nil, "201"},
	{"GET", "/api/v1/widget/attachments/{id}", "Download an attachment", "visitor", nil, ""},
	{"GET", "/api/v1/widget/conversations/{id}/queue", "The conversation's place in the queue and the estimated wait", "visitor", nil, ""},
	{"GET", "/api/v1/widget/availability", "Whether live chat is offered now (agents online, business hours)", "visitor", nil, ""},
	{"POST", "/api/v1/widget/identify", "Identify the visitor as a user of the site; hash = hex HMAC-SHA256(id, identity secret). May return a new token.", "visitor",
		obj(map[string]any{"id": str, "email": str, "name": str, "attributes": map[string]any{"type": "object", "additionalProperties": str}, "hash": str}, "id"), ""},
	{"PATCH", "/api/v1/widget/visitor", "Update the visitor's name, email, locale and attributes", "visitor",
		obj(map[string]any{"name": str, "email": str, "locale": str, "attributes": map[string]any{"type": "object", "additionalProperties": str}}), ""},
	{"POST", "/api/v1/widget/conversations/{id}/rating", "Rate a closed conversation", "visitor", obj(map[string]any{"score": map[string]any{"type": "integer", "minimum": 1, "maximum": 5}, "comment": str}, "score"), ""},
	{"POST", "/api/v1/widget/conversations/{id}/transcript", "Email me this conversation", "visitor", obj(map[string]any{"email": str}, "email"), "202"},
	{"GET", "/api/v1/agent/ws", "Agent websocket (see docs/protocol.md)", "agent", nil, "101"},
	{"GET", "/api/v1/me", "The logged-in agent and the session's CSRF token", "agent", nil, ""},
	{"PUT", "/api/v1/me/status", "Set my status", "agent", obj(map[string]any{"status": map[string]any{"type": "string", "enum": []string{"online", "away", "offline"}}}, "status"), "204"},
	{"GET", "/api/v1/agents", "Agents of the workspace", "agent", nil, ""},
	{"GET", "/api/v1/conversations", "Inbox: filter by status, assignee (me|none|any|id), team (mine|none|id), site, label, priority, from/to (RFC 3339, created_at; to exclusive), q; cursor paging", "agent", nil, ""},
	{"GET", "/api/v1/conversations/{id}", "A conversation with its visitor and read markers", "agent", nil, ""},
	{"GET", "/api/v1/conversations/{id}/messages", "Messages after after_seq, in seq order (notes included)", "agent", nil, ""},
	{"POST", "/api/v1/conversations/{id}/messages", "Reply, or a private note with private=true (idempotent by client_id)", "agent", sendB, "201"},
	{"POST", "/api/v1/conversations/{id}/notes", "Private note; each agent in mentions gets a mention frame", "agent",
		obj(map[string]any{"client_id": str, "body": str, "attachment_ids": ids, "mentions": ids}, "client_id"), "201"},
	{"POST", "/api/v1/conversations/{id}/assign", "Assign to an agent and/or team (null unassigns); a note is stored as a private note", "agent", obj(map[string]any{"assignee_id": i64, "team_id": i64, "note": str}), ""},
	{"POST", "/api/v1/conversations/{id}/close", "Close", "agent", nil, ""},
	{"POST", "/api/v1/conversations/{id}/reopen", "Reopen", "agent", nil, ""},
	{"PUT", "/api/v1/conversations/{id}/labels", "Replace the labels", "agent", obj(map[string]any{"labels": strs}, "labels"), ""},
	{"PUT", "/api/v1/conversations/{id}/priority", "Set the priority", "agent", obj(map[string]any{"priority": map[string]any{"type": "string", "enum": []string{"low", "normal", "high", "urgent"}}}, "priority"), ""},
	{"POST", "/api/v1/conversations/{id}/read", "Mark read up to seq", "agent", obj(map[string]any{"seq": i64}, "seq"), "204"},
	{"POST", "/api/v1/conversations/{id}/attachments", "Upload a file (multipart field \"file\")", "agent", nil, "201"},
	{"GET", "/api/v1/attachments/{id}", "Download an attachment", "agent", nil, ""},
	{"GET", "/api/v1/webhooks", "Webhook endpoints and the events they can subscribe to (admin)", "agent", nil, ""},
	{"POST", "/api/v1/webhooks", "Add a webhook endpoint; the answer holds its signing secret (admin)", "agent", obj(map[string]any{"url": str, "events": strs}, "url"), "201"},
	{"DELETE", "/api/v1/webhooks/{id}", "Remove a webhook endpoint (admin)", "agent", nil, "204"},
	{"GET", "/api/v1/webhooks/{id}/deliveries", "Recent delivery attempts with response codes (admin)", "agent", nil, ""},
	{"GET", "/api/v1/mailbox", "Emails kept locally or sent (admin)", "agent", nil, ""},
	{"GET", "/api/v1/routing", "Routing settings: default policy, team rules, first-response window, offline grace (admin)", "agent", nil, ""},
	{"PUT", "/api/v1/routing", "Replace the routing settings (admin)", "agent", obj(map[string]any{
		"disabled": boo, "policy": map[string]any{"type": "string", "enum": []string{"", "round_robin", "least_busy"}},
		"first_response_seconds": i64, "offline_grace_seconds": i64,
		"rules": map[string]any{"type": "array", "items": obj(map[string]any{"team_id": i64, "site_id": i64, "url_pattern": str, "language": str, "field": str, "value": str}, "team_id")}}), ""},
	{"PUT", "/api/v1/teams/{id}/routing", "A team's policy and whether its queue is drained automatically (admin)", "agent",
		obj(map[string]any{"policy": str, "auto_assign": boo}, "auto_assign"), ""},
	{"POST", "/api/v1/conversations/{id}/export", "Export a conversation as pdf, html, txt or json (timestamps in timezone, default the agent's; notes only with include_notes); answers {export_id}; poll GET /exports/{id}", "agent",
		obj(map[string]any{"format": map[string]any{"type": "string", "enum": []string{"pdf", "html", "txt", "json"}}, "include_notes": boo, "timezone": str}, "format"), "202"},
	{"POST", "/api/v1/conversations/{id}/transcript/email", "Email the visitor's transcript (HTML + text in the visitor's language, never private notes) to email, default the visitor's address; answers {status, email}", "agent",
		obj(map[string]any{"email": str}), "202"},
	{"POST", "/api/v1/exports", "(admin) Bulk export: a ZIP of conversations.json/.csv and messages.jsonl/.csv (plus transcripts/*.pdf with include_pdfs) for every conversation matching filter (inbox parameters: status, assignee, team, site, label, priority, from, to); answers {export_id}", "agent",
		obj(map[string]any{"filter": obj(map[string]any{"status": str, "assignee": str, "team": str, "site": str, "label": str, "priority": str, "from": str, "to": str}),
			"formats": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"json", "csv"}}}, "include_pdfs": boo, "include_notes": boo, "timezone": str}), "202"},
	{"GET", "/api/v1/exports", "My exports, newest first (all=true: everyone's, admins only)", "agent", nil, ""},
	{"GET", "/api/v1/exports/{id}", "An export's status (pending, running, ready, failed), progress 0-100, error; when ready a download_url valid 24 hours", "agent", nil, ""},
	{"GET", "/api/v1/shared/attachments/{id}", "Download an attachment through a signed link from a transcript email (w, e, s query parameters; valid 30 days)", "", nil, ""},
	{"GET", "/api/v1/exports/{id}/download", "Download an export's file with the token from its download_url (no other credential needed; 404 once expired)", "", nil, ""},
	{"GET", "/api/v1/visitors/{id}", "A visitor, their conversations and the pages they visited (newest first, at most 50)", "agent", nil, ""},

	// Agent console (docs/console-api.md).
	{"POST", "/api/v1/auth/forgot", "Email a one-time set-password link (valid 2 hours); 202 whether or not the address has an account", "", obj(map[string]any{"email": str}, "email"), "202"},
	{"PATCH", "/api/v1/me", "Change my name, timezone (IANA) and alert preferences (keys left out keep their value)", "agent",
		obj(map[string]any{"name": str, "timezone": str, "preferences": obj(map[string]any{"notify_queue": boo, "notify_mine": boo, "notify_mention": boo, "sound": boo, "desktop": boo})}), ""},
	{"GET", "/api/v1/conversations/counts", "Inbox view sizes {unassigned, mine, my_teams, all, closed}: open conversations per view, and all closed ones", "agent", nil, ""},
	{"GET", "/api/v1/filters", "My saved inbox filters", "agent", nil, ""},
	{"POST", "/api/v1/filters", "Save an inbox filter; query holds list parameters (status, assignee, team, site, label, priority, from, to, q)", "agent",
		obj(map[string]any{"name": str, "query": map[string]any{"type": "object", "additionalProperties": str}}, "name", "query"), "201"},
	{"DELETE", "/api/v1/filters/{id}", "Delete one of my saved filters", "agent", nil, "204"},
	{"POST", "/api/v1/conversations/{id}/claim", "Assign to me unless someone else has it (409)", "agent", nil, ""},
	{"POST", "/api/v1/conversations/{id}/snooze", "Snooze until a future time (RFC 3339)", "agent", obj(map[string]any{"until": map[string]any{"type": "string", "format": "date-time"}}, "until"), ""},
	{"GET", "/api/v1/sites", "The workspace's sites (identity_secret for admins only)", "agent", nil, ""},
	{"GET", "/api/v1/sites/{id}", "A site (identity_secret for admins only)", "agent", nil, ""},
	{"POST", "/api/v1/sites", "(admin) Create a site", "agent", obj(map[string]any{"name": str, "allowed_origins": strs, "identity_required": boo, "settings": map[string]any{"type": "object"}}, "name"), "201"},
	{"PATCH", "/api/v1/sites/{id}", "(admin) Change a site; settings keys given replace the stored ones", "agent",
		obj(map[string]any{"name": str, "allowed_origins": strs, "identity_required": boo, "settings": map[string]any{"type": "object"}}), ""},
	{"POST", "/api/v1/sites/{id}/rotate-secret", "(admin) New identity-verification secret", "agent", nil, ""},
	{"POST", "/api/v1/agents/invite", "(admin) Invite an agent; answers {agent, invite_url}", "agent",
		obj(map[string]any{"email": str, "name": str, "role": map[string]any{"type": "string", "enum": []string{"admin", "agent"}}, "team_ids": ids, "capacity": map[string]any{"type": "integer"}}, "email", "name"), "201"},
	{"PATCH", "/api/v1/agents/{id}", "(admin) Change an agent; active=false ends their sessions, API tokens and sockets", "agent",
		obj(map[string]any{"name": str, "role": map[string]any{"type": "string", "enum": []string{"admin", "agent"}}, "capacity": map[string]any{"type": "integer"}, "team_ids": ids, "active": boo}), ""},
	{"GET", "/api/v1/teams", "Teams with agent_ids", "agent", nil, ""},
	{"POST", "/api/v1/teams", "(admin) Create a team", "agent", obj(map[string]any{"name": str}, "name"), "201"},
	{"PATCH", "/api/v1/teams/{id}", "(admin) Rename a team", "agent", obj(map[string]any{"name": str}, "name"), ""},
	{"DELETE", "/api/v1/teams/{id}", "(admin) Delete a team", "agent", nil, "204"},
	{"GET", "/api/v1/canned", "Canned responses", "agent", nil, ""},
	{"POST", "/api/v1/canned", "(admin) Create a canned response; shortcut [a-z0-9_-]{1,32}, unique", "agent", obj(map[string]any{"shortcut": str, "title": str, "body": str}, "shortcut", "body"), "201"},
	{"PATCH", "/api/v1/canned/{id}", "(admin) Change a canned response", "agent", obj(map[string]any{"shortcut": str, "title": str, "body": str}), ""},
	{"DELETE", "/api/v1/canned/{id}", "(admin) Delete a canned response", "agent", nil, "204"},
	{"GET", "/api/v1/labels", "The label catalogue", "agent", nil, ""},
	{"POST", "/api/v1/labels", "(admin) Add a label (name lowercased; color #rrggbb)", "agent", obj(map[string]any{"name": str, "color": str}, "name"), "201"},
	{"DELETE", "/api/v1/labels/{id}", "(admin) Remove a label from the catalogue", "agent", nil, "204"},
	{"GET", "/api/v1/tokens", "(admin) API tokens", "agent", nil, ""},
	{"POST", "/api/v1/tokens", "(admin) Create an API token acting as me; answers {token, api_token}, the token shown once", "agent", obj(map[string]any{"name": str}, "name"), "201"},
	{"DELETE", "/api/v1/tokens/{id}", "(admin) Revoke an API token", "agent", nil, "204"},
	{"GET", "/api/v1/workspace", "(admin) Workspace settings", "agent", nil, ""},
	{"PATCH", "/api/v1/workspace", "(admin) Change workspace settings (retention_days 0 = forever, else 7..3650)", "agent", obj(map[string]any{"name": str, "retention_days": map[string]any{"type": "integer"}}), ""},
	{"GET", "/api/v1/audit", "(admin) Recent audit entries, newest first (limit 1..500, default 50)", "agent", nil, ""},
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPIDocument builds the OpenAPI 3 document from apiOps.
func OpenAPIDocument() map[string]any {
	errorSchema := obj(map[string]any{"error": obj(map[string]any{"code": str, "message": str}, "code", "message")}, "error")
	paths := map[string]any{}
	for _, op := range apiOps {
		item, _ := paths[op.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.Path] = item
		}
		status := op.Status
		if status == "" {
			status = "200"
		}
		o := map[string]any{
			"summary":     op.Summary,
			"operationId": strings.ToLower(op.Method) + strings.NewReplacer("/api/v1", "", "/", "_", "{", "", "}", "", ".", "_").Replace(op.Path),
			"responses": map[string]any{
				status:    map[string]any{"description": "success"},
				"default": map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": errorSchema}}},
			},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": i64})
		}
		if strings.HasSuffix(op.Path, "/messages") && op.Method == "GET" {
			params = append(params,
				map[string]any{"name": "after_seq", "in": "query", "schema": i64},
				map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": 500}})
		}
		if op.Path == "/api/v1/conversations" {
			for _, q := range []string{"status", "assignee", "team", "site", "label", "priority", "from", "to", "q", "cursor", "limit"} {
				params = append(params, map[string]any{"name": q, "in": "query", "schema": str})
			}
		}
		if params != nil {
			o["parameters"] = params
		}
		if op.Body != nil {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": op.Body}}}
		}
		switch op.Auth {
		case "visitor":
			o["security"] = []any{map[string]any{"visitorToken": []string{}}}
		case "agent":
			o["security"] = []any{map[string]any{"agentSession": []string{}}, map[string]any{"apiToken": []string{}}}
		}
		item[strings.ToLower(op.Method)] = o
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Switchboard API", "version": "1",
			"description": "Live-chat REST API. Websocket frames and delivery guarantees: docs/protocol.md."},
		"paths": paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"visitorToken": map[string]any{"type": "http", "scheme": "bearer", "description": "from POST /api/v1/widget/sessions"},
			"apiToken":     map[string]any{"type": "http", "scheme": "bearer", "description": "sbk_... API token"},
			"agentSession": map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie, "description": "plus X-CSRF-Token on writes"},
		}},
	}
}

// EchoPathToOpenAPI turns ":id" segments into "{id}".
func EchoPathToOpenAPI(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func (s *Server) openAPI(c *echo.Context) error {
	return c.JSON(http.StatusOK, OpenAPIDocument())
}
