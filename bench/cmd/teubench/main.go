// teubench runs teu, runc and crun side by side on the same busybox
// bundle and prints a markdown table of median CPU time (user+sys of the
// whole process tree, containers included) and wall time per scenario.
//
// It is a benchmark, not a test: `make bench` runs it (as root), `make test`
// never does. See bench/README.md.
//
// Every runtime runs in one private mount namespace in which
// /sys/fs/cgroup/unified is covered by an empty tmpfs (crun 1.8 refuses a
// hybrid cgroup host); the host's mounts are not changed. Each runtime has
// its own --root under a temp dir; containers live in cgroups under
// /<ctrl>/teubench-<pid>/, which the bench removes at the end, as it deletes
// every container it made, also after a failure or an interrupt.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const envInner = "_TEUBENCH_INNER"

var (
	flagTeu     = flag.String("teu", "./teu", "teu binary")
	flagRuntime = flag.String("runtimes", "teu,runc,crun", "runtimes to compare (teu first: ratios are against it)")
	flagReps    = flag.Int("reps", 20, "repetitions per scenario and runtime (medians)")
	flagPar     = flag.Int("parallel", 50, "containers created at once in the parallel scenario")
	flagParReps = flag.Int("parallel-reps", 5, "repetitions of the parallel scenario")
	flagOnly    = flag.String("only", "", "comma-separated scenarios to run (default all): start,lifecycle,run,exec,state,list,delete,parallel,memory,rss,churn")
	flagChurn   = flag.Int("churn", 1000, "containers per runtime in the churn scenario")
	flagChurnP  = flag.Int("churn-parallel", 4, "churn workers per runtime")
	flagChurnR  = flag.Int("churn-rounds", 10, "churn rounds, runtimes interleaved round by round")
	flagFloor   = flag.String("floor", "", "a do-nothing static cgo Go program (bench/cmd/gostart) timed beside `--version`: the floor of a Go start")
	flagReadme  = flag.String("readme", "", "replace the table between the bench markers in this file")
	flagWork    = flag.String("workdir", "", "internal: the temp dir")
	flagCleanup = flag.Bool("cleanup", false, "internal: only delete what a bench run in -workdir left")
	flagStateFS = flag.String("state-fs", "tmpfs", "where the runtimes' --root dirs live: tmpfs (as /run on a systemd host, where engines keep them) or disk (the temp dir's filesystem)")
)

type runtime struct {
	name string
	bin  string
	root string
	na   map[string]bool // scenarios this runtime cannot run
}

type bench struct {
	ctx      context.Context
	work     string
	cgParent string // teubench-<pid>, under each cgroup v1 controller
	rts      []*runtime
	rootfs   string
	seq      int
	mu       sync.Mutex
	made     map[*runtime]map[string]bool
	reapers  sync.WaitGroup
	// cpu is each scenario's median CPU ms per runtime, for the floor model.
	cpu   map[string]map[string]float64
	floor []float64 // CPU ms of each run of -floor
	// starts is each scenario's program starts per runtime (strace).
	starts map[string]map[string]startCount
}

func main() {
	flag.Parse()
	if os.Geteuid() != 0 {
		fatalf("teubench must run as root")
	}
	if os.Getenv(envInner) == "" {
		os.Exit(outer())
	}
	b := &bench{work: *flagWork, cgParent: strings.Replace(filepath.Base(*flagWork), ".", "-", 1)}
	ctx, cancel := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
	defer cancel()
	b.ctx = ctx
	b.setupRuntimes()
	if *flagCleanup {
		coverUnified()
		b.cleanup()
		return
	}
	err := b.runAll()
	b.cleanup()
	if err != nil {
		fatalf("%v", err)
	}
}

// outer makes the temp dir, runs the bench in a private mount namespace
// (Go makes its mounts private there) and cleans up once more after it,
// whatever happened to it.
func outer() int {
	work, err := os.MkdirTemp("", "teubench.")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(work)
	// The runtimes' state dirs (--root) on a tmpfs of their own, as
	// engines keep them under /run, a tmpfs on systemd hosts. Mounted here,
	// in our own mount namespace, so that the cleanup pass sees it too.
	state := filepath.Join(work, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		fatalf("%v", err)
	}
	switch *flagStateFS {
	case "tmpfs":
		if err := unix.Mount("teubench", state, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=700"); err != nil {
			fatalf("state tmpfs: %v", err)
		}
		defer unix.Unmount(state, unix.MNT_DETACH)
	case "disk":
	default:
		fatalf("-state-fs %q: tmpfs or disk", *flagStateFS)
	}
	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	signal.Ignore(unix.SIGINT) // the terminal sends it to the inner one too
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, unix.SIGTERM, unix.SIGHUP)
	run := func(extra ...string) int {
		args := append([]string{"-workdir", work}, extra...)
		args = append(args, os.Args[1:]...)
		cmd := exec.Command(self, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), envInner+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNS}
		if err := cmd.Start(); err != nil {
			fatalf("%v", err)
		}
		done := make(chan struct{})
		go func() {
			select {
			case s := <-sigc:
				cmd.Process.Signal(s)
			case <-done:
			}
		}()
		cmd.Wait()
		close(done)
		return cmd.ProcessState.ExitCode()
	}
	rc := run()
	run("-cleanup")
	return rc
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "teubench: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "teubench: "+format+"\n", args...)
}

