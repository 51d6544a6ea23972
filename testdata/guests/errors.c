/*
 * errors: checks that the runtime answers bad system call arguments with
 * the errno the ABI specifies, printing "ok <check>" or
 * "FAIL <check> (got N, want M)" per check to `out`.
 *
 * Argdata: a map {out: !fd N, ro: !fd M} where `out` has the right to write
 * but not to read, and `ro` is a read-only regular file.
 * Exit status: the number of failed checks, 125 on bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#include "check.h"

static const char text[] = "x";

/*
 * Enters the vDSO's common routine with a system call number of our
 * choosing, as hostile code could: the stub of clock_res_get is
 * "mov $0, %eax" (5 bytes) followed by the jump to the common routine.
 */
static cloudabi_errno_t call_number(uint32_t nr) {
  const char *stub = (const char *)cloudabi_vdso.clock_res_get;
  cloudabi_errno_t result;
  __asm__ volatile("call *%1"
                   : "=a"(result)
                   : "r"(stub + 5), "a"(nr)
                   : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
  return result;
}

void program_main(const argdata_t *ad) {
  argdata_t value;
  int fd, ro;
  if (sdk_argdata_map_lookup(ad, "out", &value) != 0 || argdata_get_fd(&value, &fd) != 0 ||
      sdk_argdata_map_lookup(ad, "ro", &value) != 0 || argdata_get_fd(&value, &ro) != 0)
    cloudabi_sys_proc_exit(125);
  out = (cloudabi_fd_t)fd;

  size_t n;
  cloudabi_ciovec_t iov = {.buf = text, .buf_len = 1};
  cloudabi_ciovec_t wild = {.buf = (const void *)16, .buf_len = 1};
  cloudabi_ciovec_t huge = {.buf = text, .buf_len = (size_t)-1};
  expect_u64("fd_write_bad_fd", cloudabi_sys_fd_write(12345, &iov, 1, &n), CLOUDABI_EBADF);
  expect_u64("fd_write_huge_fd", cloudabi_sys_fd_write(0xffffffff, &iov, 1, &n), CLOUDABI_EBADF);
  expect_u64("fd_write_no_right", cloudabi_sys_fd_write((cloudabi_fd_t)ro, &iov, 1, &n), CLOUDABI_ENOTCAPABLE);
  expect_u64("fd_write_wild_iovec_array", cloudabi_sys_fd_write(out, (const cloudabi_ciovec_t *)8, 1, &n), CLOUDABI_EFAULT);
  expect_u64("fd_write_wild_buffer", cloudabi_sys_fd_write(out, &wild, 1, &n), CLOUDABI_EFAULT);
  expect_u64("fd_write_huge_length", cloudabi_sys_fd_write(out, &huge, 1, &n), CLOUDABI_EFAULT);
  expect_u64("fd_write_too_many_iovecs", cloudabi_sys_fd_write(out, &iov, 100000, &n), CLOUDABI_EINVAL);
  expect_u64("fd_write_readonly_output", cloudabi_sys_fd_write(out, &iov, 1, (size_t *)text), CLOUDABI_EFAULT);

  char buf[8];
  cloudabi_iovec_t into_text = {.buf = (void *)text, .buf_len = 1};
  expect_u64("fd_read_into_readonly_memory", cloudabi_sys_fd_read((cloudabi_fd_t)ro, &into_text, 1, &n), CLOUDABI_EFAULT);
  cloudabi_iovec_t into_buf = {.buf = buf, .buf_len = sizeof(buf)};
  expect_u64("fd_read_no_right", cloudabi_sys_fd_read(out, &into_buf, 1, &n), CLOUDABI_ENOTCAPABLE);
  expect_u64("fd_read", cloudabi_sys_fd_read((cloudabi_fd_t)ro, &into_buf, 1, &n), 0);
  expect_u64("fd_read_count", n == sizeof(buf) && buf[0] == 0x7f && buf[1] == 'E' ? 0 : 1, 0);

  cloudabi_fdstat_t st;
  expect_u64("fd_stat_get_bad_fd", cloudabi_sys_fd_stat_get(777, &st), CLOUDABI_EBADF);
  expect_u64("fd_stat_get_wild_pointer", cloudabi_sys_fd_stat_get(out, (cloudabi_fdstat_t *)24), CLOUDABI_EFAULT);
  expect_u64("fd_stat_get", cloudabi_sys_fd_stat_get((cloudabi_fd_t)ro, &st), 0);
  expect_u64("fd_stat_get_readonly_rights",
         (st.fs_rights_base & CLOUDABI_RIGHT_FD_WRITE) == 0 && (st.fs_rights_base & CLOUDABI_RIGHT_FD_READ) != 0 &&
                 st.fs_filetype == CLOUDABI_FILETYPE_REGULAR_FILE
             ? 0
             : 1,
         0);

  cloudabi_timestamp_t ts;
  expect_u64("clock_time_get_bad_clock", cloudabi_sys_clock_time_get(99, 0, &ts), CLOUDABI_EINVAL);
  expect_u64("clock_time_get_wild_pointer", cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_MONOTONIC, 0, (cloudabi_timestamp_t *)32), CLOUDABI_EFAULT);
  expect_u64("clock_res_get_bad_clock", cloudabi_sys_clock_res_get(0, &ts), CLOUDABI_EINVAL);
  expect_u64("random_get_readonly", cloudabi_sys_random_get((void *)text, 1), CLOUDABI_EFAULT);
  expect_u64("random_get_empty", cloudabi_sys_random_get(buf, 0), 0);

  void *mem;
  expect_u64("mem_map_write_exec", cloudabi_sys_mem_map(NULL, 4096, CLOUDABI_PROT_WRITE | CLOUDABI_PROT_EXEC,
                                                    CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE, CLOUDABI_MAP_ANON_FD, 0, &mem),
         CLOUDABI_ENOTSUP);
  expect_u64("mem_map_zero_length", cloudabi_sys_mem_map(NULL, 0, CLOUDABI_PROT_READ, CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE,
                                                     CLOUDABI_MAP_ANON_FD, 0, &mem),
         CLOUDABI_EINVAL);
  expect_u64("mem_map_private_and_shared", cloudabi_sys_mem_map(NULL, 4096, CLOUDABI_PROT_READ,
                                                            CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE | CLOUDABI_MAP_SHARED,
                                                            CLOUDABI_MAP_ANON_FD, 0, &mem),
         CLOUDABI_EINVAL);
  expect_u64("mem_map_anon_with_fd", cloudabi_sys_mem_map(NULL, 4096, CLOUDABI_PROT_READ, CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE,
                                                      3, 0, &mem),
         CLOUDABI_EINVAL);
  expect_u64("mem_map_fixed_unaligned", cloudabi_sys_mem_map((void *)4097, 4096, CLOUDABI_PROT_READ,
                                                         CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE | CLOUDABI_MAP_FIXED,
                                                         CLOUDABI_MAP_ANON_FD, 0, &mem),
         CLOUDABI_EINVAL);
  expect_u64("mem_map_fixed_outside", cloudabi_sys_mem_map((void *)4096, 4096, CLOUDABI_PROT_READ,
                                                       CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE | CLOUDABI_MAP_FIXED,
                                                       CLOUDABI_MAP_ANON_FD, 0, &mem),
         CLOUDABI_ENOMEM);
  expect_u64("mem_map_huge", cloudabi_sys_mem_map(NULL, (size_t)1 << 62, CLOUDABI_PROT_READ,
                                              CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE, CLOUDABI_MAP_ANON_FD, 0, &mem),
         CLOUDABI_ENOMEM);
  expect_u64("mem_map_overflowing_length", cloudabi_sys_mem_map(NULL, (size_t)-1, CLOUDABI_PROT_READ,
                                                            CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE, CLOUDABI_MAP_ANON_FD, 0, &mem),
         CLOUDABI_ENOMEM);
  expect_u64("mem_protect_unaligned", cloudabi_sys_mem_protect((void *)(text + 1), 1, CLOUDABI_PROT_READ), CLOUDABI_EINVAL);
  expect_u64("mem_unmap_unaligned", cloudabi_sys_mem_unmap((void *)(text + 1), 1), CLOUDABI_EINVAL);
  expect_u64("mem_protect_unmapped", cloudabi_sys_mem_protect((void *)4096, 4096, CLOUDABI_PROT_READ), CLOUDABI_ENOMEM);

  expect_u64("proc_raise_bad_signal", cloudabi_sys_proc_raise(0), CLOUDABI_EINVAL);
  expect_u64("proc_raise_bad_signal_high", cloudabi_sys_proc_raise(200), CLOUDABI_EINVAL);
  expect_u64("proc_raise_ignored_signal", cloudabi_sys_proc_raise(CLOUDABI_SIGCHLD), 0);

  expect_u64("unknown_syscall_number", call_number(1000), CLOUDABI_ENOSYS);
  expect_u64("huge_syscall_number", call_number(0xffffffff), CLOUDABI_ENOSYS);

  expect_u64("fd_close_bad_fd", cloudabi_sys_fd_close(4242), CLOUDABI_EBADF);
  expect_u64("fd_close", cloudabi_sys_fd_close((cloudabi_fd_t)ro), 0);
  expect_u64("fd_close_twice", cloudabi_sys_fd_close((cloudabi_fd_t)ro), CLOUDABI_EBADF);
  expect_u64("fd_write_after_close", cloudabi_sys_fd_write((cloudabi_fd_t)ro, &iov, 1, &n), CLOUDABI_EBADF);

  cloudabi_sys_proc_exit(failures);
}
