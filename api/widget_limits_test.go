package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
)

// clientFrom is a client whose connections come from the local address ip
// (127.0.0.2 ...: Linux answers on all of 127.0.0.0/8). The server trusts
// no forwarding header, so this is how a test is another client address.
func (e *env) clientFrom(ip string) *client {
	e.t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	conn, err := d.DialContext(context.Background(), "tcp", e.http.Listener.Addr().String())
	if err != nil {
		e.t.Skipf("cannot connect from %s on this system: %v", ip, err)
	}
	conn.Close()
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext}}}
}

// seedVisitor creates a visitor and its widget token in the store directly,
// for benchmarks that need more new visitors than one address may create
// over HTTP.
func (e *env) seedVisitor(site *chat.Site) visitorSession {
	e.t.Helper()
	ctx := context.Background()
	v := &chat.Visitor{WorkspaceID: site.WorkspaceID, SiteID: site.ID, LastSeenAt: time.Now(), Attributes: map[string]string{}}
	if err := e.db.CreateVisitor(ctx, v); err != nil {
		e.t.Fatal(err)
	}
	token, hash := api.NewToken("sbv_")
	if _, err := e.db.CreateVisitorSession(ctx, v.ID, site.ID, hash, time.Now().Add(time.Hour)); err != nil {
		e.t.Fatal(err)
	}
	return visitorSession{Token: token, Visitor: v}
}

