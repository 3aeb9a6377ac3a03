package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
)

func (c *client) upload(path, name string, content []byte) (int, []byte) {
	c.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", c.e.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestAttachments(t *testing.T) {
	e := newEnv(t) // uploads are capped at 1 MiB in tests
	agent := e.loginAgent(e.admin.Email, e.password)
	visitor, _ := e.newVisitor(e.site)
	stranger, _ := e.newVisitor(e.site)
	var conv struct{ ID int64 }
	visitor.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c"}, &conv)

	// An HTML file named to look harmless: stored, but only ever served as
	// a download that cannot run.
	payload := []byte("<html><script>alert(1)</script></html>")
	st, body := visitor.upload(fmt.Sprintf("/api/v1/widget/conversations/%d/attachments", conv.ID), `..\..\evil".html`, payload)
	if st != 201 {
		t.Fatalf("upload: %d %s", st, body)
	}
	var att chat.Attachment
	json.Unmarshal(body, &att)
	if strings.ContainsAny(att.Name, `/\"`) {
		t.Fatalf("file name not cleaned: %q", att.Name)
	}
	// Attach it to a message.
	var msg chat.Message
	if st, body := visitor.do("POST", fmt.Sprintf("/api/v1/widget/conversations/%d/messages", conv.ID),
		map[string]any{"client_id": "with-file", "attachment_ids": []int64{att.ID}}, &msg); st != 201 || len(msg.Attachments) != 1 {
		t.Fatalf("message with attachment: %d %s", st, body)
	}

	for name, c := range map[string]*client{"visitor": visitor, "agent": agent} {
		path := fmt.Sprintf("/api/v1/widget/attachments/%d", att.ID)
		if c == agent {
			path = fmt.Sprintf("/api/v1/attachments/%d", att.ID)
		}
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, payload) {
			t.Fatalf("%s download: %d %q", name, resp.StatusCode, got)
		}
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
			t.Fatalf("%s: Content-Disposition %q", name, cd)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: no nosniff", name)
		}
		if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "html") && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("%s: HTML served without a sandbox CSP", name)
		}
	}
	// Another visitor can neither download it nor attach it.
	stranger.expectError("GET", fmt.Sprintf("/api/v1/widget/attachments/%d", att.ID), nil, 404, chat.ENOTFOUND)
	var own struct{ ID int64 }
	stranger.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "s"}, &own)
	stranger.expectError("POST", fmt.Sprintf("/api/v1/widget/conversations/%d/messages", own.ID),
		map[string]any{"client_id": "steal", "attachment_ids": []int64{att.ID}}, 400, chat.EINVALID)
	stranger.expectError("POST", fmt.Sprintf("/api/v1/widget/conversations/%d/attachments", conv.ID), "x", 404, chat.ENOTFOUND)

	// Over the limit: a clear 413.
	st, body = visitor.upload(fmt.Sprintf("/api/v1/widget/conversations/%d/attachments", conv.ID), "big.bin", bytes.Repeat([]byte{1}, 2<<20))
	if st != 413 || !strings.Contains(string(body), chat.ETOOLARGE) {
		t.Fatalf("oversized upload: %d %s", st, body)
	}
}

// TestAPIToken: scripts authenticate with a bearer API token on REST and on
// the agent websocket, without cookies or CSRF tokens.
func TestAPIToken(t *testing.T) {
	e := newEnv(t)
	token, hash := api.NewToken("sbk_")
	if err := e.db.CreateAPIToken(context.Background(), &chat.APIToken{WorkspaceID: e.ws.ID, AgentID: e.admin.ID, Name: "ci"}, hash); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.auth = "Bearer " + token
	var me struct{ Agent chat.Agent }
	if st, body := c.do("GET", "/api/v1/me", nil, &me); st != 200 || me.Agent.ID != e.admin.ID {
		t.Fatalf("me with API token: %d %s", st, body)
	}
	visitor, _ := e.newVisitor(e.site)
	var conv struct{ ID int64 }
	visitor.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c"}, &conv)
	if st, body := c.do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), map[string]string{"client_id": "api-1", "body": "from a script"}, nil); st != 201 {
		t.Fatalf("reply with API token: %d %s", st, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// No Origin needed: this is not a browser.
	w, _, err := dialWS(t, ctx, wsURL(e.URL, "/api/v1/agent/ws"), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.expect("hello")
}

// TestSetPasswordLink: the one-time link printed by `admin create-agent`
// sets a password once, then is spent.
func TestSetPasswordLink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := &chat.Agent{WorkspaceID: e.ws.ID, Email: "new@acme.test", Name: "New", Role: chat.RoleAgent, Status: chat.StatusOffline, Capacity: 3, Active: true}
	if err := e.db.CreateAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	token, hash := api.NewToken("sbp_")
	if err := e.db.CreateSetPasswordToken(ctx, a.ID, hash, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.expectError("POST", "/api/v1/auth/set-password", map[string]string{"token": token, "password": "short"}, 400, chat.EINVALID)
	if st, body := c.do("POST", "/api/v1/auth/set-password", map[string]string{"token": token, "password": "a brand new password"}, nil); st != 200 {
		t.Fatalf("set password: %d %s", st, body)
	}
	c.expectError("POST", "/api/v1/auth/set-password", map[string]string{"token": token, "password": "another new password"}, 401, chat.EUNAUTHORIZED)
	e.loginAgent("new@acme.test", "a brand new password")
}
