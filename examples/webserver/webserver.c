/*
 * webserver: a static file server for CloudABI.
 *
 * Argdata: {root: DIRECTORY, listener: LISTENER HANDLE, log: FD (optional)}.
 * It serves the files beneath root over HTTP/1.0 and HTTP/1.1: GET only,
 * one request per connection (Connection: close). The program can reach
 * nothing but its root directory (read-only) and the connections the
 * runtime hands it through the listener handle, so no request can make it
 * read anything else, whatever the path says.
 *
 * Connections are multiplexed with poll: every socket is non-blocking, and
 * each connection is a small state machine (reading the request, writing
 * the header, copying the file).
 */
#include <argdata.h>
#include <cloudabi_net.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <program.h>

#define MAX_CONNS 64
#define REQ_MAX 4096
#define CHUNK 16384

enum state { FREE, READING, WRITING, DRAINING };

struct conn {
  enum state state;
  cloudabi_fd_t fd;
  char req[REQ_MAX];
  size_t reqlen;
  char head[512]; /* response header (and the body of an error) */
  size_t headlen, headoff;
  cloudabi_fd_t file; /* -1 when there is no body to copy */
  uint64_t left;      /* bytes of the file still to send */
  char buf[CHUNK];    /* file data read and not yet sent */
  size_t buflen, bufoff;
  int drain;      /* unread request bytes may be left: close gracefully */
  uint64_t drained;
};

static struct conn conns[MAX_CONNS];
static cloudabi_fd_t root, listener, logfd = (cloudabi_fd_t)-1;
static int nconns;

static void logs(const char *s) {
  if (logfd != (cloudabi_fd_t)-1)
    sdk_puts(logfd, s);
}

static void set_nonblock(cloudabi_fd_t fd) {
  cloudabi_fdstat_t st = {.fs_flags = CLOUDABI_FDFLAG_NONBLOCK};
  cloudabi_sys_fd_stat_put(fd, &st, CLOUDABI_FDSTAT_FLAGS);
}

static void conn_close(struct conn *c) {
  cloudabi_sys_fd_close(c->fd);
  if (c->file != (cloudabi_fd_t)-1)
    cloudabi_sys_fd_close(c->file);
  c->state = FREE;
  --nconns;
}

static size_t append(char *dst, size_t off, size_t cap, const char *s) {
  size_t n = strlen(s);
  if (off + n > cap)
    n = cap - off;
  memcpy(dst + off, s, n);
  return off + n;
}

