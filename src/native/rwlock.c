/* fearless._native: RwLock's fast readers (RwLockCore, ReadGuardCore).
 *
 * A part of the compiled core: module.c includes every part, in order, into
 * one translation unit. The rules every part follows are in module.c's
 * opening comment.
 */

/* -- RwLock: the lock word and the fast readers --------------------------------
 *
 * The reference (fearless._rwlock_core) keeps every reader in a dict behind
 * an internal lock: readers of one RwLock take turns on that lock, so on the
 * free-threaded build they never run in parallel. Here a reader that finds
 * the lock open takes no lock at all: it counts itself into one atomic word,
 *
 *     state = fast readers * RW_ONE | RW_GATE,
 *
 * with a compare-exchange that succeeds only while RW_GATE is down. RW_GATE
 * mirrors the reference's ``_gate`` (a writer holds the lock or waits for
 * it, an upgrade waits, the lock is poisoned or consumed): RwLockCore's
 * ``_gate`` setter raises and lowers it. Everything else -- writers,
 * upgradable reads, readers that arrive while the gate is up, waiting,
 * poison, fork -- is the reference's Python code running on this object,
 * which sees the fast readers through three attributes: ``_fast`` (how many
 * there are), ``_fast_mine`` (how many this thread holds: its reentrant
 * reads and its deadlock checks) and ``_fast_lost`` (how many threads lost
 * by os.fork() held, set by the twin's fork hook).
 *
 * The protocol, on the one word (sequentially consistent, so one total
 * order): a writer, under the internal lock, raises the gate and only then
 * counts the fast readers. Either a reader's increment comes first, and the
 * writer sees it and waits; or the raise comes first, and the increment
 * fails. A fast reader that leaves while the gate is up, and is the last one,
 * calls the reference's ``_reader_left()``, which hands the lock over under
 * the internal lock; its decrement and the writer's count are on the same
 * word, so one of the two always sees the other. The value is read by a
 * fast reader only while it is counted, and written by a writer only while
 * the gate is up: the gate's lowering (after the write) is what the
 * reader's compare-exchange reads, so the write happens before the read.
 *
 * Which locks this thread holds fast reads of is kept in thread-local
 * storage: HELD_SLOTS entries of (lock, count). A thread that would need
 * more takes the reference's path (its dict) for the extra locks.
 */

#if defined(_MSC_VER) && !defined(__clang__)
#define THREAD_LOCAL __declspec(thread)
#else
#define THREAD_LOCAL _Thread_local
#endif

#define RW_GATE ((intptr_t)1)
/* The reference's _BUSY bit of _gate (fearless._rwlock_core); the others
 * are fearless._poison's. */
#define RW_BUSY_BIT 4
#define RW_ONE ((intptr_t)2)
#define HELD_SLOTS 8

typedef struct {
    PyObject *guard_released_error, *wrong_thread_error;
    PyObject *msg_released, *msg_read_only, *msg_wrong_thread;
    PyObject *dropped;           /* the reference's warning for a dropped guard */
    PyObject *str_read_slow, *str_try_read_slow, *str_reader_left;
    PyTypeObject *guard_type;    /* the RwLockReadGuard twin */
    int ready;
} RwState;

static RwState R;

typedef struct {
    PyObject_HEAD
    PyObject *weakreflist;
    _Atomic intptr_t state;      /* see above */
    _Atomic long gate;           /* the reference's _gate */
    _Atomic uint32_t gate_seq;   /* bumped when the gate comes down */
    _Atomic uint32_t drain_seq;  /* bumped when the last fast reader leaves under it */
    _Atomic int gate_sleepers;   /* readers asleep on gate_seq */
    _Atomic int drain_sleepers;  /* writers asleep on drain_seq */
    _Atomic(PyObject *) data;    /* the value; NULL once into_inner() took it */
    Py_ssize_t fast_lost;        /* fast readers that os.fork() lost */
} RwLockCore;

typedef struct {
    PyObject_HEAD
    RwLockCore *home;            /* the lock: set once, at creation */
    PyObject *value;             /* the value read: set once, kept until collected */
    unsigned long owner;         /* the thread that took it: set once */
    _Atomic int held;            /* 1 until released */
} ReadGuardCore;

typedef struct {
    RwLockCore *lock;
    Py_ssize_t count;
} HeldRead;

static THREAD_LOCAL HeldRead held_reads[HELD_SLOTS];

