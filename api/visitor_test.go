package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/widget"
)

func sign(secret, id string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

type identifyResponse struct {
	Token   string        `json:"token"`
	Visitor *chat.Visitor `json:"visitor"`
}

func (e *env) siteWith(mut func(*chat.Site)) *chat.Site {
	e.t.Helper()
	site := &chat.Site{WorkspaceID: e.ws.ID, Name: "Shop", PublicKey: fmt.Sprintf("shop%d", time.Now().UnixNano())}
	mut(site)
	if err := e.db.CreateSite(context.Background(), site); err != nil {
		e.t.Fatal(err)
	}
	return site
}

func TestIdentify(t *testing.T) {
	e := newEnv(t)
	const secret = "s3cret-identity-key"
	site := e.siteWith(func(s *chat.Site) { s.IdentitySecret = secret })

	// Anonymous visitor chats, then logs in on the site: verified, history kept.
	alice, _ := e.newVisitor(site)
	var conv struct{ ID int64 }
	alice.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c1"}, &conv)
	var out identifyResponse
	st, body := alice.do("POST", "/api/v1/widget/identify", map[string]any{"id": "user-42", "email": "alice@example.com", "name": "Alice", "hash": sign(secret, "user-42")}, &out)
	if st != 200 || !out.Visitor.Verified || out.Visitor.Email != "alice@example.com" || out.Token != alice.auth[7:] {
		t.Fatalf("verified identify: %d %s", st, body)
	}

	// A wrong hash is refused, and nothing changes.
	mallory, _ := e.newVisitor(site)
	mallory.expectError("POST", "/api/v1/widget/identify", map[string]any{"id": "user-42", "hash": sign("wrong", "user-42")}, 403, chat.EFORBIDDEN)
	// Without a hash (verification optional here) mallory gets an unverified
	// identity of their own, never Alice's visitor or conversations.
	st, body = mallory.do("POST", "/api/v1/widget/identify", map[string]any{"id": "user-42", "name": "Alice?"}, &out)
	if st != 200 || out.Visitor.Verified {
		t.Fatalf("unverified identify: %d %s", st, body)
	}
	var list struct{ Conversations []struct{ ID int64 } }
	mallory.auth = "Bearer " + out.Token
	mallory.do("GET", "/api/v1/widget/conversations", nil, &list)
	if len(list.Conversations) != 0 {
		t.Fatalf("unverified identity sees %d conversations of the verified visitor", len(list.Conversations))
	}

	// Alice on a second browser: the verified identify resumes her visitor
	// with a new token, and her conversation follows her.
	second, _ := e.newVisitor(site)
	st, body = second.do("POST", "/api/v1/widget/identify", map[string]any{"id": "user-42", "hash": sign(secret, "user-42")}, &out)
	if st != 200 || out.Token == second.auth[7:] {
		t.Fatalf("second browser identify: %d %s", st, body)
	}
	second.auth = "Bearer " + out.Token
	second.do("GET", "/api/v1/widget/conversations", nil, &list)
	if len(list.Conversations) != 1 || list.Conversations[0].ID != conv.ID {
		t.Fatalf("verified visitor's history did not follow: %+v", list)
	}
	// An unverified identify on a verified visitor's browser never changes
	// the verified visitor.
	st, _ = alice.do("POST", "/api/v1/widget/identify", map[string]any{"id": "someone-else", "email": "evil@example.com"}, &out)
	if st != 200 || out.Visitor.Verified || out.Token == alice.auth[7:] {
		t.Fatalf("unverified identify on a verified browser must get a fresh visitor: %d %+v", st, out)
	}
	v, _, err := e.db.VisitorBySession(context.Background(), hashOf(alice.auth[7:]))
	if err != nil || v.Email != "alice@example.com" || !v.Verified {
		t.Fatalf("verified visitor changed: %+v %v", v, err)
	}
	// The verified visitor's email cannot be rewritten from the page.
	alice.do("PATCH", "/api/v1/widget/visitor", map[string]any{"email": "evil@example.com", "attributes": map[string]string{"plan": "pro"}}, nil)
	v, _, _ = e.db.VisitorBySession(context.Background(), hashOf(alice.auth[7:]))
	if v.Email != "alice@example.com" || v.Attributes["plan"] != "pro" {
		t.Fatalf("patch on verified visitor: %+v", v)
	}

	// A site that makes verification mandatory refuses identify without a hash.
	strict := e.siteWith(func(s *chat.Site) { s.IdentitySecret = secret; s.IdentityRequired = true })
	bob, _ := e.newVisitor(strict)
	bob.expectError("POST", "/api/v1/widget/identify", map[string]any{"id": "bob"}, 403, chat.EFORBIDDEN)
	if st, body := bob.do("POST", "/api/v1/widget/identify", map[string]any{"id": "bob", "hash": sign(secret, "bob")}, &out); st != 200 || !out.Visitor.Verified {
		t.Fatalf("strict site, good hash: %d %s", st, body)
	}
	bob.expectError("POST", "/api/v1/widget/identify", map[string]any{"id": ""}, 400, chat.EINVALID)
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func TestVisitorProfileAvailabilityAndPages(t *testing.T) {
	e := newEnv(t)
	agentHTTP := e.loginAgent(e.admin.Email, e.password)
	agent := e.agentWS(agentHTTP)
	defer agent.close()
	v, vs := e.newVisitor(e.site)

	var prof chat.Visitor
	if st, body := v.do("PATCH", "/api/v1/widget/visitor", map[string]any{"name": "Dana", "email": "dana@example.com", "attributes": map[string]string{"plan": "trial"}, "locale": "fr"}, &prof); st != 200 || prof.Name != "Dana" || prof.Attributes["plan"] != "trial" {
		t.Fatalf("patch visitor: %d %s", st, body)
	}
	if f := agent.expect("visitor.updated"); !contains(f.Raw, "Dana") {
		t.Fatalf("agents not told: %s", f.Raw)
	}
	v.expectError("PATCH", "/api/v1/widget/visitor", map[string]any{"email": "not an email"}, 400, chat.EINVALID)

	// The seeded admin is online: chat is available. Offline: the widget
	// shows the offline form.
	var a struct {
		Online       bool `json:"online"`
		AgentsOnline int  `json:"agents_online"`
	}
	v.do("GET", "/api/v1/widget/availability", nil, &a)
	if !a.Online || a.AgentsOnline != 1 {
		t.Fatalf("availability with an agent online: %+v", a)
	}
	if err := e.db.SetAgentStatus(context.Background(), e.ws.ID, e.admin.ID, chat.StatusOffline); err != nil {
		t.Fatal(err)
	}
	v.do("GET", "/api/v1/widget/availability", nil, &a)
	if a.Online {
		t.Fatalf("availability with nobody online: %+v", a)
	}
	// Outside business hours counts as offline too.
	e.db.SetAgentStatus(context.Background(), e.ws.ID, e.admin.ID, chat.StatusOnline)
	closedSite := e.siteWith(func(s *chat.Site) {
		s.Settings.Timezone = "Asia/Tokyo"
		s.Settings.BusinessHours = []chat.BusinessHours{{Day: int((time.Now().In(mustLoc(t, "Asia/Tokyo")).Weekday() + 3) % 7), Open: "09:00", Shut: "17:00"}}
	})
	var sess struct {
		Availability struct {
			Online      bool `json:"online"`
			WithinHours bool `json:"within_hours"`
		} `json:"availability"`
	}
	e.client().do("POST", "/api/v1/widget/sessions", map[string]string{"site": closedSite.PublicKey}, &sess)
	if sess.Availability.Online || sess.Availability.WithinHours {
		t.Fatalf("outside business hours: %+v", sess.Availability)
	}

	// Page tracking over the socket reaches agents and the visitor record.
	w := e.visitorWS(vs.Token)
	defer w.close()
	w.send(map[string]any{"type": "page", "url": "https://shop.example/pricing?plan=pro", "title": "Pricing"})
	if f := agent.expect("visitor.page"); !contains(f.Raw, "/pricing") {
		t.Fatalf("page event: %s", f.Raw)
	}
	got, _ := e.db.Visitor(context.Background(), e.ws.ID, prof.ID)
	if got.LastPage != "https://shop.example/pricing?plan=pro" {
		t.Fatalf("last page %q", got.LastPage)
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRatingAndTranscriptRequests(t *testing.T) {
	e := newEnv(t)
	agent := e.loginAgent(e.admin.Email, e.password)
	v, _ := e.newVisitor(e.site)
	other, _ := e.newVisitor(e.site)
	var conv struct{ ID int64 }
	v.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c"}, &conv)
	rating := fmt.Sprintf("/api/v1/widget/conversations/%d/rating", conv.ID)

	v.expectError("POST", rating, map[string]any{"score": 5}, 409, chat.ECONFLICT) // still open
	agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", conv.ID), nil, nil)
	v.expectError("POST", rating, map[string]any{"score": 9}, 400, chat.EINVALID)
	other.expectError("POST", rating, map[string]any{"score": 1}, 404, chat.ENOTFOUND)
	var rated struct{ Rating *int }
	if st, body := v.do("POST", rating, map[string]any{"score": 4, "comment": "quick and kind"}, &rated); st != 200 || rated.Rating == nil || *rated.Rating != 4 {
		t.Fatalf("rate: %d %s", st, body)
	}
	var full struct{ Conversation chat.Conversation }
	agent.do("GET", fmt.Sprintf("/api/v1/conversations/%d", conv.ID), nil, &full)
	if full.Conversation.RatingComment != "quick and kind" {
		t.Fatalf("agent sees %+v", full.Conversation)
	}

	tr := fmt.Sprintf("/api/v1/widget/conversations/%d/transcript", conv.ID)
	v.expectError("POST", tr, map[string]any{"email": "nope"}, 400, chat.EINVALID)
	other.expectError("POST", tr, map[string]any{"email": "x@example.com"}, 404, chat.ENOTFOUND)
	if st, body := v.do("POST", tr, map[string]any{"email": "me@example.com"}, nil); st != 202 {
		t.Fatalf("transcript: %d %s", st, body)
	}
	// Both became outbox work for the jobs.
	pending, err := e.db.PendingOutbox(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	topics := map[string]map[string]any{}
	for _, ev := range pending {
		var p map[string]any
		json.Unmarshal(ev.Payload, &p)
		topics[ev.Topic] = p
	}
	if topics[chat.EventRatingSubmitted]["score"] != 4.0 || topics[chat.EventTranscriptRequested]["email"] != "me@example.com" {
		t.Fatalf("outbox: %v", topics)
	}
}

func TestSiteUploadLimit(t *testing.T) {
	e := newEnv(t)
	site := e.siteWith(func(s *chat.Site) { s.Settings.MaxUploadBytes = 1000 })
	v, _ := e.newVisitor(site)
	var conv struct{ ID int64 }
	v.do("POST", "/api/v1/widget/conversations", map[string]string{"client_id": "c"}, &conv)
	path := fmt.Sprintf("/api/v1/widget/conversations/%d/attachments", conv.ID)
	if st, body := v.upload(path, "ok.txt", make([]byte, 900)); st != 201 {
		t.Fatalf("small upload: %d %s", st, body)
	}
	st, body := v.upload(path, "big.txt", make([]byte, 1100))
	if st != 413 || !contains(body, "1000 bytes") {
		t.Fatalf("over the site's limit: %d %s", st, body)
	}
}

// TestAllowedOriginsForTheWidget: a site listing allowed origins can only be
// embedded there (frame-ancestors), and a session the widget frame opens for
// another host page is refused.
func TestAllowedOriginsForTheWidget(t *testing.T) {
	e := newEnv(t)
	site := e.siteWith(func(s *chat.Site) { s.AllowedOrigins = []string{"https://shop.example", "bad;value"} })
	c := e.client()
	req := func(origin, page string) int {
		st, _ := c.doWithHeader("POST", "/api/v1/widget/sessions", map[string]string{"site": site.PublicKey, "origin": page}, "Origin", origin)
		return st
	}
	if st := req(e.URL, "https://shop.example"); st != 201 {
		t.Fatalf("frame on an allowed page: %d", st)
	}
	if st := req(e.URL, "https://evil.example"); st != 403 {
		t.Fatalf("frame on a foreign page: %d", st)
	}
	if st := req("https://evil.example", ""); st != 403 {
		t.Fatalf("direct call from a foreign origin: %d", st)
	}
	if !widget.Built() {
		return // frame.html is served only once the widget is built
	}
	resp, err := http.Get(e.URL + "/widget/frame.html?site=" + site.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'self' https://shop.example") || strings.Contains(csp, "bad;value") {
		t.Fatalf("frame CSP: %q", csp)
	}
}
