package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// env is a running server on a fresh store, with one workspace seeded.
type env struct {
	t        testing.TB
	URL      string
	srv      *api.Server
	hub      *realtime.Hub
	http     *httptest.Server
	db       *store.DB
	ws       *chat.Workspace
	site     *chat.Site
	admin    *chat.Agent
	password string
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newEnv starts the real server in-process. With SWITCHBOARD_TEST_REDIS_URL
// set, events go through Redis pub/sub exactly as between nodes.
func newEnv(t testing.TB) *env { return newEnvWith(t, api.Config{}) }

func newEnvWith(t testing.TB, cfg api.Config) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	var broker realtime.Broker = realtime.NewMemoryBroker()
	if u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		client := redis.NewClient(opt)
		t.Cleanup(func() { client.Close() })
		broker = realtime.NewRedisBroker(client, fmt.Sprintf("sbtest%d:", time.Now().UnixNano()))
	}
	hub, err := realtime.NewHub(ctx, broker, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	cfg.MaxUploadBytes = 1 << 20
	srv := api.New(cfg, db, store.NewDiskBlobs(t.TempDir()), hub)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		hs.Close()
	})
	e := &env{t: t, URL: hs.URL, srv: srv, hub: hub, http: hs, db: db, password: "correct horse battery"}
	e.ws, e.site, e.admin = e.seedWorkspace("Acme", e.password)
	return e
}

var seq atomic.Int64

