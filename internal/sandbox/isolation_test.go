package sandbox

import (
	"errors"
	"fmt"
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

// TestIsolationDecide: the level is the first whose process the host
// creates; a refusal lowers it and says why, while any other failure, a
// shortage included, leaves it undecided for the next start.
func TestIsolationDecide(t *testing.T) {
	refused := func(errno syscall.Errno) error {
		return &startError{&os.PathError{Op: "fork/exec", Path: "/proc/self/fd/4", Err: errno}}
	}
	all := []Level{UserNamespaces, RootNamespaces, NoNamespaces}
	for _, tc := range []struct {
		name    string
		levels  []Level
		fail    map[Level]error // what start returns at each level; nil: success
		want    Level
		decided bool
		reason  []string // substrings of the reason; none if empty
		tried   []Level
		nsOff   bool // max_user_namespaces is 0
	}{
		{name: "user namespaces", levels: all, want: UserNamespaces, decided: true,
			tried: []Level{UserNamespaces}},
		{name: "root without user namespaces", levels: all, fail: map[Level]error{UserNamespaces: refused(syscall.ENOSPC)},
			want: RootNamespaces, decided: true, reason: []string{"user namespaces are not available", "max_user_namespaces"},
			tried: []Level{UserNamespaces, RootNamespaces}, nsOff: true},
		{name: "user namespaces all taken for now", levels: all, fail: map[Level]error{UserNamespaces: refused(syscall.ENOSPC)},
			tried: []Level{UserNamespaces}},
		{name: "namespaces all taken for now, as root", levels: all,
			fail:  map[Level]error{UserNamespaces: refused(syscall.ENOSPC), RootNamespaces: refused(syscall.ENOSPC)},
			tried: []Level{UserNamespaces, RootNamespaces}, nsOff: true},
		{name: "out of descriptors", levels: all, fail: map[Level]error{UserNamespaces: refused(syscall.EMFILE)},
			tried: []Level{UserNamespaces}},
		{name: "root without namespaces", levels: all,
			fail: map[Level]error{UserNamespaces: refused(syscall.EPERM), RootNamespaces: refused(syscall.EINVAL)},
			want: NoNamespaces, decided: true, reason: []string{"forbids them", "nor other namespaces", "invalid argument"},
			tried: []Level{UserNamespaces, RootNamespaces, NoNamespaces}},
		{name: "unprivileged without user namespaces", levels: []Level{UserNamespaces, NoNamespaces},
			fail: map[Level]error{UserNamespaces: refused(syscall.EACCES)}, want: NoNamespaces, decided: true,
			reason: []string{"may not execute"}, tried: []Level{UserNamespaces, NoNamespaces}},
		{name: "shortage", levels: all, fail: map[Level]error{UserNamespaces: refused(syscall.EAGAIN)},
			tried: []Level{UserNamespaces}},
		{name: "out of memory", levels: all, fail: map[Level]error{UserNamespaces: refused(syscall.ENOMEM)},
			tried: []Level{UserNamespaces}},
		{name: "failure after the start", levels: all, fail: map[Level]error{UserNamespaces: errors.New("boot failed")},
			tried: []Level{UserNamespaces}},
		{name: "failure at the fallback", levels: all,
			fail:  map[Level]error{UserNamespaces: refused(syscall.EPERM), RootNamespaces: errors.New("boot failed")},
			tried: []Level{UserNamespaces, RootNamespaces}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(f func() bool) { userNamespacesOff = f }(userNamespacesOff)
			userNamespacesOff = func() bool { return tc.nsOff }
			var s isolationState
			var tried []Level
			err := s.decide(func(l Level) error {
				tried = append(tried, l)
				return tc.fail[l]
			}, tc.levels)
			if fmt.Sprint(tried) != fmt.Sprint(tc.tried) {
				t.Errorf("tried %v, want %v", tried, tc.tried)
			}
			level, reason, decided := s.get()
			if decided != tc.decided {
				t.Fatalf("decided = %v, want %v (err %v)", decided, tc.decided, err)
			}
			if !decided {
				if err == nil || err != tc.fail[tried[len(tried)-1]] {
					t.Errorf("undecided with error %v, want the last start's", err)
				}
				return
			}
			if level != tc.want {
				t.Errorf("level %v, want %v", level, tc.want)
			}
			if err != tc.fail[level] {
				t.Errorf("error %v, want the start's at %v: %v", err, level, tc.fail[level])
			}
			if len(tc.reason) == 0 && reason != nil {
				t.Errorf("reason %v, want none", reason)
			}
			for _, want := range tc.reason {
				if reason == nil || !strings.Contains(reason.Error(), want) {
					t.Errorf("reason %v, want it to mention %q", reason, want)
				}
			}
			// Once decided, a start goes straight to the level.
			tried = nil
			s.decide(func(l Level) error { tried = append(tried, l); return refused(syscall.EPERM) }, tc.levels)
			if len(tried) != 1 || tried[0] != tc.want {
				t.Errorf("after deciding, tried %v, want [%v]", tried, tc.want)
			}
		})
	}
}

// TestIsolationReport: asked before any sandbox, the level is decided by
// the probe; a probe that fails without deciding reports the least level
// and why, and the next question decides it.
func TestIsolationReport(t *testing.T) {
	var s isolationState
	all := []Level{UserNamespaces, RootNamespaces, NoNamespaces}
	shortage := &startError{&os.PathError{Op: "fork/exec", Path: "/proc/self/fd/3", Err: syscall.EAGAIN}}
	l, err := s.report(func(Level) error { return shortage }, all)
	if l != NoNamespaces || err == nil || !strings.Contains(err.Error(), "not decided") || !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("after a failed probe: %v, %v; want NoNamespaces and the probe's error", l, err)
	}
	if _, _, ok := s.get(); ok {
		t.Fatal("a failed probe decided the level")
	}
	probes := 0
	l, err = s.report(func(Level) error { probes++; return nil }, all)
	if l != UserNamespaces || err != nil || probes != 1 {
		t.Errorf("after a good probe: %v, %v (%d probes); want UserNamespaces, nil, 1 probe", l, err, probes)
	}
	if l, err = s.report(func(Level) error { probes++; return nil }, all); l != UserNamespaces || err != nil || probes != 1 {
		t.Errorf("once decided: %v, %v (%d probes); want UserNamespaces, nil and no new probe", l, err, probes)
	}
}
