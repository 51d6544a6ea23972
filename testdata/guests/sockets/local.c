/*
 * local: sock_recv, sock_send and sock_shutdown within one process, on
 * socket pairs from fd_create2. Argdata: {out: !fd, file: !fd} where file
 * is a regular file with every right.
 */
#include "check.h"

#define R(x) CLOUDABI_RIGHT_##x

static cloudabi_fd_t file;

/* recv1 receives into buf with room for nfds descriptors. */
static cloudabi_errno_t recv1(cloudabi_fd_t sock, char *buf, size_t len, cloudabi_fd_t *fds, size_t nfds,
                              cloudabi_riflags_t flags, cloudabi_recv_out_t *ro) {
  cloudabi_iovec_t iov = {.buf = buf, .buf_len = len};
  cloudabi_recv_in_t in = {.ri_data = &iov, .ri_data_len = 1, .ri_fds = fds, .ri_fds_len = nfds, .ri_flags = flags};
  memset(ro, 0xaa, sizeof(*ro));
  return cloudabi_sys_sock_recv(sock, &in, ro);
}

static void test_pass(cloudabi_filetype_t type, const char *prefix) {
  char name[64];
#define N(s) (memcpy(name, prefix, strlen(prefix)), memcpy(name + strlen(prefix), s, sizeof(s)), name)
  cloudabi_fd_t a, b;
  expect(N("_create2"), cloudabi_sys_fd_create2(type, &a, &b), 0);

  /* A descriptor with every right arrives with them. */
  char buf[16];
  cloudabi_fd_t got[4];
  cloudabi_recv_out_t ro;
  expect(N("_send_full"), send_bytes(a, "x", 1, &file, 1), 0);
  expect(N("_recv_full"), recv1(b, buf, sizeof(buf), got, 4, 0, &ro), 0);
  expect_u64(N("_recv_full_datalen"), ro.ro_datalen, 1);
  expect_u64(N("_recv_full_fdslen"), ro.ro_fdslen, 1);
  expect_u64(N("_recv_full_flags"), ro.ro_flags, 0);
  cloudabi_fdstat_t want = stat_of(file), st = stat_of(got[0]);
  expect_u64(N("_recv_full_type"), st.fs_filetype, CLOUDABI_FILETYPE_REGULAR_FILE);
  expect_u64(N("_recv_full_rights"), st.fs_rights_base, want.fs_rights_base);
  expect_true(N("_recv_full_new_number"), got[0] != file && got[0] != a && got[0] != b);
  expect(N("_recv_full_write"), write_bytes(got[0], "w", 1), 0);
  cloudabi_sys_fd_close(got[0]);

  /* Reduced rights stay reduced. */
  cloudabi_fd_t ro_file = without(file, R(FD_WRITE) | R(FILE_ALLOCATE), 0);
  expect(N("_send_reduced"), send_bytes(a, "y", 1, &ro_file, 1), 0);
  expect(N("_recv_reduced"), recv1(b, buf, sizeof(buf), got, 4, 0, &ro), 0);
  expect_u64(N("_recv_reduced_fdslen"), ro.ro_fdslen, 1);
  st = stat_of(got[0]);
  expect_u64(N("_recv_reduced_rights"), st.fs_rights_base, stat_of(ro_file).fs_rights_base);
  expect_true(N("_recv_reduced_no_write_right"), (st.fs_rights_base & R(FD_WRITE)) == 0);
  expect(N("_recv_reduced_write"), write_bytes(got[0], "w", 1), CLOUDABI_ENOTCAPABLE);
  st.fs_rights_base |= R(FD_WRITE);
  expect(N("_recv_reduced_regain"), cloudabi_sys_fd_stat_put(got[0], &st, CLOUDABI_FDSTAT_RIGHTS),
         CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(got[0]);

  /* Shared memory keeps its type, and non-blocking mode travels. */
  cloudabi_fd_t shm, c, d;
  expect(N("_create1"), cloudabi_sys_fd_create1(CLOUDABI_FILETYPE_SHARED_MEMORY, &shm), 0);
  expect(N("_create2_nb"), cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &c, &d), 0);
  cloudabi_fdstat_t nb = {.fs_flags = CLOUDABI_FDFLAG_NONBLOCK};
  expect(N("_nonblock"), cloudabi_sys_fd_stat_put(c, &nb, CLOUDABI_FDSTAT_FLAGS), 0);
  cloudabi_fd_t two[2] = {shm, c};
  expect(N("_send_two"), send_bytes(a, "z", 1, two, 2), 0);
  expect(N("_recv_two"), recv1(b, buf, sizeof(buf), got, 4, 0, &ro), 0);
  expect_u64(N("_recv_two_fdslen"), ro.ro_fdslen, 2);
  expect_u64(N("_recv_shm_type"), stat_of(got[0]).fs_filetype, CLOUDABI_FILETYPE_SHARED_MEMORY);
  expect_u64(N("_recv_shm_rights"), stat_of(got[0]).fs_rights_base, stat_of(shm).fs_rights_base);
  expect_u64(N("_recv_nonblock_flag"), stat_of(got[1]).fs_flags, CLOUDABI_FDFLAG_NONBLOCK);
  expect_u64(N("_recv_socket_type"), stat_of(got[1]).fs_filetype, CLOUDABI_FILETYPE_SOCKET_STREAM);
  size_t n;
  cloudabi_iovec_t iov = {.buf = buf, .buf_len = sizeof(buf)};
  expect(N("_recv_nonblock_read"), cloudabi_sys_fd_read(got[1], &iov, 1, &n), CLOUDABI_EAGAIN);
  cloudabi_sys_fd_close(got[0]);
  cloudabi_sys_fd_close(got[1]);
  cloudabi_sys_fd_close(shm);
  cloudabi_sys_fd_close(c);
  cloudabi_sys_fd_close(d);

  /* Truncated descriptor lists: the excess is closed. */
  cloudabi_fd_t three[3] = {ro_file, file, ro_file};
  expect(N("_send_three"), send_bytes(a, "t", 1, three, 3), 0);
  expect(N("_recv_one_of_three"), recv1(b, buf, sizeof(buf), got, 1, 0, &ro), 0);
  expect_u64(N("_recv_one_of_three_fdslen"), ro.ro_fdslen, 1);
  expect_u64(N("_recv_one_of_three_flags"), ro.ro_flags, CLOUDABI_SOCK_RECV_FDS_TRUNCATED);
  expect_u64(N("_recv_one_of_three_rights"), stat_of(got[0]).fs_rights_base, stat_of(ro_file).fs_rights_base);
  cloudabi_fdstat_t none;
  expect(N("_recv_excess_closed"), cloudabi_sys_fd_stat_get(got[0] + 1, &none), CLOUDABI_EBADF);
  cloudabi_sys_fd_close(got[0]);
  expect(N("_send_one_again"), send_bytes(a, "u", 1, &file, 1), 0);
  expect(N("_recv_no_room"), recv1(b, buf, sizeof(buf), got, 0, 0, &ro), 0);
  expect_u64(N("_recv_no_room_fdslen"), ro.ro_fdslen, 0);
  expect_u64(N("_recv_no_room_flags"), ro.ro_flags, CLOUDABI_SOCK_RECV_FDS_TRUNCATED);
  expect_u64(N("_recv_no_room_datalen"), ro.ro_datalen, 1);

  /* PEEK leaves the message (and its descriptors) in place. */
  expect(N("_send_peek"), send_bytes(a, "hello", 5, &ro_file, 1), 0);
  memset(buf, 0, sizeof(buf));
  expect(N("_recv_peek"), recv1(b, buf, sizeof(buf), got, 4, CLOUDABI_SOCK_RECV_PEEK, &ro), 0);
  expect_u64(N("_recv_peek_datalen"), ro.ro_datalen, 5);
  expect_true(N("_recv_peek_data"), memcmp(buf, "hello", 5) == 0);
  expect_u64(N("_recv_peek_fdslen"), ro.ro_fdslen, 1);
  expect_u64(N("_recv_peek_rights"), stat_of(got[0]).fs_rights_base, stat_of(ro_file).fs_rights_base);
  cloudabi_sys_fd_close(got[0]);
  memset(buf, 0, sizeof(buf));
  expect(N("_recv_after_peek"), recv1(b, buf, sizeof(buf), got, 4, 0, &ro), 0);
  expect_u64(N("_recv_after_peek_datalen"), ro.ro_datalen, 5);
  expect_true(N("_recv_after_peek_data"), memcmp(buf, "hello", 5) == 0);
  expect_u64(N("_recv_after_peek_fdslen"), ro.ro_fdslen, 1);
  expect_u64(N("_recv_after_peek_rights"), stat_of(got[0]).fs_rights_base, stat_of(ro_file).fs_rights_base);
  cloudabi_sys_fd_close(got[0]);

  /* Data truncation (datagrams only: a stream keeps the rest). */
  expect(N("_send_long"), send_bytes(a, "0123456789", 10, NULL, 0), 0);
  expect(N("_recv_short"), recv1(b, buf, 4, got, 0, 0, &ro), 0);
  expect_u64(N("_recv_short_datalen"), ro.ro_datalen, 4);
  if (type == CLOUDABI_FILETYPE_SOCKET_DGRAM) {
    expect_u64(N("_recv_short_flags"), ro.ro_flags, CLOUDABI_SOCK_RECV_DATA_TRUNCATED);
  } else {
    expect_u64(N("_recv_short_flags"), ro.ro_flags, 0);
    expect(N("_recv_rest"), recv1(b, buf, 6, got, 0, CLOUDABI_SOCK_RECV_WAITALL, &ro), 0);
    expect_u64(N("_recv_rest_datalen"), ro.ro_datalen, 6);
  }

  /* Non-blocking receive on an empty socket. */
  expect(N("_nonblock_b"), cloudabi_sys_fd_stat_put(b, &nb, CLOUDABI_FDSTAT_FLAGS), 0);
  expect(N("_recv_empty_nonblock"), recv1(b, buf, sizeof(buf), got, 4, 0, &ro), CLOUDABI_EAGAIN);

  /* Shutdown. */
  expect(N("_shutdown_bad_how"), cloudabi_sys_sock_shutdown(a, 0), CLOUDABI_EINVAL);
  expect(N("_shutdown_bad_how4"), cloudabi_sys_sock_shutdown(a, 4), CLOUDABI_EINVAL);
  expect(N("_shutdown_wr"), cloudabi_sys_sock_shutdown(a, CLOUDABI_SHUT_WR), 0);
  expect(N("_send_after_shutdown"), send_bytes(a, "x", 1, NULL, 0), CLOUDABI_EPIPE);
  if (type == CLOUDABI_FILETYPE_SOCKET_STREAM) {
    expect(N("_recv_eof"), recv1(b, buf, sizeof(buf), got, 4, 0, &ro), 0);
    expect_u64(N("_recv_eof_datalen"), ro.ro_datalen, 0);
  }
  cloudabi_fd_t noshut = without(a, R(SOCK_SHUTDOWN), 0);
  expect(N("_shutdown_no_right"), cloudabi_sys_sock_shutdown(noshut, CLOUDABI_SHUT_RD), CLOUDABI_ENOTCAPABLE);
  cloudabi_sys_fd_close(noshut);
  cloudabi_sys_fd_close(ro_file);
  cloudabi_sys_fd_close(a);
  cloudabi_sys_fd_close(b);
#undef N
}

