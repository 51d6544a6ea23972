/*
 * polltime: measures how late poll timeouts fire. For each of `rounds`
 * rounds (10) and each timeout in 1, 2, 3, 5 ms it waits with
 *   rel_mono    poll: one CLOCK subscription, MONOTONIC, relative
 *   abs_mono    poll: MONOTONIC, CLOUDABI_SUBSCRIPTION_CLOCK_ABSTIME
 *   abs_real    poll: REALTIME, CLOUDABI_SUBSCRIPTION_CLOCK_ABSTIME
 *   cond        sdk_cond_timedwait (CONDVAR + relative MONOTONIC CLOCK)
 *   lock        poll: LOCK_WRLOCK on a lock another thread holds + CLOCK
 * and measures, with clock_time_get on the same clock, when it returned.
 *
 * Output per kind: "<kind>_early N" (returns before the deadline: must be
 * 0), "<kind>_max_late_ns N" (worst lateness), "<kind>_count N",
 * "<kind>_over N" (later than `tolerance_ns`, default 5 ms).
 * Argdata: {out: !fd, rounds: N (10), tolerance_ns: N}.
 * Exit 0 if nothing fired early and every event was right, 1 otherwise.
 */
#include "common.h"

enum { REL_MONO, ABS_MONO, ABS_REAL, COND, LOCK, KINDS };
static const char *const names[KINDS] = {"rel_mono", "abs_mono", "abs_real",
                                         "cond", "lock"};
static uint64_t early[KINDS], max_late[KINDS], count[KINDS], over[KINDS];
static uint64_t tolerance_ns;
static int bad;

static void record(int kind, cloudabi_timestamp_t deadline,
                   cloudabi_timestamp_t end) {
  ++count[kind];
  if (end < deadline) {
    ++early[kind];
    return;
  }
  if (end - deadline > max_late[kind])
    max_late[kind] = end - deadline;
  if (end - deadline > tolerance_ns)
    ++over[kind];
}

static void poll_clock(int kind, cloudabi_clockid_t clock, bool abs,
                       cloudabi_timestamp_t d) {
  cloudabi_timestamp_t start = now_ns(clock);
  cloudabi_timestamp_t deadline = start + d;
  cloudabi_subscription_t sub = {
      .userdata = 42,
      .type = CLOUDABI_EVENTTYPE_CLOCK,
      .clock.clock_id = clock,
      .clock.timeout = abs ? deadline : d,
      .clock.flags = abs ? CLOUDABI_SUBSCRIPTION_CLOCK_ABSTIME : 0,
  };
  cloudabi_event_t ev;
  size_t n;
  cloudabi_errno_t e = cloudabi_sys_poll(&sub, &ev, 1, &n);
  cloudabi_timestamp_t end = now_ns(clock);
  if (e != 0 || n != 1 || ev.userdata != 42 || ev.error != 0 ||
      ev.type != CLOUDABI_EVENTTYPE_CLOCK)
    ++bad;
  record(kind, deadline, end);
}

static sdk_mutex_t cmutex = SDK_MUTEX_INITIALIZER;
static sdk_cond_t cond = SDK_COND_INITIALIZER;

static void cond_wait(cloudabi_timestamp_t d) {
  check(sdk_mutex_lock(&cmutex), "lock_error");
  cloudabi_timestamp_t start = now_ns(CLOUDABI_CLOCK_MONOTONIC);
  cloudabi_errno_t e = sdk_cond_timedwait(&cond, &cmutex, d);
  cloudabi_timestamp_t end = now_ns(CLOUDABI_CLOCK_MONOTONIC);
  if (e != CLOUDABI_ETIMEDOUT)
    ++bad;
  /* The mutex is ours again. */
  if (atomic_load(&cmutex.lock) !=
      (CLOUDABI_LOCK_WRLOCKED | sdk_thread_self()))
    ++bad;
  check(sdk_mutex_unlock(&cmutex), "unlock_error");
  record(COND, start + d, end);
}

/* A lock held by a helper thread for the whole run. */
static _Atomic(cloudabi_lock_t) held;
static sdk_mutex_t helper_mutex = SDK_MUTEX_INITIALIZER;
static sdk_cond_t helper_cond = SDK_COND_INITIALIZER;
static int helper_state; /* 1: holds `held`; 2: may release it */