static PyTypeObject *RwLockCore_type; /* set in native_exec */
static PyTypeObject *ReadGuardCore_type;

/* This thread's entry for ``lock``; with ``make``, a free one if it has
 * none (its lock not set yet); NULL if neither. */
static inline HeldRead *
held_slot(RwLockCore *lock, int make)
{
    HeldRead *free_slot = NULL;
    for (int i = 0; i < HELD_SLOTS; i++) {
        if (held_reads[i].lock == lock) {
            return &held_reads[i];
        }
        if (free_slot == NULL && held_reads[i].lock == NULL) {
            free_slot = &held_reads[i];
        }
    }
    return make ? free_slot : NULL;
}

static inline Py_ssize_t
fast_mine(RwLockCore *lock)
{
    HeldRead *slot = held_slot(lock, 0);
    return slot == NULL ? 0 : slot->count;
}

/* -- waiting at the gate, and for the readers to leave --------------------------
 *
 * A reader that finds the gate up, and a writer (or an upgrade) that raised
 * it and waits for the fast readers in flight, wait here first, in C with
 * the GIL released: a writer holds the lock for a few bytecodes, readers
 * for a few more, and the reference's path (a queue entry, a parked waiter
 * lock, a hand-over in Python) costs a wake-up on both sides for each. A
 * reader waits at most RW_GATE_PARK_US, a writer RW_DRAIN_PARK_US (or its
 * timeout); then the reference's path takes over (which counts it in
 * statistics(), honours Ctrl-C, and is phase-fair). Both bounds are short
 * enough for Ctrl-C to feel immediate. parking_lot's adaptive strategy:
 * yield a few times, then sleep on a futex word (Linux) that the other side
 * bumps and wakes -- gate_seq when the gate comes down or the lock is
 * poisoned or consumed (_gate's setter), drain_seq when the last fast
 * reader leaves under a raised gate. Elsewhere the wait keeps yielding. A
 * sleeper counts itself in *_sleepers before it looks a last time, and a
 * waker bumps the word before it reads the count: one of the two always
 * sees the other (all on one total order, seq_cst).
 *
 * On the free-threaded build, readers at the gate do not yield first
 * (RW_GATE_SPINS is 0) and sleep up to 20 ms: a writer's turn lasts several
 * microseconds of Python, and with more threads than cores, readers that
 * yield take turns on the cores with the writer and with the readers it
 * waits for. Sleeping at once gives them the cores: on the read-heavy
 * benchmark (4 threads on 2 cores), 3.11x the exclusive lock's time against
 * 3.40x with 64 yields and a 200 us sleep, medians of 13 interleaved pairs
 * of runs, lower in 10 of them (docs/performance.md): a small gain. With
 * the GIL, sleeping at once measured no better, and the waits stay.
 */

#ifndef RW_GATE_SPINS
#ifdef Py_GIL_DISABLED
#define RW_GATE_SPINS 0
#else
#define RW_GATE_SPINS 64
#endif
#endif
#ifndef RW_DRAIN_SPINS
#define RW_DRAIN_SPINS 64
#endif
#ifndef RW_GATE_PARK_US
#ifdef Py_GIL_DISABLED
#define RW_GATE_PARK_US 20000
#else
#define RW_GATE_PARK_US 200
#endif
#endif
#ifndef RW_DRAIN_PARK_US
#define RW_DRAIN_PARK_US 20000
#endif

static inline void
rw_yield(void)
{
#ifdef _WIN32
    SwitchToThread();
#else
    sched_yield();
#endif
}

#if defined(__linux__)
#define RW_FUTEX 1

