package transcript

import (
	"io"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// BenchmarkPDF renders a short conversation: Latin and Cyrillic only
// (DejaVu), and with CJK (which embeds a subset of Droid Sans Fallback).
func BenchmarkPDF(b *testing.B) {
	fonts := NewFonts(DefaultFontPaths())
	if err := fonts.Check(); err != nil {
		b.Skip(err)
	}
	for _, c := range []struct {
		name string
		msgs []int
	}{{"latin", []int{0, 1}}, {"cjk", []int{0, 1, 2}}} {
		b.Run(c.name, func(b *testing.B) {
			d := sampleDoc(b)
			var msgs []*chat.Message
			for _, i := range c.msgs {
				msgs = append(msgs, d.Messages[i])
			}
			d.Messages = msgs
			b.ReportAllocs()
			for b.Loop() {
				if err := fonts.PDF(io.Discard, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