static void helper(void *arg) {
  (void)arg;
  cloudabi_lock_t expected = 0;
  if (!atomic_compare_exchange_strong(&held, &expected,
                                      CLOUDABI_LOCK_WRLOCKED | sdk_thread_self()))
    fail("helper_lock", expected);
  check(sdk_mutex_lock(&helper_mutex), "lock_error");
  helper_state = 1;
  check(sdk_cond_broadcast(&helper_cond), "broadcast_error");
  while (helper_state != 2)
    check(sdk_cond_wait(&helper_cond, &helper_mutex), "wait_error");
  check(sdk_mutex_unlock(&helper_mutex), "unlock_error");
  expected = CLOUDABI_LOCK_WRLOCKED | sdk_thread_self();
  if (!atomic_compare_exchange_strong(&held, &expected, 0))
    check(cloudabi_sys_lock_unlock(&held, CLOUDABI_SCOPE_PRIVATE),
          "helper_unlock");
}

static void lock_wait(cloudabi_timestamp_t d) {
  cloudabi_timestamp_t start = now_ns(CLOUDABI_CLOCK_MONOTONIC);
  cloudabi_subscription_t subs[2] = {
      {.userdata = 1,
       .type = CLOUDABI_EVENTTYPE_LOCK_WRLOCK,
       .lock.lock = &held,
       .lock.lock_scope = CLOUDABI_SCOPE_PRIVATE},
      {.userdata = 2,
       .type = CLOUDABI_EVENTTYPE_CLOCK,
       .clock.clock_id = CLOUDABI_CLOCK_MONOTONIC,
       .clock.timeout = d},
  };
  cloudabi_event_t ev[2];
  size_t n;
  cloudabi_errno_t e = cloudabi_sys_poll(subs, ev, 2, &n);
  cloudabi_timestamp_t end = now_ns(CLOUDABI_CLOCK_MONOTONIC);
  if (e != 0 || n != 1 || ev[0].userdata != 2 || ev[0].error != 0 ||
      ev[0].type != CLOUDABI_EVENTTYPE_CLOCK)
    ++bad;
  record(LOCK, start + d, end);
}

void program_main(const argdata_t *ad) {
  init_out(ad);
  uint64_t rounds = arg_u64(ad, "rounds", 10);
  tolerance_ns = arg_u64(ad, "tolerance_ns", 5000000);
  static const cloudabi_timestamp_t ms[] = {1, 2, 3, 5};

  sdk_thread_t h;
  check(sdk_thread_create(&h, helper, NULL), "create_error");
  check(sdk_mutex_lock(&helper_mutex), "lock_error");
  while (helper_state != 1)
    check(sdk_cond_wait(&helper_cond, &helper_mutex), "wait_error");
  check(sdk_mutex_unlock(&helper_mutex), "unlock_error");

  for (uint64_t r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); ++i) {
      cloudabi_timestamp_t d = ms[i] * 1000000;
      poll_clock(REL_MONO, CLOUDABI_CLOCK_MONOTONIC, false, d);
      poll_clock(ABS_MONO, CLOUDABI_CLOCK_MONOTONIC, true, d);
      poll_clock(ABS_REAL, CLOUDABI_CLOCK_REALTIME, true, d);
      cond_wait(d);
      lock_wait(d);
    }
  }

  check(sdk_mutex_lock(&helper_mutex), "lock_error");
  helper_state = 2;
  check(sdk_cond_broadcast(&helper_cond), "broadcast_error");
  check(sdk_mutex_unlock(&helper_mutex), "unlock_error");
  check(sdk_thread_join(h), "join_error");
  if (atomic_load(&held) != 0)
    ++bad;

  char name[64];
  for (int k = 0; k < KINDS; ++k) {
    size_t len = strlen(names[k]);
    memcpy(name, names[k], len);
    memcpy(name + len, "_early", 7);
    put_u64(name, early[k]);
    memcpy(name + len, "_max_late_ns", 13);
    put_u64(name, max_late[k]);
    memcpy(name + len, "_count", 7);
    put_u64(name, count[k]);
    memcpy(name + len, "_over", 6);
    put_u64(name, over[k]);
  }
  put_u64("bad", bad);
  int ok = bad == 0;
  for (int k = 0; k < KINDS; ++k)
    ok = ok && early[k] == 0;
  cloudabi_sys_proc_exit(ok ? 0 : 1);
}
