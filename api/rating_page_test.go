package api_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/workers"
)

type captureQueue struct{ tasks []*asynq.Task }

func (q *captureQueue) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	q.tasks = append(q.tasks, t)
	return &asynq.TaskInfo{}, nil
}

func ratingForm(t *testing.T, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	var resp *http.Response
	var err error
	if form == nil {
		resp, err = http.Get(u)
	} else {
		resp, err = http.PostForm(u, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestRatingRequestEmail: a conversation closes on a site that asks for
// ratings by email; the visitor gets one email in their language whose
// links open a page that records the rating only when the form is sent.
func TestRatingRequestEmail(t *testing.T) {
	x := newExportEnv(t)
	ctx := context.Background()
	queue := &captureQueue{}
	ratings := &workers.RatingRequests{Keys: x.db, Notifier: &workers.Notifier{Store: x.db, Postman: &workers.Postman{Store: x.db}, Queue: queue, BaseURL: x.URL}}
	x.outbox.Handlers[chat.EventConversationClosed] = append(x.outbox.Handlers[chat.EventConversationClosed], ratings.Closed)

	site := x.siteWith(func(s *chat.Site) { s.Name = "Acme <b>Outdoor</b>"; s.Settings.RatingEmail = true })
	convID, vs := x.startConversation(site)
	v := x.client()
	v.auth = "Bearer " + vs.Token
	if st, body := v.do("PATCH", "/api/v1/widget/visitor", map[string]string{"email": "marie@example.fr", "locale": "fr-FR"}, nil); st != 200 {
		t.Fatalf("visitor email: %d %s", st, body)
	}
	agent := x.loginAgent(x.admin.Email, x.password)
	closeConv := func() {
		if st, body := agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", convID), nil, nil); st != 200 {
			t.Fatalf("close: %d %s", st, body)
		}
		x.runJobs()
	}
	closeConv()
	if len(queue.tasks) != 1 || queue.tasks[0].Type() != workers.TypeRatingRequest {
		t.Fatalf("closing scheduled %d tasks", len(queue.tasks))
	}
	for range 2 { // a retried task sends one email
		if err := ratings.ProcessTask(ctx, queue.tasks[0]); err != nil {
			t.Fatal(err)
		}
	}
	box, err := x.db.Mailbox(ctx, x.ws.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(box) != 1 || box[0].To != "marie@example.fr" || !strings.Contains(box[0].Subject, "Acme <b>Outdoor</b>") ||
		!strings.Contains(box[0].Subject, "Comment s'est passée") || !strings.Contains(box[0].HTML, "Acme &lt;b&gt;Outdoor&lt;/b&gt;") {
		t.Fatalf("mailbox: %+v", box)
	}
	links := regexp.MustCompile(regexp.QuoteMeta(x.URL)+`/rate/\d+\?\S+`).FindAllString(box[0].Text, -1)
	if len(links) != 5 {
		t.Fatalf("want five rating links in:\n%s", box[0].Text)
	}
	var link string
	for _, l := range links {
		if strings.HasSuffix(l, "&score=4") {
			link = l
		}
	}
	if !strings.Contains(box[0].HTML, html.EscapeString(link)) {
		t.Errorf("the HTML part lacks %s", link)
	}

	// Opening the link (as a mail scanner would) records nothing.
	st, page, hdr := ratingForm(t, link, nil)
	if st != 200 || !strings.Contains(page, `value="4" required checked`) || !strings.Contains(page, `lang="fr"`) ||
		!strings.Contains(page, "Acme &lt;b&gt;Outdoor&lt;/b&gt;") || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("rating page: %d %v\n%s", st, hdr, page)
	}
	if conv, _ := x.db.Conversation(ctx, x.ws.ID, convID); conv.Rating != nil {
		t.Fatal("opening the link rated the conversation")
	}
	action := html.UnescapeString(regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(page)[1])
	if strings.Contains(action, "score") {
		t.Errorf("the form's action keeps the score: %s", action)
	}
	st, page, _ = ratingForm(t, x.URL+action, url.Values{"score": {"9"}})
	if st != 400 || !strings.Contains(page, "<form") {
		t.Errorf("score 9: %d", st)
	}
	st, page, _ = ratingForm(t, x.URL+action, url.Values{"score": {"4"}, "comment": {"Rapide <script>alert(1)</script>"}})
	if st != 200 || !strings.Contains(page, "Merci pour votre note") {
		t.Fatalf("submit: %d\n%s", st, page)
	}
	conv, err := x.db.Conversation(ctx, x.ws.ID, convID)
	if err != nil || conv.Rating == nil || *conv.Rating != 4 || conv.RatingComment != "Rapide <script>alert(1)</script>" {
		t.Fatalf("stored rating: %+v %v", conv, err)
	}
	if len(x.env.outbox(chat.EventRatingSubmitted)) != 1 {
		t.Error("no rating.submitted event for webhooks")
	}
	// The page now shows the rating given; a second task for it sends nothing.
	if st, page, _ := ratingForm(t, link, nil); st != 200 || !strings.Contains(page, "4 sur 5") {
		t.Errorf("page after rating: %d\n%s", st, page)
	}

	// Bad links get the "expired" page and change nothing.
	key, err := x.db.LinkKey(ctx, chat.LinkKeyRatings)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := x.startConversation(site)
	base := fmt.Sprintf("%s/rate/%d?", x.URL, convID)
	for name, bad := range map[string]string{
		"altered signature":    strings.Replace(link, "&s=", "&s=A", 1),
		"another conversation": strings.Replace(link, fmt.Sprintf("/rate/%d?", convID), fmt.Sprintf("/rate/%d?", other), 1),
		"expired":              base + chat.SignLink(key, chat.LinkPurposeRating, x.ws.ID, convID, time.Now().Add(-time.Minute)),
		"another purpose":      base + chat.SignLink(key, chat.LinkPurposeAttachment, x.ws.ID, convID, time.Now().Add(time.Hour)),
		"no signature":         base,
		"not an id":            x.URL + "/rate/abc?w=1",
	} {
		if st, page, _ := ratingForm(t, bad, url.Values{"score": {"1"}}); st != 404 || !strings.Contains(page, "role=\"status\"") {
			t.Errorf("%s: %d\n%s", name, st, page)
		}
	}
	if conv, _ := x.db.Conversation(ctx, x.ws.ID, convID); *conv.Rating != 4 {
		t.Errorf("a bad link changed the rating to %d", *conv.Rating)
	}

	// Reopened: the page says so and refuses the rating.
	if st, body := agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/reopen", convID), nil, nil); st != 200 {
		t.Fatalf("reopen: %d %s", st, body)
	}
	if st, page, _ := ratingForm(t, link, url.Values{"score": {"2"}}); st != 409 || !strings.Contains(page, "rouverte") {
		t.Errorf("rating a reopened conversation: %d\n%s", st, page)
	}

	// Closing again schedules a new request, which is skipped: already rated.
	closeConv()
	if len(queue.tasks) != 2 {
		t.Fatalf("second close scheduled %d tasks in all", len(queue.tasks))
	}
	if err := ratings.ProcessTask(ctx, queue.tasks[1]); err != nil {
		t.Fatal(err)
	}
	if box, _ := x.db.Mailbox(ctx, x.ws.ID, 10); len(box) != 1 {
		t.Errorf("a rated conversation got another request: %d emails", len(box))
	}

	// A site that does not ask schedules nothing.
	quiet := x.siteWith(func(s *chat.Site) { s.Name = "Quiet" })
	id2, _ := x.startConversation(quiet)
	if st, body := agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", id2), nil, nil); st != 200 {
		t.Fatalf("close: %d %s", st, body)
	}
	x.runJobs()
	if len(queue.tasks) != 2 {
		t.Errorf("a site without rating emails scheduled a request")
	}
	if err := ratings.ProcessTask(ctx, asynq.NewTask(workers.TypeRatingRequest, []byte("{"))); err == nil || !strings.Contains(err.Error(), asynq.SkipRetry.Error()) {
		t.Errorf("a bad payload: %v", err)
	}
}