func (b *bench) setupRuntimes() {
	for _, name := range strings.Split(*flagRuntime, ",") {
		bin := name
		if name == "teu" {
			bin, _ = filepath.Abs(*flagTeu)
		} else if p, err := exec.LookPath(name); err == nil {
			bin = p
		} else {
			fatalf("%s not found (apt-get install %s)", name, name)
		}
		b.rts = append(b.rts, &runtime{name: name, bin: bin, root: filepath.Join(b.work, "state", "root-"+name), na: map[string]bool{}})
	}
	b.made = map[*runtime]map[string]bool{}
	b.cpu = map[string]map[string]float64{}
}

// cmdResult is one command's outcome.
type cmdResult struct {
	wall time.Duration
	cpu  time.Duration // the command's and its reaped children's user+sys
	out  string
	err  error
}

// cmd runs the runtime with args and waits for it.
func (b *bench) cmd(rt *runtime, args ...string) cmdResult {
	return b.cmdVia(nil, rt, args...)
}

// cmdVia runs the runtime through the command prefix wrap.
func (b *bench) cmdVia(wrap []string, rt *runtime, args ...string) cmdResult {
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	argv := append(append(wrap, rt.bin, "--root", rt.root), args...)
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// A file, not a pipe: a created container's init keeps the runtime's
	// stdio, and a pipe would hold Wait until the container is gone.
	out, err := os.CreateTemp(b.work, "out.")
	if err != nil {
		return cmdResult{err: err}
	}
	defer os.Remove(out.Name())
	defer out.Close()
	c.Stdout, c.Stderr = out, out
	t0 := time.Now()
	err = c.Run()
	r := cmdResult{wall: time.Since(t0)}
	if ps := c.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	if data, rerr := os.ReadFile(out.Name()); rerr == nil {
		r.out = strings.TrimSpace(string(data))
	}
	if err != nil {
		r.err = fmt.Errorf("%s %s: %v: %s", rt.name, strings.Join(args, " "), err, r.out)
	}
	return r
}

func childCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (b *bench) newID(rt *runtime) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	id := fmt.Sprintf("b%d-%s", b.seq, rt.name)
	if b.made[rt] == nil {
		b.made[rt] = map[string]bool{}
	}
	b.made[rt][id] = true
	return id
}

func (b *bench) forget(rt *runtime, id string) {
	b.mu.Lock()
	delete(b.made[rt], id)
	b.mu.Unlock()
	os.RemoveAll(filepath.Join(b.work, "bundle-"+id))
}

// container is a created container whose init we reap, as a shim would
// (the bench is a child subreaper: orphaned inits come to it).
type container struct {
	rt     *runtime
	id     string
	pid    int
	exited chan struct{}
}

func (b *bench) create(rt *runtime, kind string) (*container, cmdResult) {
	return b.createVia(nil, rt, kind)
}

func (b *bench) createVia(wrap []string, rt *runtime, kind string) (*container, cmdResult) {
	id := b.newID(rt)
	bundle, err := b.bundleFor(id, kind)
	if err != nil {
		return nil, cmdResult{err: err}
	}
	pidFile := filepath.Join(b.work, id+".pid")
	r := b.cmdVia(wrap, rt, "create", "--bundle", bundle, "--pid-file", pidFile, id)
	if r.err != nil {
		b.cmd(rt, "delete", "-f", id)
		return nil, r
	}
	data, err := os.ReadFile(pidFile)
	os.Remove(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		r.err = fmt.Errorf("%s create: no pid file", rt.name)
		return nil, r
	}
	c := &container{rt: rt, id: id, pid: pid, exited: make(chan struct{})}
	b.reapers.Add(1)
	go func() {
		defer b.reapers.Done()
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err != unix.EINTR {
				break
			}
		}
		close(c.exited)
	}()
	return c, r
}

// destroy deletes c (untimed) and waits for its init to be reaped.
func (b *bench) destroy(c *container) {
	if c == nil {
		return
	}
	if r := b.cmd(c.rt, "delete", "-f", c.id); r.err != nil {
		logf("%v", r.err)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		logf("%s %s: init %d did not exit", c.rt.name, c.id, c.pid)
	}
	b.forget(c.rt, c.id)
}

func (b *bench) startedSleeper(rt *runtime) (*container, error) {
	c, r := b.create(rt, "sleep")
	if r.err != nil {
		return nil, r.err
	}
	if r := b.cmd(rt, "start", c.id); r.err != nil {
		b.destroy(c)
		return nil, r.err
	}
	return c, nil
}

