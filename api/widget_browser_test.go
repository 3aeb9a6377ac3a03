package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/widget"
)

// Browser tests of the visitor widget (issue 3). Each test starts its own
// chromium (helpers in browser_test.go) and serves a customer's page from a
// different origin than the chat server ("localhost" vs "127.0.0.1"), so the
// widget iframe is cross-site, as on a real site.

// wbStub is the first line of the install snippet.
const wbStub = `window.Switchboard=window.Switchboard||function(){(Switchboard.q=Switchboard.q||[]).push(arguments)};`

// wbRecorder records every widget event on the host page, registered with
// the queued form (it runs before widget.js has loaded).
const wbRecorder = `window.__sb = [];
window.__frameAtLoad = null;
['ready', 'open', 'close', 'message', 'unread', 'conversation', 'error'].forEach(function (n) {
  Switchboard('on', n, function (d) { __sb.push({ n: n, d: d === undefined ? null : d }); });
});
window.addEventListener('load', function () { __frameAtLoad = !!document.getElementById('sb-frame'); });
window.__cls = 0; window.__clsLog = [];
try {
  new PerformanceObserver(function (l) {
    l.getEntries().forEach(function (x) {
      if (x.hadRecentInput) return;
      __cls += x.value;
      __clsLog.push(x.value.toFixed(4) + ' at ' + Math.round(x.startTime) + ' ms: ' + (x.sources || []).map(function (s) {
        var n = s.node; return n ? (n.id ? '#' + n.id : n.nodeName) : '(removed)';
      }).join(', '));
    });
  }).observe({ type: 'layout-shift', buffered: true });
} catch (e) {}
if (location.hash === '#open') Switchboard('open');
`

type wbHostOpts struct {
	chatURL string // where widget.js is loaded from (the server, or a proxy in front of it)
	siteKey string
	csp     bool   // the strict CSP from the issue
	css     string // extra CSS for the host page
	noStub  bool   // leave the install snippet out (timing baselines)
	harness bool   // time the loader's evaluation (timing)
}

// wbHost serves a customer's page embedding the widget on "localhost",
// another site than the chat server's 127.0.0.1.
func wbHost(t *testing.T, o wbHostOpts) string {
	t.Helper()
	sum := sha256.Sum256([]byte(wbStub))
	csp := fmt.Sprintf("default-src 'self'; script-src 'self' 'sha256-%s' %s; frame-src %s; connect-src %s; style-src 'self'",
		base64.StdEncoding.EncodeToString(sum[:]), o.chatURL, o.chatURL, o.chatURL)
	snippet := `<script>` + wbStub + `</script>
<script src="/host.js"></script>
<script src="` + html.EscapeString(o.chatURL) + `/widget.js" data-site="` + html.EscapeString(o.siteKey) + `" async></script>`
	tail := ""
	switch {
	case o.noStub:
		snippet = ""
	case o.harness:
		// The loader finds its host and site key on this (inert) tag, and
		// harness.js evaluates a same-origin copy of widget.js between two
		// performance.now() calls, after the body exists, as a real load would.
		snippet = ""
		tail = `<script type="text/plain" src="` + html.EscapeString(o.chatURL) + `/widget.js" data-site="` + html.EscapeString(o.siteKey) + `"></script>
<script src="/harness.js"></script>`
	}
	page := `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Outdoor Gear</title>
<link rel="stylesheet" href="/site.css">
` + snippet + `
</head>
<body>
<header><h1>Acme Outdoor Gear</h1><nav><a href="#tents">Tents</a> <a href="#stoves">Stoves</a> <a href="#help">Help</a></nav></header>
<main>
<h2>Gear for every trail</h2>
<p>Tents, stoves and everything else for your next trip. Free returns within 60 days.</p>
<p>Questions about an order? Use the chat button in the corner.</p>
<div class="grid"><div class="card">Ultralight tent<br><b>$349</b></div><div class="card">Camp stove<br><b>$89</b></div><div class="card">Trail boots<br><b>$159</b></div></div>
</main>
` + tail + `
</body>
</html>
`
	mux := http.NewServeMux()
	serve := func(path, ctype, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-store")
			if o.csp && strings.HasPrefix(ctype, "text/html") {
				w.Header().Set("Content-Security-Policy", csp)
			}
			fmt.Fprint(w, body)
		})
	}
	serve("/{$}", "text/html; charset=utf-8", page)
	serve("/pricing", "text/html; charset=utf-8", page)
	serve("/host.js", "text/javascript", wbRecorder)
	serve("/harness.js", "text/javascript", `window.__t = fetch('/widget-copy.js').then(r => r.text()).then(code => {
  `+wbStub+`
  const t0 = performance.now();
  (0, eval)(code + '\n//# ' + Math.random()); // a fresh compile every time
  return performance.now() - t0;
});`)
	if o.harness {
		loader, err := fs.ReadFile(widget.FS(), "widget.js")
		if err != nil {
			t.Fatal(err)
		}
		serve("/widget-copy.js", "text/javascript", string(loader))
	}
	serve("/site.css", "text/css", `body{font:16px/1.55 Georgia,serif;margin:0;color:#1f2a1f;background:#fafaf7}
header{display:flex;justify-content:space-between;align-items:center;background:#2f4f2f;color:#fff;padding:14px 40px}
header h1{font-size:22px;margin:0}nav a{color:#dfe9df;margin-left:22px;text-decoration:none}
main{max-width:860px;padding:28px 40px}h2{font-size:34px;margin:0 0 12px}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:16px;margin-top:28px}
.card{background:#fff;border:1px solid #e3e6df;border-radius:10px;padding:60px 16px 16px}
@media (max-width:640px){header{padding:14px 20px}main{padding:20px}.grid{grid-template-columns:1fr}}
`+o.css)
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return strings.Replace(hs.URL, "127.0.0.1", "localhost", 1) + "/"
}

// wbOpen loads the host page and attaches to the widget frame. skip is the
// target id of a frame from before a reload.
func wbOpen(t *testing.T, browserCtx context.Context, hostURL, chatURL, skip string) (*browserTab, *browserTab) {
	t.Helper()
	host := newTab(t, browserCtx, "host page")
	host.do("open the host page", chromedp.Navigate(hostURL), chromedp.WaitVisible(chromedp.ID("sb-launcher")))
	frame := frameTab(t, host, chatURL+"/widget/frame.html", skip)
	frame.do("the widget frame is loaded", chromedp.WaitReady(chromedp.ID("sb-input")))
	waitFor[bool](host, "the widget is ready", `__sb.some(e => e.n === 'ready')`)
	return host, frame
}

// wbEvents returns the host page's recorded events of one kind.
func wbEvents(tb *browserTab, name string) []map[string]any {
	return evalJS[[]map[string]any](tb, `__sb.filter(e => e.n === `+jsQuote(name)+`).map(e => e.d)`)
}

// wbSend types a message into the widget and waits until it is stored; it
// returns the message's seq.
func wbSend(frame *browserTab, text string) int {
	frame.t.Helper()
	frame.do("type and send "+text,
		chromedp.WaitVisible(chromedp.ID("sb-input")),
		chromedp.SendKeys(chromedp.ID("sb-input"), text),
		chromedp.Click(chromedp.ID("sb-send")),
	)
	return wbStored(frame, text)
}

