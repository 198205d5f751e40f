package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/rootfs"
)

// envUsernsHold makes `teu init` a process that only holds a user
// namespace open (with the maps its parent wrote) until its stdin closes.
const envUsernsHold = "_TEU_USERNS_HOLD"

// HoldUsernsIfAsked is the whole life of such a holder; main calls it for
// `teu init`.
func HoldUsernsIfAsked() {
	if os.Getenv(envUsernsHold) == "" {
		return
	}
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// idmapTrees prepares every idmapped mount of s (see rootfs.IDMapTree): for
// each, a user namespace with the mount's own mappings or, without any, the
// container's. The trees are returned by mount index; the caller passes
// them to the init and closes them.
func idmapTrees(s *specs.Spec, bundle string) (map[int]*os.File, error) {
	var idx []int
	for i := range s.Mounts {
		if rootfs.IDMapped(&s.Mounts[i]) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("idmapped mounts need root: idmapping a mount needs CAP_SYS_ADMIN over its filesystem")
	}
	userns := map[string]*os.File{} // by mapping
	defer func() {
		for _, f := range userns {
			f.Close()
		}
	}()
	trees := map[int]*os.File{}
	fail := func(err error) (map[int]*os.File, error) {
		for _, t := range trees {
			t.Close()
		}
		return nil, err
	}
	for _, i := range idx {
		m := &s.Mounts[i]
		uids, gids := m.UIDMappings, m.GIDMappings
		var ns *os.File
		if len(uids)+len(gids) == 0 {
			// The container's own user namespace (validate made sure
			// there is one): joined by path, or new with these maps.
			for _, n := range s.Linux.Namespaces {
				if n.Type == specs.UserNamespace && n.Path != "" {
					f, err := os.Open(n.Path)
					if err != nil {
						return fail(fmt.Errorf("mount %s: open user namespace: %w", m.Destination, err))
					}
					ns = f
					userns["path:"+n.Path+strconv.Itoa(i)] = f
				}
			}
			uids, gids = s.Linux.UIDMappings, s.Linux.GIDMappings
		}
		if ns == nil {
			key := string(formatIDMap(uids)) + "/" + string(formatIDMap(gids))
			if ns = userns[key]; ns == nil {
				f, err := newUserns(uids, gids)
				if err != nil {
					return fail(fmt.Errorf("mount %s: %w", m.Destination, err))
				}
				ns, userns[key] = f, f
			}
		}
		t, err := rootfs.IDMapTree(m, bundle, int(ns.Fd()))
		if err != nil {
			return fail(fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err))
		}
		trees[i] = t
	}
	return trees, nil
}

// newUserns returns a handle on a new user namespace with the given maps:
// a holder process (teu itself) is started in it, its namespace opened,
// and the holder let go.
func newUserns(uids, gids []specs.LinuxIDMapping) (*os.File, error) {
	conv := func(ms []specs.LinuxIDMapping) []syscall.SysProcIDMap {
		var out []syscall.SysProcIDMap
		for _, m := range ms {
			out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
		return out
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	defer w.Close()
	cmd := &exec.Cmd{
		Path:  "/proc/self/exe",
		Args:  []string{"teu", "init"},
		Env:   []string{envUsernsHold + "=1"},
		Stdin: r,
		Dir:   "/",
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: conv(uids), GidMappings: conv(gids),
			Pdeathsig: syscall.SIGKILL,
		},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("make idmap user namespace: %w", err)
	}
	ns, err := os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
	w.Close()
	cmd.Wait()
	if err != nil {
		return nil, fmt.Errorf("open idmap user namespace: %w", err)
	}
	return ns, nil
}
