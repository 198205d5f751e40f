package rootfs

import (
	"fmt"

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
		b.Add("chroot into the rootfs", plan.OpChroot, root)
		return
	case c.NoPivot:
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
		if m.Destination == "/dev" && !isBind(&m) {
			if o, _ := parseOptions(m.Options); o != nil && o.flags&unix.MS_RDONLY != 0 {
				p.readonly("make /dev read-only", "/dev", false)
			}
		}
	}
	for _, path := range c.ReadOnly {
		p.readonly("readonly path "+path, path, true)
	}
	if len(c.Masked) > 0 {
		// /dev/null is checked to be the real device first: an image
		// could have made it a symlink to something it wants to expose
		// (CVE-2025-31133).
		null := b.Slot()
		b.Add("open /dev/null", plan.OpOpenInRoot, plan.Int(int64(null)), plan.Int(int64(p.root)), plan.Str("/dev/null"),
			plan.Int(0), plan.Int(0))
		b.Add("masked paths", plan.OpCheckNode, plan.Int(int64(null)), plan.Int(plan.NodeChr), plan.Int(1), plan.Int(3)).Codes =
			map[int]string{plan.ErrNotNull: "/dev/null is not the null device; refusing to mask paths with it"}
		t := b.Slot()
		for _, path := range c.Masked {
			k := b.Len()
			b.Add("masked path "+path, plan.OpOpenInRoot, plan.Int(int64(t)), plan.Int(int64(p.root)), plan.Str(path), plan.Int(0), plan.Int(0))
			b.Add("masked path "+path, plan.OpMask, plan.Int(int64(t)), plan.Int(int64(null)), plan.Str(c.MountLabel))
			p.at(k, -1, k+2, int(unix.ENOENT))
		}
		b.Close(t)
		b.Close(null)
	}
	if c.Readonly {
		b.Add("make rootfs read-only", plan.OpSetattr, plan.Int(int64(p.root)), plan.Int(0), plan.Int(unix.MOUNT_ATTR_RDONLY),
			plan.Int(0), plan.Int(0))
	}
	if flag, ok := propOpts[c.Propagation]; ok && flag&unix.MS_UNBINDABLE != 0 {
		b.Addf(plan.OpMountPath, []plan.Arg{plan.Str("/"), plan.Str(""), plan.Str(""), plan.Int(int64(flag)), plan.Str("")},
			"set / propagation %s", c.Propagation)
	}
	return b.Err()
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
