package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api"
)

// presenceFrame returns the next presence frame.
func presenceFrame(t *testing.T, w *wsClient) map[string]any {
	t.Helper()
	f := w.expect("presence")
	var m map[string]any
	if err := json.Unmarshal(f.Raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// presenceAbout returns the next presence frame about one agent or visitor
// ("agent_id" or "visitor_id"), skipping others (the watcher repeats "gone"
// frames the closing socket already sent).
func presenceAbout(t *testing.T, w *wsClient, field string, id int64) map[string]any {
	t.Helper()
	for {
		if f := presenceFrame(t, w); f[field] == float64(id) {
			return f
		}
	}
}

// TestPresenceGone: a visitor with two tabs is online until the last one
// closes; an agent whose last socket closes shows offline to colleagues;
// a visitor whose node died (heartbeats stop, no goodbye) is announced
// offline once the presence TTL has passed.
func TestPresenceGone(t *testing.T) {
	presence := testPresence(t, 2*time.Second)
	e := newEnvWith(t, api.Config{Presence: presence, PresenceEvery: 500 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.srv.WatchPresence(ctx, 300*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })

	watcher := e.agentWS(e.loginAgent(e.admin.Email, e.password))
	_, vs := e.newVisitor(e.site)
	tab1 := e.visitorWS(vs.Token)
	tab2 := e.visitorWS(vs.Token)
	for range 2 {
		if f := presenceFrame(t, watcher); f["online"] != true {
			t.Fatalf("connect: %v", f)
		}
	}
	tab1.close()
	// Closing the first tab says nothing: the visitor is still here.
	tab2.send(map[string]any{"type": "ping", "id": "p"})
	tab2.expect("pong")
	time.Sleep(700 * time.Millisecond)
	for drained := false; !drained; {
		select {
		case f := <-watcher.frames:
			watcher.pending = append(watcher.pending, f)
		default:
			drained = true
		}
	}
	for _, f := range watcher.pending {
		if f.Type == "presence" {
			t.Fatalf("closing one of two tabs announced %s", f.Raw)
		}
	}
	tab2.close()
	if f := presenceFrame(t, watcher); f["online"] != false || f["visitor_id"] != float64(vs.Visitor.ID) {
		t.Fatalf("last tab closed: %v", f)
	}

	// An agent's last socket closes: colleagues see them offline.
	bob, bobC := e.addAgent("Bob", "agent")
	bobWS := e.agentWS(bobC)
	if f := presenceAbout(t, watcher, "agent_id", bob.ID); f["status"] != "online" {
		t.Fatalf("agent connected: %v", f)
	}
	bobWS.close()
	if f := presenceAbout(t, watcher, "agent_id", bob.ID); f["status"] != "offline" {
		t.Fatalf("agent gone: %v", f)
	}

	// A visitor on a node that died: heartbeats stop, no goodbye.
	_, ghost := e.newVisitor(e.site)
	if err := presence.Heartbeat(context.Background(), "visitor", e.ws.ID, ghost.Visitor.ID, "dead-node-conn"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	f := presenceAbout(t, watcher, "visitor_id", ghost.Visitor.ID)
	if f["online"] != false {
		t.Fatalf("dead node's visitor: %v", f)
	}
	if waited := time.Since(start); waited < 1500*time.Millisecond {
		t.Fatalf("announced gone after %v, before the 2 s TTL", waited)
	}
}