// send is do that also returns the response headers.
func (c *client) send(method, path string, body any) (int, http.Header, []byte) {
	c.e.t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.e.URL+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// expectLimited checks a refusal: 429, code rate_limited, and a
// Retry-After of whole seconds within [1, max].
func expectLimited(t *testing.T, what string, st int, h http.Header, body []byte, max int) {
	t.Helper()
	var out apiError
	_ = json.Unmarshal(body, &out)
	if st != http.StatusTooManyRequests || out.Error.Code != chat.ERATELIMIT || out.Error.Message == "" {
		t.Fatalf("%s: got %d %s, want 429 rate_limited", what, st, body)
	}
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || secs < 1 || secs > max {
		t.Fatalf("%s: Retry-After %q, want whole seconds in [1, %d]", what, h.Get("Retry-After"), max)
	}
}

// count runs a COUNT(*) query with one argument on either dialect.
func (e *env) count(query string, arg int64) int {
	e.t.Helper()
	if e.db.Dialect() == store.DialectPostgres {
		query = strings.Replace(query, "?", "$1", 1)
	}
	var n int
	if err := e.db.SQL().QueryRowContext(context.Background(), query, arg).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// allowedBy is how many of a limit's tokens can have been spent by now: the
// burst plus what refilled while the test ran.
func allowedBy(burst int, every time.Duration, start time.Time) int {
	return burst + int(time.Since(start)/every)
}

// TestWidgetLimitNewVisitors: one address may create 20 visitors at once,
// then one every 6 s; the rest are refused with 429 and Retry-After, and
// store nothing. Returning visitors (valid token) and other addresses are
// not affected; a stale token and an identify that would start a fresh
// visitor count as new.
func TestWidgetLimitNewVisitors(t *testing.T) {
	e := newEnv(t)
	site := e.siteWith(func(s *chat.Site) { s.IdentitySecret = "limits-identity-secret" })
	visitors := func() int { return e.count("SELECT COUNT(*) FROM visitors WHERE site_id = ?", site.ID) }

	c := e.client()
	start := time.Now()
	created, refused := 0, 0
	var firstToken string
	for i := 0; i < 30; i++ {
		st, h, body := c.send("POST", "/api/v1/widget/sessions", map[string]string{"site": site.PublicKey})
		switch st {
		case http.StatusCreated:
			created++
			if firstToken == "" {
				var vs visitorSession
				_ = json.Unmarshal(body, &vs)
				firstToken = vs.Token
			}
		default:
			expectLimited(t, fmt.Sprintf("session %d", i+1), st, h, body, 6)
			refused++
		}
	}
	if created < 20 || created > allowedBy(20, 6*time.Second, start) || refused == 0 {
		t.Fatalf("created %d, refused %d sessions in %v; want 20 (plus refills) then refusals",
			created, refused, time.Since(start))
	}
	if n := visitors(); n != created {
		t.Fatalf("%d visitor rows after %d created sessions", n, created)
	}

	// A returning visitor resumes from the exhausted address.
	var resumed visitorSession
	if st, body := c.do("POST", "/api/v1/widget/sessions", map[string]string{"site": site.PublicKey, "token": firstToken}, &resumed); st != 200 || resumed.Token != firstToken {
		t.Fatalf("resume from the exhausted address: %d %s", st, body)
	}
	// A token that is no longer valid would make a new visitor: refused.
	st, h, body := c.send("POST", "/api/v1/widget/sessions", map[string]string{"site": site.PublicKey, "token": "sbv_no-such-token"})
	expectLimited(t, "stale token", st, h, body, 6)

	// Another address has its own budget.
	other := e.clientFrom("127.0.0.2")
	var vs visitorSession
	if st, body := other.do("POST", "/api/v1/widget/sessions", map[string]string{"site": site.PublicKey}, &vs); st != 201 {
		t.Fatalf("session from another address: %d %s", st, body)
	}
	other.auth = "Bearer " + vs.Token
	// Verified from there (no new row) ...
	var idOut identifyResponse
	if st, body := other.do("POST", "/api/v1/widget/identify", map[string]any{"id": "u-1", "hash": sign(site.IdentitySecret, "u-1")}, &idOut); st != 200 || !idOut.Visitor.Verified {
		t.Fatalf("verified identify: %d %s", st, body)
	}
	before := visitors()
	if before != created+1 {
		t.Fatalf("%d visitor rows, want %d", before, created+1)
	}
	// ... an unverified identity needs a fresh visitor: from the exhausted
	// address that is refused, like a new session.
	c.auth = "Bearer " + vs.Token
	st, h, body = c.send("POST", "/api/v1/widget/identify", map[string]any{"id": "someone-else"})
	expectLimited(t, "identify creating a visitor", st, h, body, 6)
	if n := visitors(); n != before {
		t.Fatalf("refused identify stored a visitor: %d rows, want %d", n, before)
	}
	// From an address with budget it works.
	if st, body := other.do("POST", "/api/v1/widget/identify", map[string]any{"id": "someone-else"}, &idOut); st != 200 || idOut.Visitor.ID == vs.Visitor.ID {
		t.Fatalf("identify creating a visitor from another address: %d %s", st, body)
	}
}

// TestWidgetLimitVisitorWrites: a visitor's writes (profile, new
// conversations, uploads, session resumes ...) share a bucket of 30 that
// refills at 1/s; refused writes change nothing; another visitor is not
// affected.
func TestWidgetLimitVisitorWrites(t *testing.T) {
	e := newEnv(t)
	a, avs := e.newVisitor(e.site)
	var conv struct {
		ID int64 `json:"id"`
	}
	if st, body := a.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c1"}, &conv); st != 201 {
		t.Fatalf("create conversation: %d %s", st, body)
	}
	start := time.Now()
	ok, last := 1, -1 // the conversation above took a token
	var refused bool
	for i := 0; i < 45; i++ {
		st, h, body := a.send("PATCH", "/api/v1/widget/visitor", map[string]any{"attributes": map[string]string{"n": strconv.Itoa(i)}})
		if st == 200 {
			ok, last = ok+1, i
			continue
		}
		expectLimited(t, fmt.Sprintf("patch %d", i), st, h, body, 1)
		refused = true
	}
	if !refused || ok < 30 || ok > allowedBy(30, time.Second, start) {
		t.Fatalf("%d writes allowed in %v, refused: %v; want 30 (plus refills) then refusals", ok, time.Since(start), refused)
	}
	v, err := e.db.Visitor(context.Background(), e.ws.ID, avs.Visitor.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Attributes["n"] != strconv.Itoa(last) {
		t.Fatalf("stored n=%q, want the last allowed write's %d", v.Attributes["n"], last)
	}

	// The same bucket covers the other writes.
	st, h, body := a.send("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c2"})
	expectLimited(t, "new conversation", st, h, body, 1)
	st, body = a.upload(fmt.Sprintf("/api/v1/widget/conversations/%d/attachments", conv.ID), "a.txt", []byte("hello"))
	if st != http.StatusTooManyRequests {
		t.Fatalf("upload: %d %s, want 429", st, body)
	}
	st, h, body = a.send("POST", "/api/v1/widget/sessions", map[string]string{"site": e.site.PublicKey, "token": avs.Token})
	expectLimited(t, "session resume", st, h, body, 1)
	if n := e.count("SELECT COUNT(*) FROM conversations WHERE visitor_id = ?", avs.Visitor.ID); n != 1 {
		t.Fatalf("%d conversations, want 1", n)
	}
	if n := e.count("SELECT COUNT(*) FROM attachments WHERE conversation_id = ?", conv.ID); n != 0 {
		t.Fatalf("%d attachments after a refused upload", n)
	}
	// Reads are not limited.
	if st, body := a.do("GET", fmt.Sprintf("/api/v1/widget/conversations/%d", conv.ID), nil, nil); st != 200 {
		t.Fatalf("read while limited: %d %s", st, body)
	}

	// Another visitor on the same address is not affected.
	b, _ := e.newVisitor(e.site)
	if st, body := b.do("PATCH", "/api/v1/widget/visitor", map[string]any{"name": "Bea"}, nil); st != 200 {
		t.Fatalf("other visitor: %d %s", st, body)
	}

	// After Retry-After the visitor may write again.
	time.Sleep(1100 * time.Millisecond)
	if st, body := a.do("PATCH", "/api/v1/widget/visitor", map[string]any{"name": "Ann"}, nil); st != 200 {
		t.Fatalf("after waiting: %d %s", st, body)
	}
}

// TestWidgetLimitRESTSends: REST sends are limited per visitor with the
// websocket's frame limit (here lowered to 1/s with bursts of 5), so REST is
// no way around it; refused sends store nothing and may be retried with the
// same client_id.
func TestWidgetLimitRESTSends(t *testing.T) {
	e := newEnvWith(t, api.Config{FrameRate: 1, FrameBurst: 5})
	a, _ := e.newVisitor(e.site)
	var conv struct {
		ID int64 `json:"id"`
	}
	if st, body := a.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c1"}, &conv); st != 201 {
		t.Fatalf("create conversation: %d %s", st, body)
	}
	path := fmt.Sprintf("/api/v1/widget/conversations/%d/messages", conv.ID)
	start := time.Now()
	sent, refusedID := 0, ""
	for i := 0; i < 12; i++ {
		id := fmt.Sprint("m", i)
		st, h, body := a.send("POST", path, map[string]string{"client_id": id, "body": "hello " + id})
		if st == 201 {
			sent++
			continue
		}
		expectLimited(t, "send "+id, st, h, body, 1)
		if refusedID == "" {
			refusedID = id
		}
	}
	if refusedID == "" || sent < 5 || sent > allowedBy(5, time.Second, start) {
		t.Fatalf("%d sends allowed in %v; want 5 (plus refills) then refusals", sent, time.Since(start))
	}
	if n := e.count("SELECT COUNT(*) FROM messages WHERE author_type = 'visitor' AND conversation_id = ?", conv.ID); n != sent {
		t.Fatalf("%d messages stored after %d allowed sends", n, sent)
	}

	// Another visitor sends at once.
	b, _ := e.newVisitor(e.site)
	var bconv struct {
		ID int64 `json:"id"`
	}
	b.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "b1"}, &bconv)
	if st, body := b.do("POST", fmt.Sprintf("/api/v1/widget/conversations/%d/messages", bconv.ID), map[string]string{"client_id": "x", "body": "hi"}, nil); st != 201 {
		t.Fatalf("other visitor's send: %d %s", st, body)
	}

	// The refused message goes through on retry.
	time.Sleep(1100 * time.Millisecond)
	if st, body := a.do("POST", path, map[string]string{"client_id": refusedID, "body": "hello " + refusedID}, nil); st != 201 {
		t.Fatalf("retry of %s: %d %s", refusedID, st, body)
	}
}

