// Package config parses the configuration of the cloudabi-run launcher.
//
// cloudabi-run starts a CloudABI program with a YAML document, read from its
// standard input, as the program's argdata. The document is converted value
// by value into argdata (see package argdata), and a few tags stand for file
// descriptors that the launcher grants to the program:
//
//	%TAG ! tag:nuxi.nl,2015:cloudabi/
//	---
//	stdout: !fd stdout            # the launcher's standard output
//	log: !fd 3                    # the launcher's file descriptor 3
//	www: !file {path: /srv/www}   # a directory, opened by the launcher
//	self: !executable             # the program's own executable
//
// # Tags
//
// The tags live in the namespace tag:nuxi.nl,2015:cloudabi/, normally
// abbreviated with the %TAG directive shown above. They may also be written
// in full (!<tag:nuxi.nl,2015:cloudabi/fd>) or, as a convenience, as local
// tags without a %TAG directive (!fd).
//
//   - !fd NAME passes one of the launcher's open file descriptors: NAME is
//     stdout (1), stderr (2) or a decimal descriptor number. Standard input
//     has no name, as in the original launcher; write !fd 0.
//   - !file {path: PATH} opens PATH (following symbolic links). A directory
//     is opened read-only with O_DIRECTORY and is granted full directory
//     rights, so the program can open files beneath it; anything else is
//     opened read-only (O_RDONLY|O_NOCTTY) and granted read-only rights.
//     Optional attributes change that (see below).
//   - !executable passes a read-only descriptor for the program's own
//     executable file. It takes no value.
//   - !listen {address: ADDRESS} binds a listening socket in the launcher
//     and passes the program a listener handle, through which the runtime
//     hands it each accepted connection (see package cloudabi and the
//     README, "Network access").
//   - !connect {address: ADDRESS} connects a socket in the launcher and
//     passes the connected socket.
//
// An ADDRESS is "tcp:HOST:PORT" (HOST an IPv4 address, an IPv6 address in
// brackets or a host name; empty HOST in !listen means every address; port
// 0 in !listen picks a free port) or "unix:PATH" (a UNIX socket; a PATH
// starting with @ names a socket in the abstract namespace). In a flow
// mapping quote addresses that contain brackets: {address: "tcp:[::1]:80"}.
//
// # Attributes of !file
//
// A !file mapping may hold, besides path, attributes that say how the file
// is opened and what the program may do with it:
//
//	log:    !file {path: app.log, mode: append, create: true}
//	out:    !file {path: out.txt, mode: write, create: true, truncate: true}
//	fresh:  !file {path: new.db, mode: readwrite, create: true, exclusive: true}
//	public: !file {path: /srv/www, mode: read}
//
// The attributes are:
//
//   - path (required): the file or directory to open.
//   - mode: read, write, readwrite or append. For a file it is the access
//     mode: O_RDONLY (read, the default), O_WRONLY (write), O_RDWR
//     (readwrite) or O_WRONLY|O_APPEND (append), and the program gets the
//     matching rights: reading ones, writing ones, both, or with append only
//     those that add to the end of the file (no seeking, no positioned
//     writes, no truncating, no changing the descriptor's flags). For a
//     directory, readwrite (the default) grants every directory right and
//     read grants a read-only tree: the program can look up, list, stat and
//     read files beneath it, and cannot create, write, truncate, rename,
//     link or remove anything. write and append do not apply to directories.
//   - create: true creates the file if it does not exist (O_CREAT, with
//     permissions 0666 less the launcher's umask). It needs mode write,
//     readwrite or append.
//   - exclusive: true makes the launcher fail if the file already exists
//     (O_EXCL). It needs create: true.
//   - truncate: true empties the file when it is opened (O_TRUNC). It needs
//     mode write, readwrite or append.
//
// create, exclusive and truncate take true or false. Any other attribute or
// value is an error that names the attribute and the allowed values.
//
// Every occurrence becomes an argdata FD whose number is a guest descriptor
// number: an index into [Config.Grants]. Guest numbers are assigned 0, 1, 2,
// ... in order of first appearance in the document. All mentions of the same
// launcher descriptor (stdout and !fd 1 included) share one guest number, as
// do all mentions of !executable and all aliases of one anchored !file node;
// each separately written !file is a grant of its own, even for the same
// path. Descriptors that the document does not mention are never passed.
//
// # Plain YAML
//
// Untagged values follow the YAML core schema (as implemented by
// go.yaml.in/yaml/v3): null, ~ and the empty scalar become argdata Null;
// true and false a Bool; integers (decimal, 0x hex, 0o or leading-0 octal,
// 0b binary, optional underscores) an Int, which must lie in -2^63 .. 2^64-1;
// floats (including .inf and .nan) a Float; everything else a Str. Quoted
// scalars are always strings. The standard tags !!null, !!bool, !!int,
// !!float, !!str, !!binary (base64, to Binary), !!timestamp (to Timestamp),
// !!seq and !!map are honoured. Mappings keep their order; keys may be of
// any type, but the same key may not appear twice. Anchors and aliases are
// expanded, up to [MaxValues] values in all (and [MaxBytes] bytes of string
// data), which defuses "billion laughs" documents. Containers may nest
// [argdata.MaxDepth] deep. Merge keys (<<) are not supported.
//
// The original cloudabi-run handed every untagged scalar to the program as
// a string; this package gives untagged numbers and booleans their YAML
// type. Quote a scalar ("8080") to get a string regardless.
//
// Empty input (or input holding only comments) yields a Null document. Input
// with more than one document is an error.
//
// Every error is an *[Error] that names the file, line and column.
package config

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/cloudabi-go/cloudabi/argdata"
)

