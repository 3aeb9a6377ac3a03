package api_test

import (
	"net/url"
	"testing"

	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// BenchmarkInboxAPI measures the console's inbox requests through the whole
// server on 10,000 open conversations (the inbox of BenchmarkInbox in
// api/store): the store query plus authentication, the visitor of each row
// and the JSON. Figures are in docs/benchmarks.md.
//
//	go test -run '^$' -bench InboxAPI -benchtime 20x ./api/
func BenchmarkInboxAPI(b *testing.B) {
	e := newEnv(b)
	storetest.SeedInbox(b, e.db, storetest.Fixture{Workspace: e.ws, Site: e.site, Admin: e.admin}, storetest.InboxOptions{})
	c := e.loginAgent(e.admin.Email, e.password)

	type page struct {
		Conversations []struct{ ID int64 } `json:"conversations"`
		NextCursor    string               `json:"next_cursor"`
	}
	get := func(b *testing.B, path string, out any) {
		if st, body := c.do("GET", path, nil, out); st != 200 {
			b.Fatalf("GET %s: %d %s", path, st, body)
		}
	}
	for _, v := range []struct{ name, query string }{
		{"unassigned", "status=open&assignee=none"},
		{"mine", "status=open&assignee=me"},
		{"all", "status=open"},
	} {
		list := "/api/v1/conversations?limit=50&" + v.query
		// The cursor of the page 90% down the view.
		var cursors []string
		for cursor := ""; ; {
			var p page
			get(b, list+"&cursor="+url.QueryEscape(cursor), &p)
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
			cursors = append(cursors, cursor)
		}
		b.Run(v.name+"/first", func(b *testing.B) {
			for b.Loop() {
				get(b, list, nil)
			}
		})
		if len(cursors) > 0 {
			deep := list + "&cursor=" + url.QueryEscape(cursors[len(cursors)*9/10])
			b.Run(v.name+"/deep", func(b *testing.B) {
				for b.Loop() {
					get(b, deep, nil)
				}
			})
		}
	}
	b.Run("counts", func(b *testing.B) {
		for b.Loop() {
			get(b, "/api/v1/conversations/counts", nil)
		}
	})
}
