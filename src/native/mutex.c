/* fearless._native: Mutex and MutexGuard (MutexCore, GuardCore).
 *
 * A part of the compiled core: module.c includes every part, in order, into
 * one translation unit, so that every function stays static and can be
 * inlined. The rules every part follows are in module.c's opening comment.
 */

/* -- Mutex and its guard -------------------------------------------------------
 *
 * MutexCore is the mutex; GuardCore its guard. The raw lock is a RawLock
 * (rawlock.c: a semaphore, as CPython's own lock), with the holder's thread
 * identity kept beside it, so that locking twice from one thread is a
 * DeadlockError and a release from another thread a WrongThreadError, as in
 * the reference (fearless._mutex, over a reentrant _thread.RLock).
 *
 * The hot paths are here: lock() with no timeout on a free mutex, try_lock(),
 * the guard's value, __enter__, __exit__ and unlock(). Everything else is the
 * reference's own Python code running on these objects: they offer the
 * attributes that code uses (_data, _trouble, _poison, _is_owned(),
 * _acquire(), _release(), and a guard's _mutex), and the twin classes in
 * fearless._mutex_twins bind the reference's methods (into_inner, repr,
 * clear_poison, the refusals...) and Condvar's friend functions work on them
 * unchanged. A refusal (poisoned, consumed) and a wait are slow paths: they
 * call the twin's _refuse and _acquire_slow.
 *
 * Thread safety without the GIL: the raw lock orders everything the holder
 * does; owner and trouble are atomics because other threads read them
 * (statistics, repr, the deadlock check); a guard's mutex pointer is only
 * read and written by the thread that holds it, or by its finaliser once no
 * other reference to the guard exists.
 */

enum { TROUBLE_POISONED = 1, TROUBLE_CONSUMED = 2 };


typedef struct {
    PyObject *deadlock_error, *guard_released_error, *wrong_thread_error;
    PyObject *msg_deadlock, *msg_released, *msg_wrong_thread;
    PyObject *drop_unreleased; /* the twin's finaliser of an unreleased guard */
    PyObject *str_refuse, *str_acquire_slow, *str_refuse_busy, *str_forked_away, *str_remove;
    PyObject *seam;            /* fearless._seam: forked_away */
    PyObject *str_value;       /* "value", interned: the guard's hot attribute */
    PyTypeObject *guard_type;  /* the MutexGuard twin: what lock() returns */
    int ready;
} MutexState;

static MutexState M;

typedef struct {
    PyObject_HEAD
    PyObject *weakreflist;
    PyObject *data;                /* the value; NULL once into_inner() took it */
    RawLock lock;                  /* see above; usable once lock_ready */
    int lock_ready;
    _Atomic unsigned long owner;   /* the holder's thread identity; 0 when free */
    _Atomic int trouble;           /* fearless._poison's bits */
    PyObject *waiting;             /* the reference's list of waiting threads' identities */
    int poison;                    /* whether a failing with-block poisons */
} MutexCore;

typedef struct {
    PyObject_HEAD
    MutexCore *home;               /* the mutex this guard is for: set once, at creation */
    _Atomic int held;              /* 1 while the guard holds home's raw lock */
} GuardCore;

/* The value of a mutex is read and replaced inside the mutex object's
 * critical section on the free-threaded build: a well-behaved program
 * touches it only while holding the lock, but a guard handed to another
 * thread must not be able to free a value under a reader there. With the
 * GIL, the GIL is that critical section. */
#ifdef Py_GIL_DISABLED
#define DATA_BEGIN(m) Py_BEGIN_CRITICAL_SECTION(m)
#define DATA_END() Py_END_CRITICAL_SECTION()
#else
#define DATA_BEGIN(m) {
#define DATA_END() }
#endif

static PyTypeObject *MutexCore_type; /* set in native_exec; the module keeps them alive */
static PyTypeObject *GuardCore_type;

/* Seconds on a monotonic clock, for a wait's deadline. */
static double
monotonic_seconds(void)
{
#ifdef _WIN32
    return (double)GetTickCount64() / 1e3;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}

/* How long one slice of a blocked wait lasts: the seam's ThreadBackend.slice. */
#define SLICE_US 50000
/* How many times a blocked lock() yields and retries before it blocks: the
 * seam's ThreadBackend.spins. */
