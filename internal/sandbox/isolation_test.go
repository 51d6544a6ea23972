package sandbox

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestExplainProbe: a probe's failure keeps its error and gains the likely
// cause, well formed.
func TestExplainProbe(t *testing.T) {
	for _, tc := range []struct {
		errno syscall.Errno
		want  string
	}{
		{syscall.ENOSPC, "max_user_namespaces"},
		{syscall.EPERM, "forbids them"},
		{syscall.EACCES, "may not execute"},
		{syscall.EINVAL, "invalid argument"},
	} {
		in := &os.PathError{Op: "fork/exec", Path: "/proc/self/fd/3", Err: tc.errno}
		got := explainProbe(in)
		if !errors.Is(got, tc.errno) || !strings.Contains(got.Error(), tc.want) || strings.Contains(got.Error(), "%!") {
			t.Errorf("explainProbe(%v) = %q, want it to wrap %v and mention %q", in, got, tc.errno, tc.want)
		}
	}
}