// sample is one measured repetition.
type sample struct {
	cpu, wall time.Duration
	value     float64 // scenario-specific (containers/s, KiB)
}

// scenario is measured once per repetition and runtime, interleaved.
type scenario struct {
	name string
	// setup and teardown run once per runtime, untimed.
	setup        func(rt *runtime) (any, error)
	teardown     func(rt *runtime, st any)
	once         func(rt *runtime, st any) (sample, error)
	reps         int
	valueOnly    bool // report value, not CPU/wall
	higherBetter bool
}

type outcome struct {
	samples []sample
	err     error
	na      bool
}

func (b *bench) measure(sc *scenario) map[*runtime]*outcome {
	res := map[*runtime]*outcome{}
	states := map[*runtime]any{}
	for _, rt := range b.rts {
		res[rt] = &outcome{na: rt.na[sc.name]}
		if res[rt].na {
			continue
		}
		if sc.setup != nil {
			st, err := sc.setup(rt)
			if err != nil {
				res[rt].err = err
				continue
			}
			states[rt] = st
		}
		// One untimed warm-up (page cache, dentries).
		if _, err := sc.once(rt, states[rt]); err != nil {
			res[rt].err = err
		}
	}
	reps := sc.reps
	if reps == 0 {
		reps = *flagReps
	}
	for i := 0; i < reps && b.ctx.Err() == nil; i++ {
		for _, rt := range b.rts {
			o := res[rt]
			if o.na || o.err != nil {
				continue
			}
			s, err := sc.once(rt, states[rt])
			if err != nil {
				o.err = err
				continue
			}
			o.samples = append(o.samples, s)
		}
	}
	for _, rt := range b.rts {
		if sc.teardown != nil && !res[rt].na {
			if st, ok := states[rt]; ok {
				sc.teardown(rt, st)
			}
		}
	}
	return res
}

// timed measures fn's wall time and the CPU time of every process it
// started and reaped (RUSAGE_CHILDREN).
func timed(fn func() error) (sample, error) {
	c0, t0 := childCPU(), time.Now()
	err := fn()
	return sample{wall: time.Since(t0), cpu: childCPU() - c0}, err
}

