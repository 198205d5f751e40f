package libcontainer

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/system"
	"github.com/teu-runtime/teu/libcontainer/validate"
)

// runExecInit is the Go side of `teu exec`'s process. nsexec.c has joined
// the container's namespaces (the mount namespace gave us its root), and
// the parent put us in its cgroup: the container is set up, so this only
// applies the process spec and execs, with no exec.fifo. The sync socket
// closes on exec, which tells the parent the process runs.
func runExecInit(cfg *initConfig, sync syncSock) error {
	s := cfg.Spec
	p := s.Process
	if !cfg.NoNewKeyring {
		if err := joinSessionKeyring(cfg.ID); err != nil {
			return err
		}
	}
	if p.Terminal {
		if err := setupConsole(cfg); err != nil {
			return err
		}
	}
	for _, r := range p.Rlimits {
		lim := syscall.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := syscall.Setrlimit(validate.Rlimits[r.Type], &lim); err != nil {
			return fmt.Errorf("set %s to %d/%d: %w", r.Type, r.Soft, r.Hard, err)
		}
	}
	env := append([]string{}, p.Env...)
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+homeDir(int(p.User.UID)))
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return err
	}
	if err := initSeccomp(s, sync, seccompBeforeCredentials); err != nil {
		return err
	}
	if err := finalizeCredentials(p); err != nil {
		return err
	}
	if err := unix.Chdir(p.Cwd); err != nil {
		return fmt.Errorf("chdir to cwd %s: %w", p.Cwd, err)
	}
	if err := checkCwd(); err != nil {
		return err
	}
	umask := 0o022
	if p.User.Umask != nil {
		umask = int(*p.User.Umask)
	}
	unix.Umask(umask)
	if err := system.CloseExecFrom(3 + cfg.PreserveFds); err != nil {
		return fmt.Errorf("close fds: %w", err)
	}
	if err := initSeccomp(s, sync, seccompBeforeReady); err != nil {
		return err
	}
	if err := initSeccomp(s, sync, seccompBeforeExec); err != nil {
		return err
	}
	if err := unix.Exec(path, p.Args, env); err != nil {
		err = fmt.Errorf("exec %s: %w", p.Args[0], err)
		// The filter may deny the report; then it goes to our stderr.
		if sync.send(syncMsg{Type: msgError, Error: err.Error()}) != nil {
			fmt.Fprintln(os.Stderr, "teu exec:", err)
		}
		os.Exit(1)
	}
	return nil
}
