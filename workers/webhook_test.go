package workers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/workers"
)

// verify is what a receiver does with the signature header (docs/webhooks.md).
func verify(secret, header string, body []byte) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(m.Sum(nil))
	return ts != "" && hmac.Equal([]byte(sig), []byte(want))
}

func TestWebhookDelivery(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)

	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	status := 500
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, body)
		code := status
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer receiver.Close()

	hook := &chat.Webhook{WorkspaceID: fx.Workspace.ID, URL: receiver.URL + "/hook", Secret: "whsec_test", Events: []string{chat.EventMessageCreated}}
	if err := db.CreateWebhook(ctx, hook); err != nil {
		t.Fatal(err)
	}
	other := &chat.Webhook{WorkspaceID: fx.Workspace.ID, URL: receiver.URL + "/closed-only", Secret: "x", Events: []string{chat.EventConversationClosed}}
	db.CreateWebhook(ctx, other)

	// Fan-out enqueues one task per subscribed endpoint.
	var enqueued []*asynq.Task
	fan := workers.WebhookFanout(db, enqueuerFunc(func(t *asynq.Task) { enqueued = append(enqueued, t) }))
	p := workers.OutboxPayload{EventID: 77, WorkspaceID: fx.Workspace.ID, Topic: chat.EventMessageCreated, Data: json.RawMessage(`{"seq":1}`)}
	if err := fan(ctx, p); err != nil {
		t.Fatal(err)
	}
	if len(enqueued) != 1 {
		t.Fatalf("%d deliveries enqueued, want 1 (the other endpoint filters the event out)", len(enqueued))
	}

	// Loopback is refused unless allow-listed (the test receiver is on 127.0.0.1).
	blocked := &workers.WebhookDeliverer{Store: db, Client: workers.NewWebhookClient(nil)}
	err := blocked.ProcessTask(ctx, enqueued[0])
	if err == nil || !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("delivery to loopback: %v", err)
	}
	mu.Lock()
	if len(got) != 0 {
		t.Fatal("a request reached a loopback address")
	}
	mu.Unlock()

	allowed := &workers.WebhookDeliverer{Store: db, Client: workers.NewWebhookClient([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})}
	// The endpoint fails first: an error, so Asynq retries.
	if err := allowed.ProcessTask(ctx, enqueued[0]); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("a 500 must be retried: %v", err)
	}
	mu.Lock()
	status = 204
	mu.Unlock()
	if err := allowed.ProcessTask(ctx, enqueued[0]); err != nil {
		t.Fatalf("delivery: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	last := got[len(got)-1]
	if last.Header.Get("X-Switchboard-Event") != chat.EventMessageCreated || last.Header.Get("X-Switchboard-Delivery") == "" {
		t.Fatalf("headers: %v", last.Header)
	}
	if !verify("whsec_test", last.Header.Get("X-Switchboard-Signature"), bodies[len(bodies)-1]) {
		t.Fatal("signature does not verify")
	}
	if verify("wrong", last.Header.Get("X-Switchboard-Signature"), bodies[len(bodies)-1]) {
		t.Fatal("signature verifies with the wrong secret")
	}
	// The delivery log has every attempt with its outcome.
	log, err := db.WebhookDeliveries(ctx, fx.Workspace.ID, hook.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || log[0].StatusCode != 204 || log[1].StatusCode != 500 || !strings.Contains(log[2].Error, "private") {
		t.Fatalf("delivery log: %+v %+v %+v", log[0], log[1], log[2])
	}
}

func TestWebhookClientRefusesPrivateTargets(t *testing.T) {
	c := workers.NewWebhookClient(nil)
	for _, target := range []string{"http://127.0.0.1:1/", "http://[::1]:1/", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/", "http://192.168.0.1/", "http://localhost:1/"} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", target, nil)
		_, err := c.Do(req)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "private") {
			t.Errorf("%s: got %v, want a refusal", target, err)
		}
	}
}

type enqueuerFunc func(*asynq.Task)

func (f enqueuerFunc) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	f(t)
	return &asynq.TaskInfo{}, nil
}
