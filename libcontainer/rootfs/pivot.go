package rootfs

import (
	"errors"
	"fmt"
	"os"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// Pivot makes the rootfs the process's root. pivot_root(".", ".") stacks
// the old root under the new one, where it is detached at once: no
// directory inside the rootfs is needed. With noPivot (--no-pivot, for
// ramfs roots) the rootfs is moved over / and chroot'ed into instead.
func Pivot(rootfs string, noPivot bool, propagation string) error {
	if noPivot {
		if err := moveRoot(rootfs); err != nil {
			return err
		}
		return finishPropagation(propagation)
	}
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer unix.Close(newRoot)
	if err := unix.Fchdir(newRoot); err != nil {
		return fmt.Errorf("chdir rootfs: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir old root: %w", err)
	}
	// Keep the unmount of the old root from propagating to the host.
	if err := system.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := system.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return finishPropagation(propagation)
}

// Chroot makes the rootfs the process's root without a mount namespace of
// its own: pivot_root or a move would change the host's root.
func Chroot(rootfs string) error {
	fd, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer unix.Close(fd)
	return EnterRoot(fd)
}

// EnterRoot chroots into the directory fd refers to.
func EnterRoot(fd int) error {
	if err := unix.Fchdir(fd); err != nil {
		return fmt.Errorf("chdir rootfs: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return unix.Chdir("/")
}

func moveRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir rootfs: %w", err)
	}
	if err := system.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs to /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return unix.Chdir("/")
}

// finishPropagation applies a "shared" rootfsPropagation, which cannot be
// set before pivot_root. ("unbindable" waits for Finalize: masking clones
// /dev/null, which an unbindable root would refuse.)
func finishPropagation(p string) error {
	if flag, ok := propOpts[p]; ok && flag&unix.MS_SHARED != 0 {
		if err := system.Mount("", "/", "", flag, ""); err != nil {
			return fmt.Errorf("set / propagation %s: %w", p, err)
		}
	}
	return nil
}

// CreateCwd makes the process's working directory if the image lacks it,
// as runc does. It runs after pivot_root, as root, and resolves the path
// inside the container's root without following magic links.
func CreateCwd(cwd string) error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	h, err := pathrs.OpenatInRoot(root, cwd)
	if err == nil {
		h.Close()
		return nil
	}
	// Only a missing cwd is made. Anything else (a magic link such as
	// /proc/self/fd/N, whose target names a host path) is for chdir and
	// the cwd check to refuse, with no directory made after its name.
	if !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	// A dangling symlink on the way is created through (inside the root).
	resolved, err := resolveLexical("/", cwd)
	if err != nil {
		return fmt.Errorf("create cwd %s: %w", cwd, err)
	}
	h, err = pathrs.MkdirAllHandle(root, resolved, 0o755)
	if err != nil {
		return fmt.Errorf("create cwd %s: %w", cwd, err)
	}
	h.Close()
	return nil
}
