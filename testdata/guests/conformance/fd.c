/*
 * fd: descriptor system calls: fd_create1, fd_create2, fd_dup,
 * fd_replace, fd_seek, fd_pread, fd_pwrite, fd_stat_get, fd_stat_put,
 * fd_sync, fd_datasync, the rights each one needs, and the descriptor
 * limit.
 */
#include "conformance.h"

static void test_create1(void) {
  cloudabi_fd_t shm;
  expect("fd_create1_bad_type", cloudabi_sys_fd_create1(CLOUDABI_FILETYPE_REGULAR_FILE, &shm), CLOUDABI_EINVAL);
  expect("fd_create1_socket_type", cloudabi_sys_fd_create1(CLOUDABI_FILETYPE_SOCKET_STREAM, &shm), CLOUDABI_EINVAL);
  expect("fd_create1_wild_pointer",
         cloudabi_sys_fd_create1(CLOUDABI_FILETYPE_SHARED_MEMORY, (cloudabi_fd_t *)16), CLOUDABI_EFAULT);
  expect("fd_create1", cloudabi_sys_fd_create1(CLOUDABI_FILETYPE_SHARED_MEMORY, &shm), 0);
  cloudabi_fdstat_t st;
  expect("fd_create1_stat", cloudabi_sys_fd_stat_get(shm, &st), 0);
  expect_u64("fd_create1_filetype", st.fs_filetype, CLOUDABI_FILETYPE_SHARED_MEMORY);
  expect_true("fd_create1_rights",
              (st.fs_rights_base & (CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_WRITE | CLOUDABI_RIGHT_MEM_MAP |
                                    CLOUDABI_RIGHT_FILE_STAT_FGET | CLOUDABI_RIGHT_FILE_STAT_FPUT_SIZE)) ==
                      (CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_WRITE | CLOUDABI_RIGHT_MEM_MAP |
                       CLOUDABI_RIGHT_FILE_STAT_FGET | CLOUDABI_RIGHT_FILE_STAT_FPUT_SIZE) &&
                  (st.fs_rights_base & (CLOUDABI_RIGHT_FD_SEEK | CLOUDABI_RIGHT_FILE_READDIR)) == 0 &&
                  st.fs_rights_inheriting == 0);

  cloudabi_filestat_t fs = {.st_size = 8192};
  expect("fd_create1_resize", cloudabi_sys_file_stat_fput(shm, &fs, CLOUDABI_FILESTAT_SIZE), 0);
  memset(&fs, 0, sizeof(fs));
  expect("fd_create1_stat_fget", cloudabi_sys_file_stat_fget(shm, &fs), 0);
  expect_u64("fd_create1_size", fs.st_size, 8192);
  expect_u64("fd_create1_fget_filetype", fs.st_filetype, CLOUDABI_FILETYPE_SHARED_MEMORY);
  cloudabi_filesize_t off;
  expect("fd_create1_no_seek", cloudabi_sys_fd_seek(shm, 0, CLOUDABI_WHENCE_SET, &off), CLOUDABI_ENOTCAPABLE);
  size_t n;
  cloudabi_ciovec_t iov = {.buf = "shm", .buf_len = 3};
  expect("fd_create1_write", cloudabi_sys_fd_write(shm, &iov, 1, &n), 0);
  /* Without FD_SEEK there is no fd_pread: the data is read back through a mapping. */
  char buf[4];
  cloudabi_iovec_t in = {.buf = buf, .buf_len = sizeof(buf)};
  expect("fd_create1_pread_no_seek", cloudabi_sys_fd_pread(shm, &in, 1, 0, &n), CLOUDABI_ENOTCAPABLE);
  void *m = NULL;
  expect("fd_create1_map", cloudabi_sys_mem_map(NULL, 8192, CLOUDABI_PROT_READ, CLOUDABI_MAP_SHARED, shm, 0, &m), 0);
  expect_true("fd_create1_map_data", m != NULL && memcmp(m, "shm", 3) == 0);
  if (m != NULL)
    cloudabi_sys_mem_unmap(m, 8192);
  expect("fd_create1_pwrite_no_seek", cloudabi_sys_fd_pwrite(shm, &iov, 1, 0, &n), CLOUDABI_ENOTCAPABLE);
  expect("fd_create1_allocate", cloudabi_sys_file_allocate(shm, 0, 10), CLOUDABI_ENOTCAPABLE);
  expect("fd_create1_close", cloudabi_sys_fd_close(shm), 0);
}

