package store_test

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
)

// TestExportLifecycle: an export is created with its outbox row, moves
// pending -> running -> ready (or failed) and refuses anything else.
func TestExportLifecycle(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	other := storetest.Seed(t, db)
	conv := newConversation(t, db, fx)
	foreign := newConversation(t, db, other)

	bad := &chat.Export{WorkspaceID: fx.Workspace.ID, AgentID: fx.Admin.ID, Kind: chat.ExportConversation, ConversationID: &foreign.ID, Format: chat.FormatPDF}
	wantCode(t, db.CreateExport(ctx, bad), chat.ENOTFOUND)
	wantCode(t, db.CreateExport(ctx, &chat.Export{WorkspaceID: fx.Workspace.ID, Kind: chat.ExportConversation, ConversationID: &conv.ID, Format: "docx"}), chat.EINVALID)
	wantCode(t, db.CreateExport(ctx, &chat.Export{WorkspaceID: fx.Workspace.ID, Kind: chat.ExportBulk, ConversationID: &conv.ID, Format: chat.FormatZIP}), chat.EINVALID)

	outboxBefore := len(outboxTopics(t, db))
	e := &chat.Export{WorkspaceID: fx.Workspace.ID, AgentID: fx.Admin.ID, Kind: chat.ExportConversation, ConversationID: &conv.ID,
		Format: chat.FormatPDF, Options: chat.ExportOptions{IncludeNotes: true, Timezone: "Europe/Paris"}}
	must(t, db.CreateExport(ctx, e))
	if e.ID == 0 || e.Status != chat.ExportPending || !e.Options.IncludeNotes || e.Options.Timezone != "Europe/Paris" {
		t.Fatalf("%+v", e)
	}
	if topics := outboxTopics(t, db); len(topics) != outboxBefore+1 || topics[len(topics)-1] != chat.EventExportRequested {
		t.Fatalf("outbox: %v", topics)
	}
	_, err := db.Export(ctx, other.Workspace.ID, e.ID)
	wantCode(t, err, chat.ENOTFOUND)
	wantCode(t, db.FinishExport(ctx, fx.Workspace.ID, e.ID, chat.ExportFile{StorageKey: "k", FileName: "f.pdf"}), chat.ECONFLICT) // not running

	started, err := db.StartExport(ctx, fx.Workspace.ID, e.ID)
	must(t, err)
	if started.Status != chat.ExportRunning || started.StartedAt == nil {
		t.Fatalf("%+v", started)
	}
	_, err = db.StartExport(ctx, fx.Workspace.ID, e.ID) // a retried job
	must(t, err)
	must(t, db.SetExportProgress(ctx, fx.Workspace.ID, e.ID, 40))
	expires := time.Now().Add(time.Hour)
	// No link before the file exists.
	wantCode(t, db.CreateExportLink(ctx, fx.Workspace.ID, e.ID, strings.Repeat("b", 64), expires), chat.ECONFLICT)
	must(t, db.FinishExport(ctx, fx.Workspace.ID, e.ID, chat.ExportFile{StorageKey: "exports/k", FileName: "c.pdf", ContentType: "application/pdf", Size: 10, ExpiresAt: expires}))
	got, err := db.Export(ctx, fx.Workspace.ID, e.ID)
	must(t, err)
	if got.Status != chat.ExportReady || got.Progress != 100 || got.StorageKey != "exports/k" || got.Size != 10 || !got.ExpiresAt.Equal(expires.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("%+v", got)
	}
	_, err = db.StartExport(ctx, fx.Workspace.ID, e.ID)
	wantCode(t, err, chat.ECONFLICT)
	wantCode(t, db.FailExport(ctx, fx.Workspace.ID, e.ID, "late"), chat.ECONFLICT)

	// Links: never beyond the file's expiry, another workspace cannot make one.
	wantCode(t, db.CreateExportLink(ctx, other.Workspace.ID, e.ID, strings.Repeat("c", 64), expires), chat.ENOTFOUND)
	must(t, db.CreateExportLink(ctx, fx.Workspace.ID, e.ID, strings.Repeat("d", 64), expires.Add(48*time.Hour)))
	if x, err := db.ExportByLink(ctx, e.ID, strings.Repeat("d", 64)); err != nil || x.ID != e.ID {
		t.Fatalf("%v %+v", err, x)
	}
	_, err = db.ExportByLink(ctx, e.ID, strings.Repeat("e", 64))
	wantCode(t, err, chat.ENOTFOUND)
	if old, err := db.ExpiredExports(ctx, expires.Add(time.Minute), 10); err != nil || len(old) != 1 {
		t.Fatalf("expired: %v %d", err, len(old))
	}
	must(t, db.PurgeExport(ctx, e.ID))
	_, err = db.ExportByLink(ctx, e.ID, strings.Repeat("d", 64))
	wantCode(t, err, chat.ENOTFOUND)
	if old, _ := db.ExpiredExports(ctx, expires.Add(time.Minute), 10); len(old) != 0 {
		t.Fatal("purged export still listed")
	}

	// Failing.
	f := &chat.Export{WorkspaceID: fx.Workspace.ID, AgentID: fx.Admin.ID, Kind: chat.ExportBulk, Format: chat.FormatZIP}
	must(t, db.CreateExport(ctx, f))
	must(t, db.FailExport(ctx, fx.Workspace.ID, f.ID, "fonts missing"))
	if got, _ := db.Export(ctx, fx.Workspace.ID, f.ID); got.Status != chat.ExportFailed || got.Error != "fonts missing" {
		t.Fatalf("%+v", got)
	}
	list, err := db.ListExports(ctx, fx.Workspace.ID, fx.Admin.ID, 10)
	must(t, err)
	if len(list) != 2 || list[0].ID != f.ID {
		t.Fatalf("list: %d", len(list))
	}
	if list, _ := db.ListExports(ctx, other.Workspace.ID, 0, 10); len(list) != 0 {
		t.Fatal("another workspace sees exports")
	}
}