#define SPINS 8

static inline int
mutex_try_take(MutexCore *self, unsigned long me)
{
    if (raw_try(&self->lock)) {
        atomic_store_explicit(&self->owner, me, memory_order_relaxed);
        return 1;
    }
    return 0;
}

static inline void
mutex_give_back(MutexCore *self)
{
    atomic_store_explicit(&self->owner, 0, memory_order_relaxed);
    raw_release(&self->lock);
}

static PyObject *
new_guard(MutexCore *mutex)
{
    GuardCore *guard = PyObject_GC_New(GuardCore, M.guard_type);
    if (guard == NULL) {
        return NULL;
    }
    guard->home = (MutexCore *)Py_NewRef(mutex);
    atomic_init(&guard->held, 0);
    PyObject_GC_Track(guard);
    return (PyObject *)guard;
}

/* After the raw lock was taken for ``guard``: refuse a poisoned or consumed
 * mutex through the reference's _refuse (which releases and raises). */
static PyObject *
refuse(MutexCore *self, PyObject *guard)
{
    PyObject *r = PyObject_CallMethodOneArg((PyObject *)self, M.str_refuse, guard);
    Py_XDECREF(r);
    Py_DECREF(guard);
    if (r != NULL) {
        PyErr_SetString(PyExc_SystemError, "fearless._native: _refuse returned");
    }
    return NULL;
}

static const char *const NAMES_TIMEOUT[] = {"timeout"};

static int mutex_contended(MutexCore *self, unsigned long me);

static PyObject *
MutexCore_lock(MutexCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *timeout = Py_None;
    if (nargs != 0 || kwnames != NULL) {
        if (nargs != 0) {
            PyErr_Format(PyExc_TypeError, "lock() takes 1 positional argument but %zd were given", nargs + 1);
            return NULL;
        }
        PyObject *a[1] = {Py_None};
        if (parse_args("lock", args, 0, kwnames, NAMES_TIMEOUT, 1, 0, a) < 0) {
            return NULL;
        }
        timeout = a[0];
    }
    unsigned long me = PyThread_get_thread_ident();
    if (atomic_load_explicit(&self->owner, memory_order_relaxed) == me) {
        PyErr_SetObject(M.deadlock_error, M.msg_deadlock);
        return NULL;
    }
    PyObject *guard = new_guard(self);
    if (guard == NULL) {
        return NULL;
    }
    int slow = 0;
    if (timeout != Py_None) {
        slow = 1;
    }
    else if (!mutex_try_take(self, me)) {
        slow = mutex_contended(self, me);
        if (slow < 0) {
            Py_DECREF(guard);
            return NULL;
        }
    }
    if (slow) {
        PyObject *r = PyObject_CallMethodOneArg((PyObject *)self, M.str_acquire_slow, timeout);
        if (r == NULL) {
            /* An interrupt may have come after the lock was taken: give it
             * back, as the reference's handler does. */
            if (atomic_load_explicit(&self->owner, memory_order_relaxed) == me) {
                mutex_give_back(self);
            }
            Py_DECREF(guard);
            return NULL;
        }
        Py_DECREF(r);
    }
    atomic_store_explicit(&((GuardCore *)guard)->held, 1, memory_order_relaxed);
    if (atomic_load_explicit(&self->trouble, memory_order_relaxed)) {
        return refuse(self, guard);
    }
    return guard;
}

static PyObject *
MutexCore_try_lock(MutexCore *self, PyObject *Py_UNUSED(ignored))
{
    unsigned long me = PyThread_get_thread_ident();
    if (atomic_load_explicit(&self->owner, memory_order_relaxed) == me || !mutex_try_take(self, me)) {
        /* The reference's refusal: ConsumedError, else WouldBlockError. */
        PyObject *r = PyObject_CallMethodNoArgs((PyObject *)self, M.str_refuse_busy);
        Py_XDECREF(r);
        if (r != NULL) {
            PyErr_SetString(PyExc_SystemError, "fearless._native: _refuse_busy returned");
        }
        return NULL;
    }
    PyObject *guard = new_guard(self);
    if (guard == NULL) {
        mutex_give_back(self);
        return NULL;
    }
    atomic_store_explicit(&((GuardCore *)guard)->held, 1, memory_order_relaxed);
    if (atomic_load_explicit(&self->trouble, memory_order_relaxed)) {
        return refuse(self, guard);
    }
    return guard;
}

