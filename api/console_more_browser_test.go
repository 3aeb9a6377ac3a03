package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/workers"
	"github.com/switchboard-chat/switchboard/workers/mailtest"
)

// More browser tests of the agent console, for what TestConsoleFlow and its
// neighbours leave out: snoozing (and the wake-up job), saved filters,
// inviting an agent by email, deactivating a signed-in agent, the site's
// identity secret, alerts in a background tab, and idle-to-away.

// cmLogin is cbLogin with setup before the console loads: prepare runs on
// the fresh tab (permissions, say), initJS runs in the page before the
// console's own scripts on every load (recorders, localStorage knobs).
func cmLogin(t *testing.T, browserCtx context.Context, e *env, name, email string, prepare func(*browserTab), initJS string) *browserTab {
	t.Helper()
	tab := newTab(t, browserCtx, name)
	if prepare != nil {
		prepare(tab)
	}
	if initJS != "" {
		tab.do("install the init script", cmInitScript(initJS))
	}
	tab.do("open the console and sign in",
		chromedp.Navigate(e.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("login-email")),
		chromedp.SendKeys(chromedp.ID("login-email"), email),
		chromedp.SendKeys(chromedp.ID("login-password"), e.password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("logout")),
	)
	return tab
}

func cmInitScript(src string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	})
}

// cmFront brings a tab to the front of its window: the tab it covers turns
// hidden (document.hidden, no focus), as when an agent switches tabs.
func cmFront(tb *browserTab) {
	tb.t.Helper()
	tb.do("bring the tab to the front", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.BringToFront, cdp.Empty{})
		return err
	}))
}

// cmOtherTab opens a blank tab in the same window (and browser profile) as tab.
func cmOtherTab(t *testing.T, tab *browserTab, name string) *browserTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(tab.ctx, chromedp.WithNewWindow(false))
	t.Cleanup(cancel)
	other := attachTab(t, ctx, name)
	other.do("open a blank page", chromedp.Navigate("about:blank"))
	return other
}

// cmSelect picks an option of a <select> and fires change, as a user's pick does.
func cmSelect(tab *browserTab, id, value string) {
	tab.t.Helper()
	if !evalJS[bool](tab, `(() => { const s = document.getElementById(`+jsQuote(id)+`);
		if (!s || !Array.from(s.options).some(o => o.value === `+jsQuote(value)+`)) return false;
		s.focus(); s.value = `+jsQuote(value)+`; s.dispatchEvent(new Event('input', {bubbles: true})); s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`) {
		tab.fail("select #%s has no option %q", id, value)
	}
}

// cmAgentStatus polls the agent list (as the admin) until the agent's
// stored status is want.
func cmAgentStatus(t *testing.T, admin *client, id int64, want string, within time.Duration) {
	t.Helper()
	var got string
	for end := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		var out struct{ Agents []chat.Agent }
		if st, b := admin.do("GET", "/api/v1/agents", nil, &out); st != 200 {
			t.Fatalf("GET /agents: %d %s", st, b)
		}
		for _, a := range out.Agents {
			if a.ID == id {
				got = a.Status
			}
		}
		if got == want {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("agent %d: status %q after %v, want %q", id, got, within, want)
		}
	}
}

func cmConversation(t *testing.T, c *client, id int64) chat.Conversation {
	t.Helper()
	var out struct{ Conversation chat.Conversation }
	if st, b := c.do("GET", fmt.Sprintf("/api/v1/conversations/%d", id), nil, &out); st != 200 {
		t.Fatalf("GET conversation %d: %d %s", id, st, b)
	}
	return out.Conversation
}

