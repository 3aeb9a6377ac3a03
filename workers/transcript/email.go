package transcript

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// emailText holds one language's strings for the visitor's transcript email.
// %[1]s is the site's name, %[2]s the start date, %[3]s the time zone.
type emailText struct {
	dir        string // "ltr" or "rtl"
	dateFormat string
	subject    string // %[1]s
	heading    string
	intro      string // %[1]s, %[2]s
	zone       string // %[3]s
	you        string
	support    string // an agent without a name
	ourTeam    string // a site without a name
	attachment string
	footer     string
}

var emailTexts = map[string]emailText{
	"en": {
		dir: "ltr", dateFormat: "2006-01-02 15:04",
		subject: "Your conversation with %[1]s", heading: "Conversation transcript",
		intro: "Here is a copy of your conversation with %[1]s, started on %[2]s.", zone: "Times are in %[3]s.",
		you: "You", support: "Support", ourTeam: "our team", attachment: "Attachment",
		footer: "You received this email because a copy of this conversation was requested.",
	},
	"fr": {
		dir: "ltr", dateFormat: "02/01/2006 15:04",
		subject: "Votre conversation avec %[1]s", heading: "Transcription de la conversation",
		intro: "Voici une copie de votre conversation avec %[1]s, commencée le %[2]s.", zone: "Les heures sont indiquées en %[3]s.",
		you: "Vous", support: "Support", ourTeam: "notre équipe", attachment: "Pièce jointe",
		footer: "Vous recevez cet e-mail parce qu'une copie de cette conversation a été demandée.",
	},
	"de": {
		dir: "ltr", dateFormat: "02.01.2006 15:04",
		subject: "Ihr Gespräch mit %[1]s", heading: "Gesprächsverlauf",
		intro: "Hier ist eine Kopie Ihres Gesprächs mit %[1]s, begonnen am %[2]s.", zone: "Alle Zeiten in %[3]s.",
		you: "Sie", support: "Support", ourTeam: "unserem Team", attachment: "Anhang",
		footer: "Sie erhalten diese E-Mail, weil eine Kopie dieses Gesprächs angefordert wurde.",
	},
	"es": {
		dir: "ltr", dateFormat: "02/01/2006 15:04",
		subject: "Tu conversación con %[1]s", heading: "Transcripción de la conversación",
		intro: "Aquí tienes una copia de tu conversación con %[1]s, iniciada el %[2]s.", zone: "Las horas están en %[3]s.",
		you: "Tú", support: "Soporte", ourTeam: "nuestro equipo", attachment: "Archivo adjunto",
		footer: "Recibes este correo porque se solicitó una copia de esta conversación.",
	},
	"pt": {
		dir: "ltr", dateFormat: "02/01/2006 15:04",
		subject: "Sua conversa com %[1]s", heading: "Transcrição da conversa",
		intro: "Aqui está uma cópia da sua conversa com %[1]s, iniciada em %[2]s.", zone: "Os horários estão em %[3]s.",
		you: "Você", support: "Suporte", ourTeam: "nossa equipe", attachment: "Anexo",
		footer: "Você recebeu este e-mail porque foi solicitada uma cópia desta conversa.",
	},
	"ar": {
		dir: "rtl", dateFormat: "2006-01-02 15:04",
		subject: "محادثتك مع %[1]s", heading: "نص المحادثة",
		intro: "إليك نسخة من محادثتك مع %[1]s، التي بدأت في %[2]s.", zone: "الأوقات بتوقيت %[3]s.",
		you: "أنت", support: "الدعم", ourTeam: "فريقنا", attachment: "مرفق",
		footer: "تلقيت هذه الرسالة لأنه تم طلب نسخة من هذه المحادثة.",
	},
}

// EmailLanguages are the languages the transcript email is written in.
var EmailLanguages = []string{"en", "fr", "de", "es", "pt", "ar"}

