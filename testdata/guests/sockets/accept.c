/*
 * accept: serves n connections from a listener handle, one at a time: reads
 * a line and answers "hello LINE from PEER\n". Argdata: {listener: !listen,
 * out: !fd, n: N}. Reports its checks to out.
 */
#include "check.h"

void program_main(const argdata_t *ad) {
  argdata_t value;
  int n = 0;
  out = fd_arg(ad, "out");
  cloudabi_fd_t listener = fd_arg(ad, "listener");
  if (out == (cloudabi_fd_t)-1 || listener == (cloudabi_fd_t)-1 || sdk_argdata_map_lookup(ad, "n", &value) != 0 ||
      argdata_get_int(&value, &n) != 0)
    cloudabi_sys_proc_exit(125);

  cloudabi_fdstat_t st;
  expect("handle_stat", cloudabi_sys_fd_stat_get(listener, &st), 0);
  expect_u64("handle_type", st.fs_filetype, CLOUDABI_FILETYPE_SOCKET_DGRAM);
  expect_u64("handle_no_write", st.fs_rights_base & CLOUDABI_RIGHT_FD_WRITE, 0);
  expect("handle_send", send_bytes(listener, "x", 1, NULL, 0), CLOUDABI_ENOTCAPABLE);

  for (int i = 0; i < n; i++) {
    cloudabi_fd_t conn;
    char peer[128];
    cloudabi_errno_t e = sdk_accept(listener, &conn, peer, sizeof(peer));
    expect("accept", e, 0);
    if (e != 0)
      break;
    expect_u64("conn_type", stat_of(conn).fs_filetype, CLOUDABI_FILETYPE_SOCKET_STREAM);
    expect_true("conn_rights", (stat_of(conn).fs_rights_base & (CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_WRITE)) ==
                                   (CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FD_WRITE));
    char line[128];
    size_t len = 0;
    while (len < sizeof(line)) {
      size_t got = 0;
      cloudabi_iovec_t iov = {.buf = line + len, .buf_len = sizeof(line) - len};
      if (cloudabi_sys_fd_read(conn, &iov, 1, &got) != 0 || got == 0)
        break;
      len += got;
      if (line[len - 1] == '\n')
        break;
    }
    expect_true("read_line", len > 0 && line[len - 1] == '\n');
    char reply[300];
    size_t r = 0;
    memcpy(reply, "hello ", 6);
    r = 6;
    memcpy(reply + r, line, len - 1);
    r += len - 1;
    memcpy(reply + r, " from ", 6);
    r += 6;
    memcpy(reply + r, peer, strlen(peer));
    r += strlen(peer);
    reply[r++] = '\n';
    expect("reply", sdk_write_all(conn, reply, r), 0);
    expect("close", cloudabi_sys_fd_close(conn), 0);
  }
  cloudabi_sys_proc_exit(failures);
}
