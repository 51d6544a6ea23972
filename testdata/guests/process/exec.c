/*
 * exec: proc_exec. Prints "ok <check>" or "FAIL <check> (got N, want M)"
 * per check to `out`.
 *
 * Argdata: a map {mode: "start", self: !executable, out: !fd N, text: !fd M}
 * where `text` is a regular file that is not an executable. The program
 * checks proc_exec's errors, then has a forked child replace itself with
 * {mode: "child"} (which exits 9), then replaces itself with {mode:
 * "after", out: fd 0}, keeping only `out`, as fd 0. The new image checks
 * its descriptors and exits 5 + its number of failures.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "../check.h"

/* {mode: "after", out: !fd 0} */
static const unsigned char after_argdata[] = {
    0x06, 0x86, 0x08, 'm', 'o', 'd', 'e', 0x00, 0x87, 0x08, 'a', 'f', 't', 'e', 'r', 0x00,
    0x85, 0x08, 'o', 'u', 't', 0x00, 0x85, 0x03, 0x00, 0x00, 0x00, 0x00};
/* {mode: "child"} */
static const unsigned char child_argdata[] = {
    0x06, 0x86, 0x08, 'm', 'o', 'd', 'e', 0x00, 0x87, 0x08, 'c', 'h', 'i', 'l', 'd', 0x00};

void program_main(const argdata_t *ad) {
  argdata_t value;
  const char *mode;
  size_t modelen;
  if (sdk_argdata_map_lookup(ad, "mode", &value) != 0 || argdata_get_str(&value, &mode, &modelen) != 0)
    cloudabi_sys_proc_exit(125);
  if (modelen == 5 && memcmp(mode, "child", 5) == 0)
    cloudabi_sys_proc_exit(9);
  int o;
  if (sdk_argdata_map_lookup(ad, "out", &value) != 0 || argdata_get_fd(&value, &o) != 0)
    cloudabi_sys_proc_exit(125);
  out = (cloudabi_fd_t)o;

  if (modelen == 5 && memcmp(mode, "after", 5) == 0) {
    cloudabi_fdstat_t st;
    expect_u64("after_exec", 0, 0);
    expect_u64("out_is_fd0", out, 0);
    expect_u64("fd1_closed", cloudabi_sys_fd_stat_get(1, &st), CLOUDABI_EBADF);
    expect_u64("fd2_closed", cloudabi_sys_fd_stat_get(2, &st), CLOUDABI_EBADF);
    expect_u64("out_stat", cloudabi_sys_fd_stat_get(0, &st), 0);
    expect_u64("out_writable", (st.fs_rights_base & CLOUDABI_RIGHT_FD_WRITE) != 0, 1);
    cloudabi_sys_proc_exit(5 + failures);
  }

  int self, text;
  if (sdk_argdata_map_lookup(ad, "self", &value) != 0 || argdata_get_fd(&value, &self) != 0 ||
      sdk_argdata_map_lookup(ad, "text", &value) != 0 || argdata_get_fd(&value, &text) != 0)
    cloudabi_sys_proc_exit(125);
  cloudabi_fd_t keep[1] = {out};

  /* Errors leave the caller running. */
  cloudabi_fd_t d;
  cloudabi_fdstat_t st;
  expect_u64("dup", cloudabi_sys_fd_dup((cloudabi_fd_t)self, &d), 0);
  expect_u64("stat", cloudabi_sys_fd_stat_get(d, &st), 0);
  st.fs_rights_base &= ~CLOUDABI_RIGHT_PROC_EXEC;
  expect_u64("drop_right", cloudabi_sys_fd_stat_put(d, &st, CLOUDABI_FDSTAT_RIGHTS), 0);
  expect_u64("exec_without_right", cloudabi_sys_proc_exec(d, after_argdata, sizeof(after_argdata), keep, 1), CLOUDABI_ENOTCAPABLE);
  expect_u64("exec_not_executable", cloudabi_sys_proc_exec((cloudabi_fd_t)text, after_argdata, sizeof(after_argdata), keep, 1), CLOUDABI_ENOEXEC);
  expect_u64("exec_bad_fd", cloudabi_sys_proc_exec(4242, after_argdata, sizeof(after_argdata), keep, 1), CLOUDABI_EBADF);
  cloudabi_fd_t badkeep[1] = {777};
  expect_u64("exec_bad_kept_fd", cloudabi_sys_proc_exec((cloudabi_fd_t)self, after_argdata, sizeof(after_argdata), badkeep, 1), CLOUDABI_EBADF);
  expect_u64("exec_wild_argdata", cloudabi_sys_proc_exec((cloudabi_fd_t)self, (const void *)16, 8, keep, 1), CLOUDABI_EFAULT);

  /* A child replaces itself; its parent sees the new image's exit. */
  cloudabi_fd_t child;
  cloudabi_tid_t tid;
  cloudabi_errno_t err = cloudabi_sys_proc_fork(&child, &tid);
  if (err == 0 && child == CLOUDABI_PROCESS_CHILD) {
    cloudabi_sys_proc_exec((cloudabi_fd_t)self, child_argdata, sizeof(child_argdata), NULL, 0);
    cloudabi_sys_proc_exit(77); /* exec failed */
  }
  expect_u64("fork", err, 0);
  cloudabi_subscription_t sub = {.type = CLOUDABI_EVENTTYPE_PROC_TERMINATE, .proc_terminate = {.fd = child}};
  cloudabi_event_t ev;
  size_t n;
  expect_u64("wait", cloudabi_sys_poll(&sub, &ev, 1, &n), 0);
  expect_u64("child_exec_exit", ev.proc_terminate.exitcode, 9);

  if (failures != 0)
    cloudabi_sys_proc_exit(100 + failures);
  cloudabi_sys_proc_exec((cloudabi_fd_t)self, after_argdata, sizeof(after_argdata), keep, 1);
  expect_u64("exec_returned", 1, 0);
  cloudabi_sys_proc_exit(126);
}
