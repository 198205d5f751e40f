package libcontainer

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMissingSubIDs(t *testing.T) {
	subuid := []byte("other:100000:65536\nalice:200000:1000\n1000:300000:10\nbad line\nalice:x:1\n")
	m := func(host, size uint32) []specs.LinuxIDMapping {
		return []specs.LinuxIDMapping{{ContainerID: 0, HostID: host, Size: size}}
	}
	for _, c := range []struct {
		ms   []specs.LinuxIDMapping
		want string // "" or a part of the hint
	}{
		{m(200000, 1000), ""},                                           // granted by name
		{m(300000, 10), ""},                                             // granted by uid
		{m(1000, 1), ""},                                                // the caller's own id
		{append(m(1000, 1), m(200000, 500)...), ""},                     // own id, then a range
		{m(999, 2), "no range with id 999"},                             // own id is 1000
		{m(200500, 600), "no range with id 201000"},                     // runs past the range
		{m(100000, 65536), "usermod --add-subuids 100000-165535 alice"}, // another user's
	} {
		got := missingSubIDs("/etc/subuid", "--add-subuids", subuid, "alice", 1000, 1000, c.ms)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%v: got %q, want %q", c.ms, got, c.want)
		}
	}
	if got := missingSubIDs("/etc/subuid", "--add-subuids", nil, "alice", 1000, 1000, m(100000, 1)); !strings.Contains(got, "/etc/subuid grants alice no range") {
		t.Errorf("empty file: %q", got)
	}
}

func TestCheckRootless(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}}}
	if err := checkRootless(s, 0); err != nil {
		t.Errorf("root: %v", err)
	}
	err := checkRootless(s, 1000)
	if err == nil || !strings.HasPrefix(err.Error(), "rootless container requires user namespaces") || !strings.Contains(err.Error(), "teu spec --rootless") {
		t.Errorf("uid 1000 without a user namespace: %v", err)
	}
	for _, path := range []string{"", "/proc/1/ns/user"} {
		s.Linux.Namespaces = append(s.Linux.Namespaces[:2], specs.LinuxNamespace{Type: specs.UserNamespace, Path: path})
		if err := checkRootless(s, 1000); err != nil {
			t.Errorf("uid 1000 with a user namespace %q: %v", path, err)
		}
	}
}

func TestParseRootless(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want func() bool
	}{
		{"true", func() bool { return true }},
		{"false", func() bool { return false }},
		{"auto", rootlessAuto},
		{"", rootlessAuto},
	} {
		r, err := ParseRootless(tc.mode)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.cgroups(); got != tc.want() {
			t.Errorf("--rootless %q: cgroups() = %v", tc.mode, got)
		}
		if got := cgroupConfig("c", nil, r).Rootless; got != tc.want() {
			t.Errorf("--rootless %q: cgroupConfig's Rootless = %v", tc.mode, got)
		}
	}
	if _, err := ParseRootless("maybe"); err == nil || !strings.Contains(err.Error(), `invalid --rootless "maybe"`) {
		t.Errorf("ParseRootless(maybe) = %v", err)
	}
	// As root in the initial user namespace, auto is not rootless.
	if os.Geteuid() == 0 && !inUserNS() && rootlessAuto() {
		t.Error("root in the initial user namespace is rootless")
	}
}

func TestIDMaps(t *testing.T) {
	ms := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	if got := string(formatIDMap(ms)); got != "0 1000 1\n1 100000 65536\n" {
		t.Errorf("formatIDMap = %q", got)
	}
	for _, tc := range []struct {
		ms   []specs.LinuxIDMapping
		id   int
		want bool
	}{
		{ms[:1], 1000, true}, {ms[:1], 1001, false}, {ms, 1000, false},
		{[]specs.LinuxIDMapping{{HostID: 1000, Size: 2}}, 1000, false}, {nil, 1000, false},
	} {
		if got := ownIDOnly(tc.ms, tc.id); got != tc.want {
			t.Errorf("ownIDOnly(%v, %d) = %v", tc.ms, tc.id, got)
		}
	}
}

func TestSealedCopy(t *testing.T) {
	f, err := sealedCopy()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	self, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != self.Size() {
		t.Errorf("the copy has %v bytes (%v), the binary %d", st.Size(), err, self.Size())
	}
	if _, err := f.WriteAt([]byte{0}, 0); err == nil {
		t.Error("the sealed copy could be written")
	}
}

func TestWriteIDMapsOfOwnChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a user namespace's maps written by root")
	}
	cmd := exec.Command("sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	if err := cmd.Start(); err != nil {
		t.Skip("no user namespace: ", err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	l := &specs.Linux{
		UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 10}},
		GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 5}},
	}
	if err := writeIDMaps(cmd.Process.Pid, l); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"uid_map": "0 100000 10", "gid_map": "0 200000 5"} {
		data, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/" + file)
		if got := strings.Join(strings.Fields(string(data)), " "); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	// The maps are written once.
	if err := writeIDMaps(cmd.Process.Pid, l); err == nil {
		t.Error("writing the maps again succeeded")
	}
}
