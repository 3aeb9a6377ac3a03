package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api"
)

// readyz fetches /readyz: its status and decoded body.
func readyz(t *testing.T, base string) (int, map[string]any, string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("/readyz: undecodable body %q: %v", data, err)
	}
	return resp.StatusCode, body, string(data)
}

// TestReadyz: /readyz is 200 while the database and every ready check
// answer, and 503 naming the dependency that does not.
func TestReadyz(t *testing.T) {
	var redisDown atomic.Bool
	e := newEnvWith(t, api.Config{ReadyChecks: map[string]func(context.Context) error{
		"redis": func(context.Context) error {
			if redisDown.Load() {
				return errors.New("dial tcp 10.0.0.9:6379: connection refused")
			}
			return nil
		},
	}})
	checks := func(body map[string]any) map[string]any {
		c, _ := body["checks"].(map[string]any)
		return c
	}

	st, body, raw := readyz(t, e.URL)
	if st != http.StatusOK || body["ready"] != true || checks(body)["database"] != "ok" || checks(body)["redis"] != "ok" {
		t.Fatalf("all up: %d %s, want 200 with database and redis ok", st, raw)
	}

	// A failing check: 503, and the body says which dependency and why.
	redisDown.Store(true)
	st, body, raw = readyz(t, e.URL)
	if st != http.StatusServiceUnavailable || body["ready"] != false {
		t.Fatalf("redis down: %d %s, want 503 not ready", st, raw)
	}
	if msg, _ := checks(body)["redis"].(string); !strings.Contains(msg, "connection refused") {
		t.Errorf("redis down: checks.redis = %q, want the cause", msg)
	}
	if checks(body)["database"] != "ok" {
		t.Errorf("redis down: checks.database = %v, want ok (only redis failed)", checks(body)["database"])
	}

	// Recovers once the dependency is back.
	redisDown.Store(false)
	if st, _, raw := readyz(t, e.URL); st != http.StatusOK {
		t.Fatalf("redis back: %d %s, want 200", st, raw)
	}

	// The database gone: 503 naming the database.
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	st, body, raw = readyz(t, e.URL)
	if st != http.StatusServiceUnavailable || body["ready"] != false {
		t.Fatalf("database closed: %d %s, want 503 not ready", st, raw)
	}
	if msg, _ := checks(body)["database"].(string); !strings.Contains(msg, "database unavailable") {
		t.Errorf("database closed: checks.database = %q, want it to say the database is unavailable", msg)
	}
	if checks(body)["redis"] != "ok" {
		t.Errorf("database closed: checks.redis = %v, want ok", checks(body)["redis"])
	}
}

