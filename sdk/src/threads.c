/*
 * Threads, mutexes, readers-writer locks and condition variables
 * (<cloudabi_threads.h>), on the CloudABI lock protocol that cloudlibc's
 * pthreads use:
 *
 *   lock word   0: free; CLOUDABI_LOCK_WRLOCKED | tid: write-locked by
 *               tid; n: held by n readers; CLOUDABI_LOCK_KERNEL_MANAGED
 *               set while the runtime has threads queued on it.
 *   acquire     write: CAS 0 -> WRLOCKED|tid; read: CAS n -> n+1 if
 *               neither WRLOCKED nor KERNEL_MANAGED is set. Otherwise
 *               poll() on a LOCK_WRLOCK / LOCK_RDLOCK subscription, which
 *               returns with the lock held (the runtime wrote the word).
 *   release     write: CAS WRLOCKED|tid -> 0; read: CAS n -> n-1 unless
 *               this is the last reader of a kernel-managed lock. If the
 *               CAS cannot succeed (KERNEL_MANAGED), lock_unlock() hands
 *               the lock to the next waiter(s).
 *   condvar     word non-zero while threads wait. Wait = poll() on a
 *               CONDVAR subscription (and a CLOCK for a timeout): the
 *               runtime releases the mutex and queues in one step, and
 *               returns with the mutex held again. Signal = condvar_signal
 *               if the word is non-zero.
 *
 * This file is compiled with -fno-sanitize=safe-stack: thread_entry runs
 * before the new thread has TLS or an unsafe stack.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cloudabi_sdk.h>
#include <cloudabi_syscalls.h>
#include <cloudabi_threads.h>

#include "tls.h"

#define WRLOCKED CLOUDABI_LOCK_WRLOCKED
#define KERNEL_MANAGED CLOUDABI_LOCK_KERNEL_MANAGED
#define SCOPE CLOUDABI_SCOPE_PRIVATE
#define SCOPE_OF(x) ((x)->shared ? CLOUDABI_SCOPE_SHARED : CLOUDABI_SCOPE_PRIVATE)

/* How many times a contended lock is retried in user space before the
 * thread queues in the runtime: enough to cover a short critical section
 * running on another core, far less than a round trip to the runtime.
 * Then it yields the processor a few times, retrying after each, in case
 * the owner was preempted on this core.
 *
 * This is done even while KERNEL_MANAGED is set (the word is only ever
 * changed from 0 then, which it cannot be while the runtime has waiters:
 * it hands the lock straight to the next one). Queueing at once behind
 * a kernel-managed lock would keep it kernel-managed for as long as
 * threads keep arriving: every hand-off would then cost a round trip to
 * the runtime and a wake-up (a lock convoy). Waiting politely lets the
 * queue drain and the lock return to user space. */
#define SPIN_ITERATIONS 100
#define YIELD_ITERATIONS 4

struct sdk_thread {
  /* The join lock: write-locked by the thread while it runs, released by
   * thread_exit. Created as WRLOCKED with owner 0 (held by nobody in
   * particular); the thread puts its own id in before anything else. */
  _Atomic(cloudabi_lock_t) join;
  cloudabi_tid_t tid;
  void (*fn)(void *);
  void *arg;
  void *region; /* the one mapping holding everything below */
  size_t region_len;
  char *unsafe_top;
  char *tls_area;
};

/* The calling thread; NULL in the initial thread. */
static __thread struct sdk_thread *self;
/* The calling thread's id; 0 in the initial thread (sdk_tid instead). */
static __thread cloudabi_tid_t self_tid;

cloudabi_tid_t sdk_thread_self(void) {
  cloudabi_tid_t tid = self_tid;
  return tid != 0 ? tid : sdk_tid;
}

cloudabi_tid_t sdk_thread_tid(sdk_thread_t t) { return t->tid; }

/* cloudabi_sys_proc_fork calls this in the child: its thread has a new
 * id (see <cloudabi_syscalls.h>). */
