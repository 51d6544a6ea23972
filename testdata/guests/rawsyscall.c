/*
 * rawsyscall: tries to escape the sandbox by issuing one Linux x86-64
 * system call directly with the `syscall` instruction, bypassing the vDSO.
 * A correct sandbox kills the process before the call returns. If control
 * comes back, the program writes "ESCAPED <name> <result>\n" to `out` and
 * exits 0.
 *
 * Argdata: a map {syscall: NAME, out: !fd N}. NAME is one of
 *   open      open("/etc/passwd", O_RDONLY)
 *   openat    openat(AT_FDCWD, "/etc/passwd", O_RDONLY)
 *   mkdir     mkdir("/tmp/cloudabi-escape-test", 0700)
 *   socket    socket(AF_INET, SOCK_STREAM, 0)
 *   execve    execve("/nonexistent/cloudabi-escape-test", argv, envp)
 *   ptrace    ptrace(PTRACE_TRACEME, 0, 0, 0)
 *   kill      kill(0, 0)            (signal 0: existence check only)
 *   getpid    getpid()
 *   uname     uname(buf)
 *   write     write(1, "ESCAPED-WRITE\n", 14)   (straight to host fd 1)
 *   fork      fork()                (a child exits at once)
 *   chdir     chdir("/")
 *   unshare   unshare(0)
 * All arguments are harmless even where the call is allowed.
 * Exit status: 0 after an escape, 2 on bad argdata, 3 for an unknown NAME.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <program.h>

static long linux_syscall(long nr, long a1, long a2, long a3, long a4) {
  register long r10 __asm__("r10") = a4;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}

static char uname_buf[512];
static const char *const exec_argv[] = {"/nonexistent/cloudabi-escape-test",
                                        NULL};
static const char *const exec_envp[] = {NULL};

void program_main(const argdata_t *ad) {
  argdata_t value;
  const char *name;
  int out;
  if (sdk_argdata_map_lookup(ad, "syscall", &value) != 0 ||
      argdata_get_str_c(&value, &name) != 0 ||
      sdk_argdata_map_lookup(ad, "out", &value) != 0 ||
      argdata_get_fd(&value, &out) != 0)
    cloudabi_sys_proc_exit(2);

  long r;
  if (strcmp(name, "open") == 0) {
    r = linux_syscall(2, (long)"/etc/passwd", 0, 0, 0);
  } else if (strcmp(name, "openat") == 0) {
    r = linux_syscall(257, -100, (long)"/etc/passwd", 0, 0);
  } else if (strcmp(name, "mkdir") == 0) {
    r = linux_syscall(83, (long)"/tmp/cloudabi-escape-test", 0700, 0, 0);
  } else if (strcmp(name, "socket") == 0) {
    r = linux_syscall(41, 2, 1, 0, 0);
  } else if (strcmp(name, "execve") == 0) {
    r = linux_syscall(59, (long)exec_argv[0], (long)exec_argv, (long)exec_envp,
                      0);
  } else if (strcmp(name, "ptrace") == 0) {
    r = linux_syscall(101, 0, 0, 0, 0);
  } else if (strcmp(name, "kill") == 0) {
    r = linux_syscall(62, 0, 0, 0, 0);
  } else if (strcmp(name, "getpid") == 0) {
    r = linux_syscall(39, 0, 0, 0, 0);
  } else if (strcmp(name, "uname") == 0) {
    r = linux_syscall(63, (long)uname_buf, 0, 0, 0);
  } else if (strcmp(name, "write") == 0) {
    r = linux_syscall(1, 1, (long)"ESCAPED-WRITE\n", 14, 0);
  } else if (strcmp(name, "fork") == 0) {
    r = linux_syscall(57, 0, 0, 0, 0);
    if (r == 0)
      linux_syscall(231, 0, 0, 0, 0); /* child: exit_group(0) */
  } else if (strcmp(name, "chdir") == 0) {
    r = linux_syscall(80, (long)"/", 0, 0, 0);
  } else if (strcmp(name, "unshare") == 0) {
    r = linux_syscall(272, 0, 0, 0, 0);
  } else {
    sdk_puts((cloudabi_fd_t)out, "unknown syscall name\n");
    cloudabi_sys_proc_exit(3);
  }

  char num[24];
  sdk_fmt_i64(num, r);
  sdk_puts((cloudabi_fd_t)out, "ESCAPED ");
  sdk_puts((cloudabi_fd_t)out, name);
  sdk_puts((cloudabi_fd_t)out, " ");
  sdk_puts((cloudabi_fd_t)out, num);
  sdk_puts((cloudabi_fd_t)out, "\n");
  cloudabi_sys_proc_exit(0);
}
