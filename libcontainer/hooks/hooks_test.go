package hooks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunPassesStateAndArgs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	h := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `cat > "$1"; echo "$FOO" >> "$1"`, "sh", out}, Env: []string{"FOO=bar"}}
	st := &specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreating, Pid: 42, Bundle: "/b"}
	if err := Run("prestart", []specs.Hook{h}, st); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	if !strings.Contains(string(data), `"id":"c1"`) || !strings.Contains(string(data), `"pid":42`) || !strings.HasSuffix(string(data), "bar\n") {
		t.Fatalf("hook saw %q", data)
	}
}

func TestRunFailureAndTimeout(t *testing.T) {
	st := &specs.State{ID: "c1"}
	err := Run("poststart", []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo nope >&2; exit 3"}}}, st)
	if err == nil || !strings.Contains(err.Error(), "nope") || !strings.Contains(err.Error(), "poststart hook #0") {
		t.Fatalf("want failing hook error, got %v", err)
	}
	one := 1
	err = Run("prestart", []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: &one}}, st)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("want timeout, got %v", err)
	}
}

func TestRunAllGoesOn(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	hs := []specs.Hook{
		{Path: "/bin/false"},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "echo second >> " + out}},
	}
	errs := RunAll("poststop", hs, &specs.State{ID: "c1"})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "poststop hook #0") {
		t.Fatalf("errors = %v", errs)
	}
	if data, _ := os.ReadFile(out); string(data) != "second\n" {
		t.Fatalf("second hook did not run: %q", data)
	}
}
