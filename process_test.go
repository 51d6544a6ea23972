package cloudabi_test

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	var confined atomic.Int32 // once for the program, not for its children
	proc, err := prog.Start(ad, []cloudabi.FD{{File: out}}, &cloudabi.Options{MaxProcesses: maxProcs,
		Confined: func(string, error) { confined.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	st := proc.Wait()
	if n := confined.Load(); n != 1 {
		t.Errorf("Options.Confined called %d times, want once", n)
	}
	report := read()
	checkReport(t, "fork", report, 25)
	if !strings.Contains(report, "ok child_writes_inherited_fd") {
		t.Errorf("the child could not write to an inherited fd")
	}
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0", st)
	}
}

// TestSharedLocks runs the sharedlocks guest several times: a mutex, a
// condition variable and a readers-writer lock in shared memory, used by
// a parent and its forked child at once; waiters in one process are woken
// by the other, owners are told apart by thread id, and a waiter killed in
// its wait, or whose image proc_exec replaces, does not take a live
// waiter's signal or lock.
func TestSharedLocks(t *testing.T) {
	const src = "testdata/guests/process/sharedlocks.c"
	self, err := os.Open(guestbuild.Build(t, src))
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	for i := 0; i < 10; i++ {
		args := argdata.Map{{Key: argdata.Str("iters"), Value: argdata.IntOf(20000)}, {Key: argdata.Str("rounds"), Value: argdata.IntOf(200)}}
		var extra []*os.File
		if i == 0 {
			// Once: a waiter whose image proc_exec replaces.
			args = append(args, argdata.MapEntry{Key: argdata.Str("self"), Value: argdata.FD(1)})
			extra = append(extra, self)
		}
		r := runTimed(t, src, args, threadRunTimeout, extra...)
		checkReport(t, "sharedlocks", r.output, 27)
		if !r.status.Exited || r.status.Code != 0 {
			t.Fatalf("run %d: status %v, want exit 0\n%s", i, r.status, r.output)
		}
		if t.Failed() {
			t.Fatalf("run %d failed", i)
		}
	}
}

// TestExecExitRace: proc_exec in one thread against proc_exit in another.
// Whichever wins, once Wait has reported the process ended, its new image
// (if it started) must not run on: it would write to the output after
// 100 ms.
func TestExecExitRace(t *testing.T) {
	const src = "testdata/guests/process/execexit.c"
	for i, delay := range []int64{0, 300, 3000, 30000, 0, 1000, 10000, 100000} {
		self, err := os.Open(guestbuild.Build(t, src))
		if err != nil {
			t.Fatal(err)
		}
		out, read := outputFile(t)
		st := runGuest(t, src, argdata.Map{
			{Key: argdata.Str("mode"), Value: argdata.Str("start")},
			{Key: argdata.Str("self"), Value: argdata.FD(1)},
			{Key: argdata.Str("delay"), Value: argdata.IntOf(delay)},
		}, out, self)
		self.Close()
		atWait := read()
		time.Sleep(250 * time.Millisecond)
		later := read()
		switch {
		case st.Exited && st.Code == 5 && atWait == "after\n" && later == atWait:
			// The exec won: Wait reported the new image's exit.
		case st.Exited && st.Code == 3 && atWait == "" && later == "":
			// The exit won, and the new image, if it started, was ended.
		default:
			t.Errorf("run %d (delay %d): status %v, output %q at Wait, %q 250 ms later", i, delay, st, atWait, later)
		}
	}
}

// TestExec runs the exec guest: proc_exec's errors leave the caller
// running, a forked child's new image reports its exit to the parent, and
// the program's own new image has exactly the descriptors it kept.
func TestExec(t *testing.T) {
	out, read := outputFile(t)
	path := guestbuild.Build(t, "testdata/guests/process/exec.c")
	self, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.Open("process_test.go")
	if err != nil {
		t.Fatal(err)
	}
	st := runGuest(t, "testdata/guests/process/exec.c", argdata.Map{
		{Key: argdata.Str("mode"), Value: argdata.Str("start")},
		{Key: argdata.Str("out"), Value: argdata.FD(0)},
		{Key: argdata.Str("self"), Value: argdata.FD(1)},
		{Key: argdata.Str("text"), Value: argdata.FD(2)},
	}, out, self, text)
	report := read()
	checkReport(t, "exec", report, 10)
	for _, want := range []string{"ok exec_without_right", "ok child_exec_exit", "ok after_exec", "ok fd1_closed", "ok out_writable"} {
		if !strings.Contains(report, want) {
			t.Errorf("missing %q in:\n%s", want, report)
		}
	}
	if !st.Exited || st.Code != 5 {
		t.Errorf("status %v, want exit 5 from the new image", st)
	}
}

// TestForkSnapshot: a forked child's memory is the parent's at one
// instant, even while another thread of the parent writes to it.
func TestForkSnapshot(t *testing.T) {
	st := runGuest(t, "testdata/guests/process/forksnap.c", argdata.Null{})
	if !st.Exited || st.Code != 0 {
		t.Errorf("status %v, want exit 0 (1+N: N of 10 children saw a torn copy; 100: a call failed)", st)
	}
}
