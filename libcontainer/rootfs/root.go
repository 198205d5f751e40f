package rootfs

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/plan"
)

// Pivot emits the switch to the container's root: pivot_root, a move over
// / with --no-pivot (ramfs roots), or a chroot without a mount namespace
// (pivot_root would move the host's root). A "shared" rootfsPropagation
// goes on after pivot_root ("unbindable" waits for Finalize: masking clones
// /dev/null, which an unbindable root would refuse).
func (p *Compiler) Pivot() {
	b, c := p.b, p.c
	root := plan.Int(int64(p.root))
	switch {
	case c.InheritMountNS:
		if c.Readonly {
			// No mount namespace of its own: a read-only copy of the
			// rootfs (and the mounts under it) goes on top of it, in the
			// host's table, where delete finds it with the others create
			// made; the chroot enters the copy.
			tree, top := b.Slot(), b.Slot()
			b.Add("make rootfs read-only: open_tree", plan.OpOpenTree, plan.Int(int64(tree)), root, plan.Str(""),
				plan.Int(unix.OPEN_TREE_CLONE|unix.AT_RECURSIVE|unix.AT_EMPTY_PATH))
			b.Add("make rootfs read-only: mount_setattr", plan.OpSetattr, plan.Int(int64(tree)), plan.Int(0), plan.Int(unix.MOUNT_ATTR_RDONLY), plan.Int(0), plan.Int(0))
			b.Add("make rootfs read-only: move_mount", plan.OpMoveMount, plan.Int(int64(tree)), root)
			b.Close(tree)
			b.Add("open the read-only rootfs", plan.OpOpen, plan.Int(int64(top)), plan.Str(c.Rootfs), plan.Int(unix.O_PATH|unix.O_DIRECTORY))
			b.Add("chroot into the rootfs", plan.OpChroot, plan.Int(int64(top)))
			b.Close(top)
			return
		}
		b.Add("chroot into the rootfs", plan.OpChroot, root)
		return
	case c.NoPivot:
		// After a move and a chroot the host's procfs and sysfs are still
		// in the mount namespace, whole, and the kernel would let the
		// container mount a fresh procfs (in a user namespace of its own)
		// that shows all of the host's. Unmount them, or, where that is
		// refused, cover them (runc does the same).
		for _, mp := range c.HostPseudoFs {
			k := b.Len()
			b.Addf(plan.OpMountPath, []plan.Arg{plan.Str(mp), plan.Str(""), plan.Str(""), plan.Int(unix.MS_SLAVE | unix.MS_REC), plan.Str("")},
				"hide the host's %s: make it a slave", mp)
			b.Addf(plan.OpUnmount, []plan.Arg{plan.Str(mp), plan.Int(unix.MNT_DETACH)}, "hide the host's %s: unmount", mp)
			b.Addf(plan.OpMountPath, []plan.Arg{plan.Str(mp), plan.Str("tmpfs"), plan.Str("tmpfs"), plan.Int(0), plan.Str("")},
				"hide the host's %s: cover it", mp)
			p.at(k, -1, k+3, int(unix.ENOENT)) // gone with a parent already
			p.at(k+1, k+3, k+2, int(unix.EINVAL), int(unix.EPERM))
		}
		b.Add("move the rootfs over /", plan.OpMoveRoot, root)
	default:
		b.Add("pivot_root", plan.OpPivotRoot, root)
	}
	if flag, ok := propOpts[c.Propagation]; ok && flag&unix.MS_SHARED != 0 {
		b.Addf(plan.OpMountPath, []plan.Arg{plan.Str("/"), plan.Str(""), plan.Str(""), plan.Int(int64(flag)), plan.Str("")},
			"set / propagation %s", c.Propagation)
	}
}

// CreateCwd emits the making of the process's working directory if the
// image lacks it, as runc does, after pivot_root, as root. Only a missing
// cwd is made; anything else (a magic link such as /proc/self/fd/N, whose
// target names a host path) is for chdir and the cwd check to refuse.
func (p *Compiler) CreateCwd(cwd string) error {
	resolved, err := p.v.resolve(cwd)
	if err != nil {
		return fmt.Errorf("create cwd %s: %w", cwd, err)
	}
	b := p.b
	h := b.Slot()
	b.Add("create cwd "+cwd, plan.OpOpenInRoot, plan.Int(int64(h)), plan.Int(int64(p.root)), plan.Str(resolved),
		plan.Int(plan.HowMkdir), plan.Int(0o755)).AltErrnos = []int{int(unix.ELOOP), int(unix.EXDEV), int(unix.ENOTDIR),
		int(unix.EACCES), int(unix.EPERM), int(unix.EEXIST)}
	b.Close(h)
	return nil
}

