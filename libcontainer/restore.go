package libcontainer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/console"
	"github.com/teu-runtime/teu/libcontainer/criu"
	"github.com/teu-runtime/teu/libcontainer/hooks"
	"github.com/teu-runtime/teu/libcontainer/hostmnt"
	"github.com/teu-runtime/teu/libcontainer/netdev"
	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/system"
	"github.com/teu-runtime/teu/libcontainer/validate"
)

// RestoreOpts are the inputs of restore.
type RestoreOpts struct {
	CriuOpts
	ID            string
	Bundle        string // absolute path of the bundle
	Spec          *specs.Spec
	ConsoleSocket string   // path of the engine's console socket
	ConsoleConn   *os.File // or an already-connected socket (attached with a tty)
	PidFile       string
	// SystemdCgroup: the cgroup is a systemd scope (--systemd-cgroup).
	SystemdCgroup bool
	Rootless      Rootless // --rootless
	// CRIU's stdio: the restored process gets those of its old stdio
	// that were pipes (descriptors.json).
	Stdin, Stdout, Stderr *os.File
}

// criuRootDir is where restore binds the rootfs for CRIU, in the state
// directory (the bind exists only in restore's private mount namespace).
const criuRootDir = "criu-root"

// Restore makes container o.ID from the CRIU images in o.ImagePath and the
// bundle's config: its processes run again, in a new cgroup, and it is an
// ordinary teu container (state, kill, exec, delete). On failure nothing
// is left: no process, cgroup, state directory or mount.
func Restore(root string, o *RestoreOpts) (*Container, error) {
	if err := state.ValidateID(o.ID); err != nil {
		return nil, err
	}
	c, err := restore(root, o)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", o.ID, err)
	}
	return c, nil
}

// restorer is one restore in progress.
type restorer struct {
	o       *RestoreOpts
	c       *Container
	spec    *specs.Spec
	criu    string
	version int
	cgroup  cgroups.Manager
	parents map[string]string
	// files CRIU inherits (fd 4, 5, ...): external namespaces.
	extra []*os.File
	// restored: the init is recorded in the state.
	restored bool
	fault    *faults
}

