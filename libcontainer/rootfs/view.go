package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Host is what compiling a rootfs asks of the machine, all answered in the
// runtime's own mount namespace, which the init's starts as a copy of.
// Tests give a fake; the real one is OSHost.
type Host interface {
	Lstat(path string) (fs.FileInfo, error)
	Readlink(path string) (string, error)
	// MountFlags is the MS_* flags of the mount path is on (statfs).
	MountFlags(path string) (uintptr, error)
}

// OSHost is the Host of this machine.
type OSHost struct{}

func (OSHost) Lstat(p string) (fs.FileInfo, error) { return os.Lstat(p) }
func (OSHost) Readlink(p string) (string, error)   { return os.Readlink(p) }

func (OSHost) MountFlags(p string) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return 0, err
	}
	return statfsFlags(st.Flags), nil
}

// view models the container's tree as the mounts so far leave it: the
// rootfs, with earlier mounts on top. A bind shows its source's files; a
// new filesystem (tmpfs, proc, ...) shows none but what later steps make.
// It only serves to word errors and to find what a dangling symlink names:
// the executor resolves every path again, inside the root, in the kernel.
type view struct {
	host   Host
	rootfs string
	mounts []viewMount
}

type viewMount struct {
	dest   string // inside the container, cleaned, resolved
	source string // host directory it shows, "" for a new filesystem
}

func newView(h Host, rootfs string) *view { return &view{host: h, rootfs: rootfs} }

// add records a mount on dest (a resolved container path).
func (v *view) add(dest, source string) {
	v.mounts = append(v.mounts, viewMount{dest: filepath.Clean("/" + dest), source: source})
}

// hostPath is where the container path p (resolved, absolute) lives on the
// host, or ok=false when it is inside a new filesystem of an earlier mount.
func (v *view) hostPath(p string) (string, bool) {
	p = filepath.Clean("/" + p)
	for i := len(v.mounts) - 1; i >= 0; i-- {
		m := v.mounts[i]
		rest, under := underRoot(m.dest, p)
		if !under {
			continue
		}
		if m.source == "" {
			return "", false
		}
		return filepath.Join(m.source, rest), true
	}
	return filepath.Join(v.rootfs, p), true
}

var errFresh = errors.New("inside a new filesystem")

// lstat is the container path p as the view shows it.
func (v *view) lstat(p string) (fs.FileInfo, error) {
	hp, ok := v.hostPath(p)
	if !ok {
		return nil, errFresh
	}
	return v.host.Lstat(hp)
}

// resolve walks unsafePath inside the container the way the kernel would
// and returns it with every symlink resolved (as an absolute container
// path), the missing tail kept as is. A symlink whose ".." climbs out of
// the root is refused: the kernel would clamp it at the root, but a mount
// the config's author meant elsewhere must fail, not land quietly.
// Absolute symlinks mean the container's own root.
func (v *view) resolve(unsafePath string) (string, error) {
	parts := strings.Split(unsafePath, "/")
	var cur []string
	for links := 0; len(parts) > 0; {
		p := parts[0]
		parts = parts[1:]
		switch p {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "", fmt.Errorf("path %s escapes the rootfs", unsafePath)
			}
			cur = cur[:len(cur)-1]
			continue
		}
		full := "/" + filepath.Join(append(cur, p)...)
		fi, err := v.lstat(full)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, p)
			if err != nil {
				// Missing components are created as directories.
				for _, rest := range parts {
					if rest == ".." {
						return "", fmt.Errorf("path %s escapes the rootfs", unsafePath)
					}
				}
				return "/" + filepath.Join(append(cur, parts...)...), nil
			}
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("path %s: too many levels of symbolic links", unsafePath)
		}
		hp, _ := v.hostPath(full)
		target, err := v.host.Readlink(hp)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = nil
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return "/" + filepath.Join(cur...), nil
}

// underRoot reports whether the absolute path p is inside root, and the
// rest of it.
func underRoot(root, p string) (string, bool) {
	p = filepath.Clean(p)
	root = filepath.Clean(root)
	if root == "/" {
		return p, true
	}
	if p == root {
		return "/", true
	}
	if rest, ok := strings.CutPrefix(p, root+"/"); ok {
		return "/" + rest, true
	}
	return "", false
}

// hostResolve is the host path p with its symlinks resolved, as far as
// they resolve; the view only words errors with it.
func hostResolve(h Host, p string) string {
	parts := strings.Split(p, "/")
	cur := "/"
	for links := 0; len(parts) > 0; {
		c := parts[0]
		parts = parts[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := h.Lstat(next)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 || links >= 40 {
			cur = next
			continue
		}
		links++
		target, err := h.Readlink(next)
		if err != nil {
			cur = next
			continue
		}
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return cur
}
