// Command withoutuserns runs a command as an unprivileged user on what looks
// to it like a host without user namespaces, so that the runtime's fallback
// can be tested on a host that has them:
//
//	withoutuserns UID COMMAND [ARG...]
//
// Run as root, it starts itself in a new user namespace that maps root and
// UID to the host's UID (as root there, it has the one capability it needs),
// sets the namespace's max_user_namespaces to 0, becomes UID, which drops
// every capability, and executes COMMAND. Nothing COMMAND starts can then
// create a user namespace; the kernel answers ENOSPC.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

const childEnv = "_WITHOUTUSERNS_CHILD"

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: withoutuserns UID COMMAND [ARG...]")
		os.Exit(64)
	}
	uid, err := strconv.Atoi(os.Args[1])
	if err != nil || uid <= 0 {
		fmt.Fprintf(os.Stderr, "withoutuserns: bad UID %q\n", os.Args[1])
		os.Exit(64)
	}
	if os.Getenv(childEnv) == "" {
		os.Exit(parent(uid))
	}
	os.Unsetenv(childEnv)
	if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0\n"), 0); err != nil {
		fail(err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		fail(err)
	}
	if err := syscall.Setresgid(uid, uid, uid); err != nil {
		fail(err)
	}
	if err := syscall.Setresuid(uid, uid, uid); err != nil {
		fail(err)
	}
	path, err := exec.LookPath(os.Args[2])
	if err != nil {
		fail(err)
	}
	fail(syscall.Exec(path, os.Args[2:], os.Environ()))
}

func parent(uid int) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "withoutuserns: must run as root")
		return 64
	}
	// The namespace maps its root, which only writes the sysctl, to a
	// host user other than UID, and UID to itself, so that COMMAND runs
	// as UID inside the namespace and on the host alike.
	outer := uid - 1
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: outer, Size: 1}, {ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: outer, Size: 1}, {ContainerID: uid, HostID: uid, Size: 1}},
		GidMappingsEnableSetgroups: true,
		Credential:                 &syscall.Credential{Uid: 0, Gid: 0},
	}
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "withoutuserns: %v\n", err)
		return 70
	}
	return 0
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "withoutuserns: %v\n", err)
	os.Exit(70)
}
