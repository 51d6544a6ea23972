/*
 * condvar: producers and consumers on a bounded buffer guarded by one
 * mutex and two condition variables (not_empty, not_full), woken with
 * sdk_cond_signal (one waiter at a time: a lost wake-up hangs the
 * program, which the test detects with its timeout).
 *
 * Producer p puts the values p*items+1 ... p*items+items. Consumers add
 * up what they take. When every producer is done the main thread sets
 * `done` and broadcasts; consumers stop once the buffer is empty.
 *
 * Argdata: {out: !fd, producers: N (4), consumers: N (4), items: N
 * (25000), capacity: N (8)}.
 * Output: "sum S", "expected S", "count N", "waits N" (condition variable
 * waits). Exit 0 if exact, 1 otherwise.
 */
#include "common.h"

#define MAX_THREADS 64
#define MAX_CAPACITY 1024

static sdk_mutex_t mutex = SDK_MUTEX_INITIALIZER;
static sdk_cond_t not_empty = SDK_COND_INITIALIZER;
static sdk_cond_t not_full = SDK_COND_INITIALIZER;
static uint64_t buffer[MAX_CAPACITY];
static uint64_t head, tail, capacity;
static int done;
static uint64_t items;
static uint64_t sums[MAX_THREADS], counts[MAX_THREADS];
static uint64_t waits; /* condition variable waits, counted under mutex */

static void producer(void *arg) {
  uint64_t p = (uint64_t)(uintptr_t)arg;
  for (uint64_t i = 1; i <= items; ++i) {
    check(sdk_mutex_lock(&mutex), "lock_error");
    while (tail - head == capacity) {
      ++waits;
      check(sdk_cond_wait(&not_full, &mutex), "wait_error");
    }
    buffer[tail++ % capacity] = p * items + i;
    check(sdk_cond_signal(&not_empty), "signal_error");
    check(sdk_mutex_unlock(&mutex), "unlock_error");
  }
}

static void consumer(void *arg) {
  uint64_t c = (uint64_t)(uintptr_t)arg;
  uint64_t sum = 0, count = 0;
  for (;;) {
    check(sdk_mutex_lock(&mutex), "lock_error");
    while (tail == head && !done) {
      ++waits;
      check(sdk_cond_wait(&not_empty, &mutex), "wait_error");
    }
    if (tail == head) {
      check(sdk_mutex_unlock(&mutex), "unlock_error");
      break;
    }
    sum += buffer[head++ % capacity];
    ++count;
    check(sdk_cond_signal(&not_full), "signal_error");
    check(sdk_mutex_unlock(&mutex), "unlock_error");
  }
  sums[c] = sum;
  counts[c] = count;
}

void program_main(const argdata_t *ad) {
  init_out(ad);
  uint64_t np = arg_u64(ad, "producers", 4);
  uint64_t nc = arg_u64(ad, "consumers", 4);
  items = arg_u64(ad, "items", 25000);
  capacity = arg_u64(ad, "capacity", 8);
  if (np == 0 || nc == 0 || np + nc > MAX_THREADS || capacity == 0 ||
      capacity > MAX_CAPACITY)
    cloudabi_sys_proc_exit(2);
  sdk_thread_t prod[MAX_THREADS], cons[MAX_THREADS];
  for (uint64_t i = 0; i < nc; ++i)
    check(sdk_thread_create(&cons[i], consumer, (void *)(uintptr_t)i),
          "create_error");
  for (uint64_t i = 0; i < np; ++i)
    check(sdk_thread_create(&prod[i], producer, (void *)(uintptr_t)i),
          "create_error");
  for (uint64_t i = 0; i < np; ++i)
    check(sdk_thread_join(prod[i]), "join_error");
  check(sdk_mutex_lock(&mutex), "lock_error");
  done = 1;
  check(sdk_cond_broadcast(&not_empty), "broadcast_error");
  check(sdk_mutex_unlock(&mutex), "unlock_error");
  uint64_t sum = 0, count = 0;
  for (uint64_t i = 0; i < nc; ++i) {
    check(sdk_thread_join(cons[i]), "join_error");
    sum += sums[i];
    count += counts[i];
  }
  uint64_t n = np * items;
  uint64_t expected = n * (n + 1) / 2;
  put_u64("sum", sum);
  put_u64("expected", expected);
  put_u64("count", count);
  put_u64("waits", waits);
  cloudabi_sys_proc_exit(sum == expected && count == n ? 0 : 1);
}
