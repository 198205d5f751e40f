package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// startCount is what `strace -f -e trace=execve,clone,clone3` saw of one
// command and every process it made: how many programs were started
// (successful execve, the container's own process included) and how many
// of those program images went on to start a thread. A Go program starts
// threads as its runtime comes up; teu's C executor, crun and the
// container's /bin/true start none.
type startCount struct {
	execs    int
	threaded int
}

var straceLine = regexp.MustCompile(`^(\d+)\s+(.*)$`)

// countStarts reads strace -f output (one line per syscall, prefixed by the
// pid; a call interrupted by another process's is split into
// "<unfinished ...>" and "<... NAME resumed>").
func countStarts(trace string) startCount {
	var (
		n       startCount
		pending = map[int]string{} // pid → first half of a split call
		image   = map[int]int{}    // pid or tid → program image (execve) it runs
		thread  = map[int]bool{}   // image → it started a thread
		images  int
	)
	for _, line := range strings.Split(trace, "\n") {
		m := straceLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		call := m[2]
		switch {
		case strings.HasSuffix(call, "<unfinished ...>"):
			pending[pid] = strings.TrimSuffix(call, "<unfinished ...>")
			continue
		case strings.HasPrefix(call, "<... "):
			if i := strings.Index(call, "resumed>"); i >= 0 {
				call = pending[pid] + call[i+len("resumed>"):]
			}
			delete(pending, pid)
		}
		eq := strings.LastIndex(call, " = ")
		if eq < 0 {
			continue // a signal, an exit
		}
		ret, err := strconv.Atoi(strings.Fields(call[eq+3:] + " x")[0])
		if err != nil || ret < 0 {
			continue // failed, or "?"
		}
		switch {
		case strings.HasPrefix(call, "execve(") || strings.HasPrefix(call, "execveat("):
			images++
			image[pid] = images
			n.execs++
		case strings.HasPrefix(call, "clone(") || strings.HasPrefix(call, "clone3("):
			if ret == 0 {
				continue
			}
			if strings.Contains(call, "CLONE_THREAD") {
				if img, ok := image[pid]; ok && !thread[img] {
					thread[img] = true
					n.threaded++
				}
			}
			// The child runs the parent's image until it execs (its own
			// execve may already have been seen: then it is not overwritten).
			if _, seen := image[ret]; !seen {
				image[ret] = image[pid]
			}
		}
	}
	return n
}

// traceStarts runs one command of a runtime under strace -f and counts the
// programs it started.
func (b *bench) traceStarts(rt *runtime, args ...string) (startCount, error) {
	out := filepath.Join(b.work, "strace."+rt.name)
	defer os.Remove(out)
	wrap := []string{"strace", "-f", "-qq", "-e", "trace=execve,execveat,clone,clone3", "-o", out}
	if r := b.cmdVia(wrap, rt, args...); r.err != nil {
		return startCount{}, r.err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return startCount{}, err
	}
	return countStarts(string(data)), nil
}

// measureStarts counts, once per runtime, the programs `run /bin/true`,
// `exec /bin/true`, `state` and `list` start (strace), for the floor model.
// Lifecycle is run's plus one for each of start and delete. Nothing is
// counted (and the model is not printed) without strace.
func (b *bench) measureStarts() {
	if _, err := exec.LookPath("strace"); err != nil {
		logf("no strace: program starts not counted")
		return
	}
	b.starts = map[string]map[string]startCount{}
	put := func(scenario, rt string, n startCount) {
		if b.starts[scenario] == nil {
			b.starts[scenario] = map[string]startCount{}
		}
		b.starts[scenario][rt] = n
	}
	for _, rt := range b.rts {
		id := b.newID(rt)
		bundle, err := b.bundleFor(id, "true")
		if err == nil {
			var n startCount
			n, err = b.traceStarts(rt, "run", "--bundle", bundle, id)
			b.forget(rt, id)
			put("run", rt.name, n)
			put("lifecycle", rt.name, startCount{execs: n.execs + 2, threaded: n.threaded + 2*min(n.threaded, 1)})
		}
		if err != nil {
			logf("%s: counting starts of run: %v", rt.name, err)
			b.cmd(rt, "delete", "-f", id)
			continue
		}
		c, err := b.startedSleeper(rt)
		if err != nil {
			logf("%s: counting starts: %v", rt.name, err)
			continue
		}
		for _, sc := range []struct {
			name string
			args []string
		}{{"exec", []string{"exec", c.id, "/bin/true"}}, {"state", []string{"state", c.id}}, {"list", []string{"list"}}} {
			if rt.na[sc.name] {
				continue
			}
			n, err := b.traceStarts(rt, sc.args...)
			if err != nil {
				logf("%s: counting starts of %s: %v", rt.name, sc.name, err)
				continue
			}
			put(sc.name, rt.name, n)
		}
		b.destroy(c)
	}
}

// startsCell is a scenario's program starts for the table: "N (T threaded)".
func startsCell(n startCount) string {
	return fmt.Sprintf("%d (%d)", n.execs, n.threaded)
}
