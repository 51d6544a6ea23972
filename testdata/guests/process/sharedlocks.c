/*
 * sharedlocks: mutexes, readers-writer locks and condition variables in
 * shared memory (fd_create1 + MAP_SHARED), used by a parent and its forked
 * child at once (CLOUDABI_SCOPE_SHARED). Prints "ok <check>" or
 * "FAIL <check> (got N, want M)" per check to `out`.
 *
 *   tid            the child's thread id is not the parent's, the SDK
 *                  uses it in the child, and the parent learns it
 *   counter        parent and child each add 1 `iters` times to a counter
 *                  under one mutex; contended, so that waiters queue in the
 *                  runtime and are woken by the other process's unlock
 *   pingpong       `rounds` turns handed back and forth with a condition
 *                  variable: every wait is woken from the other process
 *   eperm          the parent cannot unlock the child's mutex, neither in
 *                  user space nor through lock_unlock
 *   rwlock         a child's read lock lets the parent read, not write
 *   dead_waiter    a child that ends (another of its threads exits) while
 *                  it waits on a condition variable does not take the
 *                  next signal from a live waiter
 *   exec_waiter    with `self`: a child whose image proc_exec replaces
 *                  while one of its threads waits for a mutex does not
 *                  take the mutex when it is released
 *
 * Argdata: {out: !fd, iters: N (20000), rounds: N (200), self: !fd (this
 * program, optional)}; {mode: "execd", shm: !fd} is the new image of
 * exec_waiter.
 * Exit status: the number of failed checks, 125 on bad argdata.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <cloudabi_threads.h>
#include <program.h>
#include <stdatomic.h>

#include "../check.h"
#include "../process.h"

struct shared {
  sdk_mutex_t mutex;
  sdk_cond_t cond;
  sdk_rwlock_t rwlock;
  uint64_t counter;
  uint32_t turn;        /* pingpong: 0 the parent's, 1 the child's */
  uint32_t child_state; /* what the child has reached, see below */
  cloudabi_tid_t child_tid;
};

enum { CHILD_HOLDS = 1, CHILD_WAITING = 2, CHILD_EXECD = 3 };

static struct shared *sh;

/* Waits (polling, without the locks under test) until the child has
 * reached state s. */
static bool await_child(uint32_t s) {
  for (int i = 0; i < 5000; i++) {
    if (__atomic_load_n(&sh->child_state, __ATOMIC_ACQUIRE) == s)
      return true;
    sleep_ms(1);
  }
  return false;
}

static uint64_t add(uint64_t iters) {
  uint64_t errors = 0;
  for (uint64_t i = 0; i < iters; i++) {
    errors += sdk_mutex_lock(&sh->mutex) != 0;
    uint64_t v = sh->counter;
    /* Hold the lock a little, so the other process queues for it. */
    for (volatile int j = 0; j < 20; j++) {
    }
    sh->counter = v + 1;
    errors += sdk_mutex_unlock(&sh->mutex) != 0;
  }
  return errors;
}

static uint64_t pingpong(uint32_t me, uint64_t rounds) {
  uint64_t errors = 0;
  for (uint64_t i = 0; i < rounds; i++) {
    errors += sdk_mutex_lock(&sh->mutex) != 0;
    while (sh->turn != me)
      errors += sdk_cond_wait(&sh->cond, &sh->mutex) != 0;
    sh->turn = 1 - me;
    errors += sdk_cond_signal(&sh->cond) != 0;
    errors += sdk_mutex_unlock(&sh->mutex) != 0;
  }
  return errors;
}

/* The child's second thread: ends the child once its main thread is
 * queued on the condition variable. */
static void exiter(void *arg) {
  (void)arg;
  while (__atomic_load_n(&sh->child_state, __ATOMIC_ACQUIRE) != CHILD_WAITING)
    sleep_ms(1);
  /* The main thread set the state under the mutex and released it only
   * by queueing. */
  sdk_mutex_lock(&sh->mutex);
  sdk_mutex_unlock(&sh->mutex);
  cloudabi_sys_proc_exit(3);
}

/* exec_waiter: {mode: "execd", shm: !fd 0} */
static const unsigned char execd_argdata[] = {
    0x06, 0x86, 0x08, 'm', 'o', 'd', 'e', 0x00, 0x87, 0x08, 'e', 'x', 'e', 'c', 'd', 0x00,
    0x85, 0x08, 's', 'h', 'm', 0x00, 0x85, 0x03, 0x00, 0x00, 0x00, 0x00};
static cloudabi_fd_t self_fd, shm;

/* The child's second thread: replaces the image once the main thread is
 * queued for the mutex (the word is kernel-managed). */
static void execer(void *arg) {
  (void)arg;
  while ((atomic_load(&sh->mutex.lock) & CLOUDABI_LOCK_KERNEL_MANAGED) == 0)
    sleep_ms(1);
  cloudabi_fd_t keep[1] = {shm};
  cloudabi_sys_proc_exec(self_fd, execd_argdata, sizeof(execd_argdata), keep, 1);
  cloudabi_sys_proc_exit(5);
}

