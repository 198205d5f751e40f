package libcontainer

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/lsm"
	"github.com/teu-runtime/teu/libcontainer/rootfs"
)

// runExecInit is the Go side of `teu exec`'s process. nsexec.c has joined
// the container's namespaces (the mount namespace gave us its root), and
// the parent put us in its cgroup: the container is set up, so this only
// applies the process spec and execs, with no exec.fifo. The sync socket
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
