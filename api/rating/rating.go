// Package rating renders the emailed rating request and the page its links
// open, in the visitor's language. The email's five links carry a signed
// token (chat.SignLink with chat.LinkPurposeRating); opening one shows a form
// with that score chosen, and only submitting the form records the rating,
// so mail scanners that follow links rate nothing.
package rating

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
)

// texts holds one language's strings. %[1]s is the site's name.
type texts struct {
	dir       string
	subject   string // %[1]s
	heading   string // %[1]s
	intro     string
	scores    [5]string // 1 to 5
	footer    string
	title     string
	comment   string
	submit    string
	thanks    string
	thanksSub string
	invalid   string
	reopened  string
	current   string // %[1]d: the score already given
}

var langs = map[string]texts{
	"en": {
		dir: "ltr", subject: "How did we do? Rate your conversation with %[1]s", heading: "How was your conversation with %[1]s?",
		intro:  "Pick a rating; it takes a second and helps the team improve.",
		scores: [5]string{"Terrible", "Bad", "OK", "Good", "Great"},
		footer: "You received this email because a conversation you had with us was closed. If you would rather not rate it, ignore this email.",
		title:  "Rate your conversation", comment: "Anything you would like to add? (optional)", submit: "Send rating",
		thanks: "Thank you for your rating!", thanksSub: "You can close this page.", invalid: "This rating link has expired or is not valid.",
		reopened: "This conversation was reopened. You can rate it once it is closed again.", current: "You rated this conversation %[1]d out of 5. Sending again replaces it.",
	},
	"fr": {
		dir: "ltr", subject: "Comment s'est passée votre conversation avec %[1]s ?", heading: "Comment s'est passée votre conversation avec %[1]s ?",
		intro:  "Choisissez une note : cela prend une seconde et aide l'équipe à s'améliorer.",
		scores: [5]string{"Très mauvais", "Mauvais", "Correct", "Bien", "Excellent"},
		footer: "Vous recevez cet e-mail parce qu'une conversation avec nous a été clôturée. Si vous ne souhaitez pas la noter, ignorez cet e-mail.",
		title:  "Notez votre conversation", comment: "Souhaitez-vous ajouter quelque chose ? (facultatif)", submit: "Envoyer la note",
		thanks: "Merci pour votre note !", thanksSub: "Vous pouvez fermer cette page.", invalid: "Ce lien de notation a expiré ou n'est pas valide.",
		reopened: "Cette conversation a été rouverte. Vous pourrez la noter une fois clôturée.", current: "Vous avez donné %[1]d sur 5 à cette conversation. Un nouvel envoi la remplace.",
	},
	"de": {
		dir: "ltr", subject: "Wie war Ihr Gespräch mit %[1]s?", heading: "Wie war Ihr Gespräch mit %[1]s?",
		intro:  "Wählen Sie eine Bewertung – das dauert eine Sekunde und hilft dem Team, besser zu werden.",
		scores: [5]string{"Sehr schlecht", "Schlecht", "Okay", "Gut", "Sehr gut"},
		footer: "Sie erhalten diese E-Mail, weil ein Gespräch mit uns abgeschlossen wurde. Wenn Sie es nicht bewerten möchten, ignorieren Sie diese E-Mail.",
		title:  "Gespräch bewerten", comment: "Möchten Sie noch etwas ergänzen? (optional)", submit: "Bewertung senden",
		thanks: "Vielen Dank für Ihre Bewertung!", thanksSub: "Sie können diese Seite schließen.", invalid: "Dieser Bewertungslink ist abgelaufen oder ungültig.",
		reopened: "Dieses Gespräch wurde wieder geöffnet. Sie können es bewerten, sobald es abgeschlossen ist.", current: "Sie haben dieses Gespräch mit %[1]d von 5 bewertet. Erneutes Senden ersetzt die Bewertung.",
	},
	"es": {
		dir: "ltr", subject: "¿Qué tal lo hicimos? Valora tu conversación con %[1]s", heading: "¿Qué tal fue tu conversación con %[1]s?",
		intro:  "Elige una valoración: te lleva un segundo y ayuda al equipo a mejorar.",
		scores: [5]string{"Pésima", "Mala", "Normal", "Buena", "Excelente"},
		footer: "Recibes este correo porque se cerró una conversación que tuviste con nosotros. Si prefieres no valorarla, ignora este correo.",
		title:  "Valora tu conversación", comment: "¿Quieres añadir algo? (opcional)", submit: "Enviar valoración",
		thanks: "¡Gracias por tu valoración!", thanksSub: "Ya puedes cerrar esta página.", invalid: "Este enlace de valoración ha caducado o no es válido.",
		reopened: "Esta conversación se ha reabierto. Podrás valorarla cuando vuelva a cerrarse.", current: "Valoraste esta conversación con %[1]d de 5. Si envías otra, la sustituye.",
	},
	"pt": {
		dir: "ltr", subject: "Como nos saímos? Avalie sua conversa com %[1]s", heading: "Como foi sua conversa com %[1]s?",
		intro:  "Escolha uma nota: leva um segundo e ajuda a equipe a melhorar.",
		scores: [5]string{"Péssima", "Ruim", "Razoável", "Boa", "Ótima"},
		footer: "Você recebeu este e-mail porque uma conversa sua conosco foi encerrada. Se preferir não avaliar, ignore este e-mail.",
		title:  "Avalie sua conversa", comment: "Quer acrescentar algo? (opcional)", submit: "Enviar avaliação",
		thanks: "Obrigado pela sua avaliação!", thanksSub: "Você já pode fechar esta página.", invalid: "Este link de avaliação expirou ou não é válido.",
		reopened: "Esta conversa foi reaberta. Você poderá avaliá-la quando for encerrada.", current: "Você deu nota %[1]d de 5 a esta conversa. Enviar de novo a substitui.",
	},
	"ar": {
		dir: "rtl", subject: "كيف كان أداؤنا؟ قيّم محادثتك مع %[1]s", heading: "كيف كانت محادثتك مع %[1]s؟",
		intro:  "اختر تقييمًا؛ لن يستغرق ذلك سوى ثانية وسيساعد الفريق على التحسن.",
		scores: [5]string{"سيئة جدًا", "سيئة", "مقبولة", "جيدة", "ممتازة"},
		footer: "تلقيت هذه الرسالة لأن محادثة أجريتها معنا قد أُغلقت. إن كنت لا ترغب في تقييمها فتجاهل هذه الرسالة.",
		title:  "قيّم محادثتك", comment: "هل تود إضافة شيء؟ (اختياري)", submit: "إرسال التقييم",
		thanks: "شكرًا لتقييمك!", thanksSub: "يمكنك إغلاق هذه الصفحة.", invalid: "انتهت صلاحية رابط التقييم هذا أو أنه غير صالح.",
		reopened: "أُعيد فتح هذه المحادثة. يمكنك تقييمها بعد إغلاقها.", current: "قيّمت هذه المحادثة بـ %[1]d من 5. الإرسال مجددًا يستبدل التقييم.",
	},
}

