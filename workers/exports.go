package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hibiken/asynq"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/workers/transcript"
)

// TypeExportPurge deletes the files of expired exports. Export jobs also
// purge as they finish, so a schedule for it is a backstop, not a need.
const TypeExportPurge = "export:purge"

// NewExportPurgeTask builds the purge task (one at a time, by task id).
func NewExportPurgeTask() *asynq.Task {
	return asynq.NewTask(TypeExportPurge, nil, asynq.Queue(QueueDefault), asynq.MaxRetry(3),
		asynq.TaskID("export:purge"), asynq.Retention(time.Minute))
}

// ExportStore is what export jobs need from storage.
type ExportStore interface {
	chat.ExportStore
	Conversation(ctx context.Context, workspaceID, id int64) (*chat.Conversation, error)
	Visitor(ctx context.Context, workspaceID, visitorID int64) (*chat.Visitor, error)
	Site(ctx context.Context, workspaceID, siteID int64) (*chat.Site, error)
	ListSites(ctx context.Context, workspaceID int64) ([]*chat.Site, error)
	ListAgents(ctx context.Context, workspaceID int64) ([]*chat.Agent, error)
	TeamsWithMembers(ctx context.Context, workspaceID int64) ([]*chat.Team, error)
	Messages(ctx context.Context, workspaceID, conversationID, afterSeq int64, limit int, includePrivate bool) ([]*chat.Message, error)
}

