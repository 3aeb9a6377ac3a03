package workers_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/workers"
)

// BenchmarkOutboxThroughput: committed outbox rows → relay → Asynq →
// handler → done marker, sustained; reports jobs per second.
func BenchmarkOutboxThroughput(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := storetest.Open(b)
	fx := storetest.Seed(b, db)
	opt, _ := redisOpt(b)
	var done atomic.Int64
	h := &workers.OutboxHandler{Log: quiet, Done: db, Handlers: map[string][]workers.TopicHandler{
		"bench": {func(context.Context, workers.OutboxPayload) error { done.Add(1); return nil }}}}
	srv := workers.NewServer(opt, 20, quiet)
	if err := srv.Start(workers.NewMux(h)); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	client := asynq.NewClient(opt)
	defer client.Close()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		db.AddOutboxEvent(ctx, fx.Workspace.ID, "bench", map[string]any{"i": i})
	}
	b.StartTimer()
	go (&workers.Relay{Outbox: db, Queue: client, Log: quiet, Interval: 10 * time.Millisecond}).Run(ctx)
	for done.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkPickupLatency: a task enqueued on an idle queue, to its handler
// starting; reports p50 and p99 in milliseconds.
func BenchmarkPickupLatency(b *testing.B) {
	opt, _ := redisOpt(b)
	started := make(chan time.Time, 1)
	mux := asynq.NewServeMux()
	mux.HandleFunc("ping", func(context.Context, *asynq.Task) error { started <- time.Now(); return nil })
	srv := workers.NewServer(opt, 2, quiet)
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	client := asynq.NewClient(opt)
	defer client.Close()
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		time.Sleep(20 * time.Millisecond) // let the queue go idle
		t0 := time.Now()
		if _, err := client.Enqueue(asynq.NewTask("ping", nil)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-started).Sub(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
