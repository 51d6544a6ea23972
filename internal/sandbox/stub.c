// The sandbox stub: the first code that runs in a sandbox process.
//
// The supervisor starts a sandbox by re-executing its own binary with
// _CLOUDABI_SANDBOX in the environment. This constructor runs before the Go
// runtime is initialised, turns the process into an address space holding
// only guest memory and this binary's own pages, installs the seccomp filter,
// and jumps to the guest's entry point. It never returns to Go, so nothing of
// the Go runtime ever runs in a sandbox process.
//
// Everything the stub needs was prepared by the supervisor in the boot block
// at the start of guest memory (see boot.go for the layout).

#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <sched.h>
#include <unistd.h>

#include "boot.h"

// The user and group a root supervisor's sandboxes run as: nobody and
// nogroup on Debian and most other systems.
#define CLOUDABI_SANDBOX_ID 65534

// Exit statuses of a stub that fails before the guest starts. The
// supervisor turns them into an error; the guest never sees them.
#define STUB_EXIT_FAILED 125

static void stub_fail(const char *what) {
	// fd 2 is a pipe read by the supervisor until the stub closes it.
	char buf[256];
	size_t n = 0;
	const char *parts[] = {"sandbox: ", what, ": ", strerror(errno), "\n"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t l = strlen(parts[i]);
		if (n + l > sizeof(buf)) l = sizeof(buf) - n;
		memcpy(buf + n, parts[i], l);
		n += l;
	}
	(void)!write(2, buf, n);
	_exit(STUB_EXIT_FAILED);
}

// After fd 2 is closed, failures are reported through the boot block.
static void stub_fail_boot(volatile struct cloudabi_boot *b, uint32_t step) {
	b->error = (uint32_t)errno;
	b->failed_step = step;
	__atomic_store_n(&b->status, CLOUDABI_BOOT_FAILED, __ATOMIC_RELEASE);
	syscall(SYS_futex, &b->status, FUTEX_WAKE, 1, NULL, NULL, 0);
	_exit(STUB_EXIT_FAILED);
}

// Isolation levels, as isolation.go numbers them.
#define ISOLATION_USER_NAMESPACES 0
#define ISOLATION_ROOT_NAMESPACES 1
#define ISOLATION_NO_NAMESPACES 2

// Drops every capability for good: the bounding and ambient sets (so no
// later execve could regain any, though the filter forbids execve too),
// then the permitted, effective and inheritable sets.
static void drop_capabilities(void) {
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) stub_fail("dropping capabilities");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) stub_fail("dropping capabilities");
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) != 0) stub_fail("capset");
}

// Landlock's interface, from the kernel's documentation: the ruleset
// attribute grew with each ABI version, and so did the sets of rights a
// ruleset can handle. Defined here because the C library's headers may
// predate the versions the host kernel has.
struct stub_landlock_ruleset_attr {
	uint64_t handled_access_fs;  // ABI 1
	uint64_t handled_access_net; // ABI 4
	uint64_t scoped;             // ABI 6
};
#define STUB_LANDLOCK_CREATE_RULESET_VERSION (1U << 0)

// Denies the process every access Landlock can govern, by restricting it
// to a ruleset that handles them all and allows none: every file system
// operation, TCP bind and connect, abstract unix sockets and signals to
// processes outside the sandbox. The seccomp filter already forbids the
// system calls that would need them; Landlock is the second lock on the
// same door. Returns the host's Landlock ABI version (0: none), or -1 on
// failure with errno set.
static int restrict_with_landlock(void) {
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, STUB_LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		// Not built into the kernel, or disabled at boot.
		if (errno == ENOSYS || errno == EOPNOTSUPP) return 0;
		return -1;
	}
	struct stub_landlock_ruleset_attr attr = {0};
	size_t size = sizeof(attr.handled_access_fs);
	attr.handled_access_fs = (1ULL << 13) - 1; // EXECUTE .. MAKE_SYM
	if (abi >= 2) attr.handled_access_fs |= 1ULL << 13; // REFER
	if (abi >= 3) attr.handled_access_fs |= 1ULL << 14; // TRUNCATE
	if (abi >= 5) attr.handled_access_fs |= 1ULL << 15; // IOCTL_DEV
	if (abi >= 4) {
		attr.handled_access_net = (1ULL << 0) | (1ULL << 1); // BIND_TCP, CONNECT_TCP
		size = offsetof(struct stub_landlock_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = (1ULL << 0) | (1ULL << 1); // ABSTRACT_UNIX_SOCKET, SIGNAL
		size = sizeof(attr);
	}
	long fd = syscall(__NR_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0) return -1;
	long r = syscall(__NR_landlock_restrict_self, fd, 0);
	int saved = errno;
	close((int)fd);
	errno = saved;
	return r == 0 ? (int)abi : -1;
}

