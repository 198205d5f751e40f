package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/caps"
	"github.com/teu-runtime/teu/libcontainer/console"
	"github.com/teu-runtime/teu/libcontainer/hooks"
	"github.com/teu-runtime/teu/libcontainer/lsm"
	"github.com/teu-runtime/teu/libcontainer/rootfs"
	"github.com/teu-runtime/teu/libcontainer/seccomp"
	"github.com/teu-runtime/teu/libcontainer/system"
	"github.com/teu-runtime/teu/nsenter"
)

// execFifo is the write end of exec.fifo once start has released the init.
var execFifo *os.File

// Init is the container's init, entered from main when nsexec.c has set up
// the namespaces. It never returns: it execs the user's process or exits 1
// after telling the parent why. The caller must have locked the main
// goroutine to its OS thread (credentials, capabilities and no_new_privs
// are per thread; the thread that execs is the one that counts).
func Init() {
	holdUsernsIfAsked()
	// The init's stderr is the container's: warnings must not land in the
	// user's output. (Errors go to the parent over the sync socket.)
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	sockFd, _ := strconv.Atoi(os.Getenv(nsenter.EnvInitSock))
	sync := syncSock{os.NewFile(uintptr(sockFd), "init-sync")}
	err := runInit(sync)
	// runInit returns only on failure. Before "ready" the parent reports
	// the error (or has already failed and hung up: then it said why);
	// after it, create has returned and only the container's stderr is left.
	if serr := sync.send(syncMsg{Type: msgError, Error: err.Error()}); errors.Is(serr, os.ErrClosed) {
		if execFifo != nil {
			execFifo.Write([]byte(err.Error()))
		} else {
			fmt.Fprintln(os.Stderr, "teu init:", err)
		}
	}
	os.Exit(1)
}