static PyObject *
MutexCore_released_guard(MutexCore *self, PyObject *Py_UNUSED(ignored))
{
    return new_guard(self);
}

static PyObject *
MutexCore_is_owned(MutexCore *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(atomic_load_explicit(&self->owner, memory_order_relaxed)
                           == PyThread_get_thread_ident());
}

/* Wait for the raw lock (not held by this thread): 1 once taken, 0 when
 * ``timeout`` seconds passed (negative: never), -1 with an exception set
 * when a signal handler raised (the lock not taken). Spins a few times,
 * yielding, then blocks with the GIL released. */
static int
mutex_wait(MutexCore *self, unsigned long me, double timeout)
{
    int taken = 0;
    /* parking_lot's adaptive spin: a lock held a few bytecodes at a time is
     * often free again after a yield, and blocking in C would hand it over
     * through two context switches. */
    Py_BEGIN_ALLOW_THREADS
    for (int i = 0; i < SPINS && !taken; i++) {
#ifdef _WIN32
        SwitchToThread();
#else
        sched_yield();
#endif
        taken = raw_try(&self->lock);
    }
    Py_END_ALLOW_THREADS
    /* Then block, in slices as the reference does (fearless._park): a
     * signal handler's exception -- Ctrl-C, and _thread.interrupt_main(),
     * which interrupts no system call -- ends the wait within a slice. */
    double deadline = timeout > 0 ? monotonic_seconds() + timeout : 0;
    while (!taken) {
        long wait_us = SLICE_US;
        if (timeout > 0) {
            double left = deadline - monotonic_seconds();
            if (left <= 0) {
                break;
            }
            if (left * 1e6 < SLICE_US) {
                wait_us = (long)(left * 1e6) + 1;
            }
        }
        int status;
        Py_BEGIN_ALLOW_THREADS
        status = raw_timed(&self->lock, wait_us);
        Py_END_ALLOW_THREADS
        if (status == 1) {
            taken = 1;
        }
        else if (PyErr_CheckSignals() < 0) {
            return -1;
        }
    }
    if (taken) {
        atomic_store_explicit(&self->owner, me, memory_order_relaxed);
    }
    return taken;
}

/* _acquire(blocking=True, timeout=-1): the raw lock for this thread, as
 * RLock.acquire would give it to a thread that does not hold it (callers
 * check _is_owned() first). */
static PyObject *
MutexCore_acquire(MutexCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    int blocking = 1;
    double timeout = -1;
    if (nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "_acquire(blocking=True, timeout=-1)");
        return NULL;
    }
    if (nargs >= 1 && (blocking = PyObject_IsTrue(args[0])) < 0) {
        return NULL;
    }
    if (nargs == 2) {
        timeout = PyFloat_AsDouble(args[1]);
        if (timeout == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    unsigned long me = PyThread_get_thread_ident();
    if (mutex_try_take(self, me)) {
        Py_RETURN_TRUE;
    }
    if (!blocking || timeout == 0) {
        Py_RETURN_FALSE;
    }
    int taken = mutex_wait(self, me, timeout);
    if (taken < 0) {
        return NULL;
    }
    return PyBool_FromLong(taken);
}

/* lock() with no timeout on a held mutex, the common contended case, all in
 * C: what the reference's _acquire_slow does when the mutex is neither
 * consumed nor possibly held by a thread os.fork() lost (those go to it).
 * 0 once taken, -1 with an exception set. */
static int
mutex_contended(MutexCore *self, unsigned long me)
{
    if (atomic_load_explicit(&self->trouble, memory_order_relaxed) & TROUBLE_CONSUMED) {
        return 1; /* the reference's path refuses */
    }
    PyObject *forked = PyObject_GetAttr(M.seam, M.str_forked_away);
    if (forked == NULL) {
        return -1;
    }
    int lost = PyObject_IsTrue(forked);
    Py_DECREF(forked);
    if (lost != 0) {
        return lost < 0 ? -1 : 1;
    }
    PyObject *ident = PyLong_FromUnsignedLong(me);
    if (ident == NULL || PyList_Append(self->waiting, ident) < 0) {
        Py_XDECREF(ident);
        return -1;
    }
    int taken = mutex_wait(self, me, -1);
    /* list.remove: one call, atomic on every build. */
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyObject *r = PyObject_CallMethodOneArg(self->waiting, M.str_remove, ident);
    Py_DECREF(ident);
    if (r == NULL) {
        Py_XDECREF(exc_type);
        Py_XDECREF(exc_value);
        Py_XDECREF(exc_tb);
        if (taken > 0) {
            mutex_give_back(self);
        }
        return -1;
    }
    Py_DECREF(r);
    PyErr_Restore(exc_type, exc_value, exc_tb);
    return taken > 0 ? 0 : -1;
}

static PyObject *
MutexCore_release(MutexCore *self, PyObject *Py_UNUSED(ignored))
{
    if (atomic_load_explicit(&self->owner, memory_order_relaxed) != PyThread_get_thread_ident()) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release un-acquired lock");
        return NULL;
    }
    mutex_give_back(self);
    Py_RETURN_NONE;
}

