package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// node is one `switchboard serve` process.
type node struct {
	url    string
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout strings.Builder
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startNode(t *testing.T, bin string, env []string, args ...string) *node {
	t.Helper()
	addr := freeAddr(t)
	n := &node{url: "http://" + addr}
	n.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	n.cmd.Env = append(os.Environ(), append(env, "SWITCHBOARD_ADDR="+addr, "SWITCHBOARD_DATA_DIR="+t.TempDir(), "SWITCHBOARD_LOG_LEVEL=warn")...)
	out, _ := n.cmd.StdoutPipe()
	n.cmd.Stderr = os.Stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.cmd.Process.Kill(); n.cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n.mu.Lock()
			n.stdout.WriteString(sc.Text() + "\n")
			n.mu.Unlock()
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(n.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s never became ready", n.url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// buildBinary builds the switchboard command for tests that run it as
// separate processes.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

func (n *node) output() string { n.mu.Lock(); defer n.mu.Unlock(); return n.stdout.String() }

// peer is a websocket client collecting frames.
type peer struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan map[string]any
	done   chan struct{}
}

func dialPeer(t *testing.T, u string, opts *websocket.DialOptions) *peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	p := &peer{t: t, conn: c, frames: make(chan map[string]any, 1000), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var f map[string]any
			if json.Unmarshal(data, &f) == nil {
				p.frames <- f
			}
		}
	}()
	return p
}

