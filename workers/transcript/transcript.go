// Package transcript renders one conversation for people: as PDF, printable
// HTML, plain text and JSON for agents, and as the email a visitor asks for.
// It is the only package that imports the PDF library (fpdf) and the font
// parser (x/image/font/sfnt).
//
// Everything a visitor or agent typed is data: HTML output goes through
// html/template, PDF text is drawn glyph by glyph, nothing is interpreted.
package transcript

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Doc is one conversation to render.
type Doc struct {
	Conversation *chat.Conversation
	Visitor      *chat.Visitor // optional
	Site         *chat.Site    // optional
	// Messages in seq order. Notes are left out unless IncludeNotes, even
	// when the caller passed them.
	Messages     []*chat.Message
	IncludeNotes bool
	// Location is the reader's time zone (nil = UTC).
	Location *time.Location
	// AssigneeName and TeamName label the conversation's assignee and team.
	AssigneeName, TeamName string
	// GeneratedAt stamps the document (zero = now).
	GeneratedAt time.Time
}

// Renderer renders conversations in every format. Its zero value renders
// everything but PDF, which needs Fonts.
type Renderer struct {
	Fonts *Fonts
}

// Render writes d to w in format (chat.FormatPDF, FormatHTML, FormatText or
// FormatJSON).
func (r *Renderer) Render(w io.Writer, format string, d *Doc) error {
	switch format {
	case chat.FormatPDF:
		if r.Fonts == nil {
			return fmt.Errorf("transcript: PDF needs fonts, and none are configured")
		}
		return r.Fonts.PDF(w, d)
	case chat.FormatHTML:
		return HTML(w, d)
	case chat.FormatText:
		return Text(w, d)
	case chat.FormatJSON:
		return JSON(w, d)
	}
	return fmt.Errorf("transcript: unknown format %q", format)
}

// ContentType is the media type of a format's output.
func ContentType(format string) string {
	switch format {
	case chat.FormatPDF:
		return "application/pdf"
	case chat.FormatHTML:
		return "text/html; charset=utf-8"
	case chat.FormatText:
		return "text/plain; charset=utf-8"
	case chat.FormatJSON:
		return "application/json"
	case chat.FormatCSV:
		return "text/csv; charset=utf-8"
	case chat.FormatZIP:
		return "application/zip"
	}
	return "application/octet-stream"
}

// FileName is the download name of a conversation rendered in format.
func FileName(conversationID int64, format string) string {
	return fmt.Sprintf("conversation-%d.%s", conversationID, format)
}

// loc returns the document's location, UTC by default.
func (d *Doc) loc() *time.Location {
	if d.Location == nil {
		return time.UTC
	}
	return d.Location
}

func (d *Doc) generatedAt() time.Time {
	if d.GeneratedAt.IsZero() {
		return time.Now()
	}
	return d.GeneratedAt
}

// zoneName names the document's location for people ("UTC", "Europe/Paris").
func (d *Doc) zoneName() string { return d.loc().String() }

// messages are the messages to show: notes only when asked for.
func (d *Doc) messages() []*chat.Message {
	out := make([]*chat.Message, 0, len(d.Messages))
	for _, m := range d.Messages {
		if m.Private() && !d.IncludeNotes {
			continue
		}
		out = append(out, m)
	}
	return out
}

// stamp formats a time in the document's zone, to the second.
func (d *Doc) stamp(t time.Time) string { return t.In(d.loc()).Format("2006-01-02 15:04:05") }

// stampPtr formats an optional time ("" for nil).
func (d *Doc) stampPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return d.stamp(*t)
}

// title is the document's heading.
func (d *Doc) title() string {
	t := fmt.Sprintf("Conversation #%d", d.Conversation.ID)
	if d.Site != nil && d.Site.Name != "" {
		t += " · " + d.Site.Name
	}
	return t
}

// author names the writer of a message for agents.
func author(m *chat.Message) string {
	name := strings.TrimSpace(m.AuthorName)
	switch m.AuthorType {
	case chat.AuthorVisitor:
		if name == "" {
			name = "Visitor"
		}
		return name + " (visitor)"
	case chat.AuthorAgent:
		if name == "" {
			name = fmt.Sprintf("Agent #%d", m.AuthorID)
		}
		return name
	case chat.AuthorBot:
		if name == "" {
			name = "Bot"
		}
		return name + " (bot)"
	}
	return "System"
}

// kindLabel marks messages that are not plain text.
func kindLabel(m *chat.Message) string {
	switch m.Kind {
	case chat.KindNote:
		return "Private note"
	case chat.KindEvent:
		return "Event"
	}
	return ""
}

// visitorName names the visitor for headings.
func visitorName(v *chat.Visitor) string {
	if v == nil {
		return ""
	}
	switch {
	case v.Name != "" && v.Email != "":
		return v.Name + " <" + v.Email + ">"
	case v.Name != "":
		return v.Name
	case v.Email != "":
		return v.Email
	}
	return fmt.Sprintf("Visitor #%d", v.ID)
}

// HumanSize renders a byte count for people.
func HumanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// field is one labelled line of the header.
type field struct{ Label, Value string }

// headerFields are the conversation's and visitor's facts, in order; empty
// values are left out.
func (d *Doc) headerFields() []field {
	c := d.Conversation
	fs := []field{
		{"Status", c.Status},
		{"Priority", c.Priority},
		{"Labels", strings.Join(c.Labels, ", ")},
		{"Assignee", d.AssigneeName},
		{"Team", d.TeamName},
		{"Started", d.stamp(c.CreatedAt)},
		{"First response", d.stampPtr(c.FirstResponseAt)},
		{"Closed", d.stampPtr(c.ResolvedAt)},
	}
	if c.Rating != nil {
		r := fmt.Sprintf("%d/5", *c.Rating)
		if c.RatingComment != "" {
			r += " — " + c.RatingComment
		}
		fs = append(fs, field{"Rating", r})
	}
	if d.Site != nil {
		fs = append(fs, field{"Site", d.Site.Name})
	}
	if v := d.Visitor; v != nil {
		fs = append(fs, field{"Visitor", visitorName(v)})
		if v.ExternalID != "" {
			id := v.ExternalID
			if v.Verified {
				id += " (verified)"
			}
			fs = append(fs, field{"User id", id})
		}
		fs = append(fs, field{"Locale", v.Locale}, field{"Last page", v.LastPage}, field{"Browser", v.UserAgent})
		for _, k := range sortedKeys(v.Attributes) {
			fs = append(fs, field{k, v.Attributes[k]})
		}
	}
	fs = append(fs, field{"Times in", d.zoneName()}, field{"Exported", d.stamp(d.generatedAt())})
	out := fs[:0]
	for _, f := range fs {
		if strings.TrimSpace(f.Value) != "" {
			out = append(out, f)
		}
	}
	return out
}
