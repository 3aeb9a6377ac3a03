package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
)

// More browser tests of the visitor widget, for behaviour the tests in
// widget_browser_test.go leave out: the language taken from the browser,
// the chime and the blinking title (and muting them), several conversations
// of one visitor, the place in the queue, that nothing is requested from a
// third party, and the install snippet the console hands out.

// wmBudget bounds one test's browser session. These tests chat for longer
// than most of widget_browser_test.go, on machines running other tests.
const wmBudget = 2 * time.Minute

// wmWords is the widget's dictionary for a language (widget/src/lang).
func wmWords(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "widget", "src", "lang", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// wmSpeaks is a JavaScript expression for the widget frame: it shows the
// language's words (lang attribute, composer, greeting, status line).
func wmSpeaks(lang string, w map[string]string) string {
	return `document.documentElement.lang === ` + jsQuote(lang) + ` &&
		document.getElementById('sb-input').placeholder === ` + jsQuote(w["placeholder"]) + ` &&
		document.querySelector('.sb-greeting .sb-msg-body').textContent === ` + jsQuote(w["greeting"]) + ` &&
		document.getElementById('sb-status').textContent === ` + jsQuote(w["online"])
}

// TestWidgetMoreBrowserLanguage: without any setLocale call the widget
// speaks the browser's language (German here, also on a site whose default
// is Spanish: the visitor's own language comes first); a browser in a
// language the widget does not have (Japanese) gets the site's default
// language, or English when the site sets none, and downloads no dictionary.
func TestWidgetMoreBrowserLanguage(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	ctx := context.Background()
	plain := wbSite(t, e, chat.Site{Name: "Acme Outdoor"})
	spanish := wbSite(t, e, chat.Site{Name: "Acme Outdoor", Settings: chat.SiteSettings{Locale: "es"}})
	plainURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: plain.PublicKey, csp: true})
	spanishURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: spanish.PublicKey, csp: true})
	de, es, en := wmWords(t, "de"), wmWords(t, "es"), wmWords(t, "en")

	t.Run("German browser", func(t *testing.T) {
		browser := startBrowserWith(t, wmBudget, chromedp.Flag("accept-lang", "de-DE,de"))
		skip := ""
		for i, hostURL := range []string{plainURL, spanishURL} {
			host, frame := wbOpen(t, browser, hostURL, e.URL, skip)
			skip = targetID(frame)
			if got := evalJS[string](frame, `navigator.language`); got != "de-DE" {
				t.Fatalf("the frame's navigator.language is %q: the flag did not take", got)
			}
			waitFor[bool](host, "the launcher is labelled in German", `document.getElementById('sb-launcher').getAttribute('aria-label') === `+jsQuote(de["open"]))
			host.do("open", chromedp.Click(chromedp.ID("sb-launcher")))
			waitFor[bool](frame, "the window speaks German", wmSpeaks("de", de))
			waitFor[bool](host, "the launcher's label follows", `document.getElementById('sb-launcher').getAttribute('aria-label') === `+jsQuote(de["close"]))
			if i == 0 {
				wbShot(host, "desktop-browser-german")
			}
			// The server learns the visitor's language (agents see it).
			vid := int64(wbEvents(host, "ready")[0]["visitor_id"].(float64))
			if v, err := e.db.Visitor(ctx, e.ws.ID, vid); err != nil || !strings.HasPrefix(v.Locale, "de") {
				t.Errorf("the visitor's stored locale: %+v %v", v, err)
			}
			noProblems(t, host, frame)
		}
	})

	t.Run("Japanese browser", func(t *testing.T) {
		browser := startBrowserWith(t, wmBudget, chromedp.Flag("accept-lang", "ja"))
		host, frame := wbOpen(t, browser, spanishURL, e.URL, "")
		if got := evalJS[string](frame, `navigator.language`); got != "ja" {
			t.Fatalf("the frame's navigator.language is %q: the flag did not take", got)
		}
		host.do("open", chromedp.Click(chromedp.ID("sb-launcher")))
		waitFor[bool](frame, "the site's default language (Spanish) is used", wmSpeaks("es", es))
		waitFor[bool](host, "the launcher is labelled in Spanish", `document.getElementById('sb-launcher').getAttribute('aria-label') === `+jsQuote(es["close"]))
		noProblems(t, host, frame)

		host, frame = wbOpen(t, browser, plainURL, e.URL, targetID(frame))
		host.do("open", chromedp.Click(chromedp.ID("sb-launcher")))
		// English is also what the frame shows before it has chosen: wait
		// for the session (which brings the site's settings) to be applied.
		waitFor[bool](frame, "the header shows the site's name and availability", `document.getElementById('sb-title').textContent === 'Acme Outdoor' &&
			document.getElementById('sb-dot').classList.contains('sb-on')`)
		waitFor[bool](frame, "the window speaks English", wmSpeaks("en", en))
		waitFor[bool](host, "the launcher is labelled in English", `document.getElementById('sb-launcher').getAttribute('aria-label') === `+jsQuote(en["close"]))
		if got := evalJS[[]string](frame, `performance.getEntriesByType('resource').map(r => r.name).filter(n => n.includes('/lang-'))`); len(got) != 0 {
			t.Errorf("an English-speaking widget downloaded dictionaries: %v", got)
		}
		wbSend(frame, "Hello from Japan")
		if got := evalJS[string](frame, `document.documentElement.lang`); got != "en" {
			t.Errorf("after sending, the widget's language is %q", got)
		}
		noProblems(t, host, frame)
	})
}

