package config

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudabi-go/cloudabi/argdata"
)

const tagDirective = "%TAG ! tag:nuxi.nl,2015:cloudabi/\n---\n"

func mustMarshal(t *testing.T, v argdata.Value) []byte {
	t.Helper()
	b, err := argdata.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%v): %v", v, err)
	}
	return b
}

func kv(k, v argdata.Value) argdata.MapEntry { return argdata.MapEntry{Key: k, Value: v} }

func pos(line, col int) Position { return Position{File: "config.yaml", Line: line, Column: col} }

func ts(t *testing.T, tm time.Time) argdata.Value {
	v, ok := argdata.TimestampOf(tm)
	if !ok {
		t.Fatalf("TimestampOf(%v)", tm)
	}
	return v
}

func TestParse(t *testing.T) {
	type S = argdata.Str
	I := argdata.IntOf
	tests := []struct {
		name   string
		in     string
		want   argdata.Value
		grants []Grant
	}{
		{"empty input", "", argdata.Null{}, nil},
		{"only comments", "# nothing\n", argdata.Null{}, nil},
		{"empty document", "---\n", argdata.Null{}, nil},
		{"hello world", tagDirective + "- !fd stdout\n- !fd stdout\n- !fd stdout\n",
			argdata.Seq{argdata.FD(0), argdata.FD(0), argdata.FD(0)},
			[]Grant{{Kind: GrantHostFD, HostFD: 1, Pos: pos(3, 3)}}},
		{"fd names and numbers", tagDirective + "out: !fd stdout\nerr: !fd stderr\nin: !fd 0\nalso-out: !fd 1\nnine: !fd 9\n",
			argdata.Map{
				kv(S("out"), argdata.FD(0)),
				kv(S("err"), argdata.FD(1)),
				kv(S("in"), argdata.FD(2)),
				kv(S("also-out"), argdata.FD(0)),
				kv(S("nine"), argdata.FD(3)),
			},
			[]Grant{
				{Kind: GrantHostFD, HostFD: 1, Pos: pos(3, 6)},
				{Kind: GrantHostFD, HostFD: 2, Pos: pos(4, 6)},
				{Kind: GrantHostFD, HostFD: 0, Pos: pos(5, 5)},
				{Kind: GrantHostFD, HostFD: 9, Pos: pos(7, 7)},
			}},
		{"full tag form", "- !<tag:nuxi.nl,2015:cloudabi/fd> stderr\n",
			argdata.Seq{argdata.FD(0)}, []Grant{{Kind: GrantHostFD, HostFD: 2, Pos: pos(1, 3)}}},
		{"local tag without directive", "- !fd stderr\n- !executable\n",
			argdata.Seq{argdata.FD(0), argdata.FD(1)},
			[]Grant{{Kind: GrantHostFD, HostFD: 2, Pos: pos(1, 3)}, {Kind: GrantExecutable, Pos: pos(2, 3)}}},
		{"other handle", "%TAG !c! tag:nuxi.nl,2015:cloudabi/\n---\n- !c!fd stdout\n",
			argdata.Seq{argdata.FD(0)}, []Grant{{Kind: GrantHostFD, HostFD: 1, Pos: pos(3, 3)}}},
		{"files are separate grants", tagDirective + "- !file {path: /etc}\n- !file\n    path: /etc\n- !fd stdout\n",
			argdata.Seq{argdata.FD(0), argdata.FD(1), argdata.FD(2)},
			[]Grant{
				{Kind: GrantFile, Path: "/etc", Pos: pos(3, 3)},
				{Kind: GrantFile, Path: "/etc", Pos: pos(4, 3)},
				{Kind: GrantHostFD, HostFD: 1, Pos: pos(6, 3)},
			}},
		{"aliased file is one grant", tagDirective + "a: &f !file {path: /tmp}\nb: *f\nc: !executable\nd: !executable\n",
			argdata.Map{kv(S("a"), argdata.FD(0)), kv(S("b"), argdata.FD(0)), kv(S("c"), argdata.FD(1)), kv(S("d"), argdata.FD(1))},
			[]Grant{{Kind: GrantFile, Path: "/tmp", Pos: pos(3, 4)}, {Kind: GrantExecutable, Pos: pos(5, 4)}}},
		{"numeric path taken literally", tagDirective + "- !file {path: 2024}\n",
			argdata.Seq{argdata.FD(0)}, []Grant{{Kind: GrantFile, Path: "2024", Pos: pos(3, 3)}}},
		{"fd as map key", tagDirective + "? !fd stdout\n: out\n",
			argdata.Map{kv(argdata.FD(0), S("out"))}, []Grant{{Kind: GrantHostFD, HostFD: 1, Pos: pos(3, 3)}}},
		{"scalars", "- ~\n- null\n-\n- true\n- False\n- 0\n- -17\n- 0x1F\n- 0o17\n- 017\n- 0b101\n- 1_000\n- +5\n" +
			"- 9223372036854775807\n- 18446744073709551615\n- -9223372036854775808\n" +
			"- 1.5\n- -2e3\n- .inf\n- -.Inf\n- hello\n- 'quoted 1'\n- \"7\"\n- \"tab\\there\"\n- yes\n",
			argdata.Seq{
				argdata.Null{}, argdata.Null{}, argdata.Null{}, argdata.Bool(true), argdata.Bool(false),
				I(0), I(-17), I(31), I(15), I(15), I(5), I(1000), I(5),
				I(math.MaxInt64), argdata.UintOf(math.MaxUint64), I(math.MinInt64),
				argdata.Float(1.5), argdata.Float(-2000), argdata.Float(math.Inf(1)), argdata.Float(math.Inf(-1)),
				S("hello"), S("quoted 1"), S("7"), S("tab\there"), S("yes"),
			}, nil},
		{"explicit standard tags", "- !!str 12\n- !!int \"12\"\n- !!float 3\n- !!bool \"true\"\n- !!null ''\n" +
			"- !!binary aGVs\n  bG8=\n- !!seq [a]\n- !!map {a: 1}\n- !!str\n",
			argdata.Seq{
				S("12"), I(12), argdata.Float(3), argdata.Bool(true), argdata.Null{},
				argdata.Binary("hello"), argdata.Seq{S("a")}, argdata.Map{kv(S("a"), I(1))}, S(""),
			}, nil},
		{"timestamps", "- 2001-12-14\n- 2001-12-14t21:59:43.10-05:00\n- 2001-12-14 21:59:43.10\n- !!timestamp 1970-01-01T00:00:00Z\n- '2001-12-14'\n",
			argdata.Seq{
				ts(t, time.Date(2001, 12, 14, 0, 0, 0, 0, time.UTC)),
				ts(t, time.Date(2001, 12, 15, 2, 59, 43, 1e8, time.UTC)),
				ts(t, time.Date(2001, 12, 14, 21, 59, 43, 1e8, time.UTC)),
				ts(t, time.Unix(0, 0)),
				S("2001-12-14"),
			}, nil},
		{"map order and nesting", "z: 1\na: [x, {b: ~}]\nm: {}\ns: []\n",
			argdata.Map{
				kv(S("z"), I(1)),
				kv(S("a"), argdata.Seq{S("x"), argdata.Map{kv(S("b"), argdata.Null{})}}),
				kv(S("m"), argdata.Map{}),
				kv(S("s"), argdata.Seq{}),
			}, nil},
		{"complex keys", "? [a, b]\n: c\n1: one\n~: none\n",
			argdata.Map{kv(argdata.Seq{S("a"), S("b")}, S("c")), kv(I(1), S("one")), kv(argdata.Null{}, S("none"))}, nil},
		{"keys equal as text but not as values", "1: int\n\"1\": str\n",
			argdata.Map{kv(I(1), S("int")), kv(S("1"), S("str"))}, nil},
		{"anchors and aliases", "base: &b {x: 1}\ncopy: *b\nlist: [*b, *b]\n",
			argdata.Map{
				kv(S("base"), argdata.Map{kv(S("x"), I(1))}),
				kv(S("copy"), argdata.Map{kv(S("x"), I(1))}),
				kv(S("list"), argdata.Seq{argdata.Map{kv(S("x"), I(1))}, argdata.Map{kv(S("x"), I(1))}}),
			}, nil},
		{"merge key quoted", "\"<<\": x\n", argdata.Map{kv(S("<<"), S("x"))}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(tc.in), "config.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, want := mustMarshal(t, cfg.Argdata), mustMarshal(t, tc.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("argdata = %v\n  % x\nwant %v\n  % x", cfg.Argdata, got, tc.want, want)
			}
			if len(cfg.Grants) != len(tc.grants) {
				t.Fatalf("grants = %v, want %v", cfg.Grants, tc.grants)
			}
			for i := range tc.grants {
				if cfg.Grants[i] != tc.grants[i] {
					t.Fatalf("grant %d = %+v, want %+v", i, cfg.Grants[i], tc.grants[i])
				}
			}
			// Every FD is a valid index into Grants.
			for _, fd := range argdata.FDs(cfg.Argdata) {
				if int(fd) >= len(cfg.Grants) {
					t.Fatalf("FD %d out of range", fd)
				}
			}
		})
	}
}