// TagPrefix is the namespace of the launcher's YAML tags.
const TagPrefix = "tag:nuxi.nl,2015:cloudabi/"

// Limits on what a document may expand to.
const (
	// MaxValues is the largest number of argdata values (scalars,
	// sequences, mappings and descriptors, with aliases expanded) that a
	// document may produce.
	MaxValues = 1_000_000
	// MaxBytes is the largest total length of the strings and binary
	// values that a document may produce, with aliases expanded.
	MaxBytes = 64 << 20
	// MaxInput is the largest configuration that Parse reads.
	MaxInput = 64 << 20
)

// Position is a location in a configuration file. Line and Column count
// from 1; zero means unknown.
type Position struct {
	File         string
	Line, Column int
}

// String returns "file:line:column", leaving out what is unknown. An empty
// File is shown as "<stdin>".
func (p Position) String() string {
	s := p.File
	if s == "" {
		s = "<stdin>"
	}
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	return s
}

// Error is a problem with a configuration, located in its file.
type Error struct {
	Pos Position
	Msg string
	// Err is the underlying error, if any (such as the system error of a
	// failed open); Msg already includes its text.
	Err error
}

// Error returns "file:line:column: message".
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// GrantKind says what a [Grant] passes to the program.
type GrantKind int

const (
	// GrantHostFD passes one of the launcher's open descriptors (!fd).
	GrantHostFD GrantKind = iota
	// GrantFile passes a file or directory that the launcher opens (!file).
	GrantFile
	// GrantExecutable passes the program's executable (!executable).
	GrantExecutable
	// GrantListen passes a listener handle for a socket that the launcher
	// binds and listens on (!listen).
	GrantListen
	// GrantConnect passes a socket that the launcher connects (!connect).
	GrantConnect
)

func (k GrantKind) String() string {
	switch k {
	case GrantHostFD:
		return "host fd"
	case GrantFile:
		return "file"
	case GrantExecutable:
		return "executable"
	case GrantListen:
		return "listen"
	case GrantConnect:
		return "connect"
	}
	return "GrantKind(" + strconv.Itoa(int(k)) + ")"
}

// Mode is the mode attribute of !file: what the program may do with the
// file or directory.
type Mode int

const (
	// ModeDefault is an absent mode attribute: a directory gets every
	// directory right (as with ModeReadWrite), anything else is read-only
	// (as with ModeRead).
	ModeDefault Mode = iota
	// ModeRead (mode: read) opens a file read-only; a directory is granted
	// with the rights to look at the files beneath it and read them, and
	// nothing that changes anything.
	ModeRead
	// ModeWrite (mode: write) opens a file write-only.
	ModeWrite
	// ModeReadWrite (mode: readwrite) opens a file for reading and
	// writing; a directory gets every directory right.
	ModeReadWrite
	// ModeAppend (mode: append) opens a file write-only with O_APPEND,
	// and grants no right that could change what is already in it.
	ModeAppend
)

