package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/api"
	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/realtime"
	"github.com/switchboard-chat/switchboard/api/store"
	"github.com/switchboard-chat/switchboard/api/store/storetest"
	"github.com/switchboard-chat/switchboard/workers"
)

// exportEnv is a server and an export worker sharing one store and one
// blob directory; jobs run when the test says so (no Redis).
type exportEnv struct {
	*env
	blobs  chat.BlobStorage
	outbox *workers.OutboxHandler
}

func newExportEnv(t *testing.T) *exportEnv {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t)
	hub, err := realtime.NewHub(ctx, realtime.NewMemoryBroker(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	blobs := store.NewDiskBlobs(t.TempDir())
	srv := api.New(api.Config{Logger: quiet, MaxUploadBytes: 1 << 20}, db, blobs, hub)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		hs.Close()
	})
	e := &env{t: t, URL: hs.URL, srv: srv, hub: hub, http: hs, db: db, password: "correct horse battery"}
	e.ws, e.site, e.admin = e.seedWorkspace("Acme", e.password)
	x := &exportEnv{env: e, blobs: blobs, outbox: &workers.OutboxHandler{Log: quiet, Done: db}}
	h := workers.NewExportHandler(db, blobs, quiet)
	h.TempDir = t.TempDir()
	h.Register(x.outbox)
	return x
}

// runJobs does what the relay and a worker do with every pending outbox row.
func (x *exportEnv) runJobs() {
	x.t.Helper()
	ctx := context.Background()
	evs, err := x.db.PendingOutbox(ctx, 1000)
	if err != nil {
		x.t.Fatal(err)
	}
	var ids []int64
	for _, ev := range evs {
		task, err := workers.NewOutboxTask(ev)
		if err != nil {
			x.t.Fatal(err)
		}
		if err := x.outbox.ProcessTask(ctx, task); err != nil {
			x.t.Errorf("job for %s: %v", ev.Topic, err)
		}
		ids = append(ids, ev.ID)
	}
	if err := x.db.MarkDispatched(ctx, ids); err != nil {
		x.t.Fatal(err)
	}
}

// chat creates a conversation in the env's workspace with messages in many
// scripts, a note and an attachment.
func (x *exportEnv) conversation(ws *chat.Workspace, site *chat.Site, agent *chat.Agent) *chat.Conversation {
	x.t.Helper()
	ctx := context.Background()
	v := &chat.Visitor{WorkspaceID: ws.ID, SiteID: site.ID, Name: "Ива́н", Email: "ivan@example.ru", Attributes: map[string]string{}, Locale: "ru"}
	if err := x.db.CreateVisitor(ctx, v); err != nil {
		x.t.Fatal(err)
	}
	conv, _, err := x.db.CreateConversation(ctx, chat.NewConversation{WorkspaceID: ws.ID, SiteID: site.ID, VisitorID: v.ID})
	if err != nil {
		x.t.Fatal(err)
	}
	att := &chat.Attachment{WorkspaceID: ws.ID, ConversationID: conv.ID, Name: "скриншот.png", ContentType: "image/png", Size: 4096,
		StorageKey: fmt.Sprintf("%d/%d/shot", ws.ID, conv.ID), UploaderType: chat.AuthorVisitor, UploaderID: v.ID}
	if err := x.db.CreateAttachment(ctx, att); err != nil {
		x.t.Fatal(err)
	}
	for i, m := range []chat.NewMessage{
		{AuthorType: chat.AuthorVisitor, AuthorID: v.ID, Kind: chat.KindText, Body: "Добрый день! Заказ не пришёл.", AttachmentIDs: []int64{att.ID}},
		{AuthorType: chat.AuthorAgent, AuthorID: agent.ID, AuthorName: agent.Name, Kind: chat.KindText, Body: "Καλημέρα! Ελέγχω την παραγγελία σας."},
		{AuthorType: chat.AuthorVisitor, AuthorID: v.ID, Kind: chat.KindText, Body: "谢谢！配送状态在哪里可以查看？"},
		{AuthorType: chat.AuthorAgent, AuthorID: agent.ID, AuthorName: agent.Name, Kind: chat.KindNote, Body: "Secret note: VIP customer"},
	} {
		m.WorkspaceID, m.ConversationID, m.ClientID = ws.ID, conv.ID, fmt.Sprint("m", i)
		if _, _, err := x.db.CreateMessage(ctx, m); err != nil {
			x.t.Fatal(err)
		}
	}
	return conv
}

