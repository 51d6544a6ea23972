/*
 * pass: two programs, each given one end of a socket pair, pass a file
 * with reduced rights. Argdata: {mode: "send" or "recv", sock: !fd,
 * out: !fd, file: !fd (send only: a regular file with every right)}.
 *
 * The sender passes the file twice: once without FD_WRITE (and with
 * FD_READ), once with every right, then waits for the receiver's "done".
 * The receiver checks that the first arrives without FD_WRITE and cannot
 * regain it or write, and that the second can write.
 */
#include "check.h"

#define R(x) CLOUDABI_RIGHT_##x

static void sender(cloudabi_fd_t sock, cloudabi_fd_t file) {
  cloudabi_fd_t ro = without(file, R(FD_WRITE) | R(FILE_ALLOCATE) | R(FILE_STAT_FPUT_SIZE), 0);
  expect("send_reduced", send_bytes(sock, "r", 1, &ro, 1), 0);
  expect("send_full", send_bytes(sock, "f", 1, &file, 1), 0);
  cloudabi_sys_fd_close(ro);
  char buf[8];
  cloudabi_fd_t fds[1];
  size_t nfds = 1, n = 0;
  expect("recv_done", sdk_recv_fds(sock, buf, sizeof(buf), fds, &nfds, &n, NULL), 0);
  expect_true("done", n == 4 && memcmp(buf, "done", 4) == 0);
}

static void receiver(cloudabi_fd_t sock) {
  char buf[8];
  cloudabi_fd_t fds[2];
  size_t nfds = 2, n = 0;
  cloudabi_roflags_t flags;
  /* Blocks until the sender has run. */
  expect("recv_reduced", sdk_recv_fds(sock, buf, 1, fds, &nfds, &n, &flags), 0);
  expect_u64("recv_reduced_fds", nfds, 1);
  expect_true("recv_reduced_data", n == 1 && buf[0] == 'r');
  cloudabi_fdstat_t st;
  expect("reduced_stat", cloudabi_sys_fd_stat_get(fds[0], &st), 0);
  expect_u64("reduced_type", st.fs_filetype, CLOUDABI_FILETYPE_REGULAR_FILE);
  expect_u64("reduced_no_write", st.fs_rights_base & R(FD_WRITE), 0);
  expect_u64("reduced_can_read", st.fs_rights_base & R(FD_READ), R(FD_READ));
  expect("reduced_write", write_bytes(fds[0], "x", 1), CLOUDABI_ENOTCAPABLE);
  st.fs_rights_base |= R(FD_WRITE);
  expect("reduced_regain", cloudabi_sys_fd_stat_put(fds[0], &st, CLOUDABI_FDSTAT_RIGHTS), CLOUDABI_ENOTCAPABLE);
  cloudabi_fd_t dup;
  expect("reduced_dup", cloudabi_sys_fd_dup(fds[0], &dup), 0);
  expect("reduced_dup_write", write_bytes(dup, "x", 1), CLOUDABI_ENOTCAPABLE);
  /* Sending it on to itself does not launder it either. */
  cloudabi_fd_t a, b, again[1];
  cloudabi_sys_fd_create2(CLOUDABI_FILETYPE_SOCKET_DGRAM, &a, &b);
  expect("relay_send", send_bytes(a, "z", 1, &dup, 1), 0);
  size_t one = 1;
  expect("relay_recv", sdk_recv_fds(b, buf, sizeof(buf), again, &one, &n, NULL), 0);
  expect("relay_write", write_bytes(again[0], "x", 1), CLOUDABI_ENOTCAPABLE);

  nfds = 2;
  expect("recv_full", sdk_recv_fds(sock, buf, 1, fds + 1, &nfds, &n, &flags), 0);
  expect_u64("recv_full_fds", nfds, 1);
  expect("full_write", write_bytes(fds[1], "ok", 2), 0);
  expect("send_done", send_bytes(sock, "done", 4, NULL, 0), 0);
}

void program_main(const argdata_t *ad) {
  argdata_t value;
  const char *mode = "";
  out = fd_arg(ad, "out");
  cloudabi_fd_t sock = fd_arg(ad, "sock");
  if (out == (cloudabi_fd_t)-1 || sock == (cloudabi_fd_t)-1 || sdk_argdata_map_lookup(ad, "mode", &value) != 0 ||
      argdata_get_str_c(&value, &mode) != 0)
    cloudabi_sys_proc_exit(125);
  if (strcmp(mode, "send") == 0)
    sender(sock, fd_arg(ad, "file"));
  else
    receiver(sock);
  cloudabi_sys_proc_exit(failures);
}
