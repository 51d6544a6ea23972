package abi

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudabi-go/cloudabi/internal/abigen/gen"
	"github.com/cloudabi-go/cloudabi/internal/abigen/spec"
)

// specPath is the ABI definition, relative to this package's directory.
const specPath = "../../shared/spec/cloudabi.txt"

// TestGeneratedFilesUpToDate regenerates all files in memory and compares
// them with the files in the repository.
func TestGeneratedFilesUpToDate(t *testing.T) {
	if _, err := os.Stat(specPath); err != nil {
		t.Skipf("ABI definition %s not available (%v); cannot check generated files", specPath, err)
	}
	s, err := spec.ParseFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	files, err := gen.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		path := filepath.Join("..", filepath.FromSlash(f.Path))
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v; run go generate ./abi", f.Path, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s is out of date; run go generate ./abi", f.Path)
		}
	}
}