// Finalize emits what runs after pivot_root, in the container's root: a
// read-only /dev when asked, read-only and masked paths, a read-only root,
// an unbindable root.
func (p *Compiler) Finalize() error {
	b, c := p.b, p.c
	for _, m := range c.Mounts {
		if filepath.Clean("/"+m.Destination) == "/dev" && !isBind(&m) {
			if o, _ := parseOptions(m.Options); o != nil && o.flags&unix.MS_RDONLY != 0 {
				// The /dev mount itself goes read-only (it was made
				// writable for the device nodes), not a bind over it.
				h := b.Slot()
				b.Add("make /dev read-only", plan.OpOpenInRoot, plan.Int(int64(h)), plan.Int(int64(p.root)), plan.Str("/dev"), plan.Int(0), plan.Int(0))
				b.Add("make /dev read-only", plan.OpSetattr, plan.Int(int64(h)), plan.Int(0), plan.Int(unix.MOUNT_ATTR_RDONLY), plan.Int(0), plan.Int(0))
				b.Close(h)
			}
		}
	}
	for _, path := range dedupe(c.ReadOnly) {
		p.readonly("readonly path "+path, path, true)
	}
	if masked := dedupe(c.Masked); len(masked) > 0 {
		// /dev/null is checked to be the real device first: an image
		// could have made it a symlink to something it wants to expose
		// (CVE-2025-31133).
		null := b.Slot()
		b.Add("open /dev/null", plan.OpOpenInRoot, plan.Int(int64(null)), plan.Int(int64(p.root)), plan.Str("/dev/null"),
			plan.Int(0), plan.Int(0))
		b.Add("masked paths", plan.OpCheckNode, plan.Int(int64(null)), plan.Int(plan.NodeChr), plan.Int(1), plan.Int(3)).Codes =
			map[int]string{plan.ErrNotNull: "/dev/null is not the null device; refusing to mask paths with it"}
		// One empty read-only tmpfs covers every masked directory, as
		// runc's do: made once, bound to each.
		kv := plan.JoinNul([]string{"size", "0", "mode", "0555"})
		if c.MountLabel != "" {
			kv = append(kv, plan.JoinNul([]string{"context", c.MountLabel})...)
		}
		tmpfs := b.Slot()
		b.Add("masked paths: an empty tmpfs", plan.OpFsMount, plan.Int(int64(tmpfs)), plan.Str("tmpfs"),
			plan.Int(unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC), plan.Blob(kv))
		t := b.Slot()
		for _, path := range masked {
			k := b.Len()
			b.Add("masked path "+path, plan.OpOpenInRoot, plan.Int(int64(t)), plan.Int(int64(p.root)), plan.Str(path), plan.Int(0), plan.Int(0))
			b.Add("masked path "+path, plan.OpMask, plan.Int(int64(t)), plan.Int(int64(null)), plan.Int(int64(tmpfs)))
			p.at(k, -1, k+2, int(unix.ENOENT))
		}
		b.Close(t)
		b.Close(tmpfs)
		b.Close(null)
	}
	// (Without a mount namespace Pivot made the read-only copy: the root
	// slot is the host's mount there, never to be touched.)
	if c.Readonly && !c.InheritMountNS {
		b.Add("make rootfs read-only", plan.OpSetattr, plan.Int(int64(p.root)), plan.Int(0), plan.Int(unix.MOUNT_ATTR_RDONLY),
			plan.Int(0), plan.Int(0))
	}
	if flag, ok := propOpts[c.Propagation]; ok && flag&unix.MS_UNBINDABLE != 0 {
		b.Addf(plan.OpMountPath, []plan.Arg{plan.Str("/"), plan.Str(""), plan.Str(""), plan.Int(int64(flag)), plan.Str("")},
			"set / propagation %s", c.Propagation)
	}
	return b.Err()
}

// dedupe drops repeated paths (a path masked twice is one mount, as runc's).
func dedupe(paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		c := filepath.Clean("/" + p)
		if !seen[c] {
			seen[c] = true
			out = append(out, p)
		}
	}
	return out
}

// readonly binds path onto itself read-only (recursively for
// readonlyPaths). A missing path is not an error.
func (p *Compiler) readonly(desc, path string, recursive bool) {
	b := p.b
	h, tree := b.Slot(), b.Slot()
	flags := int64(unix.OPEN_TREE_CLONE | unix.AT_EMPTY_PATH)
	at := int64(0)
	if recursive {
		flags |= unix.AT_RECURSIVE
		at = unix.AT_RECURSIVE
	}
	k := b.Len()
	b.Add(desc, plan.OpOpenInRoot, plan.Int(int64(h)), plan.Int(int64(p.root)), plan.Str(path), plan.Int(0), plan.Int(0))
	b.Add(desc+": open_tree", plan.OpOpenTree, plan.Int(int64(tree)), plan.Int(int64(h)), plan.Str(""), plan.Int(flags))
	b.Add(desc+": mount_setattr", plan.OpSetattr, plan.Int(int64(tree)), plan.Int(at), plan.Int(unix.MOUNT_ATTR_RDONLY), plan.Int(0), plan.Int(0))
	b.Add(desc+": move_mount", plan.OpMoveMount, plan.Int(int64(tree)), plan.Int(int64(h)))
	p.at(k, -1, k+4, int(unix.ENOENT))
	b.Close(tree)
	b.Close(h)
}
