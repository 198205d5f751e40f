// Package hostmnt keeps account of the mounts create makes in the runtime's
// own mount namespace, for a container without one of its own.
package hostmnt

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A container whose config names no mount namespace (neither a new one nor
// one joined by path) inherits the runtime's, as runtime-spec
// config-linux.md requires of every namespace type left out. Its mounts then
// land in the host's mount table under the rootfs, and its root is a chroot
// (pivot_root would move the host's root). The mounts create made are
// recorded and unmounted again on delete (runc leaves them behind).

// Inherits reports whether the container shares the runtime's mount
// namespace.
func Inherits(s *specs.Spec) bool {
	if s.Linux == nil {
		return true
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.MountNamespace {
			return false
		}
	}
	return true
}

// Check refuses what cannot be applied without changing
// mounts of the host's own: the propagation of its "/", a read-only or
// masked path outside a mount of the container's making, a move over "/".
// (root.readonly is a read-only copy of the rootfs over it: see rootfs.Pivot.)
func Check(s *specs.Spec, noPivot bool) error {
	if !Inherits(s) {
		return nil
	}
	switch {
	case noPivot:
		return errors.New("--no-pivot needs a mount namespace")
	case len(s.Linux.MaskedPaths) > 0 || len(s.Linux.ReadonlyPaths) > 0:
		return errors.New("linux.maskedPaths and linux.readonlyPaths need a mount namespace")
	case s.Linux.RootfsPropagation != "":
		return errors.New("linux.rootfsPropagation needs a mount namespace")
	}
	return nil
}

// mountsUnder returns the mounts at and below rootfs. Only those create
// made (not in the set it recorded before) are ever unmounted: an
// engine's overlay at the rootfs is not the container's, the read-only
// copy over it for root.readonly is.
func mountsUnder(rootfs string) ([]*mountinfo.Info, error) {
	rootfs = filepath.Clean(rootfs)
	ms, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		// Not PrefixFilter: /x/rootfs2 is not under /x/rootfs.
		return m.Mountpoint != rootfs && !strings.HasPrefix(m.Mountpoint, rootfs+"/"), false
	})
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return ms, nil
}

func IDsUnder(rootfs string) (map[int]bool, error) {
	ms, err := mountsUnder(rootfs)
	if err != nil {
		return nil, err
	}
	ids := make(map[int]bool, len(ms))
	for _, m := range ms {
		ids[m.ID] = true
	}
	return ids, nil
}

// NewUnder returns the ids of the mounts below rootfs not in before.
func NewUnder(rootfs string, before map[int]bool) ([]int, error) {
	ms, err := mountsUnder(rootfs)
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, m := range ms {
		if !before[m.ID] {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}

// Unmount detaches the mounts ids below rootfs, deepest first. A
// mount stacked on one of them is detached with it (umount takes the top
// one at a path), so it goes round until none of ids is left.
func Unmount(rootfs string, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	ours := make(map[int]bool, len(ids))
	for _, id := range ids {
		ours[id] = true
	}
	for pass := 0; pass < 16; pass++ {
		ms, err := mountsUnder(rootfs)
		if err != nil {
			return err
		}
		var left []*mountinfo.Info
		for _, m := range ms {
			if ours[m.ID] {
				left = append(left, m)
			}
		}
		if len(left) == 0 {
			return nil
		}
		sort.Slice(left, func(i, j int) bool { return len(left[i].Mountpoint) > len(left[j].Mountpoint) })
		for _, m := range left {
			err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
			if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("unmount %s: %w", m.Mountpoint, err)
			}
		}
	}
	return fmt.Errorf("mounts under %s would not go", rootfs)
}
