package realtime

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// RedisBroker carries events between nodes over Redis pub/sub. Each node
// subscribes only to the channels its local connections need; go-redis
// re-subscribes them after a reconnect.
type RedisBroker struct {
	client *redis.Client
	prefix string

	mu     sync.Mutex
	pubsub *redis.PubSub
	done   chan struct{}
}

// NewRedisBroker returns a Broker on client; prefix namespaces the channels
// so several installations can share one Redis.
func NewRedisBroker(client *redis.Client, prefix string) *RedisBroker {
	return &RedisBroker{client: client, prefix: prefix, done: make(chan struct{})}
}

func (b *RedisBroker) Start(ctx context.Context, deliver func(string, []byte)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pubsub != nil {
		return errors.New("redis broker: already started")
	}
	// Subscribing to nothing still opens the connection, so later
	// Subscribe calls only add channels.
	b.pubsub = b.client.Subscribe(context.WithoutCancel(ctx))
	ch := b.pubsub.Channel(redis.WithChannelSize(4096))
	go func() {
		defer close(b.done)
		for msg := range ch {
			deliver(msg.Channel[len(b.prefix):], []byte(msg.Payload))
		}
	}()
	return nil
}

func (b *RedisBroker) Publish(ctx context.Context, channel string, data []byte) error {
	if err := b.client.Publish(ctx, b.prefix+channel, data).Err(); err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

func (b *RedisBroker) Subscribe(ctx context.Context, channel string) error {
	b.mu.Lock()
	ps := b.pubsub
	b.mu.Unlock()
	if ps == nil {
		return errors.New("redis broker: not started")
	}
	return ps.Subscribe(ctx, b.prefix+channel)
}

func (b *RedisBroker) Unsubscribe(ctx context.Context, channel string) error {
	b.mu.Lock()
	ps := b.pubsub
	b.mu.Unlock()
	if ps == nil {
		return nil
	}
	return ps.Unsubscribe(ctx, b.prefix+channel)
}

func (b *RedisBroker) Close() error {
	b.mu.Lock()
	ps := b.pubsub
	b.mu.Unlock()
	if ps == nil {
		return nil
	}
	err := ps.Close()
	<-b.done
	return err
}
