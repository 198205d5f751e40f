package state

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	for _, tc := range []struct {
		id, err string
	}{
		{"abc-DEF_0.1+2", ""},
		{"", "cannot be empty"},
		{".", "invalid container id"},
		{"..", "invalid container id"},
		{"a/b", "invalid container id"},
		{"a b", "invalid container id"},
		{"é", "invalid container id"},
		{strings.Repeat("a", 1025), "longer than 1024"},
		{strings.Repeat("a", 1024), ""},
	} {
		err := ValidateID(tc.id)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ValidateID(%.20q) = %v, want %q", tc.id, err, tc.err)
		}
	}
}

func TestStoreNewAndOpen(t *testing.T) {
	root := filepath.Join(t.TempDir(), "r")
	d, err := New(root, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(root, "c"); !errors.Is(err, ErrExist) {
		t.Errorf("second New: %v, want ErrExist", err)
	}
	if st, err := os.Stat(root); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state root: %v %v, want mode 0700", st, err)
	}
	if !LockedByOther(d.path) {
		t.Error("LockedByOther: the lock New holds is not seen")
	}
	d.Unlock()
	if LockedByOther(d.path) {
		t.Error("LockedByOther after unlock")
	}
	d2, err := Open(root, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.WriteJSON(ResourcesFile, &Records{}); err != nil {
		t.Fatal(err)
	}
	if err := d2.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d2.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir left after remove: %v", err)
	}
	_, err = Open(root, "c")
	if !errors.Is(err, ErrNotExist) || err.Error() != "container c does not exist" {
		t.Errorf("Open of a removed container: %v", err)
	}
	if LockedByOther(d2.path) {
		t.Error("LockedByOther of a missing dir")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pid")
	for _, data := range []string{"1\n", "22\n"} {
		if err := WriteFileAtomic(p, []byte(data)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != data {
			t.Errorf("file holds %q, want %q", got, data)
		}
	}
	if _, err := os.Stat(p + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp file left: %v", err)
	}
	if err := WriteFileAtomic(filepath.Join(p, "x"), nil); err == nil {
		t.Error("WriteFileAtomic under a file succeeded")
	}
}

func TestReadJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.json")
	var v map[string]int
	if err := ReadJSON(p, &v); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	os.WriteFile(p, []byte("{"), 0o600)
	if err := ReadJSON(p, &v); err == nil || !strings.Contains(err.Error(), "parse "+p) {
		t.Errorf("bad JSON: %v", err)
	}
}

// JSON bytes (create's config.json as read) are stored as they are; any
// other value is encoded.
func TestPutRawJSON(t *testing.T) {
	d, err := New(t.TempDir(), "c")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Unlock()
	raw := json.RawMessage(`{"ociVersion": "1.3.0",  "hostname":"h"}` + "\n")
	if err := d.Save(JSONFile{ConfigFile, raw}, JSONFile{"other.json", map[string]int{"a": 1}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(d.File(ConfigFile)); string(got) != string(raw) {
		t.Errorf("config.json = %q, want the bytes as given", got)
	}
	if got, _ := os.ReadFile(d.File("other.json")); string(got) != `{"a":1}` {
		t.Errorf("other.json = %q", got)
	}
}
