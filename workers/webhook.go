package workers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// TypeWebhookDeliver delivers one outbox event to one webhook endpoint.
const TypeWebhookDeliver = "webhook:deliver"

// WebhookPayload is the payload of a TypeWebhookDeliver task.
type WebhookPayload struct {
	WebhookID   int64           `json:"webhook_id"`
	WorkspaceID int64           `json:"workspace_id"`
	EventID     int64           `json:"event_id"`
	Topic       string          `json:"topic"`
	Data        json.RawMessage `json:"data"`
}

// NewWebhookTask builds a delivery; its id makes a repeat enqueue a no-op.
func NewWebhookTask(p WebhookPayload) (*asynq.Task, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeWebhookDeliver, data, asynq.TaskID(fmt.Sprintf("webhook:%d:%d", p.EventID, p.WebhookID)),
		asynq.MaxRetry(10), asynq.Timeout(30*time.Second), asynq.Retention(24*time.Hour)), nil
}

// WebhookStore is what webhook jobs need from storage.
type WebhookStore interface {
	Webhooks(ctx context.Context, workspaceID int64) ([]*chat.Webhook, error)
	Webhook(ctx context.Context, workspaceID, id int64) (*chat.Webhook, error)
	AddWebhookDelivery(ctx context.Context, d *chat.WebhookDelivery) error
}

// WebhookFanout is the TopicHandler that turns an event into one delivery
// task per subscribed endpoint.
func WebhookFanout(store WebhookStore, queue Enqueuer) TopicHandler {
	return func(ctx context.Context, p OutboxPayload) error {
		hooks, err := store.Webhooks(ctx, p.WorkspaceID)
		if err != nil {
			return err
		}
		for _, h := range hooks {
			if !h.Active || (len(h.Events) > 0 && !slices.Contains(h.Events, p.Topic)) {
				continue
			}
			task, err := NewWebhookTask(WebhookPayload{WebhookID: h.ID, WorkspaceID: p.WorkspaceID, EventID: p.EventID, Topic: p.Topic, Data: p.Data})
			if err != nil {
				return err
			}
			if _, err := queue.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
				return err
			}
		}
		return nil
	}
}

// WebhookDeliverer posts events to endpoints with a signature, logs every
// attempt, and refuses private network targets.
type WebhookDeliverer struct {
	Store  WebhookStore
	Client *http.Client // from NewWebhookClient
	Now    func() time.Time
}

// Sign returns the X-Switchboard-Signature header value for a body:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ProcessTask implements asynq.Handler.
func (d *WebhookDeliverer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p WebhookPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.WebhookID == 0 {
		jobsProcessed.WithLabelValues(t.Type(), "bad_payload").Inc()
		return fmt.Errorf("bad webhook payload: %v: %w", err, asynq.SkipRetry)
	}
	hook, err := d.Store.Webhook(ctx, p.WorkspaceID, p.WebhookID)
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil // deleted since: nothing to deliver
	} else if err != nil {
		return err
	}
	if !hook.Active {
		return nil
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	body, _ := json.Marshal(map[string]any{"id": p.EventID, "topic": p.Topic, "workspace_id": p.WorkspaceID, "data": p.Data})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %d: %v: %w", hook.ID, err, asynq.SkipRetry)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhooks/1")
	req.Header.Set("X-Switchboard-Event", p.Topic)
	// The delivery id lets receivers drop a repeat (at-least-once delivery).
	req.Header.Set("X-Switchboard-Delivery", fmt.Sprintf("%d-%d", p.EventID, hook.ID))
	req.Header.Set("X-Switchboard-Signature", Sign(hook.Secret, now(), body))
	attempt, _ := asynq.GetRetryCount(ctx)
	start := time.Now()
	resp, err := d.Client.Do(req)
	log := &chat.WebhookDelivery{WebhookID: hook.ID, EventID: p.EventID, Topic: p.Topic, Attempt: attempt + 1}
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		log.StatusCode = resp.StatusCode
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			err = fmt.Errorf("endpoint answered %d", resp.StatusCode)
		}
	}
	if err != nil {
		log.Error = err.Error()
	}
	log.DurationMS = int(time.Since(start).Milliseconds())
	if lerr := d.Store.AddWebhookDelivery(context.WithoutCancel(ctx), log); lerr != nil {
		return errors.Join(err, lerr)
	}
	if errors.Is(err, errBlockedAddress) {
		jobsProcessed.WithLabelValues(t.Type(), "blocked").Inc()
		return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		jobsProcessed.WithLabelValues(t.Type(), "error").Inc()
		return err // Asynq retries with backoff
	}
	jobsProcessed.WithLabelValues(t.Type(), "ok").Inc()
	return nil
}

var errBlockedAddress = errors.New("webhook target is a private, loopback, link-local or metadata address")

// NewWebhookClient returns an HTTP client that only connects to public
// addresses: every connection (including each redirect) resolves the host
// and checks the address it actually dials, so DNS tricks do not get
// around it. allow lists networks that are allowed anyway (on-premise
// targets).
func NewWebhookClient(allow []netip.Prefix) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	transport := &http.Transport{
		Proxy: nil, // a proxy would hide the real target from the check
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			for _, ip := range ips {
				if blocked(ip.Unmap(), allow) {
					continue
				}
				return dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
			}
			return nil, fmt.Errorf("%s: %w", host, errBlockedAddress)
		},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil // the dialer checks the new target
		},
	}
}

var metadataAddr = netip.MustParseAddr("169.254.169.254")

// blocked reports whether ip is not a public unicast address.
func blocked(ip netip.Addr, allow []netip.Prefix) bool {
	for _, p := range allow {
		if p.Contains(ip) {
			return false
		}
	}
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() || ip == metadataAddr ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(ip) || // carrier-grade NAT
		netip.MustParsePrefix("0.0.0.0/8").Contains(ip)
}
