// Package state is a container's state on disk: its directory <root>/<id>,
// the lock on it, the records in it (state.json, resources.json) and their
// crash-safe writes (docs/crash-safety.md). store.go is the directory and
// its writes; records.go what the records hold and how they are read back.
// Package libcontainer acts on what they say.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// Files in a container's state directory <root>/<id>.
const (
	File          = "state.json"     // State, rewritten atomically
	ConfigFile    = "config.json"    // the spec the container was created from
	FifoFile      = "exec.fifo"      // exists from create until start
	ResourcesFile = "resources.json" // what create made on the host (Records)
)

// ValidateID refuses ids that could name anything but one directory under
// the state root.
func ValidateID(id string) error {
	if id == "" {
		return errors.New("container id cannot be empty")
	}
	if id == "." || id == ".." || !validIDChars(id) {
		return fmt.Errorf("invalid container id %q: only [A-Za-z0-9_.+-] allowed, not . or ..", id)
	}
	if len(id) > 1024 {
		return fmt.Errorf("invalid container id: longer than 1024 bytes")
	}
	return nil
}

// validIDChars: only [A-Za-z0-9_.+-] (a hand-written check: a regexp
// compiled at package init costs every teu command its start-up).
func validIDChars(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_' || c == '.' || c == '+' || c == '-':
		default:
			return false
		}
	}
	return true
}

// Dir is a locked container state directory.
type Dir struct {
	path string
	fd   int // O_DIRECTORY, flock'ed exclusively while we act on the container
}

// ErrNotExist reports a container that does not exist.
var ErrNotExist = errors.New("container does not exist")

// NotExist is ErrNotExist naming the container id.
func NotExist(id string) error { return notExist{id} }

type notExist struct{ id string }

func (e notExist) Error() string        { return "container " + e.id + " does not exist" }
func (e notExist) Is(target error) bool { return target == ErrNotExist }

// ErrExist reports a container id already in use.
var ErrExist = errors.New("container with given ID already exists")

func ensureRoot(root string) error {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("create state root %s: %w%s", root, err, rootHint(err))
	}
	// The XDG base directory spec lets the session clean files out of
	// $XDG_RUNTIME_DIR unless they are touched every 6 hours or sticky:
	// a rootless user's containers outlive that.
	if xdg := os.Getenv("XDG_RUNTIME_DIR"); xdg != "" && os.Geteuid() != 0 &&
		strings.HasPrefix(root, filepath.Clean(xdg)+"/") {
		if err := os.Chmod(root, 0o700|os.ModeSticky); err != nil {
			return fmt.Errorf("make state root %s sticky: %w", root, err)
		}
	}
	return nil
}

// rootHint is what to do about a state root the caller may not write.
func rootHint(err error) string {
	if !errors.Is(err, os.ErrPermission) || os.Geteuid() == 0 {
		return ""
	}
	return " (not root: pass --root DIR, a directory you may write, or set XDG_RUNTIME_DIR)"
}

// New creates and locks <root>/<id>; it fails with ErrExist if the id is
// taken.
func New(root, id string) (*Dir, error) {
	if err := ensureRoot(root); err != nil {
		return nil, err
	}
	p := filepath.Join(root, id)
	if err := os.Mkdir(p, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, ErrExist
		}
		return nil, fmt.Errorf("create state dir: %w%s", err, rootHint(err))
	}
	d, err := lockDir(p)
	if err != nil {
		os.Remove(p)
		return nil, err
	}
	return d, nil
}

// Open locks an existing <root>/<id>, waiting for any other teu process
// acting on the same container.
func Open(root, id string) (*Dir, error) {
	p := filepath.Join(root, id)
	d, err := lockDir(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, notExist{id}
	}
	return d, err
}

func lockDir(p string) (*Dir, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	if err := system.Retry(func() error { return unix.Flock(fd, unix.LOCK_EX) }); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	// A concurrent delete may have removed the directory while we waited.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Nlink == 0 {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrNotExist}
	}
	return &Dir{path: p, fd: fd}, nil
}

// Path is the directory's path.
func (d *Dir) Path() string { return d.path }

// Unlock releases the lock taken by New or Open.
func (d *Dir) Unlock() {
	if d.fd >= 0 {
		unix.Close(d.fd)
		d.fd = -1
	}
}

// Remove deletes the directory; the lock goes with it. resources.json goes
// first: a delete killed half-way leaves a state.json that says stopped,
// not one that looks damaged (Read).
func (d *Dir) Remove() error {
	if err := os.Remove(d.File(ResourcesFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	err := os.RemoveAll(d.path)
	d.Unlock()
	return err
}

// LockedByOther reports whether another process holds the lock on the
// state dir p: a teu acting on the container, such as a create in
// progress. Never blocks.
func LockedByOther(p string) bool {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB) == unix.EWOULDBLOCK
}

// File is the path of the file name in the directory.
func (d *Dir) File(name string) string { return filepath.Join(d.path, name) }

// JSONFile is one file of a save: its name in the state dir and its value.
type JSONFile struct {
	Name  string
	Value any // json.RawMessage is stored as it is, anything else encoded
}

// Save writes files into the state dir in order, each atomically and
// durably (Put). A reader, or a teu killed half-way, sees each file whole,
// old or new, never torn; after a power loss too.
//
// The directory is not fsync'd: that would only make the renames durable,
// and nothing a state names outlives a reboot. After a power loss each
// file is absent, its old version or its new one, in any mix of them, and
// each such mix is a state that delete --force removes (docs/crash-safety.md).
// On a journaling /run each directory fsync is a journal commit of its own.
func (d *Dir) Save(files ...JSONFile) error {
	for _, f := range files {
		if err := d.Put(f); err != nil {
			return err
		}
	}
	return nil
}

// Put replaces one file: a temp file, fsync'd, renamed over the name, so
// that its name never holds less than its whole data.
func (d *Dir) Put(f JSONFile) error {
	data, ok := f.Value.(json.RawMessage) // already JSON: stored as it is
	if !ok {
		var err error
		if data, err = json.Marshal(f.Value); err != nil {
			return fmt.Errorf("save %s: %w", f.Name, err)
		}
	}
	if err := writeAtDurable(d.fd, f.Name, data); err != nil {
		return fmt.Errorf("save %s: %w", d.File(f.Name), err)
	}
	return nil
}

// WriteJSON saves one file (Save).
func (d *Dir) WriteJSON(name string, v any) error { return d.Save(JSONFile{name, v}) }

// writeAtDurable replaces name in the directory dirfd with data: written to
// name.tmp, fsync'd, renamed. Through the locked directory's fd, so a path
// swapped meanwhile cannot redirect it.
func writeAtDurable(dirfd int, name string, data []byte) error {
	tmp := name + ".tmp"
	fd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dirfd, tmp, dirfd, name)
	}
	if err != nil {
		unix.Unlinkat(dirfd, tmp, 0)
	}
	return err
}

// WriteFileAtomic replaces path atomically (for files outside the state
// dir, such as --pid-file).
func WriteFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// ReadJSON decodes the file path into v, with encoding/json/v2's decoder
// in v1 mode: v1 would first build an encoder for every type v reaches,
// which a command that only reads (state, kill, exec) never uses.
func ReadJSON(path string, v any) error {
	data, err := system.ReadFile(path)
	if err != nil {
		return err
	}
	if err := jsonv1.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}