func (b *bench) scenarios() []*scenario {
	return []*scenario{
		{name: "start", once: func(rt *runtime, _ any) (sample, error) {
			s, err := timed(func() error { return b.cmd(rt, "--version").err })
			// The floor, interleaved with the first runtime's runs.
			if err == nil && *flagFloor != "" && rt == b.rts[0] {
				f, ferr := timed(func() error { return exec.Command(*flagFloor).Run() })
				if ferr != nil {
					return s, fmt.Errorf("floor %s: %v", *flagFloor, ferr)
				}
				b.floor = append(b.floor, float64(f.cpu)/1e6)
			}
			return s, err
		}},
		{name: "lifecycle", once: func(rt *runtime, _ any) (sample, error) {
			var c *container
			s, err := timed(func() error {
				var r cmdResult
				c, r = b.create(rt, "true")
				if r.err != nil {
					return r.err
				}
				if r := b.cmd(rt, "start", c.id); r.err != nil {
					return r.err
				}
				<-c.exited
				if r := b.cmd(rt, "delete", c.id); r.err != nil {
					return r.err
				}
				b.forget(rt, c.id)
				return nil
			})
			if err != nil && c != nil {
				b.destroy(c)
			}
			return s, err
		}},
		{name: "run", once: func(rt *runtime, _ any) (sample, error) {
			id := b.newID(rt)
			bundle, err := b.bundleFor(id, "true")
			if err != nil {
				return sample{}, err
			}
			s, err := timed(func() error { return b.cmd(rt, "run", "--bundle", bundle, id).err })
			if err != nil {
				b.cmd(rt, "delete", "-f", id)
			}
			b.forget(rt, id)
			return s, err
		}},
		{name: "exec",
			setup:    func(rt *runtime) (any, error) { return b.startedSleeper(rt) },
			teardown: func(rt *runtime, st any) { b.destroy(st.(*container)) },
			once: func(rt *runtime, st any) (sample, error) {
				return timed(func() error { return b.cmd(rt, "exec", st.(*container).id, "/bin/true").err })
			}},
		{name: "state",
			setup:    func(rt *runtime) (any, error) { return b.startedSleeper(rt) },
			teardown: func(rt *runtime, st any) { b.destroy(st.(*container)) },
			once: func(rt *runtime, st any) (sample, error) {
				return timed(func() error {
					r := b.cmd(rt, "state", st.(*container).id)
					if r.err == nil && !strings.Contains(r.out, `"running"`) {
						return fmt.Errorf("%s state: not running: %s", rt.name, r.out)
					}
					return r.err
				})
			}},
		{name: "list",
			setup: func(rt *runtime) (any, error) {
				var cs []*container
				for i := 0; i < 10; i++ {
					c, err := b.startedSleeper(rt)
					if err != nil {
						for _, c := range cs {
							b.destroy(c)
						}
						return nil, err
					}
					cs = append(cs, c)
				}
				return cs, nil
			},
			teardown: func(rt *runtime, st any) {
				for _, c := range st.([]*container) {
					b.destroy(c)
				}
			},
			once: func(rt *runtime, st any) (sample, error) {
				return timed(func() error {
					r := b.cmd(rt, "list")
					if r.err == nil && strings.Count(r.out, "running") != 10 {
						return fmt.Errorf("%s list: want 10 running: %s", rt.name, r.out)
					}
					return r.err
				})
			}},
		{name: "delete", once: func(rt *runtime, _ any) (sample, error) {
			c, err := b.startedSleeper(rt)
			if err != nil {
				return sample{}, err
			}
			var r cmdResult
			s, err := timed(func() error {
				r = b.cmd(rt, "delete", "-f", c.id)
				<-c.exited // reaped by us, as a shim would, meanwhile
				return r.err
			})
			// The command's own: the container's init, reaped meanwhile, would
			// bring the CPU of its whole life, its set-up at create included.
			s.wall, s.cpu = r.wall, r.cpu
			if err == nil {
				b.forget(rt, c.id)
			} else {
				b.destroy(c)
			}
			return s, err
		}},
		{name: "parallel", reps: *flagParReps, higherBetter: true, valueOnly: true,
			once: func(rt *runtime, _ any) (sample, error) {
				cs := make([]*container, *flagPar)
				errs := make([]error, *flagPar)
				var wg sync.WaitGroup
				s, _ := timed(func() error {
					for i := range cs {
						wg.Add(1)
						go func() {
							defer wg.Done()
							var r cmdResult
							cs[i], r = b.create(rt, "sleep")
							errs[i] = r.err
						}()
					}
					wg.Wait()
					return nil
				})
				s.value = float64(*flagPar) / s.wall.Seconds()
				for _, c := range cs {
					b.destroy(c)
				}
				return s, errors.Join(errs...)
			}},
		{name: "rss", reps: 10, valueOnly: true, once: func(rt *runtime, _ any) (sample, error) {
			// ru_maxrss survives exec, and the bench forks with CLONE_VM:
			// a command it starts would report at least the bench's own
			// RSS. GNU time fork()s, from a small process.
			out := filepath.Join(b.work, "rss")
			c, r := b.createVia([]string{"/usr/bin/time", "-f", "%M", "-o", out}, rt, "sleep")
			b.destroy(c)
			if r.err != nil {
				return sample{}, r.err
			}
			data, _ := os.ReadFile(out)
			kib, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
			if err != nil {
				return sample{}, fmt.Errorf("/usr/bin/time: %q: %v", data, err)
			}
			return sample{value: kib}, nil
		}},
	}
}

// setupBundles makes one busybox rootfs and bundles that share it.
func (b *bench) setupBundles() error {
	src, _ := filepath.Abs(".")
	mk := filepath.Join(src, "tests/integration/mkbundle.sh")
	base := filepath.Join(b.work, "base")
	cmd := exec.Command(mk, base)
	cmd.Env = append(os.Environ(), "TEU="+b.rts[0].bin)
	if b.rts[0].name != "teu" {
		cmd.Env = append(os.Environ(), "TEU="+*flagTeu)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mkbundle: %v: %s", err, out)
	}
	b.rootfs = filepath.Join(base, "rootfs")
	return nil
}

// bundleFor is a bundle of kind whose cgroup is the container's own: each
// container needs one (a runtime kills everything in it on delete).
func (b *bench) bundleFor(id, kind string) (string, error) {
	args := map[string][]string{"true": {"/bin/true"}, "sleep": {"sleep", "1000000"}}[kind]
	return b.writeBundle(id, args, 0)
}

// writeBundle writes a config.json for args (and a memory limit in bytes
// if > 0) next to the shared rootfs.
func (b *bench) writeBundle(name string, args []string, memLimit int64) (string, error) {
	data, err := os.ReadFile(filepath.Join(b.work, "base", "config.json"))
	if err != nil {
		return "", err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return "", err
	}
	// crun 1.8 refuses ociVersion 1.3.0; nothing here needs more than 1.0.
	spec["ociVersion"] = "1.0.2"
	spec["root"] = map[string]any{"path": b.rootfs, "readonly": true}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = args
	linux := spec["linux"].(map[string]any)
	linux["cgroupsPath"] = "/" + b.cgParent + "/" + name
	res, _ := linux["resources"].(map[string]any)
	if res == nil {
		res = map[string]any{}
		linux["resources"] = res
	}
	if memLimit > 0 {
		res["memory"] = map[string]any{"limit": memLimit}
	}
	dir := filepath.Join(b.work, "bundle-"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out, _ := json.MarshalIndent(spec, "", "\t")
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644)
}

