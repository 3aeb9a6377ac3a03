package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
)

func render(t *testing.T, format string, d *Doc) string {
	t.Helper()
	var b bytes.Buffer
	r := &Renderer{Fonts: NewFonts(DefaultFontPaths())}
	if err := r.Render(&b, format, d); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return b.String()
}

// TestTextHTMLJSON: every format shows the messages in the reader's time
// zone with attachments' names, leaves notes out unless asked, and the HTML
// escapes what people typed.
func TestTextHTMLJSON(t *testing.T) {
	d := sampleDoc(t)
	for _, format := range []string{chat.FormatText, chat.FormatHTML, chat.FormatJSON} {
		out := render(t, format, d)
		for _, want := range []string{"Здравствуйте", "Γειά σου κόσμε", "我的订单还没有到", "квитанция.pdf", "مرحبا بكم"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q missing", format, want)
			}
		}
		if strings.Contains(out, "check the refund") {
			t.Errorf("%s: a note is shown without include_notes", format)
		}
		d.IncludeNotes = true
		if out := render(t, format, d); !strings.Contains(out, "check the refund") {
			t.Errorf("%s: the note is missing with include_notes", format)
		}
		d.IncludeNotes = false
	}
	// 13:05 UTC is 14:05 in Paris (CET).
	if out := render(t, chat.FormatText, d); !strings.Contains(out, "[2025-03-04 14:05:00] Анна (visitor):") || !strings.Contains(out, "Times in: Europe/Paris") {
		t.Errorf("text not in the reader's zone:\n%s", out)
	}
	d.IncludeNotes = true
	html := render(t, chat.FormatHTML, d)
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("HTML does not escape message bodies")
	}
	if strings.Contains(html, "Shop <Example>") || !strings.Contains(html, "Shop &lt;Example&gt;") {
		t.Errorf("HTML does not escape the site name")
	}
	for _, want := range []string{"@media print", `dir="auto"`, `<time datetime="2025-03-04T14:05:00&#43;01:00">`, "Content-Security-Policy"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	var doc struct {
		Timezone string `json:"timezone"`
		Site     struct {
			Name string `json:"name"`
		} `json:"site"`
		Messages []struct {
			CreatedAt string `json:"created_at"`
			Private   bool   `json:"private"`
			Body      string `json:"body"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(render(t, chat.FormatJSON, d)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Timezone != "Europe/Paris" || doc.Site.Name != "Shop <Example>" || len(doc.Messages) != 7 ||
		doc.Messages[0].CreatedAt != "2025-03-04T14:05:00+01:00" || !doc.Messages[3].Private {
		t.Errorf("JSON: %+v", doc)
	}
}

// pdfText extracts a PDF's text with poppler's pdftotext, or skips.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("SWITCHBOARD_E2E") != "" {
			t.Fatal("pdftotext (Debian poppler-utils) is needed to check PDF text")
		}
		t.Skip("pdftotext not installed (Debian poppler-utils)")
	}
	path := filepath.Join(t.TempDir(), "t.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestPDFScripts: a real PDF whose text layer holds Latin, Cyrillic, Greek
// and CJK, with the fonts embedded; the CJK font only when needed.
func TestPDFScripts(t *testing.T) {
	d := sampleDoc(t)
	d.IncludeNotes = true
	pdf := []byte(render(t, chat.FormatPDF, d))
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 20)])
	}
	if !bytes.Contains(pdf, []byte("/FontFile2")) || !bytes.Contains(pdf, []byte("droidfallback")) {
		t.Error("fonts are not embedded")
	}
	text := pdfText(t, pdf)
	for _, want := range []string{
		"Conversation #42", "Здравствуйте! У меня вопрос по счёту №123.", "Γειά σου κόσμε!",
		"我的订单还没有到。请帮我查一下。", "日本語のテキストもあります。", "한국어 문장도 있습니다.", "Attachment: квитанция.pdf (120.6 KB)",
		"PRIVATE NOTE", "2025-03-04 14:05:00", "Europe/Paris",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
	// Without CJK text, the 4 MB fallback font is not embedded.
	latin := sampleDoc(t)
	latin.Messages = latin.Messages[:2]
	if pdf := render(t, chat.FormatPDF, latin); strings.Contains(pdf, "droidfallback") {
		t.Error("the CJK font is embedded in a document without CJK text")
	}
}

// TestPDFArabic: Arabic is shaped into presentation forms and laid out
// right to left; the text layer holds the shaped letters.
func TestPDFArabic(t *testing.T) {
	d := sampleDoc(t)
	d.Messages = []*chat.Message{{ID: 1, Seq: 1, AuthorType: chat.AuthorVisitor, Kind: chat.KindText, Body: "السلام عليكم", CreatedAt: d.Conversation.CreatedAt}}
	text := pdfText(t, []byte(render(t, chat.FormatPDF, d)))
	// Presentation forms (initial, medial, final; the lam-alef ligature),
	// which pdftotext puts back in reading order.
	for _, want := range []string{"ﺍﻟﺴﻼﻡ", "ﻋﻠﻴﻜﻢ"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
}

// TestPDFWithoutFonts: missing font files fail loudly, with what to install.
func TestPDFWithoutFonts(t *testing.T) {
	f := NewFonts(FontPaths{Regular: "/nonexistent/DejaVuSans.ttf", Bold: "/nonexistent/b.ttf", CJK: "/nonexistent/c.ttf"})
	err := f.PDF(&bytes.Buffer{}, sampleDoc(t))
	var missing *ErrFontsMissing
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "fonts-dejavu-core") || !strings.Contains(err.Error(), "/nonexistent/DejaVuSans.ttf") {
		t.Fatalf("got %v", err)
	}
	if err := (&Renderer{}).Render(&bytes.Buffer{}, chat.FormatPDF, sampleDoc(t)); err == nil {
		t.Fatal("PDF rendered without fonts")
	}
}

// TestLongConversationPDF: many messages flow over pages, with page numbers.
func TestLongConversationPDF(t *testing.T) {
	d := sampleDoc(t)
	base := d.Messages[6]
	for i := 0; i < 60; i++ {
		m := *base
		m.ID, m.Seq = int64(100+i), int64(100+i)
		d.Messages = append(d.Messages, &m)
	}
	text := pdfText(t, []byte(render(t, chat.FormatPDF, d)))
	if !strings.Contains(text, "page 1/") || strings.Count(text, "Conversation #42 · page") < 5 {
		t.Errorf("expected several numbered pages:\n%.2000s", text)
	}
}