void __cloudabi_sdk_forked(cloudabi_tid_t tid) {
  if (self_tid != 0) {
    self_tid = tid;
    self->tid = tid;
  } else {
    sdk_tid = tid;
  }
}

static inline void cpu_relax(void) { __builtin_ia32_pause(); }

static inline uintptr_t round_up(uintptr_t v, uintptr_t align) {
  return (v + align - 1) & ~(align - 1);
}

/* ---- Locks ---- */

/* Waits in the runtime until the lock is held (for writing if `write`).
 * The runtime takes it at once if it became free meanwhile. */
static cloudabi_errno_t lock_wait(_Atomic(cloudabi_lock_t) *lock,
                                  cloudabi_scope_t scope, bool write) {
  cloudabi_subscription_t sub = {
      .type = write ? CLOUDABI_EVENTTYPE_LOCK_WRLOCK
                    : CLOUDABI_EVENTTYPE_LOCK_RDLOCK,
      .lock.lock = lock,
      .lock.lock_scope = scope,
  };
  cloudabi_event_t ev;
  size_t n;
  cloudabi_errno_t error = cloudabi_sys_poll(&sub, &ev, 1, &n);
  if (error != 0)
    return error;
  if (n != 1)
    return CLOUDABI_EIO;
  return ev.error;
}

static cloudabi_errno_t lock_wrlock(_Atomic(cloudabi_lock_t) *lock,
                                    cloudabi_scope_t scope, bool try) {
  cloudabi_tid_t tid = sdk_thread_self();
  for (int i = 0;; ++i) {
    cloudabi_lock_t old = CLOUDABI_LOCK_UNLOCKED;
    if (atomic_compare_exchange_strong_explicit(lock, &old, WRLOCKED | tid,
                                                memory_order_acquire,
                                                memory_order_relaxed))
      return 0;
    if ((old & ~KERNEL_MANAGED) == (WRLOCKED | tid))
      return CLOUDABI_EDEADLK;
    if (try)
      return CLOUDABI_EBUSY;
    if (i >= SPIN_ITERATIONS + YIELD_ITERATIONS)
      return lock_wait(lock, scope, true);
    if (i < SPIN_ITERATIONS)
      cpu_relax();
    else
      cloudabi_sys_thread_yield();
  }
}

static cloudabi_errno_t lock_rdlock(_Atomic(cloudabi_lock_t) *lock,
                                    cloudabi_scope_t scope) {
  cloudabi_lock_t old = atomic_load_explicit(lock, memory_order_relaxed);
  for (int i = 0;; ++i) {
    if ((old & (WRLOCKED | KERNEL_MANAGED)) == 0) {
      if (atomic_compare_exchange_weak_explicit(lock, &old, old + 1,
                                                memory_order_acquire,
                                                memory_order_relaxed))
        return 0;
      continue;
    }
    if ((old & ~KERNEL_MANAGED) == (WRLOCKED | sdk_thread_self()))
      return CLOUDABI_EDEADLK;
    /* Write-locked, or writers are queued (writers are preferred, so no
     * new read lock is taken while KERNEL_MANAGED is set). */
    if (i >= SPIN_ITERATIONS + YIELD_ITERATIONS)
      return lock_wait(lock, scope, false);
    if (i < SPIN_ITERATIONS)
      cpu_relax();
    else
      cloudabi_sys_thread_yield();
    old = atomic_load_explicit(lock, memory_order_relaxed);
  }
}