func (m Mode) String() string {
	switch m {
	case ModeDefault:
		return "default"
	case ModeRead:
		return "read"
	case ModeWrite:
		return "write"
	case ModeReadWrite:
		return "readwrite"
	case ModeAppend:
		return "append"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Grant is one descriptor that the program receives.
type Grant struct {
	Kind GrantKind
	// HostFD is the launcher's descriptor number, for GrantHostFD.
	HostFD int
	// Path is the path to open, for GrantFile.
	Path string
	// Mode, Create, Exclusive and Truncate are the attributes of a
	// GrantFile: how to open Path.
	Mode                        Mode
	Create, Exclusive, Truncate bool
	// Address is the socket address of a GrantListen or GrantConnect as
	// written ("tcp:127.0.0.1:8080", "unix:/run/app.sock"); Network
	// ("tcp" or "unix") and Addr ("127.0.0.1:8080", "/run/app.sock") are
	// its parts, as package net takes them.
	Address, Network, Addr string
	// Pos is where the grant first appears in the configuration.
	Pos Position
}

// String describes the grant, as in "host fd 1 (config.yaml:3:3)" or
// "file \"app.log\" mode append, create (config.yaml:4:6)".
func (g Grant) String() string {
	switch g.Kind {
	case GrantHostFD:
		return fmt.Sprintf("host fd %d (%v)", g.HostFD, g.Pos)
	case GrantFile:
		s := fmt.Sprintf("file %q", g.Path)
		if g.Mode != ModeDefault {
			s += " mode " + g.Mode.String()
		}
		for _, o := range []struct {
			set  bool
			name string
		}{{g.Create, "create"}, {g.Exclusive, "exclusive"}, {g.Truncate, "truncate"}} {
			if o.set {
				if g.Mode != ModeDefault {
					s += ","
				}
				s += " " + o.name
			}
		}
		return fmt.Sprintf("%s (%v)", s, g.Pos)
	case GrantListen, GrantConnect:
		return fmt.Sprintf("%v %s (%v)", g.Kind, g.Address, g.Pos)
	}
	return fmt.Sprintf("%v (%v)", g.Kind, g.Pos)
}

// Config is a parsed configuration.
type Config struct {
	// Argdata is the document. Its FD values are guest descriptor
	// numbers: indexes into Grants.
	Argdata argdata.Value
	// Grants lists the descriptors to pass; Grants[i] becomes the
	// program's descriptor i.
	Grants []Grant
}

// Parse reads one YAML document from r and converts it. filename names the
// input in error messages ("<stdin>" if empty). Every error it returns is an
// *Error. Parse opens nothing; see [Config.Open].
func Parse(r io.Reader, filename string) (*Config, error) {
	if filename == "" {
		filename = "<stdin>"
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, &Error{Pos: Position{File: filename}, Msg: "cannot read configuration: " + err.Error(), Err: err}
	}
	if len(data) > MaxInput {
		return nil, &Error{Pos: Position{File: filename}, Msg: fmt.Sprintf("configuration is larger than %d bytes", MaxInput)}
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := decode(dec, &doc); {
	case err == io.EOF:
		return &Config{Argdata: argdata.Null{}}, nil
	case err != nil:
		return nil, yamlError(filename, data, err)
	}
	var next yaml.Node
	switch err := decode(dec, &next); {
	case err == nil:
		return nil, &Error{Pos: position(filename, &next), Msg: "a second YAML document starts here; the configuration must be a single document"}
	case err != io.EOF:
		return nil, yamlError(filename, data, err)
	}

	c := &converter{file: filename, hostFDs: map[int]int{}, exe: -1, files: map[*yaml.Node]int{}, sockets: map[*yaml.Node]int{}, active: map[*yaml.Node]bool{}}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	} else {
		root = &doc
	}
	v, err := c.value(root, 0)
	if err != nil {
		return nil, err
	}
	return &Config{Argdata: v, Grants: c.grants}, nil
}

// decode runs the YAML decoder, turning any panic inside it into an error:
// a malformed configuration must never crash the launcher.
func decode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: internal error in the YAML parser: %v", r)
		}
	}()
	return dec.Decode(n)
}

