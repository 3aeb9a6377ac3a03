package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Message page sizes.
const (
	defaultMessageLimit = 100
	maxMessageLimit     = 500
)

func validateNewMessage(in *chat.NewMessage) error {
	switch in.AuthorType {
	case chat.AuthorVisitor, chat.AuthorAgent, chat.AuthorSystem, chat.AuthorBot:
	default:
		return invalid("unknown author type %q", in.AuthorType)
	}
	switch in.Kind {
	case chat.KindText, chat.KindAttachment:
	case chat.KindNote:
		if in.AuthorType == chat.AuthorVisitor {
			return invalid("visitors cannot write notes")
		}
	case chat.KindEvent:
		if in.AuthorType != chat.AuthorSystem {
			return invalid("only the system writes event messages")
		}
	default:
		return invalid("unknown message kind %q", in.Kind)
	}
	if len(in.ClientID) > chat.MaxClientIDLen {
		return invalid("client id is longer than %d bytes", chat.MaxClientIDLen)
	}
	if !utf8.ValidString(in.Body) {
		return invalid("message body is not valid UTF-8")
	}
	if utf8.RuneCountInString(in.Body) > chat.MaxBodyLen {
		return invalid("message body is longer than %d characters", chat.MaxBodyLen)
	}
	empty := strings.TrimSpace(in.Body) == ""
	switch {
	case in.Kind == chat.KindAttachment && len(in.AttachmentIDs) == 0:
		return invalid("an attachment message needs attachments")
	case empty && len(in.AttachmentIDs) == 0:
		return invalid("message body is empty")
	}
	return nil
}