static cloudabi_errno_t lock_unlock(_Atomic(cloudabi_lock_t) *lock,
                                    cloudabi_scope_t scope) {
  cloudabi_lock_t old = atomic_load_explicit(lock, memory_order_relaxed);
  if ((old & WRLOCKED) != 0) {
    cloudabi_tid_t tid = sdk_thread_self();
    if ((old & ~(KERNEL_MANAGED | WRLOCKED)) != tid)
      return CLOUDABI_EPERM;
    cloudabi_lock_t expected = WRLOCKED | tid;
    if (atomic_compare_exchange_strong_explicit(lock, &expected,
                                                CLOUDABI_LOCK_UNLOCKED,
                                                memory_order_release,
                                                memory_order_relaxed))
      return 0;
    /* KERNEL_MANAGED: the runtime passes the lock on. */
    return cloudabi_sys_lock_unlock(lock, scope);
  }
  for (;;) {
    cloudabi_lock_t readers = old & ~KERNEL_MANAGED;
    if (readers == 0)
      return CLOUDABI_EPERM;
    if (readers == 1 && (old & KERNEL_MANAGED) != 0)
      return cloudabi_sys_lock_unlock(lock, scope); /* last reader */
    if (atomic_compare_exchange_weak_explicit(lock, &old, old - 1,
                                              memory_order_release,
                                              memory_order_relaxed))
      return 0;
    if ((old & WRLOCKED) != 0)
      return CLOUDABI_EPERM;
  }
}

void sdk_mutex_init(sdk_mutex_t *m) {
  atomic_init(&m->lock, CLOUDABI_LOCK_UNLOCKED);
  m->shared = 0;
}

void sdk_mutex_init_shared(sdk_mutex_t *m) {
  atomic_init(&m->lock, CLOUDABI_LOCK_UNLOCKED);
  m->shared = 1;
}

cloudabi_errno_t sdk_mutex_lock(sdk_mutex_t *m) {
  return lock_wrlock(&m->lock, SCOPE_OF(m), false);
}

cloudabi_errno_t sdk_mutex_trylock(sdk_mutex_t *m) {
  return lock_wrlock(&m->lock, SCOPE_OF(m), true);
}

cloudabi_errno_t sdk_mutex_unlock(sdk_mutex_t *m) {
  cloudabi_lock_t old = atomic_load_explicit(&m->lock, memory_order_relaxed);
  if ((old & WRLOCKED) == 0)
    return CLOUDABI_EPERM;
  return lock_unlock(&m->lock, SCOPE_OF(m));
}

void sdk_rwlock_init(sdk_rwlock_t *rw) {
  atomic_init(&rw->lock, CLOUDABI_LOCK_UNLOCKED);
  rw->shared = 0;
}

void sdk_rwlock_init_shared(sdk_rwlock_t *rw) {
  atomic_init(&rw->lock, CLOUDABI_LOCK_UNLOCKED);
  rw->shared = 1;
}

cloudabi_errno_t sdk_rwlock_rdlock(sdk_rwlock_t *rw) {
  return lock_rdlock(&rw->lock, SCOPE_OF(rw));
}

cloudabi_errno_t sdk_rwlock_wrlock(sdk_rwlock_t *rw) {
  return lock_wrlock(&rw->lock, SCOPE_OF(rw), false);
}

cloudabi_errno_t sdk_rwlock_unlock(sdk_rwlock_t *rw) {
  return lock_unlock(&rw->lock, SCOPE_OF(rw));
}

/* ---- Condition variables ---- */

void sdk_cond_init(sdk_cond_t *c) {
  atomic_init(&c->cond, CLOUDABI_CONDVAR_HAS_NO_WAITERS);
  c->shared = 0;
}

void sdk_cond_init_shared(sdk_cond_t *c) {
  atomic_init(&c->cond, CLOUDABI_CONDVAR_HAS_NO_WAITERS);
  c->shared = 1;
}

