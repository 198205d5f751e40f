// Package rootfs builds a container's root filesystem inside its new mount
// namespace: the spec's mounts in order, device nodes, pivot_root, masked
// and read-only paths. Every destination is resolved inside the rootfs and
// held as an O_PATH fd before anything is mounted on it, so a symlink the
// container planted cannot send a mount elsewhere.
package rootfs

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOpts is a parsed mount options list.
type mountOpts struct {
	flags     uintptr // MS_* to set
	clear     uintptr // MS_* explicitly negated ("rw", "suid", ...)
	prop      []uintptr
	recSet    uint64 // MOUNT_ATTR_* set recursively ("rro", ...)
	recClr    uint64
	data      []string // passed to the filesystem
	bind, rec bool
	idmap     bool // idmap or ridmap
	ridmap    bool // the idmap applies to every mount of an rbind
	copyUp    bool // tmpcopyup: a tmpfs gets the content of what it covers
}

var flagOpts = map[string]struct {
	clear bool
	flag  uintptr
}{
	"async": {true, unix.MS_SYNCHRONOUS}, "atime": {true, unix.MS_NOATIME},
	"bind": {false, unix.MS_BIND}, "defaults": {false, 0},
	"dev": {true, unix.MS_NODEV}, "diratime": {true, unix.MS_NODIRATIME},
	"dirsync": {false, unix.MS_DIRSYNC}, "exec": {true, unix.MS_NOEXEC},
	"iversion": {false, unix.MS_I_VERSION}, "noiversion": {true, unix.MS_I_VERSION},
	"lazytime": {false, unix.MS_LAZYTIME}, "nolazytime": {true, unix.MS_LAZYTIME},
	"loud": {true, unix.MS_SILENT}, "mand": {false, unix.MS_MANDLOCK}, "nomand": {true, unix.MS_MANDLOCK},
	"noatime": {false, unix.MS_NOATIME}, "nodev": {false, unix.MS_NODEV},
	"nodiratime": {false, unix.MS_NODIRATIME}, "noexec": {false, unix.MS_NOEXEC},
	"norelatime": {true, unix.MS_RELATIME}, "nostrictatime": {true, unix.MS_STRICTATIME},
	"nosuid": {false, unix.MS_NOSUID}, "rbind": {false, unix.MS_BIND | unix.MS_REC},
	"relatime": {false, unix.MS_RELATIME}, "remount": {false, unix.MS_REMOUNT},
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY}, "silent": {false, unix.MS_SILENT},
	"strictatime": {false, unix.MS_STRICTATIME}, "suid": {true, unix.MS_NOSUID},
	"sync": {false, unix.MS_SYNCHRONOUS}, "nosymfollow": {false, unix.MS_NOSYMFOLLOW},
	"symfollow": {true, unix.MS_NOSYMFOLLOW},
}

var propOpts = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