/* respond_error prepares a complete response with a short text body. */
static void respond_error(struct conn *c, const char *status) {
  char num[24];
  size_t bodylen = strlen(status) + 1;
  size_t o = 0;
  o = append(c->head, o, sizeof(c->head), "HTTP/1.1 ");
  o = append(c->head, o, sizeof(c->head), status);
  o = append(c->head, o, sizeof(c->head), "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
  num[sdk_fmt_u64(num, bodylen)] = '\0';
  o = append(c->head, o, sizeof(c->head), num);
  o = append(c->head, o, sizeof(c->head), "\r\nConnection: close\r\n\r\n");
  o = append(c->head, o, sizeof(c->head), status);
  o = append(c->head, o, sizeof(c->head), "\n");
  c->headlen = o;
  c->headoff = 0;
  c->file = (cloudabi_fd_t)-1;
  c->left = 0;
  c->state = WRITING;
}

static int ends_with(const char *s, size_t len, const char *suffix) {
  size_t n = strlen(suffix);
  return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static const char *content_type(const char *path, size_t len) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"}, {".json", "application/json"},
      {".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
      {".gif", "image/gif"}, {".svg", "image/svg+xml"},
  };
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    if (ends_with(path, len, types[i].ext))
      return types[i].type;
  return "application/octet-stream";
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* open_path opens a file beneath root for reading; a directory is served
 * by its index.html. */
static cloudabi_errno_t open_path(char *path, size_t *len, cloudabi_fd_t *fd, cloudabi_filestat_t *fs) {
  cloudabi_lookup_t dir = {.fd = root, .flags = CLOUDABI_LOOKUP_SYMLINK_FOLLOW};
  cloudabi_fdstat_t want = {.fs_rights_base = CLOUDABI_RIGHT_FD_READ | CLOUDABI_RIGHT_FILE_STAT_FGET};
  for (int tries = 0; tries < 2; tries++) {
    cloudabi_errno_t e = cloudabi_sys_file_open(dir, path, *len, 0, &want, fd);
    if (e != 0)
      return e;
    e = cloudabi_sys_file_stat_fget(*fd, fs);
    if (e != 0) {
      cloudabi_sys_fd_close(*fd);
      return e;
    }
    if (fs->st_filetype == CLOUDABI_FILETYPE_REGULAR_FILE)
      return 0;
    cloudabi_sys_fd_close(*fd);
    if (fs->st_filetype != CLOUDABI_FILETYPE_DIRECTORY || *len + 12 > REQ_MAX)
      return CLOUDABI_ENOENT;
    if (*len > 0 && path[*len - 1] != '/')
      path[(*len)++] = '/';
    memcpy(path + *len, "index.html", 10);
    *len += 10;
  }
  return CLOUDABI_ENOENT;
}

/* handle_request parses the request in c->req and prepares the response. */
static void handle_request(struct conn *c) {
  char *p = c->req, *end = c->req + c->reqlen;
  char *sp1 = p;
  while (sp1 < end && *sp1 != ' ')
    sp1++;
  char *sp2 = sp1 + 1;
  while (sp2 < end && *sp2 != ' ')
    sp2++;
  char *eol = sp2 + 1;
  while (eol < end && *eol != '\r')
    eol++;
  if (sp1 >= end || sp2 >= end || eol >= end || sp1 == p || sp2 == sp1 + 1) {
    respond_error(c, "400 Bad Request");
    return;
  }
  size_t vlen = (size_t)(eol - (sp2 + 1));
  if (vlen != 8 || (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.1", 8) != 0)) {
    respond_error(c, "400 Bad Request");
    return;
  }
  if (sp1 - p != 3 || memcmp(p, "GET", 3) != 0) {
    for (char *q = p; q < sp1; q++)
      if (*q < 'A' || *q > 'Z') {
        respond_error(c, "400 Bad Request");
        return;
      }
    respond_error(c, "405 Method Not Allowed");
    return;
  }
  /* The target: an absolute path, percent-decoded in place, without its
   * query. Leading slashes are dropped: paths are relative to root. */
  char *t = sp1 + 1, *tend = sp2;
  if (*t != '/') {
    respond_error(c, "400 Bad Request");
    return;
  }
  for (char *q = t; q < tend; q++)
    if (*q == '?' || *q == '#') {
      tend = q;
      break;
    }
  static char path[REQ_MAX];
  size_t len = 0;
  for (char *q = t; q < tend; q++) {
    char ch = *q;
    if (ch == '%') {
      int hi = tend - q >= 3 ? hexval(q[1]) : -1, lo = tend - q >= 3 ? hexval(q[2]) : -1;
      if (hi < 0 || lo < 0) {
        respond_error(c, "400 Bad Request");
        return;
      }
      ch = (char)(hi * 16 + lo);
      q += 2;
      if (ch == '\0') {
        respond_error(c, "400 Bad Request");
        return;
      }
    }
    path[len++] = ch;
  }
  size_t skip = 0;
  while (skip < len && path[skip] == '/')
    skip++;
  memmove(path, path + skip, len - skip);
  len -= skip;
  if (len == 0) {
    memcpy(path, ".", 1);
    len = 1;
  }

  cloudabi_fd_t fd;
  cloudabi_filestat_t fs;
  size_t plen = len;
  cloudabi_errno_t e = open_path(path, &plen, &fd, &fs);
  switch (e) {
  case 0:
    break;
  case CLOUDABI_ENOENT:
  case CLOUDABI_ENOTDIR:
  case CLOUDABI_ENAMETOOLONG:
  case CLOUDABI_ELOOP:
    respond_error(c, "404 Not Found");
    return;
  case CLOUDABI_ENOTCAPABLE:
  case CLOUDABI_EACCES:
  case CLOUDABI_EPERM:
    respond_error(c, "403 Forbidden");
    return;
  default:
    respond_error(c, "500 Internal Server Error");
    return;
  }
  char num[24];
  size_t o = 0;
  o = append(c->head, o, sizeof(c->head), "HTTP/1.1 200 OK\r\nContent-Type: ");
  o = append(c->head, o, sizeof(c->head), content_type(path, plen));
  o = append(c->head, o, sizeof(c->head), "\r\nContent-Length: ");
  num[sdk_fmt_u64(num, fs.st_size)] = '\0';
  o = append(c->head, o, sizeof(c->head), num);
  o = append(c->head, o, sizeof(c->head), "\r\nConnection: close\r\n\r\n");
  c->headlen = o;
  c->headoff = 0;
  c->file = fd;
  c->left = fs.st_size;
  c->buflen = c->bufoff = 0;
  c->state = WRITING;
}

static void on_readable(struct conn *c) {
  size_t n = 0;
  cloudabi_iovec_t iov = {.buf = c->req + c->reqlen, .buf_len = sizeof(c->req) - c->reqlen};
  cloudabi_errno_t e = cloudabi_sys_fd_read(c->fd, &iov, 1, &n);
  if (e == CLOUDABI_EAGAIN)
    return;
  if (e != 0 || n == 0) {
    conn_close(c);
    return;
  }
  size_t from = c->reqlen >= 3 ? c->reqlen - 3 : 0;
  c->reqlen += n;
  for (size_t i = from; i + 4 <= c->reqlen; i++) {
    if (memcmp(c->req + i, "\r\n\r\n", 4) == 0) {
      c->drain = i + 4 < c->reqlen; /* a body or a second request */
      handle_request(c);
      return;
    }
  }
  if (c->reqlen == sizeof(c->req)) {
    respond_error(c, "400 Bad Request");
    c->drain = 1;
  }
}

/* finish ends a connection once its response is sent. If the client may
 * still be sending, closing at once would reset the connection and could
 * destroy the response before the client reads it: shut down the sending
 * side and read (and discard) until the client closes, up to a limit. */
static void finish(struct conn *c) {
  if (!c->drain || cloudabi_sys_sock_shutdown(c->fd, CLOUDABI_SHUT_WR) != 0) {
    conn_close(c);
    return;
  }
  c->state = DRAINING;
  c->drained = 0;
}

static void on_drainable(struct conn *c) {
  for (;;) {
    size_t n = 0;
    cloudabi_iovec_t iov = {.buf = c->buf, .buf_len = sizeof(c->buf)};
    cloudabi_errno_t e = cloudabi_sys_fd_read(c->fd, &iov, 1, &n);
    if (e == CLOUDABI_EAGAIN)
      return;
    c->drained += n;
    if (e != 0 || n == 0 || c->drained > (1 << 20)) {
      conn_close(c);
      return;
    }
  }
}

/* on_writable sends what it can; the connection closes when all is sent. */
static void on_writable(struct conn *c) {
  for (;;) {
    const char *data;
    size_t len;
    if (c->headoff < c->headlen) {
      data = c->head + c->headoff;
      len = c->headlen - c->headoff;
    } else if (c->bufoff < c->buflen) {
      data = c->buf + c->bufoff;
      len = c->buflen - c->bufoff;
    } else if (c->left > 0) {
      size_t n = 0;
      cloudabi_iovec_t iov = {.buf = c->buf, .buf_len = c->left < CHUNK ? (size_t)c->left : CHUNK};
      if (cloudabi_sys_fd_read(c->file, &iov, 1, &n) != 0 || n == 0) {
        conn_close(c); /* the file shrank: the client sees a short body */
        return;
      }
      c->buflen = n;
      c->bufoff = 0;
      c->left -= n;
      continue;
    } else {
      finish(c);
      return;
    }
    size_t n = 0;
    cloudabi_ciovec_t iov = {.buf = data, .buf_len = len};
    cloudabi_errno_t e = cloudabi_sys_fd_write(c->fd, &iov, 1, &n);
    if (e == CLOUDABI_EAGAIN)
      return;
    if (e != 0) {
      conn_close(c);
      return;
    }
    if (c->headoff < c->headlen)
      c->headoff += n;
    else
      c->bufoff += n;
  }
}

static void accept_all(void) {
  while (nconns < MAX_CONNS) {
    cloudabi_fd_t fd;
    cloudabi_errno_t e = sdk_accept(listener, &fd, NULL, 0);
    if (e == CLOUDABI_EAGAIN)
      return;
    if (e == CLOUDABI_ECANCELED) {
      logs("webserver: the listener was closed\n");
      cloudabi_sys_proc_exit(0);
    }
    if (e != 0)
      return;
    set_nonblock(fd);
    for (int i = 0; i < MAX_CONNS; i++) {
      if (conns[i].state == FREE) {
        conns[i].state = READING;
        conns[i].fd = fd;
        conns[i].reqlen = 0;
        conns[i].file = (cloudabi_fd_t)-1;
        conns[i].drain = 0;
        ++nconns;
        break;
      }
    }
  }
}

void program_main(const argdata_t *ad) {
  argdata_t value;
  int fd;
  if (sdk_argdata_map_lookup(ad, "root", &value) != 0 || argdata_get_fd(&value, &fd) != 0)
    cloudabi_sys_proc_exit(2);
  root = (cloudabi_fd_t)fd;
  if (sdk_argdata_map_lookup(ad, "listener", &value) != 0 || argdata_get_fd(&value, &fd) != 0)
    cloudabi_sys_proc_exit(2);
  listener = (cloudabi_fd_t)fd;
  if (sdk_argdata_map_lookup(ad, "log", &value) == 0 && argdata_get_fd(&value, &fd) == 0)
    logfd = (cloudabi_fd_t)fd;
  set_nonblock(listener);
  logs("webserver: serving\n");

  static cloudabi_subscription_t subs[MAX_CONNS + 1];
  static cloudabi_event_t events[MAX_CONNS + 1];
  for (;;) {
    size_t n = 0;
    if (nconns < MAX_CONNS) {
      memset(&subs[n], 0, sizeof(subs[n]));
      subs[n].userdata = 0;
      subs[n].type = CLOUDABI_EVENTTYPE_FD_READ;
      subs[n].fd_readwrite.fd = listener;
      subs[n].fd_readwrite.flags = CLOUDABI_SUBSCRIPTION_FD_READWRITE_POLL;
      n++;
    }
    for (int i = 0; i < MAX_CONNS; i++) {
      if (conns[i].state == FREE)
        continue;
      memset(&subs[n], 0, sizeof(subs[n]));
      subs[n].userdata = (cloudabi_userdata_t)i + 1;
      subs[n].type = conns[i].state == WRITING ? CLOUDABI_EVENTTYPE_FD_WRITE : CLOUDABI_EVENTTYPE_FD_READ;
      subs[n].fd_readwrite.fd = conns[i].fd;
      subs[n].fd_readwrite.flags = CLOUDABI_SUBSCRIPTION_FD_READWRITE_POLL;
      n++;
    }
    size_t nevents = 0;
    if (cloudabi_sys_poll(subs, events, n, &nevents) != 0)
      cloudabi_sys_proc_exit(3);
    for (size_t i = 0; i < nevents; i++) {
      if (events[i].userdata == 0) {
        accept_all();
        continue;
      }
      struct conn *c = &conns[events[i].userdata - 1];
      if (c->state == READING)
        on_readable(c);
      else if (c->state == DRAINING)
        on_drainable(c);
      if (c->state == WRITING)
        on_writable(c);
    }
  }
}
