package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
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

// mountTrees makes the detached trees of the bind mounts the parent
// prepares (rootfs.SourceTree): every idmapped mount, and, for a container
// in a user namespace of its own, every bind of a host path (its root may
// not reach the source; runc opens those as the host's root too). An
// idmapped mount whose source is inside the container is cloned by the
// init, after the mounts before it, and idmapped here when the init sends
// it (finish). User namespaces for idmaps are made once per mapping.
type mountTrees struct {
	s      *specs.Spec
	bundle string
	rootfs string
	userns map[string]*os.File // by mapping
}

func (t *mountTrees) close() {
	for _, f := range t.userns {
		f.Close()
	}
}

// plan decides, per mount index, which trees the parent makes now
// (returned, to pass to the init) and which the init makes and sends for
// finish (the set).
func (t *mountTrees) plan() (made map[int]*os.File, later map[int]bool, err error) {
	s := t.s
	userns := hasNewNs(s, specs.UserNamespace) && os.Geteuid() == 0
	fail := func(err error) (map[int]*os.File, map[int]bool, error) {
		for _, f := range made {
			f.Close()
		}
		return nil, nil, err
	}
	for i := range s.Mounts {
		m := &s.Mounts[i]
		idmap := rootfs.IDMapped(m)
		inside := rootfs.SourceInRootfs(m, t.rootfs, t.bundle)
		switch {
		case idmap && os.Geteuid() != 0:
			return fail(errors.New("idmapped mounts need root: idmapping a mount needs CAP_SYS_ADMIN over its filesystem"))
		case idmap && inside:
			if later == nil {
				later = map[int]bool{}
			}
			later[i] = true
			continue
		case !idmap && (!userns || inside || !isBindMount(m)):
			continue
		}
		ns := -1
		if idmap {
			f, err := t.usernsFor(i)
			if err != nil {
				return fail(fmt.Errorf("mount %s: %w", m.Destination, err))
			}
			ns = int(f.Fd())
		}
		tree, err := rootfs.SourceTree(m, t.bundle, ns, userns && !idmap)
		if err != nil {
			return fail(fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err))
		}
		if made == nil {
			made = map[int]*os.File{}
		}
		made[i] = tree
	}
	return made, later, nil
}

// finish idmaps (and sets the attributes of) the tree of mount i the init
// made of a source inside the container.
func (t *mountTrees) finish(i, fd int) error {
	if i < 0 || i >= len(t.s.Mounts) || fd < 0 {
		return fmt.Errorf("no tree for mount %d", i)
	}
	m := &t.s.Mounts[i]
	ns, err := t.usernsFor(i)
	if err != nil {
		return fmt.Errorf("mount %s: %w", m.Destination, err)
	}
	if err := rootfs.FinishTree(fd, m, int(ns.Fd()), false); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
	}
	return nil
}

// usernsFor is the user namespace idmapped mount i maps through: one with
// the mount's own mappings or, without any, the container's (validate made
// sure there is one), joined by path or new with the container's maps.
func (t *mountTrees) usernsFor(i int) (*os.File, error) {
	m := &t.s.Mounts[i]
	uids, gids := m.UIDMappings, m.GIDMappings
	key := ""
	if len(uids)+len(gids) == 0 {
		for _, n := range t.s.Linux.Namespaces {
			if n.Type == specs.UserNamespace && n.Path != "" {
				key = "path:" + n.Path
			}
		}
		uids, gids = t.s.Linux.UIDMappings, t.s.Linux.GIDMappings
	}
	if key == "" {
		key = string(formatIDMap(uids)) + "/" + string(formatIDMap(gids))
	}
	if f := t.userns[key]; f != nil {
		return f, nil
	}
	var f *os.File
	var err error
	if path, ok := strings.CutPrefix(key, "path:"); ok {
		if f, err = os.Open(path); err != nil {
			return nil, fmt.Errorf("open user namespace: %w", err)
		}
	} else if f, err = newUserns(uids, gids); err != nil {
		return nil, err
	}
	if t.userns == nil {
		t.userns = map[string]*os.File{}
	}
	t.userns[key] = f
	return f, nil
}

func isBindMount(m *specs.Mount) bool {
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
