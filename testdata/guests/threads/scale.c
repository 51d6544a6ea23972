/*
 * scale: `threads` (1000) threads blocked at once, in three kinds:
 *   i % 3 == 0  poll on an absolute MONOTONIC clock, `clock_ms` after the
 *               start (checked not to return early);
 *   i % 3 == 1  sdk_cond_wait until the main thread sets `released`;
 *   i % 3 == 2  fd_read of one byte from the `data` fd (a pipe).
 * When every thread is about to block, the main thread writes "ready N"
 * to `out`, then reads one byte from the `control` fd and releases the
 * condition variable waiters with a broadcast. The readers are released by
 * whoever writes to `data`, the clock waiters by the clock. Then it joins
 * every thread and writes "done N", "clock N", "cond N", "read N",
 * "bytes S" (sum of the bytes read).
 *
 * Argdata: {out: !fd, data: !fd, control: !fd, threads: N, clock_ms: N}.
 * Exit 0 if every thread finished as it should, 1 otherwise.
 */
#include "common.h"

#define MAX_THREADS 3000

static sdk_mutex_t mutex = SDK_MUTEX_INITIALIZER;
static sdk_cond_t cond = SDK_COND_INITIALIZER;
static int released;
static int data_fd;
static cloudabi_timestamp_t deadline;
static _Atomic uint64_t arrived, clock_done, cond_done, read_done, bytes,
    errors;

static void waiter(void *arg) {
  uint64_t i = (uint64_t)(uintptr_t)arg;
  switch (i % 3) {
  case 0: {
    cloudabi_subscription_t sub = {
        .type = CLOUDABI_EVENTTYPE_CLOCK,
        .clock.clock_id = CLOUDABI_CLOCK_MONOTONIC,
        .clock.timeout = deadline,
        .clock.flags = CLOUDABI_SUBSCRIPTION_CLOCK_ABSTIME,
    };
    cloudabi_event_t ev;
    size_t n;
    atomic_fetch_add(&arrived, 1);
    if (cloudabi_sys_poll(&sub, &ev, 1, &n) != 0 || n != 1 || ev.error != 0 ||
        now_ns(CLOUDABI_CLOCK_MONOTONIC) < deadline)
      atomic_fetch_add(&errors, 1);
    else
      atomic_fetch_add(&clock_done, 1);
    break;
  }
  case 1:
    check(sdk_mutex_lock(&mutex), "lock_error");
    atomic_fetch_add(&arrived, 1);
    while (!released)
      check(sdk_cond_wait(&cond, &mutex), "wait_error");
    check(sdk_mutex_unlock(&mutex), "unlock_error");
    atomic_fetch_add(&cond_done, 1);
    break;
  case 2: {
    unsigned char b = 0;
    cloudabi_iovec_t iov = {.buf = &b, .buf_len = 1};
    size_t n;
    atomic_fetch_add(&arrived, 1);
    if (cloudabi_sys_fd_read((cloudabi_fd_t)data_fd, &iov, 1, &n) != 0 ||
        n != 1)
      atomic_fetch_add(&errors, 1);
    else {
      atomic_fetch_add(&read_done, 1);
      atomic_fetch_add(&bytes, b);
    }
    break;
  }
  }
}

static sdk_thread_t t[MAX_THREADS];

void program_main(const argdata_t *ad) {
  init_out(ad);
  data_fd = arg_fd(ad, "data");
  int control = arg_fd(ad, "control");
  uint64_t n = arg_u64(ad, "threads", 1000);
  uint64_t clock_ms = arg_u64(ad, "clock_ms", 3000);
  if (n > MAX_THREADS)
    cloudabi_sys_proc_exit(2);
  deadline = now_ns(CLOUDABI_CLOCK_MONOTONIC) + clock_ms * 1000000;
  for (uint64_t i = 0; i < n; ++i)
    check(sdk_thread_create_sized(&t[i], waiter, (void *)(uintptr_t)i,
                                  64 * 1024, 64 * 1024),
          "create_error");
  while (atomic_load(&arrived) != n)
    cloudabi_sys_thread_yield();
  put_u64("ready", n);

  unsigned char b;
  cloudabi_iovec_t iov = {.buf = &b, .buf_len = 1};
  size_t nread;
  check(cloudabi_sys_fd_read((cloudabi_fd_t)control, &iov, 1, &nread),
        "control_read_error");
  check(sdk_mutex_lock(&mutex), "lock_error");
  released = 1;
  check(sdk_cond_broadcast(&cond), "broadcast_error");
  check(sdk_mutex_unlock(&mutex), "unlock_error");

  for (uint64_t i = 0; i < n; ++i)
    check(sdk_thread_join(t[i]), "join_error");
  uint64_t done = clock_done + cond_done + read_done;
  put_u64("done", done);
  put_u64("clock", clock_done);
  put_u64("cond", cond_done);
  put_u64("read", read_done);
  put_u64("bytes", bytes);
  put_u64("errors", errors);
  cloudabi_sys_proc_exit(done == n && errors == 0 ? 0 : 1);
}