type exportStatus struct {
	ID                int64      `json:"id"`
	ExportID          int64      `json:"export_id"`
	Status            string     `json:"status"`
	Progress          int        `json:"progress"`
	Error             string     `json:"error"`
	FileName          string     `json:"file_name"`
	DownloadURL       string     `json:"download_url"`
	DownloadExpiresAt *time.Time `json:"download_expires_at"`
	Expired           bool       `json:"expired"`
}

// download fetches a download URL without any session.
func (x *exportEnv) download(u string) (*http.Response, []byte) {
	x.t.Helper()
	if !strings.HasPrefix(u, "http") {
		u = x.URL + u
	}
	resp, err := http.Get(u)
	if err != nil {
		x.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("SWITCHBOARD_E2E") != "" {
			t.Fatal("pdftotext (Debian poppler-utils) is required with SWITCHBOARD_E2E")
		}
		t.Skip("pdftotext not installed (Debian poppler-utils)")
	}
	path := filepath.Join(t.TempDir(), "export.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestExportConversationPDF: request, job, status with progress, a
// download link that streams a real PDF holding Cyrillic, Greek and CJK text
// in the requested zone, notes only when asked.
func TestExportConversationPDF(t *testing.T) {
	x := newExportEnv(t)
	admin := x.loginAgent(x.admin.Email, x.password)
	conv := x.conversation(x.ws, x.site, x.admin)

	var created exportStatus
	st, body := admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/export", conv.ID),
		map[string]any{"format": "pdf", "timezone": "Asia/Tokyo"}, &created)
	if st != http.StatusAccepted || created.ExportID == 0 {
		t.Fatalf("export: %d %s", st, body)
	}
	var status exportStatus
	if st, body := admin.do("GET", fmt.Sprintf("/api/v1/exports/%d", created.ExportID), nil, &status); st != 200 || status.Status != chat.ExportPending || status.DownloadURL != "" {
		t.Fatalf("pending status: %d %s", st, body)
	}
	x.runJobs()
	if st, body := admin.do("GET", fmt.Sprintf("/api/v1/exports/%d", created.ExportID), nil, &status); st != 200 ||
		status.Status != chat.ExportReady || status.Progress != 100 || status.DownloadURL == "" || status.DownloadExpiresAt == nil {
		t.Fatalf("ready status: %d %s", st, body)
	}
	if d := time.Until(*status.DownloadExpiresAt); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("link valid for %s, want 24h", d)
	}
	resp, pdf := x.download(status.DownloadURL)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("download: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), pdf[:min(len(pdf), 40)])
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, fmt.Sprintf("conversation-%d.pdf", conv.ID)) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("headers %v", resp.Header)
	}
	text := pdfToText(t, pdf)
	for _, want := range []string{"Добрый день! Заказ не пришёл.", "Καλημέρα! Ελέγχω την παραγγελία σας.", "谢谢！配送状态在哪里可以查看？",
		"Attachment: скриншот.png", "Asia/Tokyo", "Ива́н"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Secret note") {
		t.Error("a note is in the PDF without include_notes")
	}
	// Times are in Tokyo: the message's hour there.
	msgs, _ := x.db.Messages(context.Background(), x.ws.ID, conv.ID, 0, 10, false)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if want := msgs[0].CreatedAt.In(tokyo).Format("2006-01-02 15:04:05"); !strings.Contains(text, want) {
		t.Errorf("PDF lacks the Tokyo time %s", want)
	}

	// With notes, as text: the note is there.
	var withNotes exportStatus
	admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/export", conv.ID), map[string]any{"format": "txt", "include_notes": true}, &withNotes)
	x.runJobs()
	admin.do("GET", fmt.Sprintf("/api/v1/exports/%d", withNotes.ExportID), nil, &status)
	if _, txt := x.download(status.DownloadURL); !strings.Contains(string(txt), "Secret note: VIP customer") || !strings.Contains(string(txt), "Times in: UTC") {
		t.Errorf("text export:\n%s", txt)
	}

	// The list shows both, newest first.
	var list struct {
		Exports []exportStatus `json:"exports"`
	}
	if st, _ := admin.do("GET", "/api/v1/exports", nil, &list); st != 200 || len(list.Exports) != 2 || list.Exports[0].ID != withNotes.ExportID {
		t.Errorf("list: %d %+v", st, list)
	}
}

