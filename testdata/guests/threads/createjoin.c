/*
 * createjoin: creates `threads` (1000) short threads, at most `batch` (16)
 * alive at once, and joins each. Every thread records its id and a value
 * derived from its argument; the main thread checks them after the join.
 *
 * Argdata: {out: !fd, threads: N, batch: N}.
 * Output: "joined N", "ran N", "distinct_ok 1". Exit 0 if all ran.
 */
#include "common.h"

#define MAX_THREADS 100000
#define MAX_BATCH 256

static uint64_t results[MAX_THREADS];
static cloudabi_tid_t tids[MAX_THREADS];
static _Atomic uint64_t ran;
static __thread uint64_t tls_value = 7; /* .tdata: each thread's own copy */

static void worker(void *arg) {
  uint64_t i = (uint64_t)(uintptr_t)arg;
  if (tls_value != 7)
    fail("tls_not_initialised", tls_value);
  tls_value = i;
  volatile char big[1024]; /* on the unsafe stack (SafeStack) */
  for (int k = 0; k < 1024; ++k)
    big[k] = (char)i;
  results[i] = i * 2 + 1 + (uint64_t)(big[1023] != (char)i) + (tls_value - i);
  tids[i] = sdk_thread_self();
  atomic_fetch_add(&ran, 1);
}

void program_main(const argdata_t *ad) {
  init_out(ad);
  uint64_t n = arg_u64(ad, "threads", 1000);
  uint64_t batch = arg_u64(ad, "batch", 16);
  if (n > MAX_THREADS || batch == 0 || batch > MAX_BATCH)
    cloudabi_sys_proc_exit(2);
  sdk_thread_t t[MAX_BATCH];
  uint64_t joined = 0;
  for (uint64_t start = 0; start < n; start += batch) {
    uint64_t k = n - start < batch ? n - start : batch;
    for (uint64_t j = 0; j < k; ++j)
      check(sdk_thread_create(&t[j], worker, (void *)(uintptr_t)(start + j)),
            "create_error");
    for (uint64_t j = 0; j < k; ++j) {
      cloudabi_tid_t tid = sdk_thread_tid(t[j]);
      check(sdk_thread_join(t[j]), "join_error");
      if (tids[start + j] != tid)
        fail("tid_mismatch", start + j);
      ++joined;
    }
  }
  for (uint64_t i = 0; i < n; ++i)
    if (results[i] != i * 2 + 1)
      fail("bad_result", i);
  put_u64("joined", joined);
  put_u64("ran", ran);
  cloudabi_sys_proc_exit(joined == n && ran == n ? 0 : 1);
}
