package store

import (
	"context"
	"database/sql/driver"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/glebarez/go-sqlite"
	"gorm.io/gorm"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Inbox page sizes.
const (
	defaultConversationLimit = 50
	maxConversationLimit     = 200
	// maxVisitorConversations bounds VisitorConversations; the newest are kept.
	maxVisitorConversations = 500
)

func init() {
	// SQLite's lower() and LIKE fold ASCII only. sb_fold gives inbox search
	// the same Unicode-aware case-insensitivity as PostgreSQL's ILIKE.
	sqlite.MustRegisterDeterministicScalarFunction("sb_fold", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		}
		return args[0], nil
	})
}

func validStatus(s string) bool {
	return s == chat.ConvOpen || s == chat.ConvPending || s == chat.ConvSnoozed || s == chat.ConvClosed
}

func validPriority(p string) bool {
	return p == chat.PriorityLow || p == chat.PriorityNormal || p == chat.PriorityHigh || p == chat.PriorityUrgent
}

// CreateConversation starts an open conversation and writes its
// conversation.created outbox row. A repeated (visitor, ClientID) returns the
// existing conversation with created=false, also when two requests race: the
// loser hits the unique index and reads the winner's row.
func (db *DB) CreateConversation(ctx context.Context, in chat.NewConversation) (*chat.Conversation, bool, error) {
	if len(in.ClientID) > chat.MaxClientIDLen {
		return nil, false, invalid("client id is longer than %d bytes", chat.MaxClientIDLen)
	}
	if in.TeamID != nil && *in.TeamID == 0 {
		in.TeamID = nil
	}
	if in.ClientID != "" {
		if c, err := db.conversationByClientID(ctx, in); err == nil {
			return c, false, nil
		} else if chat.ErrorCode(err) != chat.ENOTFOUND {
			return nil, false, err
		}
	}
	var row conversationRow
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := inWorkspace(tx, &siteRow{}, in.WorkspaceID, in.SiteID, "site"); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&visitorRow{}).Where("id = ? AND workspace_id = ? AND site_id = ?", in.VisitorID, in.WorkspaceID, in.SiteID).Count(&n).Error; err != nil {
			return dbError(err, "find visitor", "visitor")
		} else if n == 0 {
			return notFound("visitor")
		}
		if in.TeamID != nil {
			if err := inWorkspace(tx, &teamRow{}, in.WorkspaceID, *in.TeamID, "team"); err != nil {
				return err
			}
		}
		t := now()
		row = conversationRow{
			WorkspaceID:   in.WorkspaceID,
			SiteID:        in.SiteID,
			VisitorID:     in.VisitorID,
			ClientID:      in.ClientID,
			Status:        chat.ConvOpen,
			TeamID:        in.TeamID,
			Priority:      chat.PriorityNormal,
			Labels:        "[]",
			LastMessageAt: t, // an empty conversation sorts by its creation
			CreatedAt:     t,
			UpdatedAt:     t,
		}
		if err := tx.Create(&row).Error; err != nil {
			return err // raw, so a duplicate client id is recognisable
		}
		return addOutbox(tx, in.WorkspaceID, chat.EventConversationCreated, map[string]any{
			"conversation_id": row.ID,
			"workspace_id":    row.WorkspaceID,
			"site_id":         row.SiteID,
			"visitor_id":      row.VisitorID,
			"team_id":         row.TeamID,
		})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) && in.ClientID != "" {
		c, err := db.conversationByClientID(ctx, in)
		return c, false, err
	}
	if err != nil {
		return nil, false, dbError(err, "create conversation", "conversation")
	}
	return row.chat(), true, nil
}

func (db *DB) conversationByClientID(ctx context.Context, in chat.NewConversation) (*chat.Conversation, error) {
	var row conversationRow
	err := db.read(ctx).Where("workspace_id = ? AND visitor_id = ? AND client_id = ?", in.WorkspaceID, in.VisitorID, in.ClientID).Take(&row).Error
	if err != nil {
		return nil, dbError(err, "find conversation by client id", "conversation")
	}
	return row.chat(), nil
}

func (db *DB) Conversation(ctx context.Context, workspaceID, id int64) (*chat.Conversation, error) {
	var row conversationRow
	if err := db.read(ctx).Where("id = ? AND workspace_id = ?", id, workspaceID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find conversation", "conversation")
	}
	return row.chat(), nil
}