/* Write-locks the shared mutex, waiting at most ms: 0, or ETIMEDOUT. */
static cloudabi_errno_t timed_lock(uint64_t ms) {
  cloudabi_subscription_t subs[2] = {
      {.userdata = 0, .type = CLOUDABI_EVENTTYPE_LOCK_WRLOCK,
       .lock = {.lock = &sh->mutex.lock, .lock_scope = CLOUDABI_SCOPE_SHARED}},
      {.userdata = 1, .type = CLOUDABI_EVENTTYPE_CLOCK,
       .clock = {.clock_id = CLOUDABI_CLOCK_MONOTONIC, .timeout = ms * 1000000}}};
  cloudabi_event_t ev;
  size_t n;
  if (cloudabi_sys_poll(subs, &ev, 2, &n) != 0 || n != 1)
    return CLOUDABI_EIO;
  return ev.userdata == 0 ? ev.error : CLOUDABI_ETIMEDOUT;
}

/* A thread of the parent that waits on the condition variable after the
 * dead child did; reports whether a signal reached it. */
static cloudabi_errno_t waiter_result = 9999;

static void waiter(void *arg) {
  (void)arg;
  sdk_mutex_lock(&sh->mutex);
  __atomic_store_n(&sh->turn, 2, __ATOMIC_RELEASE); /* "queued" */
  waiter_result = sdk_cond_timedwait(&sh->cond, &sh->mutex, 5000000000ULL);
  sdk_mutex_unlock(&sh->mutex);
}

