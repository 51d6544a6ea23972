/*
 * <cloudabi_net.h> - network helpers for CloudABI programs built with this
 * SDK: accepting connections from a listener handle, and sending and
 * receiving descriptors over a socket.
 *
 * A program never binds, listens or accepts: the launcher does. A
 * `!listen {address: "tcp:127.0.0.1:8080"}` grant gives the program a
 * listener handle, a datagram socket on which the runtime delivers each
 * accepted connection as one message: the connected socket as the only
 * descriptor, and as data the argdata map {address: "tcp:HOST:PORT"} (or
 * "unix:PATH") naming the peer. A message with neither means the runtime
 * has closed the listener. See the README, "Network access".
 */
#ifndef CLOUDABI_NET_H
#define CLOUDABI_NET_H

#include <stddef.h>

#include <cloudabi_syscalls.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest message a listener handle carries, in bytes. */
#define SDK_LISTENER_MESSAGE_MAX 512

/*
 * Receives the next connection from a listener handle. On success, *conn
 * is the connected socket (a stream socket with every right of a socket)
 * and, if peer is not NULL and peerlen is not 0, peer holds the peer's
 * address ("tcp:127.0.0.1:54321"), NUL-terminated and cut to peerlen - 1
 * bytes. Waits for a connection unless the handle is non-blocking
 * (CLOUDABI_EAGAIN then). Returns 0, the error of sock_recv,
 * CLOUDABI_ECANCELED if the listener has been closed, or CLOUDABI_EPROTO
 * for a message that is no connection.
 */
cloudabi_errno_t sdk_accept(cloudabi_fd_t listener, cloudabi_fd_t *conn, char *peer, size_t peerlen);

/*
 * Sends len bytes of buf with nfds descriptors attached (sock_send). On a
 * stream socket descriptors travel with at least one byte of data. *sent
 * (if not NULL) is the number of bytes sent.
 */
cloudabi_errno_t sdk_send_fds(cloudabi_fd_t sock, const void *buf, size_t len, const cloudabi_fd_t *fds,
                              size_t nfds, size_t *sent);

/*
 * Receives up to len bytes into buf and up to *nfds descriptors into fds
 * (sock_recv). On return *nfds is the number of descriptors received,
 * *received (if not NULL) the number of bytes, and *flags (if not NULL)
 * CLOUDABI_SOCK_RECV_FDS_TRUNCATED and CLOUDABI_SOCK_RECV_DATA_TRUNCATED
 * as sock_recv reported them.
 */
cloudabi_errno_t sdk_recv_fds(cloudabi_fd_t sock, void *buf, size_t len, cloudabi_fd_t *fds, size_t *nfds,
                              size_t *received, cloudabi_roflags_t *flags);

#ifdef __cplusplus
}
#endif

#endif