func (p *peer) send(v any) {
	p.t.Helper()
	data, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.conn.Write(ctx, websocket.MessageText, data); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// until returns the first frame satisfying ok.
func (p *peer) until(what string, ok func(map[string]any) bool) map[string]any {
	p.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case f := <-p.frames:
			if ok(f) {
				return f
			}
		case <-timeout:
			p.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func isType(t string) func(map[string]any) bool {
	return func(f map[string]any) bool { return f["type"] == t }
}

func msgOf(f map[string]any) (seq int64, body, author string) {
	m, _ := f["message"].(map[string]any)
	if m == nil {
		return 0, "", ""
	}
	s, _ := m["seq"].(float64)
	b, _ := m["body"].(string)
	a, _ := m["author_type"].(string)
	return int64(s), b, a
}

// TestMultiNode runs two `serve` processes on one PostgreSQL and one Redis:
// a visitor on node A and an agent on node B chat in real time, routing
// assigns across nodes, then node A is killed with SIGKILL and the visitor
// resumes on node B with nothing lost or duplicated.
func TestMultiNode(t *testing.T) {
	if os.Getenv("SWITCHBOARD_TEST_DATABASE_URL") == "" || os.Getenv("SWITCHBOARD_TEST_REDIS_URL") == "" {
		t.Skip("needs SWITCHBOARD_TEST_DATABASE_URL and SWITCHBOARD_TEST_REDIS_URL (two processes cannot share the embedded defaults)")
	}
	bin := buildBinary(t)
	redisURL, _ := url.Parse(os.Getenv("SWITCHBOARD_TEST_REDIS_URL"))
	redisURL.Path = "/12" // a database of its own: the nodes' keys have fixed names
	env := []string{
		"SWITCHBOARD_DATABASE_URL=" + storetest.URL(t),
		"SWITCHBOARD_REDIS_URL=" + redisURL.String(),
		"SWITCHBOARD_PRESENCE_TTL=3s",
	}
	a := startNode(t, bin, env, "--demo")
	b := startNode(t, bin, env)
	password := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(a.output())
	if password == nil {
		t.Fatalf("no demo credentials printed:\n%s", a.output())
	}

	// The agent logs in on node B and goes online there.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	var login struct {
		CSRFToken string `json:"csrf_token"`
		Agent     struct{ ID int64 }
	}
	resp, err := hc.Post(b.url+"/api/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"email":"admin@demo.switchboard.local","password":%q}`, password[1])))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login on node B: %v %v", err, resp)
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	agent := dialPeer(t, "ws"+strings.TrimPrefix(b.url, "http")+"/api/v1/agent/ws",
		&websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": {b.url}}})
	agent.until("agent hello", isType("hello"))
	agent.send(map[string]any{"type": "presence", "status": "online"})

	// A second agent works through node A.
	dbURL := strings.TrimPrefix(env[0], "SWITCHBOARD_DATABASE_URL=")
	getenv := func(k string) string {
		if k == "SWITCHBOARD_DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	if err := run(context.Background(), []string{"admin", "create-agent", "--email", "second@demo.test", "--name", "Second", "--role", "agent", "--workspace", "1"},
		getenv, strings.NewReader("second agent password\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("create second agent: %v", err)
	}
	jar2, _ := cookiejar.New(nil)
	hc2 := &http.Client{Jar: jar2, Timeout: 10 * time.Second}
	var login2 struct{ Agent struct{ ID int64 } }
	resp, err = hc2.Post(a.url+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"second@demo.test","password":"second agent password"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login on node A: %v %v", err, resp)
	}
	json.NewDecoder(resp.Body).Decode(&login2)
	resp.Body.Close()
	second := dialPeer(t, "ws"+strings.TrimPrefix(a.url, "http")+"/api/v1/agent/ws",
		&websocket.DialOptions{HTTPClient: hc2, HTTPHeader: http.Header{"Origin": {a.url}}})
	second.until("second agent hello", isType("hello"))
	second.send(map[string]any{"type": "presence", "status": "online"})
	second.until("own presence", isType("presence"))

	// The visitor is on node A.
	resp, err = http.Post(a.url+"/api/v1/widget/sessions", "application/json", strings.NewReader(`{"site":"demo"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	visitorOn := func(n *node) *peer {
		p := dialPeer(t, "ws"+strings.TrimPrefix(n.url, "http")+"/api/v1/widget/ws",
			&websocket.DialOptions{Subprotocols: []string{"switchboard.v1", "bearer." + sess.Token}})
		p.until("visitor hello", isType("hello"))
		return p
	}
	visitor := visitorOn(a)

	seen := map[int64]string{}
	var last int64
	record := func(f map[string]any) {
		seq, body, _ := msgOf(f)
		if prev, dup := seen[seq]; dup {
			t.Fatalf("visitor got seq %d twice (%q, %q)", seq, prev, body)
		}
		if seq != last+1 && last != 0 {
			// Visitors see every seq here: no notes are written in this test.
			t.Fatalf("visitor got seq %d after %d", seq, last)
		}
		seen[seq], last = body, seq
	}

	// Visitor → agent across nodes; routing (running on both nodes) assigns
	// the agent connected to node B.
	visitor.send(map[string]any{"type": "send", "id": "1", "client_id": "mn-1", "body": "hello from node A"})
	ack := visitor.until("ack", isType("ack"))
	convID := int64(ack["message"].(map[string]any)["conversation_id"].(float64))
	agent.until("visitor message on node B", func(f map[string]any) bool { _, body, _ := msgOf(f); return body == "hello from node A" })
	for last < 2 { // the visitor's own message, then the assignment
		record(visitor.until("message", isType("message")))
	}
	if !strings.Contains(seen[2], "joined") {
		t.Fatalf("seq 2 should be the assignment, got %q", seen[2])
	}
	// Typing crosses nodes too.
	agent.send(map[string]any{"type": "typing", "conversation_id": convID, "typing": true})
	visitor.until("typing from node B", isType("typing"))
	agent.send(map[string]any{"type": "send", "id": "r", "conversation_id": convID, "client_id": "mn-r", "body": "hello from node B"})
	record(visitor.until("reply on node A", isType("message")))
	// Read receipts and presence cross nodes as well.
	agent.send(map[string]any{"type": "read", "conversation_id": convID, "seq": 1})
	visitor.until("the agent's read receipt on node A", func(f map[string]any) bool {
		return f["type"] == "read" && f["reader_type"] == "agent" && f["seq"] == float64(1)
	})
	second.send(map[string]any{"type": "presence", "status": "away"})
	agent.until("the second agent's status on node B", func(f map[string]any) bool {
		return f["type"] == "presence" && f["agent_id"] == float64(login2.Agent.ID) && f["status"] == "away"
	})

	// Kill node A without warning; the agent keeps writing meanwhile.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.cmd.Wait()
	<-visitor.done
	for i := 0; i < 5; i++ {
		agent.send(map[string]any{"type": "send", "id": fmt.Sprint("k", i), "conversation_id": convID, "client_id": fmt.Sprint("mn-k", i), "body": fmt.Sprint("while A is down ", i)})
		agent.until("ack", isType("ack"))
	}
	// The visitor reconnects to node B and resumes from the last seq seen.
	visitor = visitorOn(b)
	visitor.send(map[string]any{"type": "resume", "id": "res", "conversations": []map[string]int64{{"conversation_id": convID, "last_seq": last}}})
	for last < 8 {
		record(visitor.until("replayed message", isType("message")))
	}
	for i := 0; i < 5; i++ {
		if seen[int64(4+i)] != fmt.Sprint("while A is down ", i) {
			t.Fatalf("seq %d is %q", 4+i, seen[int64(4+i)])
		}
	}

	// The agent of the dead node goes offline live for colleagues once the
	// presence TTL has passed (the surviving node watches presence).
	agent.until("the dead node's agent shown offline", func(f map[string]any) bool {
		return f["type"] == "presence" && f["agent_id"] == float64(login2.Agent.ID) && f["status"] == "offline"
	})

	// The agent, connected through the surviving node, is still online.
	var agents struct {
		Agents []struct {
			ID     int64
			Status string
		}
	}
	req, _ := http.NewRequest("GET", b.url+"/api/v1/agents", nil)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	json.Unmarshal(body, &agents)
	time.Sleep(4 * time.Second) // longer than the presence TTL
	resp, _ = hc.Do(req)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	json.Unmarshal(body, &agents)
	for _, ag := range agents.Agents {
		if ag.ID == login.Agent.ID && ag.Status != "online" {
			t.Fatalf("agent on the surviving node shows %q after the other node died", ag.Status)
		}
		if ag.ID == login2.Agent.ID && ag.Status != "offline" {
			t.Fatalf("agent of the dead node shows %q after the presence TTL", ag.Status)
		}
	}
}

// TestSeparateWorkerPublishesLive: web nodes without the embedded worker and
// one `switchboard worker` process. A snoozed conversation woken by the
// worker's housekeeping reaches the agent's socket on the web node live.
func TestSeparateWorkerPublishesLive(t *testing.T) {
	if os.Getenv("SWITCHBOARD_TEST_DATABASE_URL") == "" || os.Getenv("SWITCHBOARD_TEST_REDIS_URL") == "" {
		t.Skip("needs SWITCHBOARD_TEST_DATABASE_URL and SWITCHBOARD_TEST_REDIS_URL (a worker process shares them with the web node)")
	}
	bin := buildBinary(t)
	redisURL, _ := url.Parse(os.Getenv("SWITCHBOARD_TEST_REDIS_URL"))
	redisURL.Path = "/10" // a database of its own: Asynq's keys have fixed names
	env := []string{
		"SWITCHBOARD_DATABASE_URL=" + storetest.URL(t),
		"SWITCHBOARD_REDIS_URL=" + redisURL.String(),
		"SWITCHBOARD_EMBEDDED_WORKER=false",
	}
	web := startNode(t, bin, env, "--demo")
	password := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(web.output())
	if password == nil {
		t.Fatalf("no demo credentials printed:\n%s", web.output())
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	resp, err := hc.Post(web.url+"/api/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"email":"admin@demo.switchboard.local","password":%q}`, password[1])))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", err, resp)
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	agent := dialPeer(t, "ws"+strings.TrimPrefix(web.url, "http")+"/api/v1/agent/ws",
		&websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": {web.url}}})
	agent.until("agent hello", isType("hello"))

	resp, err = http.Post(web.url+"/api/v1/widget/sessions", "application/json", strings.NewReader(`{"site":"demo"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	visitor := dialPeer(t, "ws"+strings.TrimPrefix(web.url, "http")+"/api/v1/widget/ws",
		&websocket.DialOptions{Subprotocols: []string{"switchboard.v1", "bearer." + sess.Token}})
	visitor.until("visitor hello", isType("hello"))
	visitor.send(map[string]any{"type": "send", "id": "1", "client_id": "w-1", "body": "wake me up"})
	ack := visitor.until("ack", isType("ack"))
	convID := ack["message"].(map[string]any)["conversation_id"].(float64)

	status := func(want string) func(map[string]any) bool {
		return func(f map[string]any) bool {
			c, _ := f["conversation"].(map[string]any)
			return f["type"] == "conversation.updated" && c != nil && c["id"] == convID && c["status"] == want
		}
	}
	until := time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/conversations/%d/snooze", web.url, int64(convID)), strings.NewReader(fmt.Sprintf(`{"until":%q}`, until)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", login.CSRFToken)
	req.Header.Set("Origin", web.url)
	resp, err = hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("snooze: %v %v", err, resp)
	}
	resp.Body.Close()
	agent.until("snoozed", status(chat.ConvSnoozed))
	time.Sleep(2 * time.Second) // the snooze is over before the worker's first chores

	worker := exec.Command(bin, "worker")
	worker.Env = append(os.Environ(), append(env, "SWITCHBOARD_DATA_DIR="+t.TempDir(), "SWITCHBOARD_LOG_LEVEL=warn")...)
	worker.Stderr = os.Stderr
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { worker.Process.Kill(); worker.Wait() })
	agent.until("woken by the worker, live", status(chat.ConvOpen))
}
