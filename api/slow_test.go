package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-chat/switchboard/api/realtime"
)

// TestSlowConsumerIsDisconnected: an agent whose socket never reads is cut
// off once its queue fills, while an agent that reads gets every event.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	e := newEnv(t)
	slowHTTP := e.loginAgent(e.admin.Email, e.password)
	fastHTTP := e.loginAgent(e.admin.Email, e.password)

	// The slow client: a websocket nobody ever reads from.
	slow, _, err := websocket.Dial(context.Background(), wsURL(e.URL, "/api/v1/agent/ws"), &websocket.DialOptions{
		HTTPClient: slowHTTP.hc, HTTPHeader: http.Header{"Origin": {e.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	fast := e.agentWS(fastHTTP)
	defer fast.close()

	before := metricValue(t, e.URL, `switchboard_ws_disconnects_total{reason="slow consumer"}`)
	pad := strings.Repeat("x", 16<<10)
	const total = 3000
	topic := fmt.Sprintf("w:%d", e.ws.ID)
	for i := 0; i < total; i++ {
		frame, _ := json.Marshal(map[string]any{"type": "typing", "n": i, "pad": pad})
		if err := e.hub.Publish(context.Background(), topic, &realtime.Event{Kind: "typing", Frame: frame}); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			time.Sleep(2 * time.Millisecond) // a busy, not pathological, stream
		}
	}
	// The reading agent got everything, in order.
	for i := 0; i < total; i++ {
		f := fast.next("typing")
		var body struct{ N int }
		json.Unmarshal(f.Raw, &body)
		if body.N != i {
			t.Fatalf("fast agent got event %d at position %d", body.N, i)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for metricValue(t, e.URL, `switchboard_ws_disconnects_total{reason="slow consumer"}`) <= before {
		if time.Now().After(deadline) {
			t.Fatal("the slow consumer was never disconnected")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metricValue reads one sample from /metrics (0 when absent).
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, series+" ") {
			var v float64
			fmt.Sscan(strings.TrimPrefix(line, series+" "), &v)
			return v
		}
	}
	return 0
}