func restore(root string, o *RestoreOpts) (c *Container, retErr error) {
	s := o.Spec
	// Said first (state.New checks again, atomically): an id in use is
	// the error, not whatever else is wrong.
	if _, err := os.Lstat(filepath.Join(root, o.ID)); err == nil {
		return nil, state.ErrExist
	}
	if err := validate.Spec(s, o.Bundle); err != nil {
		return nil, err
	}
	// Not checkHost: a restored container's netDevices are already in
	// its network namespace, not on the host.
	if err := checkIntelRdt(s.Linux.IntelRdt); err != nil {
		return nil, err
	}
	args, err := o.check()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("restore needs root (CRIU does)")
	}
	if hostmnt.Inherits(s) {
		return nil, errors.New("a container without a mount namespace of its own cannot be restored")
	}
	path, version, err := lookCriu()
	if err != nil {
		return nil, err
	}
	if o.LsmProfile != "" || o.LsmMountContext != "" {
		if err := needVersion(version, criu.MinLsm, "--lsm-profile and --lsm-mount-context"); err != nil {
			return nil, err
		}
	}
	if o.LazyPages {
		if err := needFeatures(path, &rpc.CriuFeatures{LazyPages: ptr(true)}, "--lazy-pages"); err != nil {
			return nil, err
		}
	}
	rootfsPath := s.Root.Path
	if !filepath.IsAbs(rootfsPath) {
		rootfsPath = filepath.Join(o.Bundle, rootfsPath)
	}
	if r, err := filepath.EvalSymlinks(rootfsPath); err == nil {
		rootfsPath = r
	}
	// The external mounts' keys are checked before anything is made.
	ms, err := externalMounts(s, o.Bundle, nil)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if _, err := criu.ExtMount(mountKey(rootfsPath, m.dest), m.source); err != nil {
			return nil, err
		}
	}
	faults, err := newFaults(RestoreFaultEnv)
	if err != nil {
		return nil, err
	}
	r := &restorer{o: o, spec: s, criu: path, version: version, fault: faults}
	defer func() {
		for _, f := range r.extra {
			f.Close()
		}
	}()
	opts := o.restoreOpts(args, s.Annotations)
	if err := r.namespaces(opts); err != nil {
		return nil, err
	}
	if err := r.inheritStdio(opts, args.stdio); err != nil {
		return nil, err
	}
	logDir := o.ImagePath
	if o.WorkPath != "" {
		logDir = o.WorkPath
	}

	d, err := state.New(root, o.ID)
	if err != nil {
		return nil, err
	}
	c = &Container{root: root, dir: d, state: state.State{
		Version: state.Version, ID: o.ID, Bundle: o.Bundle, Rootfs: rootfsPath, Created: time.Now().UTC(),
		Owner: ownerName(), Annotations: s.Annotations, Creating: true, Resources: state.Resources{SystemdCgroup: o.SystemdCgroup},
	}}
	r.c = c
	pidFileWritten := false
	defer func() {
		if retErr != nil {
			r.abort()
			d.Remove()
			if pidFileWritten {
				os.Remove(o.PidFile)
			}
		}
	}()
	if err := d.WriteJSON(state.ConfigFile, s); err != nil {
		return nil, fmt.Errorf("save config: %w", err)
	}
	if err := d.WriteJSON(state.File, &c.state); err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	r.fault.step("state saved")
	criuRoot := d.File(criuRootDir)
	if err := os.Mkdir(criuRoot, 0o755); err != nil { //nolint:forbidigo // in the state dir
		return nil, fmt.Errorf("make %s: %w", criuRoot, err)
	}
	opts.Root = ptr(criuRoot)
	var dirs []*os.File
	defer func() {
		for _, f := range dirs {
			f.Close()
		}
	}()
	sw, err := startInPrivateMounts(func() (*criu.Swrk, error) {
		// CRIU works in these directories, by fd: opened here, they are
		// on this namespace's mounts, where CRIU mounts its cgroup yard.
		imageDir, err := os.Open(o.ImagePath)
		if err != nil {
			return nil, fmt.Errorf("image directory: %w", err)
		}
		dirs = append(dirs, imageDir)
		opts.ImagesDirFd = ptr(int32(imageDir.Fd()))
		if o.WorkPath != "" {
			work, err := openWorkDir(o.WorkPath)
			if err != nil {
				return nil, err
			}
			dirs = append(dirs, work)
			opts.WorkDirFd = ptr(int32(work.Fd()))
		}
		if err := prepareMountpoints(rootfsPath, o.Bundle, s.Mounts); err != nil {
			return nil, err
		}
		if err := unix.Mount(rootfsPath, criuRoot, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return nil, fmt.Errorf("bind rootfs for criu: %w", err)
		}
		return criu.Start(path, [3]*os.File{o.Stdin, o.Stdout, o.Stderr}, r.extra, nil)
	})
	if err != nil {
		return nil, err
	}
	_, err = r.run(sw, opts, rootfsPath)
	werr := sw.Close()
	if err != nil {
		return nil, criu.LogError(err, filepath.Join(logDir, "restore.log"))
	}
	if !r.restored {
		if werr == nil {
			werr = errors.New("no post-restore notification")
		}
		return nil, criu.LogError(fmt.Errorf("criu: %w", werr), filepath.Join(logDir, "restore.log"))
	}
	os.Remove(criuRoot)
	if !c.initAlive() {
		return nil, errors.New("the restored init exited at once")
	}
	if err := r.timeNamespace(); err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err := state.WriteFileAtomic(o.PidFile, []byte(strconv.Itoa(c.state.InitPid))); err != nil {
			return nil, fmt.Errorf("write pid file: %w", err)
		}
		pidFileWritten = true
	}
	c.state.Creating = false
	c.state.Created = time.Now().UTC()
	if err := d.WriteJSON(state.File, &c.state); err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	return c, nil
}

// restoreArgs are RestoreOpts' flags as CRIU takes them, and the stdio
// the checkpoint recorded (descriptors.json).
type restoreArgs struct {
	cgMode  rpc.CriuCgMode
	emptyNs uint32
	stdio   []string
}

// check parses restore's flags and the checkpoint's descriptors, and
// refuses what does not go together, before anything is made.
func (o *RestoreOpts) check() (restoreArgs, error) {
	var a restoreArgs
	var err error
	term := o.Spec.Process.Terminal
	if term && !o.ShellJob && o.ConsoleSocket == "" && o.ConsoleConn == nil {
		return a, errors.New("process.terminal needs --console-socket when teu does not stay attached")
	}
	if !term && (o.ConsoleSocket != "" || o.ConsoleConn != nil) {
		return a, errors.New("--console-socket given but process.terminal is false")
	}
	if a.cgMode, err = criu.CgMode(o.ManageCgroupsMode); err != nil {
		return a, err
	}
	if a.emptyNs, err = criu.EmptyNs(o.EmptyNs); err != nil {
		return a, err
	}
	if err := criu.CheckImageDir(o.ImagePath); err != nil {
		return a, err
	}
	p := filepath.Join(o.ImagePath, criu.DescriptorsFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return a, fmt.Errorf("%s holds no container checkpoint: %w", o.ImagePath, err)
	}
	if err := json.Unmarshal(data, &a.stdio); err != nil {
		return a, fmt.Errorf("%s: %w", p, err)
	}
	return a, nil
}

