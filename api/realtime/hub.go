package realtime

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"log/slog"
	"sync"
)

// Event is what travels through the broker: a frame ready to send plus the
// little a connection needs to order and filter it without parsing the frame.
type Event struct {
	Kind           string          `json:"k"`           // frame type, e.g. "message"
	ConversationID int64           `json:"c,omitempty"` // for ordering message events
	Seq            int64           `json:"s,omitempty"`
	Origin         string          `json:"o,omitempty"` // connection that caused it; not echoed back to it
	Frame          json.RawMessage `json:"f"`           // the JSON frame sent to clients
}

// Subscriber receives events for the topics it subscribed to. Deliver must
// not block: a subscriber that cannot keep up drops itself (see api's
// connection writer), it never stalls the hub.
type Subscriber interface {
	Deliver(ev *Event)
}

const shardCount = 32

type shard struct {
	mu     sync.RWMutex
	topics map[string]map[Subscriber]struct{}
}

// Hub keeps this node's subscriptions, sharded by topic so that fan-out on
// busy topics does not contend on one lock.
type Hub struct {
	broker Broker
	log    *slog.Logger
	shards [shardCount]shard
}

// NewHub starts a hub on broker.
func NewHub(ctx context.Context, broker Broker, log *slog.Logger) (*Hub, error) {
	h := &Hub{broker: broker, log: log}
	for i := range h.shards {
		h.shards[i].topics = map[string]map[Subscriber]struct{}{}
	}
	if err := broker.Start(ctx, h.dispatch); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Hub) shard(topic string) *shard {
	f := fnv.New32a()
	f.Write([]byte(topic))
	return &h.shards[f.Sum32()%shardCount]
}

// Subscribe adds s to topic; the first local subscriber subscribes the node.
func (h *Hub) Subscribe(ctx context.Context, topic string, s Subscriber) error {
	sh := h.shard(topic)
	sh.mu.Lock()
	subs, ok := sh.topics[topic]
	if !ok {
		subs = map[Subscriber]struct{}{}
		sh.topics[topic] = subs
	}
	subs[s] = struct{}{}
	first := !ok
	sh.mu.Unlock()
	if first {
		return h.broker.Subscribe(ctx, topic)
	}
	return nil
}

// Unsubscribe removes s from topic; the last one unsubscribes the node.
func (h *Hub) Unsubscribe(ctx context.Context, topic string, s Subscriber) {
	sh := h.shard(topic)
	sh.mu.Lock()
	subs := sh.topics[topic]
	delete(subs, s)
	last := subs != nil && len(subs) == 0
	if last {
		delete(sh.topics, topic)
	}
	sh.mu.Unlock()
	if last {
		if err := h.broker.Unsubscribe(ctx, topic); err != nil {
			h.log.Warn("broker unsubscribe", "topic", topic, "err", err)
		}
	}
}

// Publish sends ev to every subscriber of topic on every node.
func (h *Hub) Publish(ctx context.Context, topic string, ev *Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return h.broker.Publish(ctx, topic, data)
}

// Subscribers counts local subscribers of topic (for tests and metrics).
func (h *Hub) Subscribers(topic string) int {
	sh := h.shard(topic)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return len(sh.topics[topic])
}

// dispatch decodes an event once and hands it to each local subscriber.
func (h *Hub) dispatch(topic string, data []byte) {
	ev := new(Event)
	if err := json.Unmarshal(data, ev); err != nil {
		h.log.Warn("bad broker payload", "topic", topic, "err", err)
		return
	}
	sh := h.shard(topic)
	sh.mu.RLock()
	subs := make([]Subscriber, 0, len(sh.topics[topic]))
	for s := range sh.topics[topic] {
		subs = append(subs, s)
	}
	sh.mu.RUnlock()
	for _, s := range subs {
		s.Deliver(ev)
	}
}

// Close stops the broker.
func (h *Hub) Close() error { return h.broker.Close() }