static cloudabi_errno_t cond_wait(sdk_cond_t *c, sdk_mutex_t *m, bool timed,
                                  cloudabi_timestamp_t timeout_ns) {
  cloudabi_subscription_t subs[2] = {
      {
          .type = CLOUDABI_EVENTTYPE_CONDVAR,
          .condvar.condvar = &c->cond,
          .condvar.condvar_scope = SCOPE_OF(c),
          .condvar.lock = &m->lock,
          .condvar.lock_scope = SCOPE_OF(m),
      },
      {
          .userdata = 1,
          .type = CLOUDABI_EVENTTYPE_CLOCK,
          .clock.clock_id = CLOUDABI_CLOCK_MONOTONIC,
          .clock.timeout = timeout_ns,
      },
  };
  cloudabi_event_t ev[2];
  size_t n;
  cloudabi_errno_t error = cloudabi_sys_poll(subs, ev, timed ? 2 : 1, &n);
  if (error != 0)
    return error;
  if (n < 1)
    return CLOUDABI_EIO;
  for (size_t i = 0; i < n; ++i)
    if (ev[i].type == CLOUDABI_EVENTTYPE_CONDVAR)
      return ev[i].error;
  return ev[0].error != 0 ? ev[0].error : CLOUDABI_ETIMEDOUT;
}

cloudabi_errno_t sdk_cond_wait(sdk_cond_t *c, sdk_mutex_t *m) {
  return cond_wait(c, m, false, 0);
}

cloudabi_errno_t sdk_cond_timedwait(sdk_cond_t *c, sdk_mutex_t *m,
                                    cloudabi_timestamp_t timeout_ns) {
  return cond_wait(c, m, true, timeout_ns);
}

static cloudabi_errno_t cond_signal(sdk_cond_t *c, cloudabi_nthreads_t n) {
  if (atomic_load_explicit(&c->cond, memory_order_relaxed) ==
      CLOUDABI_CONDVAR_HAS_NO_WAITERS)
    return 0;
  return cloudabi_sys_condvar_signal(&c->cond, SCOPE_OF(c), n);
}

cloudabi_errno_t sdk_cond_signal(sdk_cond_t *c) { return cond_signal(c, 1); }

cloudabi_errno_t sdk_cond_broadcast(sdk_cond_t *c) {
  return cond_signal(c, UINT32_MAX);
}

/* ---- Threads ---- */

static inline cloudabi_tcb_t *tcb_get(void) {
  cloudabi_tcb_t *tcb;
  __asm__ volatile("movq %%fs:0, %0" : "=r"(tcb));
  return tcb;
}

static inline void tcb_set(cloudabi_tcb_t *tcb) {
  __asm__ volatile("movq %0, %%fs:0" : : "r"(tcb) : "memory");
}

/* thread_exit releases the join lock; the runtime guarantees that the
 * thread touches its stack no more after that, so a joiner may unmap it
 * at once. */
__attribute__((noreturn)) static void exit_thread(struct sdk_thread *t) {
  cloudabi_sys_thread_exit(&t->join, SCOPE);
}

_Noreturn void sdk_thread_exit(void) {
  struct sdk_thread *t = self;
  if (t == NULL) {
    /* The initial thread has no join lock: end the process as abort()
     * would, rather than leave it without its initial thread. */
    cloudabi_sys_proc_raise(CLOUDABI_SIGABRT);
    cloudabi_sys_proc_exit(127);
  }
  exit_thread(t);
}

/* Runs once the thread pointer is in place; out of line so that the TLS
 * addresses are computed from the new %fs:0. */
__attribute__((noinline)) static void thread_main(struct sdk_thread *t,
                                                  cloudabi_tid_t tid) {
  __safestack_unsafe_stack_ptr = t->unsafe_top;
  self = t;
  self_tid = tid;
  t->fn(t->arg);
}

/* The entry point given to thread_create: entered with %fs:0 pointing at
 * the runtime's zeroed thread page, no TLS and no unsafe stack. */