static void test_create2(void) {
  cloudabi_fd_t a, b;
  expect("fd_create2_bad_type", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SHARED_MEMORY, &a, &b), CLOUDABI_EINVAL);
  expect("fd_create2_directory", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_DIRECTORY, &a, &b), CLOUDABI_EINVAL);
  expect("fd_create2_wild_pointer",
         cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &a, (cloudabi_fd_t *)16), CLOUDABI_EFAULT);
  expect("fd_create2_stream", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &a, &b), 0);
  expect_true("fd_create2_distinct", a != b);
  cloudabi_fdstat_t st;
  expect("fd_create2_stat", cloudabi_sys_fd_stat_get(a, &st), 0);
  expect_u64("fd_create2_stream_type", st.fs_filetype, CLOUDABI_FILETYPE_SOCKET_STREAM);
  expect_true("fd_create2_rights",
              (st.fs_rights_base & (CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_WRITE)) ==
                      (CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_WRITE) &&
                  (st.fs_rights_base & CLOUDABI_RIGHT_FD_SEEK) == 0);

  size_t n;
  char buf[16];
  cloudabi_ciovec_t iov = {.buf = "ping", .buf_len = 4};
  expect("fd_create2_write", cloudabi_sys_fd_write(a, &iov, 1, &n), 0);
  expect_u64("fd_create2_read", read_some(b, buf, sizeof(buf)), 4);
  expect_true("fd_create2_data", memcmp(buf, "ping", 4) == 0);
  cloudabi_filesize_t off;
  expect("fd_create2_seek", cloudabi_sys_fd_seek(a, 0, CLOUDABI_WHENCE_CUR, &off), CLOUDABI_ENOTCAPABLE);
  expect("fd_create2_pread", cloudabi_sys_fd_pread(a, NULL, 0, 0, &n), CLOUDABI_ENOTCAPABLE);

  /* Non-blocking mode is a property of the descriptor. */
  st.fs_flags = CLOUDABI_FDFLAG_NONBLOCK;
  expect("fd_stat_put_nonblock", cloudabi_sys_fd_stat_put(b, &st, CLOUDABI_FDSTAT_FLAGS), 0);
  expect("fd_stat_get_nonblock", cloudabi_sys_fd_stat_get(b, &st), 0);
  expect_u64("fd_stat_get_nonblock_flag", st.fs_flags, CLOUDABI_FDFLAG_NONBLOCK);
  cloudabi_iovec_t in = {.buf = buf, .buf_len = sizeof(buf)};
  expect("fd_read_nonblock_empty", cloudabi_sys_fd_read(b, &in, 1, &n), CLOUDABI_EAGAIN);
  expect("fd_create2_write_again", cloudabi_sys_fd_write(a, &iov, 1, &n), 0);
  expect("fd_read_nonblock_ready", cloudabi_sys_fd_read(b, &in, 1, &n), 0);
  expect_u64("fd_read_nonblock_count", n, 4);
  st.fs_flags = 0;
  expect("fd_stat_put_block", cloudabi_sys_fd_stat_put(b, &st, CLOUDABI_FDSTAT_FLAGS), 0);
  expect("fd_stat_get_block", cloudabi_sys_fd_stat_get(b, &st), 0);
  expect_u64("fd_stat_get_block_flag", st.fs_flags, 0);

  /* Closing one end: reading the other gives end of file. */
  expect("fd_create2_close", cloudabi_sys_fd_close(a), 0);
  expect_u64("fd_create2_eof", read_some(b, buf, sizeof(buf)), 0);
  cloudabi_sys_fd_close(b);

  expect("fd_create2_dgram", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_DGRAM, &a, &b), 0);
  expect("fd_create2_dgram_stat", cloudabi_sys_fd_stat_get(b, &st), 0);
  expect_u64("fd_create2_dgram_type", st.fs_filetype, CLOUDABI_FILETYPE_SOCKET_DGRAM);
  cloudabi_filestat_t fs;
  expect("fd_create2_dgram_fget", cloudabi_sys_file_stat_fget(a, &fs), 0);
  expect_u64("fd_create2_dgram_fget_type", fs.st_filetype, CLOUDABI_FILETYPE_SOCKET_DGRAM);
  cloudabi_ciovec_t msgs[2] = {{.buf = "one", .buf_len = 3}, {.buf = "two!", .buf_len = 4}};
  expect("fd_create2_dgram_send1", cloudabi_sys_fd_write(a, &msgs[0], 1, &n), 0);
  expect("fd_create2_dgram_send2", cloudabi_sys_fd_write(a, &msgs[1], 1, &n), 0);
  expect_u64("fd_create2_dgram_recv1", read_some(b, buf, sizeof(buf)), 3);
  expect_u64("fd_create2_dgram_recv2", read_some(b, buf, sizeof(buf)), 4);
  cloudabi_sys_fd_close(a);
  cloudabi_sys_fd_close(b);
}

