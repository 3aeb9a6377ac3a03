// Package workers holds Switchboard's background jobs on Asynq: the outbox
// relay that moves committed work into the queue, the task types, and their
// handlers. Nothing on the real-time path goes through here.
package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Task types.
const (
	// TypeOutboxEvent carries one outbox row to the handlers registered
	// for its topic (webhooks, notifications, transcripts).
	TypeOutboxEvent = "outbox:event"
)

// Queue names and weights: the default queue carries outbox events.
const (
	QueueDefault = "default"
)

var jobsProcessed = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_jobs_processed_total",
	Help: "Background jobs processed, by task type and result.",
}, []string{"type", "result"})

var jobsEnqueued = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_jobs_enqueued_total",
	Help: "Background jobs enqueued by the outbox relay, by topic.",
}, []string{"topic"})

var jobsRequeued = promauto.NewCounter(prometheus.CounterOpts{
	Name: "switchboard_jobs_requeued_total",
	Help: "Outbox rows enqueued again because their task was lost (e.g. Redis restarted empty).",
})

// OutboxPayload is the payload of a TypeOutboxEvent task.
type OutboxPayload struct {
	EventID     int64           `json:"event_id"`
	WorkspaceID int64           `json:"workspace_id"`
	Topic       string          `json:"topic"`
	Data        json.RawMessage `json:"data"`
}

// NewOutboxTask builds the task for an outbox row. Its task id is derived
// from the row id, so enqueueing the same row twice (two relays, or a relay
// that crashed before marking) yields one task.
func NewOutboxTask(ev *chat.OutboxEvent) (*asynq.Task, error) {
	payload, err := json.Marshal(OutboxPayload{EventID: ev.ID, WorkspaceID: ev.WorkspaceID, Topic: ev.Topic, Data: ev.Payload})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeOutboxEvent, payload,
		asynq.TaskID(fmt.Sprintf("outbox:%d", ev.ID)),
		asynq.Timeout(outboxTimeout(ev.Topic)),
		asynq.MaxRetry(12),
		asynq.Queue(QueueDefault),
		asynq.Retention(24*time.Hour),
	), nil
}

// outboxTimeout bounds one run of a topic's handlers. Emails and webhook
// fan-out take seconds; a bulk export with PDFs of tens of thousands of
// conversations takes hours (10,000 take about ten minutes), and a timeout
// would restart it from the beginning.
func outboxTimeout(topic string) time.Duration {
	if topic == chat.EventExportRequested {
		return 12 * time.Hour
	}
	return 10 * time.Minute
}

// TopicHandler handles one outbox topic. It must be idempotent: a task can
// run more than once.
type TopicHandler func(ctx context.Context, p OutboxPayload) error

// OutboxDone records that an outbox row's work is finished, so the relay
// stops re-enqueueing it.
type OutboxDone interface {
	MarkOutboxDone(ctx context.Context, id int64) error
}

// OutboxHandler dispatches outbox tasks to the handlers registered per
// topic. Topics without handlers complete at once. Done (optional) is told
// when every handler succeeded.
type OutboxHandler struct {
	Log      *slog.Logger
	Handlers map[string][]TopicHandler
	Done     OutboxDone
}

// ProcessTask implements asynq.Handler.
func (h *OutboxHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p OutboxPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.EventID == 0 || p.Topic == "" {
		jobsProcessed.WithLabelValues(t.Type(), "bad_payload").Inc()
		return fmt.Errorf("bad outbox payload: %v: %w", err, asynq.SkipRetry)
	}
	for _, handle := range h.Handlers[p.Topic] {
		if err := handle(ctx, p); err != nil {
			jobsProcessed.WithLabelValues(t.Type(), "error").Inc()
			return err
		}
	}
	if h.Done != nil {
		if err := h.Done.MarkOutboxDone(ctx, p.EventID); err != nil {
			return err // handlers are idempotent: running them again is safe
		}
	}
	jobsProcessed.WithLabelValues(t.Type(), "ok").Inc()
	h.Log.Debug("outbox event processed", "event_id", p.EventID, "topic", p.Topic)
	return nil
}
