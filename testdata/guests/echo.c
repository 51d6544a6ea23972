/*
 * echo: copies everything read from one fd to another until end of file.
 *
 * Argdata: a map {in: !fd N, out: !fd M}.
 * Exit status: 0 after end of file (fd_read returning 0 bytes), 2 when the
 * argdata lacks an fd, 3 on a read error, 4 on a write error.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <program.h>

static char buffer[65536];

void program_main(const argdata_t *ad) {
  argdata_t value;
  int in, out;
  if (sdk_argdata_map_lookup(ad, "in", &value) != 0 ||
      argdata_get_fd(&value, &in) != 0 ||
      sdk_argdata_map_lookup(ad, "out", &value) != 0 ||
      argdata_get_fd(&value, &out) != 0)
    cloudabi_sys_proc_exit(2);
  for (;;) {
    cloudabi_iovec_t iov = {.buf = buffer, .buf_len = sizeof(buffer)};
    size_t nread;
    if (cloudabi_sys_fd_read((cloudabi_fd_t)in, &iov, 1, &nread) != 0)
      cloudabi_sys_proc_exit(3);
    if (nread == 0)
      cloudabi_sys_proc_exit(0);
    if (sdk_write_all((cloudabi_fd_t)out, buffer, nread) != 0)
      cloudabi_sys_proc_exit(4);
  }
}