// CreateMessage appends a message; see chat.ConversationStore.
//
// The transaction first locks the conversation row (SQLite: the whole
// database, its transactions begin IMMEDIATE), so concurrent senders to one
// conversation run one after another: the idempotency lookup cannot miss a
// concurrent resend, and last_seq + 1 is never handed out twice. The unique
// index on (conversation_id, client_id) stays as the backstop.
func (db *DB) CreateMessage(ctx context.Context, in chat.NewMessage) (*chat.Message, bool, error) {
	if err := validateNewMessage(&in); err != nil {
		return nil, false, err
	}
	ids := uniqueIDs(in.AttachmentIDs)
	var (
		m       messageRow
		created bool
	)
	err := db.tx(ctx, func(tx *gorm.DB) error {
		conv, err := db.lockConversation(tx, in.WorkspaceID, in.ConversationID)
		if err != nil {
			return err
		}
		if in.ClientID != "" {
			err := tx.Where("conversation_id = ? AND client_id = ?", conv.ID, in.ClientID).Take(&m).Error
			if err == nil {
				return nil // a resend: return the stored message
			} else if !errors.Is(err, gorm.ErrRecordNotFound) {
				return dbError(err, "find message by client id", "message")
			}
		}
		refs, err := claimableAttachments(tx, conv, ids)
		if err != nil {
			return err
		}
		m = messageRow{
			ClientID:    in.ClientID,
			AuthorType:  in.AuthorType,
			AuthorID:    in.AuthorID,
			AuthorName:  in.AuthorName,
			Kind:        in.Kind,
			Body:        in.Body,
			Attachments: encodeJSON(refs),
		}
		if err := appendMessage(tx, conv, &m); err != nil {
			return err
		}
		if err := addMentions(tx, conv, &m, in.Mentions); err != nil {
			return err
		}
		if len(ids) > 0 {
			err := tx.Model(&attachmentRow{}).Where("id IN ?", ids).Update("message_id", m.ID).Error
			if err != nil {
				return dbError(err, "attach files to message", "attachment")
			}
		}
		created = true
		return nil
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) && in.ClientID != "" {
		// Belt and braces: a concurrent resend committed first. (The
		// conversation was found in the workspace before the insert failed.)
		if db.read(ctx).Where("conversation_id = ? AND client_id = ?", in.ConversationID, in.ClientID).Take(&m).Error == nil {
			return m.chat(), false, nil
		}
	}
	if err != nil {
		return nil, false, dbError(err, "create message", "message")
	}
	return m.chat(), created, nil
}

// lockConversation loads a conversation of the workspace and, on PostgreSQL,
// locks its row until the transaction ends.
func (db *DB) lockConversation(tx *gorm.DB, workspaceID, id int64) (*conversationRow, error) {
	var c conversationRow
	if err := db.forUpdate(tx).Where("id = ? AND workspace_id = ?", id, workspaceID).Take(&c).Error; err != nil {
		return nil, dbError(err, "find conversation", "conversation")
	}
	return &c, nil
}

// appendMessage gives m the conversation's next seq and inserts it, with its
// message.created outbox row. It must run in the transaction that locked conv.
// Raw errors are returned so that the caller can spot a duplicate key.
func appendMessage(tx *gorm.DB, conv *conversationRow, m *messageRow) error {
	t := now()
	set := "last_seq = last_seq + 1, last_message_at = ?, updated_at = ?"
	args := []any{t, t}
	firstResponse := m.AuthorType == chat.AuthorAgent && m.Kind == chat.KindText
	if firstResponse {
		set += ", first_response_at = COALESCE(first_response_at, ?)"
		args = append(args, t)
	}
	args = append(args, conv.ID)
	var seq int64
	res := tx.Raw("UPDATE conversations SET "+set+" WHERE id = ? RETURNING last_seq", args...).Scan(&seq)
	if res.Error != nil {
		return dbError(res.Error, "bump conversation seq", "conversation")
	} else if res.RowsAffected != 1 {
		return notFound("conversation")
	}
	m.ConversationID, m.Seq, m.CreatedAt = conv.ID, seq, t
	if m.Attachments == "" {
		m.Attachments = "[]"
	}
	if err := tx.Create(m).Error; err != nil {
		return err
	}
	conv.LastSeq, conv.LastMessageAt, conv.UpdatedAt = seq, t, t
	if firstResponse && conv.FirstResponseAt == nil {
		conv.FirstResponseAt = &t
	}
	return addOutbox(tx, conv.WorkspaceID, chat.EventMessageCreated, map[string]any{
		"message_id":      m.ID,
		"conversation_id": conv.ID,
		"workspace_id":    conv.WorkspaceID,
		"seq":             seq,
		"author_type":     m.AuthorType,
		"kind":            m.Kind,
	})
}

// systemEvent appends a system event message (e.g. "Conversation closed by
// Alice") to a locked conversation.
func systemEvent(tx *gorm.DB, conv *conversationRow, body string) (*messageRow, error) {
	m := &messageRow{AuthorType: chat.AuthorSystem, Kind: chat.KindEvent, Body: body}
	if err := appendMessage(tx, conv, m); err != nil {
		return nil, dbError(err, "append event message", "message")
	}
	return m, nil
}

// claimableAttachments checks that every id is an attachment of conv not yet
// sent in a message, and returns their refs in the order given.
func claimableAttachments(tx *gorm.DB, conv *conversationRow, ids []int64) ([]chat.AttachmentRef, error) {
	refs := []chat.AttachmentRef{}
	if len(ids) == 0 {
		return refs, nil
	}
	var rows []attachmentRow
	err := tx.Where("id IN ? AND conversation_id = ? AND workspace_id = ?", ids, conv.ID, conv.WorkspaceID).Find(&rows).Error
	if err != nil {
		return nil, dbError(err, "find attachments", "attachment")
	}
	byID := make(map[int64]*attachmentRow, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	for _, id := range ids {
		a := byID[id]
		if a == nil {
			return nil, invalid("attachment %d does not belong to this conversation", id)
		} else if a.MessageID != nil {
			return nil, invalid("attachment %d was already sent", id)
		}
		refs = append(refs, chat.AttachmentRef{ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size})
	}
	return refs, nil
}

func uniqueIDs(ids []int64) []int64 {
	var out []int64
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Messages returns messages with seq > afterSeq in seq order, at most limit
// (default 100, capped at 500); notes only when includePrivate.
func (db *DB) Messages(ctx context.Context, workspaceID, conversationID, afterSeq int64, limit int, includePrivate bool) ([]*chat.Message, error) {
	if limit <= 0 {
		limit = defaultMessageLimit
	}
	limit = min(limit, maxMessageLimit)
	tx := db.read(ctx)
	if err := inWorkspace(tx, &conversationRow{}, workspaceID, conversationID, "conversation"); err != nil {
		return nil, err
	}
	q := tx.Where("conversation_id = ? AND seq > ?", conversationID, afterSeq)
	if !includePrivate {
		q = q.Where("kind <> ?", chat.KindNote)
	}
	var rows []messageRow
	if err := q.Order("seq").Limit(limit).Find(&rows).Error; err != nil {
		return nil, dbError(err, "list messages", "message")
	}
	out := make([]*chat.Message, len(rows))
	for i := range rows {
		out[i] = rows[i].chat()
	}
	return out, nil
}
