package config

import (
	"bytes"
	"testing"

	"github.com/cloudabi-go/cloudabi/argdata"
)

// FuzzParse checks that Parse never panics, that it reports every failure as
// an *Error, and that what it accepts is valid argdata whose descriptors all
// name a grant.
func FuzzParse(f *testing.F) {
	f.Add([]byte(tagDirective + "- !fd stdout\n- !fd stdout\n- !fd stdout\n"))
	f.Add([]byte(tagDirective + "www: !file {path: /srv/www}\nself: !executable\nlog: !fd 3\n"))
	f.Add([]byte(tagDirective + "log: !file {path: app.log, mode: append, create: true}\nro: !file {path: /srv, mode: read}\nx: !file {path: x, mode: write, create: true, exclusive: true, truncate: false}\n"))
	f.Add([]byte("a: &x [1, 2.5, true, ~, \"s\", !!binary aGk=, 2001-12-14]\nb: *x\n? [k]\n: v\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg, err := Parse(bytes.NewReader(in), "fuzz.yaml")
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is a %T, not a *Error", err, err)
			}
			return
		}
		if _, err := argdata.Marshal(cfg.Argdata); err != nil {
			t.Fatalf("Parse produced invalid argdata %v: %v", cfg.Argdata, err)
		}
		used := make([]bool, len(cfg.Grants))
		for _, fd := range argdata.FDs(cfg.Argdata) {
			if int(fd) >= len(cfg.Grants) {
				t.Fatalf("fd %d but only %d grants", fd, len(cfg.Grants))
			}
			used[fd] = true
		}
		for i, u := range used {
			if !u {
				t.Fatalf("grant %d (%v) is not referenced", i, cfg.Grants[i])
			}
		}
	})
}
