/*
 * A thin compatibility layer that runs a CloudABI program written with the
 * SDK as an ordinary Linux program, for comparing the runtime with native
 * code (webserver_bench_test.go). It is not a sandbox: it implements the
 * few cloudabi_sys_* calls the example web server makes directly on top of
 * Linux system calls, ignoring rights.
 *
 *   gcc -O2 -I sdk/include -o webserver-native examples/webserver/webserver.c \
 *       testdata/native/shim.c sdk/src/argdata.c sdk/src/io.c \
 *       sdk/src/net.c
 *   ./webserver-native DIR [PORT]
 *
 * main listens on 127.0.0.1:PORT (default 0: any free port), prints
 * "listening on PORT" on standard output, and calls program_main with the
 * argdata map {root: DIR, listener: the listening socket}. sock_recv on the
 * listening socket is accept: it returns the connection as the message's
 * descriptor and the peer address as argdata, as the runtime's listener
 * handle does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/openat2.h>

#include <argdata.h>
#include <cloudabi_syscalls.h>
#include <program.h>

static cloudabi_errno_t cerr(int e) {
  switch (e) {
  case EAGAIN: return CLOUDABI_EAGAIN;
  case EBADF: return CLOUDABI_EBADF;
  case ENOENT: return CLOUDABI_ENOENT;
  case ENOTDIR: return CLOUDABI_ENOTDIR;
  case EISDIR: return CLOUDABI_EISDIR;
  case EACCES: return CLOUDABI_EACCES;
  case EPERM: return CLOUDABI_EPERM;
  case EXDEV: return CLOUDABI_ENOTCAPABLE; /* escaped RESOLVE_BENEATH */
  case ELOOP: return CLOUDABI_ELOOP;
  case ENAMETOOLONG: return CLOUDABI_ENAMETOOLONG;
  case EINVAL: return CLOUDABI_EINVAL;
  case EPIPE: return CLOUDABI_EPIPE;
  case ECONNRESET: return CLOUDABI_ECONNRESET;
  case ENOTSOCK: return CLOUDABI_ENOTSOCK;
  case EMFILE: return CLOUDABI_EMFILE;
  case ENFILE: return CLOUDABI_ENFILE;
  }
  return CLOUDABI_EIO;
}

static cloudabi_errno_t shim_fd_close(cloudabi_fd_t fd) { return close((int)fd) == 0 ? 0 : cerr(errno); }

static cloudabi_errno_t shim_fd_read(cloudabi_fd_t fd, const cloudabi_iovec_t *iovs, size_t n, size_t *nread) {
  ssize_t r = readv((int)fd, (const struct iovec *)iovs, (int)n);
  if (r < 0)
    return cerr(errno);
  *nread = (size_t)r;
  return 0;
}

static cloudabi_errno_t shim_fd_write(cloudabi_fd_t fd, const cloudabi_ciovec_t *iovs, size_t n, size_t *nwritten) {
  ssize_t r = writev((int)fd, (const struct iovec *)iovs, (int)n);
  if (r < 0)
    return cerr(errno);
  *nwritten = (size_t)r;
  return 0;
}

static cloudabi_errno_t shim_fd_stat_put(cloudabi_fd_t fd, const cloudabi_fdstat_t *st, cloudabi_fdsflags_t flags) {
  if (flags != CLOUDABI_FDSTAT_FLAGS)
    return 0; /* rights: nothing to enforce here */
  int fl = fcntl((int)fd, F_GETFL);
  if (fl < 0)
    return cerr(errno);
  fl = (st->fs_flags & CLOUDABI_FDFLAG_NONBLOCK) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
  return fcntl((int)fd, F_SETFL, fl) == 0 ? 0 : cerr(errno);
}

static cloudabi_errno_t shim_file_open(cloudabi_lookup_t dir, const char *path, size_t len, cloudabi_oflags_t oflags,
                                       const cloudabi_fdstat_t *st, cloudabi_fd_t *fd) {
  (void)oflags;
  (void)st;
  char buf[4096];
  if (len >= sizeof(buf))
    return CLOUDABI_ENAMETOOLONG;
  memcpy(buf, path, len);
  buf[len] = '\0';
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
                                    ((dir.flags & CLOUDABI_LOOKUP_SYMLINK_FOLLOW) ? 0 : RESOLVE_NO_SYMLINKS)};
  long r = syscall(SYS_openat2, (int)dir.fd, buf, &how, sizeof(how));
  if (r < 0)
    return cerr(errno);
  *fd = (cloudabi_fd_t)r;
  return 0;
}

static cloudabi_errno_t shim_file_stat_fget(cloudabi_fd_t fd, cloudabi_filestat_t *fs) {
  struct stat st;
  if (fstat((int)fd, &st) != 0)
    return cerr(errno);
  memset(fs, 0, sizeof(*fs));
  fs->st_size = (cloudabi_filesize_t)st.st_size;
  fs->st_filetype = S_ISREG(st.st_mode)   ? CLOUDABI_FILETYPE_REGULAR_FILE
                    : S_ISDIR(st.st_mode) ? CLOUDABI_FILETYPE_DIRECTORY
                                          : CLOUDABI_FILETYPE_UNKNOWN;
  return 0;
}

