/*
 * memshared: mem_map of files with MAP_SHARED, mem_sync, and what the
 * supervisor's own accesses see of such mappings.
 *
 * Argdata: {dir, out} as for every conformance guest, and `ro`: a regular
 * file of 4096 bytes that the host opened read-only and granted with every
 * right of a file (FD_WRITE included).
 */
#include "conformance.h"
#include "../process.h"

#include <cloudabi_threads.h>

#define RW (CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE)
#define PAGE 4096

static cloudabi_errno_t map_shared(void *addr, size_t len, cloudabi_mprot_t prot, cloudabi_fd_t fd, cloudabi_filesize_t off,
                                   void **m) {
  return cloudabi_sys_mem_map(addr, len, prot, CLOUDABI_MAP_SHARED | (addr ? CLOUDABI_MAP_FIXED : 0), fd, off, m);
}

static char pread_byte(cloudabi_fd_t fd, cloudabi_filesize_t off) {
  char b = 0;
  size_t n = 0;
  cloudabi_iovec_t iov = {.buf = &b, .buf_len = 1};
  if (cloudabi_sys_fd_pread(fd, &iov, 1, off, &n) != 0 || n != 1)
    return -1;
  return b;
}

static cloudabi_errno_t pwrite_str(cloudabi_fd_t fd, const char *s, cloudabi_filesize_t off) {
  size_t n;
  cloudabi_ciovec_t iov = {.buf = s, .buf_len = strlen(s)};
  return cloudabi_sys_fd_pwrite(fd, &iov, 1, off, &n);
}

/* Threads that map files at the same time must each get their own file:
   the file a thread maps travels separately from the reply. */
struct mapper {
  cloudabi_fd_t fd;
  char want;
  unsigned wrong, errors;
};

static void mapper_run(void *arg) {
  struct mapper *m = arg;
  for (int i = 0; i < 300; i++) {
    char *p;
    if (cloudabi_sys_mem_map(NULL, PAGE, CLOUDABI_PROT_READ, CLOUDABI_MAP_SHARED, m->fd, 0, (void **)&p) != 0) {
      m->errors++;
      continue;
    }
    if (p[0] != m->want)
      m->wrong++;
    if (cloudabi_sys_mem_unmap(p, PAGE) != 0)
      m->errors++;
  }
}

