package workers_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/workers"
)

// TestRedisLossLosesNothing enqueues a few thousand jobs, empties Redis in
// the middle of the run, and shows every job's side effect happened exactly
// once: the outbox is the source of truth and effects are keyed.
func TestRedisLossLosesNothing(t *testing.T) {
	const jobs = 2000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	opt, flush := redisOpt(t)

	var mu sync.Mutex
	effects := map[int64]int{}
	var done atomic.Int64
	handler := &workers.OutboxHandler{Log: quiet, Done: db, Handlers: map[string][]workers.TopicHandler{
		"test.effect": {func(ctx context.Context, p workers.OutboxPayload) error {
			return workers.Once(ctx, db, fmt.Sprint("test:", p.EventID), func() error {
				mu.Lock()
				effects[p.EventID]++
				mu.Unlock()
				done.Add(1)
				return nil
			})
		}},
	}}
	srv := workers.NewServer(opt, 10, quiet)
	if err := srv.Start(workers.NewMux(handler)); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	client := asynq.NewClient(opt)
	defer client.Close()
	relay := &workers.Relay{Outbox: db, Queue: client, Log: quiet, StaleAfter: time.Second}

	for i := 0; i < jobs; i++ {
		if err := db.AddOutboxEvent(ctx, fx.Workspace.ID, "test.effect", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	go relay.Run(ctx)

	// Empty Redis once a third of the work is done: queued tasks vanish.
	for done.Load() < jobs/3 {
		time.Sleep(5 * time.Millisecond)
	}
	flush()
	t.Logf("flushed Redis after %d of %d effects", done.Load(), jobs)

	deadline := time.Now().Add(2 * time.Minute)
	for {
		pending, _ := db.PendingOutbox(ctx, 10)
		stale, _ := db.StaleOutbox(ctx, time.Now().Add(time.Hour), 10)
		if len(pending) == 0 && len(stale) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("work left after the deadline: %d effects done", done.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(effects) != jobs {
		t.Fatalf("%d of %d jobs took effect", len(effects), jobs)
	}
	for id, n := range effects {
		if n != 1 {
			t.Fatalf("job %d took effect %d times", id, n)
		}
	}
}

// TestKilledWorkerRetriesWithoutDuplicate: a worker dies in the middle of a
// task (after claiming its effect, before doing it); the retry, on another
// worker once the claim's lease is over, performs the effect exactly once.
func TestKilledWorkerRetriesWithoutDuplicate(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	var count atomic.Int64
	// The first worker claims and "dies": its claim is never completed.
	state, err := db.ClaimEffect(ctx, "mail:42", time.Minute)
	if err != nil || state != "claimed" {
		t.Fatalf("claim: %q %v", state, err)
	}
	// While the lease holds, a retry backs off instead of doing it twice.
	err = workers.Once(ctx, db, "mail:42", func() error { count.Add(1); return nil })
	if err == nil || count.Load() != 0 {
		t.Fatalf("retry during the lease: err=%v count=%d", err, count.Load())
	}
	// A failed attempt releases the claim for the next retry.
	failing := fmt.Errorf("smtp down")
	if err := workers.Once(ctx, db, "mail:43", func() error { return failing }); err != failing {
		t.Fatalf("failed effect: %v", err)
	}
	if err := workers.Once(ctx, db, "mail:43", func() error { count.Add(1); return nil }); err != nil || count.Load() != 1 {
		t.Fatalf("retry after failure: err=%v count=%d", err, count.Load())
	}
	// Done effects are never repeated.
	for i := 0; i < 3; i++ {
		if err := workers.Once(ctx, db, "mail:43", func() error { count.Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if count.Load() != 1 {
		t.Fatalf("effect repeated: %d", count.Load())
	}
}
