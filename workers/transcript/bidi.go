package transcript

import (
	"golang.org/x/text/unicode/bidi"
)

// The Unicode bidirectional algorithm (UAX #9), for the PDF: fpdf draws
// left to right, so each line is put in visual order before drawing.
// Character classes come from golang.org/x/text/unicode/bidi; its own
// reordering is unfinished (its Ordering lists runs in logical order and
// drops embedding levels), so the resolution below implements the implicit
// rules: W1-W7, N1-N2, I1-I2 and L1-L2, with L4 mirroring of paired
// punctuation and combining marks kept after their base (L3). Explicit
// embeddings, overrides and isolates (LRE, RLO, LRI ... PDI) are dropped
// rather than honoured, and brackets are not paired (N0): both are rare in
// chat messages.

// Resolved types used below, on top of bidi.Class.
type bclass = bidi.Class

func classOf(r rune) bclass {
	p, _ := bidi.LookupRune(r)
	return p.Class()
}

// paragraphRTL reports whether a paragraph's base direction is right to
// left: its first strong character is R or AL (rules P2, P3).
func paragraphRTL(rs []rune) bool {
	for _, r := range rs {
		switch classOf(r) {
		case bidi.L:
			return false
		case bidi.R, bidi.AL:
			return true
		}
	}
	return false
}

// explicitControl reports characters this implementation drops.
func explicitControl(c bclass) bool {
	switch c {
	case bidi.LRE, bidi.RLE, bidi.LRO, bidi.RLO, bidi.PDF, bidi.LRI, bidi.RLI, bidi.FSI, bidi.PDI:
		return true
	}
	return false
}

// mirror maps paired punctuation to its mirror image (rule L4).
var mirror = map[rune]rune{
	'(': ')', ')': '(', '[': ']', ']': '[', '{': '}', '}': '{', '<': '>', '>': '<',
	'«': '»', '»': '«', '‹': '›', '›': '‹', '⁅': '⁆', '⁆': '⁅', '≤': '≥', '≥': '≤',
	'（': '）', '）': '（', '［': '］', '］': '［', '｛': '｝', '｝': '｛', '「': '」', '」': '「',
}

