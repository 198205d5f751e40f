package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/lsm"
	"github.com/teu-runtime/teu/libcontainer/rootfs"
)

// runExecInit is the Go side of `teu exec`'s process. nsexec.c has joined
// the container's namespaces (the mount namespace gave us its root); the
// parent puts us in its cgroup when we report ready. The container is set
// up, so this only applies the process spec and execs, with no exec.fifo. The sync socket
// closes on exec, which tells the parent the process runs.
func runExecInit(cfg *initConfig, sync syncSock) error {
	s := cfg.Spec
	p := s.Process
	if cfg.RootFd > 0 {
		if err := rootfs.EnterRoot(cfg.RootFd); err != nil {
			return fmt.Errorf("enter the container's root: %w", err)
		}
		unix.Close(cfg.RootFd)
	}
	if !cfg.NoNewKeyring {
		if err := lsm.SetSELinuxKeyring(p.SelinuxLabel); err != nil {
			return err
		}
		if err := joinSessionKeyring(cfg.ID); err != nil {
			return err
		}
	}
	if p.Terminal {
		if err := setupConsole(cfg); err != nil {
			return err
		}
	}
	// The parent moves us into the container's cgroup now, before the
	// process attributes (a cpuset move would reset the CPU affinity).
	if err := sync.send(syncMsg{Type: msgReady}); err != nil {
		return err
	}
	if m, err := sync.recv(); err != nil || m.Type != msgAck {
		if err == nil {
			err = errors.New(m.Error)
		}
		return fmt.Errorf("join cgroup: %w", err)
	}
	path, env, err := applyProcess(cfg, sync, newPhaseTimer(false, time.Time{}))
	if err != nil {
		return err
	}
	if err := initSeccomp(s, sync, seccompBeforeReady); err != nil {
		return err
	}
	if err := execProcess(s, sync, path, p.Args, env); err != nil {
		// The filter may deny the report; then it goes to our stderr.
		if sync.send(syncMsg{Type: msgError, Error: err.Error()}) != nil {
			fmt.Fprintln(os.Stderr, "teu exec:", err)
		}
		os.Exit(1)
	}
	return nil
}