func runInit(sync syncSock) error {
	t0 := time.Now()
	cfgFd, err := strconv.Atoi(os.Getenv(envInitConfig))
	if err != nil {
		return errors.New("init: no config fd")
	}
	os.Clearenv()
	var cfg initConfig
	cfgFile := os.NewFile(uintptr(cfgFd), "init-config")
	if err := json.NewDecoder(cfgFile).Decode(&cfg); err != nil {
		return fmt.Errorf("read init config: %w", err)
	}
	if cfg.Spec, err = decodeProcSpec(cfg.SpecJSON); err != nil {
		return fmt.Errorf("read init config: spec: %w", err)
	}
	cfgFile.Close()
	if cfg.SeccompBPF != nil {
		if seccompProgram, err = seccomp.Decode(cfg.SeccompBPF); err != nil {
			return err
		}
	}
	if cfg.Exec {
		return runExecInit(&cfg, sync)
	}
	s := cfg.Spec
	p := s.Process

	if !cfg.NoNewKeyring {
		if err := lsm.SetSELinuxKeyring(p.SelinuxLabel); err != nil {
			return err
		}
		if err := joinSessionKeyring(cfg.ID); err != nil {
			return err
		}
	}
	tr := newPhaseTimer(cfg.Trace, t0)
	tr.mark("config")
	rc := &rootfs.Config{
		Rootfs: cfg.Rootfs, Bundle: cfg.Bundle, Mounts: s.Mounts, Devices: s.Linux.Devices,
		Propagation: s.Linux.RootfsPropagation, Readonly: s.Root.Readonly, NoPivot: cfg.NoPivot,
		UserNS: hasNewNs(s, specs.UserNamespace), CgroupNS: hasNs(s, specs.CgroupNamespace),
		Masked: s.Linux.MaskedPaths, ReadOnly: s.Linux.ReadonlyPaths, MountLabel: s.Linux.MountLabel,
		InheritMountNS: inheritsMountNS(s),
		IDMapTrees:     cfg.IDMapFds,
		CgroupDirs:     cfg.CgroupPaths,
	}
	unix.Umask(0o022)
	if err := rootfs.Prepare(rc); err != nil {
		return err
	}
	tr.mark("mounts")
	// prestart and createRuntime hooks run in the parent, now.
	if err := sync.send(syncMsg{Type: msgHooks}); err != nil {
		return err
	}
	if m, err := sync.recv(); err != nil || m.Type != msgAck {
		if err == nil {
			err = errors.New(m.Error)
		}
		return fmt.Errorf("waiting for hooks: %w", err)
	}
	tr.mark("wait for prestart hooks")
	state := specs.State{Version: specs.Version, ID: cfg.ID, Status: specs.StateCreated,
		Pid: cfg.HostPid, Bundle: cfg.Bundle, Annotations: s.Annotations}
	if s.Hooks != nil {
		if err := hooks.Run("createContainer", s.Hooks.CreateContainer, &state); err != nil {
			return err
		}
	}
	tr.mark("createContainer hooks")
	if rc.InheritMountNS {
		err = rootfs.Chroot(cfg.Rootfs)
	} else {
		err = rootfs.Pivot(cfg.Rootfs, cfg.NoPivot, s.Linux.RootfsPropagation)
	}
	if err != nil {
		return err
	}
	tr.mark("pivot")
	// Before the root may turn read-only.
	if err := rootfs.CreateCwd(p.Cwd); err != nil {
		return err
	}
	if p.Terminal {
		if err := setupConsole(&cfg); err != nil {
			return err
		}
	}
	tr.mark("console")
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("set domainname: %w", err)
		}
	}
	if err := writeProcFiles(s); err != nil {
		return err
	}
	tr.mark("hostname+sysctl")
	if err := rootfs.Finalize(rc); err != nil {
		return err
	}
	tr.mark("finalize")
	path, env, err := applyProcess(&cfg, sync, tr)
	if err != nil {
		return err
	}
	argv := p.Args
	if err := initSeccomp(s, sync, seccompBeforeReady); err != nil {
		return err
	}
	tr.mark("cwd+fds")
	if err := sync.send(syncMsg{Type: msgReady, Phases: tr.phases}); err != nil {
		return err
	}
	sync.f.Close()
	// Blocks until `teu start` opens the other end.
	fifo, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(cfg.FifoFd), os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	if _, err := fifo.Write([]byte{0}); err != nil {
		return fmt.Errorf("write exec fifo: %w", err)
	}
	// Kept open, close-on-exec: start reads until our execve closes it, and
	// a failure from here on is written into it for start to report.
	execFifo = fifo
	if s.Hooks != nil && len(s.Hooks.StartContainer) > 0 {
		state.Status = specs.StateCreated
		if err := hooks.Run("startContainer", s.Hooks.StartContainer, &state); err != nil {
			return err
		}
	}
	return execProcess(s, sync, path, argv, env)
}

func hasNs(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

func hasNewNs(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return ns.Path == ""
		}
	}
	return false
}

func hasEnv(env []string, name string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, name+"=") {
			return true
		}
	}
	return false
}

// joinSessionKeyring gives the container a session keyring of its own, so
// it cannot read the host's keys.
func joinSessionKeyring(id string) error {
	_, err := unix.KeyctlJoinSessionKeyring("_ses." + id)
	if err != nil && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EACCES) {
		return fmt.Errorf("join session keyring: %w", err)
	}
	return nil
}

func setupConsole(cfg *initConfig) error {
	if cfg.ConsoleFd < 0 {
		return errors.New("process.terminal needs a console socket")
	}
	sock := os.NewFile(uintptr(cfg.ConsoleFd), "console-socket")
	defer sock.Close()
	master, peer, err := console.OpenPty()
	if err != nil {
		return err
	}
	defer master.Close()
	if cs := cfg.Spec.Process.ConsoleSize; cs != nil {
		if err := console.SetSize(peer, uint16(cs.Height), uint16(cs.Width)); err != nil {
			return fmt.Errorf("set console size: %w", err)
		}
	}
	// /dev/console is the container's first terminal; exec's is not it.
	if !cfg.Exec {
		if err := rootfs.BindConsole(peer); err != nil {
			return err
		}
	}
	if err := console.SendFd(sock, master.Name(), master); err != nil {
		return fmt.Errorf("send pty to console socket: %w", err)
	}
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(peer.Fd()), fd, 0); err != nil {
			return fmt.Errorf("dup pty: %w", err)
		}
	}
	peer.Close()
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	return nil
}

