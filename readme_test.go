package cloudabi_test

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/cloudabi-go/cloudabi/abi"
	"github.com/cloudabi-go/cloudabi/internal/kernel"
)

// TestReadmeListsUnimplementedSyscalls keeps the README's list of system
// calls that return ENOSYS equal to the kernel's table.
func TestReadmeListsUnimplementedSyscalls(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<!-- unimplemented:begin -->(.*)<!-- unimplemented:end -->`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no unimplemented:begin/end markers")
	}
	var listed []string
	for _, f := range strings.FieldsFunc(string(m[1]), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		listed = append(listed, f)
	}
	sort.Strings(listed)
	var want []string
	for i := 0; i < abi.NumSyscalls; i++ {
		if !kernel.Implemented(abi.Syscall(i)) {
			want = append(want, abi.Syscall(i).String())
		}
	}
	sort.Strings(want)
	if strings.Join(listed, ",") != strings.Join(want, ",") {
		t.Errorf("README lists as unimplemented:\n%v\nbut the kernel lacks:\n%v", listed, want)
	}
}