var (
	yamlLineError   = regexp.MustCompile(`^yaml: line (\d+): `)
	yamlAnchorError = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// yamlError converts an error of the YAML parser. The parser reports the
// line of a syntax error (but not its column), except on the first line,
// where it reports none; an unknown anchor comes without a position, so the
// first use of the alias in data is located here.
func yamlError(file string, data []byte, err error) *Error {
	msg := err.Error()
	pos := Position{File: file}
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else if m := yamlAnchorError.FindStringSubmatch(msg); m != nil {
		msg = msg[len("yaml: "):]
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			pos.Line = 1 + bytes.Count(data[:i], []byte("\n"))
			pos.Column = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		if !strings.Contains(msg, "internal error") {
			pos.Line = 1
		}
	}
	return &Error{Pos: pos, Msg: "YAML syntax error: " + msg, Err: err}
}

func position(file string, n *yaml.Node) Position {
	return Position{File: file, Line: n.Line, Column: n.Column}
}

// converter turns YAML nodes into argdata and collects grants.
type converter struct {
	file    string
	grants  []Grant
	hostFDs map[int]int         // launcher fd -> guest fd
	exe     int                 // guest fd of !executable, or -1
	files   map[*yaml.Node]int  // !file node -> guest fd
	sockets map[*yaml.Node]int  // !listen or !connect node -> guest fd
	active  map[*yaml.Node]bool // containers being converted
	values  int
	bytes   int
}

func (c *converter) errorf(n *yaml.Node, format string, args ...any) error {
	return &Error{Pos: position(c.file, n), Msg: fmt.Sprintf(format, args...)}
}

func (c *converter) count(n *yaml.Node, size int) error {
	c.values++
	c.bytes += size
	if c.values > MaxValues {
		return c.errorf(n, "the document expands to more than %d values (too many aliases?)", MaxValues)
	}
	if c.bytes > MaxBytes {
		return c.errorf(n, "the document expands to more than %d bytes of strings (too many aliases?)", MaxBytes)
	}
	return nil
}

// The YAML core tags, as go.yaml.in/yaml/v3 abbreviates them.
const (
	nullTag      = "!!null"
	boolTag      = "!!bool"
	strTag       = "!!str"
	intTag       = "!!int"
	floatTag     = "!!float"
	timestampTag = "!!timestamp"
	seqTag       = "!!seq"
	mapTag       = "!!map"
	binaryTag    = "!!binary"
	mergeTag     = "!!merge"
)

const knownTags = "!fd, !file, !executable, !listen, !connect"

// launcherTag returns the name of one of the launcher's tags ("fd" for
// tag:nuxi.nl,2015:cloudabi/fd or the local tag !fd), or "".
func launcherTag(tag string) string {
	if name, ok := strings.CutPrefix(tag, TagPrefix); ok {
		return name
	}
	if strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		return tag[1:]
	}
	return ""
}

// showTag returns tag as the user would write it.
func showTag(tag string) string {
	if name, ok := strings.CutPrefix(tag, TagPrefix); ok {
		return "!" + name
	}
	if strings.HasPrefix(tag, "!") {
		return tag
	}
	return "!<" + tag + ">"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "a node"
}