func (b *bench) runAll() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return err
	}
	if err := coverUnified(); err != nil {
		return err
	}
	if err := b.setupBundles(); err != nil {
		return err
	}
	for _, rt := range b.rts {
		if rt.name == "teu" && exec.Command(rt.bin, "exec", "--help").Run() != nil {
			rt.na["exec"] = true
		}
	}
	only := map[string]bool{}
	for _, s := range strings.Split(*flagOnly, ",") {
		if s != "" {
			only[s] = true
		}
	}
	var rows [][]string
	for _, sc := range b.scenarios() {
		if len(only) > 0 && !only[sc.name] || b.ctx.Err() != nil {
			continue
		}
		logf("scenario %s", sc.name)
		res := b.measure(sc)
		rows = append(rows, b.rowsFor(sc, res)...)
	}
	if (len(only) == 0 || only["memory"]) && b.ctx.Err() == nil {
		logf("scenario memory (bisect)")
		rows = append(rows, b.memoryRow())
	}
	if *flagFloor != "" && b.ctx.Err() == nil {
		logf("program starts (strace)")
		b.measureStarts()
	}
	var churn string
	if (len(only) == 0 || only["churn"]) && b.ctx.Err() == nil {
		logf("scenario churn (%d containers per runtime, %d at a time)", *flagChurn, *flagChurnP)
		churn = b.churnTable()
	}
	if err := b.ctx.Err(); err != nil {
		return err
	}
	if len(rows) > 0 {
		table := b.table(rows)
		fmt.Print(table)
		if *flagReadme != "" {
			if err := replaceTable(*flagReadme, "bench", table); err != nil {
				return err
			}
		}
	}
	if churn != "" {
		fmt.Print(churn)
		if *flagReadme != "" {
			return replaceTable(*flagReadme, "churn", churn)
		}
	}
	return nil
}

// churnStats is one runtime's churn: containers made and deleted, the
// time and CPU they took, and what went wrong.
type churnStats struct {
	n        int
	wall     time.Duration
	cpu      time.Duration
	failures int
	stuck    int // inits still there 10 s after delete -f returned
	lastErr  error
}

// churnTable runs the churn scenario: per runtime, -churn containers each
// created, started and deleted with `delete -f` (a sleeper, as an engine
// stops a running container), -churn-parallel at a time, in -churn-rounds
// rounds interleaved across the runtimes; then counts what each runtime
// left behind: state dirs, cgroups, processes, mounts.
func (b *bench) churnTable() string {
	stats := map[*runtime]*churnStats{}
	for _, rt := range b.rts {
		stats[rt] = &churnStats{}
	}
	rounds := max(*flagChurnR, 1)
	for r := 0; r < rounds && b.ctx.Err() == nil; r++ {
		for _, rt := range b.rts {
			n := *flagChurn / rounds
			if r < *flagChurn%rounds {
				n++
			}
			b.churnRound(rt, n, stats[rt])
		}
	}
	var sb strings.Builder
	hdr := []string{"churn (" + strconv.Itoa(*flagChurn) + " containers, " + strconv.Itoa(*flagChurnP) + " at a time)"}
	for _, rt := range b.rts {
		hdr = append(hdr, rt.name)
	}
	for _, rt := range b.rts[1:] {
		hdr = append(hdr, b.rts[0].name+"/"+rt.name)
	}
	line := func(cells []string) { sb.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	line(hdr)
	sep := make([]string, len(hdr))
	for i := range sep {
		sep[i] = "---"
		if i > 0 {
			sep[i] = "---:"
		}
	}
	line(sep)
	leaks := map[*runtime]churnLeaks{}
	for _, rt := range b.rts {
		leaks[rt] = b.churnLeaks(rt)
	}
	row := func(label string, f func(rt *runtime) float64, ratio bool) {
		cells := []string{label}
		vals := make([]float64, len(b.rts))
		for i, rt := range b.rts {
			vals[i] = f(rt)
			cells = append(cells, format(vals[i]))
		}
		if ratio {
			cells = append(cells, ratios(vals)...)
		} else {
			for range b.rts[1:] {
				cells = append(cells, "")
			}
		}
		line(cells)
	}
	perCtr := func(d func(s *churnStats) time.Duration) func(rt *runtime) float64 {
		return func(rt *runtime) float64 {
			s := stats[rt]
			if s.n == 0 {
				return 0
			}
			return float64(d(s)) / 1e6 / float64(s.n)
		}
	}
	row("wall ms per container (whole churn / containers)", perCtr(func(s *churnStats) time.Duration { return s.wall }), true)
	row("CPU ms per container", perCtr(func(s *churnStats) time.Duration { return s.cpu }), true)
	row("total wall s", func(rt *runtime) float64 { return stats[rt].wall.Seconds() }, true)
	row("failed commands", func(rt *runtime) float64 { return float64(stats[rt].failures) }, false)
	row("left: state dirs", func(rt *runtime) float64 { return float64(leaks[rt].dirs) }, false)
	row("left: cgroup directories", func(rt *runtime) float64 { return float64(leaks[rt].cgroups) }, false)
	row("left: processes (an init alive 10 s after `delete -f`, or in a container's cgroup)", func(rt *runtime) float64 {
		return float64(stats[rt].stuck + leaks[rt].procs)
	}, false)
	row("left: mounts", func(rt *runtime) float64 { return float64(leaks[rt].mounts) }, false)
	for _, rt := range b.rts {
		if err := stats[rt].lastErr; err != nil {
			logf("%s churn: %d failures, the last: %v", rt.name, stats[rt].failures, err)
		}
	}
	fmt.Fprintf(&sb, "\n%d rounds, runtimes interleaved round by round; %s; %s.\n", rounds,
		time.Now().UTC().Format("2006-01-02"), b.versions())
	return sb.String()
}

// churnRound churns n containers of rt, -churn-parallel at a time.
func (b *bench) churnRound(rt *runtime, n int, st *churnStats) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := 0
	fail := func(err error) {
		mu.Lock()
		st.failures++
		st.lastErr = err
		mu.Unlock()
	}
	s, _ := timed(func() error {
		for w := 0; w < *flagChurnP; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b.ctx.Err() == nil {
					mu.Lock()
					if next == n {
						mu.Unlock()
						return
					}
					next++
					mu.Unlock()
					c, r := b.create(rt, "sleep")
					if r.err != nil {
						fail(r.err)
						continue
					}
					if r := b.cmd(rt, "start", c.id); r.err != nil {
						fail(r.err)
					}
					if r := b.cmd(rt, "delete", "-f", c.id); r.err != nil {
						fail(r.err)
					}
					select {
					case <-c.exited:
					case <-time.After(10 * time.Second):
						mu.Lock()
						st.stuck++
						mu.Unlock()
					}
					// The bundle only: what the runtime left is counted at the end.
					os.RemoveAll(filepath.Join(b.work, "bundle-"+c.id))
				}
			}()
		}
		wg.Wait()
		return nil
	})
	st.n += n
	st.wall += s.wall
	st.cpu += s.cpu
}