// emailLanguage picks the language for a locale such as "pt-BR" or
// "fr_CA"; anything unknown is English.
func emailLanguage(locale string) string {
	lang := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	if _, ok := emailTexts[lang]; ok {
		return lang
	}
	return "en"
}

// EmailOptions tune the visitor's transcript email.
type EmailOptions struct {
	// AttachmentURL links an attachment ("" leaves its name unlinked). The
	// link must work from a mail client, without a session: see
	// workers.TranscriptEmail, which signs links. nil: names only.
	AttachmentURL func(a chat.AttachmentRef) string
	// Location for times; nil uses the site's time zone, else UTC.
	Location *time.Location
}

// Email renders the transcript email a visitor asked for ("email me this
// conversation", or automatically on close): subject, plain text and HTML,
// in the visitor's language (en, fr, de, es, pt, ar; Arabic right to left),
// times in the site's time zone. Notes and system events are left out
// whatever messages holds; visitor and site may be nil. Attachments are
// listed by name and size: for links that open from a mail client use
// workers.TranscriptEmail (same signature), which signs them under baseURL.
func Email(conv *chat.Conversation, visitor *chat.Visitor, site *chat.Site, messages []*chat.Message, locale, baseURL string) (subject, text, html string, err error) {
	return EmailWith(EmailOptions{}, conv, visitor, site, messages, locale, baseURL)
}

// EmailWith is Email with options.
func EmailWith(opts EmailOptions, conv *chat.Conversation, visitor *chat.Visitor, site *chat.Site, messages []*chat.Message, locale, baseURL string) (subject, text, html string, err error) {
	if conv == nil {
		return "", "", "", fmt.Errorf("transcript: email without a conversation")
	}
	if locale == "" && visitor != nil {
		locale = visitor.Locale
	}
	lang := emailLanguage(locale)
	tr := emailTexts[lang]
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
		if site != nil && site.Settings.Timezone != "" {
			if l, err := time.LoadLocation(site.Settings.Timezone); err == nil {
				loc = l
			}
		}
	}
	siteName := tr.ourTeam
	if site != nil && strings.TrimSpace(site.Name) != "" {
		siteName = strings.TrimSpace(site.Name)
	}
	link := opts.AttachmentURL
	if link == nil {
		link = func(chat.AttachmentRef) string { return "" }
	}

	subject = fmt.Sprintf(tr.subject, oneLine(siteName))
	data := emailData{
		Lang: lang, Dir: tr.dir, Subject: subject, Heading: tr.heading,
		Zone:   fmt.Sprintf(tr.zone, "", "", loc.String()),
		Footer: tr.footer, AttachmentLabel: tr.attachment,
	}
	// The site's name and the date are isolated from the sentence around
	// them, so "Shop (EU)" stays intact inside Arabic text.
	started := conv.CreatedAt.In(loc).Format(tr.dateFormat)
	data.IntroText = fmt.Sprintf(tr.intro, isolate(siteName, tr.dir), isolate(started, tr.dir))
	data.Intro = template.HTML(fmt.Sprintf(template.HTMLEscapeString(tr.intro),
		"<bdi>"+template.HTMLEscapeString(siteName)+"</bdi>", "<bdi>"+template.HTMLEscapeString(started)+"</bdi>"))
	for _, m := range messages {
		if m.Private() || m.Kind == chat.KindEvent || m.AuthorType == chat.AuthorSystem {
			continue
		}
		em := emailMessage{Time: m.CreatedAt.In(loc).Format(tr.dateFormat), Body: strings.TrimRight(m.Body, "\n"), Visitor: m.AuthorType == chat.AuthorVisitor}
		switch m.AuthorType {
		case chat.AuthorVisitor:
			em.Author = tr.you
		default:
			em.Author = strings.TrimSpace(m.AuthorName)
			if em.Author == "" {
				em.Author = tr.support
			}
		}
		for _, a := range m.Attachments {
			ea := emailAttachment{Name: a.Name, Size: HumanSize(a.Size)}
			if u := link(a); u != "" {
				if pu, err := url.Parse(u); err == nil && (pu.Scheme == "https" || pu.Scheme == "http") {
					ea.URL = u
				}
			}
			em.Attachments = append(em.Attachments, ea)
		}
		data.Messages = append(data.Messages, em)
	}

	var tb, hb bytes.Buffer
	if err := emailTextTemplate(&tb, &data); err != nil {
		return "", "", "", err
	}
	if err := emailHTML.Execute(&hb, &data); err != nil {
		return "", "", "", fmt.Errorf("transcript: render email: %w", err)
	}
	return subject, tb.String(), hb.String(), nil
}