static void test_dup_replace(cloudabi_fd_t dir) {
  cloudabi_fd_t f, g, h, d;
  expect("dup_setup_open",
         open_file(nofollow(dir), P("dupfile"), CLOUDABI_O_CREAT, FILE_RIGHTS, 0, 0, &f), 0);
  cloudabi_fd_t limited = without(f, CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FILE_ALLOCATE, 0);
  expect("fd_dup", cloudabi_sys_fd_dup(limited, &d), 0);
  expect_u64("fd_dup_keeps_rights", rights_of(d), rights_of(limited));
  expect_true("fd_dup_new_number", d != limited && d != f);
  size_t n;
  cloudabi_iovec_t in = {.buf = (void *)&n, .buf_len = 1};
  expect("fd_dup_still_no_read", cloudabi_sys_fd_read(d, &in, 1, &n), CLOUDABI_ENOTCAPABLE);

  /* The duplicate shares the file offset. */
  cloudabi_ciovec_t iov = {.buf = "0123456789", .buf_len = 10};
  expect("fd_dup_write", cloudabi_sys_fd_write(f, &iov, 1, &n), 0);
  cloudabi_filesize_t off;
  expect("fd_dup_seek", cloudabi_sys_fd_seek(d, 3, CLOUDABI_WHENCE_SET, &off), 0);
  expect("fd_dup_tell", cloudabi_sys_fd_seek(f, 0, CLOUDABI_WHENCE_CUR, &off), 0);
  expect_u64("fd_dup_shared_offset", off, 3);

  /* The lowest free number is used. */
  expect("fd_dup_a", cloudabi_sys_fd_dup(f, &g), 0);
  expect("fd_dup_b", cloudabi_sys_fd_dup(f, &h), 0);
  cloudabi_fd_t lowest = g < h ? g : h;
  expect("fd_dup_close_lowest", cloudabi_sys_fd_close(lowest), 0);
  cloudabi_fd_t again;
  expect("fd_dup_reuse", cloudabi_sys_fd_dup(f, &again), 0);
  expect_u64("fd_dup_lowest_free", again, lowest);

  /* Inheriting rights are copied too. */
  cloudabi_fd_t ld = without(dir, CLOUDABI_RIGHT_FILE_UNLINK, CLOUDABI_RIGHT_FD_WRITE);
  cloudabi_fd_t dd;
  expect("fd_dup_directory", cloudabi_sys_fd_dup(ld, &dd), 0);
  expect_true("fd_dup_directory_reduced",
              inheriting_of(ld) != 0 && (inheriting_of(ld) & CLOUDABI_RIGHT_FD_WRITE) == 0 &&
                  (rights_of(ld) & CLOUDABI_RIGHT_FILE_UNLINK) == 0);
  expect_u64("fd_dup_keeps_base_rights", rights_of(dd), rights_of(ld));
  expect_u64("fd_dup_keeps_inheriting_rights", inheriting_of(dd), inheriting_of(ld));
  cloudabi_sys_fd_close(dd);
  cloudabi_sys_fd_close(ld);

  expect("fd_dup_bad_fd", cloudabi_sys_fd_dup(4242, &g), CLOUDABI_EBADF);
  expect("fd_dup_wild_pointer", cloudabi_sys_fd_dup(f, (cloudabi_fd_t *)16), CLOUDABI_EFAULT);

  /* fd_replace: to becomes a copy of from, rights and all. */
  cloudabi_fd_t sa, sb;
  expect("fd_replace_setup", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &sa, &sb), 0);
  expect("fd_replace", cloudabi_sys_fd_replace(limited, sa), 0);
  expect_u64("fd_replace_rights", rights_of(sa), rights_of(limited));
  cloudabi_fdstat_t st;
  cloudabi_sys_fd_stat_get(sa, &st);
  expect_u64("fd_replace_filetype", st.fs_filetype, CLOUDABI_FILETYPE_REGULAR_FILE);
  expect("fd_replace_shared_offset", cloudabi_sys_fd_seek(sa, 7, CLOUDABI_WHENCE_SET, &off), 0);
  expect("fd_replace_tell", cloudabi_sys_fd_seek(f, 0, CLOUDABI_WHENCE_CUR, &off), 0);
  expect_u64("fd_replace_offset", off, 7);
  /* The socket that sa was is closed: its peer sees end of file. */
  char buf[4];
  expect_u64("fd_replace_closed_old", read_some(sb, buf, sizeof(buf)), 0);
  expect("fd_replace_self", cloudabi_sys_fd_replace(f, f), 0);
  expect("fd_replace_bad_from", cloudabi_sys_fd_replace(4242, f), CLOUDABI_EBADF);
  expect("fd_replace_bad_to", cloudabi_sys_fd_replace(f, 4242), CLOUDABI_EBADF);
  expect("fd_replace_huge_to", cloudabi_sys_fd_replace(f, 0xffffffff), CLOUDABI_EBADF);
  /* Closing one copy leaves the other working. */
  expect("fd_replace_close_from", cloudabi_sys_fd_close(limited), 0);
  expect("fd_replace_to_still_open", cloudabi_sys_fd_seek(sa, 0, CLOUDABI_WHENCE_CUR, &off), 0);
  cloudabi_sys_fd_close(sa);
  cloudabi_sys_fd_close(sb);
  cloudabi_sys_fd_close(d);
  cloudabi_sys_fd_close(again);
  cloudabi_sys_fd_close(g < h ? h : g);
  cloudabi_sys_fd_close(f);
}