// TestConsoleMoreSnooze: the agent snoozes a conversation until a chosen
// time from its header; it leaves the open views (and their counts) and is
// listed under the Snoozed status. When the wake-up chore runs, the console
// shows it open again, live.
func TestConsoleMoreSnooze(t *testing.T) {
	cbRequire(t)
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	_, _, id := cbVisitorChat(e, "Can you call me back next week about the wholesale order?")
	_, _, other := cbVisitorChat(e, "Do you have the stove in stock?")

	browserCtx := startBrowser(t)
	tab := cbLogin(t, browserCtx, e, "console", e.admin.Email)
	evalJS[chromedp.Void](tab, `window.__sbNoReload = true`)
	waitFor[bool](tab, "both conversations are counted", `(document.querySelector('[data-testid=count-all]') || {}).textContent === '2'`)
	cbOpen(tab, id)

	// Snooze until a time two hours from now, typed into the picker.
	var when struct{ Local, ISO string }
	if err := json.Unmarshal([]byte(evalJS[string](tab, `(() => {
		const d = new Date(Date.now() + 2 * 3600e3); d.setSeconds(0, 0);
		const p = (n) => String(n).padStart(2, '0');
		return JSON.stringify({local: d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()), iso: d.toISOString()});
	})()`)), &when); err != nil {
		t.Fatal(err)
	}
	until, err := time.Parse(time.RFC3339, when.ISO)
	if err != nil {
		t.Fatal(err)
	}
	tab.do("open the snooze menu", chromedp.Click(chromedp.ID("snooze-button")), chromedp.WaitVisible(chromedp.ID("snooze-at")))
	evalJS[chromedp.Void](tab, `(() => { const i = document.getElementById('snooze-at'); i.focus(); i.value = `+jsQuote(when.Local)+`;
		i.dispatchEvent(new Event('input', {bubbles: true})); })()`)
	tab.do("snooze", chromedp.Click(chromedp.ID("snooze-custom")))
	waitFor[bool](tab, "the header says snoozed until then", `(document.querySelector('.pane-sub .badge') || {}).textContent === 'snoozed' && `+cbHasText(".pane-sub", "until"))
	waitFor[bool](tab, "the details say when it wakes", cbHasText(".details", "Snoozed until"))
	conv := cmConversation(t, admin, id)
	if conv.Status != chat.ConvSnoozed || conv.SnoozedUntil == nil || !conv.SnoozedUntil.Equal(until) {
		t.Fatalf("stored: status %q until %v, want snoozed until %v", conv.Status, conv.SnoozedUntil, until)
	}

	// It leaves the open view and its count; the other conversation stays.
	waitFor[bool](tab, "it leaves All open", `!document.querySelector('`+cbItem(id)+`') && !!document.querySelector('`+cbItem(other)+`')`)
	waitFor[bool](tab, "the All count drops", `document.querySelector('[data-testid=count-all]').textContent === '1'`)
	waitFor[bool](tab, "the Unassigned count drops", `document.querySelector('[data-testid=count-unassigned]').textContent === '1'`)

	// Filtered by status Snoozed: only it, marked snoozed.
	tab.do("open the filter panel", chromedp.Click(chromedp.ID("filter-button")), chromedp.WaitVisible(chromedp.ID("f-status")))
	cmSelect(tab, "f-status", "snoozed")
	waitFor[bool](tab, "only the snoozed conversation is listed", `document.querySelectorAll('[data-testid=conversation-item]').length === 1 && !!document.querySelector('`+cbItem(id)+` .badge.snoozed')`)
	tab.do("close the filter panel", chromedp.Click(chromedp.ID("filter-button")))
	tab.screenshot(screenshotDir(t), "console-snoozed.png")

	// The wake-up chore (a worker job) runs once the time has come: the
	// console learns it live, without a reload.
	keeper := &workers.Housekeeper{Store: e.db, Blobs: store.NewDiskBlobs(t.TempDir()), Notify: e.srv.RoutingNotify, Log: quiet}
	if err := keeper.RunOnce(context.Background(), until.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c := cmConversation(t, admin, id); c.Status != chat.ConvSnoozed {
		t.Fatalf("woke before its time: %q", c.Status)
	}
	if err := keeper.RunOnce(context.Background(), until.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	waitFor[bool](tab, "the header says open again", `(document.querySelector('.pane-sub .badge') || {}).textContent === 'open' && !`+cbHasText(".pane-sub", "until"))
	waitFor[bool](tab, "it leaves the snoozed list", `!document.querySelector('`+cbItem(id)+`')`)
	waitFor[bool](tab, "the All count is back", `document.querySelector('[data-testid=count-all]').textContent === '2'`)
	tab.do("clear the filter", chromedp.Click(chromedp.ID("filter-button")), chromedp.WaitVisible(chromedp.ID("f-status")))
	cmSelect(tab, "f-status", "")
	waitFor[bool](tab, "it is back in All open", `!!document.querySelector('`+cbItem(id)+` .badge.open')`)
	if !evalJS[bool](tab, `window.__sbNoReload === true`) {
		tab.fail("the console reloaded")
	}
	noProblems(t, tab)
}

// TestConsoleMoreSavedFilters: the agent filters the inbox by a label,
// saves the filter, finds it in the sidebar, opens it (only matching
// conversations, live), and deletes it.
func TestConsoleMoreSavedFilters(t *testing.T) {
	cbRequire(t)
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	for _, l := range []string{"vip", "refund"} {
		if st, b := admin.do("POST", "/api/v1/labels", map[string]string{"name": l}, nil); st != 201 {
			t.Fatalf("label %s: %d %s", l, st, b)
		}
	}
	label := func(id int64, ls ...string) {
		if st, b := admin.do("PUT", fmt.Sprintf("/api/v1/conversations/%d/labels", id), map[string]any{"labels": ls}, nil); st != 200 {
			t.Fatalf("labels: %d %s", st, b)
		}
	}
	_, _, vip1 := cbVisitorChat(e, "I ordered 40 tents for our club")
	_, _, plain := cbVisitorChat(e, "What are your opening hours?")
	_, _, vip2 := cbVisitorChat(e, "Invoice for the club order, please")
	_, _, refund := cbVisitorChat(e, "I want my money back")
	label(vip1, "vip")
	label(vip2, "vip", "refund")
	label(refund, "refund")

	browserCtx := startBrowser(t)
	tab := cbLogin(t, browserCtx, e, "console", e.admin.Email)
	waitFor[bool](tab, "all four are listed", `document.querySelectorAll('[data-testid=conversation-item]').length === 4`)
	waitFor[bool](tab, "no saved filters yet", cbHasText(".nav", "Filter the list, then save it here."))

	tab.do("open the filter panel", chromedp.Click(chromedp.ID("filter-button")), chromedp.WaitVisible(chromedp.ID("f-label")))
	waitFor[bool](tab, "the label catalogue is offered", `Array.from(document.getElementById('f-label').options).some(o => o.value === 'vip')`)
	cmSelect(tab, "f-label", "vip")
	waitFor[bool](tab, "the list narrows to vip", `document.querySelectorAll('[data-testid=conversation-item]').length === 2 && !!document.querySelector('`+cbItem(vip1)+`') && !!document.querySelector('`+cbItem(vip2)+`')`)
	tab.do("save it as VIP customers",
		chromedp.SendKeys(chromedp.ID("filter-name"), "VIP customers"),
		chromedp.Click(chromedp.ID("save-filter")),
	)
	filterBtn := `Array.from(document.querySelectorAll('[data-testid=saved-filter]')).find(b => b.textContent.includes('VIP customers'))`
	waitFor[bool](tab, "the filter is in the sidebar, open", `(() => { const b = `+filterBtn+`; return !!b && b.getAttribute('aria-current') === 'page'; })()`)
	waitFor[bool](tab, "the sidebar counts its two conversations", `(() => { const b = `+filterBtn+`; const c = b && b.querySelector('.count'); return !!c && c.textContent === '2'; })()`)
	waitFor[bool](tab, "the list is titled after it", cbHasText(".inbox-title h1", "VIP customers"))
	var saved struct {
		Filters []struct {
			ID    int64
			Name  string
			Query map[string]string
		}
	}
	admin.do("GET", "/api/v1/filters", nil, &saved)
	if len(saved.Filters) != 1 || saved.Filters[0].Name != "VIP customers" || saved.Filters[0].Query["label"] != "vip" || saved.Filters[0].Query["status"] != "open" {
		t.Fatalf("stored filters: %+v", saved.Filters)
	}
	// The ad-hoc filter was folded into the saved one.
	waitFor[bool](tab, "the filter button shows no ad-hoc filter", `document.getElementById('filter-button').textContent.trim() === 'Filter'`)

	// Elsewhere and back: the filter lists exactly the matching ones.
	tab.do("go to All open", chromedp.Click(chromedp.ID("view-all")))
	waitFor[bool](tab, "All open lists four", `document.querySelectorAll('[data-testid=conversation-item]').length === 4`)
	tab.do("open the saved filter", chromedp.Click(chromedp.CSS(`[data-testid=saved-filter]`)))
	waitFor[bool](tab, "only the vip ones are listed", `document.querySelectorAll('[data-testid=conversation-item]').length === 2 && !!document.querySelector('`+cbItem(vip1)+`') && !!document.querySelector('`+cbItem(vip2)+`')`)
	if evalJS[bool](tab, `!!document.querySelector('`+cbItem(plain)+`') || !!document.querySelector('`+cbItem(refund)+`')`) {
		tab.fail("the filter lists a conversation without the label")
	}
	// Live: a label added elsewhere brings a conversation in, one removed takes it out.
	label(refund, "refund", "vip")
	waitFor[bool](tab, "a newly labelled conversation joins", `!!document.querySelector('`+cbItem(refund)+`') && document.querySelectorAll('[data-testid=conversation-item]').length === 3`)
	waitFor[bool](tab, "the sidebar counts it", `(() => { const b = `+filterBtn+`; const c = b && b.querySelector('.count'); return !!c && c.textContent === '3'; })()`)
	label(vip1)
	waitFor[bool](tab, "an unlabelled one leaves", `!document.querySelector('`+cbItem(vip1)+`') && document.querySelectorAll('[data-testid=conversation-item]').length === 2`)
	// It survives a reload (the scope is remembered).
	tab.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("logout")))
	waitFor[bool](tab, "still the saved filter after a reload", cbHasText(".inbox-title h1", "VIP customers")+` && document.querySelectorAll('[data-testid=conversation-item]').length === 2`)
	waitFor[bool](tab, "the previews have loaded", `Array.from(document.querySelectorAll('.conv-preview')).every(p => p.textContent !== '\u2026')`)
	tab.screenshot(screenshotDir(t), "console-saved-filter.png")
	// Below 1440 px the sidebar is a rail of icons: the filter's name is its tooltip.
	if title := evalJS[string](tab, `document.querySelector('[data-testid=saved-filter]').title`); title != "VIP customers" {
		tab.fail("the saved filter's tooltip is %q", title)
	}

	// Delete it (from the list's header: the rail has no room for the
	// sidebar's delete button): gone from the sidebar and the server; the
	// list falls back to All open.
	tab.do("delete the filter", chromedp.Click(chromedp.ID("delete-filter")))
	waitFor[bool](tab, "the filter is gone", `document.querySelectorAll('[data-testid=saved-filter]').length === 0`)
	waitFor[bool](tab, "back to All open", cbHasText(".inbox-title h1", "All open")+` && document.querySelectorAll('[data-testid=conversation-item]').length === 4`)
	admin.do("GET", "/api/v1/filters", nil, &saved)
	if len(saved.Filters) != 0 {
		t.Fatalf("filters after delete: %+v", saved.Filters)
	}
	noProblems(t, tab)
}