var recAttrOpts = map[string]struct {
	clear bool
	attr  uint64
}{
	"rro": {false, unix.MOUNT_ATTR_RDONLY}, "rrw": {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid": {false, unix.MOUNT_ATTR_NOSUID}, "rsuid": {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev": {false, unix.MOUNT_ATTR_NODEV}, "rdev": {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec": {false, unix.MOUNT_ATTR_NOEXEC}, "rexec": {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime": {false, unix.MOUNT_ATTR_NODIRATIME}, "rdiratime": {true, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {false, unix.MOUNT_ATTR_NOSYMFOLLOW}, "rsymfollow": {true, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rrelatime": {false, unix.MOUNT_ATTR_RELATIME}, "rnoatime": {false, unix.MOUNT_ATTR_NOATIME},
	"rstrictatime": {false, unix.MOUNT_ATTR_STRICTATIME},
}

// MountOptions lists every mount option teu acts on, sorted (for
// `features`): the flag, propagation and recursive-attribute tables.
// Anything else goes to the filesystem as data, except idmap/ridmap
// (idmapped bind mounts) and tmpcopyup (a tmpfs starts with a copy of what
// it covers).
func MountOptions() []string {
	out := make([]string, 0, len(flagOpts)+len(propOpts)+len(recAttrOpts))
	for o := range flagOpts {
		out = append(out, o)
	}
	for o := range propOpts {
		out = append(out, o)
	}
	for o := range recAttrOpts {
		out = append(out, o)
	}
	out = append(out, "idmap", "ridmap")
	sort.Strings(out)
	return out
}

func parseOptions(opts []string) (*mountOpts, error) {
	o := &mountOpts{}
	for _, opt := range opts {
		if f, ok := flagOpts[opt]; ok {
			if f.clear {
				o.flags &^= f.flag
				o.clear |= f.flag
			} else {
				o.flags |= f.flag
				o.clear &^= f.flag
			}
			continue
		}
		if p, ok := propOpts[opt]; ok {
			o.prop = append(o.prop, p)
			continue
		}
		if a, ok := recAttrOpts[opt]; ok {
			if a.clear {
				o.recClr |= a.attr
			} else {
				if a.attr == unix.MOUNT_ATTR_RELATIME || a.attr == unix.MOUNT_ATTR_NOATIME || a.attr == unix.MOUNT_ATTR_STRICTATIME {
					o.recClr |= unix.MOUNT_ATTR__ATIME
				}
				o.recSet |= a.attr
			}
			continue
		}
		switch opt {
		case "idmap", "ridmap":
			o.idmap = true
			o.ridmap = o.ridmap || opt == "ridmap"
			continue
		case "tmpcopyup":
			o.copyUp = true
			continue
		case "":
			continue
		}
		if strings.ContainsRune(opt, ',') {
			return nil, fmt.Errorf("invalid mount option %q", opt)
		}
		o.data = append(o.data, opt)
	}
	o.bind = o.flags&unix.MS_BIND != 0
	o.rec = o.flags&unix.MS_REC != 0
	return o, nil
}

const (
	// msAtime: the atime flags of mount(2).
	msAtime = unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME
	// msLockable: what the kernel locks on the mounts a user namespace's
	// mount namespace inherits (MNT_LOCK_*), as runc counts them.
	msLockable = unix.MS_RDONLY | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOSUID | msAtime
	// attrFlags: the per-mount flags a bind remount sets or clears.
	attrFlags = unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC | unix.MOUNT_ATTR_NOSYMFOLLOW
)

// exactAttrs is runc's bind remount in mount_setattr(2) form: ok when
// the options set a flag (beyond bind, rbind, remount) or clear one; then
// the mount gets exactly the flags they set, its atime kept unless an
// atime flag is set (mount(2)'s MS_REMOUNT rule).
func (o *mountOpts) exactAttrs() (set, clr uint64, ok bool) {
	if o.flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) == 0 && o.clear == 0 {
		return 0, 0, false
	}
	set, _ = msToAttr(o.flags)
	clr = attrFlags &^ set
	set &= attrFlags | unix.MOUNT_ATTR_NODIRATIME
	if o.flags&msAtime != 0 {
		a, _ := atimeAttr(o.flags)
		set |= a
		clr |= unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME
		clr &^= set & unix.MOUNT_ATTR_NODIRATIME
	}
	return set, clr, true
}

// lockedAttrs is runc's second attempt in a user namespace: the flags
// asked plus the source's lockable ones (src, MS_*). why says why there
// can be none: the options clear a locked flag, or ask another atime.
func (o *mountOpts) lockedAttrs(src uintptr) (set, clr uint64, why string) {
	if bad := src & o.clear & msLockable; bad != 0 {
		return 0, 0, "cannot clear locked flags " + msNames(bad)
	}
	if o.flags&msAtime != 0 && o.flags&msAtime != src&msAtime {
		return 0, 0, "cannot change locked atime flags " + msNames(src&msAtime)
	}
	flags := o.flags | src&msLockable
	set, _ = msToAttr(flags)
	clr = attrFlags &^ set
	set &= attrFlags | unix.MOUNT_ATTR_NODIRATIME
	if flags&msAtime != 0 {
		a, _ := atimeAttr(flags)
		set |= a
		clr |= unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_NODIRATIME
		clr &^= set & unix.MOUNT_ATTR_NODIRATIME
	}
	return set, clr, ""
}

// msToAttr converts the per-mount MS_* flags in f to MOUNT_ATTR_* bits
// (atime's enum aside: atimeAttr).
func msToAttr(f uintptr) (attr uint64, rest uintptr) {
	for _, c := range []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY}, {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME}, {unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
	} {
		if f&c.ms != 0 {
			attr |= c.attr
			f &^= c.ms
		}
	}
	return attr, f
}

// atimeAttr is the atime mount(2) gives for the flags f: strictatime
// over noatime over relatime (its default once any atime flag is given).
func atimeAttr(f uintptr) (uint64, bool) {
	switch {
	case f&unix.MS_STRICTATIME != 0:
		return unix.MOUNT_ATTR_STRICTATIME, true
	case f&unix.MS_NOATIME != 0:
		return unix.MOUNT_ATTR_NOATIME, true
	}
	return unix.MOUNT_ATTR_RELATIME, f&msAtime != 0
}

// msNames names the flags in f as mount options.
func msNames(f uintptr) string {
	var out []string
	for _, n := range []struct {
		ms   uintptr
		name string
	}{
		{unix.MS_RDONLY, "ro"}, {unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"}, {unix.MS_NOEXEC, "noexec"},
		{unix.MS_NOATIME, "noatime"}, {unix.MS_NODIRATIME, "nodiratime"}, {unix.MS_RELATIME, "relatime"},
		{unix.MS_STRICTATIME, "strictatime"},
	} {
		if f&n.ms != 0 {
			out = append(out, n.name)
		}
	}
	return strings.Join(out, ",")
}

// statfsFlags converts statfs(2)'s f_flags to MS_* flags.
func statfsFlags(f int64) uintptr {
	const stNosymfollow = 0x2000
	var ms uintptr
	for _, c := range []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME}, {stNosymfollow, unix.MS_NOSYMFOLLOW},
	} {
		if f&c.st != 0 {
			ms |= c.ms
		}
	}
	// strictatime is no flag of its own: a mount with neither noatime
	// nor relatime has it.
	if ms&(unix.MS_NOATIME|unix.MS_RELATIME) == 0 {
		ms |= unix.MS_STRICTATIME
	}
	return ms
}