// restoreOpts is the restore request for the flags of o; ann are the
// container's annotations (its CRIU configuration file).
func (o *RestoreOpts) restoreOpts(a restoreArgs, ann map[string]string) *rpc.CriuOpts {
	opts := &rpc.CriuOpts{
		LogLevel: ptr(int32(4)), LogFile: ptr("restore.log"), EvasiveDevices: ptr(true), RstSibling: ptr(true),
		ManageCgroups: ptr(true), ManageCgroupsMode: &a.cgMode, NotifyScripts: ptr(true),
		ShellJob: ptr(o.ShellJob), ExtUnixSk: ptr(o.ExtUnixSk), TcpEstablished: ptr(o.TCPEstablished),
		FileLocks: ptr(o.FileLocks), EmptyNs: ptr(a.emptyNs), OrphanPtsMaster: ptr(true),
		AutoDedup: ptr(o.AutoDedup), LazyPages: ptr(o.LazyPages),
	}
	if o.LsmProfile != "" {
		opts.LsmProfile = ptr(o.LsmProfile)
	}
	if o.LsmMountContext != "" {
		opts.LsmMountContext = ptr(o.LsmMountContext)
	}
	criuConfigFile(opts, ann)
	return opts
}

// namespaces tells CRIU about the namespaces the container joins by path:
// a network or pid namespace is external (saved by key, passed back by
// inherit_fd), the others CRIU joins itself.
func (r *restorer) namespaces(opts *rpc.CriuOpts) error {
	for _, ns := range r.spec.Linux.Namespaces {
		if ns.Path == "" {
			continue
		}
		name := validate.NamespaceFiles[ns.Type]
		switch ns.Type {
		case specs.NetworkNamespace, specs.PIDNamespace:
			min := criu.MinExtNetNS
			if ns.Type == specs.PIDNamespace {
				min = criu.MinExtPidNS
			}
			if err := needVersion(r.version, min, "an external "+string(ns.Type)+" namespace"); err != nil {
				return err
			}
			f, err := os.Open(ns.Path)
			if err != nil {
				return fmt.Errorf("%s namespace: %w", ns.Type, err)
			}
			r.extra = append(r.extra, f)
			// fd 3 is CRIU's socket: the extra files follow it.
			opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: ptr(criu.ExtNsKey(name)), Fd: ptr(int32(3 + len(r.extra)))})
		case specs.CgroupNamespace:
			return errors.New("CRIU cannot restore into a cgroup namespace joined by path")
		default:
			opts.JoinNs = append(opts.JoinNs, &rpc.JoinNamespace{Ns: ptr(name), NsFile: ptr(ns.Path)})
		}
	}
	return nil
}

// stdioFd is one of the checkpointed init's stdio that restore's replaces:
// CRIU's key for it and which of restore's stdio (0-2) takes its place.
type stdioFd struct {
	key string
	std int
	tty bool // a terminal from outside the container (--shell-job)
}

// stdioInherit picks from the checkpointed init's stdio (descriptors.json's
// first three entries) what restore's own stdio replace: old pipes
// ("pipe:[INO]") and terminals from outside the container
// ("tty[RDEV:DEV]"), each key once (CRIU uses the first fd given for a
// key), in fd order.
func stdioInherit(stdio []string) []stdioFd {
	var out []stdioFd
	seen := map[string]bool{}
	for i, name := range stdio {
		if i >= 3 {
			break
		}
		tty := strings.HasPrefix(name, "tty[")
		if seen[name] || !tty && !strings.HasPrefix(name, "pipe:") {
			continue
		}
		seen[name] = true
		out = append(out, stdioFd{key: name, std: i, tty: tty})
	}
	return out
}