func TestParseNaN(t *testing.T) {
	cfg, err := Parse(strings.NewReader(".nan"), "")
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := cfg.Argdata.(argdata.Float); !ok || !math.IsNaN(float64(f)) {
		t.Fatalf("got %v", cfg.Argdata)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the complete Error() text
	}{
		{"unknown tag", tagDirective + "a: !foo 3\n", "config.yaml:3:4: unknown tag !foo (known: !fd, !file, !executable, !listen, !connect)"},
		{"unknown local tag", "- !socket {}\n", "config.yaml:1:3: unknown tag !socket (known: !fd, !file, !executable, !listen, !connect)"},
		{"unknown full tag", "- !<tag:example.com,2000:x> 1\n", "config.yaml:1:3: unknown tag !<tag:example.com,2000:x> (known: !fd, !file, !executable, !listen, !connect, and the YAML tags !!null, !!bool, !!int, !!float, !!str, !!binary, !!timestamp, !!seq, !!map)"},
		{"unknown yaml tag", "- !!set {a}\n", "config.yaml:1:3: unknown tag !!set (known: !fd, !file, !executable, !listen, !connect, and the YAML tags !!null, !!bool, !!int, !!float, !!str, !!binary, !!timestamp, !!seq, !!map)"},
		{"tag on wrong kind", "- !!int [1]\n", "config.yaml:1:3: tag !!int cannot be applied to a sequence"},
		{"fd unknown name", tagDirective + "- !fd stdfoo\n", "config.yaml:3:3: unknown descriptor name \"stdfoo\" for !fd (use stdout, stderr or a decimal descriptor number)"},
		{"fd stdin", tagDirective + "- !fd stdin\n", "config.yaml:3:3: unknown descriptor name \"stdin\" for !fd (names are stdout and stderr; write !fd 0 for standard input)"},
		{"fd negative", tagDirective + "- !fd -1\n", "config.yaml:3:3: descriptor number -1 for !fd is negative"},
		{"fd too large", tagDirective + "- !fd 2147483648\n", "config.yaml:3:3: descriptor number 2147483648 for !fd is too large"},
		{"fd hex", tagDirective + "- !fd 0x1\n", "config.yaml:3:3: unknown descriptor name \"0x1\" for !fd (use stdout, stderr or a decimal descriptor number)"},
		{"fd empty", tagDirective + "- !fd\n", "config.yaml:3:3: unknown descriptor name \"\" for !fd (use stdout, stderr or a decimal descriptor number)"},
		{"fd on sequence", tagDirective + "- !fd [1]\n", "config.yaml:3:3: !fd takes a descriptor name or number (stdout, stderr, 0, 1, ...), not a sequence"},
		{"file scalar", tagDirective + "- !file /etc\n", "config.yaml:3:3: !file takes a mapping with a path, as in !file {path: /srv/www}, not a scalar"},
		{"file without path", tagDirective + "- !file {}\n", "config.yaml:3:3: !file needs a path attribute, as in !file {path: /srv/www}"},
		{"file unknown key", tagDirective + "- !file\n  path: /etc\n  perms: rw\n", "config.yaml:5:3: unknown !file attribute \"perms\" (known: path, mode, create, exclusive, truncate)"},
		{"file non-string key", tagDirective + "- !file {[a]: b}\n", "config.yaml:3:10: !file attribute names must be strings"},
		{"file path sequence", tagDirective + "- !file {path: [a]}\n", "config.yaml:3:16: !file path must be a string, not a sequence"},
		{"file path null", tagDirective + "- !file {path: }\n", "config.yaml:3:16: !file path is empty"},
		{"file path tagged int", tagDirective + "- !file {path: !!int 3}\n", "config.yaml:3:16: !file path must be a string, not !!int"},
		{"file path duplicate", tagDirective + "- !file {path: a, path: b}\n", "config.yaml:3:19: duplicate !file attribute \"path\""},
		{"executable with value", tagDirective + "- !executable yes\n", "config.yaml:3:3: !executable takes no value"},
		{"duplicate key", "a: 1\nb: 2\na: 3\n", "config.yaml:3:1: duplicate map key \"a\" (first at line 1, column 1)"},
		{"duplicate key via values", "0x10: a\n16: b\n", "config.yaml:2:1: duplicate map key 16 (first at line 1, column 1)"},
		{"merge key", "base: &b {x: 1}\nd:\n  <<: *b\n", "config.yaml:3:3: merge keys (<<) are not supported; quote the key (\"<<\") if you mean the string"},
		{"int too large", "- 18446744073709551616\n", "config.yaml:1:3: integer 18446744073709551616 does not fit in 64 bits (argdata integers range from -2^63 to 2^64-1)"},
		{"int too small", "- -9223372036854775809\n", "config.yaml:1:3: integer -9223372036854775809 does not fit in 64 bits (argdata integers range from -2^63 to 2^64-1)"},
		{"bad explicit int", "- !!int abc\n", "config.yaml:1:3: cannot read \"abc\" as !!int"},
		{"bad explicit bool", "- !!bool yes\n", "config.yaml:1:3: cannot read \"yes\" as !!bool (use true or false)"},
		{"bad explicit float", "- !!float x\n", "config.yaml:1:3: cannot read \"x\" as !!float"},
		{"bad explicit null", "- !!null x\n", "config.yaml:1:3: cannot read \"x\" as !!null"},
		{"bad binary", "- !!binary '!!'\n", "config.yaml:1:3: invalid base64 in !!binary: illegal base64 data at input byte 0"},
		{"bad timestamp", "- !!timestamp soon\n", "config.yaml:1:3: cannot read \"soon\" as !!timestamp (use a form such as 2001-12-14, 2001-12-14 21:59:43.10 or 2001-12-14T21:59:43.10-05:00)"},
		{"timestamp out of range", "- 3000-01-01\n", "config.yaml:1:3: timestamp 3000-01-01 is outside the range argdata can represent (about 1677 to 2554)"},
		{"NUL in string", "- \"a\\0b\"\n", "config.yaml:1:3: string contains a NUL character, which argdata strings cannot hold (use !!binary)"},
		{"recursive alias", "- &a [1, *a]\n", "config.yaml:1:10: alias *a refers to a node that contains it"},
		{"two documents", "a: 1\n---\nb: 2\n", "config.yaml:2:1: a second YAML document starts here; the configuration must be a single document"},
		{"syntax error", "a: [1, 2\nb: 3\n", "config.yaml:1: YAML syntax error: did not find expected ',' or ']'"},
		{"syntax error line 3", "a: 1\nb: 2\nc: d: e\n", "config.yaml:3: YAML syntax error: mapping values are not allowed in this context"},
		{"syntax error line 1", "a: b: c\n", "config.yaml:1: YAML syntax error: mapping values are not allowed in this context"},
		{"unknown anchor", "a: 1\nb: [x, *nope]\n", "config.yaml:2:8: YAML syntax error: unknown anchor 'nope' referenced"},
		{"syntax error after first document", "a: 1\n---\n[\n", "config.yaml:3: YAML syntax error: did not find expected node content"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse(strings.NewReader(tc.in), "config.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded: %v %v", cfg.Argdata, cfg.Grants)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *config.Error", err, err)
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n  %s\nwant\n  %s", err, tc.want)
			}
		})
	}
}

