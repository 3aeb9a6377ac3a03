package workers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/workers"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// redisOpt is the real Redis when SWITCHBOARD_TEST_REDIS_URL is set (in a database of its own,
// flushed first), else an in-process miniredis.
func redisOpt(t testing.TB) (asynq.RedisConnOpt, func()) {
	t.Helper()
	if u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL"); u != "" {
		// A database of its own, flushed: outbox ids restart in every test
		// schema, so task ids from an earlier run would collide.
		ropt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		ropt.DB = 13
		opt := asynq.RedisClientOpt{Addr: ropt.Addr, Password: ropt.Password, Username: ropt.Username, DB: ropt.DB}
		c := redis.NewClient(ropt)
		flush := func() { c.FlushDB(context.Background()) }
		flush()
		t.Cleanup(func() { flush(); c.Close() })
		return opt, flush
	}
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return asynq.RedisClientOpt{Addr: m.Addr()}, m.FlushAll
}

// TestOutboxReachesHandlersOnce: committed changes become jobs; relaying the
// same rows again (a second relay, a crash before marking) runs nothing twice.
func TestOutboxReachesHandlersOnce(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	opt, _ := redisOpt(t)

	var mu sync.Mutex
	seen := map[int64]int{}
	handler := &workers.OutboxHandler{Log: quiet, Handlers: map[string][]workers.TopicHandler{
		chat.EventMessageCreated: {func(ctx context.Context, p workers.OutboxPayload) error {
			mu.Lock()
			seen[p.EventID]++
			mu.Unlock()
			return nil
		}},
	}}
	srv := workers.NewServer(opt, 4, quiet)
	if err := srv.Start(workers.NewMux(handler)); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	client := asynq.NewClient(opt)
	defer client.Close()

	conv, _, err := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID, VisitorID: fx.Visitor.ID, ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := 0; i < n; i++ {
		if _, _, err := db.CreateMessage(ctx, chat.NewMessage{WorkspaceID: fx.Workspace.ID, ConversationID: conv.ID,
			ClientID: fmt.Sprint("m", i), AuthorType: chat.AuthorVisitor, AuthorID: fx.Visitor.ID, Kind: chat.KindText, Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := db.PendingOutbox(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// Two relays racing over the same rows, as with two serve nodes.
	var wg sync.WaitGroup
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			relay := &workers.Relay{Outbox: db, Queue: client, Log: quiet}
			if _, err := relay.RelayOnce(ctx, 1000); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Re-enqueueing rows that were already relayed is a no-op too.
	for _, ev := range pending {
		task, _ := workers.NewOutboxTask(ev)
		if _, err := client.Enqueue(task); err == nil {
			t.Fatalf("outbox row %d enqueued twice", ev.ID)
		}
	}
	if left, _ := db.PendingOutbox(ctx, 1000); len(left) != 0 {
		t.Fatalf("%d rows still pending after the relay", len(left))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := len(seen)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handlers saw %d of %d message events", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for id, count := range seen {
		if count != 1 {
			t.Fatalf("event %d handled %d times", id, count)
		}
	}
}

// TestRelayKeepsRowsWhileRedisIsDown: nothing is marked dispatched unless
// Redis took it, so an outage delays work and loses none.
func TestRelayKeepsRowsWhileRedisIsDown(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	if _, _, err := db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: fx.Workspace.ID, SiteID: fx.Site.ID, VisitorID: fx.Visitor.ID, ClientID: "c"}); err != nil {
		t.Fatal(err)
	}
	down := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond})
	defer down.Close()
	relay := &workers.Relay{Outbox: db, Queue: down, Log: quiet}
	if _, err := relay.RelayOnce(ctx, 100); err == nil {
		t.Fatal("relay reported success with Redis down")
	}
	left, err := db.PendingOutbox(ctx, 100)
	if err != nil || len(left) == 0 {
		t.Fatalf("rows lost while Redis was down: %v %d", err, len(left))
	}
	opt, _ := redisOpt(t)
	up := asynq.NewClient(opt)
	defer up.Close()
	relay.Queue = up
	if n, err := relay.RelayOnce(ctx, 100); err != nil || n != len(left) {
		t.Fatalf("after recovery relayed %d (%v), want %d", n, err, len(left))
	}
}

// TestBadPayloadIsNotRetried: a malformed task is skipped, not retried.
func TestBadPayloadIsNotRetried(t *testing.T) {
	h := &workers.OutboxHandler{Log: quiet}
	err := h.ProcessTask(context.Background(), asynq.NewTask(workers.TypeOutboxEvent, []byte("{not json")))
	if err == nil || !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("got %v, want SkipRetry", err)
	}
}

// TestOutboxTimeouts: a bulk export may run for hours without Asynq
// cancelling (and restarting) it; everything else is cut off in minutes.
func TestOutboxTimeouts(t *testing.T) {
	opt, _ := redisOpt(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	for topic, want := range map[string]time.Duration{chat.EventExportRequested: 12 * time.Hour, chat.EventMessageCreated: 10 * time.Minute} {
		task, err := workers.NewOutboxTask(&chat.OutboxEvent{ID: int64(len(topic)), WorkspaceID: 1, Topic: topic, Payload: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		info, err := client.Enqueue(task)
		if err != nil {
			t.Fatal(err)
		}
		if info.Timeout != want {
			t.Errorf("%s: timeout %v, want %v", topic, info.Timeout, want)
		}
	}
}
