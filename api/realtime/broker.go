// Package realtime fans events out to websocket connections, on one node or
// many. A Hub keeps the local subscriptions; a Broker carries published events
// between nodes (in memory on a single node, Redis pub/sub when scaled out).
package realtime

import (
	"context"
	"sync"
)

// Broker moves published payloads to every node subscribed to a channel,
// including the publishing node. Deliver is set once by the Hub before use.
type Broker interface {
	// Publish sends data to every node subscribed to channel.
	Publish(ctx context.Context, channel string, data []byte) error
	// Subscribe and Unsubscribe change which channels this node receives.
	Subscribe(ctx context.Context, channel string) error
	Unsubscribe(ctx context.Context, channel string) error
	// Start begins delivering received payloads to deliver. It must be
	// called once, before Subscribe.
	Start(ctx context.Context, deliver func(channel string, data []byte)) error
	Close() error
}

// MemoryBroker is the single-node Broker: Publish delivers synchronously to
// this process.
type MemoryBroker struct {
	mu      sync.RWMutex
	subs    map[string]bool
	deliver func(channel string, data []byte)
}

// NewMemoryBroker returns a Broker for a single node.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{subs: map[string]bool{}} }

func (b *MemoryBroker) Start(_ context.Context, deliver func(string, []byte)) error {
	b.mu.Lock()
	b.deliver = deliver
	b.mu.Unlock()
	return nil
}

func (b *MemoryBroker) Publish(_ context.Context, channel string, data []byte) error {
	b.mu.RLock()
	ok, deliver := b.subs[channel], b.deliver
	b.mu.RUnlock()
	if ok && deliver != nil {
		deliver(channel, data)
	}
	return nil
}

func (b *MemoryBroker) Subscribe(_ context.Context, channel string) error {
	b.mu.Lock()
	b.subs[channel] = true
	b.mu.Unlock()
	return nil
}

func (b *MemoryBroker) Unsubscribe(_ context.Context, channel string) error {
	b.mu.Lock()
	delete(b.subs, channel)
	b.mu.Unlock()
	return nil
}

func (b *MemoryBroker) Close() error { return nil }
