package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/criu"
	"github.com/teu-runtime/teu/libcontainer/hostmnt"
	"github.com/teu-runtime/teu/libcontainer/rootfs"
	"github.com/teu-runtime/teu/libcontainer/state"
	"github.com/teu-runtime/teu/libcontainer/system"
)

// CriuOpts are checkpoint's and restore's CRIU flags (runc's).
type CriuOpts struct {
	ImagePath  string // CRIU's images (absolute)
	WorkPath   string // its log and work files ("": the image dir)
	ParentPath string // checkpoint: the previous dump, relative to ImagePath
	// Checkpoint only.
	LeaveRunning, PreDump, TCPSkipInFlight, LinkRemap bool
	PageServer                                        string // ADDRESS:PORT
	StatusFd                                          int    // -1: none
	// Both.
	TCPEstablished, ExtUnixSk, ShellJob, FileLocks, AutoDedup, LazyPages bool
	ManageCgroupsMode                                                    string
	EmptyNs                                                              []string
	// Restore only.
	LsmProfile, LsmMountContext string
}

// criuConfigAnnotation names a container's own CRIU configuration file;
// runc's default file is used without it, so a host set up for runc's
// checkpoints works unchanged.
const (
	criuConfigAnnotation = "org.criu.config"
	criuDefaultConfig    = "/etc/criu/runc.conf"
)

// lookCriu finds criu on PATH and checks it answers and is new enough.
func lookCriu() (string, int, error) {
	path, err := exec.LookPath("criu")
	if err != nil {
		return "", 0, errors.New("criu not found in PATH: checkpoint and restore need CRIU (https://criu.org; Debian: apt-get install criu)")
	}
	v, err := criu.Version(path)
	if err != nil {
		return "", 0, err
	}
	if v < criu.MinVersion {
		return "", 0, fmt.Errorf("criu %s is too old: teu needs %s or later", criu.FormatVersion(v), criu.FormatVersion(criu.MinVersion))
	}
	return path, v, nil
}

// needVersion refuses an option the running CRIU is too old for.
func needVersion(have, want int, what string) error {
	if have < want {
		return fmt.Errorf("%s needs criu %s or later (have %s)", what, criu.FormatVersion(want), criu.FormatVersion(have))
	}
	return nil
}

// needFeatures asks CRIU for the kernel features an option needs.
func needFeatures(path string, want *rpc.CriuFeatures, what string) error {
	got, err := criu.Features(path, want)
	if err != nil {
		return fmt.Errorf("%s: criu feature check: %w", what, err)
	}
	switch {
	case want.MemTrack != nil && !got.GetMemTrack():
		return fmt.Errorf("%s needs dirty memory tracking, which criu reports missing on this kernel", what)
	case want.LazyPages != nil && !got.GetLazyPages():
		return fmt.Errorf("%s needs userfaultfd lazy pages, which criu reports missing on this kernel", what)
	}
	return nil
}

// Checkpoint saves the running (or paused) container to o.ImagePath with
// CRIU. Unless o.LeaveRunning or o.PreDump, CRIU stops its processes and
// the container is deleted, as runc does. A failed dump leaves it running.
func (c *Container) Checkpoint(o *CriuOpts) error {
	if err := c.checkpoint(o); err != nil {
		return fmt.Errorf("checkpoint %s: %w", c.ID(), err)
	}
	return nil
}

