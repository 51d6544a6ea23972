/*
 * lockbench (native): the operations of testdata/guests/threads/lockbench.c
 * with glibc's pthreads, for the benchmarks' native baseline. Built with
 * gcc -O2 -pthread by threads_bench_test.go.
 *
 *   lockbench MODE ITERS  ->  prints "ps_per_op N"
 *   mode 0  uncontended pthread_mutex_lock + unlock pairs
 *   mode 1  contended hand-off: two threads alternate strictly
 *   mode 2  condition variable ping-pong: ns per wake-up
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv[2] = {PTHREAD_COND_INITIALIZER,
                               PTHREAD_COND_INITIALIZER};
static volatile uint64_t turn;
static uint64_t iters;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *handoff(void *arg) {
  uint64_t me = (uint64_t)(uintptr_t)arg;
  for (uint64_t i = 0; i < iters; ++i) {
    for (;;) {
      pthread_mutex_lock(&mutex);
      if (turn % 2 == me)
        break;
      pthread_mutex_unlock(&mutex);
    }
    ++turn;
    pthread_mutex_unlock(&mutex);
  }
  return NULL;
}

static void *pingpong(void *arg) {
  uint64_t me = (uint64_t)(uintptr_t)arg;
  pthread_mutex_lock(&mutex);
  for (uint64_t i = 0; i < iters; ++i) {
    while (turn % 2 != me)
      pthread_cond_wait(&cv[me], &mutex);
    ++turn;
    pthread_cond_signal(&cv[1 - me]);
  }
  pthread_mutex_unlock(&mutex);
  return NULL;
}

static uint64_t two_threads(void *(*fn)(void *)) {
  pthread_t t;
  uint64_t start = now_ns();
  if (pthread_create(&t, NULL, fn, (void *)1) != 0)
    exit(1);
  fn((void *)0);
  pthread_join(t, NULL);
  return now_ns() - start;
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  int mode = atoi(argv[1]);
  iters = strtoull(argv[2], NULL, 10);
  if (iters == 0)
    iters = 1;
  uint64_t elapsed, ops;
  switch (mode) {
  case 0: {
    uint64_t start = now_ns();
    for (uint64_t i = 0; i < iters; ++i) {
      pthread_mutex_lock(&mutex);
      __asm__ volatile("" ::: "memory");
      pthread_mutex_unlock(&mutex);
    }
    elapsed = now_ns() - start;
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
    return 2;
  }
  printf("ps_per_op %llu\n", (unsigned long long)(elapsed * 1000 / ops));
  return 0;
}