// TestConsoleMoreInvite: an admin invites an agent from the Agents page;
// the invitation email (sent through SMTP by the jobs) carries the one-time
// link; the new agent opens it in their own browser, chooses a password and
// signs in.
func TestConsoleMoreInvite(t *testing.T) {
	cbRequire(t)
	e := newEnv(t)
	sink, smtpURL := mailtest.Start(t)
	mailer, err := workers.NewSMTPMailer(smtpURL, "Switchboard <no-reply@acme.test>")
	if err != nil {
		t.Fatal(err)
	}
	notifier := &workers.Notifier{Store: e.db, Postman: &workers.Postman{Store: e.db, Mailer: mailer}}
	jobs := &workers.OutboxHandler{Log: quiet, Done: e.db, Handlers: map[string][]workers.TopicHandler{chat.EventAgentInvited: {notifier.AccountEmail}}}
	runJobs := func() {
		ctx := context.Background()
		evs, err := e.db.PendingOutbox(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, ev := range evs {
			task, err := workers.NewOutboxTask(ev)
			if err != nil {
				t.Fatal(err)
			}
			if err := jobs.ProcessTask(ctx, task); err != nil {
				t.Fatalf("job for %s: %v", ev.Topic, err)
			}
			ids = append(ids, ev.ID)
		}
		if err := e.db.MarkDispatched(ctx, ids); err != nil {
			t.Fatal(err)
		}
	}
	admin := e.loginAgent(e.admin.Email, e.password)
	var team struct{ ID int64 }
	if st, b := admin.do("POST", "/api/v1/teams", map[string]string{"name": "Billing"}, &team); st != 201 {
		t.Fatalf("team: %d %s", st, b)
	}

	browserCtx := startBrowser(t)
	tab := cbLogin(t, browserCtx, e, "admin console", e.admin.Email)
	evalJS[chromedp.Void](tab, `location.hash = '#/settings/agents'`)
	tab.do("invite an agent",
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=agent-row]`)),
		chromedp.Click(chromedp.ID("agent-invite")),
		chromedp.WaitVisible(chromedp.ID("invite-email")),
		chromedp.SendKeys(chromedp.ID("invite-email"), "nora.new@acme.test"),
		chromedp.SendKeys(chromedp.ID("invite-name"), "Nora New"),
	)
	tab.do("put them in Billing", chromedp.Click(chromedp.CSS(`#invite-form .check input[type=checkbox]`)))
	waitFor[bool](tab, "Billing is ticked", `document.querySelector('#invite-form .check input').checked && `+cbHasText("#invite-form .check", "Billing"))
	tab.do("send the invitation", chromedp.Click(chromedp.ID("invite-submit")), chromedp.WaitVisible(chromedp.CSS(`[data-testid=invite-url]`)))
	shown := strings.TrimSpace(evalJS[string](tab, `document.querySelector('[data-testid=invite-url]').textContent`))
	if !strings.HasPrefix(shown, e.URL+"/set-password#token=") {
		t.Fatalf("the dialog shows %q, not a set-password link of this server", shown)
	}
	waitFor[bool](tab, "the new agent is listed", cbHasText("[data-testid=agent-row]", "nora.new@acme.test"))

	// The jobs send the invitation; its link is the one the dialog shows.
	if n := len(sink.All()); n != 0 {
		t.Fatalf("%d emails before the jobs ran", n)
	}
	runJobs()
	msgs := sink.All()
	if len(msgs) != 1 {
		t.Fatalf("SMTP received %d emails, want the invitation", len(msgs))
	}
	to, subject, text := strings.Join(msgs[0].To, ", "), msgs[0].Subject, msgs[0].Text
	link := regexp.MustCompile(`https?://\S+/set-password#token=\S+`).FindString(text)
	if !strings.Contains(to, "nora.new@acme.test") || !strings.Contains(subject, "invited") || link != shown {
		t.Fatalf("invitation email to %q, subject %q, link %q (dialog: %q):\n%s", to, subject, link, shown, text)
	}
	tab.do("close the dialog", chromedp.KeyEvent(kb.Escape))
	evalJS[chromedp.Void](tab, `location.hash = '#/settings/mailbox'`)
	waitFor[bool](tab, "the mailbox records the invitation as sent", `Array.from(document.querySelectorAll('[data-testid=mail-row]')).some(r => r.textContent.includes('nora.new@acme.test') && !!r.querySelector('.badge.sent'))`)

	// Nora, in her own browser: the link, a password, then sign in.
	nora := newTab(t, browserCtx, "new agent")
	nora.do("open the invitation link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("setpw-password")),
		chromedp.SendKeys(chromedp.ID("setpw-password"), "nora's own password"),
		chromedp.SendKeys(chromedp.ID("setpw-again"), "nora's own pasword"),
		chromedp.Click(chromedp.ID("setpw-submit")),
	)
	waitFor[bool](nora, "a typo in the repeat is caught", cbHasText(".form-error", "differ"))
	evalJS[chromedp.Void](nora, `(() => { const i = document.getElementById('setpw-again'); i.value = ''; i.dispatchEvent(new Event('input', {bubbles: true})); })()`)
	nora.do("repeat it right", chromedp.SendKeys(chromedp.ID("setpw-again"), "nora's own password"), chromedp.Click(chromedp.ID("setpw-submit")))
	waitFor[bool](nora, "the password is set", cbHasText(".login-card h1", "Password set")+` && location.hash === ''`)
	nora.do("sign in",
		chromedp.Click(chromedp.CSS(`.login-card a.btn`)),
		chromedp.WaitVisible(chromedp.ID("login-email")),
		chromedp.SendKeys(chromedp.ID("login-email"), "nora.new@acme.test"),
		chromedp.SendKeys(chromedp.ID("login-password"), "nora's own password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("logout")),
	)
	waitFor[bool](nora, "the console knows her", `document.getElementById('my-status').getAttribute('title').startsWith('Nora New')`)
	waitFor[bool](nora, "an agent sees Preferences, not Settings", cbHasText("#nav-settings", "Preferences"))
	nora.screenshot(screenshotDir(t), "console-invited-agent.png")

	var agents struct{ Agents []chat.Agent }
	admin.do("GET", "/api/v1/agents", nil, &agents)
	var invited *chat.Agent
	for i := range agents.Agents {
		if agents.Agents[i].Email == "nora.new@acme.test" {
			invited = &agents.Agents[i]
		}
	}
	if invited == nil || invited.Name != "Nora New" || invited.Role != chat.RoleAgent || len(invited.TeamIDs) != 1 || invited.TeamIDs[0] != team.ID || !invited.Active {
		t.Fatalf("the invited agent: %+v", invited)
	}
	// The link worked once.
	if st, b := e.client().do("POST", "/api/v1/auth/set-password", map[string]string{"token": tokenFrom(t, link), "password": "another password"}, nil); st != 401 {
		t.Fatalf("the invitation link worked twice: %d %s", st, b)
	}
	noProblems(t, tab, nora)
}

// TestConsoleMoreDeactivate: an admin deactivates an agent who is signed in
// elsewhere; the agent's console drops to the sign-in screen within
// seconds, and signing in again is refused.
func TestConsoleMoreDeactivate(t *testing.T) {
	cbRequire(t)
	e := newEnv(t)
	bob := cbAgent(e, "Bob Builder", chat.RoleAgent)
	bobAPI := e.loginAgent(bob.Email, e.password)
	browserCtx := startBrowser(t)
	adminTab := cbLogin(t, browserCtx, e, "admin console", e.admin.Email)
	bobTab := cbLogin(t, browserCtx, e, "bob console", bob.Email)
	waitFor[bool](bobTab, "Bob's inbox has loaded", cbHasText(".list-note", "No conversations"))

	evalJS[chromedp.Void](adminTab, `location.hash = '#/settings/agents'`)
	waitFor[bool](adminTab, "Bob is listed", cbHasText("[data-testid=agent-row]", bob.Email))
	row := evalJS[int](adminTab, `Array.from(document.querySelectorAll('[data-testid=agent-row]')).findIndex(r => r.textContent.includes(`+jsQuote(bob.Email)+`)) + 1`)
	began := time.Now()
	adminTab.do("deactivate Bob", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-testid=agent-row]:nth-child(%d) [data-testid=deactivate]`, row))))
	waitFor[bool](adminTab, "Bob's row says deactivated", fmt.Sprintf(`!!document.querySelector('[data-testid=agent-row]:nth-child(%d) .badge.closed')`, row)+` && `+
		cbHasText(fmt.Sprintf(`[data-testid=agent-row]:nth-child(%d)`, row), "Deactivated"))

	// Bob's console: signed out within seconds, without a reload or a click.
	bobTab.do("Bob's console shows the sign-in screen", chromedp.WaitVisible(chromedp.ID("login-email")))
	took := time.Since(began)
	t.Logf("Bob's console was signed out %v after the click", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Fatalf("Bob's console took %v to notice the deactivation", took)
	}
	if evalJS[bool](bobTab, `!!document.getElementById('logout')`) {
		bobTab.fail("the console is still shown")
	}
	if st, _ := bobAPI.do("GET", "/api/v1/me", nil, nil); st != 401 {
		t.Fatalf("Bob's other session: GET /me = %d, want 401", st)
	}
	bobTab.do("Bob tries to sign in again",
		chromedp.SendKeys(chromedp.ID("login-email"), bob.Email),
		chromedp.SendKeys(chromedp.ID("login-password"), e.password),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	waitFor[bool](bobTab, "the sign-in is refused", cbHasText(".form-error", "Wrong email or password"))
	bobTab.screenshot(screenshotDir(t), "console-deactivated.png")
	var agents struct{ Agents []chat.Agent }
	e.loginAgent(e.admin.Email, e.password).do("GET", "/api/v1/agents", nil, &agents)
	for _, a := range agents.Agents {
		if a.ID == bob.ID && (a.Active || a.Status != chat.StatusOffline) {
			t.Fatalf("Bob after deactivation: active %v, status %q", a.Active, a.Status)
		}
	}
	noProblems(t, adminTab)
}

// TestConsoleMoreIdentitySecret: the admin reveals the site's identity
// secret and rotates it; the page shows the new one, the server verifies
// identities with it, and a hash made with the old one is refused.
func TestConsoleMoreIdentitySecret(t *testing.T) {
	cbRequire(t)
	e := newEnv(t)
	const old = "0ld-identity-secret-for-the-shop"
	site := e.siteWith(func(s *chat.Site) { s.Name = "Acme shop"; s.IdentitySecret = old })
	identify := func(secret string) int {
		v, _ := e.newVisitor(site)
		var out identifyResponse
		st, _ := v.do("POST", "/api/v1/widget/identify", map[string]any{"id": "customer-7", "hash": sign(secret, "customer-7")}, &out)
		if st == 200 && (out.Visitor == nil || !out.Visitor.Verified) {
			t.Fatalf("identify answered 200 without verifying: %+v", out.Visitor)
		}
		return st
	}
	if st := identify(old); st != 200 {
		t.Fatalf("identify with the current secret: %d", st)
	}

	browserCtx := startBrowser(t)
	tab := cbLogin(t, browserCtx, e, "admin console", e.admin.Email)
	evalJS[chromedp.Void](tab, `location.hash = '#/settings/sites/`+fmt.Sprint(site.ID)+`'`)
	secret := `document.querySelector('[data-testid=identity-secret]').textContent`
	tab.do("the security card shows", chromedp.WaitVisible(chromedp.ID("secret-show")))
	if s := evalJS[string](tab, secret); strings.Contains(s, old) || !strings.Contains(s, "\u2022") {
		tab.fail("the secret is not masked: %q", s)
	}
	tab.do("show the secret", chromedp.Click(chromedp.ID("secret-show")))
	waitFor[bool](tab, "the secret is shown", secret+` === `+jsQuote(old))
	tab.do("hide it again", chromedp.Click(chromedp.ID("secret-show")))
	waitFor[bool](tab, "masked again", `!`+secret+`.includes(`+jsQuote(old)+`)`)

	tab.do("rotate",
		chromedp.Click(chromedp.ID("secret-rotate")),
		chromedp.WaitVisible(chromedp.ID("secret-rotate-confirm")),
		chromedp.Click(chromedp.ID("secret-rotate-confirm")),
	)
	fresh := waitFor[string](tab, "a new secret is shown", `(() => { const s = `+secret+`.trim(); return s !== `+jsQuote(old)+` && !s.includes('\u2022') && s.length >= 16 ? s : ''; })()`)
	waitFor[bool](tab, "the confirmation closed", `!document.getElementById('secret-rotate-confirm')`)
	tab.screenshot(screenshotDir(t), "console-identity-secret.png")

	var stored struct {
		IdentitySecret string `json:"identity_secret"`
	}
	e.loginAgent(e.admin.Email, e.password).do("GET", fmt.Sprintf("/api/v1/sites/%d", site.ID), nil, &stored)
	if stored.IdentitySecret != fresh {
		t.Fatalf("the page shows %q, the server has %q", fresh, stored.IdentitySecret)
	}
	if st := identify(old); st != 403 {
		t.Fatalf("a hash made with the old secret: %d, want 403", st)
	}
	if st := identify(fresh); st != 200 {
		t.Fatalf("a hash made with the shown secret: %d, want 200", st)
	}
	// After a reload the page shows the stored secret.
	tab.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("secret-show")), chromedp.Click(chromedp.ID("secret-show")))
	waitFor[bool](tab, "the new secret after a reload", secret+` === `+jsQuote(fresh))
	noProblems(t, tab)
}

// cmRecorder records desktop notifications and chimes. The notifications
// are real (the browser granted the permission; the subclass calls the
// real constructor); the console's chime starts Web Audio oscillators,
// whose frequencies say which alert rang.
const cmRecorder = `(() => {
	window.__notes = [];
	window.__chimes = [];
	const Real = window.Notification;
	if (Real) {
		window.Notification = class extends Real {
			constructor(title, opts) {
				super(title, opts);
				window.__notes.push({title: String(title), body: String((opts && opts.body) || ''), tag: String((opts && opts.tag) || ''), hidden: document.hidden});
			}
		};
	}
	if (window.OscillatorNode) {
		const start = OscillatorNode.prototype.start;
		OscillatorNode.prototype.start = function (...args) {
			window.__chimes.push(this.frequency.value);
			return start.apply(this, args);
		};
	}
})()`

// TestConsoleMoreAlerts: with notifications allowed, a new conversation
// in the queue and a visitor's message in one of mine, while the console
// tab is in the background, each ring and show a desktop notification, and
// the tab title counts the unread; switched off in the preferences, they
// stop.
func TestConsoleMoreAlerts(t *testing.T) {
	cbRequire(t)
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	mineV, _, mine := cbVisitorChat(e, "Hello, about my order")
	if st, b := admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/claim", mine), map[string]any{}, nil); st != 200 {
		t.Fatalf("claim: %d %s", st, b)
	}

	browserCtx := startBrowser(t)
	grant := func(tab *browserTab) {
		if _, err := chromedp.CallBrowser(tab.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted,
			Origin: e.URL, BrowserContextID: chromedp.FromContext(tab.ctx).BrowserContextID}); err != nil {
			t.Fatalf("granting notifications: %v", err)
		}
	}
	tab := cmLogin(t, browserCtx, e, "console", e.admin.Email, grant, cmRecorder)
	if perm := evalJS[string](tab, `Notification.permission`); perm != "granted" {
		tab.fail("Notification.permission = %q", perm)
	}
	evalJS[chromedp.Void](tab, `location.hash = '#/settings/profile'`)
	waitFor[bool](tab, "the profile page says notifications are allowed", cbHasText("#alerts-card", "Desktop notifications are allowed in this browser."))
	for _, k := range []string{"notify_queue", "notify_mine", "sound", "desktop"} {
		if !evalJS[bool](tab, `document.getElementById('pref-`+k+`').checked`) {
			tab.fail("preference %s is off by default", k)
		}
	}
	tab.do("back to the inbox", chromedp.Click(chromedp.ID("view-all")))
	waitFor[bool](tab, "my conversation is listed", `!!document.querySelector('`+cbItem(mine)+`')`)
	if n := evalJS[int](tab, `window.__notes.length + window.__chimes.length`); n != 0 {
		tab.fail("%d alerts before anything happened", n)
	}
	if title := evalJS[string](tab, `document.title`); title != "Switchboard" {
		tab.fail("title %q with nothing unread", title)
	}

	// The agent switches to another tab.
	other := cmOtherTab(t, tab, "another tab")
	cmFront(other)
	waitFor[bool](tab, "the console tab is hidden", `document.hidden && !document.hasFocus()`)

	// A new conversation in the queue.
	_, _, queued := cbVisitorChat(e, "Is the red tent back in stock?")
	waitFor[bool](tab, "a desktop notification for the queue", `window.__notes.some(n => n.title === 'New conversation in the queue' && n.hidden)`)
	waitFor[bool](tab, "the queue chime", `window.__chimes.includes(660) && window.__chimes.includes(880)`)
	waitFor[bool](tab, "the title counts one unread", `document.title === '(1) Switchboard'`)
	// A visitor writes in my conversation.
	cbVisitorSay(mineV, mine, "Any news about the delivery date?")
	waitFor[bool](tab, "a desktop notification for my conversation", `window.__notes.some(n => n.title.startsWith('New message from') && n.body === 'Any news about the delivery date?')`)
	waitFor[bool](tab, "the chime for my conversations", `window.__chimes.includes(587) && window.__chimes.includes(784)`)
	waitFor[bool](tab, "the title counts two unread", `document.title === '(2) Switchboard'`)
	if n := evalJS[int](tab, `window.__notes.length`); n != 2 {
		tab.fail("%d notifications for two events: %s", n, evalJS[string](tab, `JSON.stringify(window.__notes)`))
	}
	if !evalJS[bool](tab, `!!document.querySelector('`+cbItem(queued)+`.unread') && !!document.querySelector('`+cbItem(mine)+`.unread')`) {
		tab.fail("the list does not mark both as unread")
	}

	// Back in the console: the agent switches both alerts off.
	cmFront(tab)
	waitFor[bool](tab, "the console tab is visible", `!document.hidden`)
	evalJS[chromedp.Void](tab, `location.hash = '#/settings/profile'`)
	tab.do("switch off queue and my-conversation alerts",
		chromedp.WaitVisible(chromedp.ID("alerts-card")),
		chromedp.Click(chromedp.CSS(`label[for=pref-notify_queue]`)),
	)
	waitFor[bool](tab, "the queue switch is off", `!document.getElementById('pref-notify_queue').checked`)
	tab.do("switch off my-conversation alerts", chromedp.Click(chromedp.CSS(`label[for=pref-notify_mine]`)))
	waitFor[bool](tab, "the mine switch is off", `!document.getElementById('pref-notify_mine').checked`)
	var me struct{ Agent chat.Agent }
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		admin.do("GET", "/api/v1/me", nil, &me)
		if p := me.Agent.Preferences; !p.NotifyQueue && !p.NotifyMine && p.Sound && p.Desktop && p.NotifyMention {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("stored preferences: %+v", me.Agent.Preferences)
		}
	}
	tab.do("back to the inbox", chromedp.Click(chromedp.ID("view-all")))
	notes, chimes := evalJS[int](tab, `window.__notes.length`), evalJS[int](tab, `window.__chimes.length`)
	cmFront(other)
	waitFor[bool](tab, "the console tab is hidden again", `document.hidden`)

	_, _, quiet2 := cbVisitorChat(e, "Do you ship to Norway?")
	waitFor[bool](tab, "the new conversation arrives", `!!document.querySelector('`+cbItem(quiet2)+`')`)
	cbVisitorSay(mineV, mine, "Hello? Still there?")
	waitFor[bool](tab, "the message arrives", cbHasText(cbItem(mine)+" .conv-preview", "Still there?"))
	waitFor[bool](tab, "the title still counts unread", `document.title === '(3) Switchboard'`)
	tab.never("an alert although both are switched off", fmt.Sprintf(`window.__notes.length !== %d || window.__chimes.length !== %d`, notes, chimes), time.Second)
	noProblems(t, tab)
}

// TestConsoleMoreIdleAway: an agent who leaves the console alone turns Away
// (on the server too); moving the mouse brings them back Online. A status
// chosen by hand is left alone. The idle time is 5 minutes; the test
// shortens it with the console's sb.idle_ms localStorage knob.
func TestConsoleMoreIdleAway(t *testing.T) {
	cbRequire(t)
	e := newEnv(t)
	admin := e.loginAgent(e.admin.Email, e.password)
	bob := cbAgent(e, "Bob Builder", chat.RoleAgent)
	browserCtx := startBrowser(t)
	tab := cmLogin(t, browserCtx, e, "bob console", bob.Email, nil, `localStorage.setItem('sb.idle_ms', '2500')`)
	statusLabel := `document.getElementById('my-status').getAttribute('aria-label')`
	waitFor[bool](tab, "Bob is online", statusLabel+`.includes('Online')`)
	cmAgentStatus(t, admin, bob.ID, chat.StatusOnline, time.Second)

	began := time.Now()
	waitFor[bool](tab, "Bob turns away when idle", statusLabel+`.includes('Away')`)
	cmAgentStatus(t, admin, bob.ID, chat.StatusAway, 5*time.Second)
	t.Logf("away after %v idle", time.Since(began).Round(time.Millisecond))
	tab.screenshot(screenshotDir(t), "console-idle-away.png")

	// Bob comes back: a mouse move is enough.
	tab.do("move the mouse", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 400, 300), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 420, 310))
	cmAgentStatus(t, admin, bob.ID, chat.StatusOnline, 5*time.Second)

	// A status chosen by hand stays, whatever the mouse does.
	tab.do("choose Away by hand", chromedp.Click(chromedp.ID("my-status")), chromedp.Click(chromedp.ID("status-away")))
	cmAgentStatus(t, admin, bob.ID, chat.StatusAway, 5*time.Second)
	tab.do("move the mouse", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 300, 200), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 320, 220))
	tab.never("the console set Bob online although he chose Away", statusLabel+`.includes('Online')`, 1500*time.Millisecond)
	cmAgentStatus(t, admin, bob.ID, chat.StatusAway, time.Second)
	noProblems(t, tab)
}
