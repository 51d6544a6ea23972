/*
 * cvrace: reproduces lost condition variable wake-ups. Two threads play
 * ping-pong through two condition variables, waiting and signalling
 * exactly as cloudlibc's pthread_cond_timedwait / pthread_cond_signal do
 * (a raw CONDVAR + CLOCK poll; condvar_signal only if the word is
 * non-zero). Every wait has a timeout (`timeout_ms`, 1000): a wait that
 * times out although the other thread set its predicate, under the mutex,
 * while it waited is a lost wake-up.
 *
 * With `prestore: 1` the waiter sets the condition variable's word to 1
 * itself before it polls (while it still holds the mutex). If that makes
 * the lost wake-ups go away, the runtime marks the condition variable as
 * having waiters only after it has released the mutex, and a signaller
 * that takes the mutex in between sees "no waiters" and skips the call.
 *
 * Argdata: {out: !fd, iters: N (20000), timeout_ms: N, prestore: 0|1}.
 * Output: "iters N", "lost_wakeups N". Exit 0 if none were lost.
 */
#include "common.h"

static sdk_mutex_t mutex = SDK_MUTEX_INITIALIZER;
static _Atomic(cloudabi_condvar_t) c_ping, c_pong;
static int ping, pong;
static uint64_t iters, timeout_ns, prestore;
static _Atomic uint64_t lost;

/* pthread_cond_timedwait, as cloudlibc does it. Returns 1 on timeout. */
static int cond_timedwait(_Atomic(cloudabi_condvar_t) *c) {
  if (prestore)
    atomic_store(c, 1);
  cloudabi_subscription_t subs[2] = {
      {.type = CLOUDABI_EVENTTYPE_CONDVAR,
       .condvar.condvar = c,
       .condvar.condvar_scope = CLOUDABI_SCOPE_PRIVATE,
       .condvar.lock = &mutex.lock,
       .condvar.lock_scope = CLOUDABI_SCOPE_PRIVATE},
      {.userdata = 1,
       .type = CLOUDABI_EVENTTYPE_CLOCK,
       .clock.clock_id = CLOUDABI_CLOCK_MONOTONIC,
       .clock.timeout = timeout_ns},
  };
  cloudabi_event_t ev[2];
  size_t n;
  check(cloudabi_sys_poll(subs, ev, 2, &n), "poll_error");
  if (n != 1)
    fail("nevents", n);
  check(ev[0].error, "event_error");
  return ev[0].type == CLOUDABI_EVENTTYPE_CLOCK;
}

/* pthread_cond_signal, as cloudlibc does it. */
static void cond_signal(_Atomic(cloudabi_condvar_t) *c) {
  if (atomic_load_explicit(c, memory_order_relaxed) !=
      CLOUDABI_CONDVAR_HAS_NO_WAITERS)
    check(cloudabi_sys_condvar_signal(c, CLOUDABI_SCOPE_PRIVATE, 1),
          "signal_error");
}

static void wait_for(int *flag, _Atomic(cloudabi_condvar_t) *c) {
  while (!*flag)
    if (cond_timedwait(c) && *flag)
      atomic_fetch_add(&lost, 1); /* timed out, yet it was signalled */
  *flag = 0;
}

static void ponger(void *arg) {
  (void)arg;
  for (uint64_t i = 0; i < iters; ++i) {
    check(sdk_mutex_lock(&mutex), "lock_error");
    wait_for(&ping, &c_ping);
    pong = 1;
    cond_signal(&c_pong);
    check(sdk_mutex_unlock(&mutex), "unlock_error");
  }
}

void program_main(const argdata_t *ad) {
  init_out(ad);
  iters = arg_u64(ad, "iters", 20000);
  timeout_ns = arg_u64(ad, "timeout_ms", 1000) * 1000000;
  prestore = arg_u64(ad, "prestore", 0);
  sdk_thread_t t;
  check(sdk_thread_create(&t, ponger, NULL), "create_error");
  for (uint64_t i = 0; i < iters; ++i) {
    check(sdk_mutex_lock(&mutex), "lock_error");
    ping = 1;
    cond_signal(&c_ping);
    wait_for(&pong, &c_pong);
    check(sdk_mutex_unlock(&mutex), "unlock_error");
  }
  check(sdk_thread_join(t), "join_error");
  put_u64("iters", iters);
  put_u64("lost_wakeups", lost);
  cloudabi_sys_proc_exit(lost == 0 ? 0 : 1);
}
