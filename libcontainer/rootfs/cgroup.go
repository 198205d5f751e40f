package rootfs

import (
	"errors"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/plan"
)

// CgroupView is what a cgroup mount shows the container: on a cgroup v2 host
// one cgroup2 hierarchy; on v1 and hybrid hosts a tmpfs with a directory
// per hierarchy. The parent reads it off the host (HostCgroupView).
type CgroupView struct {
	// Tmpfs: v1 or hybrid, the hierarchies go into a tmpfs at the mount.
	Tmpfs bool
	Hier  []CgroupHier
}

// CgroupHier is one hierarchy of a CgroupView.
type CgroupHier struct {
	Name   string // directory under the mount ("" for the mount itself)
	FSType string // cgroup or cgroup2
	Data   string // v1: the controllers ("cpu,cpuacct", "none,name=systemd")
	Source string // the container's cgroup directory on the host, to bind without a cgroup namespace
}

// HostCgroupView is what the container's cgroup mounts show of the host's
// cgroups (host, from cgroups.ReadHost: the hierarchies and our own cgroups,
// in which the init does its set-up, outside the container's); dirs are the
// container's cgroups (controller → host dir, as in state.json), which
// replace ours as bind sources.
func HostCgroupView(host *cgroups.Host, dirs map[string]string) (CgroupView, error) {
	var v1 []*cgroups.Hierarchy
	var v2 *cgroups.Hierarchy
	for i := range host.Hierarchies {
		if h := &host.Hierarchies[i]; h.Unified {
			v2 = h
		} else if len(h.Controllers) > 0 {
			v1 = append(v1, h)
		}
	}
	source := func(h *cgroups.Hierarchy, ownPath, ctrl string) string {
		if d, ok := dirs[ctrl]; ok {
			return d
		}
		rel, err := filepath.Rel(h.Root, ownPath)
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = "."
		}
		return filepath.Join(h.Mountpoint, rel)
	}
	if len(v1) == 0 {
		if v2 == nil {
			return CgroupView{}, errors.New("no cgroup filesystem on the host")
		}
		return CgroupView{Hier: []CgroupHier{{FSType: "cgroup2", Source: source(v2, host.Own[""], "")}}}, nil
	}
	cv := CgroupView{Tmpfs: true}
	for _, h := range v1 {
		first := h.Controllers[0]
		path, ok := host.Own[first]
		if !ok {
			continue
		}
		data := strings.Join(h.Controllers, ",")
		if strings.HasPrefix(data, "name=") {
			data = "none," + data
		}
		cv.Hier = append(cv.Hier, CgroupHier{Name: filepath.Base(h.Mountpoint), FSType: "cgroup", Data: data,
			Source: source(h, path, first)})
	}
	if v2 != nil && v2.Mountpoint != cgroups.MountRoot {
		cv.Hier = append(cv.Hier, CgroupHier{Name: filepath.Base(v2.Mountpoint), FSType: "cgroup2", Source: source(v2, host.Own[""], "")})
	}
	return cv, nil
}

// cgroup gives the container a view of its own cgroups at dest. With a
// cgroup namespace the hierarchies are mounted afresh (the kernel roots
// them at the namespace); without one the container's own cgroup
// directories are bound from the host.
func (p *Compiler) cgroup(desc, dest string, o *mountOpts) error {
	b, cv := p.b, p.c.Cgroup
	destR, err := p.destOf(dest)
	if err != nil {
		return err
	}
	if len(cv.Hier) == 0 {
		return errors.New("no cgroup filesystem on the host")
	}
	if !cv.Tmpfs {
		if err := p.hierarchy(desc, destR, cv.Hier[0], o); err != nil {
			return err
		}
		p.v.add(destR, "")
		return nil
	}
	h := b.Slot()
	p.openDest(desc, destR, h, false)
	b.Add(desc+": mount tmpfs", plan.OpMount, plan.Int(int64(h)), plan.Str("tmpfs"), plan.Str("tmpfs"),
		plan.Int(int64(o.flags&^unix.MS_RDONLY)), plan.Str("mode=755"))
	b.Close(h)
	p.v.add(destR, "")
	for _, hi := range cv.Hier {
		if err := p.hierarchy(desc, filepath.Join(destR, hi.Name), hi, o); err != nil {
			return err
		}
	}
	if o.flags&unix.MS_RDONLY != 0 {
		h := b.Slot()
		b.Add(desc+": reopen", plan.OpOpenInRoot, plan.Int(int64(h)), plan.Int(int64(p.root)), plan.Str(destR), plan.Int(0), plan.Int(0))
		b.Addf(plan.OpSetattr, []plan.Arg{plan.Int(int64(h)), plan.Int(0), plan.Int(unix.MOUNT_ATTR_RDONLY), plan.Int(0), plan.Int(0)},
			"%s: make %s read-only", desc, dest)
		b.Close(h)
	}
	return nil
}

func (p *Compiler) hierarchy(desc, dest string, hi CgroupHier, o *mountOpts) error {
	b := p.b
	bo := *o
	bo.flags |= unix.MS_BIND | unix.MS_REC
	bo.rec = true
	if !p.c.CgroupNS {
		return p.bind(desc, hi.Source, dest, &bo)
	}
	h := b.Slot()
	p.openDest(desc, dest, h, false)
	k := b.Len()
	b.Addf(plan.OpMount, []plan.Arg{plan.Int(int64(h)), plan.Str("cgroup"), plan.Str(hi.FSType), plan.Int(int64(o.flags)), plan.Str(hi.Data)},
		"%s: mount %s %s", desc, hi.FSType, hi.Data)
	if p.c.UserNS {
		// A user namespace may be refused a v1 hierarchy (rootless, whose
		// cgroup namespace is rooted where its creator could not move it),
		// and cgroup2 (EBUSY: Linux 6.1 finds the host's superblock, made
		// in the initial user namespace): bind the host's view instead,
		// as without a cgroup namespace.
		b.Add("skip the cgroup fallback", plan.OpNop)
		if err := p.bind(desc, hi.Source, dest, &bo); err != nil {
			return err
		}
		p.at(k, -1, k+2, int(unix.EPERM), int(unix.EACCES), int(unix.EBUSY))
		p.at(k+1, b.Len(), -1)
	}
	b.Close(h)
	return nil
}
