/*
 * <cloudabi_threads.h> - threads, mutexes, readers-writer locks and
 * condition variables for CloudABI programs built with this SDK.
 *
 * The lock and condition variable words follow the CloudABI protocol that
 * cloudlibc's pthreads use (see sdk/README.md, "Threads"), so a program
 * may mix these with code built against cloudlibc on the same runtime.
 * Every function returns 0 or a CloudABI errno value.
 */
#ifndef CLOUDABI_THREADS_H
#define CLOUDABI_THREADS_H

#include <stddef.h>
#include <stdint.h>

#include <cloudabi_types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Threads ---- */

/* A thread created with sdk_thread_create, until it is joined. */
typedef struct sdk_thread *sdk_thread_t;

/* Default sizes of a new thread's stack and of its SafeStack unsafe
 * stack. */
#define SDK_THREAD_STACK_SIZE (128 * 1024)
#define SDK_THREAD_UNSAFE_STACK_SIZE (128 * 1024)

/* Starts a thread running fn(arg) with the default stack sizes. The
 * thread ends when fn returns or calls sdk_thread_exit. Errors: those of
 * mem_map (ENOMEM) and thread_create (EAGAIN: too many threads). */
cloudabi_errno_t sdk_thread_create(sdk_thread_t *thread, void (*fn)(void *),
                                   void *arg);

/* The same with explicit sizes in bytes (rounded up to whole pages; 0
 * means the default). */
cloudabi_errno_t sdk_thread_create_sized(sdk_thread_t *thread,
                                         void (*fn)(void *), void *arg,
                                         size_t stack_size,
                                         size_t unsafe_stack_size);

/* Waits for the thread to end and releases its stacks and TLS. Each thread
 * must be joined exactly once, by one thread. EDEADLK: joining oneself. */
cloudabi_errno_t sdk_thread_join(sdk_thread_t thread);

/* Ends the calling thread, which must have been created with
 * sdk_thread_create (the initial thread ends the process with
 * cloudabi_sys_proc_exit instead). */
_Noreturn void sdk_thread_exit(void);

/* The CloudABI thread id of the calling thread. */
cloudabi_tid_t sdk_thread_self(void);

/* After cloudabi_sys_proc_fork, the calling thread goes on in the child
 * under the new thread id the runtime gave it, and these helpers use that
 * id from then on. Locks held at the fork still name the old id in the
 * child's copy of memory: fork holding none of them. */

/* The thread id of a thread that has not been joined yet. */
cloudabi_tid_t sdk_thread_tid(sdk_thread_t thread);

/* ---- Mutexes (not recursive) ---- */

/* The mutexes, readers-writer locks and condition variables below work
 * between the threads of one process. Initialised with the *_init_shared
 * functions instead, in memory that processes share (fd_create1 shared
 * memory or a file mapped with CLOUDABI_MAP_SHARED, across proc_fork or
 * not), they work between the threads of those processes too
 * (CLOUDABI_SCOPE_SHARED). A condition variable and the mutex it is used
 * with should then both be shared. */

typedef struct {
  _Atomic(cloudabi_lock_t) lock;
  uint32_t shared; /* 0: private to the process */
} sdk_mutex_t;

#define SDK_MUTEX_INITIALIZER {CLOUDABI_LOCK_UNLOCKED, 0}

/* Also ok: sdk_mutex_t m = SDK_MUTEX_INITIALIZER; or zeroed memory. */
void sdk_mutex_init(sdk_mutex_t *m);
void sdk_mutex_init_shared(sdk_mutex_t *m);

/* EDEADLK if the caller holds the mutex already. */
cloudabi_errno_t sdk_mutex_lock(sdk_mutex_t *m);
/* EBUSY if the mutex is held (by anyone), EDEADLK if held by the caller. */
cloudabi_errno_t sdk_mutex_trylock(sdk_mutex_t *m);
/* EPERM if the caller does not hold the mutex. */
cloudabi_errno_t sdk_mutex_unlock(sdk_mutex_t *m);

/* ---- Readers-writer locks (writers preferred; read locks are not
 * recursive while a writer waits) ---- */

typedef struct {
  _Atomic(cloudabi_lock_t) lock;
  uint32_t shared;
} sdk_rwlock_t;

#define SDK_RWLOCK_INITIALIZER {CLOUDABI_LOCK_UNLOCKED, 0}

void sdk_rwlock_init(sdk_rwlock_t *rw);
void sdk_rwlock_init_shared(sdk_rwlock_t *rw);
/* EDEADLK if the caller holds the write lock. */
cloudabi_errno_t sdk_rwlock_rdlock(sdk_rwlock_t *rw);
/* EDEADLK if the caller holds the write lock. */
cloudabi_errno_t sdk_rwlock_wrlock(sdk_rwlock_t *rw);
/* Releases a read or write lock. EPERM if the caller holds neither. */
cloudabi_errno_t sdk_rwlock_unlock(sdk_rwlock_t *rw);

/* ---- Condition variables ---- */

typedef struct {
  _Atomic(cloudabi_condvar_t) cond;
  uint32_t shared;
} sdk_cond_t;

#define SDK_COND_INITIALIZER {CLOUDABI_CONDVAR_HAS_NO_WAITERS, 0}

void sdk_cond_init(sdk_cond_t *c);
void sdk_cond_init_shared(sdk_cond_t *c);

/* Releases m, waits for a signal and takes m again before returning.
 * Spurious wake-ups are possible: wait in a loop on a predicate. */
cloudabi_errno_t sdk_cond_wait(sdk_cond_t *c, sdk_mutex_t *m);

/* The same, for at most `timeout_ns` nanoseconds of the monotonic clock
 * (relative). ETIMEDOUT if the time ran out; m is held again either way. */
cloudabi_errno_t sdk_cond_timedwait(sdk_cond_t *c, sdk_mutex_t *m,
                                    cloudabi_timestamp_t timeout_ns);

/* Wakes one waiter / every waiter (no system call when nobody waits). */
cloudabi_errno_t sdk_cond_signal(sdk_cond_t *c);
cloudabi_errno_t sdk_cond_broadcast(sdk_cond_t *c);

#ifdef __cplusplus
}
#endif

#endif