// ExportHandler renders requested exports (outbox topic export.requested)
// into blob storage: one conversation as PDF, HTML, text or JSON, or a bulk
// ZIP streamed straight into storage. It is idempotent: a ready or failed
// export is left alone, a running one (a retry after a crash) is redone
// from the start and its file replaced.
type ExportHandler struct {
	Store    ExportStore
	Blobs    chat.BlobStorage
	Renderer *transcript.Renderer
	Log      *slog.Logger
	// FileTTL is how long a finished file is kept (default 7 days); its
	// download links never outlive it.
	FileTTL time.Duration
	// TempDir holds a bulk export's spool files while it runs (default
	// the system's temporary directory).
	TempDir string
	// PageSize is how many conversations a bulk export reads at once
	// (default 200).
	PageSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewExportHandler returns a handler with the default fonts (Debian's
// DejaVu Sans and Droid Sans Fallback).
func NewExportHandler(store ExportStore, blobs chat.BlobStorage, log *slog.Logger) *ExportHandler {
	return &ExportHandler{Store: store, Blobs: blobs, Log: log,
		Renderer: &transcript.Renderer{Fonts: transcript.NewFonts(transcript.DefaultFontPaths())}}
}

// Register adds the export topic to outbox and returns the task routes to
// put on the mux (see NewMux).
func (h *ExportHandler) Register(outbox *OutboxHandler) []Route {
	if outbox.Handlers == nil {
		outbox.Handlers = map[string][]TopicHandler{}
	}
	outbox.Handlers[chat.EventExportRequested] = append(outbox.Handlers[chat.EventExportRequested], h.HandleRequested)
	return []Route{{Type: TypeExportPurge, Handler: asynq.HandlerFunc(h.ProcessPurge)}}
}

func (h *ExportHandler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *ExportHandler) fileTTL() time.Duration {
	if h.FileTTL > 0 {
		return h.FileTTL
	}
	return 7 * 24 * time.Hour
}

func (h *ExportHandler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

// permanentError is a failure a retry cannot fix; its message is shown to
// the agent.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func permanent(format string, args ...any) error {
	return &permanentError{fmt.Sprintf(format, args...)}
}

// HandleRequested runs the export named by an export.requested event.
func (h *ExportHandler) HandleRequested(ctx context.Context, p OutboxPayload) error {
	var data struct {
		ExportID int64 `json:"export_id"`
	}
	if err := json.Unmarshal(p.Data, &data); err != nil || data.ExportID <= 0 {
		return fmt.Errorf("bad export.requested payload %s: %v: %w", p.Data, err, asynq.SkipRetry)
	}
	log := h.log().With("export_id", data.ExportID, "workspace_id", p.WorkspaceID)
	exp, err := h.Store.Export(ctx, p.WorkspaceID, data.ExportID)
	switch {
	case chat.ErrorCode(err) == chat.ENOTFOUND:
		log.Warn("export vanished before its job ran")
		return nil
	case err != nil:
		return err
	case exp.Status == chat.ExportReady || exp.Status == chat.ExportFailed:
		return nil // done already: this is a repeated task
	}
	if exp, err = h.Store.StartExport(ctx, p.WorkspaceID, exp.ID); chat.ErrorCode(err) == chat.ECONFLICT {
		return nil
	} else if err != nil {
		return err
	}
	start := h.now()
	file, err := h.run(ctx, exp)
	if err == nil {
		file.ExpiresAt = h.now().Add(h.fileTTL())
		if err = h.Store.FinishExport(ctx, exp.WorkspaceID, exp.ID, *file); err == nil {
			log.Info("export ready", "kind", exp.Kind, "format", exp.Format, "bytes", file.Size, "took", h.now().Sub(start).String())
			h.purge(ctx)
			return nil
		}
	}
	var perm *permanentError
	var fonts *transcript.ErrFontsMissing
	reason := ""
	switch {
	case errors.As(err, &perm):
		reason = perm.msg
	case errors.As(err, &fonts):
		reason = fonts.Error()
	case chat.ErrorCode(err) == chat.EINVALID || chat.ErrorCode(err) == chat.ENOTFOUND:
		reason = chat.ErrorMessage(err)
	case ctx.Err() == nil && isLastAttempt(ctx):
		reason = "the export failed; see the server log"
	default:
		log.Warn("export failed, will retry", "err", err)
		return err // transient: Asynq retries with backoff
	}
	log.Error("export failed", "err", err, "reason", reason)
	if ferr := h.Store.FailExport(context.WithoutCancel(ctx), exp.WorkspaceID, exp.ID, reason); ferr != nil && chat.ErrorCode(ferr) != chat.ECONFLICT {
		return ferr
	}
	// Failed for good: the export says why; the task is archived (visible
	// in the queue monitor), not retried.
	return fmt.Errorf("export %d: %w: %w", exp.ID, err, asynq.SkipRetry)
}

// isLastAttempt reports whether the running task will not be retried.
func isLastAttempt(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	m, ok2 := asynq.GetMaxRetry(ctx)
	return !ok1 || !ok2 || n >= m
}

// run renders the export into blob storage and describes the file.
func (h *ExportHandler) run(ctx context.Context, exp *chat.Export) (*chat.ExportFile, error) {
	switch exp.Kind {
	case chat.ExportConversation:
		return h.runConversation(ctx, exp)
	case chat.ExportBulk:
		return h.runBulk(ctx, exp)
	}
	return nil, permanent("unknown export kind %q", exp.Kind)
}

// location resolves the export's time zone.
func location(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	l, err := time.LoadLocation(tz)
	if err != nil {
		return nil, permanent("unknown time zone %q", tz)
	}
	return l, nil
}

// storageKey is where an export's file lives. It is the same on every run
// of the export, so a retry replaces the file rather than leaving one behind.
func storageKey(exp *chat.Export, name string) string {
	return fmt.Sprintf("exports/%d/%d/%s", exp.WorkspaceID, exp.ID, name)
}

func (h *ExportHandler) runConversation(ctx context.Context, exp *chat.Export) (*chat.ExportFile, error) {
	if exp.ConversationID == nil {
		return nil, permanent("the conversation of this export was deleted")
	}
	loc, err := location(exp.Options.Timezone)
	if err != nil {
		return nil, err
	}
	if exp.Format == chat.FormatPDF {
		if err := h.checkFonts(); err != nil {
			return nil, err
		}
	}
	conv, err := h.Store.Conversation(ctx, exp.WorkspaceID, *exp.ConversationID)
	if chat.ErrorCode(err) == chat.ENOTFOUND {
		return nil, permanent("the conversation of this export was deleted")
	} else if err != nil {
		return nil, err
	}
	names, err := h.loadNames(ctx, exp.WorkspaceID)
	if err != nil {
		return nil, err
	}
	doc, err := h.doc(ctx, names, conv, loc, exp.Options.IncludeNotes)
	if err != nil {
		return nil, err
	}
	if err := h.Store.SetExportProgress(ctx, exp.WorkspaceID, exp.ID, 50); err != nil {
		return nil, err
	}
	name := transcript.FileName(conv.ID, exp.Format)
	key := storageKey(exp, name)
	n, err := h.putStream(ctx, key, func(w io.Writer) error { return h.Renderer.Render(w, exp.Format, doc) })
	if err != nil {
		return nil, err
	}
	return &chat.ExportFile{StorageKey: key, FileName: name, ContentType: transcript.ContentType(exp.Format), Size: n}, nil
}

func (h *ExportHandler) checkFonts() error {
	if h.Renderer == nil || h.Renderer.Fonts == nil {
		return permanent("PDF export is not configured on this server (no fonts)")
	}
	return h.Renderer.Fonts.Check()
}

// names maps a workspace's ids to display names.
type names struct {
	agents, teams, sites map[int64]string
	siteByID             map[int64]*chat.Site
}

func (h *ExportHandler) loadNames(ctx context.Context, workspaceID int64) (*names, error) {
	n := &names{agents: map[int64]string{}, teams: map[int64]string{}, sites: map[int64]string{}, siteByID: map[int64]*chat.Site{}}
	agents, err := h.Store.ListAgents(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	for _, a := range agents {
		n.agents[a.ID] = a.Name
		if a.Name == "" {
			n.agents[a.ID] = a.Email
		}
	}
	teams, err := h.Store.TeamsWithMembers(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	for _, t := range teams {
		n.teams[t.ID] = t.Name
	}
	sites, err := h.Store.ListSites(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	for _, s := range sites {
		n.sites[s.ID], n.siteByID[s.ID] = s.Name, s
	}
	return n, nil
}

func nameOf(m map[int64]string, id *int64) string {
	if id == nil {
		return ""
	}
	return m[*id]
}

// doc loads everything a conversation's transcript shows.
func (h *ExportHandler) doc(ctx context.Context, n *names, conv *chat.Conversation, loc *time.Location, notes bool) (*transcript.Doc, error) {
	v, err := h.Store.Visitor(ctx, conv.WorkspaceID, conv.VisitorID)
	if err != nil && chat.ErrorCode(err) != chat.ENOTFOUND {
		return nil, err
	}
	msgs, err := h.allMessages(ctx, conv, notes, nil)
	if err != nil {
		return nil, err
	}
	return &transcript.Doc{
		Conversation: conv, Visitor: v, Site: n.siteByID[conv.SiteID], Messages: msgs, IncludeNotes: notes, Location: loc,
		AssigneeName: nameOf(n.agents, conv.AssigneeID), TeamName: nameOf(n.teams, conv.TeamID), GeneratedAt: h.now(),
	}, nil
}

// allMessages reads a conversation's messages page by page. With each
// set, every page goes to it and nothing is kept; otherwise all are
// returned.
func (h *ExportHandler) allMessages(ctx context.Context, conv *chat.Conversation, notes bool, each func([]*chat.Message) error) ([]*chat.Message, error) {
	const page = 500
	var all []*chat.Message
	for after := int64(0); ; {
		msgs, err := h.Store.Messages(ctx, conv.WorkspaceID, conv.ID, after, page, notes)
		if err != nil {
			return nil, err
		}
		if each != nil {
			if err := each(msgs); err != nil {
				return nil, err
			}
		} else {
			all = append(all, msgs...)
		}
		if len(msgs) < page {
			return all, nil
		}
		after = msgs[len(msgs)-1].Seq
	}
}

// errPutStopped unblocks a writer whose reader (the blob store) gave up.
var errPutStopped = errors.New("blob storage stopped reading")

// putStream stores what write produces under key without holding it in
// memory: write runs in a goroutine feeding a pipe that Put reads.
func (h *ExportHandler) putStream(ctx context.Context, key string, write func(w io.Writer) error) (int64, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("export writer panicked: %v", r)
			}
			pw.CloseWithError(err)
			done <- err
		}()
		err = write(pw)
	}()
	n, perr := h.Blobs.Put(ctx, key, pr)
	pr.CloseWithError(errPutStopped)
	werr := <-done
	if werr != nil && !errors.Is(werr, errPutStopped) {
		return 0, werr
	}
	if perr != nil {
		return 0, perr
	}
	return n, nil
}

// ProcessPurge implements the TypeExportPurge task.
func (h *ExportHandler) ProcessPurge(ctx context.Context, _ *asynq.Task) error {
	_, err := h.Purge(ctx)
	return err
}

// Purge deletes the files of exports that expired, and forgets them, so
// their links stop working for good. It reports how many it purged.
func (h *ExportHandler) Purge(ctx context.Context) (int, error) {
	n := 0
	for {
		exps, err := h.Store.ExpiredExports(ctx, h.now(), 100)
		if err != nil || len(exps) == 0 {
			return n, err
		}
		for _, e := range exps {
			if err := h.Blobs.Delete(ctx, e.StorageKey); err != nil && chat.ErrorCode(err) != chat.ENOTFOUND && !errors.Is(err, os.ErrNotExist) {
				return n, err
			}
			if err := h.Store.PurgeExport(ctx, e.ID); err != nil {
				return n, err
			}
			n++
		}
	}
}

// purge runs Purge after an export, logging rather than failing it.
func (h *ExportHandler) purge(ctx context.Context) {
	if n, err := h.Purge(ctx); err != nil {
		h.log().Warn("purge expired exports", "err", err)
	} else if n > 0 {
		h.log().Info("purged expired exports", "count", n)
	}
}
