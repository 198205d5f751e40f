package main

import (
	"os"
	"testing"
)

func TestCountStarts(t *testing.T) {
	// A real trace of `teu run` of /bin/true: the Go CLI (threads), its
	// re-exec as the C executor (a fork, no thread), the container's
	// process; calls split by other processes' included.
	data, err := os.ReadFile("testdata/teu-run.strace")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := countStarts(string(data)), (startCount{execs: 3, threaded: 1}); got != want {
		t.Errorf("teu run: %+v, want %+v", got, want)
	}

	for _, tc := range []struct {
		name, trace string
		want        startCount
	}{
		{"a C runtime: no thread", `10 execve("/usr/bin/crun", ["crun", "run"], 0x1 /* 3 vars */) = 0
10 clone(child_stack=NULL, flags=CLONE_NEWNS|SIGCHLD) = 11
11 execve("/bin/true", ["/bin/true"], 0x2 /* 3 vars */) = 0
`, startCount{execs: 2}},
		{"a forked Go child that execs its init, which threads too", `20 execve("/usr/sbin/runc", ["runc", "run"], 0x1 /* 3 vars */) = 0
20 clone3({flags=CLONE_VM|CLONE_THREAD, child_tid=0x1}, 88) = 21
21 clone(child_stack=NULL, flags=CLONE_VFORK|SIGCHLD <unfinished ...>
22 execve("/proc/self/exe", ["runc", "init"], 0x3 /* 2 vars */ <unfinished ...>
21 <... clone resumed>) = 22
22 <... execve resumed>) = 0
22 clone3({flags=CLONE_VM|CLONE_THREAD, child_tid=0x2}, 88) = 23
23 clone3({flags=CLONE_VM|CLONE_THREAD, child_tid=0x3}, 88) = 24
22 execve("/bin/true", ["/bin/true"], 0x4 /* 3 vars */) = 0
22 +++ exited with 0 +++
`, startCount{execs: 3, threaded: 2}},
		{"a failed execve is no start", `30 execve("/bin/none", ["none"], 0x1 /* 1 var */) = -1 ENOENT (No such file or directory)
30 execve("/bin/true", ["true"], 0x1 /* 1 var */) = 0
`, startCount{execs: 1}},
	} {
		if got := countStarts(tc.trace); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
