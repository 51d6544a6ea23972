package cloudabi_test

import (
	"strings"
	"testing"

	"github.com/cloudabi-go/cloudabi"
	"github.com/cloudabi-go/cloudabi/argdata"
	"github.com/cloudabi-go/cloudabi/internal/guestbuild"
)

// TestFork runs the fork guest: a child's memory is a copy, process
// descriptors report exit codes and signals, closing a running child's
// descriptor ends it, and the process limit stops a fork bomb.
func TestFork(t *testing.T) {
	const maxProcs = 8
	out, read := outputFile(t)
	prog, err := cloudabi.Open(guestbuild.Build(t, "testdata/guests/process/fork.c"))
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	ad, _ := argdata.Marshal(argdata.Map{
		{Key: argdata.Str("out"), Value: argdata.FD(0)},
		{Key: argdata.Str("max"), Value: argdata.IntOf(maxProcs)},
	})
	proc, err := prog.Start(ad, []cloudabi.FD{{File: out}}, &cloudabi.Options{MaxProcesses: maxProcs})
	if err != nil {
		t.Fatal(err)
	}
	st := proc.Wait()
	report := read()
	lines := strings.Split(strings.TrimSpace(report), "\n")
	if len(lines) < 25 {
		t.Errorf("only %d checks reported:\n%s", len(lines), report)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "ok ") {
			t.Errorf("%s", l)
		}
	}
	if !strings.Contains(report, "ok child_writes_inherited_fd") {
		t.Errorf("the child could not write to an inherited fd")
	}
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0", st)
	}
}