type emailAttachment struct{ Name, Size, URL string }

type emailMessage struct {
	Time, Author, Body string
	Visitor            bool
	Attachments        []emailAttachment
}

type emailData struct {
	Lang, Dir, Subject, Heading, IntroText, Zone, Footer, AttachmentLabel string
	Intro                                                                 template.HTML // escaped, with <bdi> isolates
	Messages                                                              []emailMessage
}

// isolate wraps s in Unicode isolates (FSI ... PDI) inside right-to-left
// text, the plain-text twin of <bdi>.
func isolate(s, dir string) string {
	if dir != "rtl" {
		return s
	}
	return "\u2068" + s + "\u2069"
}

// emailTextTemplate writes the plain-text part.
func emailTextTemplate(b *bytes.Buffer, d *emailData) error {
	fmt.Fprintf(b, "%s\n\n%s\n%s\n", d.Heading, d.IntroText, d.Zone)
	for _, m := range d.Messages {
		fmt.Fprintf(b, "\n[%s] %s:\n", m.Time, oneLine(m.Author))
		if m.Body != "" {
			for _, line := range strings.Split(m.Body, "\n") {
				fmt.Fprintf(b, "  %s\n", strings.TrimRight(line, "\r"))
			}
		}
		for _, a := range m.Attachments {
			fmt.Fprintf(b, "  %s: %s (%s)", d.AttachmentLabel, oneLine(a.Name), a.Size)
			if a.URL != "" {
				fmt.Fprintf(b, " <%s>", a.URL)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(b, "\n--\n%s\n", d.Footer)
	return nil
}

// emailHTML is deliberately plain: inline styles, a single-column table,
// no images or scripts, every value escaped. dir follows the language, and
// each message body also takes its own direction (dir="auto").
var emailHTML = template.Must(template.New("email").Parse(`<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body dir="{{.Dir}}" style="margin:0;padding:0;background:#f6f8fa;font-family:Arial,Helvetica,sans-serif;color:#1f2328;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f8fa;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" dir="{{.Dir}}" style="max-width:600px;width:100%;background:#ffffff;border:1px solid #d0d7de;border-radius:6px;">
<tr><td style="padding:20px 24px 8px;">
<h1 style="margin:0 0 8px;font-size:20px;">{{.Heading}}</h1>
<p style="margin:0 0 4px;font-size:14px;">{{.Intro}}</p>
<p style="margin:0;font-size:12px;color:#57606a;">{{.Zone}}</p>
</td></tr>
{{- range .Messages}}
<tr><td style="padding:8px 24px;">
<div style="font-size:12px;color:#57606a;"><strong style="color:{{if .Visitor}}#0969da{{else}}#1a7f37{{end}};">{{.Author}}</strong> · {{.Time}}</div>
{{- if .Body}}
<div dir="auto" style="font-size:14px;line-height:1.5;white-space:pre-wrap;word-break:break-word;">{{.Body}}</div>
{{- end}}
{{- range .Attachments}}
<div style="font-size:13px;">{{$.AttachmentLabel}}: {{if .URL}}<a href="{{.URL}}" style="color:#0969da;">{{.Name}}</a>{{else}}{{.Name}}{{end}} ({{.Size}})</div>
{{- end}}
</td></tr>
{{- end}}
<tr><td style="padding:16px 24px 20px;font-size:12px;color:#57606a;border-top:1px solid #d0d7de;">{{.Footer}}</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`))
