/*
 * lockbench: times lock operations inside the guest (clock_time_get,
 * monotonic), for BenchmarkLock* / BenchmarkCondvar*. The same operations
 * with glibc's pthreads are in testdata/native/lockbench.c.
 *
 *   mode 0  uncontended: `iters` sdk_mutex_lock + sdk_mutex_unlock pairs
 *           on one thread; ns per pair.
 *   mode 1  contended hand-off: two threads alternate strictly, each
 *           taking the mutex, waiting (spinning outside the mutex) for its
 *           turn; ns per turn (one lock hand-off from one thread to the
 *           other).
 *   mode 2  condition variable ping-pong: two threads wake each other
 *           through two condition variables; ns per wake-up (signal to
 *           the woken thread running with the mutex).
 *
 * Argdata: {out: !fd, mode: N, iters: N}. Output: "ns_per_op N" (x1000
 * for precision: "ps_per_op"). Exit 0.
 */
#include "common.h"

static sdk_mutex_t mutex = SDK_MUTEX_INITIALIZER;
static sdk_cond_t cv[2] = {SDK_COND_INITIALIZER, SDK_COND_INITIALIZER};
static volatile uint64_t turn;
static uint64_t iters;

static void handoff(void *arg) {
  uint64_t me = (uint64_t)(uintptr_t)arg;
  for (uint64_t i = 0; i < iters; ++i) {
    for (;;) {
      check(sdk_mutex_lock(&mutex), "lock_error");
      if (turn % 2 == me)
        break;
      check(sdk_mutex_unlock(&mutex), "unlock_error");
    }
    ++turn;
    check(sdk_mutex_unlock(&mutex), "unlock_error");
  }
}

static void pingpong(void *arg) {
  uint64_t me = (uint64_t)(uintptr_t)arg;
  check(sdk_mutex_lock(&mutex), "lock_error");
  for (uint64_t i = 0; i < iters; ++i) {
    while (turn % 2 != me)
      check(sdk_cond_wait(&cv[me], &mutex), "wait_error");
    ++turn;
    check(sdk_cond_signal(&cv[1 - me]), "signal_error");
  }
  check(sdk_mutex_unlock(&mutex), "unlock_error");
}

static cloudabi_timestamp_t two_threads(void (*fn)(void *)) {
  sdk_thread_t t;
  cloudabi_timestamp_t start = now_ns(CLOUDABI_CLOCK_MONOTONIC);
  check(sdk_thread_create(&t, fn, (void *)1), "create_error");
  fn((void *)0);
  check(sdk_thread_join(t), "join_error");
  return now_ns(CLOUDABI_CLOCK_MONOTONIC) - start;
}

void program_main(const argdata_t *ad) {
  init_out(ad);
  uint64_t mode = arg_u64(ad, "mode", 0);
  iters = arg_u64(ad, "iters", 1000000);
  if (iters == 0)
    iters = 1;
  cloudabi_timestamp_t elapsed;
  uint64_t ops;
  switch (mode) {
  case 0: {
    cloudabi_timestamp_t start = now_ns(CLOUDABI_CLOCK_MONOTONIC);
    for (uint64_t i = 0; i < iters; ++i) {
      check(sdk_mutex_lock(&mutex), "lock_error");
      __asm__ volatile("" ::: "memory");
      check(sdk_mutex_unlock(&mutex), "unlock_error");
    }
    elapsed = now_ns(CLOUDABI_CLOCK_MONOTONIC) - start;
    ops = iters;
    break;
  }
  case 1:
    elapsed = two_threads(handoff);
    ops = 2 * iters;
    break;
  case 2:
    elapsed = two_threads(pingpong);
    ops = 2 * iters;
    break;
  default:
    cloudabi_sys_proc_exit(2);
  }
  put_u64("ps_per_op", elapsed * 1000 / ops);
  cloudabi_sys_proc_exit(0);
}
