package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
)

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (c *client) expectError(method, path string, body any, status int, code string) {
	c.e.t.Helper()
	var out apiError
	st, raw := c.do(method, path, body, &out)
	if st != status || out.Error.Code != code {
		c.e.t.Fatalf("%s %s: got %d %s, want %d %s", method, path, st, raw, status, code)
	}
	if out.Error.Message == "" {
		c.e.t.Fatalf("%s %s: error without a message", method, path)
	}
}

func TestRESTBadInput(t *testing.T) {
	e := newEnv(t)
	agent := e.loginAgent(e.admin.Email, e.password)
	visitor, _ := e.newVisitor(e.site)
	other, _ := e.newVisitor(e.site)

	// The visitor starts a conversation over REST.
	var conv struct {
		ID int64 `json:"id"`
	}
	if st, body := visitor.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "conv-1"}, &conv); st != 201 {
		t.Fatalf("create conversation: %d %s", st, body)
	}
	msgPath := fmt.Sprintf("/api/v1/widget/conversations/%d/messages", conv.ID)

	t.Run("malformed JSON", func(t *testing.T) {
		visitor.expectError("POST", msgPath, `{"client_id": "a", "body": `, 400, chat.EINVALID)
		agent.expectError("POST", "/api/v1/auth/login", `not json`, 400, chat.EINVALID)
	})
	t.Run("missing fields", func(t *testing.T) {
		visitor.expectError("POST", msgPath, map[string]string{"body": "no client id"}, 400, chat.EINVALID)
		visitor.expectError("POST", msgPath, map[string]string{"client_id": "x"}, 400, chat.EINVALID)
	})
	t.Run("oversized body", func(t *testing.T) {
		huge := `{"client_id":"big","body":"` + strings.Repeat("a", 2<<20) + `"}`
		visitor.expectError("POST", msgPath, huge, 413, chat.ETOOLARGE)
		long := map[string]string{"client_id": "long", "body": strings.Repeat("é", chat.MaxBodyLen+1)}
		visitor.expectError("POST", msgPath, long, 413, chat.ETOOLARGE)
	})
	t.Run("bad tokens", func(t *testing.T) {
		bad := e.client()
		bad.auth = "Bearer sbv_not-a-real-token"
		bad.expectError("GET", "/api/v1/widget/conversations", nil, 401, chat.EUNAUTHORIZED)
		bad.auth = "Bearer sbk_not-a-real-token"
		bad.expectError("GET", "/api/v1/conversations", nil, 401, chat.EUNAUTHORIZED)
		e.client().expectError("GET", "/api/v1/me", nil, 401, chat.EUNAUTHORIZED)
		e.client().expectError("POST", "/api/v1/widget/sessions", map[string]string{"site": "no-such-site"}, 404, chat.ENOTFOUND)
	})
	t.Run("wrong password", func(t *testing.T) {
		e.client().expectError("POST", "/api/v1/auth/login", map[string]string{"email": e.admin.Email, "password": "wrong password"}, 401, chat.EUNAUTHORIZED)
	})
	t.Run("another visitor's conversation is not found", func(t *testing.T) {
		other.expectError("GET", fmt.Sprintf("/api/v1/widget/conversations/%d", conv.ID), nil, 404, chat.ENOTFOUND)
		other.expectError("GET", msgPath+"?after_seq=0", nil, 404, chat.ENOTFOUND)
		other.expectError("POST", msgPath, map[string]string{"client_id": "steal", "body": "hi"}, 404, chat.ENOTFOUND)
		other.expectError("GET", "/api/v1/widget/conversations/999999", nil, 404, chat.ENOTFOUND)
	})
	t.Run("another workspace's objects are not found", func(t *testing.T) {
		_, _, stranger := e.seedWorkspace("Globex", "another good password")
		s := e.loginAgent(stranger.Email, "another good password")
		s.expectError("GET", fmt.Sprintf("/api/v1/conversations/%d", conv.ID), nil, 404, chat.ENOTFOUND)
		s.expectError("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), nil, 404, chat.ENOTFOUND)
		s.expectError("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), map[string]string{"client_id": "x", "body": "hi"}, 404, chat.ENOTFOUND)
		s.expectError("POST", fmt.Sprintf("/api/v1/conversations/%d/close", conv.ID), nil, 404, chat.ENOTFOUND)
		s.expectError("GET", fmt.Sprintf("/api/v1/visitors/%d", conv.ID), nil, 404, chat.ENOTFOUND)
		// Assigning to an agent of another workspace is refused too.
		agent.expectError("POST", fmt.Sprintf("/api/v1/conversations/%d/assign", conv.ID), map[string]any{"assignee_id": stranger.ID}, 404, chat.ENOTFOUND)
		var page struct {
			Conversations []struct{ ID int64 } `json:"conversations"`
		}
		s.do("GET", "/api/v1/conversations", nil, &page)
		if len(page.Conversations) != 0 {
			t.Fatalf("stranger sees %d conversations", len(page.Conversations))
		}
	})
	t.Run("duplicate client id returns the stored message", func(t *testing.T) {
		var first, second chat.Message
		st1, _ := visitor.do("POST", msgPath, map[string]string{"client_id": "dup", "body": "once"}, &first)
		st2, _ := visitor.do("POST", msgPath, map[string]string{"client_id": "dup", "body": "once"}, &second)
		if st1 != 201 || st2 != 200 || first.ID != second.ID || first.Seq != second.Seq {
			t.Fatalf("duplicate send: %d %+v then %d %+v", st1, first, st2, second)
		}
		var hist struct {
			Messages []chat.Message `json:"messages"`
		}
		visitor.do("GET", msgPath, nil, &hist)
		n := 0
		for _, m := range hist.Messages {
			if m.ClientID == "dup" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d rows for one client id", n)
		}
	})
	t.Run("CSRF and origin on cookie writes", func(t *testing.T) {
		noCSRF := *agent
		noCSRF.csrf = ""
		noCSRF.expectError("POST", fmt.Sprintf("/api/v1/conversations/%d/close", conv.ID), nil, 403, chat.EFORBIDDEN)
		req, _ := http.NewRequest("POST", e.URL+fmt.Sprintf("/api/v1/conversations/%d/close", conv.ID), nil)
		req.Header.Set("X-CSRF-Token", agent.csrf)
		req.Header.Set("Origin", "https://evil.example")
		resp, err := agent.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("foreign origin write: %d", resp.StatusCode)
		}
	})
	t.Run("bad paging parameters", func(t *testing.T) {
		visitor.expectError("GET", msgPath+"?after_seq=-1", nil, 400, chat.EINVALID)
		visitor.expectError("GET", msgPath+"?limit=100000", nil, 400, chat.EINVALID)
		agent.expectError("GET", "/api/v1/conversations?status=weird", nil, 400, chat.EINVALID)
		agent.expectError("GET", "/api/v1/conversations?assignee=someone", nil, 400, chat.EINVALID)
	})
	t.Run("unknown API route", func(t *testing.T) {
		agent.expectError("GET", "/api/v1/nope", nil, 404, chat.ENOTFOUND)
	})
}