// TestRatingPageInBrowser: the page behind an emailed link, as a visitor
// uses it: the linked score is chosen, a comment and one click rate.
func TestRatingPageInBrowser(t *testing.T) {
	requireBrowser(t)
	x := newExportEnv(t)
	ctx := context.Background()
	site := x.siteWith(func(s *chat.Site) { s.Name = "Acme Outdoor"; s.Settings.Color = "#0f766e" })
	convID, _ := x.startConversation(site)
	agent := x.loginAgent(x.admin.Email, x.password)
	if st, body := agent.do("POST", fmt.Sprintf("/api/v1/conversations/%d/close", convID), nil, nil); st != 200 {
		t.Fatalf("close: %d %s", st, body)
	}
	key, err := x.db.LinkKey(ctx, chat.LinkKeyRatings)
	if err != nil {
		t.Fatal(err)
	}
	link := fmt.Sprintf("%s/rate/%d?%s&score=5", x.URL, convID, chat.SignLink(key, chat.LinkPurposeRating, x.ws.ID, convID, time.Now().Add(time.Hour)))

	tab := newTab(t, startBrowser(t), "rating page")
	tab.do("open the link", chromedp.Navigate(link))
	waitFor[bool](tab, "the linked score is chosen", `document.querySelector('input[name=score]:checked')?.value === '5'`)
	cbAxe(tab, "the rating page")
	tab.screenshot(screenshotDir(t), "rating-page.png")
	tab.do("choose 4 and comment", chromedp.Click(`input[name=score][value="4"]`), chromedp.SendKeys(`#comment`, "Quick and kind"))
	tab.do("send", chromedp.Click(`button[type=submit]`))
	// The form posts and the tab navigates: poll across the navigation.
	for end := time.Now().Add(stepTimeout); ; time.Sleep(100 * time.Millisecond) {
		if ok, err := chromedp.Run(tab.ctx, chromedp.Evaluate[bool](`document.readyState === 'complete' && document.body.innerText.includes('Thank you for your rating')`)); err == nil && ok {
			break
		}
		if time.Now().After(end) {
			tab.fail("the thanks page did not show")
		}
	}
	tab.screenshot(screenshotDir(t), "rating-thanks.png")
	noProblems(t, tab)
	conv, err := x.db.Conversation(ctx, x.ws.ID, convID)
	if err != nil || conv.Rating == nil || *conv.Rating != 4 || conv.RatingComment != "Quick and kind" {
		t.Fatalf("stored rating: %+v %v", conv, err)
	}
}