// TestWidgetLimitTranscripts: a visitor may ask for 5 transcript emails,
// then one every 10 minutes; a refused request queues nothing.
func TestWidgetLimitTranscripts(t *testing.T) {
	e := newEnv(t)
	a, _ := e.newVisitor(e.site)
	var conv struct {
		ID int64 `json:"id"`
	}
	if st, body := a.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c1"}, &conv); st != 201 {
		t.Fatalf("create conversation: %d %s", st, body)
	}
	outbox := func() int {
		return e.count("SELECT COUNT(*) FROM outbox WHERE topic = '"+chat.EventTranscriptRequested+"' AND workspace_id = ?", e.ws.ID)
	}
	path := fmt.Sprintf("/api/v1/widget/conversations/%d/transcript", conv.ID)
	for i := 0; i < 5; i++ {
		if st, body := a.do("POST", path, map[string]string{"email": "ann@example.com"}, nil); st != 202 {
			t.Fatalf("transcript %d: %d %s", i+1, st, body)
		}
	}
	st, h, body := a.send("POST", path, map[string]string{"email": "victim@example.com"})
	expectLimited(t, "sixth transcript", st, h, body, 600)
	if n := outbox(); n != 5 {
		t.Fatalf("%d transcript requests queued, want 5", n)
	}
}

// TestTrustedProxies: behind a configured proxy each visitor's own address
// (from X-Forwarded-For) has its own new-visitor budget; without the
// setting the header is ignored, so nobody can spoof their way past it.
func TestTrustedProxies(t *testing.T) {
	session := func(e *env, xff string) int {
		t.Helper()
		c := e.client()
		c.extra = [2]string{"X-Forwarded-For", xff}
		st, _ := c.do("POST", "/api/v1/widget/sessions", map[string]string{"site": e.site.PublicKey}, nil)
		return st
	}
	behind := newEnvWith(t, api.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	for i := range 40 { // 40 visitors behind one proxy, each from their own address
		if st := session(behind, fmt.Sprintf("203.0.113.%d", i+1)); st != http.StatusCreated {
			t.Fatalf("visitor %d behind the trusted proxy: %d", i+1, st)
		}
	}
	for i := range 25 { // one address still has its own limit
		st := session(behind, "198.51.100.7")
		if i < 20 && st != http.StatusCreated || i >= 21 && st != http.StatusTooManyRequests {
			t.Fatalf("request %d from one address behind the proxy: %d", i+1, st)
		}
	}
	direct := newEnv(t)
	refused := 0
	for i := range 25 { // no trusted proxies: a forged header changes nothing
		if session(direct, fmt.Sprintf("203.0.113.%d", i+1)) == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("X-Forwarded-For from an untrusted peer bypassed the per-address limit")
	}
}