// TestExportLinkExpiry: a link works until it expires, then it is 404; a
// file past its own expiry yields no new link; a wrong token or another
// export's id never works.
func TestExportLinkExpiry(t *testing.T) {
	x := newExportEnv(t)
	ctx := context.Background()
	admin := x.loginAgent(x.admin.Email, x.password)
	conv := x.conversation(x.ws, x.site, x.admin)
	var created, status exportStatus
	admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/export", conv.ID), map[string]any{"format": "json"}, &created)
	x.runJobs()
	admin.do("GET", fmt.Sprintf("/api/v1/exports/%d", created.ExportID), nil, &status)
	if resp, body := x.download(status.DownloadURL); resp.StatusCode != 200 || !strings.Contains(string(body), "Добрый день") {
		t.Fatalf("download: %d %s", resp.StatusCode, body)
	}
	// A second download with the same link works (a retried download).
	if resp, _ := x.download(status.DownloadURL); resp.StatusCode != 200 {
		t.Fatalf("second download: %d", resp.StatusCode)
	}
	token := status.DownloadURL[strings.Index(status.DownloadURL, "token=")+len("token="):]
	for _, bad := range []string{
		fmt.Sprintf("/api/v1/exports/%d/download?token=%s", created.ExportID, "x"+token[1:]),
		fmt.Sprintf("/api/v1/exports/%d/download?token=%s", created.ExportID+1, token),
		fmt.Sprintf("/api/v1/exports/%d/download", created.ExportID),
	} {
		if resp, body := x.download(bad); resp.StatusCode != 404 {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, body)
		}
	}

	// The link's 24 hours are over.
	q := "UPDATE export_links SET expires_at = ? WHERE export_id = ?"
	if x.db.Dialect() == store.DialectPostgres {
		q = "UPDATE export_links SET expires_at = $1 WHERE export_id = $2"
	}
	if _, err := x.db.SQL().ExecContext(ctx, q, time.Now().UTC().Add(-time.Second), created.ExportID); err != nil {
		t.Fatal(err)
	}
	if resp, body := x.download(status.DownloadURL); resp.StatusCode != 404 || !strings.Contains(string(body), "expired") {
		t.Fatalf("expired link: %d %s", resp.StatusCode, body)
	}
	// A fresh status read gives a fresh link.
	var again exportStatus
	admin.do("GET", fmt.Sprintf("/api/v1/exports/%d", created.ExportID), nil, &again)
	if again.DownloadURL == "" || again.DownloadURL == status.DownloadURL {
		t.Fatalf("no new link: %+v", again)
	}
	if resp, _ := x.download(again.DownloadURL); resp.StatusCode != 200 {
		t.Fatalf("new link: %d", resp.StatusCode)
	}

	// The file itself expires: no link any more, and the old ones stop too.
	q = strings.Replace(strings.Replace(q, "export_links", "exports", 1), "export_id", "id", 1)
	if _, err := x.db.SQL().ExecContext(ctx, q, time.Now().UTC().Add(-time.Second), created.ExportID); err != nil {
		t.Fatal(err)
	}
	if resp, _ := x.download(again.DownloadURL); resp.StatusCode != 404 {
		t.Errorf("link outlived its file: %d", resp.StatusCode)
	}
	var gone exportStatus
	if st, body := admin.do("GET", fmt.Sprintf("/api/v1/exports/%d", created.ExportID), nil, &gone); st != 200 || gone.DownloadURL != "" || !gone.Expired {
		t.Errorf("expired export: %d %s", st, body)
	}
}

