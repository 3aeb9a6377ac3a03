// Package routing assigns conversations to agents: per-team policies (round
// robin, least busy), per-agent capacity, a FIFO queue per team that drains
// the moment capacity frees up, team rules for new conversations, returning
// visitors going back to their agent, and reassignment when an agent goes
// away or does not answer in time.
//
// Correctness under concurrency does not depend on this package: the store's
// TryAssign locks the agent and the conversation rows, so any number of
// engines on any number of nodes may drain the same queue at once without
// double-assigning or overfilling an agent. The engine only decides who
// should get what, and retries when the store says the world moved.
package routing

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Store is what the engine needs from storage.
type Store interface {
	ListWorkspaces(ctx context.Context) ([]*chat.Workspace, error)
	RoutingSettings(ctx context.Context, workspaceID int64) (chat.RoutingSettings, error)
	ListTeams(ctx context.Context, workspaceID int64) ([]*chat.Team, error)
	RoutingAgents(ctx context.Context, workspaceID int64) ([]*chat.AgentLoad, error)
	QueuedConversations(ctx context.Context, workspaceID int64, perTeam int) ([]*chat.Conversation, error)
	Conversation(ctx context.Context, workspaceID, id int64) (*chat.Conversation, error)
	TryAssign(ctx context.Context, workspaceID, conversationID, agentID int64) (*chat.Conversation, *chat.Message, error)
	Requeue(ctx context.Context, workspaceID, conversationID, assigneeID int64, reason string) (*chat.Conversation, *chat.Message, error)
	AssignedOpen(ctx context.Context, workspaceID int64) ([]*chat.Conversation, error)
	LastAssignee(ctx context.Context, workspaceID, visitorID, exclude int64) (int64, error)
	AssignmentWaits(ctx context.Context, workspaceID int64, n int) ([]time.Duration, error)
	Visitor(ctx context.Context, workspaceID, visitorID int64) (*chat.Visitor, error)
	ListSites(ctx context.Context, workspaceID int64) ([]*chat.Site, error)
	Assign(ctx context.Context, workspaceID, conversationID int64, assigneeID, teamID *int64, actor string) (*chat.Conversation, *chat.Message, error)
}

// Presence tells who has a live connection; see realtime.Presence.
type Presence interface {
	Seen(ctx context.Context, kind string, workspaceID int64) (map[int64]time.Time, error)
	LastSeen(ctx context.Context, kind string, workspaceID, id int64) (time.Time, error)
}

// Notify publishes a change the engine made (a conversation and the system
// message that goes with it).
type Notify func(ctx context.Context, conv *chat.Conversation, msg *chat.Message)

// Engine makes assignment decisions. Trigger asks for a drain of one
// workspace; Run coalesces triggers and sweeps every workspace periodically
// for reassignment and anything a trigger missed.
type Engine struct {
	store    Store
	presence Presence
	notify   Notify
	log      *slog.Logger
	now      func() time.Time

	triggers chan int64

	// AfterDrain, when set, runs after each drain (the server uses it to
	// tell queued visitors their new place in line).
	AfterDrain func(ctx context.Context, workspaceID int64)
}

// New returns an engine. notify may be nil.
func New(store Store, presence Presence, notify Notify, log *slog.Logger) *Engine {
	if notify == nil {
		notify = func(context.Context, *chat.Conversation, *chat.Message) {}
	}
	return &Engine{store: store, presence: presence, notify: notify, log: log, now: time.Now, triggers: make(chan int64, 1024)}
}

// SetStore sets the store after construction, for wiring where the store
// is built later than the engine. Call it before Run.
func (e *Engine) SetStore(s Store) { e.store = s }

// Trigger asks for the workspace's queue to be drained soon. It never blocks:
// when the channel is full a sweep will pick the work up.
func (e *Engine) Trigger(workspaceID int64) {
	select {
	case e.triggers <- workspaceID:
	default:
	}
}

// Run drains triggered workspaces and sweeps every interval until ctx ends.
func (e *Engine) Run(ctx context.Context, sweepEvery time.Duration) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ws := <-e.triggers:
			// Coalesce a burst of triggers into one drain per workspace.
			pending := map[int64]bool{ws: true}
		more:
			for {
				select {
				case w := <-e.triggers:
					pending[w] = true
				default:
					break more
				}
			}
			for w := range pending {
				if _, err := e.Drain(ctx, w); err != nil && ctx.Err() == nil {
					e.log.Warn("routing drain", "workspace", w, "err", err)
				}
				e.afterDrain(ctx, w)
			}
		case <-t.C:
			if err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("routing sweep", "err", err)
			}
		}
	}
}