// writeProcFiles writes sysctls through a procfs handle that is checked to
// be a real procfs and never follows a symlink or crosses into another
// mount, so nothing the image put in the rootfs can redirect these writes
// (CVE-2025-52881). (oom_score_adj is written by nsexec.c, on the host's
// /proc, before it joins any namespace.)
func writeProcFiles(s *specs.Spec) error {
	if len(s.Linux.Sysctl) == 0 {
		return nil
	}
	proc, err := openProc()
	if err != nil {
		return err
	}
	defer unix.Close(proc)
	for k, v := range s.Linux.Sysctl {
		if err := writeProc(proc, "sys/"+strings.ReplaceAll(k, ".", "/"), v); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", k, v, err)
		}
	}
	return nil
}

func openProc() (int, error) {
	fd, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /proc: %w", err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil || st.Type != unix.PROC_SUPER_MAGIC {
		unix.Close(fd)
		return -1, errors.New("/proc is not a procfs")
	}
	return fd, nil
}

// deniedSetgroups: /proc/self/setgroups says "deny".
func deniedSetgroups() bool {
	proc, err := openProc()
	if err != nil {
		return false
	}
	defer unix.Close(proc)
	data, err := readProc(proc, "self/setgroups")
	return err == nil && strings.TrimSpace(data) == "deny"
}

// openProcFile opens rel below the procfs handle proc, never following a
// symlink or crossing into another mount; "self/" is resolved to our pid
// here, as self is a magic link.
func openProcFile(proc int, rel string, flags uint64) (int, error) {
	how := &unix.OpenHow{Flags: flags | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS}
	if strings.HasPrefix(rel, "self/") {
		rel = strconv.Itoa(os.Getpid()) + rel[4:]
	}
	return unix.Openat2(proc, rel, how)
}

// readProc reads a small procfs file below the handle proc.
func readProc(proc int, rel string) (string, error) {
	fd, err := openProcFile(proc, rel, unix.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	buf := make([]byte, 64)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func writeProc(proc int, rel, val string) error {
	fd, err := openProcFile(proc, rel, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(val))
	return err
}

// finalizeCredentials switches to the process's user and capabilities, on
// this (locked) thread only: it is the one that execs.
func finalizeCredentials(p *specs.Process) error {
	set, err := caps.New(p.Capabilities, caps.LastCap())
	if err != nil {
		return err
	}
	if err := set.ApplyBounding(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("keep capabilities: %w", err)
	}
	u := p.User
	if err := setGroups(u.AdditionalGids); err != nil {
		return err
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("setresgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("setresuid %d: %w", u.UID, e)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear keep capabilities: %w", err)
	}
	if err := set.Apply(); err != nil {
		return err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	return nil
}

func setGroups(gids []uint32) error {
	// The kernel reads an array of gid_t (32 bits).
	list := make([]uint32, 0, len(gids))
	list = append(list, gids...)
	var ptr uintptr
	if len(list) > 0 {
		ptr = uintptr(unsafePointer(&list[0]))
	}
	_, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), ptr, 0)
	if e == 0 {
		return nil
	}
	// In a user namespace with setgroups denied, only an empty list is
	// possible, and then there is nothing to change. Asked of a verified
	// procfs, and only then (exec's init sees the container's /proc, which
	// may be a tmpfs of its own saying "deny").
	if e == unix.EPERM && deniedSetgroups() {
		if len(gids) > 0 {
			return errors.New("additionalGids cannot be set: setgroups is denied in this user namespace")
		}
		return nil
	}
	return fmt.Errorf("setgroups %v: %w", gids, e)
}

// checkCwd refuses a working directory outside the container's root, the
// way a leaked host directory fd would show (CVE-2024-21626).
func checkCwd() error {
	wd, err := unix.Getwd()
	if err != nil {
		return fmt.Errorf("working directory is not inside the container: %w", err)
	}
	if !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("working directory %q is not inside the container", wd)
	}
	return nil
}

