package libcontainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/specconv"
)

// planBundle makes a bundle whose rootfs holds an executable bin/sh, a
// file that is not executable and an /etc/passwd, and returns its path
// and the example spec (without a terminal) for it.
func planBundle(t *testing.T) (string, *specs.Spec) {
	t.Helper()
	b := t.TempDir()
	for _, d := range []string{"rootfs/bin", "rootfs/etc", "rootfs/home/app"} {
		if err := os.MkdirAll(filepath.Join(b, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, f := range map[string]struct {
		data string
		mode os.FileMode
	}{
		"rootfs/bin/sh":     {"#!/bin/true\n", 0o755},
		"rootfs/bin/data":   {"not a program\n", 0o644},
		"rootfs/etc/passwd": {"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n", 0o644},
	} {
		if err := os.WriteFile(filepath.Join(b, name), []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	s := specconv.Example()
	s.Process.Terminal = false
	return b, s
}

// TestPlanListing compiles create's plan for variants of the example spec
// and checks each variant's steps are there (and the others' not).
func TestPlanListing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(s *specs.Spec, o *CreateOpts)
		want    []string // substrings of the listing
		notWant []string
		err     string
	}{{
		name:    "example",
		want:    []string{`exec "/bin/sh" ["sh"]`, `"HOME=/root"`, `hostname "teu"`, "set no_new_privs", "wait for start on exec.fifo", "pivot_root", `join session keyring`, "make rootfs read-only"},
		notWant: []string{"the console socket", "set scheduler", "sysctl"},
	}, {
		name: "user with a home",
		edit: func(s *specs.Spec, _ *CreateOpts) {
			s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5}}
		},
		want: []string{`"HOME=/home/app"`, "set user 1000:1000"},
	}, {
		name: "HOME in env wins",
		edit: func(s *specs.Spec, _ *CreateOpts) { s.Process.Env = append(s.Process.Env, "HOME=/x") },
		want: []string{`"HOME=/x"`}, notWant: []string{`"HOME=/root"`},
	}, {
		name: "terminal",
		edit: func(s *specs.Spec, _ *CreateOpts) { s.Process.Terminal = true },
		want: []string{"the console socket"},
	}, {
		name:    "no pivot, no keyring, writable root",
		edit:    func(s *specs.Spec, o *CreateOpts) { o.NoPivot, o.NoNewKeyring, s.Root.Readonly = true, true, false },
		notWant: []string{"pivot_root", "join session keyring", "make rootfs read-only"},
	}, {
		name: "process attributes",
		edit: func(s *specs.Spec, _ *CreateOpts) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 5}
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4}
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
			s.Process.OOMScoreAdj = new(int)
		},
		want: []string{"set scheduler SCHED_OTHER", "set I/O priority IOPRIO_CLASS_BE 4", "set personality LINUX32", "net.ipv4.ip_forward"},
	}, {
		name: "hooks",
		edit: func(s *specs.Spec, _ *CreateOpts) {
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "true"}}}}
		},
		want: []string{"/bin/sh"},
	}, {
		name: "preserved fds",
		edit: func(_ *specs.Spec, o *CreateOpts) { o.PreserveFds = 2 },
		want: []string{"close-from 5"},
	}, {
		name: "executable not found",
		edit: func(s *specs.Spec, _ *CreateOpts) { s.Process.Args = []string{"nosuch"} },
		err:  "executable file not found in $PATH",
	}, {
		name: "not executable",
		edit: func(s *specs.Spec, _ *CreateOpts) { s.Process.Args = []string{"/bin/data"} },
		err:  "permission denied",
	}, {
		name: "a directory",
		edit: func(s *specs.Spec, _ *CreateOpts) { s.Process.Args = []string{"/etc"} },
		err:  "is a directory",
	}, {
		name: "invalid spec",
		edit: func(s *specs.Spec, _ *CreateOpts) { s.Process.Args = nil },
		err:  "args",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b, s := planBundle(t)
			o := &CreateOpts{ID: "p1", Bundle: b, Spec: s}
			if tc.edit != nil {
				tc.edit(s, o)
			}
			out, err := PlanListing(o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in the plan:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("%q in the plan", w)
				}
			}
		})
	}
}