/* A new reference to the value, or NULL (no exception set) once taken out. */
static PyObject *
mutex_data(MutexCore *self)
{
    PyObject *data;
    DATA_BEGIN(self);
    data = Py_XNewRef(self->data);
    DATA_END();
    return data;
}

/* Replace the value (NULL: take it out); the old one goes outside the
 * critical section, since its finaliser may run any code. */
static void
mutex_set_data(MutexCore *self, PyObject *value)
{
    PyObject *old;
    DATA_BEGIN(self);
    old = self->data;
    self->data = Py_XNewRef(value);
    DATA_END();
    Py_XDECREF(old);
}

static PyObject *
MutexCore_get_data(MutexCore *self, void *closure)
{
    PyObject *data = mutex_data(self);
    if (data == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_data");
    }
    return data;
}

static int
MutexCore_set_data(MutexCore *self, PyObject *value, void *closure)
{
    mutex_set_data(self, value); /* NULL: ``del m._data`` */
    return 0;
}

static PyObject *
MutexCore_get_trouble(MutexCore *self, void *closure)
{
    return PyLong_FromLong(atomic_load_explicit(&self->trouble, memory_order_relaxed));
}

static int
MutexCore_set_trouble(MutexCore *self, PyObject *value, void *closure)
{
    long bits = value == NULL ? -1 : PyLong_AsLong(value);
    if (bits == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (bits < 0 || bits > 3) {
        PyErr_SetString(PyExc_ValueError, "_trouble takes fearless._poison's bits");
        return -1;
    }
    atomic_store_explicit(&self->trouble, (int)bits, memory_order_relaxed);
    return 0;
}

static PyObject *
MutexCore_get_poison(MutexCore *self, void *closure)
{
    return PyBool_FromLong(self->poison);
}

static PyObject *
MutexCore_get_owner(MutexCore *self, void *closure)
{
    unsigned long owner = atomic_load_explicit(&self->owner, memory_order_relaxed);
    if (owner == 0) {
        Py_RETURN_NONE;
    }
    return PyLong_FromUnsignedLong(owner);
}

static PyObject *
MutexCore_get_waiting(MutexCore *self, void *closure)
{
    return Py_NewRef(self->waiting);
}

static int
MutexCore_init(MutexCore *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"value", "poison", NULL};
    PyObject *value, *poison = Py_True;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$O:Mutex", kwlist, &value, &poison)) {
        return -1;
    }
    int flag = PyObject_IsTrue(poison);
    if (flag < 0) {
        return -1;
    }
    if (!self->lock_ready) {
        if (raw_init(&self->lock) < 0) {
            PyErr_NoMemory();
            return -1;
        }
        self->lock_ready = 1;
    }
    mutex_set_data(self, value);
    self->poison = flag;
    return 0;
}

