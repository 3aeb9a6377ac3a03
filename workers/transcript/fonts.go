package transcript

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/image/font/sfnt"
)

// FontPaths name the TrueType files PDFs are drawn with.
type FontPaths struct {
	// Regular and Bold cover Latin, Cyrillic, Greek and Arabic (with the
	// Arabic presentation forms the shaper needs): DejaVu Sans.
	Regular, Bold string
	// CJK is the fallback for what Regular lacks: Chinese, Japanese kana,
	// CJK punctuation, full-width forms (Droid Sans Fallback).
	CJK string
}

// DefaultFontPaths are where Debian's fonts-dejavu-core and
// fonts-droid-fallback install their files (the Docker image copies them to
// the same place).
func DefaultFontPaths() FontPaths {
	return FontPaths{
		Regular: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
		Bold:    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
		CJK:     "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	}
}

// Fonts loads the PDF fonts on first use and keeps them for the life of the
// process. A failed load is not cached: installing the fonts fixes the next
// job without a restart.
type Fonts struct {
	paths FontPaths

	mu  sync.Mutex
	set *fontSet
}

// NewFonts returns fonts read from paths when first needed.
func NewFonts(paths FontPaths) *Fonts { return &Fonts{paths: paths} }

// Check loads the fonts now and reports what is missing.
func (f *Fonts) Check() error {
	_, err := f.load()
	return err
}

// fontSet is the loaded fonts: their bytes for fpdf and their parsed cmap
// for choosing a font per character.
type fontSet struct {
	regular, bold, cjk []byte
	regularFace        *sfnt.Font
	cjkFace            *sfnt.Font
}

// ErrFontsMissing wraps every font loading error.
type ErrFontsMissing struct{ Err error }

func (e *ErrFontsMissing) Error() string {
	return "PDF fonts unavailable: " + e.Err.Error() +
		" (install the Debian packages fonts-dejavu-core and fonts-droid-fallback, or configure the font paths)"
}

func (e *ErrFontsMissing) Unwrap() error { return e.Err }

func (f *Fonts) load() (*fontSet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.set != nil {
		return f.set, nil
	}
	read := func(what, path string) ([]byte, *sfnt.Font, error) {
		if path == "" {
			return nil, nil, &ErrFontsMissing{fmt.Errorf("no %s font configured", what)}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, &ErrFontsMissing{fmt.Errorf("%s font: %w", what, err)}
		}
		face, err := sfnt.Parse(b)
		if err != nil {
			return nil, nil, &ErrFontsMissing{fmt.Errorf("%s font %s is not a usable TrueType font: %w", what, path, err)}
		}
		return b, face, nil
	}
	var s fontSet
	var err error
	if s.regular, s.regularFace, err = read("regular", f.paths.Regular); err != nil {
		return nil, err
	}
	if s.bold, _, err = read("bold", f.paths.Bold); err != nil {
		return nil, err
	}
	if s.cjk, s.cjkFace, err = read("CJK fallback", f.paths.CJK); err != nil {
		return nil, err
	}
	f.set = &s
	return f.set, nil
}

// Font choices for a run of characters.
const (
	fontMain = iota // DejaVu Sans (regular or bold)
	fontCJK         // Droid Sans Fallback
)

// coverage answers which font draws a character, caching per document.
type coverage struct {
	set   *fontSet
	buf   sfnt.Buffer
	cache map[rune]int
}

func newCoverage(s *fontSet) *coverage { return &coverage{set: s, cache: map[rune]int{}} }

// has reports whether the main font has a glyph for r.
func (c *coverage) has(r rune) bool {
	g, err := c.set.regularFace.GlyphIndex(&c.buf, r)
	return err == nil && g != 0
}

// font picks the font for r: the main one when it has the glyph, else the
// CJK fallback when that has it, else the main one (which draws its
// "missing" box, so the gap is visible rather than silent).
func (c *coverage) font(r rune) int {
	if r < 0x0370 { // Latin: always the main font
		return fontMain
	}
	if f, ok := c.cache[r]; ok {
		return f
	}
	f := fontMain
	if !c.has(r) {
		if g, err := c.set.cjkFace.GlyphIndex(&c.buf, r); err == nil && g != 0 {
			f = fontCJK
		}
	}
	c.cache[r] = f
	return f
}