// wbStored waits for a stored visitor message with this text and returns its seq.
func wbStored(frame *browserTab, text string) int {
	frame.t.Helper()
	return waitFor[int](frame, "the message "+jsQuote(text)+" is stored", `(() => {
		const m = Array.from(document.querySelectorAll('[data-testid=sb-message].sb-me'))
			.find(li => li.querySelector('.sb-msg-body').textContent === `+jsQuote(text)+`);
		return m ? Number(m.dataset.seq) : 0;
	})()`)
}

// wbBodies is every message body the widget shows, in order, with seqs.
const wbBodies = `Array.from(document.querySelectorAll('[data-testid=sb-message]')).map(li => ({
	seq: Number(li.dataset.seq), body: (li.querySelector('.sb-msg-body') || {}).textContent || ''}))`

type wbShown struct {
	Seq  int    `json:"seq"`
	Body string `json:"body"`
}

// wbConversationID is the id of the conversation the widget reported.
func wbConversationID(host *browserTab) int64 {
	host.t.Helper()
	return int64(waitFor[float64](host, "the widget reports its conversation",
		`(__sb.filter(e => e.n === 'conversation' && e.d).map(e => e.d.id).pop()) || 0`))
}

// wbReply posts an agent reply through the REST API and returns its seq.
func wbReply(t *testing.T, agent *client, convID int64, body string) int64 {
	t.Helper()
	var m chat.Message
	if st, out := agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", convID),
		map[string]any{"body": body, "client_id": fmt.Sprintf("agent-%d", time.Now().UnixNano())}, &m); st != 201 && st != 200 {
		t.Fatalf("agent reply: %d %s", st, out)
	}
	return m.Seq
}

// wbShot saves a viewport screenshot (what a person sees) under the artefacts directory.
func wbShot(tb *browserTab, name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	time.Sleep(400 * time.Millisecond) // let animations settle
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.fail("screenshot %s: %v", name, err)
	}
	path := filepath.Join(screenshotDir(tb.t), "widget-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatalf("saving screenshot: %v", err)
	}
	tb.t.Logf("screenshot: %s", path)
}

// wbDark switches the tabs (the page and the widget frame, which is a
// target of its own) to the dark colour scheme.
func wbDark(tabs ...*browserTab) {
	for _, tb := range tabs {
		tb.do("prefer dark", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
			return err
		}))
	}
}

