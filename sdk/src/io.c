/* Output helpers and integer formatting. */
#include <cloudabi_sdk.h>

cloudabi_errno_t sdk_write_all(cloudabi_fd_t fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    cloudabi_ciovec_t iov = {.buf = p, .buf_len = len};
    size_t written = 0;
    cloudabi_errno_t error = cloudabi_sys_fd_write(fd, &iov, 1, &written);
    if (error != 0)
      return error;
    if (written == 0 || written > len)
      return CLOUDABI_EIO;
    p += written;
    len -= written;
  }
  return 0;
}

cloudabi_errno_t sdk_puts(cloudabi_fd_t fd, const char *str) {
  return sdk_write_all(fd, str, strlen(str));
}

size_t sdk_fmt_u64(char *buf, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i)
    buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return n;
}

size_t sdk_fmt_i64(char *buf, int64_t v) {
  if (v >= 0)
    return sdk_fmt_u64(buf, (uint64_t)v);
  buf[0] = '-';
  /* Negate in unsigned arithmetic so INT64_MIN works. */
  return 1 + sdk_fmt_u64(buf + 1, 0 - (uint64_t)v);
}

size_t sdk_fmt_x64(char *buf, uint64_t v) {
  char tmp[16];
  size_t n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i)
    buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return n;
}
