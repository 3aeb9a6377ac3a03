package api_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// TestConsoleInboxAtScale opens the console on a big inbox and scrolls the
// "All open" list to its end. The list must keep only a window of rows in
// the DOM however far it is scrolled, and page through the whole view by
// cursor: every conversation once, in the server's order, ending with the
// oldest. A correctness test: how fast the queries are is measured by
// BenchmarkInbox (api/store) and recorded in docs/benchmarks.md.
//
// The test suite runs it on 1,000 open conversations (20 pages); with
// SWITCHBOARD_INBOX_SCALE=1 it runs on 10,000 (200 pages), which takes
// 20 to 40 s on the CI machine kind, too long for every run under -race:
//
//	SWITCHBOARD_INBOX_SCALE=1 go test -run TestConsoleInboxAtScale -v ./api/
func TestConsoleInboxAtScale(t *testing.T) {
	cbRequire(t)
	if testing.Short() {
		t.Skip("seeds 1,000 conversations and scrolls through them (-short)")
	}
	open := 1_000
	if os.Getenv("SWITCHBOARD_INBOX_SCALE") == "1" {
		open = 10_000
	}
	e := newEnv(t)
	in := storetest.SeedInbox(t, e.db, storetest.Fixture{Workspace: e.ws, Site: e.site, Admin: e.admin},
		storetest.InboxOptions{Open: open, Closed: -1, Snoozed: -1, Agents: 8})

	// The order the server lists them in, to compare with what the list shows.
	var want []int64
	f := chat.ConversationFilter{Status: chat.ConvOpen, Limit: 200}
	for {
		page, err := e.db.ListConversations(context.Background(), e.ws.ID, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Conversations {
			want = append(want, c.ID)
		}
		if f.Cursor = page.NextCursor; f.Cursor == "" {
			break
		}
	}
	if len(want) != in.Open {
		t.Fatalf("the store lists %d open conversations, want %d", len(want), in.Open)
	}

	tab := cbLogin(t, startBrowser(t), e, "agent", e.admin.Email)
	waitFor[bool](tab, "the All open view is current and counted",
		`document.querySelector('#view-all[aria-current=page] [data-testid=count-all]')?.getAttribute('aria-label') === '`+strconv.Itoa(open)+` conversations'`)
	waitFor[bool](tab, "the first rows are listed", `document.querySelectorAll('[data-testid=conversation-item]').length > 0`)

	// list reports the list's state: conversations loaded (the list is
	// as tall as all of them), rows in the DOM, whether a page is pending.
	type state struct {
		Loaded, Rows int
		More         bool
		First, Last  int    // aria-posinset of the first and last row in the DOM
		LastID       string // data-id of the last row
	}
	const list = `(() => {
		const box = document.querySelector('.list-wrap'), ul = box.querySelector('.conv-list');
		const items = ul.querySelectorAll('[data-testid=conversation-item]');
		const pos = (b) => Number(b.parentElement.getAttribute('aria-posinset'));
		return {Loaded: Math.round(parseFloat(ul.style.height) / 84), Rows: items.length, More: !!box.querySelector('.list-more'),
			First: items.length ? pos(items[0]) : 0, Last: items.length ? pos(items[items.length - 1]) : 0,
			LastID: items.length ? items[items.length - 1].dataset.id : ''};
	})()`
	s := evalJS[state](tab, list)
	if s.Loaded != 50 || !s.More {
		t.Fatalf("first page: %+v, want 50 conversations loaded and more to come", s)
	}
	// A window of rows: what fits in the box plus the overscan (6 above
	// and below), whatever the number of conversations loaded.
	const maxRows = 40
	check := func(s state) {
		t.Helper()
		if s.Rows == 0 || s.Rows > maxRows || s.Last-s.First+1 != s.Rows {
			t.Fatalf("the list renders %d rows (%d..%d) with %d conversations loaded: not a window", s.Rows, s.First, s.Last, s.Loaded)
		}
	}
	check(s)

	// Scroll to the end, in the page: every 10 ms, note the number of rows
	// in the DOM and scroll to the bottom again (by a pixel more or less,
	// so that the list always gets a scroll event), which is what makes it
	// ask for the next page; stop when no page is pending any more.
	start := time.Now()
	evalJS[bool](tab, `(() => {
		performance.setResourceTimingBufferSize(100000);
		const box = document.querySelector('.list-wrap'), ul = box.querySelector('.conv-list');
		const s = window.__scale = {maxRows: 0, done: false, nudge: 0};
		const tick = () => {
			s.maxRows = Math.max(s.maxRows, ul.querySelectorAll('[data-testid=conversation-item]').length);
			if (!box.querySelector('.list-more')) { s.done = true; return; }
			s.nudge ^= 1;
			box.scrollTop = box.scrollHeight - box.clientHeight - s.nudge;
			setTimeout(tick, 10);
		};
		tick();
		return true;
	})()`)
	for !evalJS[bool](tab, `window.__scale.done`) {
		prev := evalJS[state](tab, list).Loaded
		waitFor[bool](tab, fmt.Sprintf("more than %d conversations loaded", prev),
			`window.__scale.done || Math.round(parseFloat(document.querySelector('.conv-list').style.height) / 84) > `+strconv.Itoa(prev))
	}
	most := evalJS[int](tab, `window.__scale.maxRows`)
	t.Logf("scrolled to the end in %v; at most %d rows in the DOM", time.Since(start).Round(time.Millisecond), most)
	// For the record, not a check: how long the page requests took, and
	// the time from one page's answer to the next page's request (the
	// console's own work), over the first and the last tenth of the pages.
	t.Logf("list pages (first tenth, last tenth): %s", evalJS[string](tab, `(() => {
		const rs = performance.getEntriesByType('resource').filter(r => /\/api\/v1\/conversations\?.*cursor=[^&]/.test(r.name));
		const med = (a) => { a = a.slice().sort((x, y) => x - y); return a.length ? a[a.length >> 1].toFixed(1) + ' ms' : '-'; };
		const part = (from, to) => {
			const sl = rs.slice(from, to);
			const gaps = sl.slice(1).map((r, i) => r.startTime - sl[i].responseEnd);
			return 'request ' + med(sl.map(r => r.duration)) + ', gap ' + med(gaps);
		};
		const n = Math.max(2, Math.floor(rs.length / 10));
		return rs.length + ' requests; ' + part(0, n) + '; ' + part(rs.length - n, rs.length);
	})()`))
	if most > maxRows {
		t.Fatalf("the list rendered up to %d rows while scrolling: not a window", most)
	}

	// At the end: all of them, once each, the oldest last.
	evalJS[bool](tab, `(() => { const box = document.querySelector('.list-wrap'); box.scrollTop = box.scrollHeight; return true; })()`)
	s = waitFor[state](tab, "the last row is rendered", `(() => { const s = `+list+`; return s.Last === s.Loaded ? s : null; })()`)
	check(s)
	if s.Loaded != in.Open || s.More {
		t.Fatalf("the list ended with %d conversations (more: %v), want %d", s.Loaded, s.More, in.Open)
	}
	if id := strconv.FormatInt(want[len(want)-1], 10); s.LastID != id {
		t.Fatalf("the last row is conversation %s, want the oldest, %s", s.LastID, id)
	}
	// Every row rendered at the end is where the server put it.
	got := evalJS[[]string](tab, `Array.from(document.querySelectorAll('[data-testid=conversation-item]')).map(b => b.dataset.index + ':' + b.dataset.id)`)
	for _, g := range got {
		var i int
		var id int64
		if _, err := fmt.Sscanf(g, "%d:%d", &i, &id); err != nil || i < 0 || i >= len(want) || want[i] != id {
			t.Fatalf("row %q is not where the server lists it", g)
		}
	}
	noProblems(t, tab)
}
