package store_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/api/chat"
	"github.com/switchboard-chat/switchboard/api/store"
)

func TestDiskBlobs(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "blobs") // created on first Put
	b := store.NewDiskBlobs(dir)

	_, err := b.Open(ctx, "ws1/missing")
	wantCode(t, err, chat.ENOTFOUND)
	must(t, b.Delete(ctx, "ws1/missing"))

	n, err := b.Put(ctx, "ws1/2025/abc.png", strings.NewReader("hello"))
	must(t, err)
	if n != 5 {
		t.Fatalf("Put wrote %d bytes", n)
	}
	_, err = b.Put(ctx, "ws1/2025/abc.png", strings.NewReader("replaced"))
	must(t, err)
	r, err := b.Open(ctx, "ws1/2025/abc.png")
	must(t, err)
	data, err := io.ReadAll(r)
	must(t, err)
	r.Close()
	if string(data) != "replaced" {
		t.Fatalf("read %q", data)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "ws1", "2025")); len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	must(t, b.Delete(ctx, "ws1/2025/abc.png"))
	_, err = b.Open(ctx, "ws1/2025/abc.png")
	wantCode(t, err, chat.ENOTFOUND)

	// Keys cannot leave the directory, by name or through a symlink.
	must(t, os.WriteFile(filepath.Join(base, "outside"), []byte("secret"), 0o600))
	must(t, os.Symlink(filepath.Join(base, "outside"), filepath.Join(dir, "link")))
	for _, key := range []string{"", ".", "../outside", "/etc/passwd", "a/../../outside", `..\outside`, "a//b", "a/./b"} {
		if _, err := b.Put(ctx, key, strings.NewReader("x")); chat.ErrorCode(err) != chat.EINVALID {
			t.Errorf("Put(%q) = %v, want EINVALID", key, err)
		}
		if _, err := b.Open(ctx, key); chat.ErrorCode(err) != chat.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", key, err)
		}
		if err := b.Delete(ctx, key); chat.ErrorCode(err) != chat.EINVALID {
			t.Errorf("Delete(%q) = %v, want EINVALID", key, err)
		}
	}
	if r, err := b.Open(ctx, "link"); err == nil {
		data, _ := io.ReadAll(r)
		r.Close()
		t.Fatalf("symlink escaped the directory: read %q", data)
	}
	if _, err := b.Put(ctx, "link", strings.NewReader("overwrite")); err != nil {
		// Replacing the link itself is fine; writing through it is not.
		t.Logf("Put over symlink: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(base, "outside")); string(data) != "secret" {
		t.Fatalf("file outside the directory was changed: %q", data)
	}
}