func zombie(stat []byte) bool {
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat)[i+1:])
	return len(f) > 0 && f[0] == "Z"
}

// churnLeaks is what a runtime left behind after its churn.
type churnLeaks struct{ dirs, cgroups, procs, mounts int }

func (b *bench) churnLeaks(rt *runtime) churnLeaks {
	var l churnLeaks
	suffix := "-" + rt.name
	ents, _ := os.ReadDir(rt.root)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), suffix) {
			l.dirs++
		}
	}
	for _, c := range b.cgroupDirs() {
		ents, _ := os.ReadDir(c)
		for _, e := range ents {
			if e.IsDir() && strings.HasSuffix(e.Name(), suffix) {
				l.cgroups++
			}
		}
	}
	// A process left behind is in its container's cgroup (every
	// container has its own, named after it).
	cgs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, p := range cgs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, ln := range strings.Split(string(data), "\n") {
			if i := strings.Index(ln, "/"+b.cgParent+"/"); i >= 0 && strings.HasSuffix(ln, suffix) {
				if st, err := os.ReadFile(filepath.Dir(p) + "/stat"); err == nil && !zombie(st) {
					l.procs++
				}
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, ln := range strings.Split(string(data), "\n") {
			if f := strings.Fields(ln); len(f) > 4 && strings.HasPrefix(f[4], b.rootfs+"/") {
				l.mounts++
			}
		}
	}
	return l
}