// TestExportsAcrossWorkspaces: exports and conversations of another
// workspace are 404; agents see their own exports, admins everyone's; bulk
// exports are for admins.
func TestExportsAcrossWorkspaces(t *testing.T) {
	x := newExportEnv(t)
	admin := x.loginAgent(x.admin.Email, x.password)
	conv := x.conversation(x.ws, x.site, x.admin)
	var mine exportStatus
	if st, body := admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/export", conv.ID), map[string]any{"format": "html"}, &mine); st != 202 {
		t.Fatalf("%d %s", st, body)
	}
	x.runJobs()

	ws2, site2, admin2 := x.seedWorkspace("Other", "another password 123")
	other := x.loginAgent(admin2.Email, "another password 123")
	conv2 := x.conversation(ws2, site2, admin2)
	for _, c := range []struct{ method, path string }{
		{"GET", fmt.Sprintf("/api/v1/exports/%d", mine.ExportID)},
		{"POST", fmt.Sprintf("/api/v1/conversations/%d/export", conv.ID)},
	} {
		st, body := other.do(c.method, c.path, map[string]any{"format": "pdf"}, nil)
		expectCode(t, st, body, 404, chat.ENOTFOUND)
	}
	// ... and the other way round.
	st, body := admin.do("POST", fmt.Sprintf("/api/v1/conversations/%d/export", conv2.ID), map[string]any{"format": "pdf"}, nil)
	expectCode(t, st, body, 404, chat.ENOTFOUND)
	var list struct {
		Exports []exportStatus `json:"exports"`
	}
	if other.do("GET", "/api/v1/exports?all=true", nil, &list); len(list.Exports) != 0 {
		t.Errorf("other workspace lists %d exports", len(list.Exports))
	}

	// A plain agent of the same workspace: not the admin's export, no bulk.
	hash, _ := api.HashPassword("agent password 123")
	agent := &chat.Agent{WorkspaceID: x.ws.ID, Email: "agent@acme.test", Name: "Agent", Role: chat.RoleAgent, Status: chat.StatusOnline, Capacity: 3, Active: true, PasswordHash: hash}
	if err := x.db.CreateAgent(context.Background(), agent); err != nil {
		t.Fatal(err)
	}
	ag := x.loginAgent(agent.Email, "agent password 123")
	st, body = ag.do("GET", fmt.Sprintf("/api/v1/exports/%d", mine.ExportID), nil, nil)
	expectCode(t, st, body, 404, chat.ENOTFOUND)
	st, body = ag.do("POST", "/api/v1/exports", map[string]any{}, nil)
	expectCode(t, st, body, 403, chat.EFORBIDDEN)
	st, body = ag.do("GET", "/api/v1/exports?all=true", nil, nil)
	expectCode(t, st, body, 403, chat.EFORBIDDEN)
	var own exportStatus
	if st, body := ag.do("POST", fmt.Sprintf("/api/v1/conversations/%d/export", conv.ID), map[string]any{"format": "txt"}, &own); st != 202 {
		t.Fatalf("agent export: %d %s", st, body)
	}
	if st, _ := ag.do("GET", fmt.Sprintf("/api/v1/exports/%d", own.ExportID), nil, nil); st != 200 {
		t.Errorf("agent's own export: %d", st)
	}
	if st, _ := admin.do("GET", fmt.Sprintf("/api/v1/exports/%d", own.ExportID), nil, nil); st != 200 {
		t.Errorf("admin reading an agent's export: %d", st)
	}
}

