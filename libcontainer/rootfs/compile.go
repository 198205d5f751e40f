package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/lsm"
	"github.com/teu-runtime/teu/libcontainer/plan"
)

// Config is what the rootfs needs from the container's spec and the host.
type Config struct {
	Rootfs      string // absolute host path
	Bundle      string // relative bind sources are relative to it
	Mounts      []specs.Mount
	Devices     []specs.LinuxDevice
	Propagation string // rootfsPropagation
	Readonly    bool
	NoPivot     bool
	UserNS      bool // a user namespace (new or joined): bind device nodes, mknod is refused
	CgroupNS    bool
	Masked      []string
	ReadOnly    []string
	MountLabel  string // SELinux label of new mounts (context=), "" when SELinux is off
	// InheritMountNS: no mount namespace of the container's own; the
	// mounts go to the runtime's, under the rootfs, and / is left alone.
	InheritMountNS bool
	// TreeFds: mount index → the fd (in the init) of the tree of its
	// source the parent made (SourceTree), moved into place by the init.
	TreeFds map[int]int
	// TreesForParent: mounts whose source inside the container the init
	// clones and sends the parent (TagTree+index) to idmap.
	TreesForParent map[int]bool
	// Cgroup is what the cgroup mounts show (cgroup.go).
	Cgroup CgroupView
	// HasKcore: the host has /proc/kcore (for /dev/core).
	HasKcore bool
	// HostPseudoFs are the mount points of whole procfs and sysfs mounts
	// outside the rootfs (--no-pivot hides them: see Pivot).
	HostPseudoFs []string
}

// Compiler emits a rootfs's steps into a plan.
type Compiler struct {
	b    *plan.Builder
	c    *Config
	v    *view
	root int // slot of the rootfs directory, open from Prepare on
}

// NewCompiler starts compiling c's rootfs into b.
func NewCompiler(b *plan.Builder, c *Config, h Host) *Compiler {
	return &Compiler{b: b, c: c, v: newView(h, c.Rootfs), root: -1}
}

// Root is the slot holding the container's root directory once Prepare
// ran: the rootfs before pivot_root, "/" after.
func (p *Compiler) Root() int { return p.root }

// at sets the control flow of step i: on success skip to step okTo, on
// one of errnos skip to altTo (absolute indexes, -1: the next step).
func (p *Compiler) at(i, okTo, altTo int, errnos ...int) {
	s := p.b.Step(i)
	if okTo >= 0 {
		s.SkipOK = okTo - i - 1
	}
	if len(errnos) > 0 {
		s.AltErrnos = errnos
		s.SkipAlt = 0
		if altTo >= 0 {
			s.SkipAlt = altTo - i - 1
		}
	}
}

// Prepare emits the mounts under the rootfs, in the new mount namespace,
// before the createRuntime hooks: propagation, the rootfs bound onto
// itself, the spec's mounts in order, then the device nodes.
func (p *Compiler) Prepare() error {
	b, c := p.b, p.c
	if !c.InheritMountNS {
		prop := uintptr(unix.MS_SLAVE | unix.MS_REC)
		if f, ok := propOpts[c.Propagation]; ok {
			prop = f
		}
		// Stop our mounts from reaching the host. A shared or unbindable
		// root cannot be pivoted into, so those two go on the new root
		// after pivot_root; until then everything is private.
		first := prop
		if first&(unix.MS_SHARED|unix.MS_UNBINDABLE) != 0 {
			first = unix.MS_PRIVATE | unix.MS_REC
		}
		b.Add("set / propagation", plan.OpMountPath, plan.Str("/"), plan.Str(""), plan.Str(""), plan.Int(int64(first)), plan.Str(""))
		p.parentMount(propOpts[c.Propagation]) // 0 unless asked, as runc's
		b.Addf(plan.OpMountPath, []plan.Arg{plan.Str(c.Rootfs), plan.Str(c.Rootfs), plan.Str(""), plan.Int(unix.MS_BIND | unix.MS_REC), plan.Str("")},
			"bind rootfs %s", c.Rootfs)
	}
	p.root = b.Slot()
	b.Add("open rootfs "+c.Rootfs, plan.OpOpen, plan.Int(int64(p.root)), plan.Str(c.Rootfs), plan.Int(unix.O_PATH|unix.O_DIRECTORY))
	setupDev := true
	for i := range c.Mounts {
		m := &c.Mounts[i]
		if err := p.mount(i, m); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
		if filepath.Clean("/"+m.Destination) == "/dev" && isBind(m) {
			setupDev = false
		}
	}
	if setupDev {
		b.Phase("devices")
		if err := p.devices(); err != nil {
			return err
		}
	}
	return b.Err()
}

