package transcript

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// Text writes the conversation as plain text: a header of facts, then one
// block per message with its time, author and attachments' names.
func Text(w io.Writer, d *Doc) error {
	bw := bufio.NewWriter(w)
	title := d.title()
	fmt.Fprintln(bw, title)
	fmt.Fprintln(bw, strings.Repeat("=", min(len([]rune(title)), 72)))
	for _, f := range d.headerFields() {
		fmt.Fprintf(bw, "%s: %s\n", f.Label, oneLine(f.Value))
	}
	for _, m := range d.messages() {
		fmt.Fprintln(bw)
		head := fmt.Sprintf("[%s] %s", d.stamp(m.CreatedAt), author(m))
		if l := kindLabel(m); l != "" {
			head += " — " + l
		}
		fmt.Fprintln(bw, head+":")
		if body := strings.TrimRight(m.Body, "\n"); body != "" {
			for _, line := range strings.Split(body, "\n") {
				fmt.Fprintln(bw, "    "+strings.TrimRight(line, "\r"))
			}
		}
		for _, a := range m.Attachments {
			fmt.Fprintf(bw, "    Attachment: %s (%s)\n", oneLine(a.Name), HumanSize(a.Size))
		}
	}
	return bw.Flush()
}

// oneLine keeps a value on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
