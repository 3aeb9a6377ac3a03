package transcript

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"codeberg.org/go-pdf/fpdf"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// Page geometry, in millimetres.
const (
	pageMargin   = 15.0
	bottomMargin = 15.0
	labelWidth   = 32.0 // the header's label column
	indent       = 4.0  // message bodies, right of the colour bar
)

// Font families registered with fpdf.
const (
	famMain = "dejavu"
	famCJK  = "droidfallback"
)

type rgb [3]int

var (
	colText    = rgb{31, 35, 40}
	colMuted   = rgb{87, 96, 106}
	colVisitor = rgb{9, 105, 218}
	colAgent   = rgb{26, 127, 55}
	colNote    = rgb{191, 135, 0}
	colEvent   = rgb{208, 215, 222}
)

// PDF writes the conversation as a PDF with the fonts embedded (subset).
// Each character is drawn with the first font that has it (DejaVu Sans,
// then Droid Sans Fallback for CJK); Arabic is shaped into presentation
// forms and every line is put in visual order (see bidi.go, arabic.go).
func (f *Fonts) PDF(w io.Writer, d *Doc) (err error) {
	set, err := f.load()
	if err != nil {
		return err
	}
	// fpdf reports most problems through Error(), but a malformed font or
	// an unexpected character can still panic deep inside it.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("transcript: render PDF: %v", r)
		}
	}()
	p := newPDF(set, d)
	p.document()
	if err := p.pdf.Error(); err != nil {
		return fmt.Errorf("transcript: render PDF: %w", err)
	}
	return p.pdf.Output(w)
}

type widthKey struct {
	font int
	bold bool
	size float64
	r    rune
}

// pdfDoc is one PDF being laid out.
type pdfDoc struct {
	d        *Doc
	pdf      *fpdf.Fpdf
	set      *fontSet
	cov      *coverage
	cjkAdded bool
	widths   map[widthKey]float64
	// current text style
	size  float64
	bold  bool
	color rgb
	// left edge and width of the text column
	x, width float64
	// bar, when set, is painted left of each line drawn
	bar *rgb
}

func newPDF(set *fontSet, d *Doc) *pdfDoc {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(pageMargin, pageMargin, pageMargin)
	pdf.SetAutoPageBreak(false, bottomMargin) // lines break pages themselves
	pdf.AliasNbPages("{nb}")
	pdf.AddUTF8FontFromBytes(famMain, "", set.regular)
	pdf.AddUTF8FontFromBytes(famMain, "B", set.bold)
	pdf.SetTitle(d.title(), true)
	pdf.SetCreator("Switchboard", true)
	pdf.SetCreationDate(d.generatedAt())
	pdf.SetModificationDate(d.generatedAt())
	pageW, _ := pdf.GetPageSize()
	p := &pdfDoc{d: d, pdf: pdf, set: set, cov: newCoverage(set), widths: map[widthKey]float64{},
		x: pageMargin, width: pageW - 2*pageMargin}
	id := d.Conversation.ID
	pdf.SetFooterFunc(func() {
		_, h := pdf.GetPageSize()
		pdf.SetFont(famMain, "", 8)
		pdf.SetTextColor(colMuted[0], colMuted[1], colMuted[2])
		label := fmt.Sprintf("Conversation #%d · page %d/{nb}", id, pdf.PageNo())
		pdf.Text(pageMargin, h-bottomMargin/2, label)
	})
	return p
}