// wmTitleRecorder records every change of the host page's title.
const wmTitleRecorder = `(() => {
	window.__titles = [];
	new MutationObserver(() => __titles.push(document.title))
		.observe(document.querySelector('title'), {childList: true, characterData: true, subtree: true});
})()`

// wmChimeRecorder records the oscillators the widget frame starts (its
// chime is two Web Audio tones) and the audio context that plays them.
const wmChimeRecorder = `(() => {
	window.__chimes = [];
	window.__audio = null;
	const start = OscillatorNode.prototype.start;
	OscillatorNode.prototype.start = function (...args) {
		__chimes.push(this.frequency.value);
		__audio = this.context;
		return start.apply(this, args);
	};
})()`

// TestWidgetMoreNotifications: while the window is closed, an agent's reply
// plays the chime (audibly: the audio context runs) and blinks the host
// page's title. After the visitor switches the sound off in the ⋯ menu, a
// reply still raises the badge but rings no chime and leaves the title
// alone; switching it back on rings again.
func TestWidgetMoreNotifications(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, csp: true})
	browser := startBrowserWith(t, wmBudget)
	host, frame := wbOpen(t, browser, hostURL, e.URL, "")
	host.do("record the title", chromedp.Evaluate[chromedp.Void](wmTitleRecorder))
	frame.do("record the chime", chromedp.Evaluate[chromedp.Void](wmChimeRecorder))
	const title = "Acme Outdoor Gear"
	flash := "(1) " + wmWords(t, "en")["newMsg"]

	host.do("open the chat", chromedp.Click(chromedp.ID("sb-launcher")))
	wbSend(frame, "Do you have the Ridge 2 tent in green?")
	convID := wbConversationID(host)
	agent := e.loginAgent(e.admin.Email, e.password)
	closeWindow := func() {
		t.Helper()
		host.do("close the window with the launcher", chromedp.Click(chromedp.ID("sb-launcher")))
		waitFor[bool](frame, "the window knows it is closed", `!document.documentElement.classList.contains('sb-open')`)
	}
	closeWindow()
	if n := evalJS[int](frame, `__chimes.length`); n != 0 {
		t.Fatalf("the chime rang %d times before any reply", n)
	}

	r1 := wbReply(t, agent, convID, "Yes, we have two left in green.")
	waitFor[bool](frame, "the chime rang: two tones", `__chimes.join() === '660,880'`)
	waitFor[bool](frame, "the chime is audible (the audio context runs)", `!!__audio && __audio.state === 'running'`)
	waitFor[bool](host, "the title shows the reply", `__titles.includes(`+jsQuote(flash)+`)`)
	waitFor[bool](host, "the title blinks back and forth", `__titles.lastIndexOf(`+jsQuote(title)+`) > __titles.indexOf(`+jsQuote(flash)+`)`)
	waitFor[bool](host, "the launcher shows one unread reply", `document.getElementById('sb-launcher').textContent === '1'`)
	waitFor[bool](frame, "the reply is in the window", `!!document.querySelector('[data-seq="`+fmt.Sprint(r1)+`"]')`)

	host.do("open the window", chromedp.Click(chromedp.ID("sb-launcher")))
	waitFor[bool](host, "opening stops the blinking", `document.title === `+jsQuote(title)+` && document.getElementById('sb-launcher').textContent === ''`)
	frame.do("switch the sound off in the menu",
		chromedp.Click(chromedp.ID("sb-menu-btn")),
		chromedp.WaitVisible(chromedp.ID("sb-m-sound")),
		chromedp.Click(chromedp.ID("sb-m-sound")),
	)
	waitFor[bool](frame, "the switch shows off", `document.getElementById('sb-m-sound').getAttribute('aria-checked') === 'false'`)
	frame.do("close the menu", chromedp.Click(chromedp.ID("sb-menu-btn")))
	closeWindow()
	host.do("clear the title record", chromedp.Evaluate[chromedp.Void](`__titles.length = 0`))
	frame.do("clear the chime record", chromedp.Evaluate[chromedp.Void](`__chimes.length = 0`))

	r2 := wbReply(t, agent, convID, "I have put one aside for you.")
	waitFor[bool](frame, "the muted reply arrives", `!!document.querySelector('[data-seq="`+fmt.Sprint(r2)+`"]')`)
	waitFor[bool](host, "the badge still counts it", `document.getElementById('sb-launcher').textContent === '1'`)
	// The chime and the title would follow the reply within a blink (1.2 s).
	host.never("the title changed for a muted reply", `__titles.length > 0 || document.title !== `+jsQuote(title), 3*time.Second)
	if got := evalJS[[]float64](frame, `__chimes`); len(got) != 0 {
		t.Errorf("a muted reply rang the chime: %v", got)
	}

	// Back on: the switch plays a sample, and the next reply rings and blinks.
	host.do("open the window", chromedp.Click(chromedp.ID("sb-launcher")))
	frame.do("switch the sound on",
		chromedp.Click(chromedp.ID("sb-menu-btn")),
		chromedp.WaitVisible(chromedp.ID("sb-m-sound")),
		chromedp.Click(chromedp.ID("sb-m-sound")),
	)
	waitFor[bool](frame, "the switch shows on and plays a sample", `document.getElementById('sb-m-sound').getAttribute('aria-checked') === 'true' && __chimes.join() === '660,880'`)
	frame.do("close the menu", chromedp.Click(chromedp.ID("sb-menu-btn")))
	closeWindow()
	frame.do("clear the chime record", chromedp.Evaluate[chromedp.Void](`__chimes.length = 0`))
	wbReply(t, agent, convID, "It is at the front desk.")
	waitFor[bool](frame, "the chime rings again", `__chimes.join() === '660,880'`)
	waitFor[bool](host, "the title blinks again", `__titles.includes(`+jsQuote(flash)+`)`)
	noProblems(t, host, frame)
}

