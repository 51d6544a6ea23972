// Command abigen generates the Go package abi, the C headers of the SDK and
// the system call reference from the CloudABI definition file.
//
// Usage:
//
//	abigen -spec path/to/cloudabi.txt [-out repository-root] [-check]
//
// The generated files are written below -out (default "."):
// abi/zz_generated.go, abi/zz_generated_layout_test.go,
// sdk/include/cloudabi_types.h, sdk/include/cloudabi_syscalls.h and
// docs/SYSCALLS.md. With -check, nothing is written and abigen fails if
// any of these files is out of date.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloudabi-go/cloudabi/internal/abigen/gen"
	"github.com/cloudabi-go/cloudabi/internal/abigen/spec"
)

func main() {
	specPath := flag.String("spec", "", "path of cloudabi.txt (required)")
	out := flag.String("out", ".", "repository root below which files are written")
	check := flag.Bool("check", false, "only check that the generated files are up to date")
	flag.Parse()
	if *specPath == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*specPath, *out, *check); err != nil {
		fmt.Fprintln(os.Stderr, "abigen:", err)
		os.Exit(1)
	}
}

func run(specPath, out string, check bool) error {
	s, err := spec.ParseFile(specPath)
	if err != nil {
		return err
	}
	files, err := gen.Generate(s)
	if err != nil {
		return err
	}
	stale := false
	for _, f := range files {
		path := filepath.Join(out, filepath.FromSlash(f.Path))
		old, err := os.ReadFile(path)
		if err == nil && bytes.Equal(old, f.Data) {
			continue
		}
		if check {
			fmt.Fprintf(os.Stderr, "abigen: %s is out of date\n", path)
			stale = true
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return err
		}
	}
	if stale {
		return fmt.Errorf("generated files are out of date; run go generate ./abi")
	}
	return nil
}