static void test_seek_pread(cloudabi_fd_t dir) {
  cloudabi_fd_t f;
  expect("seek_setup", create_file(dir, P("seekfile"), "0123456789"), 0);
  expect("seek_open", open_file(nofollow(dir), P("seekfile"), 0, FILE_RIGHTS, 0, 0, &f), 0);
  cloudabi_filesize_t off = 99;
  expect("fd_seek_set", cloudabi_sys_fd_seek(f, 5, CLOUDABI_WHENCE_SET, &off), 0);
  expect_u64("fd_seek_set_offset", off, 5);
  expect("fd_seek_cur", cloudabi_sys_fd_seek(f, 2, CLOUDABI_WHENCE_CUR, &off), 0);
  expect_u64("fd_seek_cur_offset", off, 7);
  expect("fd_seek_end", cloudabi_sys_fd_seek(f, -1, CLOUDABI_WHENCE_END, &off), 0);
  expect_u64("fd_seek_end_offset", off, 9);
  expect("fd_seek_negative", cloudabi_sys_fd_seek(f, -20, CLOUDABI_WHENCE_CUR, &off), CLOUDABI_EINVAL);
  expect("fd_seek_end_negative", cloudabi_sys_fd_seek(f, -20, CLOUDABI_WHENCE_END, &off), CLOUDABI_EINVAL);
  /* Past the end is allowed, and does not change the size. */
  expect("fd_seek_past_end", cloudabi_sys_fd_seek(f, 100, CLOUDABI_WHENCE_END, &off), 0);
  expect_u64("fd_seek_past_end_offset", off, 110);
  expect("fd_seek_set_past_end", cloudabi_sys_fd_seek(f, 1000, CLOUDABI_WHENCE_SET, &off), 0);
  expect_u64("fd_seek_set_past_end_offset", off, 1000);
  cloudabi_filestat_t sfs;
  cloudabi_sys_file_stat_fget(f, &sfs);
  expect_u64("fd_seek_past_end_size", sfs.st_size, 10);
  expect("fd_seek_back", cloudabi_sys_fd_seek(f, 9, CLOUDABI_WHENCE_SET, &off), 0);
  /* An offset beyond the largest file offset is EOVERFLOW. */
  expect("fd_seek_end_overflow", cloudabi_sys_fd_seek(f, INT64_MAX, CLOUDABI_WHENCE_END, &off), CLOUDABI_EOVERFLOW);
  expect("fd_seek_cur_overflow", cloudabi_sys_fd_seek(f, INT64_MAX, CLOUDABI_WHENCE_CUR, &off), CLOUDABI_EOVERFLOW);
  expect("fd_seek_failed_tell", cloudabi_sys_fd_seek(f, 0, CLOUDABI_WHENCE_CUR, &off), 0);
  expect_u64("fd_seek_failed_offset_kept", off, 9);
  expect("fd_seek_bad_whence", cloudabi_sys_fd_seek(f, 0, 0, &off), CLOUDABI_EINVAL);
  expect("fd_seek_bad_whence_high", cloudabi_sys_fd_seek(f, 0, 4, &off), CLOUDABI_EINVAL);
  expect("fd_seek_bad_fd", cloudabi_sys_fd_seek(4242, 0, CLOUDABI_WHENCE_SET, &off), CLOUDABI_EBADF);
  expect("fd_seek_wild_pointer", cloudabi_sys_fd_seek(f, 0, CLOUDABI_WHENCE_SET, (cloudabi_filesize_t *)16),
         CLOUDABI_EFAULT);
  expect("fd_seek_directory", cloudabi_sys_fd_seek(dir, 0, CLOUDABI_WHENCE_SET, &off), CLOUDABI_ENOTCAPABLE);

  /* FD_TELL only allows reading the offset. */
  cloudabi_fd_t tell = without(f, CLOUDABI_RIGHT_FD_SEEK, 0);
  expect("fd_seek_tell_only_tell", cloudabi_sys_fd_seek(tell, 0, CLOUDABI_WHENCE_CUR, &off), 0);
  expect_u64("fd_seek_tell_only_offset", off, 9);
  expect("fd_seek_tell_only_set", cloudabi_sys_fd_seek(tell, 0, CLOUDABI_WHENCE_SET, &off), CLOUDABI_ENOTCAPABLE);
  expect("fd_seek_tell_only_cur", cloudabi_sys_fd_seek(tell, 1, CLOUDABI_WHENCE_CUR, &off), CLOUDABI_ENOTCAPABLE);
  expect("fd_seek_tell_only_end", cloudabi_sys_fd_seek(tell, 0, CLOUDABI_WHENCE_END, &off), CLOUDABI_ENOTCAPABLE);
  cloudabi_fd_t none = without(f, CLOUDABI_RIGHT_FD_SEEK | CLOUDABI_RIGHT_FD_TELL, 0);
  expect("fd_seek_no_tell", cloudabi_sys_fd_seek(none, 0, CLOUDABI_WHENCE_CUR, &off), CLOUDABI_ENOTCAPABLE);
  cloudabi_fd_t seekonly = without(f, CLOUDABI_RIGHT_FD_TELL, 0);
  expect("fd_seek_implies_tell", cloudabi_sys_fd_seek(seekonly, 0, CLOUDABI_WHENCE_CUR, &off), 0);

  /* pread and pwrite leave the offset alone. */
  char buf[16];
  size_t n = 99;
  cloudabi_iovec_t in[2] = {{.buf = buf, .buf_len = 2}, {.buf = buf + 2, .buf_len = 2}};
  expect("fd_pread", cloudabi_sys_fd_pread(f, in, 2, 3, &n), 0);
  expect_u64("fd_pread_count", n, 4);
  expect_true("fd_pread_data", memcmp(buf, "3456", 4) == 0);
  cloudabi_ciovec_t iov = {.buf = "abc", .buf_len = 3};
  expect("fd_pwrite", cloudabi_sys_fd_pwrite(f, &iov, 1, 12, &n), 0);
  expect_u64("fd_pwrite_count", n, 3);
  expect("fd_pwrite_offset_unchanged", cloudabi_sys_fd_seek(f, 0, CLOUDABI_WHENCE_CUR, &off), 0);
  expect_u64("fd_pwrite_offset", off, 9);
  cloudabi_filestat_t fs;
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("fd_pwrite_extends", fs.st_size, 15);
  expect("fd_pread_hole", cloudabi_sys_fd_pread(f, in, 1, 11, &n), 0);
  expect_true("fd_pread_hole_zero", n == 2 && buf[0] == 0 && buf[1] == 'a');
  expect("fd_pread_eof", cloudabi_sys_fd_pread(f, in, 1, 100, &n), 0);
  expect_u64("fd_pread_eof_count", n, 0);
  expect("fd_pread_huge_offset", cloudabi_sys_fd_pread(f, in, 1, (cloudabi_filesize_t)1 << 63, &n), CLOUDABI_EINVAL);
  expect("fd_pread_no_seek", cloudabi_sys_fd_pread(tell, in, 1, 0, &n), CLOUDABI_ENOTCAPABLE);
  expect("fd_pwrite_no_seek", cloudabi_sys_fd_pwrite(tell, &iov, 1, 0, &n), CLOUDABI_ENOTCAPABLE);
  cloudabi_fd_t noread = without(f, CLOUDABI_RIGHT_FD_READ, 0);
  cloudabi_fd_t nowrite = without(f, CLOUDABI_RIGHT_FD_WRITE, 0);
  expect("fd_pread_no_read", cloudabi_sys_fd_pread(noread, in, 1, 0, &n), CLOUDABI_ENOTCAPABLE);
  expect("fd_pwrite_no_write", cloudabi_sys_fd_pwrite(nowrite, &iov, 1, 0, &n), CLOUDABI_ENOTCAPABLE);
  expect("fd_read_no_read", cloudabi_sys_fd_read(noread, in, 1, &n), CLOUDABI_ENOTCAPABLE);
  expect("fd_write_no_write", cloudabi_sys_fd_write(nowrite, &iov, 1, &n), CLOUDABI_ENOTCAPABLE);
  expect("fd_pread_bad_fd", cloudabi_sys_fd_pread(4242, in, 1, 0, &n), CLOUDABI_EBADF);
  expect("fd_pread_wild_result", cloudabi_sys_fd_pread(f, in, 1, 0, (size_t *)16), CLOUDABI_EFAULT);
  expect("fd_pread_wild_iovec", cloudabi_sys_fd_pread(f, (const cloudabi_iovec_t *)8, 1, 0, &n), CLOUDABI_EFAULT);
  expect("fd_pwrite_bad_fd", cloudabi_sys_fd_pwrite(4242, &iov, 1, 0, &n), CLOUDABI_EBADF);
  expect("fd_pwrite_wild_iovec", cloudabi_sys_fd_pwrite(f, (const cloudabi_ciovec_t *)8, 1, 0, &n), CLOUDABI_EFAULT);
  expect("fd_pwrite_huge_offset", cloudabi_sys_fd_pwrite(f, &iov, 1, (cloudabi_filesize_t)1 << 63, &n),
         CLOUDABI_EINVAL);
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("fd_pwrite_failed_size", fs.st_size, 15);
  cloudabi_sys_fd_close(noread);
  cloudabi_sys_fd_close(nowrite);
  cloudabi_sys_fd_close(tell);
  cloudabi_sys_fd_close(none);
  cloudabi_sys_fd_close(seekonly);
  cloudabi_sys_fd_close(f);
}