// The filter of the init process: the calls run_init makes, nothing else.
static int install_init_filter(void) {
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e /* AUDIT_ARCH_X86_64 */, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_waitid, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

// run_init is the first process of the sandbox's pid namespace, whose
// child, the sandbox process, runs the guest. The first process of a pid
// namespace ignores every signal it has no handler for (but SIGKILL and
// SIGSTOP from outside), which would break the default actions CloudABI
// signals need; its child has no such exemption. The init process holds
// nothing, may make four system calls, and reports how its child ended
// in the boot block, where the supervisor reads it.
//
// It does not reap the child before the supervisor holds a pidfd of it
// (attached): until then the child's pid stays taken, so the pid the
// supervisor found cannot name another process.
static void run_init(volatile struct cloudabi_boot *b, pid_t child) {
	if (syscall(SYS_close_range, 0, ~0U, 0) != 0) _exit(STUB_EXIT_FAILED);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(STUB_EXIT_FAILED);
	if (restrict_with_landlock() < 0) _exit(STUB_EXIT_FAILED);
	if (install_init_filter() != 0) _exit(STUB_EXIT_FAILED);
	// The child reports READY only after this, so that no moment of a
	// running guest has an unconfined process in its namespace.
	__atomic_store_n(&b->init_ready, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &b->init_ready, FUTEX_WAKE, 1, NULL, NULL, 0);
	siginfo_t si;
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (syscall(SYS_waitid, P_PID, child, &si, WEXITED | WNOWAIT, NULL) == 0) break;
		if (errno != EINTR) _exit(STUB_EXIT_FAILED);
	}
	// As the wait status waitpid would give.
	uint32_t status = si.si_code == CLD_EXITED ? ((uint32_t)si.si_status & 0xff) << 8
	                                           : ((uint32_t)si.si_status & 0x7f) | (si.si_code == CLD_DUMPED ? 0x80 : 0);
	b->wait_status = status;
	__atomic_store_n(&b->exited, 1, __ATOMIC_RELEASE);
	// A child that ended before it was ready is never attached.
	while (__atomic_load_n(&b->status, __ATOMIC_ACQUIRE) == CLOUDABI_BOOT_READY &&
	       __atomic_load_n(&b->attached, __ATOMIC_ACQUIRE) == 0) {
		syscall(SYS_futex, &b->attached, FUTEX_WAIT, 0, NULL, NULL, 0);
	}
	_exit(0);
}