// inheritStdio gives CRIU restore's stdio for the old pipes and outside
// terminals, so an engine's new pipes and restore's terminal replace them.
// A pipe is passed as restore's fd of the same number; a terminal as a
// duplicate after the extra files: CRIU closes every inherited fd once it
// has stored it, and with --shell-job it then takes its fd 0 for the job's
// session, which must still be open.
func (r *restorer) inheritStdio(opts *rpc.CriuOpts, stdio []string) error {
	std := [3]*os.File{r.o.Stdin, r.o.Stdout, r.o.Stderr}
	for _, s := range stdioInherit(stdio) {
		if !s.tty {
			opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: ptr(s.key), Fd: ptr(int32(s.std))})
			continue
		}
		if std[s.std] == nil {
			return fmt.Errorf("the checkpoint's fd %d was a terminal (%s): restore needs one there", s.std, s.key)
		}
		fd, err := unix.FcntlInt(std[s.std].Fd(), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			return fmt.Errorf("duplicate fd %d for criu: %w", s.std, err)
		}
		r.extra = append(r.extra, os.NewFile(uintptr(fd), s.key))
		// fd 3 is CRIU's socket: the extra files follow it.
		opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: ptr(s.key), Fd: ptr(int32(3 + len(r.extra)))})
	}
	return nil
}

// run puts CRIU in the container's cgroup, completes the request and
// handles CRIU's notifications until it answers.
func (r *restorer) run(sw *criu.Swrk, opts *rpc.CriuOpts, rootfsPath string) (*rpc.CriuResp, error) {
	if err := r.applyCgroup(sw.Pid(), opts); err != nil {
		return nil, err
	}
	// Keys resolved in the rootfs, values the bundle's sources.
	ms, err := externalMounts(r.spec, r.o.Bundle, r.c.state.CgroupPaths)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		e, err := criu.ExtMount(mountKey(rootfsPath, m.dest), m.source)
		if err != nil {
			return nil, err
		}
		opts.ExtMnt = append(opts.ExtMnt, e)
	}
	if len(r.spec.Linux.MaskedPaths) > 0 {
		e, _ := criu.ExtMount("/dev/null", "/dev/null")
		opts.ExtMnt = append(opts.ExtMnt, e)
	}
	t := rpc.CriuReqType_RESTORE
	return sw.Do(&rpc.CriuReq{Type: &t, Opts: opts}, r.notify)
}

// applyCgroup makes the container's cgroup as create does, moves CRIU (the
// restored tasks' parent) into it and tells CRIU to restore under it.
func (r *restorer) applyCgroup(pid int, opts *rpc.CriuOpts) error {
	cfg := cgroupConfig(r.c.state.ID, r.spec, r.o.Rootless)
	cfg.Systemd = r.c.state.SystemdCgroup
	mgr, err := cgroups.New(cfg)
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if err := checkCgroupFree(mgr); err != nil {
		return err
	}
	r.cgroup = mgr
	if !cfg.Systemd {
		r.parents = newParents(mgr.Paths())
	}
	// Recorded before it is made, as create does: a restore killed from
	// here on leaves nothing delete --force does not know of.
	r.c.state.CgroupPaths, r.c.state.CgroupParents = mgr.Paths(), r.parents
	r.c.state.RootlessCgroups = cfg.Rootless
	if err := r.c.dir.WriteJSON(state.File, &r.c.state); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	r.fault.step("cgroup recorded")
	if err := mgr.Apply(pid); err != nil {
		return fmt.Errorf("apply cgroup: %w", err)
	}
	r.fault.step("cgroup made")
	// What Apply made, if it skipped controllers; rootless with nothing
	// delegated: no cgroup at all.
	made, parents := mgr.Paths(), r.parents
	if cfg.Rootless && !mgr.Exists() {
		made, parents = nil, nil
	}
	if !maps.Equal(made, r.c.state.CgroupPaths) {
		r.c.state.CgroupPaths, r.c.state.CgroupParents = made, parents
		if err := r.c.dir.WriteJSON(state.File, &r.c.state); err != nil {
			return fmt.Errorf("save state: %w", err)
		}
	}
	if err := mgr.Set(cfg.Resources); err != nil {
		return fmt.Errorf("set cgroup limits: %w", err)
	}
	roots, err := procCgroups(pid)
	if err != nil {
		return err
	}
	for _, ctrl := range sortedKeys(roots) {
		opts.CgRoot = append(opts.CgRoot, &rpc.CgroupRoot{Ctrl: ptr(ctrl), Path: ptr(roots[ctrl])})
	}
	return nil
}

// procCgroups reads /proc/<pid>/cgroup: each controller (a v1 line's
// controllers one by one, "name=..." hierarchies by name, "" for cgroup2)
// → the process's cgroup there.
func procCgroups(pid int) (map[string]string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			out[ctrl] = parts[2]
		}
	}
	return out, sc.Err()
}

