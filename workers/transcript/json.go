package transcript

import (
	"encoding/json"
	"io"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// JSONDoc is the JSON form of a conversation. Times carry the requested
// zone's offset.
type JSONDoc struct {
	Conversation *chat.Conversation `json:"conversation"`
	Visitor      *chat.Visitor      `json:"visitor,omitempty"`
	Site         *JSONSite          `json:"site,omitempty"`
	Assignee     string             `json:"assignee,omitempty"`
	Team         string             `json:"team,omitempty"`
	Timezone     string             `json:"timezone"`
	ExportedAt   time.Time          `json:"exported_at"`
	IncludeNotes bool               `json:"include_notes"`
	Messages     []*JSONMessage     `json:"messages"`
}

// JSONSite is the part of a site an export shows (never its secrets).
type JSONSite struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// JSONMessage is a message with its privacy spelled out.
type JSONMessage struct {
	*chat.Message
	Private bool `json:"private"`
}

// JSON writes the conversation as one JSON document.
func JSON(w io.Writer, d *Doc) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d.JSONDoc())
}

// JSONDoc builds the JSON form of d, with times in d's zone.
func (d *Doc) JSONDoc() *JSONDoc {
	l := d.loc()
	out := &JSONDoc{
		Conversation: ConversationIn(d.Conversation, l),
		Visitor:      VisitorIn(d.Visitor, l),
		Assignee:     d.AssigneeName,
		Team:         d.TeamName,
		Timezone:     l.String(),
		ExportedAt:   d.generatedAt().In(l),
		IncludeNotes: d.IncludeNotes,
		Messages:     []*JSONMessage{},
	}
	if d.Site != nil {
		out.Site = &JSONSite{ID: d.Site.ID, Name: d.Site.Name}
	}
	for _, m := range d.messages() {
		out.Messages = append(out.Messages, MessageIn(m, l))
	}
	return out
}

// ConversationIn copies c with every time in l.
func ConversationIn(c *chat.Conversation, l *time.Location) *chat.Conversation {
	cc := *c
	cc.LastMessageAt, cc.CreatedAt, cc.UpdatedAt = c.LastMessageAt.In(l), c.CreatedAt.In(l), c.UpdatedAt.In(l)
	for _, p := range []**time.Time{&cc.FirstResponseAt, &cc.ResolvedAt, &cc.SnoozedUntil, &cc.AssignedAt, &cc.RatedAt} {
		if *p != nil {
			t := (*p).In(l)
			*p = &t
		}
	}
	if cc.Labels == nil {
		cc.Labels = []string{}
	}
	return &cc
}

// MessageIn copies m with its time in l.
func MessageIn(m *chat.Message, l *time.Location) *JSONMessage {
	mm := *m
	mm.CreatedAt = m.CreatedAt.In(l)
	if mm.Attachments == nil {
		mm.Attachments = []chat.AttachmentRef{}
	}
	return &JSONMessage{Message: &mm, Private: m.Private()}
}

// VisitorIn copies v (nil stays nil) with its times in l.
func VisitorIn(v *chat.Visitor, l *time.Location) *chat.Visitor {
	if v == nil {
		return nil
	}
	vv := *v
	vv.LastSeenAt, vv.CreatedAt = v.LastSeenAt.In(l), v.CreatedAt.In(l)
	return &vv
}