// document lays out the whole transcript.
func (p *pdfDoc) document() {
	p.pdf.AddPage()
	// Title.
	p.style(15, true, colText)
	p.paragraph(p.d.title(), p.x, p.width, 8)
	p.space(2)
	// Facts: label column, then the value wrapped beside it.
	for _, f := range p.d.headerFields() {
		p.ensure(5)
		page, y := p.pdf.PageNo(), p.pdf.GetY()
		p.style(9, false, colText)
		p.paragraph(oneLine(f.Value), p.x+labelWidth, p.width-labelWidth, 4.5)
		// The label: one line beside the value's first line.
		endPage, endY := p.pdf.PageNo(), p.pdf.GetY()
		p.pdf.SetPage(page)
		p.pdf.SetY(y)
		p.style(9, true, colMuted)
		label := []rune(oneLine(f.Label))
		for len(label) > 1 && p.runesWidth(label) > labelWidth-2 {
			label = label[:len(label)-1]
		}
		p.drawLine(visualLine(shapeArabic(label, p.cov.has), false), p.x, labelWidth-2, 4.5, false)
		p.pdf.SetPage(endPage)
		p.pdf.SetY(endY)
	}
	p.space(3)
	p.pdf.SetDrawColor(colEvent[0], colEvent[1], colEvent[2])
	p.pdf.Line(p.x, p.pdf.GetY(), p.x+p.width, p.pdf.GetY())
	p.space(4)

	msgs := p.d.messages()
	if len(msgs) == 0 {
		p.style(10, false, colMuted)
		p.paragraph("No messages.", p.x, p.width, 5)
	}
	for _, m := range msgs {
		p.message(m)
	}
}

// message draws one message: a heading (time, author, kind), the body and
// its attachments' names, with a coloured bar down its left edge.
func (p *pdfDoc) message(m *chat.Message) {
	bar := colVisitor
	switch {
	case m.Kind == chat.KindNote:
		bar = colNote
	case m.Kind == chat.KindEvent:
		bar = colEvent
	case m.AuthorType == chat.AuthorAgent || m.AuthorType == chat.AuthorBot:
		bar = colAgent
	case m.AuthorType == chat.AuthorSystem:
		bar = colEvent
	}
	x, width := p.x+indent, p.width-indent
	p.ensure(10) // keep the heading with the first line of the body
	if m.Kind == chat.KindEvent || m.AuthorType == chat.AuthorSystem {
		p.style(8.5, false, colMuted)
		p.barred(bar, func() { p.paragraph(p.d.stamp(m.CreatedAt)+" · "+strings.TrimSpace(m.Body), x, width, 4.5) })
		p.space(2.5)
		return
	}
	head := p.d.stamp(m.CreatedAt) + " · " + author(m)
	if l := kindLabel(m); l != "" {
		head += " · " + strings.ToUpper(l)
	}
	p.barred(bar, func() {
		p.style(8.5, true, colMuted)
		p.paragraph(head, x, width, 4.5)
		if body := strings.TrimRight(m.Body, "\n"); body != "" {
			p.style(10, false, colText)
			p.paragraph(body, x, width, 5)
		}
		for _, a := range m.Attachments {
			p.style(9, false, colMuted)
			p.paragraph("Attachment: "+oneLine(a.Name)+" ("+HumanSize(a.Size)+")", x, width, 4.5)
		}
	})
	p.space(3)
}

// barred runs draw with a coloured bar left of every line it draws.
func (p *pdfDoc) barred(c rgb, draw func()) {
	p.bar = &c
	defer func() { p.bar = nil }()
	draw()
}

func (p *pdfDoc) style(size float64, bold bool, c rgb) {
	p.size, p.bold, p.color = size, bold, c
	p.pdf.SetTextColor(c[0], c[1], c[2])
}

func (p *pdfDoc) space(h float64) { p.pdf.SetY(p.pdf.GetY() + h) }

// ensure starts a new page unless h millimetres are left on this one.
func (p *pdfDoc) ensure(h float64) {
	_, pageH := p.pdf.GetPageSize()
	if p.pdf.GetY()+h > pageH-bottomMargin {
		p.pdf.AddPage()
		p.pdf.SetY(pageMargin)
	}
}

// setFont selects the font for a run in the current style. The CJK font has
// no bold; it is embedded only in documents that need it.
func (p *pdfDoc) setFont(font int) {
	if font == fontCJK {
		if !p.cjkAdded {
			p.pdf.AddUTF8FontFromBytes(famCJK, "", p.set.cjk)
			p.cjkAdded = true
		}
		p.pdf.SetFont(famCJK, "", p.size)
		return
	}
	style := ""
	if p.bold {
		style = "B"
	}
	p.pdf.SetFont(famMain, style, p.size)
}