// TestMetricsAfterTraffic: after a websocket connection and a message,
// /metrics shows the connection gauge, the message counter and the latency
// histograms with non-zero values. The registry is process-wide, so the
// counters are compared with their values before the traffic.
func TestMetricsAfterTraffic(t *testing.T) {
	e := newEnv(t)
	const (
		agentConns    = `switchboard_ws_connections{kind="agent"}`
		visitorConns  = `switchboard_ws_connections{kind="visitor"}`
		visitorTexts  = `switchboard_messages_total{author="visitor",kind="text"}`
		commitCount   = `switchboard_message_commit_seconds_count`
		commitSum     = `switchboard_message_commit_seconds_sum`
		sessionsCount = `switchboard_http_request_duration_seconds_count{method="POST",route="/api/v1/widget/sessions",status="201"}`
	)
	agentsBefore := metricValue(t, e.URL, agentConns)
	visitorsBefore := metricValue(t, e.URL, visitorConns)
	textsBefore := metricValue(t, e.URL, visitorTexts)
	commitsBefore := metricValue(t, e.URL, commitCount)
	sessionsBefore := metricValue(t, e.URL, sessionsCount)

	agent := e.agentWS(e.loginAgent(e.admin.Email, e.password))
	defer agent.close()
	_, vs := e.newVisitor(e.site)
	visitor := e.visitorWS(vs.Token)
	defer visitor.close()
	visitor.send(map[string]any{"type": "send", "id": "m1", "client_id": "metrics-1", "body": "Hello, metrics"})
	if ack := visitor.expect("ack"); ack.Message == nil {
		t.Fatalf("bad ack: %s", ack.Raw)
	}
	agent.expect("message")

	if got := metricValue(t, e.URL, agentConns); got < agentsBefore+1 || got < 1 {
		t.Errorf("%s = %v with an agent connected, was %v", agentConns, got, agentsBefore)
	}
	if got := metricValue(t, e.URL, visitorConns); got < visitorsBefore+1 || got < 1 {
		t.Errorf("%s = %v with a visitor connected, was %v", visitorConns, got, visitorsBefore)
	}
	if got := metricValue(t, e.URL, visitorTexts); got != textsBefore+1 {
		t.Errorf("%s = %v after one message, was %v", visitorTexts, got, textsBefore)
	}
	if got := metricValue(t, e.URL, commitCount); got < commitsBefore+1 {
		t.Errorf("%s = %v after one message, was %v", commitCount, got, commitsBefore)
	}
	if got := metricValue(t, e.URL, commitSum); got <= 0 {
		t.Errorf("%s = %v, want > 0", commitSum, got)
	}
	if got := metricValue(t, e.URL, sessionsCount); got < sessionsBefore+1 {
		t.Errorf("%s = %v after a widget session, was %v", sessionsCount, got, sessionsBefore)
	}
	// The histograms expose their buckets.
	page := scrapeMetrics(t, e.URL)
	for _, name := range []string{"switchboard_message_commit_seconds_bucket{le=", "switchboard_http_request_duration_seconds_bucket{"} {
		if !strings.Contains(page, name) {
			t.Errorf("/metrics lacks %s...", name)
		}
	}

	// The gauge goes back down when the connections close.
	agent.close()
	visitor.close()
	deadline := time.Now().Add(10 * time.Second)
	for metricValue(t, e.URL, agentConns) > agentsBefore || metricValue(t, e.URL, visitorConns) > visitorsBefore {
		if time.Now().After(deadline) {
			t.Fatalf("connection gauges stay at agent %v, visitor %v after the sockets closed (were %v, %v)",
				metricValue(t, e.URL, agentConns), metricValue(t, e.URL, visitorConns), agentsBefore, visitorsBefore)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func scrapeMetrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	return string(data)
}

// logBuffer collects log output written from the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestRequestLogIsJSONWithRequestID: every request is logged as one JSON
// line carrying the request id the response also returns in X-Request-ID
// (generated, or the caller's own).
func TestRequestLogIsJSONWithRequestID(t *testing.T) {
	var logs logBuffer
	e := newEnvWith(t, api.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	// httpLine waits for the "http" log line of a request with this id.
	httpLine := func(id string) map[string]any {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			sc := bufio.NewScanner(strings.NewReader(logs.String()))
			for sc.Scan() {
				var line map[string]any
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
				}
				if line["msg"] == "http" && line["request_id"] == id {
					return line
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no JSON http log line with request_id %q in:\n%s", id, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// A generated id.
	resp, err := http.Get(e.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Request-ID")
	if id == "" {
		t.Fatal("no X-Request-ID in the response")
	}
	line := httpLine(id)
	if line["method"] != "GET" || line["path"] != "/api/v1/openapi.json" || line["status"] != float64(200) || line["level"] != "INFO" {
		t.Errorf("log line %v: want method GET, path /api/v1/openapi.json, status 200, level INFO", line)
	}
	if _, ok := line["duration_ms"].(float64); !ok {
		t.Errorf("log line %v lacks a numeric duration_ms", line)
	}

	// The caller's own id (e.g. from a proxy) is kept and logged, errors included.
	req, _ := http.NewRequest("GET", e.URL+"/api/v1/conversations", nil)
	req.Header.Set("X-Request-ID", "trace-4711")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-ID"); got != "trace-4711" {
		t.Errorf("X-Request-ID = %q, want the caller's trace-4711", got)
	}
	if line := httpLine("trace-4711"); line["status"] != float64(resp.StatusCode) || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated request: response %d, log line %v; want 401 in both", resp.StatusCode, line)
	}
}
