package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/lsm"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// Config is what the rootfs needs from the container's spec.
type Config struct {
	Rootfs      string // absolute host path
	Bundle      string // relative bind sources are relative to it
	Mounts      []specs.Mount
	Devices     []specs.LinuxDevice
	Propagation string // rootfsPropagation
	Readonly    bool
	NoPivot     bool
	UserNS      bool // a new user namespace: bind device nodes, mknod is refused
	CgroupNS    bool
	Masked      []string
	ReadOnly    []string
	MountLabel  string // SELinux label of new mounts (context=), "" when SELinux is off
	// InheritMountNS: no mount namespace of the container's own; the
	// mounts go to the runtime's, under the rootfs, and / is left alone.
	InheritMountNS bool
	// IDMapTrees: mount index → fd of its idmapped tree, made by the
	// parent (IDMapTree) and moved into place here.
	IDMapTrees map[int]int
	// CgroupDirs are the container's cgroups (controller → host dir, as in
	// state.json); without a cgroup namespace they are what gets bound.
	CgroupDirs map[string]string
}

// Prepare mounts everything under the rootfs. It runs in the new mount
// namespace, before the createRuntime hooks.
func Prepare(c *Config) error {
	prop := uintptr(unix.MS_SLAVE | unix.MS_REC)
	if p, ok := propOpts[c.Propagation]; ok {
		prop = p
	}
	// Stop our mounts from reaching the host. A shared or unbindable root
	// cannot be pivoted into (nor bound), so those two are applied to the
	// new root after pivot_root; until then everything is private.
	first := prop
	if first&(unix.MS_SHARED|unix.MS_UNBINDABLE) != 0 {
		first = unix.MS_PRIVATE | unix.MS_REC
	}
	if !c.InheritMountNS {
		if err := system.Mount("", "/", "", first, ""); err != nil {
			return fmt.Errorf("set / propagation: %w", err)
		}
		// pivot_root needs the new root and its parent mount not to be
		// shared. The parent may still be (a non-recursive "slave" or
		// "private"): make it private, as runc does. The rootfs bind then
		// inherits the propagation of its source, so with "rslave" (the
		// default) host mounts under the rootfs still propagate into the
		// container.
		if err := parentMountPrivate(c.Rootfs); err != nil {
			return err
		}
		if err := system.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind rootfs %s: %w", c.Rootfs, err)
		}
	}
	root, err := os.OpenFile(c.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer root.Close()

	setupDev := true
	for i := range c.Mounts {
		m := &c.Mounts[i]
		mount := mountOne
		if fd, ok := c.IDMapTrees[i]; ok {
			mount = func(root *os.File, c *Config, m *specs.Mount) error { return moveTree(root, c, m, fd) }
		}
		if err := mount(root, c, m); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
		if filepath.Clean("/"+m.Destination) == "/dev" && isBind(m) {
			setupDev = false
		}
	}
	if setupDev {
		if err := createDevices(root, c); err != nil {
			return err
		}
	}
	return nil
}

// parentMountPrivate makes the mount that holds path private if it is
// shared.
func parentMountPrivate(path string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(path))
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	var parent *mountinfo.Info
	for _, m := range mounts {
		if parent == nil || len(m.Mountpoint) >= len(parent.Mountpoint) {
			parent = m
		}
	}
	if parent == nil || !strings.Contains(parent.Optional, "shared:") {
		return nil
	}
	if err := system.Mount("", parent.Mountpoint, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", parent.Mountpoint, err)
	}
	return nil
}

