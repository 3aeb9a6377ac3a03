package workers

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// HousekeepingStore is what the periodic chores need.
type HousekeepingStore interface {
	WakeSnoozed(ctx context.Context, now time.Time) ([]*chat.Conversation, []*chat.Message, error)
	AutoClose(ctx context.Context, now time.Time) ([]*chat.Conversation, []*chat.Message, error)
	PurgeExpired(ctx context.Context, now time.Time) (int, []string, error)
	PurgeRateEvents(ctx context.Context, before time.Time) (int, error)
}

// BlobDeleter removes attachment bytes.
type BlobDeleter interface {
	Delete(ctx context.Context, key string) error
}

// Housekeeper runs the scheduled chores: snooze wake-ups, auto-close of
// inactive conversations (with a system message), the retention purge and
// forgetting rate-limit events older than chat.RateEventsKept.
// Every chore is idempotent, so each worker process may run it; the
// database decides (a conversation already woken or closed is left alone).
// First-response SLA reassignment runs in the routing engine's sweep.
type Housekeeper struct {
	Store  HousekeepingStore
	Blobs  BlobDeleter
	Notify func(ctx context.Context, conv *chat.Conversation, msg *chat.Message) // publish changes live; may be nil
	Log    *slog.Logger
}

// RunOnce does every chore once.
func (h *Housekeeper) RunOnce(ctx context.Context, now time.Time) error {
	for _, chore := range []func(context.Context, time.Time) ([]*chat.Conversation, []*chat.Message, error){h.Store.WakeSnoozed, h.Store.AutoClose} {
		convs, msgs, err := chore(ctx, now)
		for i := range convs {
			if h.Notify != nil && msgs[i] != nil {
				h.Notify(ctx, convs[i], msgs[i])
			}
		}
		if err != nil {
			return err
		}
	}
	purged, keys, err := h.Store.PurgeExpired(ctx, now)
	for _, k := range keys {
		if derr := h.Blobs.Delete(ctx, k); derr != nil {
			h.Log.Warn("purge attachment", "key", k, "err", derr)
		}
	}
	if purged > 0 {
		h.Log.Info("retention purge", "conversations", purged, "attachments", len(keys))
	}
	if err != nil {
		return err
	}
	_, err = h.Store.PurgeRateEvents(ctx, now.Add(-chat.RateEventsKept))
	return err
}

// Run does the chores at once (a worker starting after downtime wakes
// overdue snoozes straight away), then every interval until ctx ends.
func (h *Housekeeper) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for now := time.Now(); ; {
		if err := h.RunOnce(ctx, now); err != nil && ctx.Err() == nil {
			h.Log.Warn("housekeeping", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case now = <-t.C:
		}
	}
}
