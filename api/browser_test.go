package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	console "github.com/switchboard-chat/switchboard/agent-console"
	"github.com/switchboard-chat/switchboard/widget"
)

// The real-browser end-to-end test: a visitor on a customer's page (another
// site, under a strict Content-Security-Policy) chats through the widget
// iframe with an agent in the console, each in its own browser context.

const chromiumPath = "/usr/bin/chromium"

const (
	browserBudget = 60 * time.Second // the whole browser session of one test
	stepTimeout   = 20 * time.Second // one wait or one action
)

// requireBrowser skips the test when chromium or the built front ends are
// missing, or fails it when SWITCHBOARD_E2E=1 says they must be there.
func requireBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" is missing (apt-get install chromium)")
	}
	if !widget.Built() {
		missing = append(missing, "the widget is not built (cd widget && npm ci && npm run build)")
	}
	if !console.Built() {
		missing = append(missing, "the agent console is not built (cd agent-console && npm ci && npm run build)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "browser test needs: " + strings.Join(missing, "; ")
	if os.Getenv("SWITCHBOARD_E2E") == "1" {
		t.Fatal(msg + " (SWITCHBOARD_E2E=1: failing instead of skipping)")
	}
	t.Skip(msg + " (set SWITCHBOARD_E2E=1 to make this a failure)")
}

// startBrowser starts one headless chromium for the test, with a fresh
// profile, bounded by browserBudget. It returns the browser's context.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	return startBrowserWith(t, browserBudget)
}

// startBrowserWith is startBrowser with another budget and extra
// command-line flags (such as the browser's languages).
func startBrowserWith(t *testing.T, budget time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	dir, err := os.MkdirTemp("", "switchboard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
	)
	opts = append(opts, extra...)
	root, cancelRoot := context.WithTimeout(context.Background(), budget)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser to exit
		cancelRoot()
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("removing the browser profile %s: %v", dir, err)
		}
	})
	start := time.Now()
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	return browserCtx
}

// browserTab is one page (or one cross-site iframe) that the test drives.
type browserTab struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu  sync.Mutex
	log []logLine // console messages, uncaught exceptions, browser log entries
}

type logLine struct {
	text string
	bad  bool // an uncaught exception or a CSP violation
}

// newTab opens a tab in its own browser context (its own cookies and
// storage, like a separate browser profile).
func newTab(t *testing.T, browserCtx context.Context, name string) *browserTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return attachTab(t, ctx, name)
}

// attachTab makes the first Run on ctx (which opens or attaches the target)
// and starts collecting its console.
func attachTab(t *testing.T, ctx context.Context, name string) *browserTab {
	t.Helper()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: opening the target: %v", name, err)
	}
	tb := &browserTab{t: t, name: name, ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			line := logLine{text: m.String(), bad: m.IsException() || strings.Contains(m.Text, "Content Security Policy")}
			if m.URL != "" {
				line.text += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			tb.mu.Lock()
			tb.log = append(tb.log, line)
			tb.mu.Unlock()
		}
	}()
	return tb
}

// consoleLog returns what the target wrote to its console so far.
func (tb *browserTab) consoleLog() []logLine {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]logLine(nil), tb.log...)
}

// do runs actions with a step timeout; what names the step in a failure.
func (tb *browserTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.fail("%s: %v", what, err)
	}
}