// notify handles CRIU's notifications during a restore.
func (r *restorer) notify(n *criu.Notification) error {
	switch n.Script {
	case "setup-namespaces":
		closeFds(n.Fds)
		// CRIU made the namespaces; nothing of the container runs yet.
		if hasNewNs(r.spec, specs.NetworkNamespace) {
			// Its own network namespace is restored empty (runc's
			// empty_ns): lo up, as create has it, before CRIU restores
			// sockets bound to it.
			if err := netdev.LoUp(n.Pid); err != nil {
				return err
			}
		}
		if err := r.hooks(n.Pid); err != nil {
			return err
		}
		r.fault.step("namespaces set up")
		return nil
	case "post-restore":
		closeFds(n.Fds)
		st, err := system.StartTime(n.Pid)
		if err != nil {
			return fmt.Errorf("restored init %d: %w", n.Pid, err)
		}
		r.c.state.InitPid, r.c.state.InitStartTime = n.Pid, st
		r.restored = true
		// Recorded at once: if restore dies now, delete --force finds it.
		if err := r.c.dir.WriteJSON(state.File, &r.c.state); err != nil {
			return err
		}
		r.fault.step("init recorded")
		return nil
	case "orphan-pts-master":
		return r.sendMaster(n.Fds)
	}
	closeFds(n.Fds)
	return nil
}

// hooks runs the prestart and createRuntime hooks, told the restored
// init's pid, where runc runs them.
func (r *restorer) hooks(pid int) error {
	h := r.spec.Hooks
	if h == nil {
		return nil
	}
	st := specs.State{Version: specs.Version, ID: r.c.state.ID, Status: specs.StateCreated, Pid: pid,
		Bundle: r.c.state.Bundle, Annotations: r.c.state.Annotations}
	//nolint:staticcheck // prestart is deprecated but still honoured, before createRuntime
	if err := hooks.Run("prestart", h.Prestart, &st); err != nil {
		return err
	}
	return hooks.Run("createRuntime", h.CreateRuntime, &st)
}

// sendMaster passes the restored terminal's new pty master to the console
// socket.
func (r *restorer) sendMaster(fds []int) error {
	if len(fds) != 1 {
		closeFds(fds)
		return fmt.Errorf("criu sent %d fds for the terminal, want 1", len(fds))
	}
	master := os.NewFile(uintptr(fds[0]), "/dev/ptmx")
	defer master.Close()
	sock := r.o.ConsoleConn
	if sock == nil {
		if r.o.ConsoleSocket == "" {
			return errors.New("the restored process has a terminal: give --console-socket")
		}
		var err error
		if sock, err = dialConsole(r.o.ConsoleSocket); err != nil {
			return err
		}
		defer sock.Close()
	}
	if err := console.SendFd(sock, master.Name(), master); err != nil {
		return fmt.Errorf("send the pty master to the console socket: %w", err)
	}
	return nil
}

// timeNamespace: CRIU restores into a new time namespace; a config without
// one gets it, so exec joins it too.
func (r *restorer) timeNamespace() error {
	if hasNs(r.spec, specs.TimeNamespace) {
		return nil
	}
	var ours, theirs unix.Stat_t
	if unix.Stat("/proc/self/ns/time", &ours) != nil ||
		unix.Stat("/proc/"+strconv.Itoa(r.c.state.InitPid)+"/ns/time", &theirs) != nil ||
		ours.Ino == theirs.Ino {
		return nil
	}
	r.spec.Linux.Namespaces = append(r.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	if err := r.c.dir.WriteJSON(state.ConfigFile, r.spec); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// abort undoes a failed restore: the restored processes (if any were
// recorded; CRIU kills them itself when it fails) and the cgroup.
func (r *restorer) abort() {
	st := &r.c.state
	if st.InitPid > 0 {
		if fd, err := system.PidFD(st.InitPid, st.InitStartTime); err == nil {
			unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			system.WaitPidFD(fd)
			unix.Close(fd)
		}
		// It was CRIU's sibling: our child, ours to reap.
		unix.Wait4(st.InitPid, nil, unix.WNOHANG, nil)
	}
	if r.cgroup != nil {
		if err := r.cgroup.Destroy(); err != nil {
			slog.Warn("remove cgroup of failed restore", "id", st.ID, "error", err)
		} else {
			removeParents(r.cgroup.Paths(), r.parents)
		}
	}
}

// startInPrivateMounts runs fn on a thread of its own in a new mount
// namespace (a slave of ours, so nothing it mounts reaches the host) and
// returns what fn started there: CRIU, whose mount namespace it is then.
// The thread is never given back to the Go scheduler: it ends with fn, and
// the namespace with CRIU. Never the main thread, whose namespaces are the
// ones /proc/self names for the rest of the process's life.
func startInPrivateMounts(fn func() (*criu.Swrk, error)) (*criu.Swrk, error) {
	type result struct {
		s   *criu.Swrk
		err error
	}
	var work func(chan<- result)
	work = func(done chan<- result) {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Hold the main thread while another goroutine, which
			// cannot run here meanwhile, does the work elsewhere.
			inner := make(chan result, 1)
			go work(inner)
			r := <-inner
			runtime.UnlockOSThread()
			done <- r
			return
		}
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			done <- result{err: fmt.Errorf("new mount namespace: %w", err)}
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			done <- result{err: fmt.Errorf("make mounts private: %w", err)}
			return
		}
		s, err := fn()
		done <- result{s, err}
	}
	done := make(chan result, 1)
	go work(done)
	res := <-done
	return res.s, res.err
}

