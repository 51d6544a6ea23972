/*
 * pass: two programs, each given one end of a socket pair, pass a file
 * with reduced rights. Argdata: {mode: "send" or "recv", sock: !fd,
 * out: !fd, file: !fd (send only: a regular file with every right),
 * dir: !fd (send only: a directory with every right, holding a file
 * "inner" that contains "inner", next to a file "secret")}.
 *
 * The sender passes the file twice: once without FD_WRITE (and with
 * FD_READ), once with every right; then the file and the directory with
 * their rights set to unusual sets, and waits for the receiver's "done".
 * The receiver checks that the first arrives without FD_WRITE and cannot
 * regain it or write, that the second can write, and that the last two
 * arrive with exactly the rights they were sent with: the directory can
 * open "inner" within its inheriting rights, and nothing outside it.
 */
#include "check.h"

#define R(x) CLOUDABI_RIGHT_##x

/* The rights of the file and the directory passed last: sets no type has
   at most, base and inheriting rights different. */
#define ODD_FILE_BASE (R(FD_READ) | R(FD_TELL) | R(FILE_STAT_FGET) | R(POLL_FD_READWRITE))
#define ODD_DIR_BASE (R(FILE_OPEN) | R(FILE_STAT_GET) | R(FILE_READLINK))
#define ODD_DIR_INHERITING (R(FD_READ) | R(FD_SEEK) | R(FILE_STAT_FGET))

/* set_rights returns a duplicate of fd with exactly the given rights, or
   aborts the program. */
static cloudabi_fd_t set_rights(cloudabi_fd_t fd, cloudabi_rights_t base, cloudabi_rights_t inheriting) {
  cloudabi_fd_t dup;
  cloudabi_fdstat_t st;
  if (cloudabi_sys_fd_dup(fd, &dup) != 0 || cloudabi_sys_fd_stat_get(dup, &st) != 0) {
    sdk_puts(out, "FAIL set_rights: fd_dup or fd_stat_get\n");
    cloudabi_sys_proc_exit(126);
  }
  st.fs_rights_base = base;
  st.fs_rights_inheriting = inheriting;
  if (cloudabi_sys_fd_stat_put(dup, &st, CLOUDABI_FDSTAT_RIGHTS) != 0) {
    sdk_puts(out, "FAIL set_rights: fd_stat_put\n");
    cloudabi_sys_proc_exit(126);
  }
  return dup;
}

static cloudabi_errno_t open_read(cloudabi_fd_t dir, cloudabi_lookupflags_t lookup, const char *path,
                                  cloudabi_rights_t base, cloudabi_fd_t *fd) {
  cloudabi_lookup_t l = {.fd = dir, .flags = lookup};
  cloudabi_fdstat_t st = {.fs_filetype = 0, .fs_flags = 0, .fs_rights_base = base, .fs_rights_inheriting = 0};
  return cloudabi_sys_file_open(l, path, strlen(path), 0, &st, fd);
}

static void sender(cloudabi_fd_t sock, cloudabi_fd_t file, cloudabi_fd_t dir) {
  cloudabi_fd_t ro = without(file, R(FD_WRITE) | R(FILE_ALLOCATE) | R(FILE_STAT_FPUT_SIZE), 0);
  expect("send_reduced", send_bytes(sock, "r", 1, &ro, 1), 0);
  expect("send_full", send_bytes(sock, "f", 1, &file, 1), 0);
  cloudabi_sys_fd_close(ro);
  cloudabi_fd_t oddfile = set_rights(file, ODD_FILE_BASE, 0);
  cloudabi_fd_t odddir = set_rights(dir, ODD_DIR_BASE, ODD_DIR_INHERITING);
  expect("send_odd_file", send_bytes(sock, "u", 1, &oddfile, 1), 0);
  expect("send_odd_dir", send_bytes(sock, "d", 1, &odddir, 1), 0);
  cloudabi_sys_fd_close(oddfile);
  cloudabi_sys_fd_close(odddir);
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

  /* Exactly the rights sent, base and inheriting. */
  cloudabi_fd_t odd[1];
  nfds = 1;
  expect("recv_odd_file", sdk_recv_fds(sock, buf, 1, odd, &nfds, &n, &flags), 0);
  expect_true("recv_odd_file_data", nfds == 1 && n == 1 && buf[0] == 'u');
  st = stat_of(odd[0]);
  expect_u64("odd_file_type", st.fs_filetype, CLOUDABI_FILETYPE_REGULAR_FILE);
  expect_u64("odd_file_base", st.fs_rights_base, ODD_FILE_BASE);
  expect_u64("odd_file_inheriting", st.fs_rights_inheriting, 0);
  nfds = 1;
  expect("recv_odd_dir", sdk_recv_fds(sock, buf, 1, odd, &nfds, &n, &flags), 0);
  expect_true("recv_odd_dir_data", nfds == 1 && n == 1 && buf[0] == 'd');
  cloudabi_fd_t d = odd[0];
  st = stat_of(d);
  expect_u64("odd_dir_type", st.fs_filetype, CLOUDABI_FILETYPE_DIRECTORY);
  expect_u64("odd_dir_base", st.fs_rights_base, ODD_DIR_BASE);
  expect_u64("odd_dir_inheriting", st.fs_rights_inheriting, ODD_DIR_INHERITING);

  /* The directory opens what is beneath it, within its rights. */
  cloudabi_fd_t f;
  expect("odd_dir_open", open_read(d, 0, "inner", R(FD_READ) | R(FD_SEEK), &f), 0);
  expect_u64("odd_dir_open_rights", stat_of(f).fs_rights_base, R(FD_READ) | R(FD_SEEK));
  size_t got = 0;
  cloudabi_iovec_t in = {.buf = buf, .buf_len = sizeof(buf)};
  expect("odd_dir_read", cloudabi_sys_fd_read(f, &in, 1, &got), 0);
  expect_true("odd_dir_read_data", got == 5 && memcmp(buf, "inner", 5) == 0);
  cloudabi_sys_fd_close(f);
  expect("odd_dir_open_write", open_read(d, 0, "inner", R(FD_WRITE), &f), CLOUDABI_ENOTCAPABLE);
  expect("odd_dir_unlink", cloudabi_sys_file_unlink(d, "inner", 5, 0), CLOUDABI_ENOTCAPABLE);
  expect("odd_dir_escape", open_read(d, 0, "../secret", R(FD_READ), &f), CLOUDABI_ENOTCAPABLE);
  expect("odd_dir_escape_link", open_read(d, CLOUDABI_LOOKUP_SYMLINK_FOLLOW, "out", R(FD_READ), &f),
         CLOUDABI_ENOTCAPABLE);
  expect("odd_dir_absolute", open_read(d, 0, "/etc/passwd", R(FD_READ), &f), CLOUDABI_ENOTCAPABLE);
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
    sender(sock, fd_arg(ad, "file"), fd_arg(ad, "dir"));
  else
    receiver(sock);
  cloudabi_sys_proc_exit(failures);
}