static PyObject *
MutexCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (!M.ready) {
        PyErr_SetString(PyExc_RuntimeError, "fearless._native's Mutex is not set up: import fearless");
        return NULL;
    }
    MutexCore *self = (MutexCore *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->weakreflist = NULL;
    self->data = NULL;
    self->lock_ready = 0;
    atomic_init(&self->owner, 0);
    atomic_init(&self->trouble, 0);
    self->poison = 1;
    self->waiting = PyList_New(0);
    if (self->waiting == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
MutexCore_traverse(MutexCore *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->data);
    Py_VISIT(self->waiting);
    return 0;
}

static int
MutexCore_clear(MutexCore *self)
{
    Py_CLEAR(self->data);
    return 0;
}

static void
MutexCore_dealloc(MutexCore *self)
{
    dealloc_begin((PyObject *)self, 1, self->weakreflist);
    Py_CLEAR(self->data);
    Py_CLEAR(self->waiting);
    if (self->lock_ready) {
        raw_free(&self->lock);
    }
    dealloc_end((PyObject *)self);
}

static PyMethodDef MutexCore_methods[] = {
    {"lock", (PyCFunction)(void (*)(void))MutexCore_lock, METH_FASTCALL | METH_KEYWORDS,
     "Block until the mutex is free, lock it, and return a guard."},
    {"try_lock", (PyCFunction)MutexCore_try_lock, METH_NOARGS,
     "Lock the mutex if it is free right now, without blocking."},
    {"_is_owned", (PyCFunction)MutexCore_is_owned, METH_NOARGS, "Whether this thread holds the raw lock."},
    {"_released_guard", (PyCFunction)MutexCore_released_guard, METH_NOARGS,
     "A new guard that holds nothing yet."},
    {"_acquire", (PyCFunction)(void (*)(void))MutexCore_acquire, METH_FASTCALL,
     "_acquire(blocking=True, timeout=-1): take the raw lock for this thread."},
    {"_release", (PyCFunction)MutexCore_release, METH_NOARGS,
     "Release the raw lock (RuntimeError unless this thread holds it)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef MutexCore_getset[] = {
    {"_data", (getter)MutexCore_get_data, (setter)MutexCore_set_data, "The protected value.", NULL},
    {"_trouble", (getter)MutexCore_get_trouble, (setter)MutexCore_set_trouble,
     "fearless._poison's bits: poisoned, consumed.", NULL},
    {"_poison", (getter)MutexCore_get_poison, NULL, "Whether a failing with-block poisons.", NULL},
    {"_owner", (getter)MutexCore_get_owner, NULL, "The holder's thread identity, or None.", NULL},
    {"_waiting", (getter)MutexCore_get_waiting, NULL, "The identities of the threads waiting to lock.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef MutexCore_members[] = {
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(MutexCore, weakreflist), Py_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot MutexCore_slots[] = {
    {Py_tp_doc, "The compiled core of fearless.Mutex."},
    {Py_tp_new, MutexCore_new},
    {Py_tp_init, MutexCore_init},
    {Py_tp_dealloc, MutexCore_dealloc},
    {Py_tp_traverse, MutexCore_traverse},
    {Py_tp_clear, MutexCore_clear},
    {Py_tp_methods, MutexCore_methods},
    {Py_tp_getset, MutexCore_getset},
    {Py_tp_members, MutexCore_members},
    {0, NULL},
};

static PyType_Spec MutexCore_spec = {
    .name = "fearless._native.MutexCore",
    .basicsize = sizeof(MutexCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = MutexCore_slots,
};

/* -- the guard -- */

/* The guard's mutex while it holds it; else NULL with GuardReleasedError set. */
static inline MutexCore *
held(GuardCore *self)
{
    if (!atomic_load_explicit(&self->held, memory_order_relaxed)) {
        PyErr_SetObject(M.guard_released_error, M.msg_released);
        return NULL;
    }
    return self->home;
}

static PyObject *
GuardCore_get_value(GuardCore *self, void *closure)
{
    MutexCore *mutex = held(self);
    if (mutex == NULL) {
        return NULL;
    }
    PyObject *data = mutex_data(mutex);
    if (data == NULL) {
        PyErr_SetObject(M.guard_released_error, M.msg_released);
    }
    return data;
}

static int
GuardCore_set_value(GuardCore *self, PyObject *value, void *closure)
{
    MutexCore *mutex = held(self);
    if (mutex == NULL) {
        return -1;
    }
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError,
                        "a guard's value cannot be deleted; assign a new value instead");
        return -1;
    }
    mutex_set_data(mutex, value);
    return 0;
}

/* ``guard.value`` is the hot attribute: answered before the generic lookup
 * (type-cache probe, then a descriptor call), which free-threaded 3.13 runs
 * unspecialised on every access. Any other name takes the generic path. */
static PyObject *
GuardCore_getattro(GuardCore *self, PyObject *name)
{
    if (name == M.str_value) {
        return GuardCore_get_value(self, NULL);
    }
    return PyObject_GenericGetAttr((PyObject *)self, name);
}

static int
GuardCore_setattro(GuardCore *self, PyObject *name, PyObject *value)
{
    if (name == M.str_value) {
        return GuardCore_set_value(self, value, NULL);
    }
    return PyObject_GenericSetAttr((PyObject *)self, name, value);
}

/* ``_mutex``, the reference's name: the mutex while held, else None. Only
 * None and the guard's own mutex may be assigned (Condvar's friend
 * functions and the reference's refusals do so around a wait or a refusal). */
static PyObject *
GuardCore_get_mutex(GuardCore *self, void *closure)
{
    int is_held = atomic_load_explicit(&self->held, memory_order_relaxed);
    return Py_NewRef(is_held ? (PyObject *)self->home : Py_None);
}

static int
GuardCore_set_mutex(GuardCore *self, PyObject *value, void *closure)
{
    if (value == NULL || value == Py_None) {
        atomic_store_explicit(&self->held, 0, memory_order_relaxed);
        return 0;
    }
    if (value != (PyObject *)self->home) {
        PyErr_SetString(PyExc_TypeError, "a compiled guard's _mutex is its own Mutex, or None");
        return -1;
    }
    atomic_store_explicit(&self->held, 1, memory_order_relaxed);
    return 0;
}

static PyObject *
GuardCore_enter(GuardCore *self, PyObject *Py_UNUSED(ignored))
{
    if (held(self) == NULL) {
        return NULL;
    }
    return Py_NewRef(self);
}

/* Release for unlock() and __exit__: the caller checked the guard holds. */
static int
guard_release(GuardCore *self, MutexCore *mutex, int restore_trouble, int trouble)
{
    if (atomic_load_explicit(&mutex->owner, memory_order_relaxed) != PyThread_get_thread_ident()) {
        if (restore_trouble) {
            atomic_store_explicit(&mutex->trouble, trouble, memory_order_relaxed);
        }
        PyErr_SetObject(M.wrong_thread_error, M.msg_wrong_thread);
        return -1;
    }
    atomic_store_explicit(&self->held, 0, memory_order_relaxed);
    mutex_give_back(mutex);
    return 0;
}

static PyObject *
GuardCore_exit(GuardCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!atomic_load_explicit(&self->held, memory_order_relaxed)) {
        Py_RETURN_NONE; /* unlock() was called inside the block */
    }
    MutexCore *mutex = self->home;
    int trouble = atomic_load_explicit(&mutex->trouble, memory_order_relaxed);
    int failing = nargs >= 1 && args[0] != Py_None;
    if (failing && mutex->poison) {
        atomic_store_explicit(&mutex->trouble, trouble | TROUBLE_POISONED, memory_order_relaxed);
    }
    if (guard_release(self, mutex, failing && mutex->poison, trouble) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
GuardCore_unlock(GuardCore *self, PyObject *Py_UNUSED(ignored))
{
    MutexCore *mutex = held(self);
    if (mutex == NULL || guard_release(self, mutex, 0, 0) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
GuardCore_repr(GuardCore *self)
{
    PyObject *data = NULL;
    if (atomic_load_explicit(&self->held, memory_order_relaxed)) {
        data = mutex_data(self->home);
    }
    if (data == NULL) {
        return PyUnicode_FromString("<MutexGuard (released)>");
    }
    PyObject *text = PyUnicode_FromFormat("<MutexGuard value=%R>", data);
    Py_DECREF(data);
    return text;
}

static void
GuardCore_finalize(GuardCore *self)
{
    if (!atomic_load_explicit(&self->held, memory_order_relaxed)) {
        return; /* released: this one test */
    }
    MutexCore *mutex = self->home;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (atomic_load_explicit(&mutex->owner, memory_order_relaxed) == PyThread_get_thread_ident()) {
        /* Release first, in C: whatever the warning below runs (and a
         * Ctrl-C that strikes it) comes after the mutex is free again.
         * The message is the reference's (fearless._mutex._drop_unreleased). */
        atomic_store_explicit(&self->held, 0, memory_order_relaxed);
        mutex_give_back(mutex);
        warn_released_when_collected((PyObject *)self, "MutexGuard", (PyObject *)mutex, "Mutex",
                                     "with mutex.lock() as guard:");
    }
    else {
        /* Held by another thread (or never taken): the reference says so,
         * and leaves the mutex as it is. */
        finalizer_call_done(PyObject_CallOneArg(M.drop_unreleased, (PyObject *)self),
                            (PyObject *)self);
    }
    PyErr_Restore(type, value, tb);
}

static int
GuardCore_traverse(GuardCore *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->home);
    return 0;
}

static int
GuardCore_clear(GuardCore *self)
{
    /* Only after the finaliser ran (which released): a cleared guard holds nothing. */
    atomic_store_explicit(&self->held, 0, memory_order_relaxed);
    Py_CLEAR(self->home);
    return 0;
}

static void
GuardCore_dealloc(GuardCore *self)
{
    if (guard_resurrected((PyObject *)self, atomic_load_explicit(&self->held, memory_order_relaxed))) {
        return;
    }
    dealloc_begin((PyObject *)self, 1, NULL);
    Py_CLEAR(self->home);
    dealloc_end((PyObject *)self);
}

static PyObject *
GuardCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyErr_Format(PyExc_TypeError, "fearless.MutexGuard has no public constructor");
    return NULL;
}

static PyMethodDef GuardCore_methods[] = {
    {"__enter__", (PyCFunction)GuardCore_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))GuardCore_exit, METH_FASTCALL, NULL},
    {"unlock", (PyCFunction)GuardCore_unlock, METH_NOARGS,
     "Release the lock now, before the end of the ``with`` block."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef GuardCore_getset[] = {
    {"value", (getter)GuardCore_get_value, (setter)GuardCore_set_value,
     "The protected value, readable and assignable while the guard is held.", NULL},
    {"_mutex", (getter)GuardCore_get_mutex, (setter)GuardCore_set_mutex,
     "The mutex while the guard holds it, else None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot GuardCore_slots[] = {
    {Py_tp_doc, "The compiled core of fearless.MutexGuard."},
    {Py_tp_new, GuardCore_new},
    {Py_tp_dealloc, GuardCore_dealloc},
    {Py_tp_finalize, GuardCore_finalize},
    {Py_tp_traverse, GuardCore_traverse},
    {Py_tp_clear, GuardCore_clear},
    {Py_tp_repr, GuardCore_repr},
    {Py_tp_getattro, GuardCore_getattro},
    {Py_tp_setattro, GuardCore_setattro},
    {Py_tp_methods, GuardCore_methods},
    {Py_tp_getset, GuardCore_getset},
    {0, NULL},
};

static PyType_Spec GuardCore_spec = {
    .name = "fearless._native.GuardCore",
    .basicsize = sizeof(GuardCore),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = GuardCore_slots,
};

static PyObject *
native_setup_mutex(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    /* _setup_mutex(guard_twin, errors, messages, drop_unreleased, seam) with
     * errors = (DeadlockError, GuardReleasedError, WrongThreadError) and
     * their messages in the same order; every other refusal is the
     * reference's own (_refuse, _refuse_busy). */
    if (nargs != 5 || !is_subtype(args[0], GuardCore_type) || !is_tuple_of(args[1], 3)
        || !is_tuple_of(args[2], 3) || !PyCallable_Check(args[3]) || !PyModule_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "_setup_mutex(guard_twin, errors, messages, drop_unreleased, seam)");
        return NULL;
    }
    if (M.ready) {
        Py_RETURN_NONE;
    }
    M.guard_type = (PyTypeObject *)Py_NewRef(args[0]);
    keep_items(args[1], (PyObject **[]){&M.deadlock_error, &M.guard_released_error, &M.wrong_thread_error},
               3);
    keep_items(args[2], (PyObject **[]){&M.msg_deadlock, &M.msg_released, &M.msg_wrong_thread}, 3);
    M.drop_unreleased = Py_NewRef(args[3]);
    M.seam = Py_NewRef(args[4]);
    M.ready = 1;
    Py_RETURN_NONE;
}
