package store

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/switchboard-chat/switchboard/api/chat"
)

// DiskBlobs keeps attachment bytes as files under one directory. Keys are
// slash-separated relative paths ("ws1/2025/abc"); every access goes through
// an os.Root, so no key, symlink or ".." can reach outside the directory.
type DiskBlobs struct {
	dir string
}

var _ chat.BlobStorage = (*DiskBlobs)(nil)

// NewDiskBlobs returns a BlobStorage rooted at dir, which is created on the
// first Put.
func NewDiskBlobs(dir string) chat.BlobStorage { return &DiskBlobs{dir: dir} }

// checkKey rejects keys that are not plain relative paths. os.Root would
// refuse an escape anyway; this gives the caller a clear EINVALID instead.
func checkKey(key string) error {
	if key == "" || len(key) > 512 || strings.Contains(key, `\`) || !fs.ValidPath(key) || key == "." {
		return invalid("invalid blob key %q", key)
	}
	return nil
}

func (b *DiskBlobs) root(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(b.dir, 0o700); err != nil {
			return nil, err
		}
	}
	return os.OpenRoot(b.dir)
}

// Put writes r under key, replacing any previous blob, and returns the number
// of bytes written. The bytes go to a temporary file renamed into place, so a
// reader never sees half a blob.
func (b *DiskBlobs) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	root, err := b.root(true)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	if dir := path.Dir(key); dir != "." {
		if err := root.MkdirAll(dir, 0o700); err != nil {
			return 0, err
		}
	}
	tmp := key + ".tmp-" + rand.Text()
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, contextReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, key)
	}
	if err != nil {
		root.Remove(tmp)
		return 0, err
	}
	return n, nil
}

// Open returns the blob's bytes; a missing key is ENOTFOUND.
func (b *DiskBlobs) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	root, err := b.root(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound("blob")
	} else if err != nil {
		return nil, err
	}
	defer root.Close() // files opened through a Root outlive it
	f, err := root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound("blob")
	}
	return f, err
}

// Delete removes the blob; a missing key is not an error.
func (b *DiskBlobs) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	root, err := b.root(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// contextReader stops a long copy when ctx is cancelled.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
