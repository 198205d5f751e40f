package libcontainer

import (
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/specconv"
)

// leftOut names the fields procSpec and procLinux do not carry, and why.
var leftOut = map[string]string{
	"Spec.Windows":    "another platform",
	"Spec.Solaris":    "another platform",
	"Spec.VM":         "another platform",
	"Spec.ZOS":        "another platform",
	"Spec.FreeBSD":    "another platform",
	"Linux.Resources": "cgroup settings: the parent applies them",
	"Linux.IntelRdt":  "refused by create (hostcheck.go)",
}

// checkMirror fails for a field of orig that mirror neither carries (same
// name, JSON tag and type) nor leaves out, and for a field of mirror that
// orig lacks: a runtime-spec upgrade that adds a field fails here.
func checkMirror(t *testing.T, prefix string, orig, mirror reflect.Type, sub map[string]bool) {
	t.Helper()
	for i := 0; i < orig.NumField(); i++ {
		f := orig.Field(i)
		name := prefix + "." + f.Name
		m, ok := mirror.FieldByName(f.Name)
		if _, out := leftOut[name]; out {
			if ok {
				t.Errorf("%s is both mirrored and left out", name)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: not in the mirror and not in leftOut", name)
			continue
		}
		if m.Tag.Get("json") != f.Tag.Get("json") {
			t.Errorf("%s: json tag %q, the spec's is %q", name, m.Tag.Get("json"), f.Tag.Get("json"))
		}
		if m.Type != f.Type && !sub[f.Name] {
			t.Errorf("%s: type %v, the spec's is %v", name, m.Type, f.Type)
		}
	}
	for i := 0; i < mirror.NumField(); i++ {
		if _, ok := orig.FieldByName(mirror.Field(i).Name); !ok {
			t.Errorf("%s.%s: not in the spec", prefix, mirror.Field(i).Name)
		}
	}
}

func TestProcSpecMirrors(t *testing.T) {
	checkMirror(t, "Spec", reflect.TypeOf(specs.Spec{}), reflect.TypeOf(procSpec{}), map[string]bool{"Linux": true})
	checkMirror(t, "Linux", reflect.TypeOf(specs.Linux{}), reflect.TypeOf(procLinux{}), nil)
}

func TestDecodeProcSpec(t *testing.T) {
	s := specconv.Example()
	s.Hostname, s.Domainname = "h", "d"
	s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true", Args: []string{"true"}}}}
	s.Annotations = map[string]string{"a": "b"}
	l := s.Linux
	l.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	l.GIDMappings = l.UIDMappings
	l.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	l.CgroupsPath = "/x"
	l.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}}
	l.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "eth0"}}
	l.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}
	l.RootfsPropagation = "rslave"
	l.MountLabel = "system_u:object_r:container_file_t:s0"
	l.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_BIND", Nodes: "0"}
	l.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	l.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
	l.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64)}}
	l.IntelRdt = &specs.LinuxIntelRdt{ClosID: "c"}
	s.Windows = &specs.Windows{}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m procSpec
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	got := m.spec()
	want := *s
	wl := *s.Linux
	want.Linux, want.Windows = &wl, nil
	wl.Resources, wl.IntelRdt = nil, nil
	if !reflect.DeepEqual(got, &want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(&want)
		t.Fatalf("procSpec:\n got %s\nwant %s", g, w)
	}
}
