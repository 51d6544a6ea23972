package gen

import "github.com/cloudabi-go/cloudabi/internal/abigen/spec"

// File is a generated file.
type File struct {
	// Path is relative to the repository root, with forward slashes.
	Path string
	Data []byte
}

// Generate returns all generated files, in a fixed order.
func Generate(s *spec.Spec) ([]File, error) {
	gens := []struct {
		path string
		fn   func(*spec.Spec) ([]byte, error)
	}{
		{"abi/zz_generated.go", GenerateGo},
		{"abi/zz_generated_layout_test.go", GenerateGoLayoutTest},
		{"sdk/include/cloudabi_types.h", GenerateCTypes},
		{"sdk/include/cloudabi_syscalls.h", GenerateCSyscalls},
		{"docs/SYSCALLS.md", GenerateMarkdown},
	}
	var files []File
	for _, g := range gens {
		data, err := g.fn(s)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: g.path, Data: data})
	}
	return files, nil
}