func (c *Container) checkpoint(o *CriuOpts) error {
	if st := c.Status(); st != Running && st != Paused {
		return fmt.Errorf("a %s container cannot be checkpointed", st)
	}
	if os.Geteuid() != 0 {
		return errors.New("checkpoint needs root (CRIU does)")
	}
	spec, err := c.Config()
	if err != nil {
		return fmt.Errorf("read container config: %w", err)
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if hostmnt.Inherits(spec) {
		return errors.New("a container without a mount namespace of its own cannot be checkpointed")
	}
	args, err := o.checkDump()
	if err != nil {
		return err
	}
	path, version, err := lookCriu()
	if err != nil {
		return err
	}
	if o.PreDump {
		if err := needFeatures(path, &rpc.CriuFeatures{MemTrack: ptr(true)}, "--pre-dump"); err != nil {
			return err
		}
	}
	if o.LazyPages {
		if err := needFeatures(path, &rpc.CriuFeatures{LazyPages: ptr(true)}, "--lazy-pages"); err != nil {
			return err
		}
	}

	// The image dir may exist: a container is checkpointed again and again.
	if err := os.MkdirAll(o.ImagePath, 0o700); err != nil { //nolint:forbidigo // the caller's host path (--image-path), as runc takes it
		return fmt.Errorf("image directory: %w", err)
	}
	if o.ParentPath != "" {
		p := filepath.Join(o.ImagePath, o.ParentPath)
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			if err == nil {
				err = unix.ENOTDIR
			}
			return fmt.Errorf("invalid --parent-path %s: %w", o.ParentPath, err)
		}
	}
	imageDir, err := os.Open(o.ImagePath)
	if err != nil {
		return fmt.Errorf("image directory: %w", err)
	}
	defer imageDir.Close()
	logDir := o.ImagePath
	opts := c.dumpOpts(o, args, int32(imageDir.Fd()))
	if o.WorkPath != "" {
		work, err := openWorkDir(o.WorkPath)
		if err != nil {
			return err
		}
		defer work.Close()
		opts.WorkDirFd = ptr(int32(work.Fd()))
		logDir = o.WorkPath
	}
	criuConfigFile(opts, spec.Annotations)
	if o.LazyPages && o.StatusFd >= 0 && version < criu.MinStatusReady {
		// Older CRIU writes the byte itself; newer ones notify us.
		opts.StatusFd = ptr(int32(o.StatusFd))
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.PIDNamespace} {
		ext, err := externalNs(spec, ns, version)
		if err != nil {
			return err
		}
		if ext != "" {
			opts.External = append(opts.External, ext)
		}
	}
	if fc, err := c.freezeCgroup(version); err != nil {
		return err
	} else if fc != "" {
		opts.FreezeCgroup = &fc
	}
	// A pre-dump saves memory only: no mounts, no stdio.
	if !o.PreDump {
		if opts.ExtMnt, err = c.dumpExtMounts(spec); err != nil {
			return err
		}
		names, ttys := criu.StdioDescriptors(c.state.InitPid)
		opts.External = append(opts.External, ttys...)
		desc, err := json.Marshal(names)
		if err != nil {
			return err
		}
		if err := state.WriteFileAtomic(filepath.Join(o.ImagePath, criu.DescriptorsFile), desc); err != nil {
			return fmt.Errorf("save %s: %w", criu.DescriptorsFile, err)
		}
	}

	s, err := criu.Start(path, [3]*os.File{}, nil, nil)
	if err != nil {
		return err
	}
	statusFd := o.StatusFd
	t := rpc.CriuReqType_DUMP
	if o.PreDump {
		t = rpc.CriuReqType_PRE_DUMP
	}
	unlocked := false
	_, err = s.Do(&rpc.CriuReq{Type: &t, Opts: opts}, func(n *criu.Notification) error {
		closeFds(n.Fds)
		if n.Script != "status-ready" {
			return nil
		}
		// The dump is done; CRIU now serves the lazy pages for as long
		// as the other side takes, or forever if it never comes, holding
		// the container's processes. Kill and delete --force must not wait
		// on that: the lock goes now, and delete --force ends this CRIU,
		// recorded first.
		if o.LazyPages && c.dir != nil {
			if err := c.recordCriu(s.Pid()); err != nil {
				slog.Warn("record criu's pid; the container stays locked until the pages are taken", "error", err)
			} else {
				c.dir.Unlock()
				unlocked = true
			}
		}
		if statusFd >= 0 {
			// The lazy pages can be fetched now: tell whoever waits.
			if _, err := unix.Write(statusFd, []byte{0}); err != nil {
				slog.Warn("write to --status-fd", "error", err)
			}
			unix.Close(statusFd)
			statusFd = -1
		}
		return nil
	})
	werr := s.Close()
	if err != nil {
		err = criu.LogError(err, filepath.Join(logDir, dumpLog))
	} else if werr != nil && !o.PreDump {
		// Answered, then died: report it, the images may be incomplete.
		err = criu.LogError(fmt.Errorf("criu: %w", werr), filepath.Join(logDir, dumpLog))
	}
	if unlocked {
		same, rerr := c.relock()
		if rerr != nil {
			return errors.Join(err, rerr)
		}
		if !same {
			// Deleted (perhaps made anew) while the pages went: not ours.
			if err != nil {
				return fmt.Errorf("%w (the container was deleted meanwhile)", err)
			}
			return nil
		}
		if rerr := c.recordCriu(0); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	if err != nil {
		return err
	}
	if o.LeaveRunning || o.PreDump {
		return nil
	}
	// CRIU has stopped every process: the container is in the images now.
	if err := c.Delete(true); err != nil {
		slog.Warn("delete checkpointed container", "id", c.ID(), "error", err)
	}
	return nil
}

// recordCriu saves pid (0: none) as the lazy checkpoint's CRIU in the
// container's records, under the lock.
func (c *Container) recordCriu(pid int) error {
	var start uint64
	if pid > 0 {
		var err error
		if start, err = system.StartTime(pid); err != nil {
			return err
		}
	}
	c.state.CriuPid, c.state.CriuStartTime = pid, start
	return c.dir.Save(state.JSONFile{Name: state.File, Value: &c.state},
		state.JSONFile{Name: state.ResourcesFile, Value: c.records()})
}

// dumpArgs are CriuOpts' flags as CRIU takes them.
type dumpArgs struct {
	cgMode  rpc.CriuCgMode
	emptyNs uint32
	ps      *rpc.CriuPageServerInfo
}

// checkDump parses checkpoint's flags and refuses those that do not go
// together, before CRIU is asked anything.
func (o *CriuOpts) checkDump() (dumpArgs, error) {
	var a dumpArgs
	var err error
	if a.cgMode, err = criu.CgMode(o.ManageCgroupsMode); err != nil {
		return a, err
	}
	if a.emptyNs, err = criu.EmptyNs(o.EmptyNs); err != nil {
		return a, err
	}
	if o.PageServer != "" {
		if a.ps, err = criu.PageServer(o.PageServer); err != nil {
			return a, err
		}
	}
	if o.LazyPages && a.ps == nil {
		return a, errors.New("--lazy-pages needs --page-server ADDRESS:PORT to serve the pages from")
	}
	if o.StatusFd >= 0 {
		if !o.LazyPages {
			return a, errors.New("--status-fd is only used with --lazy-pages")
		}
		flags, err := unix.FcntlInt(uintptr(o.StatusFd), unix.F_GETFL, 0)
		if err != nil {
			return a, fmt.Errorf("invalid --status-fd %d: %w", o.StatusFd, err)
		}
		if flags&unix.O_ACCMODE == unix.O_RDONLY {
			return a, fmt.Errorf("invalid --status-fd %d: not open for writing", o.StatusFd)
		}
	}
	if filepath.IsAbs(o.ParentPath) {
		return a, errors.New("--parent-path must be relative to --image-path")
	}
	return a, nil
}

// dumpLog is CRIU's log of a dump, in the work (else the image) directory.
const dumpLog = "dump.log"

// dumpOpts is the dump request for the flags of o: what CRIU is told of
// the container and the images in imageDir.
func (c *Container) dumpOpts(o *CriuOpts, a dumpArgs, imageDir int32) *rpc.CriuOpts {
	opts := &rpc.CriuOpts{
		ImagesDirFd: ptr(imageDir), LogLevel: ptr(int32(4)), LogFile: ptr(dumpLog),
		Root: ptr(c.state.Rootfs), ManageCgroups: ptr(true), ManageCgroupsMode: &a.cgMode,
		NotifyScripts: ptr(true), Pid: ptr(int32(c.state.InitPid)),
		ShellJob: ptr(o.ShellJob), LeaveRunning: ptr(o.LeaveRunning), TcpEstablished: ptr(o.TCPEstablished),
		TcpSkipInFlight: ptr(o.TCPSkipInFlight), LinkRemap: ptr(o.LinkRemap), ExtUnixSk: ptr(o.ExtUnixSk),
		FileLocks: ptr(o.FileLocks), EmptyNs: ptr(a.emptyNs), OrphanPtsMaster: ptr(true),
		AutoDedup: ptr(o.AutoDedup), LazyPages: ptr(o.LazyPages), Ps: a.ps,
	}
	if o.ParentPath != "" {
		opts.ParentImg, opts.TrackMem = ptr(o.ParentPath), ptr(true)
	}
	return opts
}

func ptr[T any](v T) *T { return &v }

func closeFds(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func openWorkDir(p string) (*os.File, error) {
	if err := os.MkdirAll(p, 0o700); err != nil { //nolint:forbidigo // the caller's host path (--work-path)
		return nil, fmt.Errorf("work directory: %w", err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	return f, nil
}

// criuConfigFile sets the CRIU configuration file: the container's
// org.criu.config annotation (empty: none), else runc's default file.
func criuConfigFile(opts *rpc.CriuOpts, ann map[string]string) {
	if f, ok := ann[criuConfigAnnotation]; ok {
		if f != "" {
			opts.ConfigFile = ptr(f)
		}
		return
	}
	opts.ConfigFile = ptr(criuDefaultConfig)
}

// externalNs describes a namespace of type t the container joined by path
// as external ("net[INODE]:extRootNetNS"): CRIU saves no state of it and
// restore finds it by key. "" when the container made its own.
func externalNs(spec *specs.Spec, t specs.LinuxNamespaceType, version int) (string, error) {
	path := nsPath(spec, t)
	if path == "" {
		return "", nil
	}
	name, min := "net", criu.MinExtNetNS
	if t == specs.PIDNamespace {
		name, min = "pid", criu.MinExtPidNS
	}
	if err := needVersion(version, min, "an external "+string(t)+" namespace"); err != nil {
		return "", err
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("%s namespace %s: %w", t, path, err)
	}
	return fmt.Sprintf("%s[%d]:%s", name, st.Ino, criu.ExtNsKey(name)), nil
}

func nsPath(spec *specs.Spec, t specs.LinuxNamespaceType) string {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return ns.Path
		}
	}
	return ""
}

// freezeCgroup is the cgroup CRIU freezes the container with (else it
// stops each task with ptrace): the freezer hierarchy's on v1, the
// container's cgroup on v2 (CRIU 3.14 and later).
func (c *Container) freezeCgroup(version int) (string, error) {
	if cgroups.GetMode() == cgroups.Unified {
		if version < criu.MinCgroup2Freezer {
			return "", nil
		}
		return c.state.CgroupPaths[""], nil
	}
	return c.state.CgroupPaths["freezer"], nil
}

// extMount is a mount the container got from the host: its destination
// in the container and what restore binds there.
type extMount struct {
	dest, source string
}

// externalMounts lists the container's mounts of host files, as runc
// describes them to CRIU: bind mounts, the cgroup binds of a container
// without a cgroup namespace (cgroupDirs: its cgroup, controller → dir)
// and device nodes (bound from the host's in a user namespace; mknod'ed
// ones simply match no mount). Masked files are the callers' business.
func externalMounts(spec *specs.Spec, bundle string, cgroupDirs map[string]string) ([]extMount, error) {
	var out []extMount
	cgroupNS := hasNs(spec, specs.CgroupNamespace)
	for _, m := range spec.Mounts {
		dest := filepath.Clean("/" + m.Destination)
		switch {
		case isBindMount(&m):
			src := m.Source
			if !filepath.IsAbs(src) {
				src = filepath.Join(bundle, src)
			}
			out = append(out, extMount{dest, src})
		case (m.Type == "cgroup" || m.Type == "cgroup2") && !cgroupNS:
			host, err := cgroups.ReadHost()
			if err != nil {
				return nil, err
			}
			cv, err := rootfs.HostCgroupView(host, cgroupDirs)
			if err != nil {
				return nil, err
			}
			if !cv.Tmpfs && len(cv.Hier) > 0 {
				out = append(out, extMount{dest, cv.Hier[0].Source})
				continue
			}
			for _, h := range cv.Hier {
				out = append(out, extMount{filepath.Join(dest, h.Name), h.Source})
			}
		}
	}
	seen := map[string]bool{}
	for _, d := range append(append([]specs.LinuxDevice{}, spec.Linux.Devices...), rootfs.DefaultDevices...) {
		p := filepath.Clean("/" + d.Path)
		if d.Path == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, extMount{p, p})
	}
	return out, nil
}

// mountKey is a mount destination as CRIU sees it inside the container:
// resolved inside the rootfs, as runc resolves it (a symlink in the
// rootfs may move it, or make it a key CRIU must not get).
func mountKey(rootfsPath, dest string) string {
	if p, err := securejoin.SecureJoin(rootfsPath, dest); err == nil {
		return strings.TrimPrefix(p, rootfsPath)
	}
	return dest
}

// dumpExtMounts: each external mount is saved with its key as its name;
// a masked file (a bind of /dev/null; a masked directory is a tmpfs,
// which CRIU saves) is saved under the name /dev/null.
func (c *Container) dumpExtMounts(spec *specs.Spec) ([]*rpc.ExtMountMap, error) {
	ms, err := externalMounts(spec, c.state.Bundle, c.state.CgroupPaths)
	if err != nil {
		return nil, err
	}
	var out []*rpc.ExtMountMap
	add := func(key, val string) error {
		e, err := criu.ExtMount(key, val)
		if err == nil {
			out = append(out, e)
		}
		return err
	}
	for _, m := range ms {
		k := mountKey(c.state.Rootfs, m.dest)
		if err := add(k, k); err != nil {
			return nil, err
		}
	}
	for _, p := range spec.Linux.MaskedPaths {
		p = filepath.Clean("/" + p)
		st, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", c.state.InitPid, p))
		if err != nil || st.IsDir() {
			continue
		}
		if err := add(p, "/dev/null"); err != nil {
			return nil, err
		}
	}
	return out, nil
}
