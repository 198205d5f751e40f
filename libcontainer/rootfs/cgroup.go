package rootfs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
)

// mountCgroup gives the container a view of its own cgroups at dest. On a
// cgroup v2 host that is one cgroup2 mount; on v1 and hybrid hosts a tmpfs
// with one directory per hierarchy. With a cgroup namespace the hierarchies
// are mounted afresh (the kernel roots them at the namespace); without one
// the container's own cgroup directories are bind-mounted from the host.
func mountCgroup(root *os.File, c *Config, m *specs.Mount, dest string, o *mountOpts) error {
	mounts, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		return i.FSType != "cgroup" && i.FSType != "cgroup2", false
	})
	if err != nil {
		return err
	}
	own, err := ownCgroups()
	if err != nil {
		return err
	}
	var v1 []*mountinfo.Info
	var v2 *mountinfo.Info
	for _, mi := range mounts {
		switch {
		case mi.FSType == "cgroup":
			v1 = append(v1, mi)
		case mi.FSType == "cgroup2" && (v2 == nil || mi.Mountpoint == "/sys/fs/cgroup"):
			v2 = mi
		}
	}
	if len(v1) == 0 {
		if v2 == nil {
			return fmt.Errorf("no cgroup filesystem on the host")
		}
		return mountHierarchy(root, c, dest, v2, own[""], "cgroup2", "", o)
	}
	// v1 or hybrid: a tmpfs to hold the hierarchies.
	h, err := openDest(root, c.Rootfs, dest, false)
	if err != nil {
		return err
	}
	flags := o.flags &^ unix.MS_RDONLY
	err = system.Mount("tmpfs", procFd(h), "tmpfs", flags, "mode=755")
	h.Close()
	if err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	for _, mi := range v1 {
		name := filepath.Base(mi.Mountpoint)
		subsys := v1Subsystems(mi.VFSOptions)
		path, ok := own[subsys]
		if !ok {
			continue
		}
		if err := mountHierarchy(root, c, filepath.Join(dest, name), mi, path, "cgroup", subsys, o); err != nil {
			return err
		}
	}
	if v2 != nil && v2.Mountpoint != "/sys/fs/cgroup" {
		if err := mountHierarchy(root, c, filepath.Join(dest, filepath.Base(v2.Mountpoint)), v2, own[""], "cgroup2", "", o); err != nil {
			return err
		}
	}
	if o.flags&unix.MS_RDONLY != 0 {
		h, err := openInRoot(root, dest)
		if err != nil {
			return err
		}
		defer h.Close()
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(int(h.Fd()), "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return fmt.Errorf("make %s read-only: %w", dest, err)
		}
	}
	return nil
}

func mountHierarchy(root *os.File, c *Config, dest string, mi *mountinfo.Info, own, fstype, subsys string, o *mountOpts) error {
	if c.CgroupNS {
		h, err := openDest(root, c.Rootfs, dest, false)
		if err != nil {
			return err
		}
		defer h.Close()
		data := ""
		if fstype == "cgroup" {
			data = subsys
			if strings.HasPrefix(subsys, "name=") {
				data = "none," + subsys
			}
		}
		err = system.Mount("cgroup", procFd(h), fstype, o.flags, data)
		if err == nil {
			return nil
		}
		// A user namespace may be refused a v1 hierarchy (rootless, whose
		// cgroup namespace is rooted where its creator could not move
		// it): bind the host's view instead, as without a cgroup namespace.
		if !c.UserNS || fstype != "cgroup" {
			return fmt.Errorf("mount %s %s: %w", fstype, subsys, err)
		}
	}
	rel, err := filepath.Rel(mi.Root, own)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = "."
	}
	source := filepath.Join(mi.Mountpoint, rel)
	// The init is not in the container's cgroups during set-up (see
	// libcontainer/cgroup.go): the parent told us where they are.
	if dir, ok := c.CgroupDirs[strings.Split(subsys, ",")[0]]; ok {
		source = dir
	}
	bo := *o
	bo.flags |= unix.MS_BIND | unix.MS_REC
	bo.rec = true
	src := specs.Mount{Source: source, Destination: dest, Type: "bind"}
	return bindMount(root, c, &src, dest, &bo)
}

// v1Subsystems picks the controller list ("cpu,cpuacct", "name=systemd")
// out of a v1 cgroup mount's super options.
func v1Subsystems(opts string) string {
	var out []string
	for _, o := range strings.Split(opts, ",") {
		switch {
		case o == "rw", o == "ro", o == "relatime", strings.HasPrefix(o, "release_agent="),
			o == "noprefix", o == "clone_children", o == "xattr", o == "nsdelegate", o == "cpuset_v2_mode":
		default:
			out = append(out, o)
		}
	}
	return strings.Join(out, ",")
}

// ownCgroups maps each hierarchy's controller list (as in /proc/self/cgroup;
// "" for cgroup2) to our cgroup in it.
func ownCgroups() (map[string]string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 {
			res[parts[1]] = parts[2]
		}
	}
	return res, sc.Err()
}
