package realtime_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/realtime"
)

// TestPresenceTTL: a connection that stops heartbeating (its node died)
// drops out after the TTL; one that keeps heartbeating (another node) stays;
// a clean leave is immediate and remembered as the last time seen.
func TestPresenceTTL(t *testing.T) {
	ctx := context.Background()
	p := realtime.NewPresence(redisClient(t), fmt.Sprintf("pt%d:", time.Now().UnixNano()), 700*time.Millisecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.Heartbeat(ctx, "agent", 1, 10, "node-a-conn"))
	must(p.Heartbeat(ctx, "agent", 1, 20, "node-b-conn"))
	must(p.Heartbeat(ctx, "agent", 1, 30, "conn-x"))
	must(p.Heartbeat(ctx, "agent", 2, 40, "other-workspace"))
	seen, err := p.Seen(ctx, "agent", 1)
	must(err)
	if len(seen) != 3 {
		t.Fatalf("seen %v", seen)
	}
	must(p.Leave(ctx, "agent", 1, 30, "conn-x"))
	present := func(id int64) bool {
		t.Helper()
		ok, err := p.Present(ctx, "agent", 1, id)
		must(err)
		return ok
	}
	if !present(10) || present(30) || present(2) || present(40) {
		t.Fatalf("present before the TTL: 10=%v 30=%v 2=%v 40=%v", present(10), present(30), present(2), present(40))
	}
	// Node A dies (agent 10 stops); node B keeps heartbeating agent 20.
	for i := 0; i < 5; i++ {
		time.Sleep(200 * time.Millisecond)
		must(p.Heartbeat(ctx, "agent", 1, 20, "node-b-conn"))
	}
	seen, err = p.Seen(ctx, "agent", 1)
	must(err)
	if _, ok := seen[10]; ok {
		t.Fatal("agent of the dead node is still present after the TTL")
	}
	if _, ok := seen[20]; !ok {
		t.Fatal("agent heartbeating through another node dropped out")
	}
	if _, ok := seen[30]; ok {
		t.Fatal("agent who left cleanly is still present")
	}
	if present(10) || !present(20) {
		t.Fatalf("present after the TTL: 10=%v 20=%v", present(10), present(20))
	}
	last, err := p.LastSeen(ctx, "agent", 1, 30)
	must(err)
	if last.IsZero() || time.Since(last) > 2*time.Second {
		t.Fatalf("last seen of a clean leave: %v", last)
	}
	if never, _ := p.LastSeen(ctx, "agent", 1, 99); !never.IsZero() {
		t.Fatal("someone never seen has a last-seen time")
	}
}
