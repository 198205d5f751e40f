package main

import (
	"reflect"
	"testing"
)

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"PATH=/bin", "A=1"}, []string{"A=2", "B=3", "PATH=/usr/bin"})
	want := []string{"PATH=/usr/bin", "A=2", "B=3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseUser(t *testing.T) {
	uid, gid, err := parseUser("1000:2000")
	if err != nil || uid != 1000 || gid == nil || *gid != 2000 {
		t.Errorf("1000:2000: %v %v %v", uid, gid, err)
	}
	uid, gid, err = parseUser("7")
	if err != nil || uid != 7 || gid != nil {
		t.Errorf("7: %v %v %v", uid, gid, err)
	}
	for _, bad := range []string{"", "root", "1:", ":1", "1:x", "-1", "4294967296"} {
		if _, _, err := parseUser(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