func expectCode(t *testing.T, st int, body []byte, status int, code string) {
	t.Helper()
	if st != status || !strings.Contains(string(body), `"code":"`+code+`"`) {
		t.Errorf("got %d %s, want %d %s", st, body, status, code)
	}
}

// TestExportValidation: bad formats, zones and filters are 400; too many
// unfinished exports are 429.
func TestExportValidation(t *testing.T) {
	x := newExportEnv(t)
	admin := x.loginAgent(x.admin.Email, x.password)
	conv := x.conversation(x.ws, x.site, x.admin)
	path := fmt.Sprintf("/api/v1/conversations/%d/export", conv.ID)
	for _, in := range []any{
		map[string]any{"format": "docx"},
		map[string]any{},
		map[string]any{"format": "pdf", "timezone": "Mars/Olympus"},
		"not json",
	} {
		st, body := admin.do("POST", path, in, nil)
		expectCode(t, st, body, 400, chat.EINVALID)
	}
	st, body := admin.do("POST", "/api/v1/conversations/999999/export", map[string]any{"format": "pdf"}, nil)
	expectCode(t, st, body, 404, chat.ENOTFOUND)
	for _, in := range []map[string]any{
		{"formats": []string{"xml"}},
		{"filter": map[string]any{"q": "refund"}},
		{"filter": map[string]any{"status": "gone"}},
		{"filter": map[string]any{"from": "yesterday"}},
		{"filter": map[string]any{"assignee": "somebody"}},
		{"timezone": "Nowhere/City"},
	} {
		st, body := admin.do("POST", "/api/v1/exports", in, nil)
		expectCode(t, st, body, 400, chat.EINVALID)
	}
	for i := 0; i < 5; i++ {
		if st, body := admin.do("POST", path, map[string]any{"format": "txt"}, nil); st != 202 {
			t.Fatalf("%d %s", st, body)
		}
	}
	st, body = admin.do("POST", path, map[string]any{"format": "txt"}, nil)
	expectCode(t, st, body, 429, chat.ERATELIMIT)
	x.runJobs()
	if st, body := admin.do("POST", path, map[string]any{"format": "txt"}, nil); st != 202 {
		t.Fatalf("after the jobs ran: %d %s", st, body)
	}
}

// TestBulkExportAPI: an admin's filtered bulk export becomes a ZIP with
// CSV/JSON of conversations and messages and the PDFs.
func TestBulkExportAPI(t *testing.T) {
	x := newExportEnv(t)
	admin := x.loginAgent(x.admin.Email, x.password)
	a := x.conversation(x.ws, x.site, x.admin)
	b := x.conversation(x.ws, x.site, x.admin)
	if _, err := x.db.SetPriority(context.Background(), x.ws.ID, b.ID, chat.PriorityUrgent); err != nil {
		t.Fatal(err)
	}
	var created exportStatus
	st, body := admin.do("POST", "/api/v1/exports", map[string]any{
		"filter":  map[string]any{"priority": "urgent", "site": x.site.ID, "from": "2000-01-01T00:00:00Z"},
		"formats": []string{"csv", "json"}, "include_pdfs": true, "timezone": "Europe/Lisbon"}, &created)
	if st != 202 || created.ExportID == 0 {
		t.Fatalf("%d %s", st, body)
	}
	x.runJobs()
	var status exportStatus
	admin.do("GET", fmt.Sprintf("/api/v1/exports/%d", created.ExportID), nil, &status)
	if status.Status != chat.ExportReady || !strings.HasSuffix(status.FileName, ".zip") {
		t.Fatalf("%+v", status)
	}
	resp, data := x.download(status.DownloadURL)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*zip.File{}
	for _, f := range zr.File {
		names[f.Name] = f
	}
	pdfName := fmt.Sprintf("transcripts/conversation-%d.pdf", b.ID)
	for _, want := range []string{"conversations.csv", "conversations.json", "messages.csv", "messages.jsonl", "manifest.json", pdfName} {
		if names[want] == nil {
			t.Errorf("%s missing (have %v)", want, names)
		}
	}
	if names[fmt.Sprintf("transcripts/conversation-%d.pdf", a.ID)] != nil {
		t.Error("the filter let a normal-priority conversation through")
	}
	rc, _ := names["conversations.csv"].Open()
	rows, err := csv.NewReader(rc).ReadAll()
	rc.Close()
	if err != nil || len(rows) != 2 || rows[1][0] != fmt.Sprint(b.ID) || !strings.HasSuffix(rows[1][1], "Z") && !strings.Contains(rows[1][1], "+0") {
		t.Errorf("conversations.csv: %v %q", err, rows)
	}
	rc, _ = names[pdfName].Open()
	pdf, _ := io.ReadAll(rc)
	rc.Close()
	if text := pdfToText(t, pdf); !strings.Contains(text, "谢谢") || !strings.Contains(text, "Καλημέρα") {
		t.Errorf("PDF in the ZIP:\n%s", text)
	}
}