var labels = map[string]string{
	"start":     "start-up: `--version`",
	"lifecycle": "lifecycle: create+start+wait+delete `/bin/true`",
	"run":       "`run /bin/true`",
	"exec":      "`exec /bin/true` into a running container",
	"state":     "`state` of a running container",
	"list":      "`list` with 10 running containers",
	"delete":    "`delete -f` of a running container",
	"parallel":  "containers/s, 50 `create`s in parallel",
	"rss":       "peak RSS of `create` (KiB, ru_maxrss)",
	"memory":    "smallest memory limit for `run /bin/true` (KiB)",
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rowsFor is the CPU row (and the wall row) of a scenario, or its value row.
func (b *bench) rowsFor(sc *scenario, res map[*runtime]*outcome) [][]string {
	pick := []struct {
		what string
		f    func(sample) float64
	}{
		{"CPU ms", func(s sample) float64 { return float64(s.cpu) / 1e6 }},
		{"wall ms", func(s sample) float64 { return float64(s.wall) / 1e6 }},
	}
	if sc.valueOnly {
		pick = pick[:0]
		pick = append(pick, struct {
			what string
			f    func(sample) float64
		}{"", func(s sample) float64 { return s.value }})
	}
	var rows [][]string
	for _, p := range pick {
		vals := make([]float64, len(b.rts))
		cells := []string{labels[sc.name]}
		if p.what != "" {
			cells[0] += " — " + p.what
		}
		for i, rt := range b.rts {
			o := res[rt]
			switch {
			case o.na:
				cells = append(cells, "n/a")
				vals[i] = -1
			case o.err != nil:
				logf("%s %s: %v", rt.name, sc.name, o.err)
				cells = append(cells, "failed")
				vals[i] = -1
			default:
				xs := make([]float64, len(o.samples))
				for j, s := range o.samples {
					xs[j] = p.f(s)
				}
				vals[i] = median(xs)
				cells = append(cells, format(vals[i]))
				if p.what == "CPU ms" {
					if b.cpu[sc.name] == nil {
						b.cpu[sc.name] = map[string]float64{}
					}
					b.cpu[sc.name][rt.name] = vals[i]
				}
			}
		}
		rows = append(rows, append(cells, ratios(vals)...))
	}
	return rows
}

func format(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// ratios are teu (the first runtime) over each other one.
func ratios(vals []float64) []string {
	var out []string
	for _, v := range vals[1:] {
		if vals[0] <= 0 || v <= 0 {
			out = append(out, "—")
			continue
		}
		out = append(out, strconv.FormatFloat(vals[0]/v, 'f', 2, 64))
	}
	return out
}

func (b *bench) table(rows [][]string) string {
	var sb strings.Builder
	hdr := []string{"scenario (median)"}
	for _, rt := range b.rts {
		hdr = append(hdr, rt.name)
	}
	for _, rt := range b.rts[1:] {
		hdr = append(hdr, b.rts[0].name+"/"+rt.name)
	}
	line := func(cells []string) { sb.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	line(hdr)
	sep := make([]string, len(hdr))
	for i := range sep {
		sep[i] = "---"
		if i > 0 {
			sep[i] = "---:"
		}
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
	where := "on a tmpfs, as /run"
	if *flagStateFS == "disk" {
		where = "on the disk (-state-fs disk)"
	}
	fmt.Fprintf(&sb, "\n%d repetitions (parallel: %d), interleaved; state dirs %s; %s; %s.\n", *flagReps, *flagParReps,
		where, time.Now().UTC().Format("2006-01-02"), b.versions())
	sb.WriteString(b.floorModel())
	return sb.String()
}

// commands is how many runtime commands a scenario runs (create, start,
// delete for lifecycle): each costs crun one start of its CLI, which the
// floor model takes out at its `--version` cost. (crun also re-executes
// itself within some commands, which strace counts: cheaper than its
// --version, so not taken out.)
var commands = map[string]int{"lifecycle": 3, "run": 1, "exec": 1, "state": 1, "list": 1}

// floorModel is the best teu/crun CPU ratio teu's design could reach: the
// crun row with each of crun's command starts (its `--version`) taken out
// and each Go start of teu's (a program image that starts threads: the
// CLI; teu's C executor starts none) put in at the cost of a Go program
// that does nothing (-floor). That is, if everything else teu does cost
// what crun's does. The starts are counted with strace (measureStarts).
func (b *bench) floorModel() string {
	crunStart, ok := b.cpu["start"]["crun"]
	if *flagFloor == "" || len(b.floor) == 0 || !ok || crunStart <= 0 || b.starts == nil {
		return ""
	}
	floor := median(b.floor)
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nFloor: a do-nothing static cgo Go program (`bench/cmd/gostart`, teu's build flags) starts in "+
		"%s ms CPU, crun (`--version`) in %s ms, teu in %s ms. Program starts counted with `strace -f` "+
		"(execve, the container's `/bin/true` included; in brackets those that started threads: Go programs). "+
		"Best teu/crun CPU ratio with teu's Go starts at that floor, crun's command starts taken out at its `--version`, the rest at crun's "+
		"cost:\n\n", format(floor), format(crunStart), format(b.cpu["start"]["teu"]))
	sb.WriteString("| scenario | starts teu | starts runc | starts crun | crun CPU ms | teu at the floor, CPU ms | best teu/crun | teu/crun now |\n")
	sb.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, name := range []string{"lifecycle", "run", "exec", "state", "list"} {
		crun, ok1 := b.cpu[name]["crun"]
		teu, ok2 := b.cpu[name]["teu"]
		st := b.starts[name]
		tn, ok3 := st["teu"]
		cn, ok4 := st["crun"]
		if !ok1 || !ok2 || !ok3 || !ok4 || crun <= 0 {
			continue
		}
		runcCell := "-"
		if rn, ok := st["runc"]; ok {
			runcCell = startsCell(rn)
		}
		best := crun - float64(commands[name])*crunStart + float64(tn.threaded)*floor
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %.2f | %.2f |\n", name, startsCell(tn), runcCell,
			startsCell(cn), format(crun), format(best), best/crun, teu/crun)
	}
	return sb.String()
}

func (b *bench) versions() string {
	var vs []string
	for _, rt := range b.rts {
		out, _ := exec.Command(rt.bin, "--version").Output()
		first := strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
		vs = append(vs, first)
	}
	return strings.Join(vs, ", ")
}

// memoryRow bisects, per runtime, the smallest memory limit (KiB) under
// which `run /bin/true` still succeeds (twice in a row).
func (b *bench) memoryRow() []string {
	type span struct{ lo, hi int64 } // lo fails, hi works
	spans := map[*runtime]*span{}
	ok := func(rt *runtime, kib int64) bool {
		name := fmt.Sprintf("mem-%s-%d", rt.name, kib)
		dir, err := b.writeBundle(name, []string{"/bin/true"}, kib*1024)
		if err != nil {
			return false
		}
		defer os.RemoveAll(dir)
		for i := 0; i < 2; i++ {
			id := b.newID(rt)
			r := b.cmd(rt, "run", "--bundle", dir, id)
			b.cmd(rt, "delete", "-f", id)
			b.forget(rt, id)
			b.rmCgroup(name)
			if r.err != nil {
				return false
			}
		}
		return true
	}
	for _, rt := range b.rts {
		if ok(rt, 64*1024) {
			spans[rt] = &span{0, 64 * 1024}
		}
	}
	for b.ctx.Err() == nil {
		more := false
		for _, rt := range b.rts { // interleaved, one probe each per round
			s := spans[rt]
			if s == nil || s.hi-s.lo <= 16 {
				continue
			}
			more = true
			mid := (s.lo + s.hi) / 2
			if ok(rt, mid) {
				s.hi = mid
			} else {
				s.lo = mid
			}
		}
		if !more {
			break
		}
	}
	cells := []string{labels["memory"]}
	vals := make([]float64, len(b.rts))
	for i, rt := range b.rts {
		if s := spans[rt]; s != nil {
			vals[i] = float64(s.hi)
			cells = append(cells, strconv.FormatInt(s.hi, 10))
		} else {
			vals[i] = -1
			cells = append(cells, "failed")
		}
	}
	return append(cells, ratios(vals)...)
}

// rmCgroup removes the bench's cgroup name under every v1 controller (the
// runtimes remove it on delete; this is for the ones a failed run left).
func (b *bench) rmCgroup(name string) {
	for _, c := range b.cgroupDirs() {
		unix.Rmdir(filepath.Join(c, name))
	}
}

// cgroupDirs are the bench's parent cgroups, on real cgroupfs only (not on
// the tmpfs over /sys/fs/cgroup/unified, which goes with our namespace).
func (b *bench) cgroupDirs() []string {
	var out []string
	ctrls, _ := filepath.Glob("/sys/fs/cgroup/*/" + b.cgParent)
	for _, c := range ctrls {
		var st unix.Statfs_t
		if unix.Statfs(c, &st) == nil && (st.Type == unix.CGROUP_SUPER_MAGIC || st.Type == unix.CGROUP2_SUPER_MAGIC) {
			out = append(out, c)
		}
	}
	return out
}

// cleanup deletes every container the bench made and the cgroups under
// teubench-<pid>; it never touches anything else.
func (b *bench) cleanup() {
	ctx := b.ctx
	b.ctx = context.Background() // cleanup must run even after an interrupt
	defer func() { b.ctx = ctx }()
	for _, rt := range b.rts {
		ids := map[string]bool{}
		for id := range b.made[rt] {
			ids[id] = true
		}
		ents, _ := os.ReadDir(rt.root)
		for _, e := range ents {
			if e.IsDir() {
				ids[e.Name()] = true
			}
		}
		for id := range ids {
			b.cmd(rt, "delete", "-f", id)
		}
	}
	// Orphaned inits come to us (subreaper): give the reapers a moment.
	done := make(chan struct{})
	go func() { b.reapers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	for _, c := range b.cgroupDirs() {
		var dirs []string
		filepath.WalkDir(c, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := unix.Rmdir(dirs[i]); err != nil && !errors.Is(err, unix.ENOENT) {
				logf("cannot remove cgroup %s: %v", dirs[i], err)
			}
		}
	}
}

// coverUnified hides the cgroup2 mount of the hybrid host under an empty
// tmpfs, in our private mount namespace only: crun 1.8 refuses a hybrid
// host, and teu and runc get the same view for fairness.
func coverUnified() error {
	if _, err := os.Stat("/sys/fs/cgroup/unified"); err != nil {
		return nil // not a hybrid host
	}
	if err := unix.Mount("none", "/sys/fs/cgroup/unified", "tmpfs", 0, ""); err != nil {
		return fmt.Errorf("cover /sys/fs/cgroup/unified: %w", err)
	}
	return nil
}

// replaceTable puts table between the markers <!-- name:begin --> and
// <!-- name:end --> of a README.
func replaceTable(path, name, table string) error {
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s ... %s markers", path, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + table + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
