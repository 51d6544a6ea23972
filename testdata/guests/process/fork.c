/*
 * fork: proc_fork and process descriptors. Prints "ok <check>" or
 * "FAIL <check> (got N, want M)" per check to `out`.
 *
 * Argdata: a map {out: !fd N, max: M} where M is the most processes the
 * program may have at once (the launcher's limit).
 * Exit status: the number of failed checks, 125 on bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "../check.h"
#include "../process.h"

static volatile int shared_value = 1;

void program_main(const argdata_t *ad) {
  argdata_t value;
  int o;
  uint64_t max;
  if (sdk_argdata_map_lookup(ad, "out", &value) != 0 || argdata_get_fd(&value, &o) != 0 ||
      sdk_argdata_map_lookup(ad, "max", &value) != 0 || argdata_get_int(&value, &max) != 0)
    cloudabi_sys_proc_exit(125);
  out = (cloudabi_fd_t)o;

  /* 1. The child sees a copy of memory; its writes stay its own. */
  cloudabi_fd_t child;
  cloudabi_tid_t tid;
  cloudabi_tid_t parent_tid = sdk_tid;
  /* Both processes return from proc_fork: only the parent reports. */
  cloudabi_errno_t err = cloudabi_sys_proc_fork(&child, &tid);
  if (err == 0 && child == CLOUDABI_PROCESS_CHILD) {
    /* A new thread id, which the SDK took over. */
    int ok = shared_value == 1 && tid != parent_tid && tid == sdk_tid && tid >= 2 && tid < (1u << 30);
    shared_value = 2;
    cloudabi_sys_proc_exit(ok ? 7 : 8);
  }
  expect_u64("fork", err, 0);
  expect_u64("tid_differs", tid != parent_tid, 1);
  expect_u64("parent_tid_kept", sdk_tid, parent_tid);
  cloudabi_fdstat_t st;
  expect_u64("fd_stat_get", cloudabi_sys_fd_stat_get(child, &st), 0);
  expect_u64("filetype_process", st.fs_filetype, CLOUDABI_FILETYPE_PROCESS);
  cloudabi_event_t ev = wait_process(child);
  expect_u64("wait_error", ev.error, 0);
  expect_u64("wait_userdata", ev.userdata, 77);
  expect_u64("wait_type", ev.type, CLOUDABI_EVENTTYPE_PROC_TERMINATE);
  expect_u64("exit_code", ev.proc_terminate.exitcode, 7);
  expect_u64("exit_signal", ev.proc_terminate.signal, 0);
  expect_u64("parent_memory_unchanged", shared_value, 1);
  ev = wait_process(child);
  expect_u64("wait_again", ev.proc_terminate.exitcode, 7);
  expect_u64("close", cloudabi_sys_fd_close(child), 0);

  /* 2. A child ended by a signal reports the signal. */
  err = cloudabi_sys_proc_fork(&child, &tid);
  if (err == 0 && child == CLOUDABI_PROCESS_CHILD) {
    cloudabi_sys_proc_raise(CLOUDABI_SIGUSR1);
    cloudabi_sys_proc_exit(99);
  }
  expect_u64("fork_signal", err, 0);
  ev = wait_process(child);
  expect_u64("signal", ev.proc_terminate.signal, CLOUDABI_SIGUSR1);
  expect_u64("signal_exitcode", ev.proc_terminate.exitcode, 0);
  cloudabi_sys_fd_close(child);

  /* 3. Closing the descriptor of a running child ends it: the child holds
     one end of a socket pair, whose other end then reads end-of-file. */
  cloudabi_fd_t a, b;
  expect_u64("socketpair", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &a, &b), 0);
  err = cloudabi_sys_proc_fork(&child, &tid);
  if (err == 0 && child == CLOUDABI_PROCESS_CHILD) {
    cloudabi_sys_fd_close(a);
    sleep_ms(20000);
    cloudabi_sys_proc_exit(0);
  }
  expect_u64("fork_close", err, 0);
  cloudabi_sys_fd_close(b);
  expect_u64("close_running", cloudabi_sys_fd_close(child), 0);
  char c;
  cloudabi_iovec_t iov = {.buf = &c, .buf_len = 1};
  size_t nread = 99;
  expect_u64("child_gone", cloudabi_sys_fd_read(a, &iov, 1, &nread), 0);
  expect_u64("eof", nread, 0);

  /* 4. The process limit: fork until EAGAIN. */
  cloudabi_fd_t kids[256];
  unsigned int nkids = 0;
  err = 0;
  while (nkids < 256) {
    err = cloudabi_sys_proc_fork(&kids[nkids], &tid);
    if (err != 0)
      break;
    if (kids[nkids] == CLOUDABI_PROCESS_CHILD) {
      sleep_ms(20000);
      cloudabi_sys_proc_exit(0);
    }
    nkids++;
  }
  expect_u64("limit_errno", err, CLOUDABI_EAGAIN);
  expect_u64("limit_count", nkids, max - 1);
  for (unsigned int i = 0; i < nkids; i++)
    cloudabi_sys_fd_close(kids[i]);

  /* 5. The parent's other fds work in the child. The children ended in 4
     leave the count once they are reaped: retry for a while. */
  for (int i = 0; i < 200; i++) {
    err = cloudabi_sys_proc_fork(&child, &tid);
    if (err != CLOUDABI_EAGAIN)
      break;
    sleep_ms(10);
  }
  if (err == 0 && child == CLOUDABI_PROCESS_CHILD) {
    sdk_puts(out, "ok child_writes_inherited_fd\n");
    cloudabi_sys_proc_exit(0);
  }
  /* Wait before writing: the child writes to the same file. */
  ev = wait_process(child);
  expect_u64("fork_fds", err, 0);
  expect_u64("child_exit", ev.proc_terminate.exitcode, 0);

  cloudabi_sys_proc_exit(failures);
}