// TestTranscriptEmailAttachmentLinks: the visitor's transcript email links
// attachments with signed URLs that download without a session, and stop
// working when altered or expired.
func TestTranscriptEmailAttachmentLinks(t *testing.T) {
	x := newExportEnv(t)
	ctx := context.Background()
	conv := x.conversation(x.ws, x.site, x.admin)
	msgs, err := x.db.Messages(ctx, x.ws.ID, conv.ID, 0, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	att, err := x.db.Attachment(ctx, x.ws.ID, msgs[0].Attachments[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.blobs.Put(ctx, att.StorageKey, strings.NewReader("PNG bytes")); err != nil {
		t.Fatal(err)
	}
	render := workers.TranscriptEmail(x.db)
	subject, text, html, err := render(conv, nil, x.site, msgs, "de", x.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(subject, "Ihr Gespräch mit") || strings.Contains(text, "Secret note") {
		t.Errorf("subject %q / text:\n%s", subject, text)
	}
	start := strings.Index(text, x.URL+"/api/v1/shared/attachments/")
	if start < 0 {
		t.Fatalf("no attachment link:\n%s", text)
	}
	link := text[start : start+strings.Index(text[start:], ">")]
	if !strings.Contains(html, strings.ReplaceAll(link, "&", "&amp;")) {
		t.Errorf("the HTML part lacks the link %s", link)
	}
	resp, body := x.download(link)
	if resp.StatusCode != 200 || string(body) != "PNG bytes" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	key, err := x.db.LinkKey(ctx, chat.LinkKeyAttachments)
	if err != nil {
		t.Fatal(err)
	}
	ws2, site2, admin2 := x.seedWorkspace("Other", "another password 123")
	conv2 := x.conversation(ws2, site2, admin2)
	msgs2, _ := x.db.Messages(ctx, ws2.ID, conv2.ID, 0, 100, false)
	other := msgs2[0].Attachments[0].ID
	base := x.URL + "/api/v1/shared/attachments/"
	for name, bad := range map[string]string{
		"altered signature": link[:len(link)-2] + "xx",
		"another id":        strings.Replace(link, fmt.Sprintf("/attachments/%d?", att.ID), fmt.Sprintf("/attachments/%d?", other), 1),
		"expired":           fmt.Sprintf("%s%d?%s", base, att.ID, chat.SignLink(key, chat.LinkPurposeAttachment, x.ws.ID, att.ID, time.Now().Add(-time.Minute))),
		"wrong workspace":   fmt.Sprintf("%s%d?%s", base, other, chat.SignLink(key, chat.LinkPurposeAttachment, x.ws.ID, other, time.Now().Add(time.Hour))),
		"wrong key":         fmt.Sprintf("%s%d?%s", base, att.ID, chat.SignLink([]byte("not the key"), chat.LinkPurposeAttachment, x.ws.ID, att.ID, time.Now().Add(time.Hour))),
		"no signature":      fmt.Sprintf("%s%d", base, att.ID),
	} {
		if resp, body := x.download(bad); resp.StatusCode != 404 {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
}