// visualLine returns a line's characters in display order, left to right,
// for a paragraph whose base direction is rtl. Invisible directional
// controls are removed.
func visualLine(line []rune, rtl bool) []rune {
	rs := make([]rune, 0, len(line))
	for _, r := range line {
		if c := classOf(r); !explicitControl(c) && c != bidi.BN {
			rs = append(rs, r)
		}
	}
	n := len(rs)
	if n == 0 {
		return rs
	}
	base := 0
	sos := bidi.L
	if rtl {
		base, sos = 1, bidi.R
	}
	orig := make([]bclass, n)
	t := make([]bclass, n)
	for i, r := range rs {
		orig[i] = classOf(r)
		t[i] = orig[i]
	}
	// W1: a combining mark takes the type of what precedes it.
	for i := range t {
		if t[i] == bidi.NSM {
			if i == 0 {
				t[i] = sos
			} else {
				t[i] = t[i-1]
			}
		}
	}
	// W2: European digits after Arabic letters are Arabic numbers.
	// W3: AL becomes R.
	last := sos
	for i := range t {
		switch t[i] {
		case bidi.L, bidi.R, bidi.AL:
			last = t[i]
		case bidi.EN:
			if last == bidi.AL {
				t[i] = bidi.AN
			}
		}
	}
	for i := range t {
		if t[i] == bidi.AL {
			t[i] = bidi.R
		}
	}
	// W4: one separator between two numbers of the same kind joins them.
	for i := 1; i+1 < n; i++ {
		switch {
		case t[i] == bidi.ES && t[i-1] == bidi.EN && t[i+1] == bidi.EN:
			t[i] = bidi.EN
		case t[i] == bidi.CS && t[i-1] == bidi.EN && t[i+1] == bidi.EN:
			t[i] = bidi.EN
		case t[i] == bidi.CS && t[i-1] == bidi.AN && t[i+1] == bidi.AN:
			t[i] = bidi.AN
		}
	}
	// W5: terminators (%, $, ...) next to European numbers are numbers.
	for i := 0; i < n; i++ {
		if t[i] != bidi.ET {
			continue
		}
		j := i
		for j < n && t[j] == bidi.ET {
			j++
		}
		if (i > 0 && t[i-1] == bidi.EN) || (j < n && t[j] == bidi.EN) {
			for k := i; k < j; k++ {
				t[k] = bidi.EN
			}
		}
		i = j - 1
	}
	// W6: remaining separators and terminators are neutral.
	for i := range t {
		switch t[i] {
		case bidi.ES, bidi.ET, bidi.CS:
			t[i] = bidi.ON
		}
	}
	// W7: European numbers in left-to-right context are L.
	last = sos
	for i := range t {
		switch t[i] {
		case bidi.L, bidi.R:
			last = t[i]
		case bidi.EN:
			if last == bidi.L {
				t[i] = bidi.L
			}
		}
	}
	// N1, N2: neutrals between two strong types of the same direction take
	// it; the others take the paragraph's direction. Numbers count as R.
	strong := func(c bclass) (bclass, bool) {
		switch c {
		case bidi.L:
			return bidi.L, true
		case bidi.R, bidi.EN, bidi.AN:
			return bidi.R, true
		}
		return 0, false
	}
	for i := 0; i < n; i++ {
		if _, ok := strong(t[i]); ok {
			continue
		}
		j := i
		for j < n {
			if _, ok := strong(t[j]); ok {
				break
			}
			j++
		}
		before, after := sos, sos // sos and eos are the paragraph's direction
		if i > 0 {
			before, _ = strong(t[i-1])
		}
		if j < n {
			after, _ = strong(t[j])
		}
		dir := sos
		if before == after {
			dir = before
		}
		for k := i; k < j; k++ {
			t[k] = dir
		}
		i = j - 1
	}
	// I1, I2: embedding levels.
	levels := make([]int, n)
	for i := range t {
		switch {
		case base == 0 && t[i] == bidi.R:
			levels[i] = 1
		case base == 0 && (t[i] == bidi.AN || t[i] == bidi.EN):
			levels[i] = 2
		case base == 1 && (t[i] == bidi.L || t[i] == bidi.EN || t[i] == bidi.AN):
			levels[i] = 2
		default:
			levels[i] = base
		}
	}
	// L1: segment separators and trailing whitespace go back to the
	// paragraph level.
	for i := n - 1; i >= 0 && (orig[i] == bidi.WS || orig[i] == bidi.S); i-- {
		levels[i] = base
	}
	for i := range orig {
		if orig[i] == bidi.S {
			levels[i] = base
		}
	}
	// L2: from the highest level down to the lowest odd one, reverse every
	// run at that level or higher.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	maxLevel, minOdd := 0, 99
	for _, l := range levels {
		maxLevel = max(maxLevel, l)
		if l%2 == 1 {
			minOdd = min(minOdd, l)
		}
	}
	for lvl := maxLevel; lvl >= minOdd && lvl > 0; lvl-- {
		for i := 0; i < n; i++ {
			if levels[order[i]] < lvl {
				continue
			}
			j := i
			for j < n && levels[order[j]] >= lvl {
				j++
			}
			for a, b := i, j-1; a < b; a, b = a+1, b-1 {
				order[a], order[b] = order[b], order[a]
			}
			i = j
		}
	}
	out := make([]rune, n)
	for i, k := range order {
		r := rs[k]
		if levels[k]%2 == 1 {
			if m, ok := mirror[r]; ok {
				r = m
			}
		}
		out[i] = r
	}
	// L3: in reversed runs, combining marks now precede their base; put
	// them back after it, where the font expects to draw them.
	for i := 0; i < n; i++ {
		if levels[order[i]]%2 == 0 || orig[order[i]] != bidi.NSM {
			continue
		}
		j := i
		for j < n && levels[order[j]]%2 == 1 && orig[order[j]] == bidi.NSM {
			j++
		}
		if j < n && levels[order[j]]%2 == 1 {
			// marks reversed, then their base: reverse the lot
			for a, b := i, j; a < b; a, b = a+1, b-1 {
				out[a], out[b] = out[b], out[a]
			}
		}
		i = j
	}
	return out
}