func TestLoginLockout(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for i := 0; i < 10; i++ {
		c.expectError("POST", "/api/v1/auth/login", map[string]string{"email": e.admin.Email, "password": "nope nope"}, 401, chat.EUNAUTHORIZED)
	}
	// Locked now, even with the right password.
	c.expectError("POST", "/api/v1/auth/login", map[string]string{"email": e.admin.Email, "password": e.password}, 423, chat.ELOCKED)
}

func TestWebsocketBadInput(t *testing.T) {
	e := newEnv(t)
	agentHTTP := e.loginAgent(e.admin.Email, e.password)
	_, vs := e.newVisitor(e.site)
	_, otherVS := e.newVisitor(e.site)

	t.Run("foreign origin on the agent endpoint is 403", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, wsURL(e.URL, "/api/v1/agent/ws"), &websocket.DialOptions{
			HTTPClient: agentHTTP.hc, HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
		if err == nil || resp == nil || resp.StatusCode != 403 {
			t.Fatalf("want 403, got err=%v resp=%v", err, resp)
		}
	})
	t.Run("agent endpoint without credentials is 401", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, wsURL(e.URL, "/api/v1/agent/ws"), nil)
		if err == nil || resp == nil || resp.StatusCode != 401 {
			t.Fatalf("want 401, got err=%v resp=%v", err, resp)
		}
	})
	t.Run("bad visitor token closes the socket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w, _, err := dialWS(t, ctx, wsURL(e.URL, "/api/v1/widget/ws"), nil)
		if err != nil {
			t.Fatal(err)
		}
		w.send(map[string]any{"type": "auth", "token": "sbv_forged"})
		if f := w.expect("error"); f.Code != chat.EUNAUTHORIZED {
			t.Fatalf("got %s", f.Raw)
		}
		<-w.done
		if websocket.CloseStatus(w.err) != websocket.StatusPolicyViolation {
			t.Fatalf("close status %v", w.err)
		}
	})
	t.Run("token in the subprotocol header", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w, _, err := dialWS(t, ctx, wsURL(e.URL, "/api/v1/widget/ws"), &websocket.DialOptions{Subprotocols: []string{"switchboard.v1", "bearer." + vs.Token}})
		if err != nil {
			t.Fatal(err)
		}
		defer w.close()
		if w.conn.Subprotocol() != "switchboard.v1" {
			t.Fatalf("negotiated %q", w.conn.Subprotocol())
		}
		w.expect("hello")
	})

	v := e.visitorWS(vs.Token)
	defer v.close()
	v.send(map[string]any{"type": "send", "id": "s", "client_id": "a", "body": "hello"})
	convID := v.expect("ack").Message.ConversationID

	t.Run("hostile frames get error frames and the connection survives", func(t *testing.T) {
		cases := []struct {
			frame string
			code  string
		}{
			{`{"type": "send", "id": "1"`, chat.EINVALID},               // malformed JSON
			{`{"type": "explode", "id": "2"}`, chat.EINVALID},           // unknown type
			{`{"id": "3"}`, chat.EINVALID},                              // no type
			{`{"type": "send", "id": "4", "body": "x"}`, chat.EINVALID}, // no client id
			{`{"type": "send", "id": "5", "conversation_id": 999999, "client_id": "z", "body": "x"}`, chat.ENOTFOUND},
			{`{"type": "send", "id": "6", "conversation_id": ` + fmt.Sprint(convID) + `, "client_id": "n", "body": "x", "private": true}`, chat.EFORBIDDEN},
			{`{"type": "presence", "id": "7", "status": "online"}`, chat.EFORBIDDEN},
			{`{"type": "resume", "id": "8", "conversations": [{"conversation_id": 999999, "last_seq": 0}]}`, chat.ENOTFOUND},
			{`{"type": "read", "id": "9", "conversation_id": ` + fmt.Sprint(convID) + `, "seq": 99}`, chat.EINVALID},
			{`{"type": "auth", "id": "10", "token": "x"}`, chat.EINVALID},
		}
		for _, c := range cases {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := v.conn.Write(ctx, websocket.MessageText, []byte(c.frame)); err != nil {
				t.Fatal(err)
			}
			cancel()
			f := v.expect("error")
			if f.Code != c.code {
				t.Fatalf("frame %s: got %s, want code %s", c.frame, f.Raw, c.code)
			}
		}
		v.send(map[string]any{"type": "ping", "id": "still-alive"})
		if f := v.expect("pong"); f.ID != "still-alive" {
			t.Fatalf("pong %s", f.Raw)
		}
	})
	t.Run("another visitor cannot use the conversation over the socket", func(t *testing.T) {
		o := e.visitorWS(otherVS.Token)
		defer o.close()
		o.send(map[string]any{"type": "send", "id": "x", "conversation_id": convID, "client_id": "steal", "body": "hi"})
		if f := o.expect("error"); f.Code != chat.ENOTFOUND {
			t.Fatalf("got %s", f.Raw)
		}
		o.send(map[string]any{"type": "resume", "id": "y", "conversations": []map[string]int64{{"conversation_id": convID, "last_seq": 0}}})
		if f := o.next("error", "message"); f.Type != "error" || f.Code != chat.ENOTFOUND {
			t.Fatalf("resume of a foreign conversation: %s", f.Raw)
		}
	})
	t.Run("oversized frame closes with 1009", func(t *testing.T) {
		o := e.visitorWS(otherVS.Token)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		big := `{"type":"send","client_id":"big","body":"` + strings.Repeat("x", 100<<10) + `"}`
		_ = o.conn.Write(ctx, websocket.MessageText, []byte(big))
		<-o.done
		if websocket.CloseStatus(o.err) != websocket.StatusMessageTooBig {
			t.Fatalf("close: %v", o.err)
		}
	})
	t.Run("frame flood is rate limited, then disconnected", func(t *testing.T) {
		o := e.visitorWS(otherVS.Token)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Over the burst: error frames, but the connection stays.
		for i := 0; i < 45; i++ {
			o.send(map[string]any{"type": "ping"})
		}
		if f := o.expect("error"); f.Code != chat.ERATELIMIT {
			t.Fatalf("got %s", f.Raw)
		}
		// Keep flooding: disconnected.
		for i := 0; i < 500; i++ {
			if err := o.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
				break
			}
		}
		select {
		case <-o.done:
		case <-ctx.Done():
			t.Fatal("flooding client was never disconnected")
		}
		// The server closes with 1008; a client still writing may see the
		// TCP reset before the close frame.
		var ce websocket.CloseError
		if o.err == nil || (errors.As(o.err, &ce) && ce.Code != websocket.StatusPolicyViolation) {
			t.Fatalf("close: %v", o.err)
		}
	})
}

// TestOpenAPICoversEveryRoute fails when a registered /api/v1 route is
// missing from the OpenAPI document, or the document lists a route that
// does not exist.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if st, body := e.client().do("GET", "/api/v1/openapi.json", nil, &doc); st != 200 {
		t.Fatalf("openapi: %d %s", st, body)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	registered := map[string]bool{}
	for _, r := range e.srv.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || strings.HasPrefix(r.Method, "echo_") {
			continue
		}
		p := api.EchoPathToOpenAPI(r.Path)
		key := strings.ToLower(r.Method) + " " + p
		registered[key] = true
		if _, ok := doc.Paths[p][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s is missing from the OpenAPI document", r.Method, p)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if !registered[m+" "+p] {
				t.Errorf("OpenAPI documents %s %s, which is not a route", m, p)
			}
		}
	}
}
