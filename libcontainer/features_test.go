package libcontainer

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/teu-runtime/teu/libcontainer/caps"
	"github.com/teu-runtime/teu/libcontainer/cgroups"
	"github.com/teu-runtime/teu/libcontainer/hooks"
	"github.com/teu-runtime/teu/libcontainer/rootfs"
	"github.com/teu-runtime/teu/libcontainer/seccomp"
	"github.com/teu-runtime/teu/libcontainer/validate"
)

// featuresJSON is what `teu features` prints, parsed back.
func featuresJSON(t *testing.T) *features.Features {
	t.Helper()
	data, err := json.Marshal(Features(map[string]string{"org.teu-runtime.version": "test"}))
	if err != nil {
		t.Fatal(err)
	}
	var f features.Features
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func TestFeaturesListExactlyTheTables(t *testing.T) {
	f := featuresJSON(t)
	if f.OCIVersionMin != "1.0.0" || f.OCIVersionMax != specs.Version {
		t.Errorf("versions %s..%s", f.OCIVersionMin, f.OCIVersionMax)
	}
	for _, v := range []string{f.OCIVersionMin, f.OCIVersionMax} {
		if err := validate.Version(v); err != nil {
			t.Errorf("advertised version %s is refused: %v", v, err)
		}
	}
	same(t, "hooks", f.Hooks, hooks.Kinds)
	same(t, "mountOptions", f.MountOptions, rootfs.MountOptions())
	var ns []string
	for k := range validate.Namespaces {
		ns = append(ns, string(k))
	}
	sort.Strings(ns)
	same(t, "namespaces", f.Linux.Namespaces, ns)
	same(t, "capabilities", f.Linux.Capabilities, caps.Names())
	sc := f.Linux.Seccomp
	same(t, "seccomp actions", sc.Actions, seccomp.Actions())
	same(t, "seccomp operators", sc.Operators, seccomp.Operators())
	same(t, "seccomp archs", sc.Archs, seccomp.Archs())
	same(t, "seccomp knownFlags", sc.KnownFlags, seccomp.KnownFlags())
	same(t, "seccomp supportedFlags", sc.SupportedFlags, seccomp.SupportedFlags())
	if sc.Enabled == nil || !*sc.Enabled {
		t.Error("seccomp not enabled")
	}
	cg := f.Linux.Cgroup
	for name, b := range map[string]*bool{cgroups.DriverFs1: cg.V1, cgroups.DriverFs2: cg.V2, cgroups.DriverSystemd: cg.Systemd} {
		if b == nil || *b != cgroups.Registered(name) {
			t.Errorf("cgroup driver %s: features say %v", name, b)
		}
	}
	for what, b := range map[string]*bool{"apparmor": f.Linux.Apparmor.Enabled, "selinux": f.Linux.Selinux.Enabled} {
		if b == nil || !*b {
			t.Errorf("%s: not claimed, but teu applies it", what)
		}
	}
	if b := f.Linux.MountExtensions.IDMap.Enabled; b == nil || !*b {
		t.Error("idmap: not claimed, but teu implements it")
	}
	for what, b := range map[string]*bool{"intelRdt": f.Linux.IntelRdt.Enabled} {
		if b == nil || *b {
			t.Errorf("%s: claimed, but teu does not implement it", what)
		}
	}
	if nd := f.Linux.NetDevices; nd == nil || nd.Enabled == nil || !*nd.Enabled {
		t.Error("netDevices: implemented, but not claimed")
	}
	same(t, "memoryPolicy modes", f.Linux.MemoryPolicy.Modes, validate.SortedKeys(validate.MemoryPolicyModes))
	same(t, "memoryPolicy flags", f.Linux.MemoryPolicy.Flags, validate.SortedKeys(validate.MemoryPolicyFlags))
	if len(f.Linux.MemoryPolicy.Modes) != 7 || len(f.Linux.MemoryPolicy.Flags) != 3 {
		t.Errorf("memoryPolicy: %v", f.Linux.MemoryPolicy)
	}
	if f.Annotations["io.github.seccomp.libseccomp.version"] != seccomp.Version() || f.Annotations["org.teu-runtime.version"] != "test" {
		t.Errorf("annotations %v", f.Annotations)
	}
	// checkpoint/restore (checkpoint.go): runc's annotation, and the CRIU
	// configuration annotation it honours as potentially unsafe, as runc.
	if f.Annotations["org.opencontainers.runc.checkpoint.enabled"] != "true" {
		t.Errorf("checkpoint annotation missing: %v", f.Annotations)
	}
	same(t, "potentially unsafe annotations", f.PotentiallyUnsafeConfigAnnotations, []string{criuConfigAnnotation})
}

// What features lists, teu must accept: each entry is checked against the
// code that acts on it, not only the table it came from.
func TestFeaturesAreAccepted(t *testing.T) {
	f := featuresJSON(t)
	if len(f.Hooks) != 6 {
		t.Errorf("hooks %v", f.Hooks)
	}
	all := &specs.Hooks{Prestart: []specs.Hook{{Path: "/a"}}, CreateRuntime: []specs.Hook{{Path: "/b"}}, //nolint:staticcheck
		CreateContainer: []specs.Hook{{Path: "/c"}}, StartContainer: []specs.Hook{{Path: "/d"}},
		Poststart: []specs.Hook{{Path: "/e"}}, Poststop: []specs.Hook{{Path: "/f"}}}
	seen := map[string]bool{}
	for _, k := range f.Hooks {
		hs := hooks.Of(all, k)
		if len(hs) != 1 || seen[hs[0].Path] {
			t.Errorf("hook kind %s does not select its own hooks", k)
			continue
		}
		seen[hs[0].Path] = true
	}
	for _, n := range f.Linux.Namespaces {
		typ := specs.LinuxNamespaceType(n)
		if validate.NamespaceFlags[typ] == 0 || validate.NamespaceFiles[typ] == "" {
			t.Errorf("namespace %s: create or exec cannot handle it", n)
		}
	}
	if len(f.Linux.Capabilities) < 41 {
		t.Errorf("only %d capabilities", len(f.Linux.Capabilities))
	}
	for _, c := range f.Linux.Capabilities {
		if _, err := caps.Parse(c); err != nil {
			t.Error(err)
		}
	}
	prof := func(mod func(*specs.LinuxSeccomp)) *specs.LinuxSeccomp {
		s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}
		mod(s)
		return s
	}
	check := func(what string, s *specs.LinuxSeccomp) {
		t.Helper()
		if err := seccomp.Validate(s); err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		if _, err := seccomp.Program(s, false); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	for _, a := range f.Linux.Seccomp.Actions {
		check(a, prof(func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Action = specs.LinuxSeccompAction(a)
			s.ListenerPath = "/run/agent.sock"
		}))
	}
	for _, op := range f.Linux.Seccomp.Operators {
		check(op, prof(func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 1, Value: 1, ValueTwo: 1, Op: specs.LinuxSeccompOperator(op)}}
		}))
	}
	for _, a := range f.Linux.Seccomp.Archs {
		check(a, prof(func(s *specs.LinuxSeccomp) { s.Architectures = []specs.Arch{specs.Arch(a)} }))
	}
	for _, fl := range f.Linux.Seccomp.KnownFlags {
		check(fl, prof(func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlag(fl)} }))
	}
	known := map[string]bool{}
	for _, fl := range f.Linux.Seccomp.KnownFlags {
		known[fl] = true
	}
	for _, fl := range f.Linux.Seccomp.SupportedFlags {
		if !known[fl] {
			t.Errorf("supported flag %s is not known", fl)
		}
	}
}
