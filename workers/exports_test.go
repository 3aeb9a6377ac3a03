package workers_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/workers"
	"github.com/switchboard-chat/switchboard/workers/transcript"
)

// exportEnv is a store, a blob directory and an export handler, run without
// Redis: tasks go straight to ProcessTask.
type exportEnv struct {
	t      testing.TB
	db     *store.DB
	fx     storetest.Fixture
	blobs  chat.BlobStorage
	h      *workers.ExportHandler
	outbox *workers.OutboxHandler
}

func newExportEnv(t testing.TB) *exportEnv {
	t.Helper()
	db := storetest.Open(t)
	e := &exportEnv{t: t, db: db, fx: storetest.Seed(t, db), blobs: store.NewDiskBlobs(t.TempDir())}
	e.h = workers.NewExportHandler(db, e.blobs, quiet)
	e.h.TempDir = t.TempDir()
	e.outbox = &workers.OutboxHandler{Log: quiet, Done: db}
	e.h.Register(e.outbox)
	return e
}

// runJobs runs every pending outbox row's task, as the relay and a worker
// would, and returns the errors of those that failed.
func (e *exportEnv) runJobs() []error {
	e.t.Helper()
	ctx := context.Background()
	evs, err := e.db.PendingOutbox(ctx, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var errs []error
	var ids []int64
	for _, ev := range evs {
		task, err := workers.NewOutboxTask(ev)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.outbox.ProcessTask(ctx, task); err != nil {
			errs = append(errs, err)
		}
		ids = append(ids, ev.ID)
	}
	if err := e.db.MarkDispatched(ctx, ids); err != nil {
		e.t.Fatal(err)
	}
	return errs
}

// conversation makes a conversation with a visitor message, an agent
// reply with an attachment, and a note.
func (e *exportEnv) conversation(bodies ...string) *chat.Conversation {
	e.t.Helper()
	ctx := context.Background()
	conv, _, err := e.db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: e.fx.Workspace.ID, SiteID: e.fx.Site.ID, VisitorID: e.fx.Visitor.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(bodies) == 0 {
		bodies = []string{"Привет, у меня вопрос", "Γειά σου! 你好", "note: refund approved"}
	}
	for i, body := range bodies {
		in := chat.NewMessage{WorkspaceID: conv.WorkspaceID, ConversationID: conv.ID, ClientID: fmt.Sprint("m", i), Kind: chat.KindText, Body: body}
		switch i % 3 {
		case 0:
			in.AuthorType, in.AuthorID = chat.AuthorVisitor, e.fx.Visitor.ID
		case 1:
			in.AuthorType, in.AuthorID, in.AuthorName = chat.AuthorAgent, e.fx.Admin.ID, e.fx.Admin.Name
			att := &chat.Attachment{WorkspaceID: conv.WorkspaceID, ConversationID: conv.ID, Name: "invoice-№7.pdf", ContentType: "application/pdf",
				Size: 2048, StorageKey: fmt.Sprintf("%d/%d/k%d", conv.WorkspaceID, conv.ID, i), UploaderType: chat.AuthorAgent, UploaderID: e.fx.Admin.ID}
			if err := e.db.CreateAttachment(ctx, att); err != nil {
				e.t.Fatal(err)
			}
			in.AttachmentIDs = []int64{att.ID}
		case 2:
			in.AuthorType, in.AuthorID, in.AuthorName, in.Kind = chat.AuthorAgent, e.fx.Admin.ID, e.fx.Admin.Name, chat.KindNote
		}
		if _, _, err := e.db.CreateMessage(ctx, in); err != nil {
			e.t.Fatal(err)
		}
	}
	return conv
}

func (e *exportEnv) export(x *chat.Export) *chat.Export {
	e.t.Helper()
	x.WorkspaceID, x.AgentID = e.fx.Workspace.ID, e.fx.Admin.ID
	if err := e.db.CreateExport(context.Background(), x); err != nil {
		e.t.Fatal(err)
	}
	return x
}

func (e *exportEnv) reload(id int64) *chat.Export {
	e.t.Helper()
	x, err := e.db.Export(context.Background(), e.fx.Workspace.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return x
}

func (e *exportEnv) file(x *chat.Export) []byte {
	e.t.Helper()
	rc, err := e.blobs.Open(context.Background(), x.StorageKey)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

// TestExportConversationJob: each format lands in blob storage and the
// export is ready; running the task again changes nothing.
func TestExportConversationJob(t *testing.T) {
	e := newExportEnv(t)
	conv := e.conversation()
	for _, c := range []struct {
		format, magic, ctype string
	}{
		{chat.FormatPDF, "%PDF-", "application/pdf"},
		{chat.FormatHTML, "<!doctype html>", "text/html; charset=utf-8"},
		{chat.FormatText, "Conversation #", "text/plain; charset=utf-8"},
		{chat.FormatJSON, "{", "application/json"},
	} {
		x := e.export(&chat.Export{Kind: chat.ExportConversation, ConversationID: &conv.ID, Format: c.format,
			Options: chat.ExportOptions{Timezone: "Asia/Tokyo"}})
		if errs := e.runJobs(); len(errs) > 0 {
			t.Fatalf("%s: %v", c.format, errs)
		}
		x = e.reload(x.ID)
		if x.Status != chat.ExportReady || x.Progress != 100 || x.ContentType != c.ctype || x.ExpiresAt == nil || x.FinishedAt == nil ||
			x.FileName != fmt.Sprintf("conversation-%d.%s", conv.ID, c.format) {
			t.Fatalf("%s: %+v", c.format, x)
		}
		data := e.file(x)
		if !bytes.HasPrefix(data, []byte(c.magic)) || int64(len(data)) != x.Size {
			t.Fatalf("%s: file %q... (%d bytes, export says %d)", c.format, data[:min(len(data), 20)], len(data), x.Size)
		}
		if c.format != chat.FormatPDF {
			s := string(data)
			if !strings.Contains(s, "Привет") || !strings.Contains(s, "invoice-№7.pdf") || strings.Contains(s, "refund approved") {
				t.Errorf("%s: content wrong:\n%s", c.format, s)
			}
			if c.format == chat.FormatText && !strings.Contains(s, "Times in: Asia/Tokyo") {
				t.Errorf("text not in Tokyo time:\n%s", s)
			}
		}
		// A repeated task (relay re-enqueue, retry) leaves the ready export alone.
		task, _ := workers.NewOutboxTask(&chat.OutboxEvent{ID: 999, WorkspaceID: x.WorkspaceID, Topic: chat.EventExportRequested,
			Payload: json.RawMessage(fmt.Sprintf(`{"export_id":%d}`, x.ID))})
		if err := e.outbox.ProcessTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
		if again := e.reload(x.ID); again.Status != chat.ExportReady || !again.FinishedAt.Equal(*x.FinishedAt) {
			t.Fatalf("repeat changed the export: %+v", again)
		}
	}
	// Notes only when asked.
	x := e.export(&chat.Export{Kind: chat.ExportConversation, ConversationID: &conv.ID, Format: chat.FormatText,
		Options: chat.ExportOptions{IncludeNotes: true}})
	e.runJobs()
	if s := string(e.file(e.reload(x.ID))); !strings.Contains(s, "Private note") || !strings.Contains(s, "refund approved") {
		t.Errorf("notes missing:\n%s", s)
	}
}

// TestExportWithoutFonts: a PDF job without fonts fails for good, saying
// what to install; the task is not retried.
func TestExportWithoutFonts(t *testing.T) {
	e := newExportEnv(t)
	e.h.Renderer = &transcript.Renderer{Fonts: transcript.NewFonts(transcript.FontPaths{
		Regular: "/nonexistent/DejaVuSans.ttf", Bold: "/nonexistent/DejaVuSans-Bold.ttf", CJK: "/nonexistent/Droid.ttf"})}
	conv := e.conversation()
	x := e.export(&chat.Export{Kind: chat.ExportConversation, ConversationID: &conv.ID, Format: chat.FormatPDF})
	errs := e.runJobs()
	if len(errs) != 1 || !errors.Is(errs[0], asynq.SkipRetry) {
		t.Fatalf("got %v, want one SkipRetry", errs)
	}
	x = e.reload(x.ID)
	if x.Status != chat.ExportFailed || !strings.Contains(x.Error, "fonts-dejavu-core") || !strings.Contains(x.Error, "/nonexistent/DejaVuSans.ttf") {
		t.Fatalf("%+v", x)
	}
	// Text exports do not need fonts.
	y := e.export(&chat.Export{Kind: chat.ExportConversation, ConversationID: &conv.ID, Format: chat.FormatText})
	if errs := e.runJobs(); len(errs) > 0 || e.reload(y.ID).Status != chat.ExportReady {
		t.Fatalf("text export: %v", errs)
	}
}

// TestExportBadPayload: a malformed event is dropped, not retried; an
// unknown export is nothing to do.
func TestExportBadPayload(t *testing.T) {
	e := newExportEnv(t)
	for _, payload := range []string{`{"export_id":"x"}`, `{}`, `"["`, `{"export_id":-1}`} {
		task := asynq.NewTask(workers.TypeOutboxEvent, fmt.Appendf(nil, `{"event_id":1,"workspace_id":%d,"topic":%q,"data":%s}`,
			e.fx.Workspace.ID, chat.EventExportRequested, payload))
		if err := e.outbox.ProcessTask(context.Background(), task); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: got %v", payload, err)
		}
	}
	task, _ := workers.NewOutboxTask(&chat.OutboxEvent{ID: 2, WorkspaceID: e.fx.Workspace.ID, Topic: chat.EventExportRequested, Payload: json.RawMessage(`{"export_id":12345}`)})
	if err := e.outbox.ProcessTask(context.Background(), task); err != nil {
		t.Errorf("unknown export: %v", err)
	}
}

// readZip opens an export's ZIP.
func readZip(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
	}
	return out
}

// TestBulkExport: a filtered ZIP with one CSV row per conversation and per
// message, JSON and JSON lines, PDFs when asked, formulas defused.
func TestBulkExport(t *testing.T) {
	e := newExportEnv(t)
	ctx := context.Background()
	a := e.conversation("=HYPERLINK(\"http://evil\")", "hello\nsecond line, \"quoted\"", "internal note")
	b := e.conversation("Здравствуйте", "我们会帮你")
	other := e.conversation("not selected")
	if _, _, err := e.db.SetStatus(ctx, e.fx.Workspace.ID, other.ID, chat.ConvClosed, nil, "test"); err != nil {
		t.Fatal(err)
	}
	x := e.export(&chat.Export{Kind: chat.ExportBulk, Format: chat.FormatZIP, Options: chat.ExportOptions{
		Filter: &chat.ExportFilter{Status: chat.ConvOpen}, IncludePDFs: true, Timezone: "America/New_York"}})
	e.h.PageSize = 1 // page boundaries between every conversation
	if errs := e.runJobs(); len(errs) > 0 {
		t.Fatal(errs)
	}
	x = e.reload(x.ID)
	if x.Status != chat.ExportReady || x.ContentType != "application/zip" || !strings.HasSuffix(x.FileName, ".zip") {
		t.Fatalf("%+v", x)
	}
	files := readZip(t, e.file(x))
	for _, name := range []string{"conversations.json", "conversations.csv", "messages.jsonl", "messages.csv", "manifest.json",
		fmt.Sprintf("transcripts/conversation-%d.pdf", a.ID), fmt.Sprintf("transcripts/conversation-%d.pdf", b.ID)} {
		if _, ok := files[name]; !ok {
			t.Errorf("%s missing from the ZIP", name)
		}
	}
	if _, ok := files[fmt.Sprintf("transcripts/conversation-%d.pdf", other.ID)]; ok || len(files) != 7 {
		t.Errorf("unexpected entries: %d files", len(files))
	}
	var convs []map[string]any
	if err := json.Unmarshal(files["conversations.json"], &convs); err != nil || len(convs) != 2 {
		t.Fatalf("conversations.json: %v %s", err, files["conversations.json"])
	}
	if convs[0]["id"].(float64) != float64(a.ID) || !strings.HasSuffix(convs[0]["created_at"].(string), "-05:00") && !strings.HasSuffix(convs[0]["created_at"].(string), "-04:00") {
		t.Errorf("conversation JSON: %v", convs[0])
	}
	rows, err := csv.NewReader(bytes.NewReader(files["conversations.csv"])).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "id" || rows[1][0] != fmt.Sprint(a.ID) || rows[1][len(rows[1])-1] != "2" {
		t.Fatalf("conversations.csv: %v %q", err, rows)
	}
	msgs, err := csv.NewReader(bytes.NewReader(files["messages.csv"])).ReadAll()
	if err != nil || len(msgs) != 1+4 { // notes are left out
		t.Fatalf("messages.csv: %v %q", err, msgs)
	}
	if body := msgs[1][9]; body != `'=HYPERLINK("http://evil")` {
		t.Errorf("formula not defused: %q", body)
	}
	if body := msgs[2][9]; body != "hello\nsecond line, \"quoted\"" || msgs[2][10] != "invoice-№7.pdf" {
		t.Errorf("message row: %q", msgs[2])
	}
	if lines := strings.Split(strings.TrimSpace(string(files["messages.jsonl"])), "\n"); len(lines) != 4 {
		t.Errorf("messages.jsonl has %d lines", len(lines))
	} else {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || m["conversation_id"].(float64) != float64(a.ID) {
			t.Errorf("jsonl: %v %s", err, lines[0])
		}
	}
	if !bytes.HasPrefix(files[fmt.Sprintf("transcripts/conversation-%d.pdf", b.ID)], []byte("%PDF-")) {
		t.Error("transcript is not a PDF")
	}
	var manifest map[string]any
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || manifest["conversations"].(float64) != 2 || manifest["messages"].(float64) != 4 {
		t.Errorf("manifest: %v %s", err, files["manifest.json"])
	}

	// CSV only, notes included, everything.
	y := e.export(&chat.Export{Kind: chat.ExportBulk, Format: chat.FormatZIP, Options: chat.ExportOptions{Formats: []string{chat.FormatCSV}, IncludeNotes: true}})
	e.runJobs()
	files = readZip(t, e.file(e.reload(y.ID)))
	if _, ok := files["conversations.json"]; ok || len(files) != 3 {
		t.Errorf("csv only: %d files", len(files))
	}
	if msgs, _ := csv.NewReader(bytes.NewReader(files["messages.csv"])).ReadAll(); len(msgs) != 1+7 {
		t.Errorf("with notes: %d message rows", len(msgs)-1)
	}
}

// TestExportPurge: an expired file is deleted and forgotten, and its links
// stop working.
func TestExportPurge(t *testing.T) {
	e := newExportEnv(t)
	ctx := context.Background()
	conv := e.conversation()
	x := e.export(&chat.Export{Kind: chat.ExportConversation, ConversationID: &conv.ID, Format: chat.FormatJSON})
	e.runJobs()
	x = e.reload(x.ID)
	if err := e.db.CreateExportLink(ctx, x.WorkspaceID, x.ID, strings.Repeat("a", 64), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ExportByLink(ctx, x.ID, strings.Repeat("a", 64)); err != nil {
		t.Fatal(err)
	}
	e.h.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) } // past the 7-day file TTL
	if n, err := e.h.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("purged %d: %v", n, err)
	}
	if _, err := e.blobs.Open(ctx, x.StorageKey); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Errorf("file still there: %v", err)
	}
	if _, err := e.db.ExportByLink(ctx, x.ID, strings.Repeat("a", 64)); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Errorf("link still works: %v", err)
	}
	if n, err := e.h.Purge(ctx); err != nil || n != 0 {
		t.Errorf("second purge: %d %v", n, err)
	}
}