func TestDefaultFileName(t *testing.T) {
	_, err := Parse(strings.NewReader("- !foo\n"), "")
	if err == nil || err.Error() != "<stdin>:1:3: unknown tag !foo (known: !fd, !file, !executable, !listen, !connect)" {
		t.Fatalf("got %v", err)
	}
}

func TestAliasBomb(t *testing.T) {
	// Each level doubles: 2^25 leaves from a few hundred bytes.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x]\n")
	for i := 1; i <= 25; i++ {
		b.WriteString("a" + itoa(i) + ": &a" + itoa(i) + " [*a" + itoa(i-1) + ", *a" + itoa(i-1) + "]\n")
	}
	start := time.Now()
	_, err := Parse(strings.NewReader(b.String()), "bomb.yaml")
	if err == nil || !strings.Contains(err.Error(), "expands to more than 1000000 values") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}

	// Few values, but long strings.
	b.Reset()
	b.WriteString("s0: &s0 " + strings.Repeat("x", 1<<20) + "\n")
	for i := 1; i <= 8; i++ {
		b.WriteString("s" + itoa(i) + ": &s" + itoa(i) + " [*s" + itoa(i-1) + ", *s" + itoa(i-1) + "]\n")
	}
	_, err = Parse(strings.NewReader(b.String()), "bomb.yaml")
	if err == nil || !strings.Contains(err.Error(), "bytes of strings") {
		t.Fatalf("got %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestDeepNesting(t *testing.T) {
	ok := strings.Repeat("[", argdata.MaxDepth) + strings.Repeat("]", argdata.MaxDepth)
	if _, err := Parse(strings.NewReader(ok), ""); err != nil {
		t.Fatalf("%d levels: %v", argdata.MaxDepth, err)
	}
	deep := strings.Repeat("[", argdata.MaxDepth+1) + strings.Repeat("]", argdata.MaxDepth+1)
	_, err := Parse(strings.NewReader(deep), "")
	if err == nil || !strings.Contains(err.Error(), "nest deeper than 1000 levels") {
		t.Fatalf("%d levels: %v", argdata.MaxDepth+1, err)
	}
	// Deeper than the YAML parser allows.
	_, err = Parse(strings.NewReader(strings.Repeat("[", 20000)), "")
	if err == nil {
		t.Fatal("20000 levels parsed")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestReadError(t *testing.T) {
	_, err := Parse(errReader{}, "in.yaml")
	if err == nil || err.Error() != "in.yaml: cannot read configuration: boom" {
		t.Fatalf("got %v", err)
	}
}

func TestPositionString(t *testing.T) {
	for _, tc := range []struct {
		p    Position
		want string
	}{
		{Position{}, "<stdin>"},
		{Position{File: "a.yaml", Line: 3}, "a.yaml:3"},
		{Position{File: "a.yaml", Line: 3, Column: 7}, "a.yaml:3:7"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}
