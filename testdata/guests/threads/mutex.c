/*
 * mutex: `threads` threads (default 16) each make `iters` (default
 * 100000) increments of shared counters under one sdk_mutex_t. Every
 * tenth increment uses sdk_mutex_trylock (falling back to lock). Inside
 * the critical section the counter is read, the lock's owner checked and
 * the counter written back after a compiler barrier, so an overlap of two
 * critical sections loses increments.
 *
 * Argdata: {out: !fd, threads: N, iters: N}.
 * Output: "total N", "expected N". Exit 0 if equal, 1 otherwise (or on
 * an error, named in the output), 2 bad argdata.
 */
#include "common.h"

#define MAX_THREADS 256

static sdk_mutex_t mutex = SDK_MUTEX_INITIALIZER;
static volatile uint64_t counter;
static uint64_t iters;
static _Atomic uint64_t busy_trylocks;

/* Start gate: workers wait until every one of them has been created, so
 * that they really run at the same time. */
static sdk_mutex_t gate_mutex = SDK_MUTEX_INITIALIZER;
static sdk_cond_t gate_cond = SDK_COND_INITIALIZER;
static int gate_open;

static void wait_gate(void) {
  check(sdk_mutex_lock(&gate_mutex), "gate_lock_error");
  while (!gate_open)
    check(sdk_cond_wait(&gate_cond, &gate_mutex), "gate_wait_error");
  check(sdk_mutex_unlock(&gate_mutex), "gate_unlock_error");
}

static void open_gate(void) {
  check(sdk_mutex_lock(&gate_mutex), "gate_lock_error");
  gate_open = 1;
  check(sdk_cond_broadcast(&gate_cond), "gate_broadcast_error");
  check(sdk_mutex_unlock(&gate_mutex), "gate_unlock_error");
}

static void worker(void *arg) {
  (void)arg;
  cloudabi_tid_t me = sdk_thread_self();
  wait_gate();
  for (uint64_t i = 0; i < iters; ++i) {
    if (i % 10 == 0) {
      cloudabi_errno_t e = sdk_mutex_trylock(&mutex);
      if (e == CLOUDABI_EBUSY) {
        atomic_fetch_add_explicit(&busy_trylocks, 1, memory_order_relaxed);
        check(sdk_mutex_lock(&mutex), "lock_error");
      } else {
        check(e, "trylock_error");
      }
    } else {
      check(sdk_mutex_lock(&mutex), "lock_error");
    }
    uint32_t word = atomic_load_explicit(&mutex.lock, memory_order_relaxed);
    if ((word & ~CLOUDABI_LOCK_KERNEL_MANAGED) != (CLOUDABI_LOCK_WRLOCKED | me))
      fail("wrong_owner", word);
    uint64_t v = counter;
    __asm__ volatile("" ::: "memory");
    counter = v + 1;
    check(sdk_mutex_unlock(&mutex), "unlock_error");
  }
}

void program_main(const argdata_t *ad) {
  init_out(ad);
  uint64_t n = arg_u64(ad, "threads", 16);
  iters = arg_u64(ad, "iters", 100000);
  if (n == 0 || n > MAX_THREADS)
    cloudabi_sys_proc_exit(2);
  /* Protocol checks on the main thread first. */
  check(sdk_mutex_lock(&mutex), "lock_error");
  if (sdk_mutex_lock(&mutex) != CLOUDABI_EDEADLK)
    fail("relock_not_edeadlk", 0);
  if (sdk_mutex_trylock(&mutex) != CLOUDABI_EDEADLK)
    fail("trylock_own_not_edeadlk", 0);
  check(sdk_mutex_unlock(&mutex), "unlock_error");
  if (sdk_mutex_unlock(&mutex) != CLOUDABI_EPERM)
    fail("unlock_free_not_eperm", 0);

  sdk_thread_t t[MAX_THREADS];
  for (uint64_t i = 0; i < n; ++i)
    check(sdk_thread_create(&t[i], worker, NULL), "create_error");
  open_gate();
  for (uint64_t i = 0; i < n; ++i)
    check(sdk_thread_join(t[i]), "join_error");
  put_u64("total", counter);
  put_u64("expected", n * iters);
  put_u64("busy_trylocks", busy_trylocks);
  if (atomic_load(&mutex.lock) != 0)
    fail("lock_word_not_free", atomic_load(&mutex.lock));
  cloudabi_sys_proc_exit(counter == n * iters ? 0 : 1);
}
