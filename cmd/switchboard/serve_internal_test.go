package main

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// Redis pub/sub ignores database numbers: deployments on databases 1 and 2
// of one Redis server must use different channels.
func TestRealtimeChannelsPerDatabase(t *testing.T) {
	a := realtimePrefix(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DB: 1}))
	b := realtimePrefix(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DB: 2}))
	if a == b {
		t.Fatalf("both databases publish on %q", a)
	}
}
