package routing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/routing"
)

// TestSimulation drives the engine on the real store through thousands of
// random events (new conversations, closes, agents going online and
// offline, capacity raised) with a fixed seed, and checks after every step:
//   - no agent is ever over capacity;
//   - every assignment went to an agent eligible at that moment (online,
//     connected, member of the conversation's team, under capacity);
//   - within a team the queue is FIFO: nothing is assigned while an older
//     conversation of the same team still waits;
//   - no conversation is lost: each one is queued, assigned or closed;
//   - an eligible agent never idles while the queue has work for them.
func TestSimulation(t *testing.T) {
	conversations := 2000
	switch {
	case testing.Short():
		conversations = 400
	case raceEnabled:
		conversations = 1000
	}
	w := newWorld(t)
	rng := rand.New(rand.NewPCG(42, 7))
	teams := []int64{0, w.team("Sales"), w.team("Support")}

	type agentState struct {
		a        *chat.Agent
		online   bool
		capacity int
		teams    []int64
	}
	var agents []*agentState
	for i := 0; i < 24; i++ {
		var member []int64
		for _, tm := range teams[1:] {
			if rng.IntN(2) == 0 {
				member = append(member, tm)
			}
		}
		capacity := 1 + rng.IntN(4)
		a := w.agent(capacity, false, member...)
		agents = append(agents, &agentState{a: a, capacity: capacity, teams: member})
	}
	byID := map[int64]*agentState{}
	for _, s := range agents {
		byID[s.a.ID] = s
	}

	var violations []string
	fail := func(format string, args ...any) { violations = append(violations, fmt.Sprintf(format, args...)) }
	created := map[int64]*chat.Conversation{}
	closed := map[int64]bool{}

	// Every assignment is checked the moment the engine makes it.
	check := func(ctx context.Context, conv *chat.Conversation, _ *chat.Message) {
		if conv.AssigneeID == nil {
			return
		}
		s := byID[*conv.AssigneeID]
		team := int64(0)
		if conv.TeamID != nil {
			team = *conv.TeamID
		}
		if s == nil || !s.online || (team != 0 && !slices.Contains(s.teams, team)) {
			fail("conversation %d assigned to ineligible agent %d", conv.ID, *conv.AssigneeID)
		}
		queue, _ := w.db.QueuedConversations(ctx, w.ws.ID, 1000)
		for _, q := range queue {
			qt := int64(0)
			if q.TeamID != nil {
				qt = *q.TeamID
			}
			if qt == team && q.CreatedAt.Before(conv.CreatedAt) {
				fail("conversation %d assigned while older %d of the same team waits", conv.ID, q.ID)
			}
		}
	}
	w.engine = routing.New(w.db, w.presence, check, quiet)

	step := 0
	for len(created) < conversations {
		step++
		switch r := rng.IntN(100); {
		case r < 40: // a visitor starts a conversation
			c := w.conversation(nil, teams[rng.IntN(len(teams))])
			created[c.ID] = c
		case r < 75: // an agent closes one of theirs
			open, _ := w.db.AssignedOpen(w.ctx, w.ws.ID)
			if len(open) > 0 {
				c := open[rng.IntN(len(open))]
				w.closeConv(c)
				closed[c.ID] = true
			}
		case r < 95: // an agent comes online or leaves
			s := agents[rng.IntN(len(agents))]
			if s.online {
				w.offline(s.a)
			} else {
				w.online(s.a)
			}
			s.online = !s.online
		default: // an admin raises a capacity
			s := agents[rng.IntN(len(agents))]
			s.capacity++
			if err := w.db.SetAgentCapacity(w.ctx, w.ws.ID, s.a.ID, s.capacity); err != nil {
				t.Fatal(err)
			}
		}
		w.drain()

		// Invariants over the whole state.
		loads, err := w.db.RoutingAgents(w.ctx, w.ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range loads {
			if l.Open > l.Capacity {
				fail("step %d: agent %d has %d open, capacity %d", step, l.ID, l.Open, l.Capacity)
			}
		}
		queue, _ := w.db.QueuedConversations(w.ctx, w.ws.ID, 5000)
		assigned, _ := w.db.AssignedOpen(w.ctx, w.ws.ID)
		if got := len(queue) + len(assigned) + len(closed); got != len(created) {
			fail("step %d: %d queued + %d assigned + %d closed != %d created", step, len(queue), len(assigned), len(closed), len(created))
		}
		// Work conservation: nobody eligible is left idle with a matching
		// conversation waiting.
		for _, q := range queue {
			team := int64(0)
			if q.TeamID != nil {
				team = *q.TeamID
			}
			for _, l := range loads {
				if routing.Eligible(l, team, byID[l.ID] != nil && byID[l.ID].online) {
					fail("step %d: conversation %d waits while agent %d is eligible", step, q.ID, l.ID)
					break
				}
			}
		}
		if len(violations) > 0 {
			t.Fatalf("after %d steps: %v", step, violations[:min(len(violations), 5)])
		}
	}
	t.Logf("%d steps, %d conversations, all invariants held", step, len(created))
}

// TestFairness: equal agents share the work evenly under round robin, and
// within one conversation of each other under least busy (the stated bound).
func TestFairness(t *testing.T) {
	for _, policy := range []string{chat.PolicyRoundRobin, chat.PolicyLeastBusy} {
		t.Run(policy, func(t *testing.T) {
			w := newWorld(t)
			if err := w.db.SetRoutingSettings(w.ctx, w.ws.ID, chat.RoutingSettings{Policy: policy}); err != nil {
				t.Fatal(err)
			}
			var agents []*chat.Agent
			for i := 0; i < 8; i++ {
				agents = append(agents, w.agent(1000, true))
			}
			counts := map[int64]int{}
			for i := 0; i < 200; i++ {
				c := w.conversation(nil, 0)
				w.drain()
				counts[w.assignee(c)]++
			}
			lo, hi := 1<<30, 0
			for _, a := range agents {
				lo, hi = min(lo, counts[a.ID]), max(hi, counts[a.ID])
			}
			if hi-lo > 1 {
				t.Fatalf("spread %d..%d among equal agents: %v", lo, hi, counts)
			}
		})
	}
}