void program_main(const argdata_t *ad) {
  argdata_t value;
  int o;
  uint64_t iters = 20000, rounds = 200;
  if (sdk_argdata_map_lookup(ad, "mode", &value) == 0) {
    /* The new image of exec_waiter's child: say so, and end. */
    void *m;
    if (sdk_argdata_map_lookup(ad, "shm", &value) != 0 || argdata_get_fd(&value, &o) != 0 ||
        cloudabi_sys_mem_map(NULL, 4096, CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE, CLOUDABI_MAP_SHARED,
                             (cloudabi_fd_t)o, 0, &m) != 0)
      cloudabi_sys_proc_exit(125);
    sh = m;
    __atomic_store_n(&sh->child_state, CHILD_EXECD, __ATOMIC_RELEASE);
    cloudabi_sys_proc_exit(0);
  }
  if (sdk_argdata_map_lookup(ad, "out", &value) != 0 || argdata_get_fd(&value, &o) != 0)
    cloudabi_sys_proc_exit(125);
  int self = -1;
  if (sdk_argdata_map_lookup(ad, "self", &value) == 0 && argdata_get_fd(&value, &self) != 0)
    cloudabi_sys_proc_exit(125);
  self_fd = (cloudabi_fd_t)self;
  if (sdk_argdata_map_lookup(ad, "iters", &value) == 0)
    argdata_get_int(&value, &iters);
  if (sdk_argdata_map_lookup(ad, "rounds", &value) == 0)
    argdata_get_int(&value, &rounds);
  out = (cloudabi_fd_t)o;

  expect_u64("fd_create1", cloudabi_sys_fd_create1(CLOUDABI_FILETYPE_SHARED_MEMORY, &shm), 0);
  cloudabi_filestat_t fs = {.st_size = 4096};
  expect_u64("resize", cloudabi_sys_file_stat_fput(shm, &fs, CLOUDABI_FILESTAT_SIZE), 0);
  void *m;
  expect_u64("mem_map", cloudabi_sys_mem_map(NULL, 4096, CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE, CLOUDABI_MAP_SHARED, shm, 0, &m), 0);
  sh = m;
  sdk_mutex_init_shared(&sh->mutex);
  sdk_cond_init_shared(&sh->cond);
  sdk_rwlock_init_shared(&sh->rwlock);

  /* tid, counter, pingpong, eperm, rwlock: one child. */
  cloudabi_fd_t child;
  cloudabi_tid_t child_tid;
  cloudabi_errno_t err = cloudabi_sys_proc_fork(&child, &child_tid);
  if (err == 0 && child == CLOUDABI_PROCESS_CHILD) {
    /* The SDK took the new id. */
    sh->child_tid = sdk_thread_self() == child_tid ? child_tid : 0;
    uint64_t errors = add(iters) + pingpong(1, rounds);
    /* Hold the mutex and a read lock until the parent has tried them. */
    errors += sdk_mutex_lock(&sh->mutex) != 0;
    errors += sdk_rwlock_rdlock(&sh->rwlock) != 0;
    __atomic_store_n(&sh->child_state, CHILD_HOLDS, __ATOMIC_RELEASE);
    while (__atomic_load_n(&sh->child_state, __ATOMIC_ACQUIRE) == CHILD_HOLDS)
      sleep_ms(1);
    errors += sdk_rwlock_unlock(&sh->rwlock) != 0;
    errors += sdk_mutex_unlock(&sh->mutex) != 0;
    cloudabi_sys_proc_exit(errors == 0 ? 0 : 1);
  }
  expect_u64("fork", err, 0);
  uint64_t errors = add(iters) + pingpong(0, rounds);
  expect_u64("parent_lock_errors", errors, 0);
  expect_u64("await_child_holds", await_child(CHILD_HOLDS), 1);
  expect_u64("counter", sh->counter, 2 * iters);
  expect_u64("tid", sh->child_tid != 0 && sh->child_tid != sdk_thread_self(), 1);
  expect_u64("tid_in_parent", child_tid, sh->child_tid);
  expect_u64("eperm_user_space", sdk_mutex_unlock(&sh->mutex), CLOUDABI_EPERM);
  expect_u64("eperm_lock_unlock", cloudabi_sys_lock_unlock(&sh->mutex.lock, CLOUDABI_SCOPE_SHARED), CLOUDABI_EPERM);
  expect_u64("trylock_busy", sdk_mutex_trylock(&sh->mutex), CLOUDABI_EBUSY);
  expect_u64("rwlock_read_too", sdk_rwlock_rdlock(&sh->rwlock), 0);
  expect_u64("rwlock_read_unlock", sdk_rwlock_unlock(&sh->rwlock), 0);
  __atomic_store_n(&sh->child_state, 0, __ATOMIC_RELEASE);
  /* The child's unlock is kernel-managed now if this wait queued. */
  expect_u64("mutex_after_child", sdk_mutex_lock(&sh->mutex), 0);
  expect_u64("mutex_after_child_unlock", sdk_mutex_unlock(&sh->mutex), 0);
  expect_u64("rwlock_write_after_child", sdk_rwlock_wrlock(&sh->rwlock), 0);
  expect_u64("rwlock_write_unlock", sdk_rwlock_unlock(&sh->rwlock), 0);
  cloudabi_event_t ev = wait_process(child);
  expect_u64("child_exit", ev.proc_terminate.exitcode, 0);
  expect_u64("child_signal", ev.proc_terminate.signal, 0);
  cloudabi_sys_fd_close(child);

  /* dead_waiter: the child ends while it waits on the condition variable;
   * then a thread of the parent waits, and one signal must reach it. */
  err = cloudabi_sys_proc_fork(&child, &child_tid);
  if (err == 0 && child == CLOUDABI_PROCESS_CHILD) {
    sdk_thread_t t;
    if (sdk_thread_create(&t, exiter, NULL) != 0)
      cloudabi_sys_proc_exit(4);
    sdk_mutex_lock(&sh->mutex);
    sh->child_state = CHILD_WAITING;
    for (;;)
      sdk_cond_wait(&sh->cond, &sh->mutex);
  }
  expect_u64("fork_waiter", err, 0);
  ev = wait_process(child);
  expect_u64("child_ended_waiting", ev.proc_terminate.exitcode, 3);
  cloudabi_sys_fd_close(child);

  __atomic_store_n(&sh->turn, 0, __ATOMIC_RELEASE);
  sdk_thread_t t;
  expect_u64("waiter_create", sdk_thread_create(&t, waiter, NULL), 0);
  while (__atomic_load_n(&sh->turn, __ATOMIC_ACQUIRE) != 2)
    sleep_ms(1);
  /* Queued once the waiter released the mutex. */
  expect_u64("lock_after_waiter_queued", sdk_mutex_lock(&sh->mutex), 0);
  expect_u64("signal_one", sdk_cond_signal(&sh->cond), 0);
  expect_u64("unlock_after_signal", sdk_mutex_unlock(&sh->mutex), 0);
  expect_u64("waiter_join", sdk_thread_join(t), 0);
  expect_u64("dead_waiter", waiter_result, 0);

  if (self >= 0) {
    /* exec_waiter: the parent holds the mutex while the child queues for
     * it and has its image replaced; then the parent releases it and must
     * be able to take it again. */
    expect_u64("exec_lock", sdk_mutex_lock(&sh->mutex), 0);
    __atomic_store_n(&sh->child_state, 0, __ATOMIC_RELEASE);
    err = cloudabi_sys_proc_fork(&child, &child_tid);
    if (err == 0 && child == CLOUDABI_PROCESS_CHILD) {
      sdk_thread_t t;
      if (sdk_thread_create(&t, execer, NULL) != 0)
        cloudabi_sys_proc_exit(4);
      sdk_mutex_lock(&sh->mutex); /* queues; the image is replaced meanwhile */
      cloudabi_sys_proc_exit(6);
    }
    expect_u64("exec_fork", err, 0);
    expect_u64("exec_await_new_image", await_child(CHILD_EXECD), 1);
    expect_u64("exec_unlock", sdk_mutex_unlock(&sh->mutex), 0);
    expect_u64("exec_relock", timed_lock(2000), 0);
    expect_u64("exec_relock_unlock", sdk_mutex_unlock(&sh->mutex), 0);
    ev = wait_process(child);
    expect_u64("exec_child_exit", ev.proc_terminate.exitcode, 0);
    cloudabi_sys_fd_close(child);
  }

  cloudabi_sys_proc_exit(failures);
}