// wbSite creates another site in the seeded workspace.
func wbSite(t *testing.T, e *env, s chat.Site) *chat.Site {
	t.Helper()
	s.WorkspaceID = e.ws.ID
	if s.Name == "" {
		s.Name = "Acme Outdoor"
	}
	s.PublicKey = fmt.Sprintf("wb%d_%d", seq.Add(1), time.Now().UnixNano())
	if err := e.db.CreateSite(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// TestWidgetChat: on a host page with the strict CSP from the issue, a
// visitor opens the widget, sends a message, an agent replies through the
// API (with links and formatting that must be rendered safely), the widget
// shows it, fires `message`, shows typing and read state both ways, counts
// unread replies while closed, and keeps the history across a reload.
func TestWidgetChat(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	site := wbSite(t, e, chat.Site{Name: "Acme Outdoor", Settings: chat.SiteSettings{Color: "#1f6f4a", Greeting: "Hi! Questions about gear or an order? We're happy to help."}})
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: site.PublicKey, csp: true})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL, e.URL, "")

	if evalJS[bool](host, `__frameAtLoad`) {
		t.Error("the widget iframe existed before the host page's load event: it would delay the load")
	}
	// The post-load API form.
	host.do("open with Switchboard.open()", chromedp.Evaluate[chromedp.Void](`Switchboard.open()`))
	waitFor[bool](host, "the launcher says the chat is open", `document.getElementById('sb-launcher').getAttribute('aria-expanded') === 'true'`)
	waitFor[bool](host, "the open event fired", `__sb.some(e => e.n === 'open')`)
	waitFor[bool](frame, "the composer has focus-able input", `!document.getElementById('sb-form').hidden`)

	const ask = "Hi, where is my order #4411? <b>bold?</b>"
	vSeq := wbSend(frame, ask)
	if n := evalJS[int](frame, `document.querySelectorAll('#sb-messages b, #sb-messages img').length`); n != 0 {
		frame.fail("the visitor's own text was rendered as HTML: %d elements", n)
	}
	convID := wbConversationID(host)
	agent := e.loginAgent(e.admin.Email, e.password)

	// The agent sees the visitor type.
	aws := e.agentWS(agent)
	defer aws.close()
	frame.do("type without sending", chromedp.SendKeys(chromedp.ID("sb-input"), "one more"))
	for {
		f := aws.next("typing")
		if strings.Contains(string(f.Raw), `"author_type":"visitor"`) && strings.Contains(string(f.Raw), `"typing":true`) {
			break
		}
	}
	frame.do("clear the draft", chromedp.Evaluate[chromedp.Void](`(() => { const i = document.getElementById('sb-input'); i.value = ''; i.dispatchEvent(new Event('input')); })()`))

	// ... and the visitor sees the agent type.
	aws.send(map[string]any{"type": "typing", "conversation_id": convID, "typing": true})
	waitFor[bool](frame, "the typing indicator shows the agent", `!document.getElementById('sb-typing').hidden &&
		document.getElementById('sb-typing-text').textContent.includes(`+jsQuote(e.admin.Name)+`)`)

	// The agent reads the message: the widget says so.
	if st, out := agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/read", convID), map[string]any{"seq": vSeq}, nil); st >= 300 {
		t.Fatalf("agent read: %d %s", st, out)
	}
	waitFor[bool](frame, "the visitor's message shows as read",
		`document.querySelector('[data-testid=sb-message][data-seq="`+fmt.Sprint(vSeq)+`"]').dataset.state === 'read'`)

	reply := "Sure! Track it at https://example.com/orders?id=4411. **Shipped** *today*, code `TRK-99`:\n- box one\n- box two\n<img src=x onerror=\"window.__xss=1\"> javascript:alert(1) mailto:help@example.com"
	rSeq := wbReply(t, agent, convID, reply)
	waitFor[bool](frame, "the reply is shown", `!!document.querySelector('[data-testid=sb-message].sb-them[data-seq="`+fmt.Sprint(rSeq)+`"]')`)
	waitFor[bool](host, "the host page got the message event", `__sb.some(e => e.n === 'message' && e.d.author_type === 'agent' && e.d.body === `+jsQuote(reply)+`)`)
	waitFor[bool](frame, "the typing indicator went away with the reply", `document.getElementById('sb-typing').hidden`)
	got := evalJS[map[string]any](frame, `(() => {
		const li = document.querySelector('[data-testid=sb-message][data-seq="`+fmt.Sprint(rSeq)+`"]');
		const links = Array.from(li.querySelectorAll('a')).map(a => ({href: a.href, rel: a.rel, target: a.target}));
		return {
			links,
			strong: (li.querySelector('strong') || {}).textContent || '',
			em: (li.querySelector('em') || {}).textContent || '',
			code: (li.querySelector('code') || {}).textContent || '',
			items: Array.from(li.querySelectorAll('ul > li')).map(x => x.textContent),
			html: li.querySelectorAll('img, b, script, iframe').length,
			text: li.querySelector('.sb-msg-body').textContent,
		};
	})()`)
	links, _ := got["links"].([]any)
	if len(links) != 2 {
		t.Errorf("links = %v, want the https one and the mailto one only", links)
	}
	for _, l := range links {
		m := l.(map[string]any)
		href := m["href"].(string)
		if !strings.HasPrefix(href, "https://example.com/orders?id=4411") && href != "mailto:help@example.com" {
			t.Errorf("unexpected link %q", href)
		}
		if m["rel"] != "noopener noreferrer" || m["target"] != "_blank" {
			t.Errorf("link %q has rel=%q target=%q", href, m["rel"], m["target"])
		}
	}
	if got["strong"] != "Shipped" || got["em"] != "today" || got["code"] != "TRK-99" {
		t.Errorf("formatting: strong=%q em=%q code=%q", got["strong"], got["em"], got["code"])
	}
	if items, _ := got["items"].([]any); len(items) != 2 || items[0] != "box one" || items[1] != "box two" {
		t.Errorf("list items = %v", got["items"])
	}
	if got["html"].(float64) != 0 || !strings.Contains(got["text"].(string), `<img src=x onerror="window.__xss=1">`) {
		t.Errorf("the reply's markup was not shown as text: %v", got)
	}
	checkNoXSS(t, host, frame)
	wbShot(host, "desktop-open")

	// Closed window: a reply raises the badge, the unread event and the tab title.
	host.do("close with the API", chromedp.Evaluate[chromedp.Void](`Switchboard.close()`))
	waitFor[bool](host, "the close event fired", `__sb.some(e => e.n === 'close')`)
	waitFor[bool](frame, "the window knows it is closed", `!document.documentElement.classList.contains('sb-open')`)
	const later = "Your parcel is at the depot and goes out tomorrow morning."
	wbReply(t, agent, convID, later)
	waitFor[bool](host, "the launcher shows one unread reply", `(() => {
		const b = document.getElementById('sb-launcher');
		return b.textContent === '1' && b.getAttribute('aria-label').includes('(1)');
	})()`)
	waitFor[bool](host, "the unread event said 1", `__sb.some(e => e.n === 'unread' && e.d === 1)`)
	waitFor[bool](host, "the tab title blinks", `document.title.startsWith('(1) ')`)
	waitFor[bool](host, "the reply peeks out next to the launcher", `(() => {
		const f = document.getElementById('sb-frame');
		return getComputedStyle(f).display === 'block' && f.getBoundingClientRect().height > 40 && f.getBoundingClientRect().height < 300;
	})()`)
	waitFor[bool](frame, "the peek card shows the reply", `document.getElementById('sb-peek-body').textContent.includes('depot')`)
	wbShot(host, "desktop-peek")
	host.do("open again with the launcher", chromedp.Click(chromedp.ID("sb-launcher")))
	waitFor[bool](host, "opening clears the badge and the title", `document.getElementById('sb-launcher').textContent === '' && document.title === 'Acme Outdoor Gear'`)
	waitFor[bool](host, "the unread event said 0", `__sb.length && __sb.filter(e => e.n === 'unread').pop().d === 0`)

	// A reply while the visitor is away is still unread on the next page view.
	host.do("close again", chromedp.Evaluate[chromedp.Void](`Switchboard.close()`))
	waitFor[bool](frame, "the window knows it is closed", `!document.documentElement.classList.contains('sb-open')`)
	const away = "PS: the courier will call ahead."
	awaySeq := wbReply(t, agent, convID, away)
	waitFor[bool](frame, "the widget has the reply", `!!document.querySelector('[data-seq="`+fmt.Sprint(awaySeq)+`"]')`)

	// A reload keeps the history, once each, and the unread reply.
	old := frame
	host.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("sb-launcher")))
	frame = frameTab(t, host, e.URL+"/widget/frame.html", targetID(old))
	frame.do("the reloaded frame is loaded", chromedp.WaitReady(chromedp.ID("sb-input")))
	waitFor[bool](host, "the badge survived the reload", `document.getElementById('sb-launcher').textContent === '1'`)
	waitFor[bool](frame, "the unread reply peeks out", `document.getElementById('sb-peek-body').textContent === `+jsQuote(away))
	host.do("open after the reload", chromedp.Click(chromedp.ID("sb-launcher")))
	shown := waitFor[[]wbShown](frame, "the history is back", `(() => { const b = `+wbBodies+`; return b.length >= 4 ? b : null; })()`)
	count := map[string]int{}
	for _, s := range shown {
		count[s.Body]++
	}
	if count[ask] != 1 || count[later] != 1 || count[away] != 1 || len(shown) != 4 {
		t.Errorf("after the reload the widget shows %v", shown)
	}
	waitFor[bool](host, "opening read it", `document.getElementById('sb-launcher').textContent === ''`)
	if evalJS[bool](frame, `document.querySelector('[data-testid=sb-message][data-seq="`+fmt.Sprint(vSeq)+`"]').dataset.state !== 'read'`) {
		t.Error("the read state was lost in the reload")
	}
	wbShot(host, "desktop-history")
	wbDark(host, frame)
	wbShot(host, "desktop-dark")
	checkNoXSS(t, host, frame)
	noProblems(t, host, old, frame)
}

// wbProxy is a TCP proxy in front of the chat server that the test can cut,
// which the widget sees as a dead network.
type wbProxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func wbStartProxy(t *testing.T, serverURL string) *wbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &wbProxy{t: t, ln: ln, target: strings.TrimPrefix(serverURL, "http://"), conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *wbProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *wbProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := func() {
		c.Close()
		up.Close()
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, up)
		p.mu.Unlock()
	}
	go func() { io.Copy(up, c); done() }()
	io.Copy(c, up)
	done()
}

// cut drops every connection and refuses new ones until restore.
func (p *wbProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *wbProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestWidgetReconnect: the network between the widget and the server is cut
// while the agent replies and the visitor writes; when it comes back the
// widget resumes from its last seq and sends what was queued: nothing is
// lost, nothing is shown or stored twice.
func TestWidgetReconnect(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	proxy := wbStartProxy(t, e.URL)
	hostURL := wbHost(t, wbHostOpts{chatURL: proxy.URL(), siteKey: e.site.PublicKey, csp: true})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL+"#open", proxy.URL(), "")
	waitFor[bool](host, "the queued Switchboard('open') opened the window", `document.getElementById('sb-launcher').getAttribute('aria-expanded') === 'true'`)

	first := "Hello, is anyone there?"
	wbSend(frame, first)
	convID := wbConversationID(host)
	agent := e.loginAgent(e.admin.Email, e.password)
	r1 := wbReply(t, agent, convID, "Yes, I'm here. One moment please.")
	waitFor[bool](frame, "the first reply arrives", `!!document.querySelector('[data-seq="`+fmt.Sprint(r1)+`"]')`)

	proxy.cut()
	waitFor[bool](frame, "the reconnect banner shows", `!document.getElementById('sb-banner').hidden`)
	wbShot(host, "desktop-reconnecting")
	missed := []string{"I found your order.", "It ships today, tracking follows by email."}
	for _, m := range missed {
		wbReply(t, agent, convID, m)
	}
	const queued = "Great, thank you!"
	frame.do("write while offline", chromedp.SendKeys(chromedp.ID("sb-input"), queued), chromedp.Click(chromedp.ID("sb-send")))
	waitFor[bool](frame, "the message waits as pending", `!!document.querySelector('[data-testid=sb-message-pending]')`)
	time.Sleep(1500 * time.Millisecond) // a few failed reconnects
	proxy.restore()

	waitFor[bool](frame, "the banner goes away", `document.getElementById('sb-banner').hidden`)
	wbStored(frame, queued)
	shown := waitFor[[]wbShown](frame, "everything is shown", `(() => {
		const b = `+wbBodies+`;
		return `+jsQuote(missed[1])+` && b.some(x => x.body === `+jsQuote(missed[1])+`) && !document.querySelector('[data-testid=sb-message-pending]') ? b : null;
	})()`)
	seen := map[int]bool{}
	count := map[string]int{}
	last := 0
	for _, s := range shown {
		if seen[s.Seq] || s.Seq <= last {
			t.Errorf("seq %d shown twice or out of order: %v", s.Seq, shown)
		}
		seen[s.Seq], last = true, s.Seq
		count[s.Body]++
	}
	for _, b := range append(missed, first, queued) {
		if count[b] != 1 {
			t.Errorf("%q shown %d times: %v", b, count[b], shown)
		}
	}
	// The server stored the queued message once.
	var page struct {
		Messages []chat.Message `json:"messages"`
	}
	agent.do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages", convID), nil, &page)
	stored := 0
	for _, m := range page.Messages {
		if m.Body == queued {
			stored++
		}
	}
	if stored != 1 {
		t.Errorf("the queued message is stored %d times", stored)
	}
	noProblems(t, host, frame)
}