// seedWorkspace creates a workspace with a site and an admin.
func (e *env) seedWorkspace(name, password string) (*chat.Workspace, *chat.Site, *chat.Agent) {
	e.t.Helper()
	ctx := context.Background()
	ws, err := e.db.CreateWorkspace(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	n := seq.Add(1)
	site := &chat.Site{WorkspaceID: ws.ID, Name: name + " site", PublicKey: fmt.Sprintf("key%d_%d", n, time.Now().UnixNano())}
	if err := e.db.CreateSite(ctx, site); err != nil {
		e.t.Fatal(err)
	}
	hash, err := api.HashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	admin := &chat.Agent{WorkspaceID: ws.ID, Email: fmt.Sprintf("admin%d@%s.test", n, strings.ToLower(name)), Name: name + " Admin",
		Role: chat.RoleAdmin, Status: chat.StatusOnline, Capacity: 5, Active: true, PasswordHash: hash}
	if err := e.db.CreateAgent(ctx, admin); err != nil {
		e.t.Fatal(err)
	}
	return ws, site, admin
}

// client is an HTTP client with a cookie jar and, after login, the CSRF token.
type client struct {
	e     *env
	hc    *http.Client
	csrf  string
	auth  string    // Authorization header value
	extra [2]string // one more header, for doWithHeader
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// doWithHeader is do with one extra request header.
func (c *client) doWithHeader(method, path string, body any, key, value string) (int, []byte) {
	c.e.t.Helper()
	c.extra = [2]string{key, value}
	defer func() { c.extra = [2]string{} }()
	return c.do(method, path, body, nil)
}

// do sends a request and decodes a JSON answer into out (if non-nil).
func (c *client) do(method, path string, body any, out any) (int, []byte) {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, c.e.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.extra[0] != "" {
		req.Header.Set(c.extra[0], c.extra[1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.e.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, data
}

func (e *env) loginAgent(email, password string) *client {
	e.t.Helper()
	c := e.client()
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	if st, body := c.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, &out); st != 200 {
		e.t.Fatalf("login: %d %s", st, body)
	}
	c.csrf = out.CSRFToken
	return c
}

type visitorSession struct {
	Token   string        `json:"token"`
	Visitor *chat.Visitor `json:"visitor"`
}

func (e *env) newVisitor(site *chat.Site) (*client, visitorSession) {
	e.t.Helper()
	c := e.client()
	var vs visitorSession
	if st, body := c.do("POST", "/api/v1/widget/sessions", map[string]string{"site": site.PublicKey}, &vs); st != 201 {
		e.t.Fatalf("widget session: %d %s", st, body)
	}
	c.auth = "Bearer " + vs.Token
	return c, vs
}

// frame is any server frame.
type frame struct {
	Type           string          `json:"type"`
	ID             string          `json:"id"`
	Code           string          `json:"code"`
	Message        *chat.Message   `json:"-"` // for message and ack frames
	RawMessage     json.RawMessage `json:"message"`
	ConversationID int64           `json:"conversation_id"`
	AfterSeq       int64           `json:"after_seq"`
	Text           string          `json:"-"` // an error frame's message
	Raw            json.RawMessage `json:"-"`
}

// wsClient reads frames in the background into a channel.
type wsClient struct {
	t       testing.TB
	conn    *websocket.Conn
	frames  chan frame
	pending []frame // received but not yet asked for
	done    chan struct{}
	err     error
}

func dialWS(t testing.TB, ctx context.Context, url string, opts *websocket.DialOptions) (*wsClient, *http.Response, error) {
	conn, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(4 << 20)
	w := &wsClient{t: t, conn: conn, frames: make(chan frame, 10000), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				w.err = err
				return
			}
			var f frame
			if err := json.Unmarshal(data, &f); err != nil {
				w.t.Errorf("undecodable server frame %s: %v", data, err)
				continue
			}
			f.Raw = data
			if f.Type == "message" || f.Type == "ack" {
				f.Message = new(chat.Message)
				if err := json.Unmarshal(f.RawMessage, f.Message); err != nil {
					w.t.Errorf("undecodable message in %s: %v", data, err)
					continue
				}
			} else if f.Type == "error" {
				_ = json.Unmarshal(f.RawMessage, &f.Text)
			}
			w.frames <- f
		}
	}()
	return w, resp, nil
}

func wsURL(httpURL, path string) string { return "ws" + strings.TrimPrefix(httpURL, "http") + path }

// visitorWS connects a visitor, authenticating with the first frame.
func (e *env) visitorWS(token string) *wsClient { e.t.Helper(); return e.visitorWSQuery(token, "") }

// visitorWSQuery connects with a query string, e.g. "resume=12:40".
func (e *env) visitorWSQuery(token, query string) *wsClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := wsURL(e.URL, "/api/v1/widget/ws")
	if query != "" {
		u += "?" + query
	}
	w, _, err := dialWS(e.t, ctx, u, nil)
	if err != nil {
		e.t.Fatalf("visitor ws: %v", err)
	}
	w.send(map[string]any{"type": "auth", "token": token})
	w.expect("hello")
	return w
}

// agentWS connects an agent with the session cookie from c.
func (e *env) agentWS(c *client) *wsClient {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{"Origin": {e.URL}}
	w, resp, err := dialWS(e.t, ctx, wsURL(e.URL, "/api/v1/agent/ws"), &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: h})
	if err != nil {
		st := 0
		if resp != nil {
			st = resp.StatusCode
		}
		e.t.Fatalf("agent ws: %v (status %d)", err, st)
	}
	w.expect("hello")
	return w
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	data, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.conn.Write(ctx, websocket.MessageText, data); err != nil {
		w.t.Fatalf("ws write: %v", err)
	}
}

// next returns the oldest frame of one of the given types; frames of other
// types stay queued for later calls.
func (w *wsClient) next(types ...string) frame {
	w.t.Helper()
	match := func(f frame) bool {
		for _, t := range types {
			if f.Type == t {
				return true
			}
		}
		return false
	}
	for i, f := range w.pending {
		if match(f) {
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
			return f
		}
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f := <-w.frames:
			if match(f) {
				return f
			}
			w.pending = append(w.pending, f)
		case <-timeout:
			w.t.Fatalf("timed out waiting for %v (conn err: %v)", types, w.err)
		}
	}
}

func (w *wsClient) expect(t string) frame { w.t.Helper(); return w.next(t) }

func (w *wsClient) close() { w.conn.CloseNow() }
