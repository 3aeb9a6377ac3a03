package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// testEnv returns a getenv for a fresh data dir, on the real services when
// the test environment names them.
func testEnv(t *testing.T, extra map[string]string) func(string) string {
	env := map[string]string{"SWITCHBOARD_DATA_DIR": t.TempDir(), "SWITCHBOARD_ADDR": "127.0.0.1:0", "SWITCHBOARD_LOG_LEVEL": "warn"}
	if u := storetest.URL(t); u != "" { // a fresh schema on the real PostgreSQL
		env["SWITCHBOARD_DATABASE_URL"] = u
	}
	if u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL"); u != "" {
		env["SWITCHBOARD_REDIS_URL"] = u
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

func TestHelpListsEverySetting(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, testEnv(t, nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(out.String(), s.env) || !strings.Contains(out.String(), "--"+s.flag) {
			t.Errorf("--help does not list %s / --%s", s.env, s.flag)
		}
	}
}

// TestDeploymentDocListsEverySetting: docs/deployment.md promises to list
// every setting; each needs a row "| `ENV` | `--flag` | default | help |"
// with the flag and default of the settings table.
func TestDeploymentDocListsEverySetting(t *testing.T) {
	doc, err := os.ReadFile("../../docs/deployment.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{} // env var -> cells
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(line, "| `SWITCHBOARD_") {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[strings.Trim(cells[1], "`")] = cells[1:]
	}
	for _, s := range settings {
		row, ok := rows[s.env]
		if !ok {
			t.Errorf("docs/deployment.md has no settings row for %s", s.env)
			continue
		}
		if want := "`--" + s.flag + "`"; row[1] != want {
			t.Errorf("docs/deployment.md: %s: flag %s, want %s", s.env, row[1], want)
		}
		want := "`" + s.def + "`"
		if s.def == "" {
			want = "empty"
		}
		if row[2] != want {
			t.Errorf("docs/deployment.md: %s: default %s, want %s", s.env, row[2], want)
		}
	}
	for env := range rows {
		if !slices.ContainsFunc(settings, func(s setting) bool { return s.env == env }) {
			t.Errorf("docs/deployment.md lists %s, which is not a setting", env)
		}
	}
}

func TestInvalidConfigNamesTheSetting(t *testing.T) {
	cases := map[string]string{
		"SWITCHBOARD_DATABASE_URL":     "mysql://x",
		"SWITCHBOARD_REDIS_URL":        "http://nope",
		"SWITCHBOARD_SHUTDOWN_TIMEOUT": "soon",
		"SWITCHBOARD_LOG_LEVEL":        "loud",
		"SWITCHBOARD_PUBLIC_URL":       "chat.example.com",
	}
	for key, val := range cases {
		err := run(context.Background(), []string{"serve"}, testEnv(t, map[string]string{key: val}), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: got %v, want an error naming %s", key, val, err, key)
		}
	}
	// Flags override the environment and are validated the same way.
	err := run(context.Background(), []string{"serve", "--log-level", "shout"}, testEnv(t, nil), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_LOG_LEVEL") {
		t.Errorf("bad flag: %v", err)
	}
}

func TestMigrateAndCreateAgent(t *testing.T) {
	ctx := context.Background()
	getenv := testEnv(t, nil)
	var out bytes.Buffer
	if err := run(ctx, []string{"migrate", "up"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "status"}, getenv, nil, &out, io.Discard); err != nil {
		t.Fatalf("migrate status: %v", err)
	}
	if !strings.Contains(out.String(), "00001") {
		t.Fatalf("status does not list the first migration:\n%s", out.String())
	}
	// Password from standard input, as a script would pipe it.
	out.Reset()
	email := fmt.Sprintf("ops%d@example.com", time.Now().UnixNano())
	err := run(ctx, []string{"admin", "create-agent", "--email", email, "--name", "Ops", "--role", "admin"}, getenv,
		strings.NewReader("a long enough password\n"), &out, io.Discard)
	if err != nil {
		t.Fatalf("create-agent: %v", err)
	}
	if !strings.Contains(out.String(), "created admin Ops") {
		t.Fatalf("create-agent said: %s", out.String())
	}
	// Same email again: a clear conflict, not a second agent.
	err = run(ctx, []string{"admin", "create-agent", "--email", email, "--name", "Ops", "--role", "admin"}, getenv,
		strings.NewReader("a long enough password\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "conflict") {
		t.Fatalf("duplicate create-agent: %v", err)
	}
	// Too short a password is refused.
	err = run(ctx, []string{"admin", "create-agent", "--email", "x" + email, "--name", "X", "--role", "agent"}, getenv,
		strings.NewReader("short\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("short password: %v", err)
	}
}

// TestServeDemoEndToEnd starts the real binary's serve command, logs in with
// the printed demo credentials, chats through both websockets, and checks
// that shutdown drains the sockets with "going away".
func TestServeDemoEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"serve", "--demo"}, testEnv(t, nil), nil, stdout, io.Discard) }()

	var base, password string
	addrRe := regexp.MustCompile(`running on (http://\S+)`)
	passRe := regexp.MustCompile(`password: (\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if time.Now().After(deadline) {
			t.Fatalf("server did not start; stdout:\n%s", stdout.String())
		}
		select {
		case err := <-errc:
			t.Fatalf("serve exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if m := addrRe.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			password = passRe.FindStringSubmatch(stdout.String())[1]
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/widget.js", "/", "/demo"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
	}

	// Visitor on the demo site.
	resp, err := http.Post(base+"/api/v1/widget/sessions", "application/json", strings.NewReader(`{"site":"demo"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if sess.Token == "" {
		t.Fatalf("no visitor token (status %d)", resp.StatusCode)
	}
	wsBase := "ws" + strings.TrimPrefix(base, "http")
	vc, _, err := websocket.Dial(ctx, wsBase+"/api/v1/widget/ws", &websocket.DialOptions{Subprotocols: []string{"switchboard.v1", "bearer." + sess.Token}})
	if err != nil {
		t.Fatal(err)
	}
	readType := func(c *websocket.Conn, want string) map[string]any {
		t.Helper()
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		for {
			_, data, err := c.Read(rctx)
			if err != nil {
				t.Fatalf("waiting for %s: %v", want, err)
			}
			var f map[string]any
			json.Unmarshal(data, &f)
			if f["type"] == want {
				return f
			}
		}
	}
	readType(vc, "hello")

	// Agent: log in with the printed credentials and connect.
	loginBody := fmt.Sprintf(`{"email":"admin@demo.switchboard.local","password":%q}`, password)
	req, _ := http.NewRequest("POST", base+"/api/v1/auth/login", strings.NewReader(loginBody))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login with the demo credentials: %d", resp.StatusCode)
	}
	// The job dashboard is for admins only.
	if resp, err := http.Get(base + "/admin/queues"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("job dashboard without a session: %v %v", err, resp)
	}
	qreq, _ := http.NewRequest("GET", base+"/admin/queues", nil)
	qreq.Header.Set("Cookie", resp.Header.Get("Set-Cookie"))
	if qresp, err := http.DefaultClient.Do(qreq); err != nil || qresp.StatusCode != 200 {
		t.Fatalf("job dashboard for the admin: %v %v", err, qresp)
	}
	qreq, _ = http.NewRequest("POST", base+"/admin/queues/api/queues/default:pause", nil)
	qreq.Header.Set("Cookie", resp.Header.Get("Set-Cookie"))
	qreq.Header.Set("Origin", "https://evil.example")
	if qresp, err := http.DefaultClient.Do(qreq); err != nil || qresp.StatusCode != 403 {
		t.Fatalf("cross-origin write to the job dashboard: %v %v", err, qresp)
	}
	ac, _, err := websocket.Dial(ctx, wsBase+"/api/v1/agent/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Cookie": {resp.Header.Get("Set-Cookie")}, "Origin": {base}}})
	if err != nil {
		t.Fatal(err)
	}
	readType(ac, "hello")

	vc.Write(ctx, websocket.MessageText, []byte(`{"type":"send","id":"1","client_id":"demo-1","body":"hello from the demo"}`))
	if f := readType(ac, "message"); f["message"].(map[string]any)["body"] != "hello from the demo" {
		t.Fatalf("agent got %v", f)
	}

	// Graceful shutdown: clients are told to go away; serve returns nil.
	cancel()
	for _, c := range []*websocket.Conn{vc, ac} {
		rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		for err == nil {
			_, _, err = c.Read(rctx)
		}
		rcancel()
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("on shutdown the client got %v, want going away", err)
		}
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}
