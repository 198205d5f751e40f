package libcontainer

import (
	"reflect"
	"testing"
)

func TestParseSubCgroup(t *testing.T) {
	got, err := ParseSubCgroup([]string{"memory,pids:a/b"})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"memory": "a/b", "pids": "a/b"}) {
		t.Errorf("v1 form: %v %v", got, err)
	}
	got, err = ParseSubCgroup([]string{"sub"})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"": "sub"}) {
		t.Errorf("plain: %v %v", got, err)
	}
	if got, err := ParseSubCgroup(nil); got != nil || err != nil {
		t.Errorf("none: %v %v", got, err)
	}
	for _, bad := range [][]string{{"../x"}, {"a/../../x"}, {"memory:"}, {""}, {"memory:a", "memory:b"}, {"a", "b"}} {
		if _, err := ParseSubCgroup(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