// TestWidgetOfflineForm: with no agent online the widget offers the offline
// form (email + message), which still starts a conversation.
func TestWidgetOfflineForm(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	ctx := context.Background()
	if err := e.db.SetAgentStatus(ctx, e.ws.ID, e.admin.ID, chat.StatusOffline); err != nil {
		t.Fatal(err)
	}
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, csp: true})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL, e.URL, "")
	if ready := wbEvents(host, "ready"); len(ready) != 1 || ready[0]["online"] != false {
		t.Errorf("ready events = %v, want one saying online=false", ready)
	}
	host.do("open", chromedp.Click(chromedp.ID("sb-launcher")))
	waitFor[bool](frame, "the offline form replaces the composer", `!!document.querySelector('.sb-offline form') && document.getElementById('sb-form').hidden`)
	wbShot(host, "desktop-offline-form")
	frame.do("submit it empty", chromedp.Click(chromedp.CSS(".sb-offline button[type=submit]")))
	waitFor[bool](frame, "the fields say what is missing", `document.querySelectorAll('.sb-offline [aria-invalid=true]').length === 2`)
	const msg = "Do you ship to Norway?"
	frame.do("fill in the offline form",
		chromedp.SendKeys(chromedp.CSS(".sb-offline input[type=email]"), "kari@example.no"),
		chromedp.SendKeys(chromedp.CSS(".sb-offline textarea"), msg),
		chromedp.Click(chromedp.CSS(".sb-offline button[type=submit]")),
	)
	wbStored(frame, msg)
	waitFor[bool](frame, "the widget says how we will answer", `document.getElementById('sb-card').textContent.includes('kari@example.no')`)
	convID := wbConversationID(host)
	vid := int64(wbEvents(host, "ready")[0]["visitor_id"].(float64))
	v, err := e.db.Visitor(ctx, e.ws.ID, vid)
	if err != nil {
		t.Fatal(err)
	}
	if v.Email != "kari@example.no" {
		t.Errorf("visitor email = %q", v.Email)
	}
	conv, err := e.db.Conversation(ctx, e.ws.ID, convID)
	if err != nil || conv.VisitorID != vid {
		t.Errorf("conversation %d: %v %v", convID, conv, err)
	}
	wbShot(host, "desktop-offline-sent")
	noProblems(t, host, frame)
}

func wbHash(secret, id string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

// TestWidgetIdentify: on a site that requires verification, identify with a
// bad hash is refused (error event, the visitor stays anonymous); with the
// right hash the visitor is verified, and a second browser identifying as
// the same user gets the same history. reset() forgets it all.
func TestWidgetIdentify(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	ctx := context.Background()
	const secret, user = "id-secret-for-tests", "user-42"
	site := wbSite(t, e, chat.Site{IdentitySecret: secret, IdentityRequired: true})
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: site.PublicKey, csp: true})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL, e.URL, "")
	anon := int64(wbEvents(host, "ready")[0]["visitor_id"].(float64))

	host.do("identify with a wrong hash", chromedp.Evaluate[chromedp.Void](
		`Switchboard.identify({id: `+jsQuote(user)+`, email: 'mallory@example.com', hash: `+jsQuote(wbHash("wrong", user))+`})`))
	waitFor[bool](host, "an error event says forbidden", `__sb.some(e => e.n === 'error' && e.d.code === 'forbidden' && e.d.method === 'identify')`)
	if _, err := e.db.VerifiedVisitor(ctx, site.ID, user); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Errorf("a bad hash made a verified visitor: %v", err)
	}
	if v, _ := e.db.Visitor(ctx, e.ws.ID, anon); v == nil || v.ExternalID != "" || v.Email != "" {
		t.Errorf("the anonymous visitor was changed by a refused identify: %+v", v)
	}

	host.do("identify with the right hash", chromedp.Evaluate[chromedp.Void](
		`Switchboard('identify', {id: `+jsQuote(user)+`, name: 'Ada Lovelace', email: 'ada@example.com', attributes: {plan: 'pro'}, hash: `+jsQuote(wbHash(secret, user))+`})`))
	var verified *chat.Visitor
	for end := time.Now().Add(stepTimeout); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if v, err := e.db.VerifiedVisitor(ctx, site.ID, user); err == nil {
			verified = v
			break
		}
	}
	if verified == nil || verified.Name != "Ada Lovelace" || verified.Attributes["plan"] != "pro" {
		t.Fatalf("verified visitor = %+v", verified)
	}
	const hello = "Hello as a verified user"
	host.do("send with the API", chromedp.Evaluate[chromedp.Void](`Switchboard.send(`+jsQuote(hello)+`)`))
	wbStored(frame, hello)
	convID := wbConversationID(host)
	if c, err := e.db.Conversation(ctx, e.ws.ID, convID); err != nil || c.VisitorID != verified.ID {
		t.Fatalf("the conversation belongs to visitor %v (err %v), want the verified %d", c, err, verified.ID)
	}

	// Another browser (its own storage) identifying as the same user sees the history.
	other := newTab(t, browser, "second device")
	other.do("open the host page elsewhere", chromedp.Navigate(hostURL), chromedp.WaitVisible(chromedp.ID("sb-launcher")))
	otherFrame := frameTab(t, other, e.URL+"/widget/frame.html", targetID(frame))
	otherFrame.do("its frame is loaded", chromedp.WaitReady(chromedp.ID("sb-input")))
	other.do("identify there and open", chromedp.Evaluate[chromedp.Void](
		`Switchboard.identify({id: `+jsQuote(user)+`, hash: `+jsQuote(wbHash(secret, user))+`}); Switchboard.open()`))
	wbStored(otherFrame, hello)

	// reset() forgets the visitor on this browser.
	host.do("reset", chromedp.Evaluate[chromedp.Void](`Switchboard.reset()`))
	waitFor[bool](frame, "the history is gone", `document.querySelectorAll('[data-testid=sb-message]').length === 0`)
	noProblems(t, host, frame, otherFrame)
}