func (c *converter) value(n *yaml.Node, depth int) (argdata.Value, error) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, c.errorf(n, "alias *%s refers to no anchor", n.Value)
		}
		if c.active[n.Alias] {
			return nil, c.errorf(n, "alias *%s refers to a node that contains it", n.Value)
		}
		return c.value(n.Alias, depth)
	}
	if n.Kind == yaml.DocumentNode {
		return nil, c.errorf(n, "unexpected nested document")
	}

	if name := launcherTag(n.Tag); name != "" {
		if err := c.count(n, 0); err != nil {
			return nil, err
		}
		switch name {
		case "fd":
			return c.fd(n)
		case "file":
			return c.openFile(n)
		case "executable":
			return c.executable(n)
		case "listen":
			return c.socket(n, GrantListen)
		case "connect":
			return c.socket(n, GrantConnect)
		}
		return nil, c.errorf(n, "unknown tag %s (known: %s)", showTag(n.Tag), knownTags)
	}

	switch n.Kind {
	case yaml.ScalarNode:
		return c.scalar(n)
	case yaml.SequenceNode:
		if n.Tag != seqTag {
			return nil, c.badTag(n)
		}
		if depth >= argdata.MaxDepth {
			return nil, c.errorf(n, "sequences and mappings nest deeper than %d levels", argdata.MaxDepth)
		}
		if err := c.count(n, 0); err != nil {
			return nil, err
		}
		c.active[n] = true
		defer delete(c.active, n)
		seq := make(argdata.Seq, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			seq = append(seq, v)
		}
		return seq, nil
	case yaml.MappingNode:
		if n.Tag != mapTag {
			return nil, c.badTag(n)
		}
		if depth >= argdata.MaxDepth {
			return nil, c.errorf(n, "sequences and mappings nest deeper than %d levels", argdata.MaxDepth)
		}
		return c.mapping(n, depth)
	}
	return nil, c.errorf(n, "unsupported YAML node")
}

// badTag reports a tag that cannot apply to n.
func (c *converter) badTag(n *yaml.Node) error {
	switch n.Tag {
	case nullTag, boolTag, strTag, intTag, floatTag, timestampTag, binaryTag, seqTag, mapTag:
		return c.errorf(n, "tag %s cannot be applied to %s", n.Tag, kindName(n))
	}
	return c.errorf(n, "unknown tag %s (known: %s, and the YAML tags !!null, !!bool, !!int, !!float, !!str, !!binary, !!timestamp, !!seq, !!map)", showTag(n.Tag), knownTags)
}

func (c *converter) mapping(n *yaml.Node, depth int) (argdata.Value, error) {
	if err := c.count(n, 0); err != nil {
		return nil, err
	}
	if len(n.Content)%2 != 0 {
		return nil, c.errorf(n, "malformed mapping")
	}
	c.active[n] = true
	defer delete(c.active, n)
	m := make(argdata.Map, 0, len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if resolve(kn).Kind == yaml.ScalarNode && resolve(kn).Tag == mergeTag {
			return nil, c.errorf(kn, "merge keys (<<) are not supported; quote the key (\"<<\") if you mean the string")
		}
		k, err := c.value(kn, depth+1)
		if err != nil {
			return nil, err
		}
		enc, err := argdata.Marshal(k)
		if err != nil {
			return nil, c.errorf(kn, "invalid map key: %v", err)
		}
		if first, dup := seen[string(enc)]; dup {
			return nil, c.errorf(kn, "duplicate map key %v (first at line %d, column %d)", k, first.Line, first.Column)
		}
		seen[string(enc)] = kn
		v, err := c.value(vn, depth+1)
		if err != nil {
			return nil, err
		}
		m = append(m, argdata.MapEntry{Key: k, Value: v})
	}
	return m, nil
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

var (
	nullValues  = map[string]bool{"": true, "~": true, "null": true, "Null": true, "NULL": true}
	trueValues  = map[string]bool{"true": true, "True": true, "TRUE": true}
	falseValues = map[string]bool{"false": true, "False": true, "FALSE": true}
	floatValues = map[string]float64{}
	// An integer in one of the forms of YAML (1.1 and 1.2 core).
	intSyntax = regexp.MustCompile(`^[-+]?(0[bB][01_]+|0[oO]?[0-7_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)$`)
)

func init() {
	for _, s := range []string{".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"} {
		floatValues[s] = math.Inf(1)
	}
	for _, s := range []string{"-.inf", "-.Inf", "-.INF"} {
		floatValues[s] = math.Inf(-1)
	}
}

func (c *converter) scalar(n *yaml.Node) (argdata.Value, error) {
	if err := c.count(n, len(n.Value)); err != nil {
		return nil, err
	}
	tagged := n.Style&yaml.TaggedStyle != 0
	s := n.Value
	switch n.Tag {
	case nullTag:
		if !nullValues[s] {
			return nil, c.errorf(n, "cannot read %q as !!null", s)
		}
		return argdata.Null{}, nil
	case boolTag:
		switch {
		case trueValues[s]:
			return argdata.Bool(true), nil
		case falseValues[s]:
			return argdata.Bool(false), nil
		}
		return nil, c.errorf(n, "cannot read %q as !!bool (use true or false)", s)
	case intTag:
		return c.integer(n)
	case floatTag:
		if !tagged && intSyntax.MatchString(s) {
			// An integer literal too large for yaml's own parser.
			return c.integer(n)
		}
		if f, ok := floatValues[s]; ok {
			return argdata.Float(f), nil
		}
		switch s {
		case ".nan", ".NaN", ".NAN":
			return argdata.Float(math.NaN()), nil
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err != nil {
			return nil, c.errorf(n, "cannot read %q as !!float", s)
		}
		return argdata.Float(f), nil
	case strTag, mergeTag:
		return c.str(n, s)
	case binaryTag:
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			return nil, c.errorf(n, "invalid base64 in !!binary: %v", err)
		}
		return argdata.Binary(b), nil
	case timestampTag:
		t, ok := parseTimestamp(s)
		if !ok {
			return nil, c.errorf(n, "cannot read %q as !!timestamp (use a form such as 2001-12-14, 2001-12-14 21:59:43.10 or 2001-12-14T21:59:43.10-05:00)", s)
		}
		ts, ok := argdata.TimestampOf(t)
		if !ok {
			return nil, c.errorf(n, "timestamp %s is outside the range argdata can represent (about 1677 to 2554)", s)
		}
		return ts, nil
	}
	return nil, c.badTag(n)
}

func (c *converter) str(n *yaml.Node, s string) (argdata.Value, error) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return nil, c.errorf(n, "string contains a NUL character, which argdata strings cannot hold (use !!binary)")
	}
	if !utf8.ValidString(s) {
		return nil, c.errorf(n, "string is not valid UTF-8")
	}
	return argdata.Str(s), nil
}