// Languages lists the languages the rating email and page speak.
var Languages = []string{"en", "fr", "de", "es", "pt", "ar"}

// lang picks the language for a locale such as "pt-BR"; unknown is English.
func lang(locale string) (string, texts) {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	if t, ok := langs[l]; ok {
		return l, t
	}
	return "en", langs["en"]
}

// siteName is what the visitor knows the business by.
func siteName(name string) string {
	if strings.TrimSpace(name) == "" {
		return "us"
	}
	return name
}

// Email renders the rating request: link(score) is the URL that opens the
// rating page with that score chosen.
func Email(site, locale string, link func(score int) string) (subject, text, html string, err error) {
	code, t := lang(locale)
	name := siteName(site)
	subject = fmt.Sprintf(t.subject, name)
	type choice struct {
		Score       int
		Label, Link string
	}
	d := struct {
		Lang, Dir, Subject, Heading, Intro, Footer string
		Choices                                    []choice
	}{Lang: code, Dir: t.dir, Subject: subject, Heading: fmt.Sprintf(t.heading, name), Intro: t.intro, Footer: t.footer}
	var tb strings.Builder
	fmt.Fprintf(&tb, "%s\n\n%s\n\n", d.Heading, d.Intro)
	for s := 5; s >= 1; s-- {
		c := choice{Score: s, Label: t.scores[s-1], Link: link(s)}
		d.Choices = append(d.Choices, c)
		fmt.Fprintf(&tb, "%s %s: %s\n", strings.Repeat("★", s), c.Label, c.Link)
	}
	fmt.Fprintf(&tb, "\n%s\n", t.footer)
	var hb bytes.Buffer
	if err := emailHTML.Execute(&hb, d); err != nil {
		return "", "", "", err
	}
	return subject, tb.String(), hb.String(), nil
}

var funcs = template.FuncMap{"stars": func(n int) string { return strings.Repeat("★", n) }}

var emailHTML = template.Must(template.New("email").Funcs(funcs).Parse(`<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Subject}}</title></head>
<body dir="{{.Dir}}" style="margin:0;padding:0;background:#f6f8fa;font-family:Arial,Helvetica,sans-serif;color:#1f2328;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f8fa;"><tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="560" cellpadding="0" cellspacing="0" dir="{{.Dir}}" style="max-width:560px;width:100%;background:#ffffff;border:1px solid #d0d7de;border-radius:6px;">
<tr><td style="padding:24px 24px 8px;">
<h1 style="margin:0 0 8px;font-size:20px;">{{.Heading}}</h1>
<p style="margin:0 0 12px;font-size:14px;">{{.Intro}}</p>
</td></tr>
{{- range .Choices}}
<tr><td style="padding:4px 24px;"><a href="{{.Link}}" style="display:block;padding:10px 14px;border:1px solid #d0d7de;border-radius:6px;color:#1f2328;text-decoration:none;font-size:15px;"><span style="color:#bf8700;letter-spacing:2px;">{{stars .Score}}</span>&nbsp; {{.Label}}</a></td></tr>
{{- end}}
<tr><td style="padding:16px 24px 20px;font-size:12px;color:#57606a;">{{.Footer}}</td></tr>
</table>
</td></tr></table>
</body>
</html>
`))