static void test_errors(void) {
  cloudabi_fd_t a, b;
  cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_STREAM, &a, &b);
  char buf[8];
  cloudabi_fd_t got[2];
  cloudabi_recv_out_t ro;
  cloudabi_send_out_t so;
  cloudabi_iovec_t iov = {.buf = buf, .buf_len = sizeof(buf)};
  cloudabi_ciovec_t ciov = {.buf = "x", .buf_len = 1};
  cloudabi_recv_in_t ri = {.ri_data = &iov, .ri_data_len = 1, .ri_fds = got, .ri_fds_len = 2};
  cloudabi_send_in_t si = {.si_data = &ciov, .si_data_len = 1};

  expect("recv_ebadf", cloudabi_sys_sock_recv(999, &ri, &ro), CLOUDABI_EBADF);
  expect("send_ebadf", cloudabi_sys_sock_send(999, &si, &so), CLOUDABI_EBADF);
  expect("shutdown_ebadf", cloudabi_sys_sock_shutdown(999, CLOUDABI_SHUT_RD), CLOUDABI_EBADF);
  expect("recv_enotsock", cloudabi_sys_sock_recv(file, &ri, &ro), CLOUDABI_ENOTSOCK);
  expect("send_enotsock", cloudabi_sys_sock_send(file, &si, &so), CLOUDABI_ENOTSOCK);
  expect("shutdown_file", cloudabi_sys_sock_shutdown(file, CLOUDABI_SHUT_RD), CLOUDABI_ENOTCAPABLE);

  cloudabi_fd_t noread = without(b, R(FD_READ), 0), nowrite = without(a, R(FD_WRITE), 0);
  expect("recv_enotcapable", cloudabi_sys_sock_recv(noread, &ri, &ro), CLOUDABI_ENOTCAPABLE);
  expect("send_enotcapable", cloudabi_sys_sock_send(nowrite, &si, &so), CLOUDABI_ENOTCAPABLE);

  expect("recv_wild_in", cloudabi_sys_sock_recv(b, (const cloudabi_recv_in_t *)16, &ro), CLOUDABI_EFAULT);
  expect("recv_wild_out", cloudabi_sys_sock_recv(b, &ri, (cloudabi_recv_out_t *)16), CLOUDABI_EFAULT);
  cloudabi_iovec_t wild = {.buf = (void *)16, .buf_len = 8};
  cloudabi_recv_in_t ri_wild = {.ri_data = &wild, .ri_data_len = 1};
  expect("recv_wild_iovec", cloudabi_sys_sock_recv(b, &ri_wild, &ro), CLOUDABI_EFAULT);
  cloudabi_recv_in_t ri_wild_fds = {.ri_data = &iov, .ri_data_len = 1, .ri_fds = (cloudabi_fd_t *)16, .ri_fds_len = 2};
  expect("recv_wild_fds", cloudabi_sys_sock_recv(b, &ri_wild_fds, &ro), CLOUDABI_EFAULT);
  expect("send_wild_in", cloudabi_sys_sock_send(a, (const cloudabi_send_in_t *)16, &so), CLOUDABI_EFAULT);
  expect("send_wild_out", cloudabi_sys_sock_send(a, &si, (cloudabi_send_out_t *)16), CLOUDABI_EFAULT);
  cloudabi_ciovec_t cwild = {.buf = (const void *)16, .buf_len = 8};
  cloudabi_send_in_t si_wild = {.si_data = &cwild, .si_data_len = 1};
  expect("send_wild_iovec", cloudabi_sys_sock_send(a, &si_wild, &so), CLOUDABI_EFAULT);
  cloudabi_send_in_t si_wild_fds = {.si_data = &ciov, .si_data_len = 1, .si_fds = (const cloudabi_fd_t *)16, .si_fds_len = 1};
  expect("send_wild_fds", cloudabi_sys_sock_send(a, &si_wild_fds, &so), CLOUDABI_EFAULT);
  cloudabi_fd_t bad = 999;
  cloudabi_send_in_t si_bad_fd = {.si_data = &ciov, .si_data_len = 1, .si_fds = &bad, .si_fds_len = 1};
  expect("send_bad_passed_fd", cloudabi_sys_sock_send(a, &si_bad_fd, &so), CLOUDABI_EBADF);
  static cloudabi_fd_t many[300];
  for (int i = 0; i < 300; i++)
    many[i] = file;
  cloudabi_send_in_t si_many = {.si_data = &ciov, .si_data_len = 1, .si_fds = many, .si_fds_len = 300};
  expect("send_too_many_fds", cloudabi_sys_sock_send(a, &si_many, &so), CLOUDABI_EINVAL);
  si_many.si_fds_len = 200;
  expect("send_200_fds", cloudabi_sys_sock_send(a, &si_many, &so), 0);
  static cloudabi_fd_t got200[256];
  cloudabi_recv_in_t ri200 = {.ri_data = &iov, .ri_data_len = 1, .ri_fds = got200, .ri_fds_len = 256};
  expect("recv_200_fds", cloudabi_sys_sock_recv(b, &ri200, &ro), 0);
  expect_u64("recv_200_fds_fdslen", ro.ro_fdslen, 200);
  for (size_t i = 0; i < ro.ro_fdslen; i++)
    cloudabi_sys_fd_close(got200[i]);
  /* A message in nobody's way is never lost: nothing was sent. */
  expect("send_none", cloudabi_sys_sock_send(a, &si, &so), 0);
  expect_u64("send_none_datalen", so.so_datalen, 1);

  /* A full socket: non-blocking sends stop with EAGAIN. */
  cloudabi_fdstat_t nb = {.fs_flags = CLOUDABI_FDFLAG_NONBLOCK};
  cloudabi_sys_fd_stat_put(a, &nb, CLOUDABI_FDSTAT_FLAGS);
  static char big[65536];
  cloudabi_ciovec_t bigv = {.buf = big, .buf_len = sizeof(big)};
  cloudabi_send_in_t si_big = {.si_data = &bigv, .si_data_len = 1};
  cloudabi_errno_t e = 0;
  for (int i = 0; i < 1000 && e == 0; i++)
    e = cloudabi_sys_sock_send(a, &si_big, &so);
  expect("send_full_eagain", e, CLOUDABI_EAGAIN);
  cloudabi_sys_fd_close(noread);
  cloudabi_sys_fd_close(nowrite);
  cloudabi_sys_fd_close(a);
  cloudabi_sys_fd_close(b);
}

void program_main(const argdata_t *ad) {
  out = fd_arg(ad, "out");
  file = fd_arg(ad, "file");
  if (out == (cloudabi_fd_t)-1 || file == (cloudabi_fd_t)-1)
    cloudabi_sys_proc_exit(125);
  test_pass(CLOUDABI_FILETYPE_SOCKET_STREAM, "stream");
  test_pass(CLOUDABI_FILETYPE_SOCKET_DGRAM, "dgram");
  test_errors();
  cloudabi_sys_proc_exit(failures);
}
