package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Effects is the effect-key ledger (see chat.JobStore).
type Effects interface {
	ClaimEffect(ctx context.Context, key string, lease time.Duration) (string, error)
	CompleteEffect(ctx context.Context, key string) error
	ReleaseEffect(ctx context.Context, key string) error
}

// errBusy makes Asynq retry later: another worker holds the effect's claim.
var errBusy = errors.New("side effect in progress elsewhere")

// EffectLease is how long a claim protects an effect being done; a worker
// that dies mid-effect delays its retry by at most this. It must outlast the
// slowest effect (an SMTP exchange, a webhook call). Set once at start-up
// (SWITCHBOARD_EFFECT_LEASE), before any worker runs.
var EffectLease = 2 * time.Minute

// Once performs fn at most once per key across retries and workers: a key
// already done is skipped, a key another worker is doing makes this task
// retry later, and a failed fn releases the key so the retry does it.
// The one window left is a crash after fn succeeded and before the key is
// marked done; webhooks carry a delivery id so receivers can drop that repeat.
func Once(ctx context.Context, effects Effects, key string, fn func() error) error {
	state, err := effects.ClaimEffect(ctx, key, EffectLease)
	if err != nil {
		return err
	}
	switch state {
	case chat.EffectDone:
		return nil
	case chat.EffectBusy:
		return fmt.Errorf("%s: %w", key, errBusy)
	}
	if err := fn(); err != nil {
		if rerr := effects.ReleaseEffect(context.WithoutCancel(ctx), key); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return effects.CompleteEffect(context.WithoutCancel(ctx), key)
}