// PageState is what the rating page shows.
type PageState int

const (
	PageForm     PageState = iota // choose a score, add a comment, send
	PageThanks                    // the rating was recorded
	PageInvalid                   // bad or expired link
	PageReopened                  // the conversation is open again
)

// PageData fills the rating page.
type PageData struct {
	State   PageState
	Site    string
	Locale  string
	Color   string // the site's colour, "#rrggbb"; empty for the default
	Action  string // the form's URL (path and signed query)
	Score   int    // the score chosen by the email's link, 0 for none
	Current int    // the rating already given, 0 for none
}

// Page renders the rating page.
func Page(d PageData) ([]byte, error) {
	code, t := lang(d.Locale)
	name := siteName(d.Site)
	color := d.Color
	if !isHexColor(color) {
		color = "#2563eb"
	}
	type choice struct {
		Score   int
		Label   string
		Checked bool
	}
	v := struct {
		Lang, Dir, Title, Heading, Color, Action, Comment, Submit, Message, Sub, Current string
		Form                                                                             bool
		Choices                                                                          []choice
	}{Lang: code, Dir: t.dir, Title: t.title, Heading: fmt.Sprintf(t.heading, name), Color: color, Action: d.Action,
		Comment: t.comment, Submit: t.submit}
	switch d.State {
	case PageThanks:
		v.Message, v.Sub = t.thanks, t.thanksSub
	case PageInvalid:
		v.Message = t.invalid
	case PageReopened:
		v.Message = t.reopened
	default:
		v.Form = true
		if d.Current > 0 {
			v.Current = fmt.Sprintf(t.current, d.Current)
		}
		chosen := d.Score
		if chosen < 1 || chosen > 5 {
			chosen = d.Current
		}
		for s := 5; s >= 1; s-- {
			v.Choices = append(v.Choices, choice{Score: s, Label: t.scores[s-1], Checked: s == chosen})
		}
	}
	var b bytes.Buffer
	if err := pageHTML.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

var pageHTML = template.Must(template.New("page").Funcs(funcs).Parse(`<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>
:root { color-scheme: light dark; --accent: {{.Color}}; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 24px 12px;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f6f8fa; color: #1f2328; }
main { width: 100%; max-width: 460px; background: #fff; border: 1px solid #d0d7de; border-radius: 12px; padding: 28px 24px; }
h1 { font-size: 1.25rem; margin: 0 0 16px; }
fieldset { border: 0; margin: 0 0 16px; padding: 0; display: grid; gap: 8px; }
legend { position: absolute; clip: rect(0 0 0 0); width: 1px; height: 1px; overflow: hidden; }
label.choice { display: flex; align-items: center; gap: 12px; padding: 10px 14px; border: 1px solid #d0d7de; border-radius: 8px; cursor: pointer; }
label.choice:has(input:checked) { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent); }
label.choice input { accent-color: var(--accent); }
.stars { color: #bf8700; letter-spacing: 2px; min-width: 6.5em; }
label.text { display: block; font-size: .9rem; margin-bottom: 6px; }
textarea { width: 100%; min-height: 96px; font: inherit; padding: 8px 10px; border: 1px solid #d0d7de; border-radius: 8px; background: inherit; color: inherit; }
button { margin-top: 16px; width: 100%; padding: 12px; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 0; border-radius: 8px; cursor: pointer; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.note { font-size: .9rem; color: #57606a; margin: 0 0 12px; }
.message { font-size: 1.1rem; margin: 0; }
@media (prefers-color-scheme: dark) {
  body { background: #0d1117; color: #e6edf3; }
  main { background: #161b22; border-color: #30363d; }
  label.choice, textarea { border-color: #30363d; }
  .note { color: #8d96a0; }
}
</style>
</head>
<body>
<main>
{{- if .Form}}
<h1>{{.Heading}}</h1>
{{- if .Current}}<p class="note">{{.Current}}</p>{{end}}
<form method="post" action="{{.Action}}">
<fieldset>
<legend>{{.Title}}</legend>
{{- range .Choices}}
<label class="choice"><input type="radio" name="score" value="{{.Score}}" required{{if .Checked}} checked{{end}}><span class="stars" aria-hidden="true">{{stars .Score}}</span><span>{{.Label}}</span></label>
{{- end}}
</fieldset>
<label class="text" for="comment">{{.Comment}}</label>
<textarea id="comment" name="comment" maxlength="2000" dir="auto"></textarea>
<button type="submit">{{.Submit}}</button>
</form>
{{- else}}
<p class="message" role="status">{{.Message}}</p>
{{- if .Sub}}<p class="note" style="margin-top:8px">{{.Sub}}</p>{{end}}
{{- end}}
</main>
</body>
</html>
`))
