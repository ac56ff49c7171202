/* fearless._native: the raw lock under a Mutex (RawLock).
 *
 * A part of the compiled core: module.c includes every part, in order, into
 * one translation unit, so that every function stays static and can be
 * inlined. The rules every part follows are in module.c's opening comment.
 */

/* -- the raw lock --------------------------------------------------------------
 *
 * On Linux, a POSIX semaphore used as a binary lock, which is what CPython's
 * own PyThread lock is there -- without the clock read that
 * PyThread_acquire_lock_timed() makes on every call, a non-blocking one too
 * (measured on 3.13t: 8% of an uncontended lock() and unlock()). Elsewhere
 * the PyThread lock itself. raw_timed() returns 1 when it took the lock, 0
 * when the time ran out, -1 when a signal interrupted the wait.
 */
#if defined(__linux__)
#include <errno.h>
#include <semaphore.h>

typedef sem_t RawLock;

static int
raw_init(RawLock *lock)
{
    return sem_init(lock, 0, 1) == 0 ? 0 : -1;
}

static void
raw_free(RawLock *lock)
{
    sem_destroy(lock);
}

static inline int
raw_try(RawLock *lock)
{
    int r;
    do {
        r = sem_trywait(lock);
    } while (r != 0 && errno == EINTR);
    return r == 0;
}

static inline void
raw_release(RawLock *lock)
{
    sem_post(lock);
}

static int
raw_timed(RawLock *lock, long us)
{
    struct timespec ts;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
    clockid_t clock = CLOCK_MONOTONIC; /* sem_clockwait: immune to clock changes */
#else
    clockid_t clock = CLOCK_REALTIME;  /* sem_timedwait's clock */
#endif
    clock_gettime(clock, &ts);
    ts.tv_sec += us / 1000000;
    ts.tv_nsec += (us % 1000000) * 1000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000;
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
    int r = sem_clockwait(lock, clock, &ts);
#else
    int r = sem_timedwait(lock, &ts);
#endif
    if (r == 0) {
        return 1;
    }
    return errno == EINTR ? -1 : 0;
}
#else
typedef PyThread_type_lock RawLock;

static int
raw_init(RawLock *lock)
{
    *lock = PyThread_allocate_lock();
    return *lock != NULL ? 0 : -1;
}

static void
raw_free(RawLock *lock)
{
    /* A lock still held (a guard dropped on another thread, or a thread
     * that died holding it) is released before it is freed. */
    PyThread_acquire_lock(*lock, NOWAIT_LOCK);
    PyThread_release_lock(*lock);
    PyThread_free_lock(*lock);
}

static inline int
raw_try(RawLock *lock)
{
    return PyThread_acquire_lock(*lock, NOWAIT_LOCK);
}

static inline void
raw_release(RawLock *lock)
{
    PyThread_release_lock(*lock);
}

static int
raw_timed(RawLock *lock, long us)
{
    PyLockStatus status = PyThread_acquire_lock_timed(*lock, (PY_TIMEOUT_T)us, 1);
    return status == PY_LOCK_ACQUIRED ? 1 : status == PY_LOCK_INTR ? -1 : 0;
}
#endif