/* Sleep while *word == seen, at most ``us`` microseconds (or until woken). */
static void
rw_futex_wait(_Atomic uint32_t *word, uint32_t seen, long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

static void
rw_futex_wake_all(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
#endif

/* Wait (GIL released by the caller) until ``done(self)``: ``spins`` yields,
 * then sleeps, at most ``us`` microseconds in all; whether it is done.
 * ``word`` and ``sleepers`` are the futex word its waker bumps and the
 * count of its sleepers. */
static int
rw_wait_until(RwLockCore *self, int (*done)(RwLockCore *), _Atomic uint32_t *word,
              _Atomic int *sleepers, int spins, long us)
{
    for (int i = 0; i < spins; i++) {
        if (done(self)) {
            return 1;
        }
        rw_yield();
    }
    double deadline = monotonic_seconds() + us / 1e6;
    while (!done(self)) {
        double left = deadline - monotonic_seconds();
        if (left <= 0) {
            return 0;
        }
#ifdef RW_FUTEX
        uint32_t seen = atomic_load_explicit(word, memory_order_seq_cst);
        atomic_fetch_add_explicit(sleepers, 1, memory_order_seq_cst);
        if (!done(self)) {
            rw_futex_wait(word, seen, (long)(left * 1e6) + 1);
        }
        atomic_fetch_sub_explicit(sleepers, 1, memory_order_seq_cst);
#else
        rw_yield();
#endif
    }
    return 1;
}

/* Bump ``word`` and wake its sleepers, if any. */
static inline void
rw_wake(_Atomic uint32_t *word, _Atomic int *sleepers)
{
    atomic_fetch_add_explicit(word, 1, memory_order_seq_cst);
#ifdef RW_FUTEX
    if (atomic_load_explicit(sleepers, memory_order_seq_cst) > 0) {
        rw_futex_wake_all(word);
    }
#endif
}

/* Whether a reader's wait at the gate is over: the gate is down, or the
 * lock is poisoned or consumed (the reference's path then refuses it). */
static int
rw_gate_down(RwLockCore *self)
{
    return !(atomic_load_explicit(&self->state, memory_order_seq_cst) & RW_GATE)
           || (atomic_load_explicit(&self->gate, memory_order_seq_cst) & ~(long)RW_BUSY_BIT);
}

static int
rw_no_fast_readers(RwLockCore *self)
{
    return atomic_load_explicit(&self->state, memory_order_seq_cst) / RW_ONE == 0;
}

/* A reader that found the gate up: wait for it to come down (see above);
 * whether the wait is over (the gate down, or the lock in trouble). Not
 * for a poisoned or consumed lock (the reference refuses at once), nor for
 * a thread that holds fast reads of this lock (its read is reentrant: the
 * reference lets it in at once). */
static int
rw_wait_for_gate(RwLockCore *self)
{
    if (atomic_load_explicit(&self->gate, memory_order_relaxed) & ~(long)RW_BUSY_BIT) {
        return 0;
    }
    if (fast_mine(self)) {
        return 0;
    }
    int open;
    Py_BEGIN_ALLOW_THREADS
    open = rw_wait_until(self, rw_gate_down, &self->gate_seq, &self->gate_sleepers, RW_GATE_SPINS,
                         RW_GATE_PARK_US);
    Py_END_ALLOW_THREADS
    return open;
}

/* _await_readers(seconds): for a writer or an upgrade that raised the gate
 * and waits for the fast readers in flight to leave (see above), at most
 * ``seconds`` (negative: RW_DRAIN_PARK_US); whether none is left. The
 * caller then hands the lock over itself (the last reader leaves that to it
 * when it sleeps here). */
static PyObject *
RwLockCore_await_readers(RwLockCore *self, PyObject *arg)
{
    double seconds = PyFloat_AsDouble(arg);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    long us = RW_DRAIN_PARK_US;
    if (seconds >= 0 && seconds * 1e6 < us) {
        us = (long)(seconds * 1e6);
    }
    int gone;
    Py_BEGIN_ALLOW_THREADS
    gone = rw_wait_until(self, rw_no_fast_readers, &self->drain_seq, &self->drain_sleepers,
                         RW_DRAIN_SPINS, us);
    Py_END_ALLOW_THREADS
    return PyBool_FromLong(gone);
}

/* A fast read guard, or NULL with no exception set when the reference's
 * path must take the request (the gate is up, or this thread's slots are
 * full); NULL with an exception when out of memory. */
static PyObject *
rw_fast_read(RwLockCore *self)
{
    intptr_t state = atomic_load_explicit(&self->state, memory_order_relaxed);
    if (state & RW_GATE) {
        return NULL;
    }
    /* Made before the lock is taken: nothing can fail once it is. (The
     * allocation may run a collection, and finalisers with it, which may
     * take and release reads on this thread: the slot is looked up after.) */
    ReadGuardCore *guard = PyObject_GC_New(ReadGuardCore, R.guard_type);
    if (guard == NULL) {
        return NULL;
    }
    guard->home = NULL;
    guard->value = NULL;
    guard->owner = PyThread_get_thread_ident();
    atomic_init(&guard->held, 0);
    HeldRead *slot = held_slot(self, 1);
    if (slot == NULL) {
        Py_DECREF(guard);
        return NULL;
    }
    do {
        if (state & RW_GATE) {
            Py_DECREF(guard);
            return NULL;
        }
    } while (!atomic_compare_exchange_weak_explicit(&self->state, &state, state + RW_ONE,
                                                    memory_order_seq_cst, memory_order_relaxed));
    slot->lock = self;
    slot->count++;
    guard->home = (RwLockCore *)Py_NewRef(self);
    guard->value = Py_XNewRef(atomic_load_explicit(&self->data, memory_order_acquire));
    atomic_store_explicit(&guard->held, 1, memory_order_relaxed);
    PyObject_GC_Track(guard);
    return (PyObject *)guard;
}

/* Release a held fast read guard, on its owner's thread. Leaving last
 * while the gate is up hands the lock over (the reference's _reader_left)
 * if ``hand_over``; -1 with an exception set if that raised (the read lock
 * is released all the same, and waiters redo a lost hand-over themselves
 * within a slice, as they do for the reference's). */
static int
rw_fast_release(ReadGuardCore *guard, int hand_over)
{
    RwLockCore *lock = guard->home;
    atomic_store_explicit(&guard->held, 0, memory_order_relaxed);
    HeldRead *slot = held_slot(lock, 0);
    if (slot != NULL && --slot->count == 0) {
        slot->lock = NULL;
    }
    intptr_t before = atomic_fetch_sub_explicit(&lock->state, RW_ONE, memory_order_seq_cst);
    if ((before & RW_GATE) && before / RW_ONE == 1) {
        /* The last fast reader, under a raised gate: a writer waiting in
         * _await_readers hands over itself once woken; one parked by the
         * reference needs the hand-over done here. */
        atomic_fetch_add_explicit(&lock->drain_seq, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&lock->drain_sleepers, memory_order_seq_cst) > 0) {
#ifdef RW_FUTEX
            rw_futex_wake_all(&lock->drain_seq);
#endif
            return 0;
        }
    }
    else {
        return 0;
    }
    if (hand_over) {
        PyObject *r = PyObject_CallMethodNoArgs((PyObject *)lock, R.str_reader_left);
        if (r == NULL) {
            return -1;
        }
        Py_DECREF(r);
    }
    return 0;
}

static const char *const NAMES_READ[] = {"timeout"};

static PyObject *
RwLockCore_read(RwLockCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *timeout = Py_None;
    if (nargs != 0 || kwnames != NULL) {
        if (nargs != 0) {
            PyErr_Format(PyExc_TypeError, "read() takes 1 positional argument but %zd were given", nargs + 1);
            return NULL;
        }
        PyObject *a[1] = {Py_None};
        if (parse_args("read", args, 0, kwnames, NAMES_READ, 1, 0, a) < 0) {
            return NULL;
        }
        timeout = a[0];
    }
    if (timeout == Py_None) {
        PyObject *guard = rw_fast_read(self);
        if (guard != NULL || PyErr_Occurred()) {
            return guard;
        }
        if (rw_wait_for_gate(self)) {
            guard = rw_fast_read(self);
            if (guard != NULL || PyErr_Occurred()) {
                return guard;
            }
        }
    }
    return PyObject_CallMethodOneArg((PyObject *)self, R.str_read_slow, timeout);
}

static PyObject *
RwLockCore_try_read(RwLockCore *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *guard = rw_fast_read(self);
    if (guard != NULL || PyErr_Occurred()) {
        return guard;
    }
    return PyObject_CallMethodNoArgs((PyObject *)self, R.str_try_read_slow);
}

static PyObject *
RwLockCore_get_data(RwLockCore *self, void *closure)
{
    PyObject *data = atomic_load_explicit(&self->data, memory_order_acquire);
    if (data == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_data");
        return NULL;
    }
    return Py_NewRef(data);
}

/* Only the reference's code assigns it, under the internal lock, while the
 * gate is up (a writer's release, into_inner) or before the lock is shared
 * (__init__): never beside a fast reader. The pointer is an atomic all the
 * same, stored with release and loaded with acquire: the new value's
 * contents then happen before any reader's use of them by this edge alone,
 * besides the gate's. The old value goes last, since its finaliser may run
 * any code. */
static int
RwLockCore_set_data(RwLockCore *self, PyObject *value, void *closure)
{
    PyObject *old = atomic_exchange_explicit(&self->data, Py_XNewRef(value), memory_order_acq_rel);
    Py_XDECREF(old);
    return 0;
}

static PyObject *
RwLockCore_get_gate(RwLockCore *self, void *closure)
{
    return PyLong_FromLong(atomic_load_explicit(&self->gate, memory_order_seq_cst));
}

static int
RwLockCore_set_gate(RwLockCore *self, PyObject *value, void *closure)
{
    long gate = value == NULL ? -1 : PyLong_AsLong(value);
    if (gate == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (gate < 0) {
        PyErr_SetString(PyExc_ValueError, "_gate takes the reference's gate bits");
        return -1;
    }
    long was = atomic_exchange_explicit(&self->gate, gate, memory_order_seq_cst);
    if (gate) {
        atomic_fetch_or_explicit(&self->state, RW_GATE, memory_order_seq_cst);
        if ((gate & ~(long)RW_BUSY_BIT) && !(was & ~(long)RW_BUSY_BIT)) {
            rw_wake(&self->gate_seq, &self->gate_sleepers); /* poisoned or consumed */
        }
    }
    else if (atomic_fetch_and_explicit(&self->state, ~RW_GATE, memory_order_seq_cst) & RW_GATE) {
        rw_wake(&self->gate_seq, &self->gate_sleepers);
    }
    return 0;
}

static PyObject *
RwLockCore_get_fast(RwLockCore *self, void *closure)
{
    return PyLong_FromSsize_t(
        (Py_ssize_t)(atomic_load_explicit(&self->state, memory_order_seq_cst) / RW_ONE));
}

static PyObject *
RwLockCore_get_fast_mine(RwLockCore *self, void *closure)
{
    return PyLong_FromSsize_t(fast_mine(self));
}

static PyObject *
RwLockCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (!R.ready) {
        PyErr_SetString(PyExc_RuntimeError, "fearless._native's RwLock is not set up: import fearless");
        return NULL;
    }
    RwLockCore *self = (RwLockCore *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->weakreflist = NULL;
    atomic_init(&self->state, 0);
    atomic_init(&self->gate, 0);
    atomic_init(&self->gate_seq, 0);
    atomic_init(&self->drain_seq, 0);
    atomic_init(&self->gate_sleepers, 0);
    atomic_init(&self->drain_sleepers, 0);
    self->data = NULL;
    self->fast_lost = 0;
    return (PyObject *)self;
}

static int
RwLockCore_traverse(RwLockCore *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->data);
    return 0;
}

static int
RwLockCore_clear(RwLockCore *self)
{
    Py_CLEAR(self->data);
    return 0;
}

static void
RwLockCore_dealloc(RwLockCore *self)
{
    dealloc_begin((PyObject *)self, 1, self->weakreflist);
    Py_CLEAR(self->data);
    dealloc_end((PyObject *)self);
}

static PyMethodDef RwLockCore_methods[] = {
    {"read", (PyCFunction)(void (*)(void))RwLockCore_read, METH_FASTCALL | METH_KEYWORDS,
     "Block until no writer holds or waits for the lock; return a read guard."},
    {"try_read", (PyCFunction)RwLockCore_try_read, METH_NOARGS,
     "Take a read guard if one is available right now, without blocking."},
    {"_await_readers", (PyCFunction)RwLockCore_await_readers, METH_O,
     "Wait a little (at most ``seconds``) for the fast readers to leave; whether none is."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef RwLockCore_getset[] = {
    {"_data", (getter)RwLockCore_get_data, (setter)RwLockCore_set_data, "The protected value.", NULL},
    {"_gate", (getter)RwLockCore_get_gate, (setter)RwLockCore_set_gate,
     "The reference's gate; a non-zero one turns fast readers away.", NULL},
    {"_fast", (getter)RwLockCore_get_fast, NULL, "How many fast read guards are held.", NULL},
    {"_fast_mine", (getter)RwLockCore_get_fast_mine, NULL,
     "How many fast read guards this thread holds.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef RwLockCore_members[] = {
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(RwLockCore, weakreflist), Py_READONLY, NULL},
    {"_fast_lost", Py_T_PYSSIZET, offsetof(RwLockCore, fast_lost), 0,
     "How many fast read guards threads lost by os.fork() held."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot RwLockCore_slots[] = {
    {Py_tp_doc, "The compiled core of fearless.RwLock: its fast readers."},
    {Py_tp_new, RwLockCore_new},
    {Py_tp_dealloc, RwLockCore_dealloc},
    {Py_tp_traverse, RwLockCore_traverse},
    {Py_tp_clear, RwLockCore_clear},
    {Py_tp_methods, RwLockCore_methods},
    {Py_tp_getset, RwLockCore_getset},
    {Py_tp_members, RwLockCore_members},
    {0, NULL},
};

static PyType_Spec RwLockCore_spec = {
    .name = "fearless._native.RwLockCore",
    .basicsize = sizeof(RwLockCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = RwLockCore_slots,
};

/* -- the fast read guard -- */

static PyObject *
ReadGuardCore_get_value(ReadGuardCore *self, void *closure)
{
    if (!atomic_load_explicit(&self->held, memory_order_relaxed) || self->value == NULL) {
        PyErr_SetObject(R.guard_released_error, R.msg_released);
        return NULL;
    }
    return Py_NewRef(self->value);
}

static int
ReadGuardCore_set_value(ReadGuardCore *self, PyObject *value, void *closure)
{
    if (!atomic_load_explicit(&self->held, memory_order_relaxed)) {
        PyErr_SetObject(R.guard_released_error, R.msg_released);
    }
    else {
        PyErr_SetObject(PyExc_AttributeError, R.msg_read_only);
    }
    return -1;
}

/* ``guard.value`` answered before the generic lookup, as MutexGuard's. */
static PyObject *
ReadGuardCore_getattro(ReadGuardCore *self, PyObject *name)
{
    if (name == M.str_value) {
        return ReadGuardCore_get_value(self, NULL);
    }
    return PyObject_GenericGetAttr((PyObject *)self, name);
}

static PyObject *
ReadGuardCore_get_rwlock(ReadGuardCore *self, void *closure)
{
    int held = atomic_load_explicit(&self->held, memory_order_relaxed);
    return Py_NewRef(held ? (PyObject *)self->home : Py_None);
}

static PyObject *
ReadGuardCore_get_owner(ReadGuardCore *self, void *closure)
{
    return PyLong_FromUnsignedLong(self->owner);
}

static PyObject *
ReadGuardCore_enter(ReadGuardCore *self, PyObject *Py_UNUSED(ignored))
{
    if (!atomic_load_explicit(&self->held, memory_order_relaxed)) {
        PyErr_SetObject(R.guard_released_error, R.msg_released);
        return NULL;
    }
    return Py_NewRef(self);
}

/* __exit__ and unlock(): the reference's checks, then the release. */
static PyObject *
read_guard_exit(ReadGuardCore *self)
{
    int held = atomic_load_explicit(&self->held, memory_order_relaxed);
    if (PyThread_get_thread_ident() != self->owner) {
        if (held) {
            PyErr_SetObject(R.wrong_thread_error, R.msg_wrong_thread);
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if (!held) {
        Py_RETURN_NONE; /* unlock() was called inside the block */
    }
    if (rw_fast_release(self, 1) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
ReadGuardCore_exit(ReadGuardCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    return read_guard_exit(self);
}

static PyObject *
ReadGuardCore_unlock(ReadGuardCore *self, PyObject *Py_UNUSED(ignored))
{
    if (!atomic_load_explicit(&self->held, memory_order_relaxed)) {
        PyErr_SetObject(R.guard_released_error, R.msg_released);
        return NULL;
    }
    return read_guard_exit(self);
}

static PyObject *
ReadGuardCore_repr(ReadGuardCore *self)
{
    if (!atomic_load_explicit(&self->held, memory_order_relaxed) || self->value == NULL) {
        return PyUnicode_FromString("<RwLockReadGuard (released)>");
    }
    return PyUnicode_FromFormat("<RwLockReadGuard value=%R>", self->value);
}

static void
ReadGuardCore_finalize(ReadGuardCore *self)
{
    if (!atomic_load_explicit(&self->held, memory_order_relaxed)) {
        return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    RwLockCore *lock = self->home;
    if (PyThread_get_thread_ident() == self->owner) {
        /* Released in C, and nothing else: no Python code runs in here (a
         * finaliser can strike anywhere, and a Ctrl-C inside it would be
         * lost). A writer that waits for this reader takes the lock at its
         * next slice (the reference's waiters redo a hand-over that did not
         * happen). The message is the reference's (warn_dropped). */
        rw_fast_release(self, 0);
        warn_released_when_collected((PyObject *)self, "RwLockReadGuard", (PyObject *)lock, "RwLock",
                                     "with lock.read() as guard:");
    }
    else {
        /* Only its owner may release it: the lock stays read-locked, and
         * stays alive, since the owner's thread-local entry names it. The
         * reference says so. */
        Py_INCREF(lock);
        finalizer_call_done(PyObject_CallFunctionObjArgs(R.dropped, (PyObject *)self,
                                                         (PyObject *)lock, Py_False, NULL),
                            (PyObject *)self);
    }
    PyErr_Restore(type, value, tb);
}

static int
ReadGuardCore_traverse(ReadGuardCore *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->home);
    Py_VISIT(self->value);
    return 0;
}

static int
ReadGuardCore_clear(ReadGuardCore *self)
{
    Py_CLEAR(self->value);
    return 0;
}

static void
ReadGuardCore_dealloc(ReadGuardCore *self)
{
    if (guard_resurrected((PyObject *)self, atomic_load_explicit(&self->held, memory_order_relaxed))) {
        return;
    }
    dealloc_begin((PyObject *)self, 1, NULL);
    Py_CLEAR(self->value);
    Py_CLEAR(self->home);
    dealloc_end((PyObject *)self);
}

static PyObject *
ReadGuardCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyErr_Format(PyExc_TypeError, "fearless.RwLockReadGuard has no public constructor");
    return NULL;
}

static PyMethodDef ReadGuardCore_methods[] = {
    {"__enter__", (PyCFunction)ReadGuardCore_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))ReadGuardCore_exit, METH_FASTCALL, NULL},
    {"unlock", (PyCFunction)ReadGuardCore_unlock, METH_NOARGS,
     "Release the read lock now, before the end of the ``with`` block."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef ReadGuardCore_getset[] = {
    {"value", (getter)ReadGuardCore_get_value, (setter)ReadGuardCore_set_value,
     "The protected value, read-only.", NULL},
    {"_rwlock", (getter)ReadGuardCore_get_rwlock, NULL, "The lock while the guard holds it, else None.",
     NULL},
    {"_owner", (getter)ReadGuardCore_get_owner, NULL, "The identity of the thread that took it.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot ReadGuardCore_slots[] = {
    {Py_tp_doc, "The compiled core of fearless.RwLockReadGuard."},
    {Py_tp_new, ReadGuardCore_new},
    {Py_tp_dealloc, ReadGuardCore_dealloc},
    {Py_tp_finalize, ReadGuardCore_finalize},
    {Py_tp_traverse, ReadGuardCore_traverse},
    {Py_tp_clear, ReadGuardCore_clear},
    {Py_tp_repr, ReadGuardCore_repr},
    {Py_tp_getattro, ReadGuardCore_getattro},
    {Py_tp_methods, ReadGuardCore_methods},
    {Py_tp_getset, ReadGuardCore_getset},
    {0, NULL},
};

static PyType_Spec ReadGuardCore_spec = {
    .name = "fearless._native.ReadGuardCore",
    .basicsize = sizeof(ReadGuardCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = ReadGuardCore_slots,
};

static PyObject *
native_setup_rwlock(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    /* _setup_rwlock(guard_twin, (GuardReleasedError, WrongThreadError),
     *               (msg_released, msg_read_only, msg_wrong_thread), dropped) */
    if (nargs != 4 || !is_subtype(args[0], ReadGuardCore_type) || !is_tuple_of(args[1], 2)
        || !is_tuple_of(args[2], 3) || !PyCallable_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "_setup_rwlock(guard_twin, errors, messages, dropped)");
        return NULL;
    }
    if (R.ready) {
        Py_RETURN_NONE;
    }
    R.guard_type = (PyTypeObject *)Py_NewRef(args[0]);
    keep_items(args[1], (PyObject **[]){&R.guard_released_error, &R.wrong_thread_error}, 2);
    keep_items(args[2], (PyObject **[]){&R.msg_released, &R.msg_read_only, &R.msg_wrong_thread}, 3);
    R.dropped = Py_NewRef(args[3]);
    R.ready = 1;
    Py_RETURN_NONE;
}