// TestExportConversationsMatchesInbox: the export's id-ordered paging
// selects exactly what the inbox list selects, filter by filter.
func TestExportConversationsMatchesInbox(t *testing.T) {
	db := storetest.Open(t)
	fx := storetest.Seed(t, db)
	team := &chat.Team{WorkspaceID: fx.Workspace.ID, Name: "Billing"}
	must(t, db.CreateTeam(ctx, team))
	var convs []*chat.Conversation
	for i := 0; i < 12; i++ {
		c := newConversation(t, db, fx)
		switch i % 4 {
		case 0:
			_, _, err := db.SetStatus(ctx, fx.Workspace.ID, c.ID, chat.ConvClosed, nil, "")
			must(t, err)
		case 1:
			_, _, err := db.Assign(ctx, fx.Workspace.ID, c.ID, &fx.Admin.ID, &team.ID, "")
			must(t, err)
		case 2:
			_, err := db.SetLabels(ctx, fx.Workspace.ID, c.ID, []string{"vip", "refund"})
			must(t, err)
			_, err = db.SetPriority(ctx, fx.Workspace.ID, c.ID, chat.PriorityUrgent)
			must(t, err)
		}
		convs = append(convs, c)
	}
	storetest.Seed(t, db) // another workspace's rows never show
	mid := convs[6].CreatedAt
	for name, f := range map[string]chat.ConversationFilter{
		"all":        {},
		"closed":     {Status: chat.ConvClosed},
		"assignee":   {AssigneeID: &fx.Admin.ID},
		"unassigned": {AssigneeID: ptr(int64(0))},
		"assigned":   {Assigned: true},
		"team":       {TeamID: &team.ID},
		"no team":    {TeamID: ptr(int64(0))},
		"my teams":   {TeamIDs: []int64{team.ID}},
		"no teams":   {TeamIDs: []int64{}},
		"label":      {Label: "vip"},
		"priority":   {Priority: chat.PriorityUrgent},
		"site":       {SiteID: &fx.Site.ID},
		"from":       {CreatedFrom: &mid},
		"to":         {CreatedTo: &mid},
	} {
		var want []int64
		for cursor := ""; ; {
			f := f
			f.Cursor, f.Limit = cursor, 5
			page, err := db.ListConversations(ctx, fx.Workspace.ID, f)
			must(t, err)
			for _, c := range page.Conversations {
				want = append(want, c.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		slices.Sort(want)
		var got []int64
		for after := int64(0); ; {
			page, err := db.ExportConversations(ctx, fx.Workspace.ID, f, after, 5)
			must(t, err)
			for _, c := range page {
				got = append(got, c.ID)
			}
			if len(page) < 5 {
				break
			}
			after = page[len(page)-1].ID
		}
		n, err := db.CountConversations(ctx, fx.Workspace.ID, f)
		must(t, err)
		if !slices.Equal(got, want) || n != int64(len(want)) {
			t.Errorf("%s: export %v (count %d), inbox %v", name, got, n, want)
		}
	}
	_, err := db.ExportConversations(ctx, fx.Workspace.ID, chat.ConversationFilter{Status: "gone"}, 0, 10)
	wantCode(t, err, chat.EINVALID)
}

// TestLinkKey: one key per name, the same for everyone, even when created
// concurrently.
func TestLinkKey(t *testing.T) {
	db := storetest.Open(t)
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := db.LinkKey(ctx, "test-links")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("keys differ: %x vs %x", k, keys[0])
		}
	}
	other, err := db.LinkKey(ctx, "other")
	must(t, err)
	if bytes.Equal(other, keys[0]) {
		t.Fatal("two names share a key")
	}
}
