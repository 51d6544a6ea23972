/*
 * rwlock: writers and readers on one sdk_rwlock_t. The protected state is
 * an array of words that writers set, one by one, to the next value, so
 * they are equal whenever no writer is inside; readers check that they
 * are equal and count how many readers are inside at once.
 *
 * Argdata: {out: !fd, writers: N (2), readers: N (6), iters: N (20000)
 * writes per writer}.
 * Output: "value V" (= writers * iters), "violations N" (0), "reads N",
 * "max_readers N" (readers seen inside at once). Exit 0 if consistent.
 */
#include "common.h"

#define MAX_THREADS 64
#define WORDS 16

static sdk_rwlock_t rw = SDK_RWLOCK_INITIALIZER;
static volatile uint64_t state[WORDS];
static uint64_t iters;
static _Atomic uint64_t violations, reads, writers_left;
static _Atomic uint64_t inside, max_inside;

static void writer(void *arg) {
  (void)arg;
  for (uint64_t i = 0; i < iters; ++i) {
    check(sdk_rwlock_wrlock(&rw), "wrlock_error");
    if (atomic_load(&inside) != 0)
      atomic_fetch_add(&violations, 1); /* a reader is inside */
    uint64_t v = state[0] + 1;
    for (int w = 0; w < WORDS; ++w) {
      state[w] = v;
      __asm__ volatile("" ::: "memory");
    }
    check(sdk_rwlock_unlock(&rw), "wrunlock_error");
  }
  atomic_fetch_sub(&writers_left, 1);
}

static void reader(void *arg) {
  (void)arg;
  while (atomic_load(&writers_left) != 0) {
    check(sdk_rwlock_rdlock(&rw), "rdlock_error");
    uint64_t n = atomic_fetch_add(&inside, 1) + 1;
    uint64_t m = atomic_load(&max_inside);
    while (n > m && !atomic_compare_exchange_weak(&max_inside, &m, n))
      ;
    uint64_t v = state[0];
    for (int w = 1; w < WORDS; ++w)
      if (state[w] != v)
        atomic_fetch_add(&violations, 1);
    atomic_fetch_sub(&inside, 1);
    check(sdk_rwlock_unlock(&rw), "rdunlock_error");
    atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
  }
}

void program_main(const argdata_t *ad) {
  init_out(ad);
  uint64_t nw = arg_u64(ad, "writers", 2);
  uint64_t nr = arg_u64(ad, "readers", 6);
  iters = arg_u64(ad, "iters", 20000);
  if (nw == 0 || nw + nr > MAX_THREADS)
    cloudabi_sys_proc_exit(2);
  /* Protocol checks. */
  check(sdk_rwlock_wrlock(&rw), "wrlock_error");
  if (sdk_rwlock_rdlock(&rw) != CLOUDABI_EDEADLK)
    fail("rdlock_under_wrlock_not_edeadlk", 0);
  if (sdk_rwlock_wrlock(&rw) != CLOUDABI_EDEADLK)
    fail("wrlock_twice_not_edeadlk", 0);
  check(sdk_rwlock_unlock(&rw), "wrunlock_error");
  check(sdk_rwlock_rdlock(&rw), "rdlock_error");
  check(sdk_rwlock_rdlock(&rw), "rdlock_error"); /* two read holds */
  if (atomic_load(&rw.lock) != 2)
    fail("two_readers_word", atomic_load(&rw.lock));
  check(sdk_rwlock_unlock(&rw), "rdunlock_error");
  check(sdk_rwlock_unlock(&rw), "rdunlock_error");
  if (sdk_rwlock_unlock(&rw) != CLOUDABI_EPERM)
    fail("unlock_free_not_eperm", 0);

  atomic_store(&writers_left, nw);
  sdk_thread_t t[MAX_THREADS];
  for (uint64_t i = 0; i < nr; ++i)
    check(sdk_thread_create(&t[i], reader, NULL), "create_error");
  for (uint64_t i = 0; i < nw; ++i)
    check(sdk_thread_create(&t[nr + i], writer, NULL), "create_error");
  for (uint64_t i = 0; i < nr + nw; ++i)
    check(sdk_thread_join(t[i]), "join_error");
  put_u64("value", state[0]);
  put_u64("violations", violations);
  put_u64("reads", reads);
  put_u64("max_readers", max_inside);
  if (atomic_load(&rw.lock) != 0)
    fail("lock_word_not_free", atomic_load(&rw.lock));
  cloudabi_sys_proc_exit(state[0] == nw * iters && violations == 0 ? 0 : 1);
}
