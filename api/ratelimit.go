package api

import (
	"context"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// rateLimiter allows max events per key within a sliding window: failed
// logins per email, transcripts emailed per agent. The events live in the
// database (chat.RateLimitStore), so every serve node counts the same ones:
// behind a load balancer an attacker gets max attempts, not max per node,
// and a restart forgets nothing. Housekeeping purges old events.
//
// Checking and recording are separate calls, so requests racing past the
// check at the same moment may each record one event more: the bound is max
// plus the requests in flight, as it always was on one node.
type rateLimiter struct {
	store  chat.RateLimitStore
	bucket string
	max    int
	window time.Duration
}

func newRateLimiter(store chat.RateLimitStore, bucket string, max int, window time.Duration) *rateLimiter {
	if window > chat.RateEventsKept {
		panic("api: rate limit window longer than chat.RateEventsKept")
	}
	return &rateLimiter{store: store, bucket: bucket, max: max, window: window}
}

// locked reports whether key has used up its events in the window.
func (l *rateLimiter) locked(ctx context.Context, key string) (bool, error) {
	n, err := l.store.CountRateEvents(ctx, l.bucket, key, time.Now().Add(-l.window))
	if err != nil {
		return false, err
	}
	return n >= l.max, nil
}

// record counts one event for key (a failure, an email sent).
func (l *rateLimiter) record(ctx context.Context, key string) error {
	return l.store.RecordRateEvent(ctx, l.bucket, key, time.Now())
}

// reset forgets key's events (a successful login).
func (l *rateLimiter) reset(ctx context.Context, key string) error {
	return l.store.ClearRateEvents(ctx, l.bucket, key)
}
