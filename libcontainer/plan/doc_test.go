package plan

import (
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
	if !strings.Contains(string(data), OpTable()) {
		t.Fatalf("docs/plan.md's table of ops is out of date; regenerate it from plan.OpTable():\n%s", OpTable())
	}
}
