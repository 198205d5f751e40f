package rootfs

import "testing"

// Every option `teu features` lists is one teu acts on: none of them falls
// through to the filesystem as data, and the list is the three tables
// plus idmap and ridmap.
func TestMountOptionsAreActedOn(t *testing.T) {
	opts := MountOptions()
	if want := len(flagOpts) + len(propOpts) + len(recAttrOpts) + 2; len(opts) != want {
		t.Fatalf("%d options, want %d", len(opts), want)
	}
	for i, o := range opts {
		if i > 0 && opts[i-1] >= o {
			t.Errorf("not sorted or duplicated at %q", o)
		}
		m, err := parseOptions([]string{o})
		if err != nil {
			t.Errorf("%s: %v", o, err)
			continue
		}
		if len(m.data) != 0 {
			t.Errorf("%s: not acted on by teu (data %v)", o, m.data)
		}
	}
	for _, o := range []string{"tmpcopyup"} {
		for _, l := range opts {
			if l == o {
				t.Errorf("%s is listed but not implemented", o)
			}
		}
	}
}
