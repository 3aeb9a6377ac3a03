package api_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
	"github.com/switchboard-chat/switchboard/api/routing"
)

// testPresence keeps presence in the real Redis when
// SWITCHBOARD_TEST_REDIS_URL is set, else in an in-process one, under a
// prefix of its own.
func testPresence(t testing.TB, ttl time.Duration) *realtime.Presence {
	t.Helper()
	var client *redis.Client
	if u := os.Getenv("SWITCHBOARD_TEST_REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		client = redis.NewClient(opt)
	} else {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		client = redis.NewClient(&redis.Options{Addr: m.Addr()})
	}
	t.Cleanup(func() { client.Close() })
	return realtime.NewPresence(client, fmt.Sprintf("sbtest%d:", time.Now().UnixNano()), ttl)
}

// newRoutedEnv is newEnv with presence and the routing engine running, as
// `serve` wires them.
func newRoutedEnv(t testing.TB, cfg api.Config) *env {
	t.Helper()
	presence := testPresence(t, time.Minute)
	var e *env
	engine := routing.New(nil, presence, func(ctx context.Context, c *chat.Conversation, m *chat.Message) {
		e.srv.RoutingNotify(ctx, c, m)
	}, quiet)
	cfg.Presence, cfg.Routing = presence, engine
	e = newEnvWith(t, cfg)
	engine.SetStore(e.db)
	engine.AfterDrain = e.srv.PublishQueue
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); engine.Run(ctx, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// TestRoutingThroughTheAPI: a visitor's first message gets an online agent
// at once; with nobody online the visitor hears their place in the queue,
// and the queue drains the moment an agent comes online.
func TestRoutingThroughTheAPI(t *testing.T) {
	e := newRoutedEnv(t, api.Config{})
	agentHTTP := e.loginAgent(e.admin.Email, e.password)
	agent := e.agentWS(agentHTTP) // connected, and the seeded admin chose "online"

	_, vs := e.newVisitor(e.site)
	v := e.visitorWS(vs.Token)
	defer v.close()
	v.send(map[string]any{"type": "send", "id": "1", "client_id": "first", "body": "hi"})
	convID := v.expect("ack").Message.ConversationID
	for {
		m := v.expect("message")
		if m.Message.AuthorType == chat.AuthorSystem {
			if !contains(m.Raw, e.admin.Name+" joined") {
				t.Fatalf("assignment message: %s", m.Raw)
			}
			break
		}
	}
	var conv struct{ Conversation chat.Conversation }
	agentHTTP.do("GET", fmt.Sprintf("/api/v1/conversations/%d", convID), nil, &conv)
	if conv.Conversation.AssigneeID == nil || *conv.Conversation.AssigneeID != e.admin.ID {
		t.Fatalf("not assigned: %+v", conv.Conversation)
	}

	// Nobody online: queued, and told so.
	agent.close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var list struct{ Agents []chat.Agent }
		agentHTTP.do("GET", "/api/v1/agents", nil, &list)
		if i := slices.IndexFunc(list.Agents, func(a chat.Agent) bool { return a.ID == e.admin.ID }); i >= 0 && list.Agents[i].Status == chat.StatusOffline {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a disconnected agent still shows online")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, vs2 := e.newVisitor(e.site)
	v2 := e.visitorWS(vs2.Token)
	defer v2.close()
	v2.send(map[string]any{"type": "send", "id": "1", "client_id": "second", "body": "anyone?"})
	conv2 := v2.expect("ack").Message.ConversationID
	q := v2.expect("queue")
	if !contains(q.Raw, `"position":1`) || !contains(q.Raw, "estimated_wait_seconds") {
		t.Fatalf("queue frame: %s", q.Raw)
	}
	c2 := e.client()
	c2.auth = "Bearer " + vs2.Token
	var pos routing.QueuePosition
	c2.do("GET", fmt.Sprintf("/api/v1/widget/conversations/%d/queue", conv2), nil, &pos)
	if pos.Position != 1 || pos.EstimatedWait <= 0 {
		t.Fatalf("queue position: %+v", pos)
	}
	// The agent comes back: the queue drains at once.
	agent = e.agentWS(agentHTTP)
	defer agent.close()
	for {
		m := v2.expect("message")
		if m.Message.AuthorType == chat.AuthorSystem && contains(m.Raw, "joined") {
			break
		}
	}
}

// BenchmarkFirstMessageToAssigned measures, through the whole server, the
// time from a visitor's first message to the assignment reaching them, with
// agents available. Reports the p50 and p99 in milliseconds.
func BenchmarkFirstMessageToAssigned(b *testing.B) {
	e := newRoutedEnv(b, api.Config{FrameRate: 1e6, FrameBurst: 1e6})
	if err := e.db.SetAgentCapacity(context.Background(), e.ws.ID, e.admin.ID, 1000); err != nil {
		b.Fatal(err)
	}
	agent := e.agentWS(e.loginAgent(e.admin.Email, e.password))
	defer agent.close()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Straight into the store: b.N new visitors are more than one
		// address may create over HTTP (widget_limits.go).
		vs := e.seedVisitor(e.site)
		v := e.visitorWS(vs.Token)
		b.StartTimer()
		start := time.Now()
		v.send(map[string]any{"type": "send", "id": "1", "client_id": "c", "body": "hello"})
		for {
			m := v.next("message")
			if m.Message.AuthorType == chat.AuthorSystem {
				break
			}
		}
		lat = append(lat, time.Since(start))
		b.StopTimer()
		v.close()
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*90/100].Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func TestRoutingSettingsAPI(t *testing.T) {
	e := newRoutedEnv(t, api.Config{})
	admin := e.loginAgent(e.admin.Email, e.password)
	team := &chat.Team{WorkspaceID: e.ws.ID, Name: "VIP"}
	if err := e.db.CreateTeam(context.Background(), team); err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{"policy": "least_busy", "first_response_seconds": 120,
		"rules": []map[string]any{{"team_id": team.ID, "url_pattern": "*/enterprise*"}}}
	if st, body := admin.do("PUT", "/api/v1/routing", settings, nil); st != 200 {
		t.Fatalf("put routing: %d %s", st, body)
	}
	var got chat.RoutingSettings
	admin.do("GET", "/api/v1/routing", nil, &got)
	if got.Policy != "least_busy" || len(got.Rules) != 1 || got.Rules[0].TeamID != team.ID {
		t.Fatalf("routing settings: %+v", got)
	}
	admin.expectError("PUT", "/api/v1/routing", map[string]any{"policy": "random"}, 400, chat.EINVALID)
	admin.expectError("PUT", "/api/v1/routing", map[string]any{"rules": []map[string]any{{"team_id": 999999}}}, 404, chat.ENOTFOUND)
	if st, body := admin.do("PUT", fmt.Sprintf("/api/v1/teams/%d/routing", team.ID), map[string]any{"auto_assign": false}, nil); st != 200 {
		t.Fatalf("team routing: %d %s", st, body)
	}
	teams, _ := e.db.ListTeams(context.Background(), e.ws.ID)
	if len(teams) != 1 || teams[0].AutoAssign {
		t.Fatalf("team auto-assign still on: %+v", teams)
	}
	// Agents who are not admins cannot change routing.
	hash, _ := api.HashPassword("plain agent password")
	plain := &chat.Agent{WorkspaceID: e.ws.ID, Email: "plain@acme.test", Name: "Plain", Role: chat.RoleAgent, Status: chat.StatusOffline, Capacity: 1, Active: true, PasswordHash: hash}
	if err := e.db.CreateAgent(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	e.loginAgent(plain.Email, "plain agent password").expectError("PUT", "/api/v1/routing", settings, 403, chat.EFORBIDDEN)
}