static void thread_entry(cloudabi_tid_t tid, void *arg) {
  struct sdk_thread *t = arg;

  /* 1. Own the join lock: WRLOCKED with owner 0 becomes WRLOCKED | tid,
   * keeping KERNEL_MANAGED if a joiner queued already. */
  cloudabi_lock_t old = atomic_load_explicit(&t->join, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(
      &t->join, &old, (old & KERNEL_MANAGED) | WRLOCKED | tid,
      memory_order_relaxed, memory_order_relaxed))
    ;

  /* 2. TLS, as crt0 does for the initial thread. */
  cloudabi_tcb_t *tcb = __sdk_tls_init(t->tls_area);
  cloudabi_tcb_t *old_tcb = tcb_get();
  if (old_tcb != NULL)
    *tcb = *old_tcb;
  else
    tcb->parent = NULL;
  tcb_set(tcb);

  /* 3. Unsafe stack, then the thread's function. */
  thread_main(t, tid);
  exit_thread(t);
}

cloudabi_errno_t sdk_thread_create_sized(sdk_thread_t *thread,
                                         void (*fn)(void *), void *arg,
                                         size_t stack_size,
                                         size_t unsafe_stack_size) {
  size_t pg = sdk_pagesz;
  if (stack_size == 0)
    stack_size = SDK_THREAD_STACK_SIZE;
  if (unsafe_stack_size == 0)
    unsafe_stack_size = SDK_THREAD_UNSAFE_STACK_SIZE;
  stack_size = round_up(stack_size, pg);
  unsafe_stack_size = round_up(unsafe_stack_size, pg);
  /* One mapping: [guard][unsafe stack][guard][stack][control + TLS]. */
  size_t control = round_up(
      round_up(sizeof(struct sdk_thread), 64) + __sdk_tls_area_size(), pg);
  size_t len = pg + unsafe_stack_size + pg + stack_size + control;
  void *region;
  cloudabi_errno_t error = cloudabi_sys_mem_map(
      NULL, len, CLOUDABI_PROT_READ | CLOUDABI_PROT_WRITE,
      CLOUDABI_MAP_ANON | CLOUDABI_MAP_PRIVATE, CLOUDABI_MAP_ANON_FD, 0,
      &region);
  if (error != 0)
    return error;
  char *base = region;
  /* Guard pages: best effort, as for the initial thread. */
  cloudabi_sys_mem_protect(base, pg, 0);
  cloudabi_sys_mem_protect(base + pg + unsafe_stack_size, pg, 0);
  char *stack = base + pg + unsafe_stack_size + pg;
  struct sdk_thread *t = (struct sdk_thread *)(stack + stack_size);
  atomic_init(&t->join, WRLOCKED); /* held, owner not yet known */
  t->fn = fn;
  t->arg = arg;
  t->region = region;
  t->region_len = len;
  t->unsafe_top = base + pg + unsafe_stack_size;
  t->tls_area = (char *)t + round_up(sizeof(struct sdk_thread), 64);

  cloudabi_threadattr_t attr = {
      .entry_point = thread_entry,
      .stack = stack,
      .stack_len = stack_size,
      .argument = t,
  };
  error = cloudabi_sys_thread_create(&attr, &t->tid);
  if (error != 0) {
    cloudabi_sys_mem_unmap(region, len);
    return error;
  }
  *thread = t;
  return 0;
}

cloudabi_errno_t sdk_thread_create(sdk_thread_t *thread, void (*fn)(void *),
                                   void *arg) {
  return sdk_thread_create_sized(thread, fn, arg, 0, 0);
}

cloudabi_errno_t sdk_thread_join(sdk_thread_t t) {
  if (t == self)
    return CLOUDABI_EDEADLK;
  /* The join lock is released only by thread_exit. If nobody waited it
   * is 0 by now and can be taken here; otherwise queue for it. */
  cloudabi_tid_t tid = sdk_thread_self();
  cloudabi_lock_t old = CLOUDABI_LOCK_UNLOCKED;
  if (!atomic_compare_exchange_strong_explicit(&t->join, &old, WRLOCKED | tid,
                                               memory_order_acquire,
                                               memory_order_relaxed)) {
    cloudabi_errno_t error = lock_wait(&t->join, SCOPE, true);
    if (error != 0)
      return error;
  }
  cloudabi_sys_mem_unmap(t->region, t->region_len);
  return 0;
}
