package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Defences against a rootfs the image controls (docs/security.md).

// openBindSource clones the bind source src as a detached mount tree. A
// source inside the rootfs belongs to the image, whose symlinks mean the
// container's root: it is resolved inside the rootfs (through the mounts
// made so far), so an image's "data -> /etc" can never bind the host's /etc
// into the container. Any other source is a host path the config's author
// chose, and is taken as the host resolves it.
func openBindSource(root *os.File, rootfs, src string, flags uint) (int, error) {
	rel, ok := underRoot(rootfs, src)
	if !ok {
		return unix.OpenTree(unix.AT_FDCWD, src, flags)
	}
	h, err := pathrs.OpenatInRoot(root, rel)
	if err != nil {
		return -1, fmt.Errorf("source %s inside the rootfs: %w", src, err)
	}
	defer h.Close()
	return unix.OpenTree(int(h.Fd()), "", flags|unix.AT_EMPTY_PATH)
}

// underRoot reports whether the absolute path p is inside rootfs, and the
// rest of it.
func underRoot(rootfs, p string) (string, bool) {
	p = filepath.Clean(p)
	rootfs = filepath.Clean(rootfs)
	if rootfs == "/" {
		return p, true
	}
	if p == rootfs {
		return "/", true
	}
	if rest, ok := strings.CutPrefix(p, rootfs+"/"); ok {
		return "/" + rest, true
	}
	return "", false
}

// checkProcDest refuses to mount procfs through a symlink: an image whose
// /proc is a symlink (to /tmp, say) would get its procfs elsewhere, and
// whatever later writes to /proc (LSM labels, sysctls) would write into
// files the image made (CVE-2019-16884, CVE-2023-27561).
func checkProcDest(rootfs, dest string) error {
	resolved, err := resolveLexical(rootfs, dest)
	if err != nil {
		return err
	}
	if clean := filepath.Clean("/" + dest); resolved != clean {
		return fmt.Errorf("procfs destination %s is a symlink (to %s) in the rootfs", clean, resolved)
	}
	return nil
}

// consoleTarget returns an O_PATH handle on /dev/console in root to bind
// the pty onto, creating an empty file if it is missing. A /dev/console
// that is a symlink (a /dev shared with another container, or the image's
// own /dev) is refused rather than followed: the pty must land on
// /dev/console, not on a file the container chose (CVE-2025-52565).
func consoleTarget(root *os.File) (*os.File, error) {
	dev, err := pathrs.MkdirAllHandle(root, "/dev", 0o755)
	if err != nil {
		return nil, fmt.Errorf("open /dev: %w", err)
	}
	defer dev.Close()
	fd, err := unix.Openat(int(dev.Fd()), "console", unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err == nil {
		unix.Close(fd)
	}
	fd, err = unix.Openat(int(dev.Fd()), "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/console: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stat /dev/console: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		unix.Close(fd)
		return nil, fmt.Errorf("/dev/console is a symlink; refusing to bind the console onto its target")
	}
	return os.NewFile(uintptr(fd), "/dev/console"), nil
}