// runeWidth measures one character in the current style.
func (p *pdfDoc) runeWidth(r rune) float64 {
	font := p.cov.font(r)
	k := widthKey{font, p.bold && font == fontMain, p.size, r}
	if w, ok := p.widths[k]; ok {
		return w
	}
	p.setFont(font)
	w := p.pdf.GetStringWidth(string(r))
	p.widths[k] = w
	return w
}

func (p *pdfDoc) runesWidth(rs []rune) float64 {
	w := 0.0
	for _, r := range rs {
		w += p.runeWidth(r)
	}
	return w
}

// breakable reports whether a line may break before or after r without a
// space: ideographs, kana and hangul.
func breakable(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF)
}

// paragraph draws text wrapped to width from x, one line every lh
// millimetres, starting at the current y. Each source line is its own
// bidi paragraph: right-to-left ones are right-aligned.
func (p *pdfDoc) paragraph(text string, x, width, lh float64) {
	for _, src := range strings.Split(text, "\n") {
		rs := []rune(strings.ReplaceAll(strings.TrimRight(src, "\r"), "\t", "    "))
		rtl := paragraphRTL(rs)
		rs = shapeArabic(rs, p.cov.has)
		lines := p.wrap(rs, width)
		if len(lines) == 0 {
			lines = [][]rune{nil}
		}
		for _, line := range lines {
			p.ensure(lh)
			p.drawLine(visualLine(line, rtl), x, width, lh, rtl)
		}
	}
}

// wrap breaks a logical line into lines no wider than width: at spaces,
// around CJK characters, and inside a word only when the word alone is too
// wide. Spaces at a break are dropped.
func (p *pdfDoc) wrap(rs []rune, width float64) [][]rune {
	var lines [][]rune
	start, lastBreak := 0, -1
	w := 0.0
	for i := 0; i < len(rs); {
		r := rs[i]
		if i > start && (r == ' ' || rs[i-1] == ' ' || breakable(r) || breakable(rs[i-1])) {
			lastBreak = i // the line may end before rs[i]
		}
		cw := p.runeWidth(r)
		if w+cw > width && i > start && r != ' ' {
			end := i
			if lastBreak > start {
				end = lastBreak
			}
			lines = append(lines, trimSpaces(rs[start:end]))
			for end < len(rs) && rs[end] == ' ' {
				end++
			}
			start, lastBreak, w, i = end, -1, 0, end
			continue
		}
		w += cw
		i++
	}
	if start < len(rs) {
		lines = append(lines, trimSpaces(rs[start:]))
	}
	return lines
}

func trimSpaces(rs []rune) []rune {
	for len(rs) > 0 && rs[len(rs)-1] == ' ' {
		rs = rs[:len(rs)-1]
	}
	return rs
}

// drawLine draws characters already in visual order, switching font per
// run, and moves to the next line.
func (p *pdfDoc) drawLine(vis []rune, x, width, lh float64, rtl bool) {
	y := p.pdf.GetY()
	if p.bar != nil {
		p.pdf.SetFillColor(p.bar[0], p.bar[1], p.bar[2])
		p.pdf.Rect(p.x, y, 1, lh, "F")
	}
	if len(vis) > 0 {
		cx := x
		if rtl {
			cx = x + width - p.runesWidth(vis)
		}
		baseline := y + lh/2 + p.size*0.3528*0.35 // font size in mm, centred
		for i := 0; i < len(vis); {
			font := p.cov.font(vis[i])
			j := i + 1
			for j < len(vis) && p.cov.font(vis[j]) == font {
				j++
			}
			run := vis[i:j]
			p.setFont(font)
			p.pdf.SetTextColor(p.color[0], p.color[1], p.color[2])
			p.pdf.Text(cx, baseline, string(run))
			cx += p.runesWidth(run)
			i = j
		}
	}
	p.pdf.SetY(y + lh)
}
