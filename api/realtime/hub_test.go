package realtime_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/api/realtime"
)

type recorder struct {
	mu  sync.Mutex
	got []*realtime.Event
}

func (r *recorder) Deliver(ev *realtime.Event) {
	r.mu.Lock()
	r.got = append(r.got, ev)
	r.mu.Unlock()
}

func (r *recorder) waitFor(t *testing.T, n int) []*realtime.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]*realtime.Event(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("got %d events, want %d", len(r.got), n)
	return nil
}

// redisClient returns a client on the real Redis when
// SWITCHBOARD_TEST_REDIS_URL is set, else on an in-process miniredis.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	if u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		return c
	}
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestMemoryHubFanOut(t *testing.T) {
	ctx := context.Background()
	h, err := realtime.NewHub(ctx, realtime.NewMemoryBroker(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	a, b, other := &recorder{}, &recorder{}, &recorder{}
	h.Subscribe(ctx, "w:1", a)
	h.Subscribe(ctx, "w:1", b)
	h.Subscribe(ctx, "w:2", other)
	for i := 1; i <= 3; i++ {
		h.Publish(ctx, "w:1", &realtime.Event{Kind: "message", ConversationID: 7, Seq: int64(i), Frame: []byte(`{"type":"message"}`)})
	}
	for _, r := range []*recorder{a, b} {
		got := r.waitFor(t, 3)
		for i, ev := range got {
			if ev.Seq != int64(i+1) || ev.ConversationID != 7 {
				t.Fatalf("event %d = %+v", i, ev)
			}
		}
	}
	if len(other.got) != 0 {
		t.Fatalf("other topic got %d events", len(other.got))
	}
	h.Unsubscribe(ctx, "w:1", a)
	h.Unsubscribe(ctx, "w:1", b)
	if n := h.Subscribers("w:1"); n != 0 {
		t.Fatalf("subscribers after unsubscribe = %d", n)
	}
	h.Publish(ctx, "w:1", &realtime.Event{Kind: "message", Frame: []byte(`{}`)})
	if len(a.got) != 3 {
		t.Fatalf("unsubscribed subscriber got %d events", len(a.got))
	}
}

// Two hubs sharing one Redis behave like two nodes: an event published on
// one reaches subscribers on the other, in order.
func TestRedisHubAcrossNodes(t *testing.T) {
	ctx := context.Background()
	client := redisClient(t)
	prefix := fmt.Sprintf("sbtest%d:", time.Now().UnixNano())
	nodeA, err := realtime.NewHub(ctx, realtime.NewRedisBroker(client, prefix), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer nodeA.Close()
	nodeB, err := realtime.NewHub(ctx, realtime.NewRedisBroker(client, prefix), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer nodeB.Close()

	onA, onB := &recorder{}, &recorder{}
	if err := nodeA.Subscribe(ctx, "v:9", onA); err != nil {
		t.Fatal(err)
	}
	if err := nodeB.Subscribe(ctx, "v:9", onB); err != nil {
		t.Fatal(err)
	}
	// Subscriptions are asynchronous in Redis; wait until both are active.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := client.PubSubNumSub(ctx, prefix+"v:9").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[prefix+"v:9"] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions never became active: %v", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	const total = 200
	for i := 1; i <= total; i++ {
		if err := nodeA.Publish(ctx, "v:9", &realtime.Event{Kind: "message", ConversationID: 1, Seq: int64(i), Frame: []byte(`{"type":"message"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for name, r := range map[string]*recorder{"A": onA, "B": onB} {
		got := r.waitFor(t, total)
		for i, ev := range got {
			if ev.Seq != int64(i+1) {
				t.Fatalf("node %s: event %d has seq %d (out of order)", name, i, ev.Seq)
			}
			if string(ev.Frame) != `{"type":"message"}` {
				t.Fatalf("frame mangled: %s", ev.Frame)
			}
		}
	}
}