// TestWidgetMoreConversations: a visitor with a conversation starts a
// second one from the list of conversations; the server has both, the list
// shows both with their last message, and switching between them shows
// each one's own messages. A reply to the other conversation is counted on
// its row, not shown in the one on screen.
func TestWidgetMoreConversations(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	ctx := context.Background()
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, csp: true})
	browser := startBrowserWith(t, wmBudget)
	host, frame := wbOpen(t, browser, hostURL+"#open", e.URL, "")
	vid := int64(wbEvents(host, "ready")[0]["visitor_id"].(float64))
	agent := e.loginAgent(e.admin.Email, e.password)

	const ask1, reply1 = "Where is my order #4411?", "Order 4411 ships on Monday."
	wbSend(frame, ask1)
	conv1 := wbConversationID(host)
	s1 := wbReply(t, agent, conv1, reply1)
	waitFor[bool](frame, "the reply arrives", `!!document.querySelector('[data-seq="`+fmt.Sprint(s1)+`"]')`)

	frame.do("open the list of conversations from the menu",
		chromedp.Click(chromedp.ID("sb-menu-btn")),
		chromedp.WaitVisible(chromedp.ID("sb-m-list")),
		chromedp.Click(chromedp.ID("sb-m-list")),
	)
	waitFor[bool](frame, "the list shows the conversation", `!document.getElementById('sb-list').hidden && document.querySelectorAll('.sb-conv').length === 1`)
	frame.do("start a new one", chromedp.Click(chromedp.ID("sb-list-new")))
	waitFor[bool](frame, "an empty conversation with the greeting", `!document.getElementById('sb-chat').hidden &&
		document.querySelectorAll('[data-testid=sb-message]').length === 0 && !!document.querySelector('.sb-greeting') && !document.getElementById('sb-form').hidden`)

	const ask2, reply2 = "Separately: do you rent out camp stoves?", "Yes, stoves are $9 a day."
	wbSend(frame, ask2)
	conv2 := int64(waitFor[float64](host, "the widget reports a second conversation",
		`__sb.filter(e => e.n === 'conversation' && e.d && e.d.id !== `+fmt.Sprint(conv1)+`).map(e => e.d.id).pop() || 0`))
	convs, err := e.db.VisitorConversations(ctx, e.ws.ID, vid)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, c := range convs {
		ids = append(ids, c.ID)
		if c.Status != chat.ConvOpen {
			t.Errorf("conversation %d is %s", c.ID, c.Status)
		}
	}
	slices.Sort(ids)
	if len(ids) != 2 || ids[0] != conv1 || ids[1] != conv2 {
		t.Fatalf("the visitor's conversations on the server: %v, want [%d %d]", ids, conv1, conv2)
	}
	s2 := wbReply(t, agent, conv2, reply2)
	waitFor[bool](frame, "the second reply arrives", `!!document.querySelector('[data-seq="`+fmt.Sprint(s2)+`"]')`)

	type shownConv struct {
		ID      string `json:"id"`
		Preview string `json:"preview"`
		Status  string `json:"status"`
		Unread  string `json:"unread"`
	}
	rows := `Array.from(document.querySelectorAll('.sb-conv')).map(b => ({id: b.dataset.id,
		preview: b.querySelector('.sb-conv-preview').textContent, status: b.querySelector('.sb-badge').textContent,
		unread: (b.querySelector('.sb-conv-unread') || {}).textContent || ''}))`
	list := func(what, cond string) []shownConv {
		t.Helper()
		frame.do("back to the list", chromedp.Click(chromedp.ID("sb-back")))
		return waitFor[[]shownConv](frame, what, `(() => { const r = `+rows+`; return !document.getElementById('sb-list').hidden && (`+cond+`) ? r : null; })()`)
	}
	open := func(id int64, want ...string) {
		t.Helper()
		frame.do(fmt.Sprintf("open conversation %d", id), chromedp.Click(chromedp.CSS(fmt.Sprintf(`.sb-conv[data-id="%d"]`, id))))
		got := waitFor[[]wbShown](frame, fmt.Sprintf("conversation %d is shown", id), `(() => {
			const b = `+wbBodies+`;
			return !document.getElementById('sb-chat').hidden && b.length === `+fmt.Sprint(len(want))+` && b[b.length-1].body === `+jsQuote(want[len(want)-1])+` ? b : null;
		})()`)
		for i, s := range got {
			if s.Body != want[i] {
				t.Errorf("conversation %d shows %v, want %q", id, got, want)
				break
			}
		}
		waitFor[bool](host, "the conversation event names it", fmt.Sprintf(`(__sb.filter(e => e.n === 'conversation' && e.d).pop() || {d: {}}).d.id === %d`, id))
	}

	got := list("both conversations are listed with their last message", `r.length === 2 && r.every(x => x.preview.trim())`)
	want := []shownConv{{fmt.Sprint(conv2), reply2, "Open", ""}, {fmt.Sprint(conv1), reply1, "Open", ""}}
	if !slices.Equal(got, want) {
		t.Errorf("the list shows %+v, want %+v (newest first)", got, want)
	}
	wbShot(host, "desktop-two-conversations")
	open(conv1, ask1, reply1)
	list("the list again", `r.length === 2`)
	open(conv2, ask2, reply2)

	// A reply to the first conversation while the second is on screen.
	const later = "PS: the tracking number follows by email."
	wbReply(t, agent, conv1, later)
	waitFor[bool](host, "the widget has it", `__sb.some(e => e.n === 'message' && e.d.body === `+jsQuote(later)+`)`)
	frame.never("the reply to the first conversation shows in the second", `document.getElementById('sb-messages').textContent.includes(`+jsQuote(later)+`)`, 1500*time.Millisecond)
	got = list("the first conversation counts one unread reply", `r.some(x => x.id === '`+fmt.Sprint(conv1)+`' && x.unread === '1')`)
	if got[0].ID != fmt.Sprint(conv1) || got[0].Preview != later {
		t.Errorf("after the reply the list shows %+v, want conversation %d first with %q", got, conv1, later)
	}
	open(conv1, ask1, reply1, later)
	list("read: the count is gone", `r.every(x => x.unread === '')`)
	noProblems(t, host, frame)
}