func (c *converter) integer(n *yaml.Node) (argdata.Value, error) {
	s := n.Value
	if !intSyntax.MatchString(s) {
		return nil, c.errorf(n, "cannot read %q as !!int", s)
	}
	plain := strings.ReplaceAll(s, "_", "")
	b, ok := new(big.Int).SetString(plain, 0)
	if !ok && strings.Trim(strings.TrimLeft(plain, "+-"), "0123456789") == "" {
		// A decimal with a leading zero that is not octal, such as 09.
		b, ok = new(big.Int).SetString(plain, 10)
	}
	if !ok {
		return nil, c.errorf(n, "cannot read %q as !!int", s)
	}
	i, ok := argdata.IntFromBig(b)
	if !ok {
		return nil, c.errorf(n, "integer %s does not fit in 64 bits (argdata integers range from -2^63 to 2^64-1)", s)
	}
	return i, nil
}

// The timestamp forms that YAML's resolver recognises
// (https://yaml.org/type/timestamp.html), as far as time.Parse handles them.
var timestampFormats = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999 Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

func parseTimestamp(s string) (time.Time, bool) {
	for _, f := range timestampFormats {
		if t, err := time.Parse(f, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (c *converter) grant(g Grant) argdata.Value {
	c.grants = append(c.grants, g)
	return argdata.FD(len(c.grants) - 1)
}

// fd handles !fd stdout, !fd stderr and !fd N.
func (c *converter) fd(n *yaml.Node) (argdata.Value, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, c.errorf(n, "!fd takes a descriptor name or number (stdout, stderr, 0, 1, ...), not %s", kindName(n))
	}
	var fd int
	switch s := n.Value; {
	case s == "stdout":
		fd = 1
	case s == "stderr":
		fd = 2
	case s == "stdin":
		return nil, c.errorf(n, "unknown descriptor name %q for !fd (names are stdout and stderr; write !fd 0 for standard input)", s)
	case s != "" && strings.Trim(s, "0123456789") == "":
		v, err := strconv.Atoi(s)
		if err != nil || v > 1<<31-1 {
			return nil, c.errorf(n, "descriptor number %s for !fd is too large", s)
		}
		fd = v
	case strings.HasPrefix(s, "-") && len(s) > 1 && strings.Trim(s[1:], "0123456789") == "":
		return nil, c.errorf(n, "descriptor number %s for !fd is negative", s)
	default:
		return nil, c.errorf(n, "unknown descriptor name %q for !fd (use stdout, stderr or a decimal descriptor number)", s)
	}
	if g, ok := c.hostFDs[fd]; ok {
		return argdata.FD(g), nil
	}
	c.hostFDs[fd] = len(c.grants)
	return c.grant(Grant{Kind: GrantHostFD, HostFD: fd, Pos: position(c.file, n)}), nil
}

// fileAttributes lists the attributes of !file, in the order the
// documentation gives them.
const fileAttributes = "path, mode, create, exclusive, truncate"

// modeNames are the values of the mode attribute of !file.
var modeNames = map[string]Mode{"read": ModeRead, "write": ModeWrite, "readwrite": ModeReadWrite, "append": ModeAppend}

const modeValues = "read, write, readwrite, append"

// openFile handles !file {path: P, mode: M, create: B, exclusive: B,
// truncate: B}.
func (c *converter) openFile(n *yaml.Node) (argdata.Value, error) {
	if g, ok := c.files[n]; ok {
		return argdata.FD(g), nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, c.errorf(n, "!file takes a mapping with a path, as in !file {path: /srv/www}, not %s", kindName(n))
	}
	g := Grant{Kind: GrantFile, Pos: position(c.file, n)}
	var path *yaml.Node
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		if kn.Kind != yaml.ScalarNode || kn.Tag != strTag {
			return nil, c.errorf(kn, "!file attribute names must be strings")
		}
		name := kn.Value
		if keys[name] != nil {
			return nil, c.errorf(kn, "duplicate !file attribute %q", name)
		}
		keys[name] = kn
		switch name {
		case "path":
			path = vn
		case "mode":
			if vn.Kind != yaml.ScalarNode || vn.Tag != strTag || modeNames[vn.Value] == ModeDefault {
				return nil, c.errorf(vn, "!file mode must be one of %s, not %s", modeValues, describe(vn))
			}
			g.Mode = modeNames[vn.Value]
		case "create", "exclusive", "truncate":
			var b bool
			switch {
			case vn.Kind == yaml.ScalarNode && vn.Tag == boolTag && trueValues[vn.Value]:
				b = true
			case vn.Kind == yaml.ScalarNode && vn.Tag == boolTag && falseValues[vn.Value]:
				b = false
			default:
				return nil, c.errorf(vn, "!file %s must be true or false, not %s", name, describe(vn))
			}
			switch name {
			case "create":
				g.Create = b
			case "exclusive":
				g.Exclusive = b
			case "truncate":
				g.Truncate = b
			}
		default:
			return nil, c.errorf(kn, "unknown !file attribute %q (known: %s)", name, fileAttributes)
		}
	}
	if path == nil {
		return nil, c.errorf(n, "!file needs a path attribute, as in !file {path: /srv/www}")
	}
	if path.Kind != yaml.ScalarNode {
		return nil, c.errorf(path, "!file path must be a string, not %s", kindName(path))
	}
	if path.Tag == nullTag {
		return nil, c.errorf(path, "!file path is empty")
	}
	if path.Tag != strTag && path.Style&yaml.TaggedStyle != 0 {
		// Untagged scalars that YAML reads as numbers or booleans are
		// taken literally, as the original launcher did.
		return nil, c.errorf(path, "!file path must be a string, not %s", showTag(path.Tag))
	}
	g.Path = path.Value
	if strings.IndexByte(g.Path, 0) >= 0 {
		return nil, c.errorf(path, "!file path contains a NUL character")
	}
	writing := g.Mode == ModeWrite || g.Mode == ModeReadWrite || g.Mode == ModeAppend
	for _, name := range []string{"create", "truncate"} {
		set := (name == "create" && g.Create) || (name == "truncate" && g.Truncate)
		if set && !writing {
			return nil, c.errorf(keys[name], "!file %s: true needs mode write, readwrite or append", name)
		}
	}
	if g.Exclusive && !g.Create {
		return nil, c.errorf(keys["exclusive"], "!file exclusive: true needs create: true")
	}
	c.files[n] = len(c.grants)
	return c.grant(g), nil
}

// describe shows a node in an error message: a scalar as its quoted text,
// anything else by its kind.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == nullTag {
			return "an empty value"
		}
		return strconv.Quote(n.Value)
	}
	return kindName(n)
}

