package transcript

import "testing"

func allForms(rune) bool { return true }

// TestShapeArabic: contextual forms and the lam-alef ligature.
func TestShapeArabic(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// seen (initial), lam-alef (final ligature), meem (isolated: alef never joins forward)
		{"سلام", "\uFEB3\uFEFC\uFEE1"},
		// beh initial, teh medial? no: "بيت" = beh initial, yeh medial, teh final
		{"بيت", "\uFE91\uFEF4\uFE96"},
		// dal does not join forward: the next letter starts a new form
		{"دب", "\uFEA9\uFE8F"},
		// harakat are transparent: beh + fatha + teh still join
		{"بَت", "\uFE91\u064E\uFE96"},
		// a lone lam-alef is the isolated ligature
		{"لا", "\uFEFB"},
		// Latin and digits pass through
		{"abc 123", "abc 123"},
		// Persian peh and gaf (Presentation Forms-A)
		{"پگ", "\uFB58\uFB93"},
	} {
		if got := string(shapeArabic([]rune(c.in), allForms)); got != c.want {
			t.Errorf("shape(%q) = %+q, want %+q", c.in, got, c.want)
		}
	}
	// A form the font lacks keeps the plain letter.
	if got := string(shapeArabic([]rune("بت"), func(r rune) bool { return r != 0xFE91 })); got != "ب\uFE96" {
		t.Errorf("missing form: %+q", got)
	}
}

// TestVisualLine: the implicit bidi rules put mixed lines in display order.
func TestVisualLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		rtl  bool
		want string
	}{
		{"hello world", false, "hello world"},
		{"abc אבג def", false, "abc גבא def"},
		{"אבג abc דהו", true, "והד abc גבא"},
		// numbers stay left to right inside right-to-left text
		{"אבג 123 דהו", true, "והד 123 גבא"},
		{"אבג 123", true, "123 גבא"},
		// European digits after Arabic letters are Arabic numbers, still LTR
		{"ابت 12", true, "12 تبا"},
		// mirrored brackets in right-to-left runs
		{"אב (גד)", true, "(דג) בא"},
		// a right-to-left phrase with a number inside a left-to-right line
		{"see אבג 12 דה now", false, "see הד 12 גבא now"},
		// trailing spaces stay at the end of the line
		{"אבג ", true, " גבא"},
		// percent and currency stick to their number
		{"אב 50% גד", true, "דג 50% בא"},
		// explicit controls are dropped
		{"a\u202Eb\u202Cc", false, "abc"},
	} {
		if got := string(visualLine([]rune(c.in), c.rtl)); got != c.want {
			t.Errorf("visual(%q, rtl=%v) = %q, want %q", c.in, c.rtl, got, c.want)
		}
	}
	// Combining marks stay after their base in reversed runs (rule L3).
	if got := string(visualLine([]rune("\u05D1\u05BC\u05B8\u05D0"), true)); got != "\u05D0\u05D1\u05BC\u05B8" {
		t.Errorf("marks: %+q", got)
	}
	if !paragraphRTL([]rune("123 שלום abc")) || paragraphRTL([]rune("abc שלום")) || paragraphRTL([]rune("123")) {
		t.Error("paragraph direction")
	}
}
