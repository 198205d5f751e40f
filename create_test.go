package main

import (
	"strings"
	"testing"
)

// decodeSpec must accept what runc's encoding/json accepts: keys in any
// case, a repeated key's last value, unknown keys; and name a syntax
// error's byte.
func TestDecodeSpecAsRunc(t *testing.T) {
	in := `{"ociVersion":"1.0.2","Process":{"ARGS":["sh"],"cwd":"/"},"hostname":"a","hostname":"b","future":1}`
	s, raw, err := decodeSpec(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if s.Process == nil || len(s.Process.Args) != 1 || s.Process.Args[0] != "sh" || s.Hostname != "b" {
		t.Errorf("decoded %+v, process %+v", s, s.Process)
	}
	if string(raw) != in {
		t.Errorf("raw = %q, want the input", raw)
	}
	for in, want := range map[string]string{
		`{"ociVersion":"1.0.0",x}`:             "invalid config.json: invalid character 'x' looking for beginning of object key string at byte 23",
		`{"process":{"args":"sh"}}`:            "invalid config.json: json: cannot unmarshal string into Go struct field Spec.process.args of type []string",
		`{"process":{"user":{"uid":-1}}}`:      "invalid config.json: json: cannot unmarshal number -1 into Go struct field Spec.process.user.uid of type uint32",
		`{"ociVersion":"1.0.0"} {"another":1}`: "invalid config.json: invalid character '{' after top-level value at byte 24",
	} {
		if _, _, err := decodeSpec(strings.NewReader(in)); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
	}
}