// evalJS evaluates a JavaScript expression and decodes its value into T.
func evalJS[T any](tb *browserTab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.fail("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript expression until it is truthy and returns its
// value decoded into T.
func waitFor[T any](tb *browserTab, what, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
	if err != nil {
		tb.fail("waiting until %s: %v\n(polled: %s)", what, err, expr)
	}
	return v
}

// never checks for a while that a JavaScript expression stays falsy: the
// only way to show that something does not arrive.
func (tb *browserTab) never(what, expr string, d time.Duration) {
	tb.t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if evalJS[bool](tb, "!!("+expr+")") {
			tb.fail("%s", what)
		}
	}
}

func (tb *browserTab) fail(format string, args ...any) {
	tb.t.Helper()
	tb.t.Fatalf("[%s] %s", tb.name, fmt.Sprintf(format, args...))
}

// screenshot saves a full-page PNG and logs where.
func (tb *browserTab) screenshot(dir, name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.fail("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatalf("saving screenshot: %v", err)
	}
	tb.t.Logf("screenshot: %s", path)
}

// frameTab attaches to the widget iframe. The customer's page is another site
// than the chat server, so Chrome runs the iframe in its own process, as a
// target of its own; FromNode cannot reach into it, WithTargetID can.
func frameTab(t *testing.T, page *browserTab, urlPrefix, skipID string) *browserTab {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		infos, err := chromedp.Targets(page.ctx)
		if err != nil {
			t.Fatalf("listing targets: %v", err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, urlPrefix) && string(info.TargetID) != skipID {
				ctx, cancel := chromedp.NewContext(page.ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				return attachTab(t, ctx, "widget frame")
			}
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, info := range infos {
				seen = append(seen, string(info.Type)+" "+info.URL)
			}
			t.Fatalf("no iframe target for %s among %q", urlPrefix, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func targetID(tb *browserTab) string { return string(chromedp.FromContext(tb.ctx).Target.TargetID) }

// jsQuote quotes a Go string as a JavaScript string literal.
func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// hostPage serves a customer's page with the install snippet under a strict
// CSP, on "localhost" (a different site from the server's 127.0.0.1).
func hostPage(t *testing.T, serverURL, siteKey string) string {
	t.Helper()
	stub := `window.Switchboard=window.Switchboard||function(){(Switchboard.q=Switchboard.q||[]).push(arguments)};`
	sum := sha256.Sum256([]byte(stub))
	csp := fmt.Sprintf("default-src 'self'; script-src 'self' 'sha256-%s' %s; frame-src %s; connect-src %s; style-src 'self'",
		base64.StdEncoding.EncodeToString(sum[:]), serverURL, serverURL, serverURL)
	page := `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Outdoor Gear</title>
<link rel="stylesheet" href="/site.css">
<script>` + stub + `</script>
<script src="` + html.EscapeString(serverURL) + `/widget.js" data-site="` + html.EscapeString(siteKey) + `" async></script>
</head>
<body>
<header><h1>Acme Outdoor Gear</h1></header>
<main>
<p>Tents, stoves and everything else for your next trip.</p>
<p>Questions about an order? Use the chat button in the corner.</p>
</main>
</body>
</html>
`
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprint(w, page)
	})
	mux.HandleFunc("/site.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, "body{font:16px/1.5 sans-serif;margin:0;color:#222;background:#fafaf7}"+
			"header{background:#2f4f2f;color:#fff;padding:16px 32px}main{padding:16px 32px}")
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return strings.Replace(hs.URL, "127.0.0.1", "localhost", 1) + "/"
}

func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "switchboard-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// noProblems fails the test on uncaught exceptions and CSP violations that a
// tab reported, and logs everything else it wrote to its console.
func noProblems(t *testing.T, tabs ...*browserTab) {
	t.Helper()
	for _, tb := range tabs {
		for _, line := range tb.consoleLog() {
			if line.bad {
				t.Errorf("[%s] console: %s", tb.name, line.text)
			} else {
				t.Logf("[%s] console: %s", tb.name, line.text)
			}
		}
	}
}

// checkNoXSS fails the test if the payload ran in any of the pages.
func checkNoXSS(t *testing.T, tabs ...*browserTab) {
	t.Helper()
	for _, tb := range tabs {
		if ran := evalJS[bool](tb, `typeof window.__xss !== "undefined"`); ran {
			t.Errorf("[%s] the XSS payload ran: window.__xss is set", tb.name)
		}
	}
}

// TestBrowserChat: a visitor on a customer's site writes through the widget
// (with an XSS payload), an agent in the console sees the conversation arrive
// live, reads the message as plain text, replies, writes a private note the
// visitor never gets, and closes the conversation.
func TestBrowserChat(t *testing.T) {
	requireBrowser(t)
	began := time.Now()
	e := newEnv(t)
	hostURL := hostPage(t, e.URL, e.site.PublicKey)
	shots := screenshotDir(t)
	prefix := strings.ReplaceAll(t.Name(), "/", "_") + "-"
	browserCtx := startBrowser(t)

	const (
		payload = `<img src=x onerror="window.__xss=1">Hello <b>there</b>`
		reply   = "Hi, how can I help?"
		note    = "Internal: VIP customer, check order #4411 first"
	)

	// The agent signs in first, so the conversation has to arrive live.
	agent := newTab(t, browserCtx, "agent console")
	agent.do("open the console and sign in",
		chromedp.Navigate(e.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("login-email")),
		chromedp.SendKeys(chromedp.ID("login-email"), e.admin.Email),
		chromedp.SendKeys(chromedp.ID("login-password"), e.password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("logout")),
	)
	waitFor[bool](agent, "the empty inbox has loaded",
		`(document.querySelector('.list-note') || {textContent: ''}).textContent.includes('No conversations')`)
	// A marker that a reload of the console would lose.
	evalJS[chromedp.Void](agent, `window.__sbNoReload = true`)

	// The visitor opens the customer's page and the chat window.
	visitor := newTab(t, browserCtx, "host page")
	visitor.do("open the host page",
		chromedp.Navigate(hostURL),
		chromedp.WaitVisible(chromedp.ID("sb-launcher")),
	)
	frame := frameTab(t, visitor, e.URL+"/widget/frame.html", "")
	frame.do("the widget frame is loaded", chromedp.WaitReady(chromedp.ID("sb-input")))
	visitor.do("open the chat window",
		chromedp.Click(chromedp.ID("sb-launcher")),
		chromedp.WaitVisible(chromedp.ID("sb-frame")),
	)
	waitFor[bool](visitor, "the launcher says the chat is open",
		`document.getElementById('sb-launcher').getAttribute('aria-expanded') === 'true'`)
	frame.do("type and send the message",
		chromedp.WaitVisible(chromedp.ID("sb-input")),
		chromedp.SendKeys(chromedp.ID("sb-input"), payload),
		chromedp.Click(chromedp.ID("sb-send")),
	)
	vSeq := waitFor[int](frame, "the visitor's message is stored (not pending)", `(() => {
		const m = Array.from(document.querySelectorAll('[data-testid=sb-message]'))
			.find(li => li.querySelector('.sb-msg-body').textContent === `+jsQuote(payload)+`);
		return m ? Number(m.dataset.seq) : 0;
	})()`)
	if n := evalJS[int](frame, `document.querySelectorAll('#sb-messages img').length`); n != 0 {
		frame.fail("the visitor's own message was rendered as HTML: %d img elements", n)
	}
	t.Logf("visitor message stored with seq %d after %v", vSeq, time.Since(began).Round(time.Millisecond))

	// The conversation shows up in the agent's list without a reload.
	convID := waitFor[string](agent, "the new conversation appears in the list", `(() => {
		const b = document.querySelector('[data-testid=conversation-item]');
		return b ? b.dataset.id : '';
	})()`)
	if !evalJS[bool](agent, `window.__sbNoReload === true`) {
		agent.fail("the console reloaded; the conversation should have arrived live")
	}
	item := `[data-testid=conversation-item][data-id="` + convID + `"]`
	waitFor[bool](agent, "the list preview shows the message as text",
		`(document.querySelector('`+item+` .conv-preview') || {textContent: ''}).textContent.includes('<img src=x')`)
	agent.do("open the conversation",
		chromedp.Click(chromedp.CSS(item)),
		chromedp.WaitVisible(chromedp.ID("composer")),
	)
	msgSel := `[data-testid=message][data-seq="` + fmt.Sprint(vSeq) + `"]`
	body := waitFor[string](agent, "the visitor's message is shown", `(() => {
		const b = document.querySelector('`+msgSel+` .msg-body');
		return b ? b.textContent : '';
	})()`)
	if body != payload || !strings.Contains(body, "<img src=x") {
		agent.fail("message text = %q, want the literal %q", body, payload)
	}
	if n := evalJS[int](agent, `document.querySelectorAll('[data-testid=message] img, [data-testid=message] b, .conv-preview img').length`); n != 0 {
		agent.fail("the visitor's message was rendered as HTML: %d elements inside it", n)
	}

	// The agent replies; the visitor sees it live.
	agent.do("send a reply",
		chromedp.SendKeys(chromedp.ID("composer"), reply),
		chromedp.Click(chromedp.ID("send")),
	)
	waitFor[bool](agent, "the reply is stored", `Array.from(document.querySelectorAll('[data-testid=message].out .msg-body'))
		.some(b => b.textContent === `+jsQuote(reply)+`)`)
	waitFor[bool](frame, "the visitor sees the reply", `Array.from(document.querySelectorAll('[data-testid=sb-message].sb-them .sb-msg-body'))
		.some(b => b.textContent === `+jsQuote(reply)+`)`)

	// A private note: the agent sees it, the visitor never does.
	agent.do("write a private note",
		chromedp.Click(chromedp.ID("note-toggle")),
		chromedp.WaitVisible(chromedp.CSS("form.composer.note-mode")),
		chromedp.SendKeys(chromedp.ID("composer"), note),
		chromedp.Click(chromedp.ID("send")),
	)
	noteSeq := waitFor[int](agent, "the note is stored and shown as a note", `(() => {
		const m = Array.from(document.querySelectorAll('[data-testid=message].note'))
			.find(d => d.querySelector('.msg-body').textContent === `+jsQuote(note)+`);
		return m ? Number(m.dataset.seq) : 0;
	})()`)
	agent.screenshot(shots, prefix+"console-conversation.png")
	hasNote := `document.body.textContent.includes(` + jsQuote(note) + `)`
	frame.never("the visitor received the private note over the socket", hasNote, 1500*time.Millisecond)
	visitor.screenshot(shots, prefix+"host-page-widget.png")
	checkNoXSS(t, visitor, frame, agent)

	// A reload: the returning visitor's widget loads the history over REST,
	// which must not hold the note either.
	oldFrame := frame
	visitor.do("reload the host page",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("sb-launcher")),
	)
	frame = frameTab(t, visitor, e.URL+"/widget/frame.html", targetID(oldFrame))
	frame.do("the reloaded widget frame is loaded", chromedp.WaitReady(chromedp.ID("sb-input")))
	visitor.do("open the chat window again",
		chromedp.Click(chromedp.ID("sb-launcher")),
		chromedp.WaitVisible(chromedp.ID("sb-frame")),
	)
	waitFor[bool](frame, "the history shows the visitor's message and the reply", `(() => {
		const bodies = Array.from(document.querySelectorAll('[data-testid=sb-message] .sb-msg-body')).map(b => b.textContent);
		return bodies.includes(`+jsQuote(payload)+`) && bodies.includes(`+jsQuote(reply)+`);
	})()`)
	if evalJS[bool](frame, hasNote) {
		frame.fail("the private note is in the visitor's history")
	}
	if n := evalJS[int](frame, `document.querySelectorAll('#sb-messages img, #sb-messages b').length`); n != 0 {
		frame.fail("the history rendered the visitor's message as HTML: %d elements", n)
	}

	// The agent closes the conversation.
	agent.do("close the conversation",
		chromedp.Click(chromedp.ID("close-conversation")),
		chromedp.WaitVisible(chromedp.ID("reopen-conversation")),
	)
	waitFor[bool](agent, "the conversation shows as closed",
		`(document.querySelector('.pane-sub .badge') || {}).textContent === 'closed'`)
	// The close appends an event after the note; once the visitor has it, the
	// note would have arrived before it.
	waitFor[bool](frame, "the visitor gets the messages after the note",
		`Array.from(document.querySelectorAll('[data-testid=sb-message]')).some(li => Number(li.dataset.seq) > `+fmt.Sprint(noteSeq)+`)`)
	if evalJS[bool](frame, hasNote) {
		frame.fail("the visitor received the private note")
	}
	visitor.screenshot(shots, prefix+"host-page-closed.png")
	agent.do("the closed view lists it",
		chromedp.Click(chromedp.ID("view-closed")),
		chromedp.WaitVisible(chromedp.CSS(item+" .badge.closed")),
	)
	agent.screenshot(shots, prefix+"console-closed.png")

	checkNoXSS(t, visitor, frame, agent)
	noProblems(t, visitor, oldFrame, frame, agent)
	t.Logf("browser flow took %v", time.Since(began).Round(time.Millisecond))
}