// executable handles !executable.
func (c *converter) executable(n *yaml.Node) (argdata.Value, error) {
	if n.Kind != yaml.ScalarNode || n.Value != "" {
		return nil, c.errorf(n, "!executable takes no value")
	}
	if c.exe >= 0 {
		return argdata.FD(c.exe), nil
	}
	c.exe = len(c.grants)
	return c.grant(Grant{Kind: GrantExecutable, Pos: position(c.file, n)}), nil
}

// socket handles !listen {address: A} and !connect {address: A}.
func (c *converter) socket(n *yaml.Node, kind GrantKind) (argdata.Value, error) {
	if g, ok := c.sockets[n]; ok {
		return argdata.FD(g), nil
	}
	tag := "!" + kind.String()
	example := tag + ` {address: "tcp:127.0.0.1:8080"}`
	if n.Kind != yaml.MappingNode {
		return nil, c.errorf(n, "%s takes a mapping with an address, as in %s, not %s", tag, example, kindName(n))
	}
	g := Grant{Kind: kind, Pos: position(c.file, n)}
	var addr *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := resolve(n.Content[i]), resolve(n.Content[i+1])
		if kn.Kind != yaml.ScalarNode || kn.Tag != strTag {
			return nil, c.errorf(kn, "%s attribute names must be strings", tag)
		}
		switch kn.Value {
		case "address":
			if addr != nil {
				return nil, c.errorf(kn, "duplicate %s attribute \"address\"", tag)
			}
			addr = vn
		default:
			return nil, c.errorf(kn, "unknown %s attribute %q (known: address)", tag, kn.Value)
		}
	}
	if addr == nil {
		return nil, c.errorf(n, "%s needs an address attribute, as in %s", tag, example)
	}
	if addr.Kind != yaml.ScalarNode || addr.Tag != strTag {
		return nil, c.errorf(addr, "%s address must be a string such as \"tcp:127.0.0.1:8080\" or \"unix:/path/to/socket\", not %s", tag, describe(addr))
	}
	network, a, err := ParseAddress(addr.Value, kind == GrantListen)
	if err != nil {
		return nil, c.errorf(addr, "%s address %q: %v", tag, addr.Value, err)
	}
	g.Address, g.Network, g.Addr = addr.Value, network, a
	c.sockets[n] = len(c.grants)
	return c.grant(g), nil
}

