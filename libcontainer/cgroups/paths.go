package cgroups

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// Hierarchy is one mounted cgroup hierarchy.
type Hierarchy struct {
	// Mountpoint is where it is mounted (/sys/fs/cgroup/memory).
	Mountpoint string
	// Root is the cgroup the mount shows at Mountpoint (mountinfo's root
	// field): "/" unless mounted from inside a cgroup namespace.
	Root string
	// Controllers are the v1 controllers ("cpu", "cpuacct") or the name
	// ("name=systemd") of a v1 hierarchy; empty for cgroup2.
	Controllers []string
	// Unified is set for the cgroup2 hierarchy.
	Unified bool
}

// Hierarchies lists the mounted cgroup hierarchies, one entry each (the
// first mount of a hierarchy wins; cgroup2 prefers /sys/fs/cgroup, then
// /sys/fs/cgroup/unified).
func Hierarchies() ([]Hierarchy, error) {
	mounts, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		return i.FSType != "cgroup" && i.FSType != "cgroup2", false
	})
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var hs []Hierarchy
	seen := map[string]bool{}
	var v2 *Hierarchy
	for _, mi := range mounts {
		if mi.FSType == "cgroup2" {
			if v2 == nil || mi.Mountpoint == MountRoot || (mi.Mountpoint == hybridMount && v2.Mountpoint != MountRoot) {
				v2 = &Hierarchy{Mountpoint: mi.Mountpoint, Root: mi.Root, Unified: true}
			}
			continue
		}
		ctrls := v1Controllers(mi.VFSOptions)
		key := strings.Join(ctrls, ",")
		if len(ctrls) == 0 || seen[key] {
			continue
		}
		seen[key] = true
		hs = append(hs, Hierarchy{Mountpoint: mi.Mountpoint, Root: mi.Root, Controllers: ctrls})
	}
	if v2 != nil {
		hs = append(hs, *v2)
	}
	return hs, nil
}

// v1Controllers picks the controllers out of a v1 mount's super options.
func v1Controllers(opts string) []string {
	var out []string
	for _, o := range strings.Split(opts, ",") {
		switch {
		case o == "rw", o == "ro", o == "relatime", o == "noprefix", o == "clone_children",
			o == "xattr", o == "cpuset_v2_mode", o == "nsdelegate", o == "none",
			strings.HasPrefix(o, "release_agent="):
		default:
			out = append(out, o)
		}
	}
	return out
}

// Host is the host's cgroup hierarchies and the caller's own cgroup in each
// (as OwnCgroups gives them): what resolving, moving into and mounting
// cgroups start from. A command reads it once (ReadHost) and passes it on:
// each read is a parse of mountinfo and of /proc/self/cgroup.
type Host struct {
	Hierarchies []Hierarchy
	Own         map[string]string
}

// ReadHost reads the host's cgroup hierarchies and our own cgroups.
func ReadHost() (*Host, error) {
	hs, err := Hierarchies()
	if err != nil {
		return nil, err
	}
	own, err := OwnCgroups()
	if err != nil {
		return nil, fmt.Errorf("read own cgroups: %w", err)
	}
	return &Host{Hierarchies: hs, Own: own}, nil
}

// HostView is cfg.Host, or the host read now.
func (cfg *Config) HostView() (*Host, error) {
	if cfg.Host != nil {
		return cfg.Host, nil
	}
	return ReadHost()
}

// OwnCgroups maps each controller ("cpu", "name=systemd"; "" for cgroup2)
// to the calling process's cgroup in that hierarchy, from /proc/self/cgroup.
func OwnCgroups() (map[string]string, error) {
	return ParseCgroupFile("/proc/self/cgroup")
}

// ParseCgroupFile reads a /proc/<pid>/cgroup file.
func ParseCgroupFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			res[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			res[c] = parts[2]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return res, nil
}

// InnerPath resolves cfg's cgroupsPath, runc's way, to a cgroup path inside
// a hierarchy (from its root): an absolute path is taken as is, a relative
// one is joined to own (the caller's cgroup in that hierarchy), and an empty
// one is own/<id>. The result is clean and cannot climb above "/".
func InnerPath(cfg *Config, own string) (string, error) {
	p := cfg.Path
	if p == "" {
		if cfg.ID == "" {
			return "", fmt.Errorf("cgroup path: neither cgroupsPath nor a container id")
		}
		p = cfg.ID
	}
	if !filepath.IsAbs(p) {
		if own == "" {
			own = "/"
		}
		p = own + "/" + p
	}
	p = filepath.Clean("/" + p)
	if p == "/" {
		return "", fmt.Errorf("cgroup path %q resolves to the hierarchy's root", cfg.Path)
	}
	return p, nil
}

// Dir is where the cgroup at inner (a path from the hierarchy's root, as
// InnerPath returns) appears under h's mount point.
func (h *Hierarchy) Dir(inner string) (string, error) {
	root := h.Root
	if root == "" {
		root = "/"
	}
	rel, err := filepath.Rel(root, inner)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("cgroup %s is outside the mount of %s (root %s)", inner, h.Mountpoint, root)
	}
	return filepath.Join(h.Mountpoint, rel), nil
}
