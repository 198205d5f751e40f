package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// procFd names an fd for syscalls that take paths (mount(2)).
func procFd(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// checkEscape walks unsafePath inside root the way the kernel would and
// refuses a symlink whose ".." climbs out of the rootfs. Absolute symlinks
// mean the container's own root and are fine. The walk is advisory (the
// real open below is scoped by the kernel and cannot escape): it turns a
// hostile image into a clear error instead of a quietly clamped mount.
func checkEscape(root, unsafePath string) error {
	_, err := resolveLexical(root, unsafePath)
	return err
}

// resolveLexical is checkEscape's walk: it returns unsafePath with every
// symlink inside root resolved (as a path relative to root, starting with
// "/"), and the missing tail as is. openDest uses it to create what a
// dangling symlink points at inside the rootfs, as runc does.
func resolveLexical(root, unsafePath string) (string, error) {
	parts := splitPath(unsafePath)
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
		full := filepath.Join(root, filepath.Join(cur...), p)
		fi, err := os.Lstat(full)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
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
		target, err := os.Readlink(full)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = nil
		}
		parts = append(splitPath(target), parts...)
	}
	return "/" + filepath.Join(cur...), nil
}

func splitPath(p string) []string { return strings.Split(p, "/") }

// openDest returns an O_PATH handle on dest inside root, creating it (a
// directory, or an empty file when file is true) and its parents if missing.
func openDest(root *os.File, rootPath, dest string, file bool) (*os.File, error) {
	resolved, err := resolveLexical(rootPath, dest)
	if err != nil {
		return nil, err
	}
	h, err := pathrs.OpenatInRoot(root, dest)
	if err == nil {
		return h, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// Create what is missing, through symlinks already resolved inside the
	// rootfs (a dangling /etc/x -> /data makes <rootfs>/data). The handles
	// below are scoped to root by the kernel whatever the walk said.
	dest = resolved
	if !file {
		return pathrs.MkdirAllHandle(root, dest, 0o755)
	}
	dir, err := pathrs.MkdirAllHandle(root, filepath.Dir(dest), 0o755)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(dest), unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create %s: %w", dest, err)
	}
	if err == nil {
		unix.Close(fd)
	}
	return pathrs.OpenatInRoot(root, dest)
}
