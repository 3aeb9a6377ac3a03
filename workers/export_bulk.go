package workers

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/workers/transcript"
)

// A bulk export is one ZIP, streamed into blob storage as it is written
// (archive/zip -> pipe -> BlobStorage.Put); nothing is built in memory. The
// job reads the matching conversations once, in id order, a page at a time,
// and each conversation's messages a page at a time:
//
//	transcripts/conversation-<id>.pdf   written into the ZIP as it goes (include_pdfs)
//	conversations.json                  a JSON array, one object per conversation
//	conversations.csv                   one row per conversation
//	messages.jsonl                      JSON lines, one message per line
//	messages.csv                        one row per message
//	manifest.json                       what was exported, when, with which filter
//
// A ZIP entry must be complete before the next begins, so the JSON and CSV
// files are spooled to temporary files during the pass and copied into the
// ZIP at the end; memory stays flat whatever the number of conversations.

// conversationColumns and messageColumns are the CSV headers.
var (
	conversationColumns = []string{"id", "created_at", "updated_at", "last_message_at", "status", "priority", "labels",
		"site_id", "site", "visitor_id", "visitor_name", "visitor_email", "visitor_external_id", "visitor_locale",
		"assignee_id", "assignee", "team_id", "team", "first_response_at", "resolved_at", "rating", "rating_comment", "messages"}
	messageColumns = []string{"conversation_id", "seq", "id", "created_at", "author_type", "author_id", "author_name",
		"kind", "private", "body", "attachments"}
)

// bulkFormats are the data formats a bulk export may hold.
func bulkFormats(fs []string) (jsonOut, csvOut bool) {
	if len(fs) == 0 {
		return true, true
	}
	return slices.Contains(fs, chat.FormatJSON), slices.Contains(fs, chat.FormatCSV)
}

// spool is one output written to a temporary file during the pass.
type spool struct {
	name string // its name in the ZIP
	f    *os.File
	w    *bufio.Writer
	csv  *csv.Writer // for CSV spools
	n    int         // records written
}

func newSpool(dir, name string, isCSV bool) (*spool, error) {
	f, err := os.CreateTemp(dir, "spool-*")
	if err != nil {
		return nil, err
	}
	s := &spool{name: name, f: f, w: bufio.NewWriterSize(f, 64<<10)}
	if isCSV {
		s.csv = csv.NewWriter(s.w)
	}
	return s, nil
}

// copyInto finishes the spool and copies it into the ZIP as its entry.
func (s *spool) copyInto(zw *zip.Writer, modified time.Time) error {
	if s.csv != nil {
		s.csv.Flush()
		if err := s.csv.Error(); err != nil {
			return err
		}
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: s.name, Method: zip.Deflate, Modified: modified})
	if err != nil {
		return err
	}
	_, err = io.Copy(w, s.f)
	return err
}

// csvSafe defuses spreadsheet formulas: a cell that starts with = + - @ or
// a control character is prefixed with an apostrophe (OWASP's advice for
// CSV injection). Values people typed go through it.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func idOrEmpty(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}

// bulkRun is the state of one bulk export's pass.
type bulkRun struct {
	h       *ExportHandler
	exp     *chat.Export
	loc     *time.Location
	names   *names
	started time.Time

	zw                      *zip.Writer
	convJSON, convCSV       *spool
	msgJSON, msgCSV         *spool
	conversations, messages int
	visitors                map[int64]*chat.Visitor // this page's visitors
	total, lastProgress     int
	lastProgressAt          time.Time
	pdfs                    bool
	includeNotes            bool
	pdfQueue                []*pdfJob
	pdfWorkers              int
}

func (h *ExportHandler) runBulk(ctx context.Context, exp *chat.Export) (*chat.ExportFile, error) {
	opts := exp.Options
	loc, err := location(opts.Timezone)
	if err != nil {
		return nil, err
	}
	var ef chat.ExportFilter
	if opts.Filter != nil {
		ef = *opts.Filter
	}
	filter := ef.ConversationFilter()
	if opts.IncludePDFs {
		if err := h.checkFonts(); err != nil {
			return nil, err
		}
	}
	total, err := h.Store.CountConversations(ctx, exp.WorkspaceID, filter)
	if err != nil {
		return nil, err
	}
	names, err := h.loadNames(ctx, exp.WorkspaceID)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(h.TempDir, "switchboard-export-")
	if err != nil {
		return nil, fmt.Errorf("export spool directory: %w", err)
	}
	defer os.RemoveAll(dir)

	b := &bulkRun{h: h, exp: exp, loc: loc, names: names, started: h.now(), total: int(total),
		pdfs: opts.IncludePDFs, includeNotes: opts.IncludeNotes, pdfWorkers: max(1, runtime.GOMAXPROCS(0))}
	jsonOut, csvOut := bulkFormats(opts.Formats)
	if jsonOut {
		if b.convJSON, err = newSpool(dir, "conversations.json", false); err != nil {
			return nil, err
		}
		if b.msgJSON, err = newSpool(dir, "messages.jsonl", false); err != nil {
			return nil, err
		}
	}
	if csvOut {
		if b.convCSV, err = newSpool(dir, "conversations.csv", true); err != nil {
			return nil, err
		}
		if b.msgCSV, err = newSpool(dir, "messages.csv", true); err != nil {
			return nil, err
		}
		b.convCSV.csv.Write(conversationColumns)
		b.msgCSV.csv.Write(messageColumns)
	}
	defer func() {
		for _, s := range b.spools() {
			s.f.Close()
		}
	}()

	name := fmt.Sprintf("conversations-%s-export-%d.zip", b.started.In(loc).Format("20060102"), exp.ID)
	key := storageKey(exp, name)
	size, err := h.putStream(ctx, key, func(w io.Writer) error { return b.write(ctx, w, filter, ef) })
	if err != nil {
		return nil, err
	}
	return &chat.ExportFile{StorageKey: key, FileName: name, ContentType: transcript.ContentType(chat.FormatZIP), Size: size}, nil
}