/* With FDFLAG_APPEND, fd_pwrite writes at the end whatever the offset. */
static void test_pwrite_append(cloudabi_fd_t dir) {
  cloudabi_fd_t f;
  expect("pwrite_append_setup", create_file(dir, P("appendfile"), "0123456789"), 0);
  expect("pwrite_append_open",
         open_file(nofollow(dir), P("appendfile"), 0, FILE_RIGHTS, 0, CLOUDABI_FDFLAG_APPEND, &f), 0);
  size_t n = 0;
  cloudabi_ciovec_t iov = {.buf = "ab", .buf_len = 2};
  expect("fd_pwrite_append", cloudabi_sys_fd_pwrite(f, &iov, 1, 2, &n), 0);
  expect_u64("fd_pwrite_append_count", n, 2);
  cloudabi_filestat_t fs;
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("fd_pwrite_append_size", fs.st_size, 12);
  char buf[16];
  cloudabi_iovec_t in = {.buf = buf, .buf_len = sizeof(buf)};
  expect("fd_pwrite_append_read", cloudabi_sys_fd_pread(f, &in, 1, 0, &n), 0);
  expect_true("fd_pwrite_append_data", n == 12 && memcmp(buf, "0123456789ab", 12) == 0);
  cloudabi_sys_fd_close(f);
}

