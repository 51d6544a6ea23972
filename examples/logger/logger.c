/*
 * logger: an append-only logger.
 *
 * Argdata: a map {in: fd, log: fd, out: fd} (see logger.yaml). Every line
 * read from `in` (until end of file; a last line without a newline counts)
 * is appended to `log` as
 *
 *   2024-05-01T12:34:56.789Z the line
 *
 * (the time is the realtime clock, UTC, in milliseconds), each with one
 * fd_write. Then the program tries to damage the log in the four ways
 * a descriptor opened for appending must not allow, and reports to `out`
 * what happened:
 *
 *   logged N lines
 *   log flags: append
 *   fd_seek to offset 0: refused (ENOTCAPABLE)
 *   fd_pwrite at offset 0: refused (ENOTCAPABLE)
 *   file_stat_fput size 0: refused (ENOTCAPABLE)
 *   fd_stat_put clearing append: refused (ENOTCAPABLE)
 *
 * An attempt that succeeds is reported as "ALLOWED" (after a successful
 * fd_seek the program also writes "OVERWRITE\n", so its effect shows in
 * the log).
 *
 * Exit status: 0 when all four attempts were refused; 1 when one was
 * allowed; 2 bad argdata; 3 read error; 4 write error.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

static cloudabi_fd_t out;
static char inbuf[65536];
static char line[65536 + 32];

static void put(const char *s) { sdk_puts(out, s); }

static void put_u64(uint64_t v) {
  char num[24];
  num[sdk_fmt_u64(num, v)] = '\0';
  put(num);
}

static const char *errno_name(cloudabi_errno_t e) {
  switch (e) {
    case CLOUDABI_ENOTCAPABLE:
      return "ENOTCAPABLE";
    case CLOUDABI_ENOSYS:
      return "ENOSYS";
    case CLOUDABI_EBADF:
      return "EBADF";
    case CLOUDABI_EINVAL:
      return "EINVAL";
    case CLOUDABI_ESPIPE:
      return "ESPIPE";
    case CLOUDABI_EPERM:
      return "EPERM";
    case CLOUDABI_EACCES:
      return "EACCES";
  }
  return NULL;
}

static int get_fd(const argdata_t *ad, const char *key, cloudabi_fd_t *fd) {
  argdata_t value;
  int v;
  if (sdk_argdata_map_lookup(ad, key, &value) != 0 || argdata_get_fd(&value, &v) != 0)
    return -1;
  *fd = (cloudabi_fd_t)v;
  return 0;
}

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ " for t nanoseconds since 1970 into
 * buf (25 bytes) and returns 25. */
static size_t format_time(char *buf, cloudabi_timestamp_t t) {
  uint64_t secs = t / 1000000000u, ms = t / 1000000u % 1000;
  uint64_t days = secs / 86400, rem = secs % 86400;
  /* Civil date from days since 1970-01-01 (proleptic Gregorian). */
  uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
  uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  uint64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  uint64_t year = yoe + era * 400 + (month <= 2);
  uint64_t fields[] = {year, month, day, rem / 3600, rem / 60 % 60, rem % 60, ms};
  const int widths[] = {4, 2, 2, 2, 2, 2, 3};
  const char seps[] = "--T::.Z";
  size_t n = 0;
  for (int i = 0; i < 7; ++i) {
    uint64_t v = fields[i];
    for (int d = widths[i] - 1; d >= 0; --d, v /= 10)
      buf[n + (size_t)d] = (char)('0' + v % 10);
    n += (size_t)widths[i];
    buf[n++] = seps[i];
  }
  buf[n++] = ' ';
  return n;
}

static cloudabi_errno_t log_line(cloudabi_fd_t log, const char *text, size_t len) {
  cloudabi_timestamp_t now;
  cloudabi_sys_clock_time_get(CLOUDABI_CLOCK_REALTIME, 1000000, &now);
  size_t n = format_time(line, now);
  memcpy(line + n, text, len);
  n += len;
  line[n++] = '\n';
  /* One write: with O_APPEND each line lands whole at the end, even with
   * other writers. */
  return sdk_write_all(log, line, n);
}

static int allowed;

static void outcome(const char *what, cloudabi_errno_t error) {
  put(what);
  if (error == 0) {
    put(": ALLOWED\n");
    allowed = 1;
    return;
  }
  put(": refused (");
  const char *name = errno_name(error);
  if (name != NULL) {
    put(name);
  } else {
    put("errno ");
    put_u64(error);
  }
  put(")\n");
}

void program_main(const argdata_t *ad) {
  cloudabi_fd_t in, log;
  if (get_fd(ad, "in", &in) != 0 || get_fd(ad, "log", &log) != 0 || get_fd(ad, "out", &out) != 0)
    cloudabi_sys_proc_exit(2);

  /* The current line is gathered in `partial`. */
  uint64_t count = 0;
  size_t pending = 0;
  const size_t max = sizeof(inbuf);
  static char partial[65536];
  for (;;) {
    cloudabi_iovec_t iov = {.buf = inbuf, .buf_len = sizeof(inbuf)};
    size_t n;
    if (cloudabi_sys_fd_read(in, &iov, 1, &n) != 0)
      cloudabi_sys_proc_exit(3);
    if (n == 0)
      break;
    for (size_t i = 0; i < n; ++i) {
      if (inbuf[i] != '\n' && pending < max) {
        partial[pending++] = inbuf[i];
        continue;
      }
      if (log_line(log, partial, pending) != 0)
        cloudabi_sys_proc_exit(4);
      ++count;
      pending = 0;
      if (inbuf[i] != '\n') /* an over-long line is split */
        partial[pending++] = inbuf[i];
    }
  }
  if (pending > 0) {
    if (log_line(log, partial, pending) != 0)
      cloudabi_sys_proc_exit(4);
    ++count;
  }
  put("logged ");
  put_u64(count);
  put(" lines\n");

  cloudabi_fdstat_t st;
  if (cloudabi_sys_fd_stat_get(log, &st) == 0)
    put((st.fs_flags & CLOUDABI_FDFLAG_APPEND) != 0 ? "log flags: append\n" : "log flags: not append\n");

  /* Now try to rewrite history. */
  cloudabi_filesize_t offset;
  cloudabi_errno_t error = cloudabi_sys_fd_seek(log, 0, CLOUDABI_WHENCE_SET, &offset);
  outcome("fd_seek to offset 0", error);
  if (error == 0)
    sdk_puts(log, "OVERWRITE\n");

  static const char bad[] = "OVERWRITE\n";
  cloudabi_ciovec_t iov = {.buf = bad, .buf_len = sizeof(bad) - 1};
  size_t written;
  outcome("fd_pwrite at offset 0", cloudabi_sys_fd_pwrite(log, &iov, 1, 0, &written));

  cloudabi_filestat_t fs;
  memset(&fs, 0, sizeof(fs));
  fs.st_size = 0;
  outcome("file_stat_fput size 0", cloudabi_sys_file_stat_fput(log, &fs, CLOUDABI_FILESTAT_SIZE));

  cloudabi_fdstat_t flags;
  memset(&flags, 0, sizeof(flags));
  flags.fs_flags = 0;
  outcome("fd_stat_put clearing append", cloudabi_sys_fd_stat_put(log, &flags, CLOUDABI_FDSTAT_FLAGS));

  cloudabi_sys_proc_exit(allowed ? 1 : 0);
}