// wmQueueText is the widget's status line for a place in the queue.
func wmQueueText(t *testing.T, lang string, pos, waitSeconds int) string {
	t.Helper()
	mins := max(1, int(float64(waitSeconds)/60+0.5)) // Math.round, at least a minute
	return strings.NewReplacer("{0}", fmt.Sprint(pos), "{1}", fmt.Sprint(mins)).Replace(wmWords(t, lang)["queue"])
}

// wmUnclipped is a JavaScript expression for the widget frame: the header's
// status line is shown whole (not cut off with an ellipsis).
const wmUnclipped = `(() => {
	const s = document.getElementById('sb-status'), p = s.parentElement;
	return s.scrollWidth <= s.clientWidth && p.scrollWidth <= p.clientWidth && s.getBoundingClientRect().right <= p.getBoundingClientRect().right + 0.5;
})()`

// TestWidgetMoreQueue: with routing running and the only agent online at
// capacity, a visitor's conversation waits in the queue: the widget's
// header shows the place in line and the estimated wait, follows them as
// the conversations ahead are taken, and switches back to the team's status
// when an agent joins.
func TestWidgetMoreQueue(t *testing.T) {
	requireBrowser(t)
	e := newRoutedEnv(t, api.Config{})
	ctx := context.Background()
	if err := e.db.SetAgentCapacity(ctx, e.ws.ID, e.admin.ID, 1); err != nil {
		t.Fatal(err)
	}
	agent := e.loginAgent(e.admin.Email, e.password)
	aws := e.agentWS(agent) // online (presence), with room for one conversation
	defer aws.close()
	assignee := func(id int64) *int64 { return cmConversation(t, agent, id).AssigneeID }
	waitAssigned := func(id int64) {
		t.Helper()
		for end := time.Now().Add(stepTimeout); assignee(id) == nil; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("conversation %d was never assigned", id)
			}
		}
	}
	// One conversation takes the agent's only slot; two more wait in line.
	_, _, busy := cbVisitorChat(e, "First in: my stove will not light")
	waitAssigned(busy)
	_, _, ahead1 := cbVisitorChat(e, "Second: do you ship to Canada?")
	_, _, ahead2 := cbVisitorChat(e, "Third: is the sale on tents still on?")

	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, csp: true})
	browser := startBrowserWith(t, wmBudget)
	host, frame := wbOpen(t, browser, hostURL+"#open", e.URL, "")
	online := wmWords(t, "en")["online"]
	waitFor[bool](frame, "the team shows online (live chat, not the offline form)", `document.getElementById('sb-status').textContent === `+jsQuote(online)+` && !document.getElementById('sb-form').hidden`)
	wbSend(frame, "Fourth: can I change the size of my boots?")
	mine := wbConversationID(host)
	visitor := e.client()
	visitor.auth = "Bearer " + evalJS[string](frame, `localStorage.getItem('switchboard.token.`+e.site.PublicKey+`')`)

	// The widget's line must match the server's own answer for the place.
	place := func(want int, shot string) int {
		t.Helper()
		var pos struct {
			Position      int `json:"position"`
			EstimatedWait int `json:"estimated_wait_seconds"`
		}
		for end := time.Now().Add(stepTimeout); ; time.Sleep(100 * time.Millisecond) {
			if st, b := visitor.do("GET", fmt.Sprintf("/api/v1/widget/conversations/%d/queue", mine), nil, &pos); st != 200 {
				t.Fatalf("queue position: %d %s", st, b)
			}
			if pos.Position == want {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("the server puts the visitor at %d, want %d", pos.Position, want)
			}
		}
		text := wmQueueText(t, "en", want, pos.EstimatedWait)
		waitFor[bool](frame, "the header says "+jsQuote(text), `document.getElementById('sb-status').textContent === `+jsQuote(text)+` && `+wmUnclipped)
		if shot != "" {
			wbShot(host, shot)
		}
		return pos.EstimatedWait
	}
	place(3, "desktop-queue")
	closeConv := func(id int64) {
		t.Helper()
		if st, b := agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", id), map[string]any{}, nil); st >= 300 {
			t.Fatalf("close %d: %d %s", id, st, b)
		}
	}
	closeConv(busy)
	waitAssigned(ahead1)
	place(2, "")
	closeConv(ahead1)
	waitAssigned(ahead2)
	wait := place(1, "")
	if a := assignee(mine); a != nil {
		t.Fatalf("the visitor's conversation was assigned to %d while the agent was full", *a)
	}
	// In a longer language the place and the wait are still there to read.
	host.do("German", chromedp.Evaluate[chromedp.Void](`Switchboard.setLocale('de')`))
	german := wmQueueText(t, "de", 1, wait)
	waitFor[bool](frame, "the header says "+jsQuote(german), `document.getElementById('sb-status').textContent === `+jsQuote(german))
	waitFor[bool](frame, "the German line is shown in full", wmUnclipped)
	wbShot(host, "desktop-queue-german")
	host.do("English", chromedp.Evaluate[chromedp.Void](`Switchboard.setLocale('en')`))
	english := wmQueueText(t, "en", 1, wait)
	waitFor[bool](frame, "English again", `document.getElementById('sb-status').textContent === `+jsQuote(english))

	// The line is about the conversation on screen. The header is read in
	// the same script as the click: a queue frame arriving in between (the
	// routing sweep sends them every second) cannot hide a missed repaint.
	frame.do("open the menu", chromedp.Click(chromedp.ID("sb-menu-btn")), chromedp.WaitVisible(chromedp.ID("sb-m-new")))
	if got := evalJS[string](frame, `(() => { document.getElementById('sb-m-new').click(); return document.getElementById('sb-status').textContent; })()`); got != online {
		t.Errorf("a new conversation's header says %q, want %q", got, online)
	}
	frame.do("back to the list", chromedp.Click(chromedp.ID("sb-back")))
	row := fmt.Sprintf(`.sb-conv[data-id="%d"]`, mine)
	frame.do("the list shows the waiting conversation", chromedp.WaitVisible(chromedp.CSS(row)))
	if got := evalJS[string](frame, `(() => { document.querySelector(`+jsQuote(row)+`).click(); return document.getElementById('sb-status').textContent; })()`); got != english {
		t.Errorf("back in the waiting conversation, the header says %q, want %q", got, english)
	}
	waitFor[bool](frame, "its messages are shown", `!document.getElementById('sb-chat').hidden && document.querySelectorAll('[data-testid=sb-message]').length === 1`)

	closeConv(ahead2)
	waitAssigned(mine)
	waitFor[bool](frame, "the agent joins the conversation", `Array.from(document.querySelectorAll('[data-testid=sb-message].sb-event')).some(li => li.textContent.includes(`+jsQuote(e.admin.Name)+`))`)
	waitFor[bool](frame, "the queue line is gone", `document.getElementById('sb-status').textContent === `+jsQuote(online))
	noProblems(t, host, frame)
}