void cloudabi_sandbox_stub(void) {
	const char *env = getenv("_CLOUDABI_SANDBOX");
	if (env == NULL) return;
	// The supervisor's probe of what the host allows: starting was all.
	if (strcmp(env, "probe") == 0) _exit(0);

	char *end;
	errno = 0;
	uint64_t base = strtoull(env, &end, 16);
	if (*end != ',') { errno = EINVAL; stub_fail("bad _CLOUDABI_SANDBOX"); }
	uint64_t size = strtoull(end + 1, &end, 16);
	if (*end != ',') { errno = EINVAL; stub_fail("bad _CLOUDABI_SANDBOX"); }
	pid_t parent = (pid_t)strtol(end + 1, &end, 10);
	if (*end != ',') { errno = EINVAL; stub_fail("bad _CLOUDABI_SANDBOX"); }
	long level = strtol(end + 1, &end, 10);
	if (*end != '\0' || level < ISOLATION_USER_NAMESPACES || level > ISOLATION_NO_NAMESPACES) {
		errno = EINVAL;
		stub_fail("bad _CLOUDABI_SANDBOX");
	}

	// Defence in depth (see isolation.go): where the host allows, the
	// supervisor started this process in user, pid, mount, network, IPC
	// and host-name namespaces of its own, as root of the user namespace,
	// which gives it every capability there and none outside. Nothing
	// from here on needs one, so they all go. A root supervisor without
	// user namespaces created the other namespaces; the process leaves
	// root for nobody here. Either way, even a way around the seccomp
	// filter would find no network, no shared IPC objects and no
	// privileges.
	if (level == ISOLATION_USER_NAMESPACES) {
		drop_capabilities();
	} else if (level == ISOLATION_ROOT_NAMESPACES) {
		gid_t nogroup = CLOUDABI_SANDBOX_ID;
		if (setgroups(0, NULL) != 0) stub_fail("setgroups");
		if (setresgid(nogroup, nogroup, nogroup) != 0) stub_fail("setresgid");
		if (setresuid(CLOUDABI_SANDBOX_ID, CLOUDABI_SANDBOX_ID, CLOUDABI_SANDBOX_ID) != 0) stub_fail("setresuid");
	}

	// Die with the supervisor (after the change of user, which clears the
	// setting). The check after prctl closes the race with a supervisor
	// that died before it.
	// In a pid namespace of its own the process cannot see its parent
	// (getppid returns 0), so it asks the diagnostics pipe instead: with
	// the supervisor, its only reader, gone, a write fails (or SIGPIPE
	// ends the process). The supervisor ignores the blank line.
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) stub_fail("PR_SET_PDEATHSIG");
	pid_t ppid = getppid();
	if (ppid == 0 ? write(2, "\n", 1) != 1 : ppid != parent) _exit(STUB_EXIT_FAILED);

	// Signals the guest raises get their default action, as on a fresh
	// CloudABI process: nothing the supervisor ignored or blocked leaks
	// in. No core files are written for guest crashes.
	for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore);

	// Guest memory: the memfd inherited as fd 3, over the whole region,
	// inaccessible until the protection table says otherwise.
	void *p = mmap((void *)base, size, PROT_NONE, MAP_SHARED | MAP_FIXED_NOREPLACE, 3, 0);
	if (p == MAP_FAILED) stub_fail("mapping guest memory");
	if ((uint64_t)p != base) { errno = EEXIST; stub_fail("mapping guest memory"); }
	if (mprotect(p, CLOUDABI_BOOT_SIZE, PROT_READ | PROT_WRITE) != 0) stub_fail("mprotect boot block");

	volatile struct cloudabi_boot *b = p;
	if (b->magic != CLOUDABI_BOOT_MAGIC) { errno = EINVAL; stub_fail("boot block"); }

	// The first process of a pid namespace becomes its init (see
	// run_init); the sandbox is its child, which dies with it.
	int in_pid_namespace = getpid() == 1;
	if (in_pid_namespace) {
		pid_t child = fork();
		if (child < 0) stub_fail("fork");
		if (child > 0) run_init(b, child);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) stub_fail("PR_SET_PDEATHSIG");
		if (getppid() != 1) _exit(STUB_EXIT_FAILED);
	}
	uint64_t entry = b->entry, sp = b->sp, auxv = b->auxv, fsbase = b->fsbase;
	uint64_t nprot = b->nprot, nfilter = b->nfilter;
	uint64_t max_tasks = b->max_tasks, cpu_seconds = b->cpu_seconds;
	if (nprot > CLOUDABI_BOOT_MAX_PROT || nfilter == 0 || nfilter > CLOUDABI_BOOT_MAX_FILTER) {
		errno = EINVAL;
		stub_fail("boot block");
	}
	for (uint64_t i = 0; i < nprot; i++) {
		uint64_t addr = b->prot[i].addr, len = b->prot[i].len;
		if (addr < base + CLOUDABI_BOOT_SIZE || len > size || addr - base > size - len) {
			errno = ERANGE;
			stub_fail("boot protection table");
		}
		if (mprotect((void *)addr, len, (int)b->prot[i].prot) != 0) stub_fail("mprotect");
	}
	struct sock_filter filter[CLOUDABI_BOOT_MAX_FILTER];
	for (uint64_t i = 0; i < nfilter; i++) {
		filter[i].code = b->filter[i].code;
		filter[i].jt = b->filter[i].jt;
		filter[i].jf = b->filter[i].jf;
		filter[i].k = b->filter[i].k;
	}
	struct sock_fprog prog = {.len = (unsigned short)nfilter, .filter = filter};

	// No file descriptors survive: not the memfd (its mapping stays), not
	// the diagnostics pipe, not anything inherited by accident.
	if (syscall(SYS_close_range, 0, ~0U, 0) != 0) stub_fail("close_range");

	// Resource limits the host kernel enforces whatever the guest does.
	// RLIMIT_NPROC counts the tasks of a user in one user namespace, so
	// in a namespace of its own it bounds this process's threads, even
	// ones started with a raw clone. RLIMIT_CPU sends SIGXCPU at the soft
	// limit, and SIGKILL a second later if that did not end the process.
	if (max_tasks != 0) {
		struct rlimit r = {max_tasks, max_tasks};
		if (setrlimit(RLIMIT_NPROC, &r) != 0) stub_fail_boot(b, 4);
	}
	if (cpu_seconds != 0) {
		struct rlimit r = {cpu_seconds, cpu_seconds + 1};
		if (setrlimit(RLIMIT_CPU, &r) != 0) stub_fail_boot(b, 5);
	}

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) stub_fail_boot(b, 1);
	int landlock = restrict_with_landlock();
	if (landlock < 0) stub_fail_boot(b, 3);
	b->landlock_abi = (uint32_t)landlock;
	// The listener fd is the lowest free number, 0; the supervisor takes
	// its own copy with pidfd_getfd once the status is READY.
	//
	// A thread waiting for a file it fetches (offer.go) must not be
	// interrupted by a stop (proc_fork stops the process for its copy of
	// memory) once the supervisor has taken the request: the restarted
	// call would name a file already handed out. WAIT_KILLABLE_RECV
	// (Linux 5.19) makes that wait killable only; older kernels lack it.
	long nfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	                   SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
	if (nfd < 0 && errno == EINVAL)
		nfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (nfd < 0) stub_fail_boot(b, 2);

	// From here on only the allowlist works: futex, mprotect and
	// arch_prctl(ARCH_SET_FS) are all that is left to do.
	if (in_pid_namespace) {
		while (__atomic_load_n(&b->init_ready, __ATOMIC_ACQUIRE) == 0)
			syscall(SYS_futex, &b->init_ready, FUTEX_WAIT, 0, NULL, NULL, 0);
	}
	b->notify_fd = (uint32_t)nfd;
	__atomic_store_n(&b->status, CLOUDABI_BOOT_READY, __ATOMIC_RELEASE);
	syscall(SYS_futex, &b->status, FUTEX_WAKE, 1, NULL, NULL, 0);
	syscall(SYS_mprotect, (void *)base, CLOUDABI_BOOT_SIZE, PROT_NONE);

	// Set the FS base to the guest thread area and enter the guest with
	// the auxv pointer as first argument. After arch_prctl, the C library
	// (whose TLS lives at the old FS base) must not be touched again.
	register uint64_t r_sp __asm__("r12") = sp;
	register uint64_t r_auxv __asm__("r13") = auxv;
	register uint64_t r_entry __asm__("r14") = entry;
	register uint64_t r_fs __asm__("rsi") = fsbase;
	__asm__ volatile(
		"mov $0x1002, %%edi\n\t" // ARCH_SET_FS
		"mov $158, %%eax\n\t"    // SYS_arch_prctl
		"syscall\n\t"
		"mov %%r12, %%rsp\n\t"
		"mov %%r13, %%rdi\n\t"
		"xor %%eax, %%eax\n\t"
		"xor %%ebx, %%ebx\n\t"
		"xor %%ecx, %%ecx\n\t"
		"xor %%edx, %%edx\n\t"
		"xor %%esi, %%esi\n\t"
		"xor %%ebp, %%ebp\n\t"
		"xor %%r8d, %%r8d\n\t"
		"xor %%r9d, %%r9d\n\t"
		"xor %%r10d, %%r10d\n\t"
		"xor %%r11d, %%r11d\n\t"
		"xor %%r12d, %%r12d\n\t"
		"xor %%r13d, %%r13d\n\t"
		"xor %%r15d, %%r15d\n\t"
		"jmp *%%r14\n\t"
		:
		: "r"(r_sp), "r"(r_auxv), "r"(r_entry), "r"(r_fs)
		: "memory");
	__builtin_unreachable();
}