static void test_stat_put(cloudabi_fd_t dir) {
  cloudabi_fd_t f;
  expect("stat_put_setup", open_file(nofollow(dir), P("statput"), CLOUDABI_O_CREAT, FILE_RIGHTS, 0, 0, &f), 0);
  cloudabi_fdstat_t st;
  expect("fd_stat_get_file", cloudabi_sys_fd_stat_get(f, &st), 0);
  expect_u64("fd_stat_get_file_type", st.fs_filetype, CLOUDABI_FILETYPE_REGULAR_FILE);
  expect_u64("fd_stat_get_file_rights", st.fs_rights_base, FILE_RIGHTS);
  expect_u64("fd_stat_get_file_inheriting", st.fs_rights_inheriting, 0);
  expect_u64("fd_stat_get_file_flags", st.fs_flags, 0);
  expect("fd_stat_get_bad_fd", cloudabi_sys_fd_stat_get(4242, &st), CLOUDABI_EBADF);

  /* Rights only shrink. */
  cloudabi_fd_t g;
  expect("fd_stat_put_dup", cloudabi_sys_fd_dup(f, &g), 0);
  st.fs_rights_base = CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_SEEK | CLOUDABI_RIGHT_FD_TELL;
  st.fs_rights_inheriting = 0;
  expect("fd_stat_put_shrink", cloudabi_sys_fd_stat_put(g, &st, CLOUDABI_FDSTAT_RIGHTS), 0);
  expect_u64("fd_stat_put_shrunk", rights_of(g), CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_SEEK | CLOUDABI_RIGHT_FD_TELL);
  st.fs_rights_base |= CLOUDABI_RIGHT_FD_WRITE;
  expect("fd_stat_put_grow", cloudabi_sys_fd_stat_put(g, &st, CLOUDABI_FDSTAT_RIGHTS), CLOUDABI_ENOTCAPABLE);
  expect_u64("fd_stat_put_grow_unchanged", rights_of(g), CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_SEEK | CLOUDABI_RIGHT_FD_TELL);
  st.fs_rights_base = CLOUDABI_RIGHT_FD_READ;
  st.fs_rights_inheriting = CLOUDABI_RIGHT_FD_READ;
  expect("fd_stat_put_grow_inheriting", cloudabi_sys_fd_stat_put(g, &st, CLOUDABI_FDSTAT_RIGHTS), CLOUDABI_ENOTCAPABLE);
  expect_u64("fd_stat_put_original_rights", rights_of(f), FILE_RIGHTS);
  st.fs_rights_base = 0;
  st.fs_rights_inheriting = 0;
  expect("fd_stat_put_none", cloudabi_sys_fd_stat_put(g, &st, CLOUDABI_FDSTAT_RIGHTS), 0);
  cloudabi_fdstat_t st2;
  expect("fd_stat_get_no_rights", cloudabi_sys_fd_stat_get(g, &st2), 0);
  expect_u64("fd_stat_get_no_rights_base", st2.fs_rights_base, 0);
  expect("fd_stat_put_no_rights_flags", cloudabi_sys_fd_stat_put(g, &st, CLOUDABI_FDSTAT_FLAGS), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(g);

  expect("fd_stat_put_no_flags", cloudabi_sys_fd_stat_put(f, &st, 0), CLOUDABI_EINVAL);
  expect("fd_stat_put_both", cloudabi_sys_fd_stat_put(f, &st, CLOUDABI_FDSTAT_FLAGS | CLOUDABI_FDSTAT_RIGHTS),
         CLOUDABI_EINVAL);
  expect("fd_stat_put_bad_fd", cloudabi_sys_fd_stat_put(4242, &st, CLOUDABI_FDSTAT_RIGHTS), CLOUDABI_EBADF);
  expect("fd_stat_put_wild_pointer", cloudabi_sys_fd_stat_put(f, (cloudabi_fdstat_t *)16, CLOUDABI_FDSTAT_RIGHTS),
         CLOUDABI_EFAULT);

  /* Flags: append mode. */
  cloudabi_fd_t noflags = without(f, CLOUDABI_RIGHT_FD_STAT_PUT_FLAGS, 0);
  st.fs_flags = CLOUDABI_FDFLAG_APPEND;
  expect("fd_stat_put_flags_no_right", cloudabi_sys_fd_stat_put(noflags, &st, CLOUDABI_FDSTAT_FLAGS),
         CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(noflags);
  size_t n;
  cloudabi_ciovec_t iov = {.buf = "abcdef", .buf_len = 6};
  expect("fd_stat_put_append_write1", cloudabi_sys_fd_write(f, &iov, 1, &n), 0);
  expect("fd_stat_put_append", cloudabi_sys_fd_stat_put(f, &st, CLOUDABI_FDSTAT_FLAGS), 0);
  expect("fd_stat_get_append", cloudabi_sys_fd_stat_get(f, &st2), 0);
  expect_u64("fd_stat_get_append_flag", st2.fs_flags, CLOUDABI_FDFLAG_APPEND);
  cloudabi_filesize_t off;
  expect("fd_stat_put_append_seek", cloudabi_sys_fd_seek(f, 0, CLOUDABI_WHENCE_SET, &off), 0);
  cloudabi_ciovec_t iov2 = {.buf = "XY", .buf_len = 2};
  expect("fd_stat_put_append_write2", cloudabi_sys_fd_write(f, &iov2, 1, &n), 0);
  cloudabi_filestat_t fs;
  cloudabi_sys_file_stat_fget(f, &fs);
  expect_u64("fd_stat_put_append_size", fs.st_size, 8);
  char buf[8];
  cloudabi_iovec_t in = {.buf = buf, .buf_len = 8};
  expect("fd_stat_put_append_read", cloudabi_sys_fd_pread(f, &in, 1, 0, &n), 0);
  expect_true("fd_stat_put_append_data", n == 8 && memcmp(buf, "abcdefXY", 8) == 0);

  /* Synchronous writes. */
  st.fs_flags = CLOUDABI_FDFLAG_SYNC;
  expect("fd_stat_put_sync", cloudabi_sys_fd_stat_put(f, &st, CLOUDABI_FDSTAT_FLAGS), 0);
  expect("fd_stat_get_sync", cloudabi_sys_fd_stat_get(f, &st2), 0);
  expect_u64("fd_stat_get_sync_flag", st2.fs_flags, CLOUDABI_FDFLAG_SYNC);
  expect("fd_stat_put_sync_write", cloudabi_sys_fd_write(f, &iov2, 1, &n), 0);
  st.fs_flags = 0x100;
  expect("fd_stat_put_unknown_flag", cloudabi_sys_fd_stat_put(f, &st, CLOUDABI_FDSTAT_FLAGS), CLOUDABI_EINVAL);
  st.fs_flags = 0;
  expect("fd_stat_put_clear", cloudabi_sys_fd_stat_put(f, &st, CLOUDABI_FDSTAT_FLAGS), 0);
  expect("fd_stat_get_clear", cloudabi_sys_fd_stat_get(f, &st2), 0);
  expect_u64("fd_stat_get_clear_flags", st2.fs_flags, 0);

  /* fd_sync and fd_datasync. */
  expect("fd_sync", cloudabi_sys_fd_sync(f), 0);
  expect("fd_datasync", cloudabi_sys_fd_datasync(f), 0);
  cloudabi_fd_t nosync = without(f, CLOUDABI_RIGHT_FD_SYNC, 0);
  cloudabi_fd_t nodatasync = without(f, CLOUDABI_RIGHT_FD_DATASYNC, 0);
  expect("fd_sync_no_right", cloudabi_sys_fd_sync(nosync), CLOUDABI_ENOTCAPABLE);
  expect("fd_datasync_with_only_sync", cloudabi_sys_fd_datasync(nosync), 0);
  expect("fd_datasync_no_right", cloudabi_sys_fd_datasync(nodatasync), CLOUDABI_ENOTCAPABLE);
  expect("fd_sync_bad_fd", cloudabi_sys_fd_sync(4242), CLOUDABI_EBADF);
  expect("fd_datasync_bad_fd", cloudabi_sys_fd_datasync(4242), CLOUDABI_EBADF);
  expect("fd_sync_directory", cloudabi_sys_fd_sync(dir), 0);
  expect("fd_datasync_directory", cloudabi_sys_fd_datasync(dir), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(nosync);
  cloudabi_sys_fd_close(nodatasync);
  cloudabi_sys_fd_close(f);
}

static void test_directory_stat(cloudabi_fd_t dir) {
  cloudabi_fdstat_t st;
  expect("fd_stat_get_directory", cloudabi_sys_fd_stat_get(dir, &st), 0);
  expect_u64("fd_stat_get_directory_type", st.fs_filetype, CLOUDABI_FILETYPE_DIRECTORY);
  expect_true("fd_stat_get_directory_base",
              (st.fs_rights_base & CLOUDABI_RIGHT_FILE_OPEN) != 0 && (st.fs_rights_base & CLOUDABI_RIGHT_FD_READ) == 0 &&
                  (st.fs_rights_base & CLOUDABI_RIGHT_FD_WRITE) == 0);
  expect_true("fd_stat_get_directory_inheriting",
              (st.fs_rights_inheriting & FILE_RIGHTS) == FILE_RIGHTS &&
                  (st.fs_rights_inheriting & CLOUDABI_RIGHT_FILE_OPEN) != 0);
  expect("fd_stat_get_wild_pointer", cloudabi_sys_fd_stat_get(dir, (cloudabi_fdstat_t *)16), CLOUDABI_EFAULT);
}

static cloudabi_fd_t dups[1 << 16];

/* At the descriptor limit, calls that create descriptors are EMFILE. */
static void test_limit(cloudabi_fd_t dir) {
  /* Duplicates fill the table without using host files. */
  size_t ndups = 0;
  cloudabi_errno_t e = 0;
  while (ndups < sizeof(dups) / sizeof(dups[0]) && (e = cloudabi_sys_fd_dup(dir, &dups[ndups])) == 0)
    ndups++;
  expect("fd_limit_dup", e, CLOUDABI_EMFILE);
  cloudabi_fd_t a, b;
  expect("fd_create1_limit", cloudabi_sys_fd_create1(CLOUDABI_FILETYPE_SHARED_MEMORY, &a), CLOUDABI_EMFILE);
  expect("fd_create2_limit", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &a, &b), CLOUDABI_EMFILE);

  /* One free slot: fd_create2 needs two, and leaves the slot free. */
  cloudabi_fd_t freed = dups[--ndups];
  cloudabi_sys_fd_close(freed);
  expect("fd_create2_one_free", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &a, &b), CLOUDABI_EMFILE);
  expect("fd_create2_one_free_left_free", cloudabi_sys_fd_dup(dir, &dups[ndups]), 0);
  expect_u64("fd_create2_one_free_same_slot", dups[ndups], freed);
  ndups++;
  expect("fd_limit_full_again", cloudabi_sys_fd_dup(dir, &a), CLOUDABI_EMFILE);
  /* One free slot is enough for fd_create1. */
  cloudabi_sys_fd_close(dups[--ndups]);
  expect("fd_create1_one_free", cloudabi_sys_fd_create1(CLOUDABI_FILETYPE_SHARED_MEMORY, &a), 0);
  cloudabi_sys_fd_close(a);

  while (ndups > 0)
    cloudabi_sys_fd_close(dups[--ndups]);
  expect("fd_limit_released", cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &a, &b), 0);
  cloudabi_sys_fd_close(a);
  cloudabi_sys_fd_close(b);
}

void program_main(const argdata_t *ad) {
  cloudabi_fd_t dir = start(ad);
  test_directory_stat(dir);
  test_create1();
  test_create2();
  test_dup_replace(dir);
  test_seek_pread(dir);
  test_pwrite_append(dir);
  test_stat_put(dir);
  test_limit(dir);
  cloudabi_sys_proc_exit(failures);
}