// The inbox cursor is the (last_message_at, id) of the last row of a page,
// as "unixmicro.id" in URL-safe base64. Stored times have microsecond
// precision, so the round trip is exact.
func encodeCursor(c *conversationRow) string {
	s := strconv.FormatInt(c.LastMessageAt.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeCursor(cursor string) (time.Time, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		t, id, ok := strings.Cut(string(b), ".")
		micros, err1 := strconv.ParseInt(t, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if ok && err1 == nil && err2 == nil {
			return time.UnixMicro(micros).UTC(), n, nil
		}
	}
	return time.Time{}, 0, invalid("malformed cursor")
}

// likePattern escapes LIKE wildcards so that s matches literally.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// ListConversations pages through the inbox, newest activity first. Ties on
// last_message_at are broken by id, so a page boundary never skips or
// repeats a row.
func (db *DB) ListConversations(ctx context.Context, workspaceID int64, f chat.ConversationFilter) (*chat.ConversationPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultConversationLimit
	}
	limit = min(limit, maxConversationLimit)

	q, err := db.filterConversations(db.read(ctx).Model(&conversationRow{}), workspaceID, f)
	if err != nil {
		return nil, err
	}
	if term := strings.TrimSpace(f.Query); term != "" {
		// Event messages ("Conversation closed by Alice") are not content.
		if db.dialect == DialectPostgres {
			p := likePattern(term)
			q = q.Where(`(EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id AND m.kind <> 'event' AND m.body ILIKE ?)
				OR EXISTS (SELECT 1 FROM visitors v WHERE v.id = conversations.visitor_id AND (v.name ILIKE ? OR v.email ILIKE ?)))`, p, p, p)
		} else {
			t := strings.ToLower(term)
			q = q.Where(`(EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id AND m.kind <> 'event' AND instr(sb_fold(m.body), ?) > 0)
				OR EXISTS (SELECT 1 FROM visitors v WHERE v.id = conversations.visitor_id AND (instr(sb_fold(v.name), ?) > 0 OR instr(sb_fold(v.email), ?) > 0)))`, t, t, t)
		}
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		// "last_message_at <= ?" follows from the rest, but it is what lets
		// the index start at the cursor: without it both databases walk the
		// index from the newest row and discard every row of the pages
		// before, so a page 9,000 rows deep cost ten times the first.
		q = q.Where("last_message_at <= ? AND (last_message_at < ? OR id < ?)", at, at, id)
	}
	var rows []conversationRow
	// One extra row tells whether there is a next page.
	if err := q.Order("last_message_at DESC, id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, dbError(err, "list conversations", "conversation")
	}
	page := &chat.ConversationPage{Conversations: []*chat.Conversation{}}
	if len(rows) > limit {
		rows = rows[:limit]
		page.NextCursor = encodeCursor(&rows[limit-1])
	}
	for i := range rows {
		page.Conversations = append(page.Conversations, rows[i].chat())
	}
	return page, nil
}

// VisitorConversations lists a visitor's conversations, newest activity
// first (at most the newest 500).
func (db *DB) VisitorConversations(ctx context.Context, workspaceID, visitorID int64) ([]*chat.Conversation, error) {
	tx := db.read(ctx)
	if err := inWorkspace(tx, &visitorRow{}, workspaceID, visitorID, "visitor"); err != nil {
		return nil, err
	}
	var rows []conversationRow
	err := tx.Where("workspace_id = ? AND visitor_id = ?", workspaceID, visitorID).
		Order("last_message_at DESC, id DESC").Limit(maxVisitorConversations).Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "list visitor conversations", "conversation")
	}
	out := make([]*chat.Conversation, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// reload re-reads a conversation inside a transaction, after updates.
func reload(tx *gorm.DB, id int64) (*conversationRow, error) {
	var c conversationRow
	if err := tx.Where("id = ?", id).Take(&c).Error; err != nil {
		return nil, dbError(err, "reload conversation", "conversation")
	}
	return &c, nil
}

func sameID(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func sameTime(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }

func byActor(actor string) string {
	if actor = strings.TrimSpace(actor); actor != "" {
		return " by " + actor
	}
	return ""
}

// Assign sets the assignee and team (nil or a pointer to 0 clears them). When
// something changes it appends a system event message and writes a
// conversation.assigned outbox row; when nothing does it returns the
// conversation and a nil message.
func (db *DB) Assign(ctx context.Context, workspaceID, conversationID int64, assigneeID, teamID *int64, actor string) (*chat.Conversation, *chat.Message, error) {
	if assigneeID != nil && *assigneeID == 0 {
		assigneeID = nil
	}
	if teamID != nil && *teamID == 0 {
		teamID = nil
	}
	var (
		conv *conversationRow
		msg  *messageRow
	)
	err := db.tx(ctx, func(tx *gorm.DB) error {
		c, err := db.lockConversation(tx, workspaceID, conversationID)
		if err != nil {
			return err
		}
		var assignee agentRow
		if assigneeID != nil {
			if err := tx.Where("id = ? AND workspace_id = ?", *assigneeID, workspaceID).Take(&assignee).Error; err != nil {
				return dbError(err, "find assignee", "agent")
			}
			if !assignee.Active {
				return invalid("agent %s is inactive", assignee.Email)
			}
		}
		var team teamRow
		if teamID != nil {
			if err := tx.Where("id = ? AND workspace_id = ?", *teamID, workspaceID).Take(&team).Error; err != nil {
				return dbError(err, "find team", "team")
			}
		}
		if sameID(c.AssigneeID, assigneeID) && sameID(c.TeamID, teamID) {
			conv = c
			return nil
		}
		previous := c.AssigneeID
		fields := map[string]any{"assignee_id": assigneeID, "team_id": teamID, "updated_at": now()}
		if !sameID(c.AssigneeID, assigneeID) {
			// The first-response window starts again with a new assignee.
			fields["assigned_at"], fields["previous_assignee_id"] = nil, c.AssigneeID
			if assigneeID != nil {
				fields["assigned_at"] = now()
			}
		}
		err = tx.Model(&conversationRow{}).Where("id = ?", c.ID).Updates(fields).Error
		if err != nil {
			return dbError(err, "assign conversation", "conversation")
		}
		var body string
		switch {
		case assigneeID != nil:
			name := assignee.Name
			if name == "" {
				name = assignee.Email
			}
			body = "Conversation assigned to " + name
		case teamID != nil:
			body = "Conversation assigned to team " + team.Name
		default:
			body = "Conversation unassigned"
		}
		if msg, err = systemEvent(tx, c, body+byActor(actor)); err != nil {
			return err
		}
		err = addOutbox(tx, workspaceID, chat.EventConversationAssigned, map[string]any{
			"conversation_id":      c.ID,
			"workspace_id":         workspaceID,
			"assignee_id":          assigneeID,
			"previous_assignee_id": previous,
			"team_id":              teamID,
			"message_id":           msg.ID,
			"seq":                  msg.Seq,
		})
		if err != nil {
			return err
		}
		conv, err = reload(tx, c.ID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return conv.chat(), msgOrNil(msg), nil
}

func msgOrNil(m *messageRow) *chat.Message {
	if m == nil {
		return nil
	}
	return m.chat()
}

// SetStatus moves a conversation to status. Closing sets resolved_at, any
// other status clears it; snoozing needs a future snoozeUntil, any other
// status clears snoozed_until. A change appends a system event message;
// closing writes conversation.closed and going back to open from any other
// status conversation.reopened. When nothing changes it returns the
// conversation and a nil message.
func (db *DB) SetStatus(ctx context.Context, workspaceID, conversationID int64, status string, snoozeUntil *time.Time, actor string) (*chat.Conversation, *chat.Message, error) {
	if !validStatus(status) {
		return nil, nil, invalid("unknown status %q", status)
	}
	var until *time.Time
	if status == chat.ConvSnoozed {
		if snoozeUntil == nil || !snoozeUntil.After(time.Now()) {
			return nil, nil, invalid("snoozing needs a time in the future")
		}
		until = utcPtr(snoozeUntil)
	}
	var (
		conv *conversationRow
		msg  *messageRow
	)
	err := db.tx(ctx, func(tx *gorm.DB) error {
		c, err := db.lockConversation(tx, workspaceID, conversationID)
		if err != nil {
			return err
		}
		if c.Status == status && sameTime(c.SnoozedUntil, until) {
			conv = c
			return nil
		}
		previous := c.Status
		t := now()
		fields := map[string]any{"status": status, "snoozed_until": until, "resolved_at": nil, "updated_at": t}
		var body, topic string
		switch status {
		case chat.ConvClosed:
			fields["resolved_at"] = t
			body, topic = "Conversation closed", chat.EventConversationClosed
		case chat.ConvOpen:
			body, topic = "Conversation reopened", chat.EventConversationReopened
		case chat.ConvPending:
			body = "Conversation marked as pending"
		case chat.ConvSnoozed:
			body = "Conversation snoozed until " + until.Format("2006-01-02 15:04 UTC")
		}
		if err := tx.Model(&conversationRow{}).Where("id = ?", c.ID).Updates(fields).Error; err != nil {
			return dbError(err, "set conversation status", "conversation")
		}
		if msg, err = systemEvent(tx, c, body+byActor(actor)); err != nil {
			return err
		}
		if topic != "" {
			err := addOutbox(tx, workspaceID, topic, map[string]any{
				"conversation_id": c.ID,
				"workspace_id":    workspaceID,
				"status":          status,
				"previous_status": previous,
				"message_id":      msg.ID,
				"seq":             msg.Seq,
			})
			if err != nil {
				return err
			}
		}
		conv, err = reload(tx, c.ID)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return conv.chat(), msgOrNil(msg), nil
}

// SetLabels replaces the labels: trimmed, duplicates dropped, order kept.
func (db *DB) SetLabels(ctx context.Context, workspaceID, conversationID int64, labels []string) (*chat.Conversation, error) {
	clean := []string{}
	for _, l := range labels {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			return nil, invalid("labels must not be empty")
		case utf8.RuneCountInString(l) > chat.MaxLabelLen:
			return nil, invalid("label %q is longer than %d characters", l, chat.MaxLabelLen)
		}
		if !slices.Contains(clean, l) {
			clean = append(clean, l)
		}
	}
	if len(clean) > chat.MaxLabels {
		return nil, invalid("at most %d labels", chat.MaxLabels)
	}
	return db.updateConversation(ctx, workspaceID, conversationID, "labels", encodeJSON(clean))
}

func (db *DB) SetPriority(ctx context.Context, workspaceID, conversationID int64, priority string) (*chat.Conversation, error) {
	if !validPriority(priority) {
		return nil, invalid("unknown priority %q", priority)
	}
	return db.updateConversation(ctx, workspaceID, conversationID, "priority", priority)
}

// updateConversation sets one column (and updated_at) and returns the result.
func (db *DB) updateConversation(ctx context.Context, workspaceID, id int64, column string, value any) (*chat.Conversation, error) {
	var conv *conversationRow
	err := db.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&conversationRow{}).Where("id = ? AND workspace_id = ?", id, workspaceID).
			Updates(map[string]any{column: value, "updated_at": now()})
		if res.Error != nil {
			return dbError(res.Error, "update conversation "+column, "conversation")
		} else if res.RowsAffected == 0 {
			return notFound("conversation")
		}
		var err error
		conv, err = reload(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return conv.chat(), nil
}

// MarkRead moves a reader's marker forward; an older seq leaves it alone. A
// seq beyond the conversation's last message is EINVALID.
func (db *DB) MarkRead(ctx context.Context, workspaceID int64, r chat.ReadMarker) error {
	if r.ReaderType != chat.AuthorVisitor && r.ReaderType != chat.AuthorAgent {
		return invalid("unknown reader type %q", r.ReaderType)
	}
	if r.Seq < 0 {
		return invalid("seq must not be negative")
	}
	return db.tx(ctx, func(tx *gorm.DB) error {
		var c conversationRow
		if err := tx.Select("id", "last_seq").Where("id = ? AND workspace_id = ?", r.ConversationID, workspaceID).Take(&c).Error; err != nil {
			return dbError(err, "find conversation", "conversation")
		}
		if r.Seq > c.LastSeq {
			return invalid("seq %d is beyond the last message (%d)", r.Seq, c.LastSeq)
		}
		// The WHERE of the upsert is what keeps a marker from moving back.
		err := tx.Exec(`INSERT INTO read_markers (conversation_id, reader_type, reader_id, seq, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (conversation_id, reader_type, reader_id)
			DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
			WHERE read_markers.seq < excluded.seq`,
			r.ConversationID, r.ReaderType, r.ReaderID, r.Seq, now()).Error
		return dbError(err, "mark read", "read marker")
	})
}

func (db *DB) ReadMarkers(ctx context.Context, workspaceID, conversationID int64) ([]*chat.ReadMarker, error) {
	tx := db.read(ctx)
	if err := inWorkspace(tx, &conversationRow{}, workspaceID, conversationID, "conversation"); err != nil {
		return nil, err
	}
	var rows []readMarkerRow
	if err := tx.Where("conversation_id = ?", conversationID).Order("reader_type, reader_id").Find(&rows).Error; err != nil {
		return nil, dbError(err, "list read markers", "read marker")
	}
	out := make([]*chat.ReadMarker, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}

// CreateAttachment stores a's metadata (the bytes are already in blob
// storage under StorageKey) and fills in its ID and CreatedAt.
func (db *DB) CreateAttachment(ctx context.Context, a *chat.Attachment) error {
	switch {
	case a.StorageKey == "":
		return invalid("attachment storage key is required")
	case a.Size < 0:
		return invalid("attachment size must not be negative")
	}
	row := attachmentRow{
		WorkspaceID:    a.WorkspaceID,
		ConversationID: a.ConversationID,
		Name:           a.Name,
		ContentType:    a.ContentType,
		Size:           a.Size,
		StorageKey:     a.StorageKey,
		UploaderType:   a.UploaderType,
		UploaderID:     a.UploaderID,
		CreatedAt:      now(),
	}
	err := db.tx(ctx, func(tx *gorm.DB) error {
		if err := inWorkspace(tx, &conversationRow{}, a.WorkspaceID, a.ConversationID, "conversation"); err != nil {
			return err
		}
		return dbError(tx.Create(&row).Error, "create attachment", "attachment with this storage key")
	})
	if err != nil {
		return err
	}
	a.ID, a.CreatedAt = row.ID, row.CreatedAt
	return nil
}

func (db *DB) Attachment(ctx context.Context, workspaceID, id int64) (*chat.Attachment, error) {
	var row attachmentRow
	if err := db.read(ctx).Where("id = ? AND workspace_id = ?", id, workspaceID).Take(&row).Error; err != nil {
		return nil, dbError(err, "find attachment", "attachment")
	}
	return row.chat(), nil
}

// filterConversations applies every filter of f except the text search and
// the cursor: the inbox list and the bulk export select the same rows.
func (db *DB) filterConversations(q *gorm.DB, workspaceID int64, f chat.ConversationFilter) (*gorm.DB, error) {
	q = q.Where("workspace_id = ?", workspaceID)
	if f.Status != "" {
		if !validStatus(f.Status) {
			return nil, invalid("unknown status %q", f.Status)
		}
		q = q.Where("status = ?", f.Status)
	}
	if f.Priority != "" {
		if !validPriority(f.Priority) {
			return nil, invalid("unknown priority %q", f.Priority)
		}
		q = q.Where("priority = ?", f.Priority)
	}
	// For assignee and team, a pointer to 0 means "none".
	for _, c := range []struct {
		col string
		id  *int64
	}{{"assignee_id", f.AssigneeID}, {"team_id", f.TeamID}} {
		switch {
		case c.id == nil:
		case *c.id == 0:
			q = q.Where(c.col + " IS NULL")
		default:
			q = q.Where(c.col+" = ?", *c.id)
		}
	}
	if f.SiteID != nil {
		q = q.Where("site_id = ?", *f.SiteID)
	}
	if f.VisitorID != nil {
		q = q.Where("visitor_id = ?", *f.VisitorID)
	}
	q = consoleFilters(q, f)
	if f.Label != "" {
		if db.dialect == DialectPostgres {
			q = q.Where("labels @> ?::jsonb", encodeJSON([]string{f.Label}))
		} else {
			q = q.Where("EXISTS (SELECT 1 FROM json_each(conversations.labels) WHERE json_each.value = ?)", f.Label)
		}
	}
	return q, nil
}