func (b *bulkRun) spools() []*spool {
	var out []*spool
	for _, s := range []*spool{b.convJSON, b.convCSV, b.msgJSON, b.msgCSV} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// write makes the whole ZIP on w.
func (b *bulkRun) write(ctx context.Context, w io.Writer, filter chat.ConversationFilter, ef chat.ExportFilter) error {
	b.zw = zip.NewWriter(w)
	if b.convJSON != nil {
		b.convJSON.w.WriteString("[")
	}
	page := b.h.PageSize
	if page <= 0 {
		page = 200
	}
	for after := int64(0); ; {
		convs, err := b.h.Store.ExportConversations(ctx, b.exp.WorkspaceID, filter, after, page)
		if err != nil {
			return err
		}
		b.visitors = map[int64]*chat.Visitor{}
		for _, c := range convs {
			if err := b.conversation(ctx, c); err != nil {
				return fmt.Errorf("conversation %d: %w", c.ID, err)
			}
		}
		if len(convs) < page {
			break
		}
		after = convs[len(convs)-1].ID
	}
	for len(b.pdfQueue) > 0 {
		if err := b.flushPDF(); err != nil {
			return err
		}
	}
	if b.convJSON != nil {
		b.convJSON.w.WriteString("\n]\n")
	}
	for _, s := range b.spools() {
		if err := s.copyInto(b.zw, b.started); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if err := b.manifest(ef); err != nil {
		return err
	}
	return b.zw.Close()
}

// conversation writes one conversation everywhere it goes.
func (b *bulkRun) conversation(ctx context.Context, c *chat.Conversation) error {
	v, ok := b.visitors[c.VisitorID]
	if !ok {
		var err error
		v, err = b.h.Store.Visitor(ctx, c.WorkspaceID, c.VisitorID)
		if err != nil && chat.ErrorCode(err) != chat.ENOTFOUND {
			return err
		}
		b.visitors[c.VisitorID] = v
	}
	var kept []*chat.Message // for the PDF only
	count := 0
	_, err := b.h.allMessages(ctx, c, b.includeNotes, func(msgs []*chat.Message) error {
		for _, m := range msgs {
			if err := b.message(m); err != nil {
				return err
			}
		}
		count += len(msgs)
		if b.pdfs {
			kept = append(kept, msgs...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if b.pdfs {
		doc := &transcript.Doc{
			Conversation: c, Visitor: v, Site: b.names.siteByID[c.SiteID], Messages: kept, IncludeNotes: b.includeNotes,
			Location: b.loc, AssigneeName: nameOf(b.names.agents, c.AssigneeID), TeamName: nameOf(b.names.teams, c.TeamID),
			GeneratedAt: b.started,
		}
		if err := b.renderPDF(doc); err != nil {
			return err
		}
	}
	if s := b.convJSON; s != nil {
		doc := struct {
			*chat.Conversation
			Visitor  *chat.Visitor `json:"visitor"`
			Site     string        `json:"site"`
			Assignee string        `json:"assignee"`
			Team     string        `json:"team"`
			Messages int           `json:"messages"`
		}{transcript.ConversationIn(c, b.loc), transcript.VisitorIn(v, b.loc), b.names.sites[c.SiteID], nameOf(b.names.agents, c.AssigneeID), nameOf(b.names.teams, c.TeamID), count}
		data, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		if s.n > 0 {
			s.w.WriteString(",")
		}
		s.w.WriteString("\n")
		s.w.Write(data)
		s.n++
	}
	if s := b.convCSV; s != nil {
		var vname, vemail, vext, vlocale string
		if v != nil {
			vname, vemail, vext, vlocale = v.Name, v.Email, v.ExternalID, v.Locale
		}
		rating := ""
		if c.Rating != nil {
			rating = strconv.Itoa(*c.Rating)
		}
		row := []string{strconv.FormatInt(c.ID, 10), b.stamp(&c.CreatedAt), b.stamp(&c.UpdatedAt), b.stamp(&c.LastMessageAt),
			c.Status, c.Priority, csvSafe(strings.Join(c.Labels, ";")),
			strconv.FormatInt(c.SiteID, 10), csvSafe(b.names.sites[c.SiteID]), strconv.FormatInt(c.VisitorID, 10),
			csvSafe(vname), csvSafe(vemail), csvSafe(vext), csvSafe(vlocale),
			idOrEmpty(c.AssigneeID), csvSafe(nameOf(b.names.agents, c.AssigneeID)), idOrEmpty(c.TeamID), csvSafe(nameOf(b.names.teams, c.TeamID)),
			b.stamp(c.FirstResponseAt), b.stamp(c.ResolvedAt), rating, csvSafe(c.RatingComment), strconv.Itoa(count)}
		if err := s.csv.Write(row); err != nil {
			return err
		}
		s.n++
	}
	b.conversations++
	return b.progress(ctx)
}

// pdfJob is one transcript being rendered in the background.
type pdfJob struct {
	name string
	done chan pdfResult // buffered: the renderer never blocks
}

type pdfResult struct {
	data []byte
	err  error
}

// renderPDF renders a transcript on one of a few goroutines (fpdf is
// CPU-bound: font parsing and subsetting) while the pass goes on; finished
// PDFs enter the ZIP in conversation order. At most pdfWorkers documents
// are in memory at once.
func (b *bulkRun) renderPDF(doc *transcript.Doc) error {
	if len(b.pdfQueue) >= b.pdfWorkers {
		if err := b.flushPDF(); err != nil {
			return err
		}
	}
	j := &pdfJob{name: "transcripts/" + transcript.FileName(doc.Conversation.ID, chat.FormatPDF), done: make(chan pdfResult, 1)}
	go func() {
		var buf bytes.Buffer
		err := b.h.Renderer.Render(&buf, chat.FormatPDF, doc)
		j.done <- pdfResult{buf.Bytes(), err}
	}()
	b.pdfQueue = append(b.pdfQueue, j)
	return nil
}

// flushPDF waits for the oldest transcript and writes it into the ZIP.
func (b *bulkRun) flushPDF() error {
	j := b.pdfQueue[0]
	b.pdfQueue = b.pdfQueue[1:]
	r := <-j.done
	if r.err != nil {
		return fmt.Errorf("%s: %w", j.name, r.err)
	}
	w, err := b.zw.CreateHeader(&zip.FileHeader{Name: j.name, Method: zip.Store, Modified: b.started}) // PDF streams are compressed already
	if err != nil {
		return err
	}
	_, err = w.Write(r.data)
	return err
}

// message writes one message row.
func (b *bulkRun) message(m *chat.Message) error {
	if s := b.msgJSON; s != nil {
		data, err := json.Marshal(transcript.MessageIn(m, b.loc))
		if err != nil {
			return err
		}
		s.w.Write(data)
		s.w.WriteString("\n")
		s.n++
	}
	if s := b.msgCSV; s != nil {
		files := make([]string, len(m.Attachments))
		for i, a := range m.Attachments {
			files[i] = a.Name
		}
		row := []string{strconv.FormatInt(m.ConversationID, 10), strconv.FormatInt(m.Seq, 10), strconv.FormatInt(m.ID, 10),
			b.stamp(&m.CreatedAt), m.AuthorType, strconv.FormatInt(m.AuthorID, 10), csvSafe(m.AuthorName), m.Kind,
			strconv.FormatBool(m.Private()), csvSafe(m.Body), csvSafe(strings.Join(files, "; "))}
		if err := s.csv.Write(row); err != nil {
			return err
		}
		s.n++
	}
	b.messages++
	return nil
}

// stamp formats an optional time in the export's zone as RFC 3339.
func (b *bulkRun) stamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(b.loc).Format(time.RFC3339)
}

// progress records how far the pass is, at most once a second or every 5%
// (the last percent is for the final copy into the ZIP).
func (b *bulkRun) progress(ctx context.Context) error {
	if b.total <= 0 {
		return nil
	}
	pct := min(b.conversations*99/b.total, 99)
	if pct == b.lastProgress || (pct-b.lastProgress < 5 && time.Since(b.lastProgressAt) < time.Second) {
		return nil
	}
	b.lastProgress, b.lastProgressAt = pct, time.Now()
	return b.h.Store.SetExportProgress(ctx, b.exp.WorkspaceID, b.exp.ID, pct)
}

// manifest describes the archive.
func (b *bulkRun) manifest(filter chat.ExportFilter) error {
	files := []string{}
	for _, s := range b.spools() {
		files = append(files, s.name)
	}
	if b.pdfs {
		files = append(files, "transcripts/")
	}
	m := map[string]any{
		"export_id":     b.exp.ID,
		"workspace_id":  b.exp.WorkspaceID,
		"exported_at":   b.started.In(b.loc).Format(time.RFC3339),
		"timezone":      b.loc.String(),
		"include_notes": b.includeNotes,
		"include_pdfs":  b.pdfs,
		"filter":        filter,
		"conversations": b.conversations,
		"messages":      b.messages,
		"files":         files,
	}
	w, err := b.zw.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Deflate, Modified: b.started})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}