// homeDir is uid's home in the container's /etc/passwd, or "/". The file
// is the image's (or, for exec, the running container's): a FIFO or a
// device there must not hang or feed us, so only a regular file is read,
// opened without blocking, and only its first 4 MiB.
func homeDir(uid int) string {
	f, err := os.OpenFile("/etc/passwd", os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return "/"
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "/"
	}
	users, err := user.ParsePasswdFilter(io.LimitReader(f, 4<<20), func(u user.User) bool { return u.Uid == uid })
	if err == nil && len(users) > 0 && users[0].Home != "" {
		return users[0].Home
	}
	return "/"
}

// lookPath finds argv0 in the container's PATH, as execvp would.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		if err := checkExecutable(argv0); err != nil {
			return "", fmt.Errorf("exec %s: %w", argv0, err)
		}
		return argv0, nil
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			pathEnv = e[5:]
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, argv0)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %s: executable file not found in $PATH", argv0)
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return errors.Unwrap(err)
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi.Mode()&0o111 == 0 {
		return errors.New("permission denied")
	}
	return nil
}

// EnsureInitThread locks the calling goroutine to its thread when this
// process is the container's init; main calls it from an init function,
// while the main goroutine is still on the main thread.
func EnsureInitThread() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runtime.LockOSThread()
	}
}

// applyProcess applies what the container's init and exec's processes
// share, in this order: rlimits, the PATH lookup of args[0], the cwd (as
// root, before an early seccomp filter could deny getcwd), a seccomp filter
// that must go on before credentials, user and capabilities, the umask, and
// close-on-exec on every fd past the preserved ones. It returns the path
// to exec and the environment.
func applyProcess(cfg *initConfig, sync syncSock, tr *phaseTimer) (string, []string, error) {
	s := cfg.Spec
	p := s.Process
	if err := raiseRlimits(p); err != nil {
		return "", nil, err
	}
	env := append(append([]string{}, p.Env...), cfg.ExtraEnv...)
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+homeDir(int(p.User.UID)))
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return "", nil, err
	}
	tr.mark("rlimits+lookup")
	// A cwd only the process's user may enter is tried again below.
	cwdErr := unix.Chdir(p.Cwd)
	if cwdErr == nil {
		if err := checkCwd(); err != nil {
			return "", nil, err
		}
	}
	if err := applyProcessAttrs(s, cfg.Exec); err != nil {
		return "", nil, err
	}
	if err := applyLSMExec(p); err != nil {
		return "", nil, err
	}
	if err := initSeccomp(s, sync, seccompBeforeCredentials); err != nil {
		return "", nil, err
	}
	if err := finalizeCredentials(p); err != nil {
		return "", nil, err
	}
	tr.mark("credentials")
	if cwdErr != nil {
		if err := unix.Chdir(p.Cwd); err != nil {
			return "", nil, fmt.Errorf("chdir to cwd %s: %w", p.Cwd, err)
		}
		if err := checkCwd(); err != nil {
			return "", nil, err
		}
	}
	umask := 0o022
	if p.User.Umask != nil {
		umask = int(*p.User.Umask)
	}
	unix.Umask(umask)
	// Nothing of ours may reach the user's process: from here every fd
	// past the preserved ones closes on exec.
	if err := system.CloseExecFrom(3 + cfg.PreserveFds); err != nil {
		return "", nil, fmt.Errorf("close fds: %w", err)
	}
	return path, env, nil
}
