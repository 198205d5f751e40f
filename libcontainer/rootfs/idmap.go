package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// IDMapped reports whether m asks for an idmapped mount: the idmap or
// ridmap option, or mappings of its own.
func IDMapped(m *specs.Mount) bool {
	if len(m.UIDMappings)+len(m.GIDMappings) > 0 {
		return true
	}
	for _, o := range m.Options {
		if o == "idmap" || o == "ridmap" {
			return true
		}
	}
	return false
}

// SourceTree makes, in the parent, the detached copy of bind mount m's
// source that the init moves into place: open_tree(OPEN_TREE_CLONE)
// (recursive for rbind), the mount's attributes and, with usernsFd >= 0,
// MOUNT_ATTR_IDMAP with that user namespace. Idmapping needs CAP_SYS_ADMIN
// over the source's filesystem, and a container in a user namespace of its
// own may not even reach a source the config names (runc opens those as the
// host's root too): the parent does this on the host, the init only moves
// the tree. locked: the container has a user namespace, where the kernel
// would lock the source's flags; they are kept as runc keeps them.
func SourceTree(m *specs.Mount, bundle string, usernsFd int, locked bool) (*os.File, error) {
	o, err := parseOptions(m.Options)
	if err != nil {
		return nil, err
	}
	if !o.bind && m.Type != "bind" {
		return nil, errors.New("idmapped mounts are only supported for bind mounts")
	}
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(bundle, src)
	}
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if o.rec {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, flags)
	if err != nil {
		return nil, fmt.Errorf("open_tree %s: %w", src, err)
	}
	tree := os.NewFile(uintptr(fd), src)
	if err := FinishTree(fd, m, usernsFd, locked); err != nil {
		tree.Close()
		return nil, err
	}
	return tree, nil
}

// FinishTree sets the attributes of m, and its idmap with usernsFd >= 0,
// on a detached tree of its source (made by SourceTree, or by the init for
// a source inside the container).
func FinishTree(fd int, m *specs.Mount, usernsFd int, locked bool) error {
	o, err := parseOptions(m.Options)
	if err != nil {
		return err
	}
	if err := setAttrs(fd, o, locked); err != nil {
		return err
	}
	if usernsFd < 0 {
		return nil
	}
	at := unix.AT_EMPTY_PATH
	if o.ridmap {
		at |= unix.AT_RECURSIVE
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(usernsFd)}
	if err := unix.MountSetattr(fd, "", uint(at), &attr); err != nil {
		if errors.Is(err, unix.EINVAL) {
			var st unix.Statfs_t
			fs := ""
			if unix.Fstatfs(fd, &st) == nil {
				fs = fmt.Sprintf(" (filesystem magic %#x)", st.Type)
			}
			return fmt.Errorf("idmap %s: the filesystem%s, or one mounted under it, does not support idmapped mounts: %w", m.Source, fs, err)
		}
		return fmt.Errorf("idmap %s: %w", m.Source, err)
	}
	return nil
}

// SourceInRootfs reports whether bind mount m's source is inside rootfs
// (then it is the container's to resolve, after the mounts before it).
func SourceInRootfs(m *specs.Mount, rootfs, bundle string) bool {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(bundle, src)
	}
	_, inside := underRoot(rootfs, src)
	return inside
}

// setAttrs applies o's mount attributes to the detached tree, by runc's
// rules for bind mounts (bindFlags), with the source's lockable flags kept
// when locked.
func setAttrs(tree int, o *mountOpts, locked bool) error {
	set, clr, ok := o.exactAttrs()
	if ok && locked {
		var st unix.Statfs_t
		if err := unix.Fstatfs(tree, &st); err != nil {
			return fmt.Errorf("fstatfs: %w", err)
		}
		var why string
		if set, clr, why = o.lockedAttrs(statfsFlags(st.Flags)); why != "" {
			return fmt.Errorf("%s: %w", why, unix.EPERM)
		}
	}
	if ok {
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
