package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"lechat/model"
)

// Storage keeps the files of uploaded images under content-addressed names (see
// ValidStorageName). Putting a name that exists already may keep the old file:
// a name fixes its content.
type Storage interface {
	// Put stores the bytes of r under name.
	Put(ctx context.Context, name string, r io.Reader) error
	// Open returns the file stored under name and its size. Returns ErrNotFound.
	Open(ctx context.Context, name string) (io.ReadSeekCloser, int64, error)
}

var _ Storage = LocalStorage{}

// storageName is the form of every stored file: a shard folder (the first two hex
// digits of the address), the SHA-256 of the content in lower-case hex, and the
// extension of its type.
var storageName = regexp.MustCompile(`^([0-9a-f]{2})/([0-9a-f]{64})\.(png|jpg|gif|webp)$`)

// ValidStorageName reports whether name has the form of a stored file, such as
// "ab/ab12….png". Only such names reach a Storage, so none can leave its folder.
func ValidStorageName(name string) bool {
	m := storageName.FindStringSubmatch(name)
	return m != nil && m[1] == m[2][:2]
}

// LocalStorage keeps files in a folder of the local disk (by default
// LECHAT_DATA_DIR/uploads), one subfolder per shard. Files appear whole or not at
// all: each is written to a temporary file, synced, then renamed into place.
type LocalStorage struct {
	Dir string
}

// Put implements Storage.
func (l LocalStorage) Put(ctx context.Context, name string, r io.Reader) (err error) {
	if !ValidStorageName(name) {
		return fmt.Errorf("store %q: not a storage name", name)
	}
	dst := filepath.Join(l.Dir, filepath.FromSlash(name))
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() {
		return nil // the name is the content's hash: the same bytes are there already
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create upload folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("create upload file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, r); err != nil {
		return fmt.Errorf("write upload file: %w", err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write upload file: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync upload file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close upload file: %w", err)
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("move upload file into place: %w", err)
	}
	return nil
}

// Open implements Storage.
func (l LocalStorage) Open(_ context.Context, name string) (io.ReadSeekCloser, int64, error) {
	if !ValidStorageName(name) {
		return nil, 0, model.Errorf(model.ErrNotFound, "no such file")
	}
	f, err := os.Open(filepath.Join(l.Dir, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, model.Errorf(model.ErrNotFound, "no such file")
	} else if err != nil {
		return nil, 0, fmt.Errorf("open upload file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat upload file: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, model.Errorf(model.ErrNotFound, "no such file")
	}
	return f, st.Size(), nil
}
