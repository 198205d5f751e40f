package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/lsm"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// Finalize runs after pivot_root, in the container's root: masked and
// read-only paths, a read-only /dev when asked, then a read-only root.
func Finalize(c *Config) error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, m := range c.Mounts {
		if m.Destination == "/dev" && !isBind(&m) {
			if o, _ := parseOptions(m.Options); o != nil && o.flags&unix.MS_RDONLY != 0 {
				if err := setReadonly(root, "/dev", false); err != nil {
					return err
				}
			}
		}
	}
	for _, p := range c.ReadOnly {
		if err := setReadonly(root, p, true); err != nil {
			return fmt.Errorf("readonly path %s: %w", p, err)
		}
	}
	if err := maskPaths(root, c.Masked, c.MountLabel); err != nil {
		return err
	}
	if c.Readonly {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(int(root.Fd()), "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return fmt.Errorf("make rootfs read-only: %w", err)
		}
	}
	if flag, ok := propOpts[c.Propagation]; ok && flag&unix.MS_UNBINDABLE != 0 {
		if err := system.Mount("", "/", "", flag, ""); err != nil {
			return fmt.Errorf("set / propagation %s: %w", c.Propagation, err)
		}
	}
	return nil
}

// setReadonly binds p onto itself read-only (recursively for
// readonlyPaths). A missing path is not an error.
func setReadonly(root *os.File, p string, recursive bool) error {
	h, err := openInRoot(root, p)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	defer h.Close()
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH)
	attrFlags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
		attrFlags |= unix.AT_RECURSIVE
	}
	tree, err := unix.OpenTree(int(h.Fd()), "", flags)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(tree, "", attrFlags, &attr); err != nil {
		return fmt.Errorf("mount_setattr: %w", err)
	}
	if err := unix.MoveMount(tree, "", int(h.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// maskPaths hides files under /dev/null and directories under an empty
// read-only tmpfs. /dev/null is checked to be the real device first: an
// image could have made it a symlink to something it wants to expose
// (CVE-2025-31133).
func maskPaths(root *os.File, paths []string, label string) error {
	if len(paths) == 0 {
		return nil
	}
	null, err := openInRoot(root, "/dev/null")
	if err != nil {
		return fmt.Errorf("open /dev/null: %w", err)
	}
	defer null.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(null.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		return errors.New("/dev/null is not the null device; refusing to mask paths with it")
	}
	for _, p := range paths {
		h, err := openInRoot(root, p)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fmt.Errorf("masked path %s: %w", p, err)
		}
		err = maskOne(h, null, label)
		h.Close()
		if err != nil {
			return fmt.Errorf("masked path %s: %w", p, err)
		}
	}
	return nil
}

func maskOne(h, null *os.File, label string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return system.Mount("tmpfs", procFd(h), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, lsm.MountData("tmpfs", "size=0,mode=0555", label))
	}
	tree, err := unix.OpenTree(int(null.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("open_tree /dev/null: %w", err)
	}
	defer unix.Close(tree)
	return unix.MoveMount(tree, "", int(h.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}
