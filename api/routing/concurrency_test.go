package routing_test

import (
	"context"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/routing"
)

// TestConcurrentEnginesNeverDoubleAssign runs several engines at once, as
// several nodes would, against one database (PostgreSQL when
// SWITCHBOARD_TEST_DATABASE_URL is set) while conversations keep arriving.
// No conversation may be assigned twice and no agent may exceed capacity.
func TestConcurrentEnginesNeverDoubleAssign(t *testing.T) {
	w := newWorld(t)
	var agents []*chat.Agent
	capacity := map[int64]int{}
	for i := 0; i < 6; i++ {
		a := w.agent(3+i%3, true)
		agents = append(agents, a)
		capacity[a.ID] = a.Capacity
	}
	total := 0
	for _, c := range capacity {
		total += c
	}
	const nodes = 6
	var assignments sync.Map // conversation id -> agent id
	var mu sync.Mutex
	var dup []int64
	engines := make([]*routing.Engine, nodes)
	for i := range engines {
		engines[i] = routing.New(w.db, w.presence, func(_ context.Context, c *chat.Conversation, _ *chat.Message) {
			if _, loaded := assignments.LoadOrStore(c.ID, *c.AssigneeID); loaded {
				mu.Lock()
				dup = append(dup, c.ID)
				mu.Unlock()
			}
		}, quiet)
	}
	// More conversations than total capacity, created while engines drain.
	convs := total + 10
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < convs; i++ {
			w.conversation(nil, 0)
		}
	}()
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				if _, err := e.Drain(w.ctx, w.ws.ID); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, e := range engines { // settle whatever arrived last
		if _, err := e.Drain(w.ctx, w.ws.ID); err != nil {
			t.Fatal(err)
		}
	}
	if len(dup) > 0 {
		t.Fatalf("conversations assigned twice: %v", dup)
	}
	loads, err := w.db.RoutingAgents(w.ctx, w.ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, l := range loads {
		if l.Open > l.Capacity {
			t.Fatalf("agent %d holds %d, capacity %d", l.ID, l.Open, l.Capacity)
		}
		sum += l.Open
	}
	if sum != total {
		t.Fatalf("%d assigned, want every seat filled (%d)", sum, total)
	}
	queue, _ := w.db.QueuedConversations(w.ctx, w.ws.ID, 1000)
	if len(queue) != convs-total {
		t.Fatalf("%d left in the queue, want %d", len(queue), convs-total)
	}
	// Each assignment left exactly one "joined" system message.
	assigned, _ := w.db.AssignedOpen(w.ctx, w.ws.ID)
	for _, c := range assigned {
		msgs, _ := w.db.Messages(w.ctx, w.ws.ID, c.ID, 0, 100, true)
		joined := 0
		for _, m := range msgs {
			if m.AuthorType == chat.AuthorSystem {
				joined++
			}
		}
		if joined != 1 {
			t.Fatalf("conversation %d has %d assignment messages", c.ID, joined)
		}
	}
}

// TestTryAssignHoldsCapacityUnderRace: many nodes offering different
// conversations to the same agent at the same instant; only capacity-many win.
func TestTryAssignHoldsCapacityUnderRace(t *testing.T) {
	w := newWorld(t)
	a := w.agent(3, true)
	var convs []*chat.Conversation
	for i := 0; i < 16; i++ {
		convs = append(convs, w.conversation(nil, 0))
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for _, c := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, err := w.db.TryAssign(w.ctx, w.ws.ID, c.ID, a.ID)
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if chat.ErrorCode(err) != chat.ECONFLICT {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if won != 3 {
		t.Fatalf("%d assignments won for an agent with capacity 3", won)
	}
}