static cloudabi_errno_t shim_poll(const cloudabi_subscription_t *in, cloudabi_event_t *out, size_t n,
                                  size_t *nevents) {
  struct pollfd pfds[n];
  for (size_t i = 0; i < n; i++) {
    pfds[i].fd = (int)in[i].fd_readwrite.fd;
    pfds[i].events = in[i].type == CLOUDABI_EVENTTYPE_FD_READ ? POLLIN : POLLOUT;
  }
  int r;
  do
    r = poll(pfds, n, -1);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return cerr(errno);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (pfds[i].revents == 0)
      continue;
    memset(&out[k], 0, sizeof(out[k]));
    out[k].userdata = in[i].userdata;
    out[k].type = in[i].type;
    if (pfds[i].revents & POLLHUP)
      out[k].fd_readwrite.flags = CLOUDABI_EVENT_FD_READWRITE_HANGUP;
    k++;
  }
  *nevents = k;
  return 0;
}

/* sock_recv on the listening socket accepts a connection. */
static cloudabi_errno_t shim_sock_recv(cloudabi_fd_t sock, const cloudabi_recv_in_t *in, cloudabi_recv_out_t *out) {
  struct sockaddr_in peer;
  socklen_t plen = sizeof(peer);
  int c = accept4((int)sock, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
  if (c < 0)
    return cerr(errno);
  memset(out, 0, sizeof(*out));
  if (in->ri_fds_len < 1) {
    close(c);
    out->ro_flags = CLOUDABI_SOCK_RECV_FDS_TRUNCATED;
    return 0;
  }
  in->ri_fds[0] = (cloudabi_fd_t)c;
  out->ro_fdslen = 1;
  /* {address: "tcp:A.B.C.D:PORT"} as argdata. */
  char addr[64], ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
  int alen = snprintf(addr, sizeof(addr), "tcp:%s:%u", ip, ntohs(peer.sin_port)) + 1;
  unsigned char msg[96];
  size_t m = 0;
  msg[m++] = 0x06;                                          /* map */
  msg[m++] = 0x80 | 9;                                      /* key: 8 "address" 0 */
  msg[m++] = 0x08;
  memcpy(msg + m, "address", 8);
  m += 8;
  msg[m++] = (unsigned char)(0x80 | (alen + 1));            /* value */
  msg[m++] = 0x08;
  memcpy(msg + m, addr, (size_t)alen);
  m += (size_t)alen;
  size_t copied = 0;
  for (size_t i = 0; i < in->ri_data_len && copied < m; i++) {
    size_t n = in->ri_data[i].buf_len < m - copied ? in->ri_data[i].buf_len : m - copied;
    memcpy(in->ri_data[i].buf, msg + copied, n);
    copied += n;
  }
  out->ro_datalen = copied;
  if (copied < m)
    out->ro_flags |= CLOUDABI_SOCK_RECV_DATA_TRUNCATED;
  return 0;
}

static cloudabi_errno_t shim_sock_shutdown(cloudabi_fd_t sock, cloudabi_sdflags_t how) {
  int h = how == CLOUDABI_SHUT_RD ? SHUT_RD : how == CLOUDABI_SHUT_WR ? SHUT_WR : SHUT_RDWR;
  return shutdown((int)sock, h) == 0 ? 0 : cerr(errno);
}

static void shim_proc_exit(cloudabi_exitcode_t code) { exit((int)code); }

static cloudabi_errno_t shim_enosys(void) { return CLOUDABI_ENOSYS; }

struct cloudabi_vdso cloudabi_vdso;

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [PORT]\n", argv[0]);
    return 64;
  }
  /* Every call the program does not use answers ENOSYS. */
  void **slot = (void **)&cloudabi_vdso;
  for (size_t i = 0; i < sizeof(cloudabi_vdso) / sizeof(void *); i++)
    slot[i] = (void *)shim_enosys;
  cloudabi_vdso.fd_close = shim_fd_close;
  cloudabi_vdso.fd_read = shim_fd_read;
  cloudabi_vdso.fd_write = shim_fd_write;
  cloudabi_vdso.fd_stat_put = shim_fd_stat_put;
  cloudabi_vdso.file_open = shim_file_open;
  cloudabi_vdso.file_stat_fget = shim_file_stat_fget;
  cloudabi_vdso.poll = shim_poll;
  cloudabi_vdso.sock_recv = shim_sock_recv;
  cloudabi_vdso.sock_shutdown = shim_sock_shutdown;
  cloudabi_vdso.proc_exit = shim_proc_exit;

  int dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    perror(argv[1]);
    return 66;
  }
  int ln = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(argc > 2 ? atoi(argv[2]) : 0)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t salen = sizeof(sa);
  if (bind(ln, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ln, 4096) != 0 ||
      getsockname(ln, (struct sockaddr *)&sa, &salen) != 0) {
    perror("listen");
    return 66;
  }
  printf("listening on %u\n", ntohs(sa.sin_port));
  fflush(stdout);

  /* {root: fd, listener: fd} */
  unsigned char ad[64];
  size_t m = 0;
  ad[m++] = 0x06;
  const char *keys[2] = {"root", "listener"};
  int fds[2] = {dir, ln};
  for (int i = 0; i < 2; i++) {
    size_t kl = strlen(keys[i]) + 2;
    ad[m++] = (unsigned char)(0x80 | kl);
    ad[m++] = 0x08;
    memcpy(ad + m, keys[i], kl - 1);
    m += kl - 1;
    ad[m++] = 0x80 | 5;
    ad[m++] = 0x03;
    ad[m++] = 0;
    ad[m++] = 0;
    ad[m++] = (unsigned char)(fds[i] >> 8);
    ad[m++] = (unsigned char)fds[i];
  }
  argdata_t root;
  sdk_argdata_init(&root, ad, m);
  program_main(&root);
  return 0;
}
