package widget

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The budgets from issue 3, in gzipped bytes as the server sends them (its
// gzip middleware uses the default compression level).
const (
	// loaderBudget is widget.js, which every page of the host site pays for.
	loaderBudget = 3 * 1024
	// firstOpenBudget is everything downloaded when the window first opens:
	// widget.js, frame.html, frame.js, frame.css and, for a visitor who does
	// not read English, one language file.
	firstOpenBudget = 30 * 1024
)

// requireBuilt skips when the front end has not been built, unless
// SWITCHBOARD_E2E=1 says it must have been.
func requireBuilt(t *testing.T) {
	t.Helper()
	if Built() {
		return
	}
	msg := "the widget is not built (cd widget && npm ci && npm run build)"
	if os.Getenv("SWITCHBOARD_E2E") == "1" {
		t.Fatal(msg + " (SWITCHBOARD_E2E=1: failing instead of skipping)")
	}
	t.Skip(msg + " (set SWITCHBOARD_E2E=1 to make this a failure)")
}

func gzipped(t *testing.T, name string) (raw, gz int) {
	t.Helper()
	data, err := fs.ReadFile(FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return len(data), buf.Len()
}

// TestSizeBudgets fails the build when the widget outgrows its budgets.
func TestSizeBudgets(t *testing.T) {
	requireBuilt(t)
	total := 0
	for _, name := range []string{"widget.js", "frame.html", "frame.js", "frame.css"} {
		raw, gz := gzipped(t, name)
		t.Logf("%-11s %6d bytes, %5d gzipped", name, raw, gz)
		total += gz
		if name == "widget.js" && gz > loaderBudget {
			t.Errorf("widget.js is %d bytes gzipped; the budget is %d", gz, loaderBudget)
		}
	}
	// The largest language file is what a visitor reading that language adds.
	langs, err := fs.Glob(FS(), "lang-*.json")
	if err != nil {
		t.Fatal(err)
	}
	largest, largestName := 0, "(none)"
	for _, name := range langs {
		if _, gz := gzipped(t, name); gz > largest {
			largest, largestName = gz, name
		}
	}
	t.Logf("first open: %d bytes gzipped in English, %d with the largest language file (%s, %d); budget %d",
		total, total+largest, largestName, largest, firstOpenBudget)
	if total+largest > firstOpenBudget {
		t.Errorf("the first open downloads %d bytes gzipped (with %s); the budget is %d", total+largest, largestName, firstOpenBudget)
	}
}

// TestLanguages checks that every language has exactly English's keys, the
// same {0} placeholders, and is built into dist/ (English is inside frame.js).
func TestLanguages(t *testing.T) {
	read := func(path string) map[string]string {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return m
	}
	en := read(filepath.Join("src", "lang", "en.json"))
	files, err := filepath.Glob(filepath.Join("src", "lang", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Errorf("%d languages; the issue asks for English and at least five more", len(files))
	}
	rtl := false
	for _, f := range files {
		lang := strings.TrimSuffix(filepath.Base(f), ".json")
		rtl = rtl || slices.Contains([]string{"ar", "he", "fa", "ur"}, lang)
		m := read(f)
		for k, v := range en {
			got, ok := m[k]
			if !ok || strings.TrimSpace(got) == "" {
				t.Errorf("%s: %q is missing", lang, k)
				continue
			}
			for _, ph := range []string{"{0}", "{1}"} {
				if strings.Contains(v, ph) != strings.Contains(got, ph) {
					t.Errorf("%s: %q must use the placeholders of English (%q), has %q", lang, k, v, got)
				}
			}
		}
		for k := range m {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: %q is not an English key", lang, k)
			}
		}
		if lang != "en" && Built() {
			if _, err := fs.Stat(FS(), "lang-"+lang+".json"); err != nil {
				t.Errorf("%s is not in dist/ (npm run build): %v", lang, err)
			}
		}
	}
	if !rtl {
		t.Error("no right-to-left language")
	}
}