// ParseAddress splits a socket address of !listen (listen true) or
// !connect: "tcp:HOST:PORT" gives network "tcp" and "HOST:PORT";
// "unix:PATH" gives "unix" and PATH. A listening address may leave HOST
// empty (every address) and use port 0 (any free port); a connecting
// address needs both.
func ParseAddress(s string, listen bool) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(s, "tcp:"):
		rest := s[len("tcp:"):]
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return "", "", fmt.Errorf("want tcp:HOST:PORT, as in tcp:127.0.0.1:8080 or tcp:[::1]:8080")
		}
		if strings.ContainsAny(host, " \t\n/") || strings.IndexByte(host, 0) >= 0 {
			return "", "", fmt.Errorf("invalid host %q", host)
		}
		if host == "" && !listen {
			return "", "", fmt.Errorf("no host to connect to")
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || strings.Trim(port, "0123456789") != "" {
			return "", "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
		if p == 0 && !listen {
			return "", "", fmt.Errorf("cannot connect to port 0")
		}
		return "tcp", rest, nil
	case strings.HasPrefix(s, "unix:"):
		path := s[len("unix:"):]
		switch {
		case path == "" || path == "@":
			return "", "", fmt.Errorf("no socket path after unix:")
		case strings.IndexByte(path, 0) >= 0:
			return "", "", fmt.Errorf("the path contains a NUL character")
		case len(path) > maxUnixPath:
			return "", "", fmt.Errorf("the path is longer than %d bytes, the limit of UNIX socket addresses", maxUnixPath)
		}
		return "unix", path, nil
	}
	return "", "", fmt.Errorf("want tcp:HOST:PORT or unix:PATH")
}

// maxUnixPath is the longest path a UNIX socket address holds (sun_path
// less its NUL).
const maxUnixPath = 107