// parentMount makes the mount holding the rootfs private (a slave with a
// slave rootfsPropagation), as runc does: pivot_root refuses a shared
// parent, and the bind of the rootfs takes its propagation from it. The
// mount is found as runc finds it, from the rootfs up: a path that is not
// a mount point fails EINVAL.
func (p *Compiler) parentMount(prop uintptr) {
	b := p.b
	flag := int64(unix.MS_PRIVATE)
	word := "private"
	if prop&unix.MS_SLAVE != 0 {
		flag, word = unix.MS_SLAVE, "a slave"
	}
	var paths []string
	for path := filepath.Clean(p.c.Rootfs); ; path = filepath.Dir(path) {
		paths = append(paths, path)
		if path == "/" {
			break
		}
	}
	first, end := b.Len(), b.Len()+len(paths)
	for i, path := range paths {
		b.Addf(plan.OpMountPath, []plan.Arg{plan.Str(path), plan.Str(""), plan.Str(""), plan.Int(flag), plan.Str("")},
			"make the rootfs's parent mount %s: try %s", word, path)
		if i < len(paths)-1 {
			p.at(first+i, end, -1, int(unix.EINVAL))
		}
	}
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

func (p *Compiler) mount(i int, m *specs.Mount) error {
	o, err := parseOptions(m.Options)
	if err != nil {
		return err
	}
	dest := filepath.Clean("/" + m.Destination) // runtime-spec 1.2: relative to the container's /
	// A destination spelled with the rootfs's host path in front means
	// the same place in the container (runc takes it so).
	if rest, ok := underRoot(p.c.Rootfs, dest); ok && p.c.Rootfs != "/" && strings.HasPrefix(dest, filepath.Clean(p.c.Rootfs)+"/") {
		dest = rest
	}
	desc := fmt.Sprintf("mount %s on %s", m.Source, m.Destination)
	if fd, ok := p.c.TreeFds[i]; ok {
		return p.prepared(desc, dest, o, fd)
	}
	if p.c.TreesForParent[i] {
		return p.bindVia(desc, m.Source, dest, o, plan.TagTree+i)
	}
	if o.idmap || len(m.UIDMappings)+len(m.GIDMappings) > 0 {
		return errors.New("idmapped mount was not prepared by the parent")
	}
	if isBind(m) {
		return p.bind(desc, m.Source, dest, o)
	}
	if m.Type == "cgroup" || m.Type == "cgroup2" {
		return p.cgroup(desc, dest, o)
	}
	return p.newFs(desc, m, dest, o)
}

// destOf resolves dest in the view, refusing an escape.
func (p *Compiler) destOf(dest string) (string, error) {
	return p.v.resolve(dest)
}

// openDest emits steps opening dest into slot: an existing path, or made
// (a directory, or an empty file when file is set).
func (p *Compiler) openDest(desc, dest string, slot int, file bool) {
	how := int64(plan.HowMkdir)
	perm := int64(0o755)
	if file {
		how, perm = plan.HowMkfile, 0o644
	}
	p.b.Add(desc+": create the destination", plan.OpOpenInRoot, plan.Int(int64(slot)), plan.Int(int64(p.root)),
		plan.Str(dest), plan.Int(how), plan.Int(perm))
}

// moveTree emits the steps that attach the detached tree in slot tree at
// dest: the destination made as the tree's kind (directory or not), the
// kinds checked to match, the move, then any propagation options.
func (p *Compiler) moveTree(desc, dest string, tree int, o *mountOpts) {
	b := p.b
	dst := b.Slot()
	k := b.Len()
	b.Add(desc+": check the source", plan.OpCheckNode, plan.Int(int64(tree)), plan.Int(plan.NodeDir), plan.Int(0), plan.Int(0))
	p.openDest(desc, dest, dst, false)
	p.openDest(desc, dest, dst, true)
	p.at(k, -1, k+2, int(unix.ENOTDIR))
	p.at(k+1, k+3, -1)
	b.Add(desc+": check the source", plan.OpCheckNode, plan.Int(int64(tree)), plan.Int(plan.NodeDir), plan.Int(0), plan.Int(0))
	b.Add(desc, plan.OpCheckNode, plan.Int(int64(dst)), plan.Int(plan.NodeDir), plan.Int(0), plan.Int(0)).Codes =
		map[int]string{int(unix.ENOTDIR): "source is a directory, destination is not"}
	b.Add(desc, plan.OpCheckNode, plan.Int(int64(dst)), plan.Int(plan.NodeNotDir), plan.Int(0), plan.Int(0)).Codes =
		map[int]string{int(unix.EISDIR): "source is not a directory, destination is one"}
	p.at(k+3, -1, k+5, int(unix.ENOTDIR))
	p.at(k+4, k+6, -1)
	b.Add(desc+": move_mount", plan.OpMoveMount, plan.Int(int64(tree)), plan.Int(int64(dst)))
	b.Close(dst)
	b.Close(tree)
	p.propagation(desc, dest, o)
}

// propagation applies the mount's propagation options to what is now
// mounted at dest (a fresh handle: the old one names what is underneath).
func (p *Compiler) propagation(desc, dest string, o *mountOpts) {
	if len(o.prop) == 0 {
		return
	}
	h := p.b.Slot()
	p.b.Add(desc+": reopen", plan.OpOpenInRoot, plan.Int(int64(h)), plan.Int(int64(p.root)), plan.Str(dest), plan.Int(0), plan.Int(0))
	for _, f := range o.prop {
		p.b.Add(desc+": set propagation", plan.OpMount, plan.Int(int64(h)), plan.Str(""), plan.Str(""), plan.Int(int64(f)), plan.Str(""))
	}
	p.b.Close(h)
}

// prepared moves the tree the parent made of the source into place.
func (p *Compiler) prepared(desc, dest string, o *mountOpts, fd int) error {
	destR, err := p.destOf(dest)
	if err != nil {
		return err
	}
	tree := p.b.Slot()
	p.b.Add(desc+": take the source's tree", plan.OpAdopt, plan.Int(int64(tree)), plan.Int(int64(fd)))
	p.moveTree(desc, destR, tree, o)
	p.v.add(destR, "")
	return nil
}

// bind clones the source as a detached mount, sets its attributes, then
// moves it onto the destination: no path is looked up twice. A source
// inside the rootfs belongs to the image, whose symlinks mean the
// container's root: it is resolved inside the root (through the mounts
// made so far), so an image's "data -> /etc" never binds the host's /etc.
// Any other source is a host path the config's author chose.
func (p *Compiler) bind(desc, source, dest string, o *mountOpts) error {
	return p.bindVia(desc, source, dest, o, 0)
}

// bindVia is bind; with tag != 0 the detached tree goes to the parent
// (which sets its attributes and idmap) before it is moved into place.
func (p *Compiler) bindVia(desc, source, dest string, o *mountOpts, tag int) error {
	b, c := p.b, p.c
	src := source
	if !filepath.IsAbs(src) {
		src = filepath.Join(c.Bundle, src)
	}
	flags := int64(unix.OPEN_TREE_CLONE)
	if o.rec {
		flags |= unix.AT_RECURSIVE
	}
	destR, err := p.destOf(dest)
	if err != nil {
		return err
	}
	tree := b.Slot()
	hostSrc := src
	if rel, inside := underRoot(c.Rootfs, src); inside {
		h := b.Slot()
		b.Addf(plan.OpOpenInRoot, []plan.Arg{plan.Int(int64(h)), plan.Int(int64(p.root)), plan.Str(rel), plan.Int(0), plan.Int(0)},
			"%s: source %s inside the rootfs", desc, src)
		b.Add(desc+": open_tree", plan.OpOpenTree, plan.Int(int64(tree)), plan.Int(int64(h)), plan.Str(""), plan.Int(flags|unix.AT_EMPTY_PATH))
		b.Close(h)
		if r, err := p.v.resolve(rel); err == nil {
			hostSrc, _ = p.v.hostPath(r)
		}
	} else {
		b.Add(desc+": open_tree", plan.OpOpenTree, plan.Int(int64(tree)), plan.Int(-1), plan.Str(src), plan.Int(flags))
		// The mount shows what the source's symlinks lead to.
		hostSrc = hostResolve(p.v.host, src)
	}
	if tag != 0 {
		b.Add(desc+": idmap", plan.OpSendFd, plan.Int(int64(tree)), plan.Int(int64(tag)))
	} else {
		p.bindFlags(desc, tree, o, hostSrc)
		if o.recSet|o.recClr != 0 {
			b.Add(desc+": mount_setattr (recursive)", plan.OpSetattr, plan.Int(int64(tree)), plan.Int(unix.AT_RECURSIVE),
				plan.Int(int64(o.recSet)), plan.Int(int64(o.recClr)), plan.Int(0))
		}
	}
	p.moveTree(desc, destR, tree, o)
	p.v.add(destR, hostSrc)
	return nil
}

// bindFlags gives a bind mount's tree the flags its options ask, as runc
// does: options that set or clear a flag make the mount's flags exactly
// those asked (atime kept unless one is asked); none keep the source's.
// In a user namespace the source's flags may be locked: where setting
// them exactly fails with EPERM, runc keeps the locked ones, unless the
// options clear one of them or ask another atime, which is an error. The
// source's flags are read here (statfs) and both attempts put in the plan.
func (p *Compiler) bindFlags(desc string, tree int, o *mountOpts, hostSrc string) {
	b := p.b
	set, clr, ok := o.exactAttrs()
	if !ok {
		return
	}
	first := len(b.Steps())
	b.Add(desc+": mount_setattr", plan.OpSetattr, plan.Int(int64(tree)), plan.Int(0), plan.Int(int64(set)), plan.Int(int64(clr)), plan.Int(0))
	if !p.c.UserNS {
		return
	}
	src, err := p.v.host.MountFlags(hostSrc)
	if err != nil {
		return // the first attempt's error stands
	}
	lset, lclr, why := o.lockedAttrs(src)
	if why != "" {
		// The same attempt again, which fails as the first did, to
		// say why it cannot be helped.
		lset, lclr = set, clr
		desc += ": " + why
	} else {
		desc += ": mount_setattr keeping the source's locked flags"
	}
	b.Add(desc, plan.OpSetattr, plan.Int(int64(tree)), plan.Int(0), plan.Int(int64(lset)), plan.Int(int64(lclr)), plan.Int(0))
	p.at(first, first+2, -1, int(unix.EPERM))
}

// newFs mounts a new filesystem (proc, sysfs, tmpfs, devpts, mqueue, ...).
func (p *Compiler) newFs(desc string, m *specs.Mount, dest string, o *mountOpts) error {
	b, c := p.b, p.c
	destR, err := p.destOf(dest)
	if err != nil {
		return err
	}
	how := int64(plan.HowMkdir)
	if m.Type == "proc" || m.Type == "sysfs" {
		// An image whose /proc is a symlink (to /tmp, say) would get its
		// procfs elsewhere, and what later writes to /proc would write
		// into files the image made (CVE-2019-16884, CVE-2023-27561).
		kind := m.Type
		if kind == "proc" {
			kind = "procfs"
		}
		// (runc's words first: engines and tests look for them.)
		if destR != dest {
			return fmt.Errorf("%s must be mounted on ordinary directory: %s destination %s is a symlink (to %s) in the rootfs", dest, kind, dest, destR)
		}
		if fi, err := p.v.lstat(dest); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s must be mounted on ordinary directory: %s destination %s is a symlink in the rootfs", dest, kind, dest)
		}
		how |= plan.HowNoSymlinks
	}
	flags := o.flags
	// /dev is filled with device nodes before it can be made read-only.
	if destR == "/dev" {
		flags &^= unix.MS_RDONLY
	}
	data := o.data
	if m.Type == "tmpfs" && !hasOpt(data, "mode") {
		// The mount point's mode, as runc does, rather than tmpfs's 1777.
		if fi, err := p.v.lstat(destR); err == nil && fi.IsDir() {
			data = append(data[:len(data):len(data)], fmt.Sprintf("mode=%o", uint32(fi.Mode().Perm())|modeBits(fi.Mode())))
		}
	}
	dst := b.Slot()
	b.Add(desc+": create the destination", plan.OpOpenInRoot, plan.Int(int64(dst)), plan.Int(int64(p.root)),
		plan.Str(destR), plan.Int(how), plan.Int(0o755))
	under := -1
	if o.copyUp && m.Type == "tmpfs" {
		// tmpcopyup: a handle on what the tmpfs will cover, to copy from.
		under = b.Slot()
		b.Add(desc+": tmpcopyup", plan.OpOpenInRoot, plan.Int(int64(under)), plan.Int(int64(p.root)), plan.Str(destR), plan.Int(0), plan.Int(0))
	}
	k := b.Len()
	mnt := b.Add(desc, plan.OpMount, plan.Int(int64(dst)), plan.Str(m.Source), plan.Str(m.Type), plan.Int(int64(flags)),
		plan.Str(lsm.MountData(m.Type, strings.Join(data, ","), c.MountLabel)))
	if len(o.data) > 0 {
		// The kernel's EINVAL names nothing: say which options went to
		// the filesystem unread by teu (a typo lands there).
		mnt.Codes = map[int]string{int(unix.EINVAL): fmt.Sprintf("invalid argument (%s refused an option? these went to it as given: %s)",
			m.Type, strings.Join(o.data, ","))}
	}
	if m.Type == "sysfs" {
		// A user namespace without its own network namespace may not
		// mount sysfs: bind the host's instead, as runc does. On EPERM
		// the mount step goes on at the fallback; on success the nop
		// jumps over it.
		b.Add("skip the sysfs fallback", plan.OpNop)
		bo := *o
		bo.flags |= unix.MS_BIND | unix.MS_REC
		bo.rec = true
		if err := p.bind(desc, "/sys", destR, &bo); err != nil {
			return err
		}
		p.at(k, -1, k+2, int(unix.EPERM))
		p.at(k+1, b.Len(), -1)
		b.Close(dst)
		return nil
	}
	b.Close(dst)
	if under >= 0 {
		top := b.Slot()
		b.Add(desc+": tmpcopyup", plan.OpOpenInRoot, plan.Int(int64(top)), plan.Int(int64(p.root)), plan.Str(destR), plan.Int(0), plan.Int(0))
		b.Add(desc+": tmpcopyup", plan.OpCopyTree, plan.Int(int64(under)), plan.Int(int64(top)))
		b.Close(top)
		b.Close(under)
	}
	if m.Type == "mqueue" && c.MountLabel != "" {
		// mqueue refuses context=: label its root, as runc does.
		h := b.Slot()
		b.Add(desc+": reopen", plan.OpOpenInRoot, plan.Int(int64(h)), plan.Int(int64(p.root)), plan.Str(destR), plan.Int(0), plan.Int(0))
		b.Add(desc+": label", plan.OpSetxattr, plan.Int(int64(h)), plan.Str("security.selinux"), plan.Blob([]byte(c.MountLabel)))
		b.Close(h)
	}
	p.propagation(desc, destR, o)
	p.v.add(destR, "")
	return nil
}

func hasOpt(data []string, key string) bool {
	for _, d := range data {
		if k, _, _ := strings.Cut(d, "="); k == key {
			return true
		}
	}
	return false
}

func modeBits(m fs.FileMode) uint32 {
	var v uint32
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	return v
}
