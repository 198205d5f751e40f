package plan

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// docs/plan.md's table of ops is OpTable's output.
func TestDocsTableIsCurrent(t *testing.T) {
	data, err := os.ReadFile("../../docs/plan.md")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		head, _, _ := strings.Cut(string(data), "## Ops\n")
		data = []byte(head + "## Ops\n\n" + OpTable())
		if err := os.WriteFile("../../docs/plan.md", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(string(data), OpTable()) {
		t.Fatalf("docs/plan.md's table of ops is out of date; regenerate it from plan.OpTable():\n%s", OpTable())
	}
}

// go test ./libcontainer/plan -run TestDocsTableIsCurrent -update
var update = flag.Bool("update", false, "rewrite docs/plan.md's table of ops")
