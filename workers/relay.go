package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// OutboxSource is what the relay needs from storage.
type OutboxSource interface {
	PendingOutbox(ctx context.Context, limit int) ([]*chat.OutboxEvent, error)
	MarkDispatched(ctx context.Context, ids []int64) error
	StaleOutbox(ctx context.Context, before time.Time, limit int) ([]*chat.OutboxEvent, error)
}

// Enqueuer is the part of *asynq.Client the relay uses.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Relay moves committed outbox rows into the job queue. The database is the
// source of truth: a row is marked dispatched only once Redis has the task,
// so a crash or a Redis outage delays work but never loses it.
type Relay struct {
	Outbox   OutboxSource
	Queue    Enqueuer
	Log      *slog.Logger
	Interval time.Duration // poll interval when idle (default 200ms)
	Batch    int           // rows per round (default 100)
	// StaleAfter: a row dispatched this long ago and still not done is
	// enqueued again, in case Redis lost its task (default 1 minute). The
	// task id makes this a no-op while Redis still has the task.
	StaleAfter time.Duration
}

// Run relays until ctx is done.
func (r *Relay) Run(ctx context.Context) {
	interval, batch := r.Interval, r.Batch
	if interval == 0 {
		interval = 200 * time.Millisecond
	}
	if batch == 0 {
		batch = 100
	}
	staleAfter := r.StaleAfter
	if staleAfter == 0 {
		staleAfter = time.Minute
	}
	lastSweep := time.Now()
	for {
		if time.Since(lastSweep) > staleAfter/2 {
			lastSweep = time.Now()
			if _, err := r.Requeue(ctx, staleAfter); err != nil && ctx.Err() == nil {
				r.Log.Warn("outbox requeue", "err", err)
			}
		}
		n, err := r.RelayOnce(ctx, batch)
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("outbox relay", "err", err)
		}
		if n == batch && err == nil {
			continue // more waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// RelayOnce moves up to batch rows and reports how many it dispatched.
func (r *Relay) RelayOnce(ctx context.Context, batch int) (int, error) {
	events, err := r.Outbox.PendingOutbox(ctx, batch)
	if err != nil {
		return 0, err
	}
	var done []int64
	var firstErr error
	for _, ev := range events {
		task, err := NewOutboxTask(ev)
		if err != nil {
			firstErr = err
			continue
		}
		_, err = r.Queue.EnqueueContext(ctx, task)
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			// Keep order: stop at the first failure and retry next round.
			firstErr = err
			break
		}
		jobsEnqueued.WithLabelValues(ev.Topic).Inc()
		done = append(done, ev.ID)
	}
	if len(done) > 0 {
		if err := r.Outbox.MarkDispatched(ctx, done); err != nil {
			return 0, err
		}
	}
	return len(done), firstErr
}

// Requeue enqueues again the rows dispatched more than olderThan ago whose
// work is not done. While Redis still holds a row's task (queued, retrying,
// archived or recently completed) the enqueue is refused by the task id and
// nothing happens; when Redis lost it, the task comes back.
func (r *Relay) Requeue(ctx context.Context, olderThan time.Duration) (int, error) {
	stale, err := r.Outbox.StaleOutbox(ctx, time.Now().Add(-olderThan), 1000)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ev := range stale {
		task, err := NewOutboxTask(ev)
		if err != nil {
			return n, err
		}
		if _, err := r.Queue.EnqueueContext(ctx, task); err == nil {
			n++
			jobsRequeued.Inc()
		} else if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return n, err
		}
	}
	return n, nil
}

// NewServer returns an Asynq server tuned for low pickup latency on an idle
// queue (Asynq's default check interval is one second).
func NewServer(redis asynq.RedisConnOpt, concurrency int, log *slog.Logger) *asynq.Server {
	return asynq.NewServer(redis, asynq.Config{
		Concurrency:              concurrency,
		Queues:                   map[string]int{QueueDefault: 1},
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: time.Second,
		Logger:                   asynqLogger{log},
		LogLevel:                 asynq.WarnLevel,
		ShutdownTimeout:          10 * time.Second,
		RetryDelayFunc:           retryDelay,
		// Waiting for another worker's claim is not a failure: it does not
		// use up the task's retries.
		IsFailure: func(err error) bool { return !errors.Is(err, errBusy) },
	})
}

// retryDelay: a task whose worker died (its lease ran out) goes again at
// once; one waiting on another worker's claim on its effect polls every few
// seconds; real failures back off exponentially with jitter, 2 s up to 10 min.
func retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	switch {
	case errors.Is(err, asynq.ErrLeaseExpired):
		return time.Second
	case errors.Is(err, errBusy):
		return 5 * time.Second
	}
	d := 2 * time.Second << min(n, 9) // 2 s, 4 s, ... 1024 s
	d = min(d, 10*time.Minute)
	return d/2 + rand.N(d/2+1)
}

// Route is a task type and its handler.
type Route struct {
	Type    string
	Handler asynq.Handler
}

// NewMux routes task types to their handlers.
func NewMux(outbox *OutboxHandler, routes ...Route) *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Handle(TypeOutboxEvent, outbox)
	for _, r := range routes {
		mux.Handle(r.Type, r.Handler)
	}
	return mux
}

// asynqLogger adapts slog to Asynq's logger interface.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
