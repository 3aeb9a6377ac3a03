package transcript

import (
	"html/template"
	"io"
	"strings"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// htmlPage is a self-contained, printable page: no scripts, no external
// resources (its CSP says so too), every value escaped by html/template.
// Message bodies keep their line breaks (white-space: pre-wrap) and take
// their direction from their own text (dir="auto"), so Arabic reads right
// to left next to English.
var htmlPage = template.Must(template.New("transcript").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="Switchboard">
<title>{{.Title}}</title>
<style>
  :root { color-scheme: light; }
  body { font: 14px/1.5 "DejaVu Sans", "Noto Sans", "Segoe UI", Arial, "Droid Sans Fallback", "Noto Sans CJK SC", sans-serif;
         color: #1f2328; margin: 2rem auto; max-width: 50rem; padding: 0 1rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .75rem; }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0 0 1.5rem;
             padding: .75rem 1rem; background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; }
  dl.facts dt { color: #57606a; }
  dl.facts dd { margin: 0; overflow-wrap: anywhere; }
  ol.messages { list-style: none; margin: 0; padding: 0; }
  li.msg { margin: 0 0 .9rem; padding: .5rem .75rem; border-left: 3px solid #d0d7de; }
  li.msg.visitor { border-left-color: #0969da; }
  li.msg.agent, li.msg.bot { border-left-color: #1a7f37; }
  li.msg.note { background: #fff8c5; border-left-color: #bf8700; }
  li.msg.event { border-left-color: transparent; color: #57606a; font-style: italic; padding-top: 0; padding-bottom: 0; }
  .meta { font-size: .85rem; color: #57606a; }
  .meta .who { font-weight: bold; color: #1f2328; }
  .tag { font-size: .75rem; text-transform: uppercase; letter-spacing: .04em; border: 1px solid currentColor; border-radius: 3px; padding: 0 .25rem; }
  .body { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: .15rem; }
  ul.files { margin: .25rem 0 0; padding-left: 1.25rem; font-size: .9rem; }
  footer { margin-top: 2rem; font-size: .8rem; color: #57606a; }
  @page { margin: 18mm 15mm; }
  @media print {
    body { margin: 0; max-width: none; font-size: 11pt; }
    dl.facts { background: none; }
    li.msg { break-inside: avoid; page-break-inside: avoid; }
    li.msg.note { background: none; border-left-style: double; }
    h1 { break-after: avoid; }
  }
</style>
</head>
<body>
<header>
<h1 dir="auto">{{.Title}}</h1>
<dl class="facts">
{{- range .Fields}}
  <dt>{{.Label}}</dt><dd dir="auto">{{.Value}}</dd>
{{- end}}
</dl>
</header>
<main>
<ol class="messages">
{{- range .Messages}}
  <li class="msg {{.Class}}">
    <div class="meta"><time datetime="{{.ISO}}">{{.Time}}</time> · <span class="who" dir="auto">{{.Author}}</span>{{if .Label}} <span class="tag">{{.Label}}</span>{{end}}</div>
    {{- if .Body}}
    <div class="body" dir="auto">{{.Body}}</div>
    {{- end}}
    {{- if .Files}}
    <ul class="files">
      {{- range .Files}}
      <li dir="auto">Attachment: {{.Name}} ({{.Size}})</li>
      {{- end}}
    </ul>
    {{- end}}
  </li>
{{- else}}
  <li class="msg event">No messages.</li>
{{- end}}
</ol>
</main>
<footer>Exported by Switchboard on {{.Exported}} ({{.Zone}}).</footer>
</body>
</html>
`))

type htmlFile struct{ Name, Size string }

type htmlMessage struct {
	Class, ISO, Time, Author, Label, Body string
	Files                                 []htmlFile
}

// HTML writes the conversation as a printable HTML page.
func HTML(w io.Writer, d *Doc) error {
	data := struct {
		Title, Exported, Zone string
		Fields                []field
		Messages              []htmlMessage
	}{Title: d.title(), Exported: d.stamp(d.generatedAt()), Zone: d.zoneName(), Fields: d.headerFields()}
	for _, m := range d.messages() {
		class := m.AuthorType
		switch m.Kind {
		case chat.KindNote:
			class = "note"
		case chat.KindEvent:
			class = "event"
		}
		hm := htmlMessage{
			Class: class, ISO: m.CreatedAt.In(d.loc()).Format("2006-01-02T15:04:05Z07:00"), Time: d.stamp(m.CreatedAt),
			Author: author(m), Label: kindLabel(m), Body: strings.TrimRight(m.Body, "\n"),
		}
		for _, a := range m.Attachments {
			hm.Files = append(hm.Files, htmlFile{Name: a.Name, Size: HumanSize(a.Size)})
		}
		data.Messages = append(data.Messages, hm)
	}
	return htmlPage.Execute(w, data)
}
