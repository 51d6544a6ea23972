/*
 * memfile: mem_map of files, mem_sync and mem_advise. Prints "ok <check>"
 * or "FAIL <check> (got N, want M)" per check to `out`.
 *
 * Argdata: a map {file: !fd N, out: !fd M}. `file` must be a regular file
 * of 6000 bytes whose byte i is 'a' + i % 26, with every right of a file
 * opened for reading (FD_READ, MEM_MAP, MEM_MAP_EXEC, FD_STAT_PUT_FLAGS...).
 * Exit status: the number of failed checks, 125 on bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "check.h"

#define PRIVATE_READ CLOUDABI_PROT_READ, CLOUDABI_MAP_PRIVATE

void program_main(const argdata_t *ad) {
  argdata_t value;
  int fd, o;
  if (sdk_argdata_map_lookup(ad, "file", &value) != 0 || argdata_get_fd(&value, &fd) != 0 ||
      sdk_argdata_map_lookup(ad, "out", &value) != 0 || argdata_get_fd(&value, &o) != 0)
    cloudabi_sys_proc_exit(125);
  out = (cloudabi_fd_t)o;
  cloudabi_fd_t f = (cloudabi_fd_t)fd;

  void *m;
  expect_u64("map_private_read", cloudabi_sys_mem_map(NULL, 6000, PRIVATE_READ, f, 0, &m), 0);
  const char *p = m;
  int same = 1;
  for (int i = 0; i < 6000; i++)
    if (p[i] != 'a' + i % 26) same = 0;
  expect_u64("contents", same, 1);
  expect_u64("zero_beyond_end", p[6000] == 0 && p[8191] == 0, 1);
  expect_u64("mem_sync", cloudabi_sys_mem_sync(m, 8192, CLOUDABI_MS_SYNC), 0);
  expect_u64("mem_sync_invalidate", cloudabi_sys_mem_sync(m, 4096, CLOUDABI_MS_SYNC | CLOUDABI_MS_INVALIDATE), 0);
  expect_u64("mem_sync_async_invalidate", cloudabi_sys_mem_sync(m, 4096, CLOUDABI_MS_ASYNC | CLOUDABI_MS_INVALIDATE), CLOUDABI_EINVAL);
  expect_u64("mem_sync_none", cloudabi_sys_mem_sync(m, 4096, 0), CLOUDABI_EINVAL);
  expect_u64("mem_sync_both", cloudabi_sys_mem_sync(m, 4096, CLOUDABI_MS_ASYNC | CLOUDABI_MS_SYNC), CLOUDABI_EINVAL);
  expect_u64("mem_sync_unaligned", cloudabi_sys_mem_sync((char *)m + 1, 4096, CLOUDABI_MS_SYNC), CLOUDABI_EINVAL);
  expect_u64("mem_advise", cloudabi_sys_mem_advise(m, 8192, CLOUDABI_ADVICE_SEQUENTIAL), 0);
  expect_u64("mem_advise_bad", cloudabi_sys_mem_advise(m, 8192, 99), CLOUDABI_EINVAL);
  expect_u64("mem_unmap", cloudabi_sys_mem_unmap(m, 8192), 0);
  expect_u64("mem_sync_unmapped", cloudabi_sys_mem_sync(m, 4096, CLOUDABI_MS_SYNC), CLOUDABI_ENOMEM);
  expect_u64("mem_advise_unmapped", cloudabi_sys_mem_advise(m, 4096, CLOUDABI_ADVICE_NORMAL), CLOUDABI_ENOMEM);

  expect_u64("map_offset", cloudabi_sys_mem_map(NULL, 4096, PRIVATE_READ, f, 4096, &m), 0);
  p = m;
  expect_u64("offset_contents", p[0] == 'a' + 4096 % 26 && p[1903] == 'a' + 5999 % 26 && p[1904] == 0, 1);
  expect_u64("map_unaligned_offset", cloudabi_sys_mem_map(NULL, 4096, PRIVATE_READ, f, 100, &m), CLOUDABI_EINVAL);

  /* A private writable copy: writing it leaves the file alone. */
  expect_u64("map_private_write", cloudabi_sys_mem_map(NULL, 4096, CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE, CLOUDABI_MAP_PRIVATE, f, 0, &m), 0);
  ((char *)m)[0] = 'Z';
  char b[1];
  cloudabi_iovec_t iov = {.buf = b, .buf_len = 1};
  size_t n;
  expect_u64("file_unchanged", cloudabi_sys_fd_pread(f, &iov, 1, 0, &n) == 0 && n == 1 && b[0] == 'a', 1);

  /* A shared mapping is the file itself; the host opened it read-only, so
     it cannot be mapped writable. */
  expect_u64("map_shared", cloudabi_sys_mem_map(NULL, 4096, CLOUDABI_PROT_READ, CLOUDABI_MAP_SHARED, f, 0, &m), 0);
  expect_u64("shared_contents", ((char *)m)[0] == 'a' && ((char *)m)[25] == 'z', 1);
  expect_u64("map_shared_write_read_only_file", cloudabi_sys_mem_map(NULL, 4096, CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE, CLOUDABI_MAP_SHARED, f, 0, &m), CLOUDABI_EACCES);
  expect_u64("map_bad_fd", cloudabi_sys_mem_map(NULL, 4096, PRIVATE_READ, 9999, 0, &m), CLOUDABI_EBADF);
  cloudabi_fd_t s1, s2;
  expect_u64("socketpair", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &s1, &s2), 0);
  expect_u64("map_socket", cloudabi_sys_mem_map(NULL, 4096, PRIVATE_READ, s1, 0, &m), CLOUDABI_ENOTCAPABLE);

  /* Without MEM_MAP_EXEC, no executable mapping; without MEM_MAP, none. */
  cloudabi_fd_t d;
  cloudabi_fdstat_t st;
  expect_u64("dup", cloudabi_sys_fd_dup(f, &d), 0);
  expect_u64("stat", cloudabi_sys_fd_stat_get(d, &st), 0);
  st.fs_rights_base &= ~CLOUDABI_RIGHT_MEM_MAP_EXEC;
  expect_u64("drop_exec", cloudabi_sys_fd_stat_put(d, &st, CLOUDABI_FDSTAT_RIGHTS), 0);
  expect_u64("map_exec_without_right", cloudabi_sys_mem_map(NULL, 4096, CLOUDABI_PROT_READ | CLOUDABI_PROT_EXEC, CLOUDABI_MAP_PRIVATE, d, 0, &m), CLOUDABI_ENOTCAPABLE);
  expect_u64("map_read_still_ok", cloudabi_sys_mem_map(NULL, 4096, PRIVATE_READ, d, 0, &m), 0);
  st.fs_rights_base &= ~CLOUDABI_RIGHT_MEM_MAP;
  expect_u64("drop_map", cloudabi_sys_fd_stat_put(d, &st, CLOUDABI_FDSTAT_RIGHTS), 0);
  expect_u64("map_without_right", cloudabi_sys_mem_map(NULL, 4096, PRIVATE_READ, d, 0, &m), CLOUDABI_ENOTCAPABLE);

  cloudabi_sys_proc_exit(failures);
}