// wmRequest is one request a page or frame made, as Chromium reported it.
type wmRequest struct {
	who, method, url string
}

// wmRecorder collects the requests of the targets it listens to.
type wmRecorder struct {
	mu   sync.Mutex
	reqs []wmRequest
}

func (r *wmRecorder) listener(who string) func(ev any) {
	return func(ev any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			r.reqs = append(r.reqs, wmRequest{who, ev.Request.Method, ev.Request.URL})
		case *network.EventWebSocketCreated:
			r.reqs = append(r.reqs, wmRequest{who, "WEBSOCKET", ev.URL})
		}
	}
}

func (r *wmRecorder) all() []wmRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// wmFrameTab is frameTab that also hands the frame's events to listen from
// the moment it attaches.
func wmFrameTab(t *testing.T, page *browserTab, urlPrefix string, listen func(ev any)) *browserTab {
	t.Helper()
	for end := time.Now().Add(stepTimeout); ; time.Sleep(50 * time.Millisecond) {
		infos, err := chromedp.Targets(page.ctx)
		if err != nil {
			t.Fatalf("listing targets: %v", err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, urlPrefix) {
				ctx, cancel := chromedp.NewContext(page.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithListener(listen))
				t.Cleanup(cancel)
				return attachTab(t, ctx, "widget frame")
			}
		}
		if time.Now().After(end) {
			t.Fatalf("no iframe target for %s", urlPrefix)
		}
	}
}

