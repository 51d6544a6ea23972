/* Network helpers: see <cloudabi_net.h>. */
#include <argdata.h>
#include <cloudabi_net.h>
#include <cloudabi_sdk.h>

cloudabi_errno_t sdk_recv_fds(cloudabi_fd_t sock, void *buf, size_t len, cloudabi_fd_t *fds, size_t *nfds,
                              size_t *received, cloudabi_roflags_t *flags) {
  cloudabi_iovec_t iov = {.buf = buf, .buf_len = len};
  cloudabi_recv_in_t in = {
      .ri_data = &iov, .ri_data_len = 1, .ri_fds = fds, .ri_fds_len = *nfds, .ri_flags = 0};
  cloudabi_recv_out_t out;
  cloudabi_errno_t error = cloudabi_sys_sock_recv(sock, &in, &out);
  if (error != 0)
    return error;
  *nfds = out.ro_fdslen;
  if (received != NULL)
    *received = out.ro_datalen;
  if (flags != NULL)
    *flags = out.ro_flags;
  return 0;
}

cloudabi_errno_t sdk_send_fds(cloudabi_fd_t sock, const void *buf, size_t len, const cloudabi_fd_t *fds,
                              size_t nfds, size_t *sent) {
  cloudabi_ciovec_t iov = {.buf = buf, .buf_len = len};
  cloudabi_send_in_t in = {
      .si_data = &iov, .si_data_len = 1, .si_fds = fds, .si_fds_len = nfds, .si_flags = 0};
  cloudabi_send_out_t out;
  cloudabi_errno_t error = cloudabi_sys_sock_send(sock, &in, &out);
  if (error == 0 && sent != NULL)
    *sent = out.so_datalen;
  return error;
}

cloudabi_errno_t sdk_accept(cloudabi_fd_t listener, cloudabi_fd_t *conn, char *peer, size_t peerlen) {
  unsigned char msg[SDK_LISTENER_MESSAGE_MAX];
  cloudabi_fd_t fds[1];
  size_t nfds = 1, len = 0;
  cloudabi_roflags_t flags = 0;
  cloudabi_errno_t error = sdk_recv_fds(listener, msg, sizeof(msg), fds, &nfds, &len, &flags);
  if (error != 0)
    return error;
  if (nfds == 0)
    return len == 0 && flags == 0 ? CLOUDABI_ECANCELED : CLOUDABI_EPROTO;
  if (peer != NULL && peerlen > 0) {
    argdata_t ad, value;
    const char *s = "";
    size_t n = 0;
    sdk_argdata_init(&ad, msg, len);
    if (sdk_argdata_map_lookup(&ad, "address", &value) != 0 || argdata_get_str(&value, &s, &n) != 0)
      n = 0;
    if (n > peerlen - 1)
      n = peerlen - 1;
    memcpy(peer, s, n);
    peer[n] = '\0';
  }
  *conn = fds[0];
  return 0;
}