// Sweep reassigns what must move and drains every workspace.
func (e *Engine) Sweep(ctx context.Context) error {
	all, err := e.store.ListWorkspaces(ctx)
	if err != nil {
		return err
	}
	for _, w := range all {
		if _, err := e.Reassign(ctx, w.ID); err != nil {
			return err
		}
		if _, err := e.Drain(ctx, w.ID); err != nil {
			return err
		}
		e.afterDrain(ctx, w.ID)
	}
	return nil
}

func (e *Engine) afterDrain(ctx context.Context, workspaceID int64) {
	if e.AfterDrain != nil {
		e.AfterDrain(ctx, workspaceID)
	}
}

// view is one workspace's routing state for one drain.
type view struct {
	settings chat.RoutingSettings
	teams    map[int64]*chat.Team
	agents   []*chat.AgentLoad
	online   map[int64]time.Time
}

func (e *Engine) load(ctx context.Context, workspaceID int64) (*view, error) {
	settings, err := e.store.RoutingSettings(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	teams, err := e.store.ListTeams(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	agents, err := e.store.RoutingAgents(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	online, err := e.presence.Seen(ctx, "agent", workspaceID)
	if err != nil {
		return nil, err
	}
	v := &view{settings: settings, teams: map[int64]*chat.Team{}, agents: agents, online: online}
	for _, t := range teams {
		v.teams[t.ID] = t
	}
	return v, nil
}

// Eligible reports whether an agent may take a conversation of a team
// (teamID 0 = no team): active, online by choice and connected, under
// capacity, and a member of the team.
func Eligible(a *chat.AgentLoad, teamID int64, connected bool) bool {
	return a.Active && a.Status == chat.StatusOnline && connected && a.Open < a.Capacity &&
		(teamID == 0 || slices.Contains(a.TeamIDs, teamID))
}

func teamOf(c *chat.Conversation) int64 {
	if c.TeamID == nil {
		return 0
	}
	return *c.TeamID
}

// policy is the team's policy, else the workspace default, else round robin.
func (v *view) policy(teamID int64) string {
	if t := v.teams[teamID]; t != nil && t.Policy != "" {
		return t.Policy
	}
	if v.settings.Policy != "" {
		return v.settings.Policy
	}
	return chat.PolicyRoundRobin
}

// Pick chooses among eligible candidates by policy. preferred (a returning
// visitor's agent) wins when eligible; avoid (who just lost the
// conversation) loses unless nobody else can take it.
func Pick(cands []*chat.AgentLoad, policy string, preferred, avoid int64) *chat.AgentLoad {
	if len(cands) == 0 {
		return nil
	}
	for _, a := range cands {
		if a.ID == preferred {
			return a
		}
	}
	if avoid != 0 && len(cands) > 1 {
		cands = slices.DeleteFunc(slices.Clone(cands), func(a *chat.AgentLoad) bool { return a.ID == avoid })
	}
	never := time.Time{}
	last := func(a *chat.AgentLoad) time.Time {
		if a.LastAssignedAt == nil {
			return never
		}
		return *a.LastAssignedAt
	}
	return slices.MinFunc(cands, func(a, b *chat.AgentLoad) int {
		if policy == chat.PolicyLeastBusy && a.Open != b.Open {
			return a.Open - b.Open
		}
		if c := last(a).Compare(last(b)); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
}

// Drain assigns queued conversations, oldest first within each team, until
// nobody eligible is left. It returns how many it assigned.
func (e *Engine) Drain(ctx context.Context, workspaceID int64) (int, error) {
	v, err := e.load(ctx, workspaceID)
	if err != nil {
		return 0, err
	}
	if v.settings.Disabled {
		return 0, nil
	}
	queue, err := e.store.QueuedConversations(ctx, workspaceID, 500)
	if err != nil {
		return 0, err
	}
	assigned := 0
	blocked := map[int64]bool{} // teams whose oldest waiting conversation found nobody: FIFO
	for _, conv := range queue {
		team := teamOf(conv)
		if blocked[team] {
			continue
		}
		if t := v.teams[team]; t != nil && !t.AutoAssign {
			continue
		}
		if !v.anyEligible(team) {
			blocked[team] = true // nobody can take it: skip the lookups below
			continue
		}
		preferred, err := e.store.LastAssignee(ctx, workspaceID, conv.VisitorID, conv.ID)
		if err != nil {
			return assigned, err
		}
		var avoid int64
		if conv.PreviousAssignee != nil {
			avoid = *conv.PreviousAssignee
		}
		ok, err := e.assignOne(ctx, v, conv, team, preferred, avoid)
		if err != nil {
			return assigned, err
		}
		if ok {
			assigned++
		} else {
			blocked[team] = true
		}
	}
	return assigned, nil
}

func (v *view) anyEligible(team int64) bool {
	for _, a := range v.agents {
		if _, connected := v.online[a.ID]; Eligible(a, team, connected) {
			return true
		}
	}
	return false
}

// assignOne tries the best candidate; when the store reports a conflict
// (the conversation or the agent changed under us, maybe on another node)
// it reloads and tries again.
func (e *Engine) assignOne(ctx context.Context, v *view, conv *chat.Conversation, team, preferred, avoid int64) (bool, error) {
	for attempt := 0; attempt < 5; attempt++ {
		var cands []*chat.AgentLoad
		for _, a := range v.agents {
			if _, connected := v.online[a.ID]; Eligible(a, team, connected) {
				cands = append(cands, a)
			}
		}
		a := Pick(cands, v.policy(team), preferred, avoid)
		if a == nil {
			return false, nil
		}
		got, msg, err := e.store.TryAssign(ctx, conv.WorkspaceID, conv.ID, a.ID)
		if err == nil {
			a.Open++
			t := e.now()
			a.LastAssignedAt = &t
			e.notify(ctx, got, msg)
			return true, nil
		}
		if chat.ErrorCode(err) != chat.ECONFLICT {
			return false, err
		}
		// Someone else moved first: refresh loads and see if it is still queued.
		agents, err := e.store.RoutingAgents(ctx, conv.WorkspaceID)
		if err != nil {
			return false, err
		}
		v.agents = agents
		now, err := e.store.Conversation(ctx, conv.WorkspaceID, conv.ID)
		if err != nil {
			return false, err
		}
		if now.AssigneeID != nil || now.Status != chat.ConvOpen {
			return true, nil // taken elsewhere; the queue moved on
		}
	}
	return false, nil
}

// Reassign sends back to the queue the conversations of agents gone for
// longer than the grace period, and those nobody answered within the
// first-response window.
func (e *Engine) Reassign(ctx context.Context, workspaceID int64) (int, error) {
	settings, err := e.store.RoutingSettings(ctx, workspaceID)
	if err != nil || settings.Disabled {
		return 0, err
	}
	grace := time.Duration(settings.OfflineGraceSeconds) * time.Second
	if grace == 0 {
		grace = 2 * time.Minute
	}
	convs, err := e.store.AssignedOpen(ctx, workspaceID)
	if err != nil {
		return 0, err
	}
	if len(convs) == 0 {
		return 0, nil
	}
	// The first-response window: the site's, else the workspace's.
	sites, err := e.store.ListSites(ctx, workspaceID)
	if err != nil {
		return 0, err
	}
	windows := map[int64]time.Duration{}
	for _, s := range sites {
		if s.Settings.FirstResponseSeconds > 0 {
			windows[s.ID] = time.Duration(s.Settings.FirstResponseSeconds) * time.Second
		}
	}
	windowOf := func(c *chat.Conversation) time.Duration {
		if w, ok := windows[c.SiteID]; ok {
			return w
		}
		return time.Duration(settings.FirstResponseSeconds) * time.Second
	}
	online, err := e.presence.Seen(ctx, "agent", workspaceID)
	if err != nil {
		return 0, err
	}
	agents, err := e.store.RoutingAgents(ctx, workspaceID)
	if err != nil {
		return 0, err
	}
	byID := map[int64]*chat.AgentLoad{}
	names := map[int64]string{}
	for _, a := range agents {
		byID[a.ID], names[a.ID] = a, a.Name
	}
	now := e.now()
	moved := 0
	for _, c := range convs {
		id := *c.AssigneeID
		var reason string
		if a := byID[id]; a != nil && a.Status == chat.StatusOffline {
			// Chose offline but left the console open: the grace runs from
			// the change of status (or the assignment, if that came later).
			since := a.StatusSince
			if since == nil || (c.AssignedAt != nil && c.AssignedAt.After(*since)) {
				since = c.AssignedAt
			}
			if since != nil && now.Sub(*since) > grace {
				reason = orName(names[id]) + " went offline; the conversation is back in the queue"
			}
		} else if _, ok := online[id]; !ok {
			last, err := e.presence.LastSeen(ctx, "agent", workspaceID, id)
			if err != nil {
				return moved, err
			}
			// Never seen counts from the assignment: a manual assignment to
			// someone who is not around gets the same grace.
			if last.IsZero() && c.AssignedAt != nil {
				last = *c.AssignedAt
			}
			if !last.IsZero() && now.Sub(last) > grace {
				reason = orName(names[id]) + " went offline; the conversation is back in the queue"
			}
		}
		if window := windowOf(c); reason == "" && window > 0 && c.FirstResponseAt == nil && c.AssignedAt != nil && now.Sub(*c.AssignedAt) > window {
			reason = orName(names[id]) + " did not answer in time; the conversation is back in the queue"
		}
		if reason == "" {
			continue
		}
		conv, msg, err := e.store.Requeue(ctx, workspaceID, c.ID, id, reason)
		if chat.ErrorCode(err) == chat.ECONFLICT {
			continue // it moved meanwhile
		} else if err != nil {
			return moved, err
		}
		moved++
		e.notify(ctx, conv, msg)
	}
	return moved, nil
}

func orName(n string) string {
	if n == "" {
		return "The agent"
	}
	return n
}

// Route applies the workspace's team rules to a new conversation: the first
// rule whose conditions all match the visitor sets the team.
func (e *Engine) Route(ctx context.Context, conv *chat.Conversation) (*chat.Conversation, error) {
	if conv.TeamID != nil {
		return conv, nil
	}
	settings, err := e.store.RoutingSettings(ctx, conv.WorkspaceID)
	if err != nil || len(settings.Rules) == 0 {
		return conv, err
	}
	v, err := e.store.Visitor(ctx, conv.WorkspaceID, conv.VisitorID)
	if err != nil {
		return conv, err
	}
	for _, r := range settings.Rules {
		if Matches(r, conv, v) {
			team := r.TeamID
			got, msg, err := e.store.Assign(ctx, conv.WorkspaceID, conv.ID, nil, &team, "routing rules")
			if err != nil {
				return conv, err
			}
			e.notify(ctx, got, msg)
			return got, nil
		}
	}
	return conv, nil
}

// Matches reports whether every condition of a rule holds.
func Matches(r chat.RoutingRule, conv *chat.Conversation, v *chat.Visitor) bool {
	if r.SiteID != 0 && r.SiteID != conv.SiteID {
		return false
	}
	if r.URLPattern != "" && !GlobMatch(r.URLPattern, v.LastPage) {
		return false
	}
	if r.Language != "" {
		lang := strings.ToLower(v.Locale)
		want := strings.ToLower(r.Language)
		if lang != want && !strings.HasPrefix(lang, want+"-") {
			return false
		}
	}
	if r.Field != "" && !strings.EqualFold(visitorField(v, r.Field), r.Value) {
		return false
	}
	return true
}

// visitorField is a pre-chat field's value: name and email are kept on the
// visitor, every other field among the attributes.
func visitorField(v *chat.Visitor, field string) string {
	switch field {
	case "name":
		return v.Name
	case "email":
		return v.Email
	}
	return v.Attributes[field]
}

// GlobMatch matches s against a pattern where * stands for any run of
// characters (including "/"); everything else matches itself.
func GlobMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// QueuePosition is a visitor's place in the queue.
type QueuePosition struct {
	ConversationID int64 `json:"conversation_id"`
	Position       int   `json:"position"` // 1 = next
	EstimatedWait  int   `json:"estimated_wait_seconds"`
}

// Positions returns the place of every queued conversation in its team's
// queue, with a wait estimate from recent assignments.
func (e *Engine) Positions(ctx context.Context, workspaceID int64) ([]QueuePosition, error) {
	queue, err := e.store.QueuedConversations(ctx, workspaceID, 500)
	if err != nil {
		return nil, err
	}
	waits, err := e.store.AssignmentWaits(ctx, workspaceID, 20)
	if err != nil {
		return nil, err
	}
	// The typical wait per place in line: the median recent wait, at least
	// 30 seconds so an empty history does not promise "instantly".
	per := 30 * time.Second
	if len(waits) > 0 {
		slices.Sort(waits)
		per = max(per, waits[len(waits)/2])
	}
	seen := map[int64]int{}
	out := make([]QueuePosition, 0, len(queue))
	for _, c := range queue {
		team := teamOf(c)
		seen[team]++
		pos := seen[team]
		out = append(out, QueuePosition{ConversationID: c.ID, Position: pos, EstimatedWait: int((time.Duration(pos) * per).Seconds())})
	}
	return out, nil
}