// wmOrigin is the origin a URL is fetched from (a websocket's as http).
func wmOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "unparsable: " + raw
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	return u.Scheme + "://" + u.Host
}

// TestWidgetMoreNoThirdParties: through a whole conversation (the page
// loads, the visitor opens the window, writes, gets a reply, switches the
// language, attaches and sees an image), every request the host page and the
// widget frame make goes to the page's own origin or the chat server's,
// and the host page itself asks the chat server for nothing but widget.js
// and the frame. Chromium's network events cover the page from its first
// request and the frame (its own process) from the moment the test attaches;
// the frame's Resource Timing entries cover its requests before that.
func TestWidgetMoreNoThirdParties(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	hostURL := wbHost(t, wbHostOpts{chatURL: e.URL, siteKey: e.site.PublicKey, csp: true})
	hostOrigin := strings.TrimSuffix(hostURL, "/")
	browser := startBrowserWith(t, wmBudget)
	rec := &wmRecorder{}
	hostCtx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(rec.listener("page")))
	t.Cleanup(cancel)
	host := attachTab(t, hostCtx, "host page")
	host.do("open the host page", chromedp.Navigate(hostURL), chromedp.WaitVisible(chromedp.ID("sb-launcher")))
	frame := wmFrameTab(t, host, e.URL+"/widget/frame.html", rec.listener("frame"))
	frame.do("the widget frame is loaded", chromedp.WaitReady(chromedp.ID("sb-input")))
	waitFor[bool](host, "the widget is ready", `__sb.some(e => e.n === 'ready')`)

	host.do("open the chat", chromedp.Click(chromedp.ID("sb-launcher")))
	wbSend(frame, "Hi, is the Ridge 2 tent waterproof?")
	convID := wbConversationID(host)
	agent := e.loginAgent(e.admin.Email, e.password)
	r := wbReply(t, agent, convID, "Yes, rated to 3000 mm. See https://example.com/ridge-2 for the specs.")
	waitFor[bool](frame, "the reply arrives", `!!document.querySelector('[data-seq="`+fmt.Sprint(r)+`"]')`)
	host.do("French, please", chromedp.Evaluate[chromedp.Void](`Switchboard.setLocale('fr')`))
	waitFor[bool](frame, "the widget speaks French", `document.documentElement.lang === 'fr'`)
	pic := wbPNG(t, "wet-tent.png", 200)
	frame.do("attach a photo", chromedp.SetUploadFiles(chromedp.ID("sb-file"), []string{pic}))
	waitFor[bool](frame, "the photo is uploaded", `(() => {
		const c = document.querySelector('#sb-staged .sb-chip');
		return !!c && !c.classList.contains('sb-uploading');
	})()`)
	frame.do("send it", chromedp.SendKeys(chromedp.ID("sb-input"), "Mine leaks at the seam"), chromedp.Click(chromedp.ID("sb-send")))
	seq := wbStored(frame, "Mine leaks at the seam")
	waitFor[bool](frame, "the photo is shown", `(() => {
		const img = document.querySelector('[data-seq="`+fmt.Sprint(seq)+`"] .sb-att-img img');
		return !!img && img.complete && img.naturalWidth === 200;
	})()`)

	reqs := rec.all()
	for _, tb := range []struct {
		tab *browserTab
		who string
	}{{host, "page"}, {frame, "frame"}} {
		for _, u := range evalJS[[]string](tb.tab, `performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).map(r => r.name)`) {
			reqs = append(reqs, wmRequest{tb.who + " (resource timing)", "", u})
		}
	}
	seen := map[string]bool{}
	var fromPage []string
	for _, q := range reqs {
		o := wmOrigin(q.url)
		switch {
		case strings.HasPrefix(q.url, "data:") || strings.HasPrefix(q.url, "blob:"):
			continue // in memory, not the network
		case o != hostOrigin && o != e.URL:
			t.Errorf("%s: %s %s goes to %s, neither the page's origin nor the chat server's", q.who, q.method, q.url, o)
		}
		u, _ := url.Parse(q.url)
		key := q.method + " " + u.Path
		if q.who == "page" && o == e.URL && !seen["page "+key] {
			fromPage = append(fromPage, key)
		}
		seen[q.who+" "+key] = true
	}
	sort.Strings(fromPage)
	if want := []string{"GET /widget.js", "GET /widget/frame.html"}; !slices.Equal(fromPage, want) {
		t.Errorf("the host page asked the chat server for %q, want only %q", fromPage, want)
	}
	// The recording saw the conversation (else the check above proves nothing).
	for _, want := range []string{
		"frame WEBSOCKET /api/v1/widget/ws",
		"frame GET /widget/lang-fr.json",
		fmt.Sprintf("frame POST /api/v1/widget/conversations/%d/attachments", convID),
		"frame (resource timing)  /api/v1/widget/sessions",
		"frame (resource timing)  /widget/frame.js",
	} {
		if !seen[want] {
			t.Errorf("the recording misses %q", want)
		}
	}
	if t.Failed() {
		for _, q := range reqs {
			t.Logf("%s: %s %s", q.who, q.method, q.url)
		}
	}
	noProblems(t, host, frame)
}