// TestWidgetHostileHost: a host page with aggressive global CSS (and the
// strict CSP) cannot restyle or hide the launcher or the window.
func TestWidgetHostileHost(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	hostile := `
* { all: unset !important; }
html, body { display: block !important; }
button, iframe, svg, span { display: none !important; width: 1px !important; height: 1px !important; opacity: .1 !important; }
iframe { position: static !important; border: 10px solid red !important; }
button { background: red !important; transform: scale(.2) !important; }
path { fill: red !important; d: path("M0 0") !important; }
`
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, csp: true, css: hostile})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL, e.URL, "")
	launcher := evalJS[map[string]any](host, `(() => {
		const b = document.getElementById('sb-launcher'), r = b.getBoundingClientRect(), s = getComputedStyle(b);
		const p = b.querySelector('path').getBoundingClientRect();
		const de = document.documentElement;
		return {w: r.width, h: r.height, right: de.clientWidth - r.right, bottom: de.clientHeight - r.bottom, pos: s.position,
			opacity: s.opacity, transform: s.transform, bg: s.backgroundColor, icon: p.width};
	})()`)
	if launcher["w"] != 60.0 || launcher["h"] != 60.0 || launcher["right"] != 20.0 || launcher["bottom"] != 20.0 ||
		launcher["pos"] != "fixed" || launcher["opacity"] != "1" || launcher["transform"] != "none" || launcher["icon"].(float64) < 10 {
		t.Errorf("the host's CSS reached the launcher: %v", launcher)
	}
	host.do("open", chromedp.Click(chromedp.ID("sb-launcher")))
	box := waitFor[map[string]any](host, "the window is shown at full size", `(() => {
		const f = document.getElementById('sb-frame'), r = f.getBoundingClientRect(), s = getComputedStyle(f);
		return r.width === 400 && r.height > 500 ? {w: r.width, h: r.height, pos: s.position, border: s.borderTopWidth} : null;
	})()`)
	if box["pos"] != "fixed" || box["border"] != "0px" {
		t.Errorf("the host's CSS reached the iframe: %v", box)
	}
	wbSend(frame, "Styles cannot stop me")
	wbShot(host, "desktop-hostile-css")
	noProblems(t, host, frame)
}

// TestWidgetMobile: below 640 px the window takes the whole screen; the
// launcher steps aside while it is open.
func TestWidgetMobile(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	site := wbSite(t, e, chat.Site{Name: "Acme Outdoor", Settings: chat.SiteSettings{Color: "#1f6f4a"}})
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: site.PublicKey, csp: true})
	browser := startBrowser(t)
	host := newTab(t, browser, "host page (375 px)")
	host.do("open the host page on a phone",
		chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(hostURL), chromedp.WaitVisible(chromedp.ID("sb-launcher")))
	frame := frameTab(t, host, e.URL+"/widget/frame.html", "")
	frame.do("the frame is loaded", chromedp.WaitReady(chromedp.ID("sb-input")))
	wbShot(host, "mobile-closed")
	host.do("open", chromedp.Click(chromedp.ID("sb-launcher")))
	waitFor[bool](host, "the window fills the screen and the launcher steps aside", `(() => {
		const r = document.getElementById('sb-frame').getBoundingClientRect();
		return r.left === 0 && r.top === 0 && r.width === innerWidth && r.height === innerHeight &&
			getComputedStyle(document.getElementById('sb-launcher')).display === 'none';
	})()`)
	const ask = "Do the trail boots run small?"
	wbSend(frame, ask)
	convID := wbConversationID(host)
	agent := e.loginAgent(e.admin.Email, e.password)
	r := wbReply(t, agent, convID, "They run about half a size small, so most people order **half a size up**.")
	waitFor[bool](frame, "the reply arrives", `!!document.querySelector('[data-seq="`+fmt.Sprint(r)+`"]')`)
	wbShot(host, "mobile-open")
	wbDark(frame)
	wbShot(host, "mobile-dark")
	frame.do("close from inside the window", chromedp.Click(chromedp.ID("sb-close")))
	waitFor[bool](host, "closed, the launcher is back", `getComputedStyle(document.getElementById('sb-frame')).display === 'none' &&
		getComputedStyle(document.getElementById('sb-launcher')).display === 'flex'`)
	noProblems(t, host, frame)
}

// TestWidgetAPI: the public API in both forms, events on and off, the
// launcher's show/hide, attributes, languages (one right-to-left) and page
// tracking of a single-page app's navigation.
func TestWidgetAPI(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	ctx := context.Background()
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, csp: true})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL+"#open", e.URL, "")
	if opens := wbEvents(host, "open"); len(opens) != 1 {
		t.Errorf("the queued open fired %d open events", len(opens))
	}
	vid := int64(wbEvents(host, "ready")[0]["visitor_id"].(float64))

	// on('ready') after ready runs at once; off() removes a handler.
	if !evalJS[bool](host, `(() => { let got = false; Switchboard.on('ready', () => got = true); return got; })()`) {
		t.Error("on('ready') after the widget was ready did not run the handler")
	}
	host.do("off removes a handler", chromedp.Evaluate[chromedp.Void](`(() => {
		window.__offCalls = 0;
		const f = () => window.__offCalls++;
		Switchboard.on('close', f); Switchboard.off('close', f);
		Switchboard.toggle();
	})()`))
	waitFor[bool](host, "toggle closed the window", `document.getElementById('sb-launcher').getAttribute('aria-expanded') === 'false'`)
	if n := evalJS[int](host, `window.__offCalls`); n != 0 {
		t.Errorf("a removed handler ran %d times", n)
	}
	host.do("hide the launcher", chromedp.Evaluate[chromedp.Void](`Switchboard.hide()`))
	waitFor[bool](host, "the launcher is hidden", `getComputedStyle(document.getElementById('sb-launcher')).display === 'none'`)
	host.do("show it again", chromedp.Evaluate[chromedp.Void](`Switchboard('show'); Switchboard('toggle')`))
	waitFor[bool](host, "the launcher is back and the window open", `getComputedStyle(document.getElementById('sb-launcher')).display === 'flex' &&
		document.getElementById('sb-launcher').getAttribute('aria-expanded') === 'true'`)

	// Attributes land on the visitor.
	host.do("set attributes", chromedp.Evaluate[chromedp.Void](`Switchboard.setAttributes({plan: 'pro', seats: 12})`))
	for end := time.Now().Add(stepTimeout); ; time.Sleep(100 * time.Millisecond) {
		v, err := e.db.Visitor(ctx, e.ws.ID, vid)
		if err == nil && v.Attributes["plan"] == "pro" && v.Attributes["seats"] == "12" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("attributes not saved: %+v %v", v, err)
		}
	}

	// Languages.
	host.do("French", chromedp.Evaluate[chromedp.Void](`Switchboard.setLocale('fr-CA')`))
	waitFor[bool](frame, "the widget speaks French", `document.documentElement.lang === 'fr' && document.getElementById('sb-input').placeholder === 'Écrivez un message…'`)
	waitFor[bool](host, "the launcher's label follows", `document.getElementById('sb-launcher').getAttribute('aria-label') === 'Fermer le chat'`)
	host.do("Arabic", chromedp.Evaluate[chromedp.Void](`Switchboard('setLocale', 'ar')`))
	waitFor[bool](frame, "the widget is right-to-left", `document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ar'`)
	wbSend(frame, "مرحبا، هل يمكنكم مساعدتي؟")
	wbShot(host, "desktop-rtl")
	for end := time.Now().Add(stepTimeout); ; time.Sleep(100 * time.Millisecond) {
		v, _ := e.db.Visitor(ctx, e.ws.ID, vid)
		if v != nil && v.Locale == "ar" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the visitor's locale was not saved: %+v", v)
		}
	}
	host.do("back to English", chromedp.Evaluate[chromedp.Void](`Switchboard.setLocale('en')`))
	waitFor[bool](frame, "left-to-right again", `document.documentElement.dir === 'ltr'`)

	// Single-page navigation reaches the server.
	host.do("navigate like a single-page app", chromedp.Evaluate[chromedp.Void](`history.pushState({}, '', '/pricing?plan=pro'); document.title = 'Pricing'`))
	for end := time.Now().Add(stepTimeout); ; time.Sleep(100 * time.Millisecond) {
		v, _ := e.db.Visitor(ctx, e.ws.ID, vid)
		if v != nil && strings.HasSuffix(v.LastPage, "/pricing?plan=pro") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the page change did not reach the server: %+v", v)
		}
	}
	host.do("unknown commands only warn", chromedp.Evaluate[chromedp.Void](`Switchboard('fly')`))
	noProblems(t, host, frame)
}

