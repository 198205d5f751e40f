package libcontainer

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	_ "github.com/teu-runtime/teu/libcontainer/cgroups/fs1" // registers itself
	"github.com/teu-runtime/teu/libcontainer/cgroups/fs2"
	_ "github.com/teu-runtime/teu/libcontainer/cgroups/systemd" // registers itself
)

// The cgroup drivers register with cgroups.New/Load. fs1 does so from its
// own init; fs2's constructor takes (root, path), so it is adapted here.
func init() {
	cgroups.Register(cgroups.DriverFs2, newFs2)
}

// newFs2 resolves the container's cgroup on the unified hierarchy (runc's
// cgroupsPath rules, see cgroups.InnerPath) and hands it to fs2.
func newFs2(cfg cgroups.Config, paths map[string]string) (cgroups.Manager, error) {
	if dir := paths[""]; dir != "" {
		rel, err := filepath.Rel(cgroups.MountRoot, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("cgroup %s is not under %s", dir, cgroups.MountRoot)
		}
		return fs2.NewManager(cgroups.MountRoot, "/"+rel, &cfg)
	}
	host, err := cfg.HostView()
	if err != nil {
		return nil, err
	}
	hs, own := host.Hierarchies, host.Own
	for i := range hs {
		h := &hs[i]
		if !h.Unified || h.Mountpoint != cgroups.MountRoot {
			continue
		}
		// A relative path goes under the parent of our own cgroup, as
		// runc's: ours has processes (us), so on v2 no controller could be
		// enabled below it.
		inner, err := cgroups.InnerPath(&cfg, path.Dir(own[""]))
		if err != nil {
			return nil, err
		}
		dir, err := h.Dir(inner)
		if err != nil {
			return nil, err
		}
		return fs2.NewManager(cgroups.MountRoot, strings.TrimPrefix(dir, cgroups.MountRoot), &cfg)
	}
	return nil, fmt.Errorf("no cgroup2 filesystem at %s", cgroups.MountRoot)
}