// prepareMountpoints makes, inside the rootfs, every mount destination
// CRIU will mount on, as create would have: not cgroup mounts (CRIU's own)
// nor destinations on a tmpfs (CRIU restores its contents). Writable bind
// mounts are bound on the way so destinations nested in them are made in
// their source, as create makes them. Runs in restore's own mount
// namespace; the binds are undone before CRIU runs.
func prepareMountpoints(rootfsPath, bundle string, mounts []specs.Mount) error {
	root, err := os.OpenFile(rootfsPath, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer root.Close()
	var binds []string
	defer func() {
		for i := len(binds) - 1; i >= 0; i-- {
			// A handle opened now is on the bind (the one we bound
			// through is under it).
			if f, err := pathrs.OpenatInRoot(root, binds[i]); err == nil {
				if err := unix.Unmount(fdPath(f), unix.MNT_DETACH); err != nil {
					slog.Debug("undo restore's bind", "dest", binds[i], "error", err)
				}
				f.Close()
			}
		}
	}()
	for i := range mounts {
		m := &mounts[i]
		dest := filepath.Clean("/" + m.Destination)
		if m.Type == "cgroup" || m.Type == "cgroup2" || onTmpfs(dest, mounts) || dest == "/" {
			continue
		}
		dir := true
		src := m.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(bundle, src)
		}
		bind := isBindMount(m)
		if bind {
			st, err := os.Stat(src)
			if err != nil {
				return fmt.Errorf("bind mount source %s: %w", m.Source, err)
			}
			dir = st.IsDir()
		}
		f, err := mkMountpoint(root, dest, dir)
		if err != nil {
			return fmt.Errorf("make mount point %s: %w", dest, err)
		}
		if !bind || readonlyBind(m) {
			f.Close()
			continue
		}
		err = unix.Mount(src, fdPath(f), "", unix.MS_BIND|unix.MS_REC, "")
		f.Close()
		if err != nil {
			return fmt.Errorf("bind %s on %s: %w", m.Source, dest, err)
		}
		binds = append(binds, dest)
	}
	return nil
}

// mkMountpoint makes dest (a directory, or an empty file) inside root,
// resolving it there, and returns an O_PATH handle on it.
func mkMountpoint(root *os.File, dest string, dir bool) (*os.File, error) {
	if dir {
		return pathrs.MkdirAllHandle(root, dest, 0o755)
	}
	parent, err := pathrs.MkdirAllHandle(root, filepath.Dir(dest), 0o755)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	fd, err := unix.Openat(int(parent.Fd()), filepath.Base(dest), unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err == nil {
		unix.Close(fd)
	} else if !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	return pathrs.OpenatInRoot(root, dest)
}

func fdPath(f *os.File) string { return "/proc/thread-self/fd/" + strconv.Itoa(int(f.Fd())) }

// onTmpfs: dest is below a tmpfs mount of the container.
func onTmpfs(dest string, mounts []specs.Mount) bool {
	for _, m := range mounts {
		if m.Type == "tmpfs" && strings.HasPrefix(dest, filepath.Clean("/"+m.Destination)+"/") {
			return true
		}
	}
	return false
}

func readonlyBind(m *specs.Mount) bool {
	for _, o := range m.Options {
		if o == "ro" || o == "rro" {
			return true
		}
	}
	return false
}
