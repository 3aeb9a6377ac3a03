package workers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/workers/transcript"
)

// LinkKeys hands out the server-wide keys that sign links.
type LinkKeys interface {
	LinkKey(ctx context.Context, name string) ([]byte, error)
}

// TranscriptEmail renders visitors' transcript emails with transcript.Email,
// linking each attachment with a signed URL under baseURL
// (/api/v1/shared/attachments/{id}?w=&e=&s=) that downloads it without a
// session for chat.AttachmentLinkTTL. If the signing key cannot be read the
// email still goes out, with the attachments' names unlinked.
func TranscriptEmail(keys LinkKeys) RenderTranscript {
	var mu sync.Mutex
	var key []byte
	return func(conv *chat.Conversation, v *chat.Visitor, site *chat.Site, msgs []*chat.Message, locale, baseURL string) (string, string, string, error) {
		mu.Lock()
		if key == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			key, _ = keys.LinkKey(ctx, chat.LinkKeyAttachments) // nil on failure: no links this time
			cancel()
		}
		k := key
		mu.Unlock()
		base := strings.TrimRight(baseURL, "/")
		expires := time.Now().Add(chat.AttachmentLinkTTL)
		opts := transcript.EmailOptions{AttachmentURL: func(a chat.AttachmentRef) string {
			if k == nil || base == "" || conv == nil {
				return ""
			}
			return fmt.Sprintf("%s/api/v1/shared/attachments/%d?%s", base, a.ID, chat.SignLink(k, chat.LinkPurposeAttachment, conv.WorkspaceID, a.ID, expires))
		}}
		return transcript.EmailWith(opts, conv, v, site, msgs, locale, baseURL)
	}
}
