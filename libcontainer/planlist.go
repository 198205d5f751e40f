package libcontainer

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/initplan"
	"github.com/teu-runtime/teu/libcontainer/plan"
	rootfspkg "github.com/teu-runtime/teu/libcontainer/rootfs"
	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/validate"
)

// PlanListing compiles the plan `teu create` would run for o's bundle and
// returns it as text, one step a line, without making anything: the
// container's pid is 0, its cgroup is none, HOME and the executable are
// looked up in the rootfs as it is on disk, and each fd the parent would
// pass is named by the number it would have. For people debugging a
// config, and for golden tests.
func PlanListing(o *CreateOpts) (string, error) {
	s := o.Spec
	if err := validate.Spec(s, o.Bundle); err != nil {
		return "", err
	}
	bpf, err := compileSeccomp(s)
	if err != nil {
		return "", err
	}
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(o.Bundle, rootfs)
	}
	if r, err := filepath.EvalSymlinks(rootfs); err == nil {
		rootfs = r
	}
	c := &Container{state: state.State{ID: o.ID, Bundle: o.Bundle, Rootfs: rootfs, Created: time.Unix(0, 0).UTC(), Annotations: s.Annotations}}
	l := &launcher{c: c, opts: o, spec: lsmForHost(s), seccompBPF: bpf}
	sp, err := newSpawn(nil)
	if err != nil {
		return "", err
	}
	defer sp.close()
	l.sp = sp
	null, err := os.Open(os.DevNull)
	if err != nil {
		return "", err
	}
	defer null.Close()
	b := &sp.b
	l.preserve = o.PreserveFds
	l.fifoSlot = sp.adopt(sp.fd(null), "exec.fifo")
	l.consoleSlot = -1
	if s.Process.Terminal {
		l.consoleSlot = sp.adopt(sp.fd(null), "the console socket")
	}
	// The trees the parent would make are named by the fd they would have.
	l.trees = &mountTrees{s: s, bundle: o.Bundle, rootfs: rootfs}
	for i := range s.Mounts {
		m := &s.Mounts[i]
		inside := rootfsSourceInside(m, rootfs, o.Bundle)
		switch {
		case isIDMapped(m) && inside:
			if l.treesLater == nil {
				l.treesLater = map[int]bool{}
			}
			l.treesLater[i] = true
		case isIDMapped(m) || (hasNewNs(s, specs.UserNamespace) && os.Geteuid() == 0 && !inside && isBindMount(m)):
			if l.treeFds == nil {
				l.treeFds = map[int]int{}
			}
			l.treeFds[i] = sp.fd(null)
		}
	}
	boot, err := l.bootOpts()
	if err != nil {
		return "", err
	}
	l.chooseNoFork(boot)
	initplan.Boot(b, boot)
	if err := l.setupPart(); err != nil {
		return "", err
	}
	root, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open rootfs: %w", err)
	}
	defer unix.Close(root)
	if err := l.processPart(root); err != nil {
		return "", err
	}
	if err := b.Err(); err != nil {
		return "", err
	}
	// What would go on the wire must encode.
	if _, err := (&plan.Part{Steps: b.Steps()}).Encode(); err != nil {
		return "", err
	}
	return b.Listing(), nil
}

func rootfsSourceInside(m *specs.Mount, rootfs, bundle string) bool {
	return rootfspkg.SourceInRootfs(m, rootfs, bundle)
}

func isIDMapped(m *specs.Mount) bool {
	if len(m.UIDMappings)+len(m.GIDMappings) > 0 {
		return true
	}
	for _, o := range m.Options {
		if o == "idmap" || o == "ridmap" {
			return true
		}
	}
	return false
}