// wmDocSnippet is the install snippet in a Markdown file (the html block
// under heading), for a server and a site key.
func wmDocSnippet(t *testing.T, file, heading, chatURL, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", file))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no %q", file, heading)
	}
	m := regexp.MustCompile("(?s)```html\n(.*?)\n```").FindStringSubmatch(doc[i:])
	if m == nil {
		t.Fatalf("%s: no html block under %q", file, heading)
	}
	return strings.NewReplacer("https://CHAT-HOST", chatURL, "SITE_KEY", key).Replace(m[1])
}

// TestWidgetMoreInstallSnippet: the console's site settings show exactly
// the snippet docs/widget.md and the README give, filled in with the
// server's URL and the site's key; its stub line has the hash the docs'
// CSP lines allow; the copy button puts it on the clipboard.
func TestWidgetMoreInstallSnippet(t *testing.T) {
	requireBrowser(t)
	e := newEnv(t)
	site := wbSite(t, e, chat.Site{Name: "Acme Outdoor"})
	want := wmDocSnippet(t, "docs/widget.md", "## Install", e.URL, site.PublicKey)
	if readme := wmDocSnippet(t, "README.md", "## Adding the chat to a site", e.URL, site.PublicKey); readme != want {
		t.Errorf("README and docs/widget.md differ:\n%s\n%s", readme, want)
	}
	docs, _ := os.ReadFile(filepath.Join("..", "docs", "widget.md"))
	stub := strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(want, "\n", 2)[0], "<script>"), "</script>")
	sum := sha256.Sum256([]byte(stub))
	if hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(string(docs), hash) {
		t.Errorf("docs/widget.md's CSP lines do not allow the stub line (its hash is %s)", hash)
	}

	browserCtx := startBrowserWith(t, wmBudget)
	tab := cbLogin(t, browserCtx, e, "admin console", e.admin.Email)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(tab.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted,
			Origin: e.URL, BrowserContextID: chromedp.FromContext(tab.ctx).BrowserContextID}); err != nil {
			t.Fatalf("granting %s: %v", name, err)
		}
	}
	tab.do("open the site's settings", chromedp.Evaluate[chromedp.Void](`location.hash = '#/settings/sites/`+fmt.Sprint(site.ID)+`'`))
	waitFor[bool](tab, "the install card shows", `!!document.getElementById('install-snippet') && document.getElementById('install-snippet').textContent.includes(`+jsQuote(site.PublicKey)+`)`)
	if got := evalJS[string](tab, `document.getElementById('install-snippet').textContent`); got != want {
		t.Errorf("the console shows\n%s\nwant (from docs/widget.md)\n%s", got, want)
	}
	tab.do("copy it", chromedp.Click(chromedp.ID("copy-snippet")))
	waitFor[bool](tab, "the console says it is copied", cbHasText(".toasts", "Snippet copied"))
	ctx, cancel := context.WithTimeout(tab.ctx, stepTimeout)
	defer cancel()
	clip, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("reading the clipboard: %v", err)
	}
	if clip != want {
		t.Errorf("the clipboard holds\n%s\nwant\n%s", clip, want)
	}
	noProblems(t, tab)
}