// TestWidgetKeyboard: the widget works from the keyboard alone. Tab reaches
// the launcher, Enter opens the window with the focus in the composer, Enter
// sends, Escape closes it and the focus goes back to the launcher.
func TestWidgetKeyboard(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, csp: true})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL, e.URL, "")
	host.do("tab from the page's last link to the launcher",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('nav a:last-child').focus()`),
		chromedp.KeyEvent(kb.Tab))
	waitFor[bool](host, "the launcher has the focus", `document.activeElement === document.getElementById('sb-launcher')`)
	host.do("press Enter", chromedp.KeyEvent(kb.Enter))
	waitFor[bool](host, "the window is open and has the focus", `document.getElementById('sb-launcher').getAttribute('aria-expanded') === 'true' &&
		document.activeElement === document.getElementById('sb-frame')`)
	waitFor[bool](frame, "the composer has the focus", `document.activeElement === document.getElementById('sb-input')`)
	const typed = "Typed without a mouse"
	host.do("type and press Enter", chromedp.KeyEvent(typed), chromedp.KeyEvent(kb.Enter))
	wbStored(frame, typed)
	if live := evalJS[string](frame, `document.getElementById('sb-messages').getAttribute('aria-live')`); live != "polite" {
		t.Errorf("the message log has aria-live=%q", live)
	}
	host.do("press Escape", chromedp.KeyEvent(kb.Escape))
	waitFor[bool](host, "closed, with the focus back on the launcher", `document.getElementById('sb-launcher').getAttribute('aria-expanded') === 'false' &&
		document.activeElement === document.getElementById('sb-launcher')`)
	noProblems(t, host, frame)
}

// wbTraceLoader loads url in tb while tracing and returns the main-thread
// milliseconds spent in widget.js (EvaluateScript and FunctionCall slices
// whose script is widget.js) during the load and the 2 seconds after, and the
// page's cumulative layout shift.
func wbTraceLoader(t *testing.T, tb *browserTab, url string) (float64, float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	type slice struct {
		Name string  `json:"name"`
		Ph   string  `json:"ph"`
		Dur  float64 `json:"dur"` // microseconds
		Args struct {
			Data struct {
				URL string `json:"url"`
			} `json:"data"`
		} `json:"args"`
	}
	var mu sync.Mutex
	var total float64
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for ev, err := range chromedp.Events(ctx, tracing.DataCollected) {
			if err != nil {
				return
			}
			for _, v := range ev.Value {
				var s slice
				if json.Unmarshal(v, &s) != nil || s.Ph != "X" || !strings.HasSuffix(s.Args.Data.URL, "/widget.js") {
					continue
				}
				if s.Name == "EvaluateScript" || s.Name == "FunctionCall" {
					mu.Lock()
					total += s.Dur / 1000
					mu.Unlock()
				}
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		for range chromedp.Events(ctx, tracing.TracingComplete) {
			break
		}
		close(done)
	}()
	tb.do("trace the page load", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, tracing.Start, tracing.StartParams{TraceConfig: &tracing.TraceConfig{
			IncludedCategories: []string{"devtools.timeline", "disabled-by-default-devtools.timeline"}}})
		return err
	}), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("sb-launcher")), chromedp.Sleep(2*time.Second))
	cls := evalJS[float64](tb, `window.__cls || 0`)
	if cls > 0 {
		t.Logf("layout shifts: %s", evalJS[string](tb, `(window.__clsLog || []).join('; ')`))
	}
	tb.do("stop tracing", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, tracing.End, cdp.Empty{})
		return err
	}))
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the trace did not complete")
	}
	time.Sleep(200 * time.Millisecond) // the last dataCollected events
	cancel()
	<-collected
	mu.Lock()
	defer mu.Unlock()
	chromedp.Cancel(tb.ctx)
	return total, cls
}

// wbPNG writes a small PNG (a green square with a stripe) and returns its path.
func wbPNG(t *testing.T, name string, size int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, size, size*3/4))
	for y := range size * 3 / 4 {
		for x := range size {
			c := color.RGBA{0x2f, 0x6f, 0x4a, 0xff}
			if (x/8+y/8)%2 == 0 {
				c = color.RGBA{0xe8, 0xf0, 0xe8, 0xff}
			}
			img.Set(x, y, c)
		}
	}
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestWidgetAttachments: the visitor attaches an image (previewed, sent,
// shown from a blob URL fetched with the bearer token); a file over the
// site's limit gets a clear message and is never uploaded.
func TestWidgetAttachments(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	site := wbSite(t, e, chat.Site{Settings: chat.SiteSettings{MaxUploadBytes: 200 << 10}})
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: site.PublicKey, csp: true})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL+"#open", e.URL, "")

	pic := wbPNG(t, "tent-photo.png", 240)
	frame.do("pick an image", chromedp.SetUploadFiles(chromedp.ID("sb-file"), []string{pic}))
	waitFor[bool](frame, "the image is staged and uploaded", `(() => {
		const c = document.querySelector('#sb-staged .sb-chip');
		return !!c && !c.classList.contains('sb-uploading') && !!c.querySelector('img');
	})()`)
	frame.do("send it with a caption", chromedp.SendKeys(chromedp.ID("sb-input"), "The pole is bent, see photo"), chromedp.Click(chromedp.ID("sb-send")))
	seq := wbStored(frame, "The pole is bent, see photo")
	waitFor[bool](frame, "the image is shown from a blob URL", `(() => {
		const img = document.querySelector('[data-seq="`+fmt.Sprint(seq)+`"] .sb-att-img img');
		return !!img && img.src.startsWith('blob:') && img.complete && img.naturalWidth === 240;
	})()`)
	if evalJS[bool](frame, `performance.getEntriesByType('resource').some(r => /token|sbv_/.test(r.name))`) {
		t.Error("a request URL carried the visitor token")
	}

	// Too large for the site's limit: refused in the browser.
	big := filepath.Join(t.TempDir(), "huge-manual.pdf")
	if err := os.WriteFile(big, make([]byte, 300<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	frame.do("pick a file over the limit", chromedp.SetUploadFiles(chromedp.ID("sb-file"), []string{big}))
	waitFor[bool](frame, "the widget says it is too large", `!document.getElementById('sb-toast').hidden &&
		document.getElementById('sb-toast').textContent.includes('huge-manual.pdf') && document.getElementById('sb-toast').textContent.includes('200 KB')`)
	if n := evalJS[int](frame, `document.querySelectorAll('#sb-staged .sb-chip').length`); n != 0 {
		t.Errorf("the oversized file was staged (%d chips)", n)
	}

	// Drag and drop onto the window, and paste into the composer.
	overlay := evalJS[bool](frame, `(() => {
		const dt = new DataTransfer();
		dt.items.add(new File(['packing list: tent, stove'], 'packing-list.txt', {type: 'text/plain'}));
		const app = document.getElementById('sb-app');
		app.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true, cancelable: true}));
		const shown = !document.getElementById('sb-drop').hidden;
		app.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
		const clip = new DataTransfer();
		clip.items.add(new File(['order 4411'], 'order.txt', {type: 'text/plain'}));
		document.getElementById('sb-input').dispatchEvent(new ClipboardEvent('paste', {clipboardData: clip, bubbles: true, cancelable: true}));
		return shown && document.getElementById('sb-drop').hidden;
	})()`)
	if !overlay {
		t.Error("dragging files over the window did not show (and then hide) the drop zone")
	}
	waitFor[bool](frame, "the dropped and the pasted file are uploaded", `(() => {
		const c = Array.from(document.querySelectorAll('#sb-staged .sb-chip'));
		return c.length === 2 && c.every(x => !x.classList.contains('sb-uploading'));
	})()`)
	frame.do("send them", chromedp.Click(chromedp.ID("sb-send")))
	waitFor[bool](frame, "both files are shown as downloadable cards", `(() => {
		const m = Array.from(document.querySelectorAll('[data-testid=sb-message].sb-me')).pop();
		const names = Array.from(m.querySelectorAll('.sb-att-file .sb-att-name')).map(x => x.textContent);
		return names.join() === 'packing-list.txt,order.txt';
	})()`)
	wbShot(host, "desktop-attachment")
	noProblems(t, host, frame)
}

// TestWidgetTabs: two tabs of the same site share the visitor: a
// conversation started in one appears in the other, replies reach both, and
// reading it in one clears the badge in the other; the mute setting follows.
func TestWidgetTabs(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, csp: true})
	browser := startBrowser(t)
	a, frameA := wbOpen(t, browser, hostURL, e.URL, "")
	ctx, cancel := chromedp.NewContext(a.ctx) // same browser context: same storage
	t.Cleanup(cancel)
	b := attachTab(t, ctx, "second tab")
	b.do("open the site in a second tab", chromedp.Navigate(hostURL), chromedp.WaitVisible(chromedp.ID("sb-launcher")))
	frameB := frameTab(t, b, e.URL+"/widget/frame.html", targetID(frameA))
	frameB.do("its frame is loaded", chromedp.WaitReady(chromedp.ID("sb-input")))
	waitFor[bool](b, "the second tab is ready", `__sb.some(e => e.n === 'ready')`)
	if va, vb := wbEvents(a, "ready")[0]["visitor_id"], wbEvents(b, "ready")[0]["visitor_id"]; va != vb {
		t.Fatalf("the tabs have different visitors: %v and %v", va, vb)
	}

	a.do("open in the first tab", chromedp.Evaluate[chromedp.Void](`Switchboard.open()`))
	const hi = "Hi from the first tab"
	wbSend(frameA, hi)
	wbStored(frameB, hi) // the second tab follows without a reload
	convID := wbConversationID(a)

	a.do("close the first tab's window", chromedp.Evaluate[chromedp.Void](`Switchboard.close()`))
	waitFor[bool](frameA, "the window knows it is closed", `!document.documentElement.classList.contains('sb-open')`)
	agent := e.loginAgent(e.admin.Email, e.password)
	r := wbReply(t, agent, convID, "Hello to both tabs!")
	for _, tb := range []*browserTab{a, b} {
		waitFor[bool](tb, "the reply raises the badge", `document.getElementById('sb-launcher').textContent === '1'`)
	}
	waitFor[bool](frameB, "the second tab shows the reply", `!!document.querySelector('[data-seq="`+fmt.Sprint(r)+`"]')`)
	b.do("read it in the second tab", chromedp.Evaluate[chromedp.Void](`Switchboard.open()`))
	waitFor[bool](a, "the first tab's badge clears", `document.getElementById('sb-launcher').textContent === ''`)

	frameA.do("mute in the first tab", chromedp.Evaluate[chromedp.Void](`(() => {
		document.getElementById('sb-menu-btn').click();
		document.getElementById('sb-m-sound').click();
	})()`))
	waitFor[bool](frameB, "the second tab is muted too", `document.getElementById('sb-m-sound').getAttribute('aria-checked') === 'false'`)
	noProblems(t, a, frameA, b, frameB)
}

// TestWidgetPrechatRatingTranscript: the pre-chat form fills in the
// visitor; after the agent closes the conversation the visitor rates it and
// asks for the transcript by email.
func TestWidgetPrechatRatingTranscript(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	ctx := context.Background()
	site := wbSite(t, e, chat.Site{Settings: chat.SiteSettings{RatingEnabled: true, PreChatFields: []chat.PreChatField{
		{Name: "name", Label: "Your name", Type: "text", Required: true},
		{Name: "email", Label: "Email", Type: "email", Required: true},
		{Name: "topic", Label: "Topic", Type: "select", Options: []string{"An order", "A product", "Something else"}},
	}}})
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: site.PublicKey, csp: true})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL+"#open", e.URL, "")
	vid := int64(wbEvents(host, "ready")[0]["visitor_id"].(float64))
	waitFor[bool](frame, "the pre-chat form comes first", `!!document.querySelector('.sb-prechat form') && document.getElementById('sb-form').hidden`)
	wbShot(host, "desktop-prechat")
	frame.do("fill in the pre-chat form",
		chromedp.SendKeys(chromedp.CSS(".sb-prechat input[name=name]"), "Grace Hopper"),
		chromedp.SendKeys(chromedp.CSS(".sb-prechat input[name=email]"), "grace@example.com"),
		chromedp.SetValue(chromedp.CSS(".sb-prechat select"), "A product"),
		chromedp.Click(chromedp.CSS(".sb-prechat button[type=submit]")),
	)
	waitFor[bool](frame, "the composer replaces the form", `!document.getElementById('sb-form').hidden && !document.querySelector('.sb-prechat')`)
	v, err := e.db.Visitor(ctx, e.ws.ID, vid)
	if err != nil || v.Name != "Grace Hopper" || v.Email != "grace@example.com" || v.Attributes["topic"] != "A product" {
		t.Errorf("pre-chat answers: %+v %v", v, err)
	}
	wbSend(frame, "Is the stove OK for high altitude?")
	convID := wbConversationID(host)
	agent := e.loginAgent(e.admin.Email, e.password)
	wbReply(t, agent, convID, "Yes, it works well up to 5,000 m.")
	if st, out := agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", convID), map[string]any{}, nil); st >= 300 {
		t.Fatalf("close: %d %s", st, out)
	}
	waitFor[bool](frame, "the widget offers a rating", `!!document.querySelector('.sb-ended .sb-rate') && document.getElementById('sb-form').hidden`)
	time.Sleep(300 * time.Millisecond) // the card scrolls into view
	waitFor[bool](host, "the conversation event says closed", `__sb.some(e => e.n === 'conversation' && e.d && e.d.status === 'closed')`)
	frame.do("rate it 4 with a comment",
		chromedp.Click(chromedp.CSS(`.sb-rate [role=radio]:nth-child(4)`)),
		chromedp.SendKeys(chromedp.CSS(".sb-rate textarea"), "Quick and helpful"),
	)
	wbShot(host, "desktop-rating")
	frame.do("send the rating", chromedp.Click(chromedp.CSS(".sb-rate button[type=submit]")))
	waitFor[bool](frame, "thanks", `!!document.querySelector('.sb-thanks')`)
	waitFor[bool](host, "the conversation event has the rating", `__sb.some(e => e.n === 'conversation' && e.d && e.d.rating === 4)`)
	if c, err := e.db.Conversation(ctx, e.ws.ID, convID); err != nil || c.Rating == nil || *c.Rating != 4 {
		t.Errorf("stored rating: %+v %v", c, err)
	}

	// "Email me this conversation".
	frame.do("ask for the transcript",
		chromedp.Click(chromedp.ID("sb-menu-btn")),
		chromedp.WaitVisible(chromedp.ID("sb-m-email")),
		chromedp.Click(chromedp.ID("sb-m-email")),
		chromedp.WaitVisible(chromedp.CSS(".sb-transcript input[type=email]")),
		chromedp.Sleep(300*time.Millisecond), // the card scrolls into view
	)
	if got := evalJS[string](frame, `document.querySelector('.sb-transcript input[type=email]').value`); got != "grace@example.com" {
		t.Errorf("the transcript form is not prefilled: %q", got)
	}
	frame.do("send it", chromedp.Click(chromedp.CSS(".sb-transcript button[type=submit]")))
	waitFor[bool](frame, "the widget confirms", `(document.querySelector('.sb-transcript [role=status]') || {}).textContent === 'We’ll send the conversation to grace@example.com.'`)
	events, err := e.db.PendingOutbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range events {
		if ev.Topic == chat.EventTranscriptRequested && strings.Contains(string(ev.Payload), "grace@example.com") {
			found = true
		}
	}
	if !found {
		t.Error("no transcript request in the outbox")
	}
	frame.do("start over", chromedp.Click(chromedp.CSS(".sb-ended .sb-primary")))
	waitFor[bool](frame, "a new conversation can start", `!document.getElementById('sb-form').hidden && !document.getElementById('sb-back').hidden`)
	frame.do("see the list", chromedp.Click(chromedp.ID("sb-back")))
	waitFor[bool](frame, "the list shows the closed conversation", `document.querySelectorAll('.sb-conv').length === 1 && document.querySelector('.sb-badge-closed') !== null`)
	wbShot(host, "desktop-conversations")
	noProblems(t, host, frame)
}

// TestWidgetProactive: a site rule greets visitors on matching pages after a
// delay, next to the launcher, and the greeting opens the chat.
func TestWidgetProactive(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	site := wbSite(t, e, chat.Site{Settings: chat.SiteSettings{Color: "#b4461e", Position: "left", Proactive: []chat.ProactiveRule{
		{URLPattern: "*/checkout*", DelaySeconds: 0, Message: "Never shown here"},
		{URLPattern: "/pricing*", DelaySeconds: 1, Message: "Comparing plans? I can help you choose."},
	}}})
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: site.PublicKey, csp: true})
	browser := startBrowser(t)
	host, frame := wbOpen(t, browser, hostURL+"pricing", e.URL, "")
	waitFor[bool](host, "the launcher sits on the left in the site's colour", `(() => {
		const b = document.getElementById('sb-launcher').getBoundingClientRect();
		return b.left === 20 && getComputedStyle(document.getElementById('sb-launcher')).backgroundColor === 'rgb(180, 70, 30)';
	})()`)
	waitFor[bool](frame, "the greeting peeks out", `!document.getElementById('sb-peek').hidden && document.getElementById('sb-peek-body').textContent.startsWith('Comparing plans')`)
	waitFor[bool](host, "the peek frame is shown", `getComputedStyle(document.getElementById('sb-frame')).display === 'block'`)
	wbShot(host, "desktop-proactive")
	frame.do("open from the greeting", chromedp.Click(chromedp.ID("sb-peek-open")))
	waitFor[bool](host, "the window opens", `document.getElementById('sb-launcher').getAttribute('aria-expanded') === 'true'`)
	waitFor[bool](frame, "the greeting leads the conversation", `document.querySelector('.sb-greeting .sb-msg-body').textContent === 'Comparing plans? I can help you choose.'`)
	noProblems(t, host, frame)
}

// TestWidgetLoaderTiming measures what the loader costs the host page in
// Chromium: the evaluation of widget.js (parse, compile and run, which draws
// the launcher) timed with performance.now(), and, in a trace of a page with
// the real async snippet, every main-thread slice attributed to widget.js
// (evaluation, the iframe mount after load, message handlers). It also
// checks that the widget causes no layout shift. The figures go to
// docs/benchmarks.md; the assertion is a loose sanity bound.
func TestWidgetLoaderTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("a benchmark: skipped with -short")
	}
	requireBrowser(t)
	e := newEnv(t)
	harnessURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, harness: true})
	asyncURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey})
	browser := startBrowser(t)
	const runs = 7

	var evals []float64
	for i := 0; i < runs; i++ {
		tb := newTab(t, browser, "timing (evaluation)")
		tb.do("load", chromedp.Navigate(harnessURL), chromedp.WaitVisible(chromedp.ID("sb-launcher")))
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__t`, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		evals = append(evals, ms)
		chromedp.Cancel(tb.ctx)
	}
	var traced []float64
	for i := 0; i < runs; i++ {
		ms, cls := wbTraceLoader(t, newTab(t, browser, "timing (trace)"), asyncURL)
		traced = append(traced, ms)
		// Any shift the widget causes (content pushed by the launcher or the
		// frame) scores well above 0.01; CI under load has shown a lone
		// 0.0009 whose source could not be reproduced, so that is the bound
		// (web.dev calls under 0.1 good). wbTraceLoader logs every shift.
		if cls >= 0.01 {
			t.Errorf("the widget caused a layout shift of %.4f", cls)
		}
	}
	med := func(v []float64) float64 {
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	t.Logf("loader evaluation (parse+compile+run of widget.js incl. drawing the launcher, median of %d): %.2f ms (all: %.2f)", runs, med(evals), evals)
	t.Logf("main-thread time attributed to widget.js in a Chromium trace of the real async snippet, load + 2 s (evaluation, the frame mount after load, message handlers), median of %d: %.2f ms (all: %.2f)", runs, med(traced), traced)
	if med(evals) > 50 {
		t.Errorf("the loader takes %.1f ms of main thread: a long task", med(evals))
	}
}
