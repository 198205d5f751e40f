package validate

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/teu-runtime/teu/libcontainer/specconv"
)

// FuzzSpec feeds arbitrary config.json bytes through the parse and the
// validation teu does before it creates anything (a hostile config): no
// panic, and every rejection is one line that says what is wrong, never a
// bare errno. The seed corpus (testdata/fuzz/FuzzSpec) holds the default
// spec and configs shaped like the integration tests'.
func FuzzSpec(f *testing.F) {
	bundle := f.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		f.Fatal(err)
	}
	def, err := json.Marshal(specconv.Example())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	f.Add([]byte(`{"linux":{"sysctl":{"net.ipv4.ip_forward":"1"}},"process":{"cwd":"/proc/self/fd/7"}}`))
	f.Add([]byte(`{"mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/proc/self/attr/exec","type":"bind","source":"/x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The bytes as a whole config, and as a patch over the default
		// one (so that short inputs reach the deep checks).
		var s specs.Spec
		if err := json.Unmarshal(data, &s); err != nil {
			checkErr(t, err)
		} else if err := Spec(&s, bundle); err != nil {
			checkErr(t, err)
		}
		patched := specconv.Example()
		if err := json.Unmarshal(data, patched); err != nil {
			return
		}
		if err := Spec(patched, bundle); err != nil {
			checkErr(t, err)
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.TrimSpace(msg) == "" {
		t.Fatalf("empty error (%#v)", err)
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error of more than one line: %q", msg)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && msg == errno.Error() {
		t.Fatalf("bare errno without context: %q", msg)
	}
}