void program_main(const argdata_t *ad) {
  cloudabi_fd_t dir = start(ad);
  cloudabi_fd_t ro = optional_fd(ad, "ro");

  /* A file of two pages, open for reading and writing. */
  static char data[2 * PAGE + 1];
  for (int i = 0; i < 2 * PAGE; i++)
    data[i] = 'a' + i % 26;
  expect("create", create_file(dir, P("shared"), data), 0);
  cloudabi_fd_t f;
  expect("open", open_file(nofollow(dir), P("shared"), 0, FILE_RIGHTS, 0, 0, &f), 0);

  char *p;
  expect("map_shared_rw", map_shared(NULL, 2 * PAGE, RW, f, 0, (void **)&p), 0);
  expect_true("contents", p[0] == 'a' && p[PAGE + 1] == 'a' + (PAGE + 1) % 26);

  /* Two threads, two files, mapped concurrently. */
  static char zs[PAGE + 1];
  memset(zs, 'z', PAGE);
  expect("create_other", create_file(dir, P("other"), zs), 0);
  cloudabi_fd_t other;
  expect("open_other", open_file(nofollow(dir), P("other"), 0, FILE_RIGHTS, 0, 0, &other), 0);
  struct mapper ma = {.fd = f, .want = 'a'}, mb = {.fd = other, .want = 'z'}, mc = {.fd = other, .want = 'z'};
  sdk_thread_t ta, tb;
  expect("thread_a", sdk_thread_create(&ta, mapper_run, &ma), 0);
  expect("thread_b", sdk_thread_create(&tb, mapper_run, &mb), 0);
  mapper_run(&mc);
  expect("join_a", sdk_thread_join(ta), 0);
  expect("join_b", sdk_thread_join(tb), 0);
  expect("concurrent_map_errors", ma.errors + mb.errors + mc.errors, 0);
  expect("concurrent_map_wrong_file", ma.wrong + mb.wrong + mc.wrong, 0);

  /* Writes through the mapping are the file's, and the file's are the
     mapping's. */
  p[10] = 'X';
  expect_true("write_seen_by_pread", pread_byte(f, 10) == 'X');
  expect("pwrite", pwrite_str(f, "YZ", 100), 0);
  expect_true("pwrite_seen_in_mapping", p[100] == 'Y' && p[101] == 'Z');

  /* mem_sync: exactly one of MS_ASYNC and MS_SYNC; MS_INVALIDATE only
     with MS_SYNC. */
  expect("sync", cloudabi_sys_mem_sync(p, 2 * PAGE, CLOUDABI_MS_SYNC), 0);
  expect("sync_async", cloudabi_sys_mem_sync(p, PAGE, CLOUDABI_MS_ASYNC), 0);
  expect("sync_invalidate", cloudabi_sys_mem_sync(p + PAGE, PAGE, CLOUDABI_MS_SYNC | CLOUDABI_MS_INVALIDATE), 0);
  expect("sync_async_invalidate", cloudabi_sys_mem_sync(p, PAGE, CLOUDABI_MS_ASYNC | CLOUDABI_MS_INVALIDATE),
         CLOUDABI_EINVAL);
  expect("sync_none", cloudabi_sys_mem_sync(p, PAGE, 0), CLOUDABI_EINVAL);
  expect("sync_invalidate_alone", cloudabi_sys_mem_sync(p, PAGE, CLOUDABI_MS_INVALIDATE), CLOUDABI_EINVAL);
  expect("sync_both", cloudabi_sys_mem_sync(p, PAGE, CLOUDABI_MS_ASYNC | CLOUDABI_MS_SYNC), CLOUDABI_EINVAL);
  expect("sync_unknown_flag", cloudabi_sys_mem_sync(p, PAGE, CLOUDABI_MS_SYNC | 0x80), CLOUDABI_EINVAL);
  expect("sync_unaligned", cloudabi_sys_mem_sync(p + 1, PAGE, CLOUDABI_MS_SYNC), CLOUDABI_EINVAL);
  expect("sync_zero_length", cloudabi_sys_mem_sync(p, 0, CLOUDABI_MS_SYNC), CLOUDABI_EINVAL);
  expect("sync_past_mapping", cloudabi_sys_mem_sync(p, 3 * PAGE, CLOUDABI_MS_SYNC), CLOUDABI_ENOMEM);

  /* The supervisor reads and writes guest buffers in the mapping as the
     file: fd_write from it, fd_pread into it. */
  expect("pwrite_second_page", pwrite_str(f, "HELLO", PAGE), 0);
  cloudabi_fd_t copy;
  expect("open_copy", open_file(nofollow(dir), P("copy"), CLOUDABI_O_CREAT, FILE_RIGHTS, 0, 0, &copy), 0);
  size_t n = 0;
  cloudabi_ciovec_t civ = {.buf = p + PAGE, .buf_len = 5};
  expect("fd_write_from_mapping", cloudabi_sys_fd_write(copy, &civ, 1, &n), 0);
  expect_true("fd_write_wrote_the_file", n == 5 && pread_byte(copy, 0) == 'H' && pread_byte(copy, 4) == 'O');
  cloudabi_iovec_t iv = {.buf = p + 200, .buf_len = 5};
  expect("fd_pread_into_mapping", cloudabi_sys_fd_pread(copy, &iv, 1, 0, &n), 0);
  expect_true("fd_pread_reached_the_file", pread_byte(f, 200) == 'H' && pread_byte(f, 204) == 'O');

  /* A second mapping of the same file shares the pages. */
  char *q;
  expect("map_shared_read", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, f, 0, (void **)&q), 0);
  p[11] = 'Q';
  expect_true("second_mapping_shares", q[10] == 'X' && q[11] == 'Q');
  expect("protect_writable", cloudabi_sys_mem_protect(q, PAGE, RW), 0);
  q[12] = 'W';
  expect_true("second_mapping_writes", p[12] == 'W' && pread_byte(f, 12) == 'W');
  expect("map_shared_offset", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, f, PAGE, (void **)&q), 0);
  expect_true("offset_contents", q[0] == 'H');
  expect("map_unaligned_offset", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, f, 100, (void **)&q), CLOUDABI_EINVAL);
  expect("map_huge_offset", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, f, (cloudabi_filesize_t)1 << 63, (void **)&q),
         CLOUDABI_EINVAL);
  expect("map_exec_and_write", map_shared(NULL, PAGE, RW | CLOUDABI_PROT_EXEC, f, 0, (void **)&q), CLOUDABI_ENOTSUP);

  /* Rights: MEM_MAP always, FD_WRITE for a writable shared mapping; a
     mapping of a descriptor without FD_WRITE can never become writable. */
  cloudabi_fd_t nowrite = without(f, CLOUDABI_RIGHT_FD_WRITE, 0);
  expect("map_rw_without_fd_write", map_shared(NULL, PAGE, RW, nowrite, 0, (void **)&q), CLOUDABI_ENOTCAPABLE);
  expect("map_read_without_fd_write", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, nowrite, 0, (void **)&q), 0);
  expect_true("read_only_mapping_reads", q[10] == 'X');
  expect("protect_without_fd_write", cloudabi_sys_mem_protect(q, PAGE, RW), CLOUDABI_EACCES);
  expect("private_rw_without_fd_write",
         cloudabi_sys_mem_map(NULL, PAGE, RW, CLOUDABI_MAP_PRIVATE, nowrite, 0, (void **)&q), 0);
  cloudabi_fd_t nomap = without(f, CLOUDABI_RIGHT_MEM_MAP, 0);
  expect("map_without_mem_map", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, nomap, 0, (void **)&q), CLOUDABI_ENOTCAPABLE);
  cloudabi_fd_t noread = without(f, CLOUDABI_RIGHT_FD_READ, 0);
  expect("map_read_without_fd_read", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, noread, 0, (void **)&q),
         CLOUDABI_ENOTCAPABLE);
  /* Any file mapping needs FD_READ: a raw mprotect could make the pages
     readable, and they hold the file (or, private, a copy of it). */
  expect("map_none_without_fd_read", map_shared(NULL, PAGE, 0, noread, 0, (void **)&q),
         CLOUDABI_ENOTCAPABLE);
  expect("map_write_without_fd_read", map_shared(NULL, PAGE, CLOUDABI_PROT_WRITE, noread, 0, (void **)&q),
         CLOUDABI_ENOTCAPABLE);
  expect("private_none_without_fd_read",
         cloudabi_sys_mem_map(NULL, PAGE, 0, CLOUDABI_MAP_PRIVATE, noread, 0, (void **)&q),
         CLOUDABI_ENOTCAPABLE);
  expect("private_write_without_fd_read",
         cloudabi_sys_mem_map(NULL, PAGE, CLOUDABI_PROT_WRITE, CLOUDABI_MAP_PRIVATE, noread, 0, (void **)&q),
         CLOUDABI_ENOTCAPABLE);
  /* Without MEM_MAP_EXEC a mapping can never become executable, shared or
     private; with it, it can. */
  cloudabi_fd_t noexec = without(f, CLOUDABI_RIGHT_MEM_MAP_EXEC, 0);
  expect("map_exec_without_mem_map_exec",
         map_shared(NULL, PAGE, CLOUDABI_PROT_READ | CLOUDABI_PROT_EXEC, noexec, 0, (void **)&q), CLOUDABI_ENOTCAPABLE);
  expect("map_without_mem_map_exec", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, noexec, 0, (void **)&q), 0);
  expect("protect_exec_without_mem_map_exec",
         cloudabi_sys_mem_protect(q, PAGE, CLOUDABI_PROT_READ | CLOUDABI_PROT_EXEC), CLOUDABI_EACCES);
  char *d;
  expect("private_without_mem_map_exec",
         cloudabi_sys_mem_map(NULL, PAGE, CLOUDABI_PROT_READ, CLOUDABI_MAP_PRIVATE, noexec, 0, (void **)&d), 0);
  expect("protect_private_exec_without_mem_map_exec",
         cloudabi_sys_mem_protect(d, PAGE, CLOUDABI_PROT_READ | CLOUDABI_PROT_EXEC), CLOUDABI_EACCES);
  expect("protect_private_write_without_mem_map_exec", cloudabi_sys_mem_protect(d, PAGE, RW), 0);
  expect("map_with_mem_map_exec", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, f, 0, (void **)&q), 0);
  expect("protect_exec_with_mem_map_exec",
         cloudabi_sys_mem_protect(q, PAGE, CLOUDABI_PROT_READ | CLOUDABI_PROT_EXEC), 0);
  /* Anonymous memory mapped over a denied range is new memory: it may
     be made executable. */
  expect("anon_over_denied",
         cloudabi_sys_mem_map(d, PAGE, CLOUDABI_PROT_READ, CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE | CLOUDABI_MAP_FIXED,
                              CLOUDABI_MAP_ANON_FD, 0, (void **)&q),
         0);
  expect("protect_exec_anon", cloudabi_sys_mem_protect(q, PAGE, CLOUDABI_PROT_READ | CLOUDABI_PROT_EXEC), 0);
  if (ro != (cloudabi_fd_t)-1) {
    expect_true("ro_has_fd_write", (rights_of(ro) & CLOUDABI_RIGHT_FD_WRITE) != 0);
    expect("map_rw_read_only_file", map_shared(NULL, PAGE, RW, ro, 0, (void **)&q), CLOUDABI_EACCES);
    expect("map_read_read_only_file", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, ro, 0, (void **)&q), 0);
    expect_true("read_only_file_contents", q[0] == 'r');
    expect("protect_read_only_file", cloudabi_sys_mem_protect(q, PAGE, RW), CLOUDABI_EACCES);
  }
  cloudabi_fd_t s1, s2;
  expect("socketpair", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &s1, &s2), 0);
  expect("map_socket", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, s1, 0, (void **)&q), CLOUDABI_ENOTCAPABLE);
  cloudabi_fd_t null = optional_fd(ad, "null");
  if (null != (cloudabi_fd_t)-1) {
    expect_true("null_has_mem_map", (rights_of(null) & (CLOUDABI_RIGHT_MEM_MAP | CLOUDABI_RIGHT_FD_READ)) ==
                                        (CLOUDABI_RIGHT_MEM_MAP | CLOUDABI_RIGHT_FD_READ));
    expect("map_device", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, null, 0, (void **)&q), CLOUDABI_ENODEV);
  }
  expect("map_zero_length", map_shared(NULL, 0, CLOUDABI_PROT_READ, f, 0, (void **)&q), CLOUDABI_EINVAL);
  expect("map_private_and_shared",
         cloudabi_sys_mem_map(NULL, PAGE, CLOUDABI_PROT_READ, CLOUDABI_MAP_PRIVATE | CLOUDABI_MAP_SHARED, f, 0,
                              (void **)&q),
         CLOUDABI_EINVAL);
  expect("map_neither_private_nor_shared", cloudabi_sys_mem_map(NULL, PAGE, CLOUDABI_PROT_READ, 0, f, 0, (void **)&q),
         CLOUDABI_EINVAL);
  /* An append-only descriptor cannot write through a mapping. */
  cloudabi_fd_t app;
  expect("open_append", open_file(nofollow(dir), P("shared"), 0, FILE_RIGHTS, 0, CLOUDABI_FDFLAG_APPEND, &app), 0);
  expect("map_rw_append", map_shared(NULL, PAGE, RW, app, 0, (void **)&q), CLOUDABI_EACCES);
  expect("map_read_append", map_shared(NULL, PAGE, CLOUDABI_PROT_READ, app, 0, (void **)&q), 0);
  expect("protect_rw_append", cloudabi_sys_mem_protect(q, PAGE, RW), CLOUDABI_EACCES);
  /* Past the end of the file: a private copy reads zeroes. */
  expect("map_private_past_end",
         cloudabi_sys_mem_map(NULL, PAGE, CLOUDABI_PROT_READ, CLOUDABI_MAP_PRIVATE, f, 16 * PAGE, (void **)&q), 0);
  expect_true("private_past_end_is_zero", q[0] == 0 && q[PAGE - 1] == 0);

  /* A forked child shares the mapping: its writes are the parent's. */
  cloudabi_fd_t child;
  cloudabi_tid_t tid;
  cloudabi_errno_t e = cloudabi_sys_proc_fork(&child, &tid);
  if (e == 0 && child == CLOUDABI_PROCESS_CHILD) {
    int ok = p[10] == 'X';
    p[300] = 'C';
    p[301] = 'H';
    cloudabi_sys_proc_exit(ok && pread_byte(f, 300) == 'C' ? 0 : 1);
  }
  expect("fork", e, 0);
  cloudabi_event_t ev = wait_process(child);
  expect("child_exit", ev.proc_terminate.exitcode, 0);
  expect_true("child_write_seen", p[300] == 'C' && p[301] == 'H' && pread_byte(f, 301) == 'H');

  /* After mem_unmap the pages are gone: a child touching them crashes. */
  e = cloudabi_sys_proc_fork(&child, &tid);
  if (e == 0 && child == CLOUDABI_PROCESS_CHILD) {
    if (cloudabi_sys_mem_unmap(p, 2 * PAGE) != 0)
      cloudabi_sys_proc_exit(1);
    ((volatile char *)p)[0] = 1;
    cloudabi_sys_proc_exit(2);
  }
  expect("fork_unmap", e, 0);
  ev = wait_process(child);
  expect("unmapped_access_faults", ev.proc_terminate.signal, CLOUDABI_SIGSEGV);
  expect_true("parent_mapping_intact", p[10] == 'X');

  /* Anonymous memory mapped over a live file mapping is fresh memory; the
     file keeps its bytes. */
  char *r;
  expect("map_anon_over_file",
         cloudabi_sys_mem_map(p, PAGE, RW, CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE | CLOUDABI_MAP_FIXED,
                              CLOUDABI_MAP_ANON_FD, 0, (void **)&r),
         0);
  expect_true("anon_over_file_is_zero", r == p && p[10] == 0);
  p[10] = 'A';
  expect_true("file_kept_its_byte", pread_byte(f, 10) == 'X' && p[PAGE] == 'H');
  /* A file mapped over anonymous memory, and the same range unmapped and
     mapped again. */
  expect("map_file_over_anon", map_shared(p, PAGE, RW, f, 0, (void **)&r), 0);
  expect_true("file_over_anon", r == p && p[10] == 'X');
  expect("unmap", cloudabi_sys_mem_unmap(p, 2 * PAGE), 0);
  expect("sync_unmapped", cloudabi_sys_mem_sync(p, PAGE, CLOUDABI_MS_SYNC), CLOUDABI_ENOMEM);
  civ.buf = p;
  expect("fd_write_from_unmapped", cloudabi_sys_fd_write(copy, &civ, 1, &n), CLOUDABI_EFAULT);
  expect("remap", map_shared(p, 2 * PAGE, RW, f, 0, (void **)&r), 0);
  expect_true("remapped_contents", r == p && p[10] == 'X' && p[PAGE] == 'H');

  /* Pages past the end of the file: the supervisor refuses them (EFAULT,
     as the guest would get SIGBUS) and does not fault itself, also after
     the file shrinks under the mapping. */
  expect("truncate", cloudabi_sys_file_stat_fput(f, &(cloudabi_filestat_t){.st_size = PAGE}, CLOUDABI_FILESTAT_SIZE),
         0);
  civ.buf = p + PAGE;
  expect("fd_write_past_end", cloudabi_sys_fd_write(copy, &civ, 1, &n), CLOUDABI_EFAULT);
  cloudabi_timestamp_t ts;
  expect("output_past_end", cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, (void *)(p + PAGE)),
         CLOUDABI_EFAULT);
  expect("output_before_end", cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, (void *)(p + 8)), 0);
  civ.buf = p;
  expect("fd_write_before_end", cloudabi_sys_fd_write(copy, &civ, 1, &n), 0);
  expect("sync_past_end", cloudabi_sys_mem_sync(p, 2 * PAGE, CLOUDABI_MS_SYNC), 0);
  expect("grow", cloudabi_sys_file_allocate(f, 0, 2 * PAGE), 0);
  expect("fd_write_after_growing", cloudabi_sys_fd_write(copy, &civ, 1, &n), 0);
  cloudabi_fd_t again;
  expect("open_trunc", open_file(nofollow(dir), P("shared"), CLOUDABI_O_TRUNC, FILE_RIGHTS, 0, 0, &again), 0);
  expect("fd_write_after_o_trunc", cloudabi_sys_fd_write(copy, &civ, 1, &n), CLOUDABI_EFAULT);
  expect("clock_after_o_trunc", cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, &ts), 0);
  expect("unmap_truncated", cloudabi_sys_mem_unmap(p, 2 * PAGE), 0);

  cloudabi_sys_proc_exit(failures);
}