func isBind(m *specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

func mountOne(root *os.File, c *Config, m *specs.Mount) error {
	o, err := parseOptions(m.Options)
	if err != nil {
		return err
	}
	if o.idmap || len(m.UIDMappings)+len(m.GIDMappings) > 0 {
		return errors.New("idmapped mount was not prepared by the parent")
	}
	dest := m.Destination
	if !filepath.IsAbs(dest) {
		dest = "/" + dest // runtime-spec 1.2: relative to the container's /
	}
	if isBind(m) {
		return bindMount(root, c, m, dest, o)
	}
	if m.Type == "cgroup" || m.Type == "cgroup2" {
		return mountCgroup(root, c, m, dest, o)
	}
	if m.Type == "proc" {
		if err := checkProcDest(c.Rootfs, dest); err != nil {
			return err
		}
	}
	h, err := openDest(root, c.Rootfs, dest, false)
	if err != nil {
		return err
	}
	defer h.Close()
	flags := o.flags
	// /dev is filled with device nodes before it can be made read-only.
	if dest == "/dev" {
		flags &^= unix.MS_RDONLY
	}
	err = system.Mount(m.Source, procFd(h), m.Type, flags, lsm.MountData(m.Type, strings.Join(o.data, ","), c.MountLabel))
	if err == nil && m.Type == "mqueue" && c.MountLabel != "" {
		err = labelMountRoot(root, dest, c.MountLabel)
	}
	if errors.Is(err, unix.EPERM) && m.Type == "sysfs" {
		// A user namespace without its own network namespace may not
		// mount sysfs: bind the host's, as runc does.
		bo := *o
		bo.flags |= unix.MS_BIND | unix.MS_REC
		bo.rec = true
		src := *m
		src.Source = "/sys"
		return bindMount(root, c, &src, dest, &bo)
	}
	if err != nil {
		return err
	}
	return applyPropagation(root, dest, o.prop)
}

func applyPropagation(root *os.File, dest string, prop []uintptr) error {
	if len(prop) == 0 {
		return nil
	}
	h, err := openInRoot(root, dest)
	if err != nil {
		return err
	}
	defer h.Close()
	for _, p := range prop {
		if err := system.Mount("", procFd(h), "", p, ""); err != nil {
			return fmt.Errorf("set propagation: %w", err)
		}
	}
	return nil
}

// bindMount clones the source as a detached mount, sets its attributes,
// then moves it onto the destination fd: no path is looked up twice.
func bindMount(root *os.File, c *Config, m *specs.Mount, dest string, o *mountOpts) error {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(c.Bundle, src)
	}
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if o.rec {
		flags |= unix.AT_RECURSIVE
	}
	tree, err := openBindSource(root, c.Rootfs, src, flags)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(tree)
	var st unix.Stat_t
	if err := unix.Fstat(tree, &st); err != nil {
		return err
	}
	if err := setAttrs(tree, o); err != nil {
		return err
	}
	h, err := openDest(root, c.Rootfs, dest, st.Mode&unix.S_IFMT != unix.S_IFDIR)
	if err != nil {
		return err
	}
	defer h.Close()
	// The kernel says only EINVAL or ENOTDIR for these: name the mismatch.
	var dst unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &dst); err != nil {
		return err
	}
	if srcDir, dstDir := st.Mode&unix.S_IFMT == unix.S_IFDIR, dst.Mode&unix.S_IFMT == unix.S_IFDIR; srcDir != dstDir {
		if srcDir {
			return errors.New("source is a directory, destination is not")
		}
		return errors.New("source is not a directory, destination is one")
	}
	if err := unix.MoveMount(tree, "", int(h.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return applyPropagation(root, dest, o.prop)
}

func setAttrs(tree int, o *mountOpts) error {
	set, clr := o.attrs()
	if set|clr != 0 {
		attr := unix.MountAttr{Attr_set: set, Attr_clr: clr}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return fmt.Errorf("mount_setattr: %w", err)
		}
	}
	if o.recSet|o.recClr != 0 {
		attr := unix.MountAttr{Attr_set: o.recSet, Attr_clr: o.recClr}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("mount_setattr (recursive): %w", err)
		}
	}
	return nil
}

// openInRoot opens an existing path inside root without following symlinks
// out of it.
func openInRoot(root *os.File, p string) (*os.File, error) {
	fd, err := unix.Openat2(int(root.Fd()), strings.TrimPrefix(p, "/"), &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// labelMountRoot gives the root of the mount on dest the SELinux label, for
// filesystems that refuse a context= option (mqueue), as runc does.
func labelMountRoot(root *os.File, dest, label string) error {
	h, err := openInRoot(root, dest)
	if err != nil {
		return err
	}
	defer h.Close()
	return lsm.SetFileLabel(h, label)
}
