/* fearless._native: what every part shares.
 *
 * The reference's orderings, slow paths and result type, handed over once
 * at import, and the C11 orders they map to; the steps that every type's
 * dealloc, every _setup_* and both guards' finalisers have in common.
 *
 * A part of the compiled core: module.c includes every part, in order, into
 * one translation unit, so that every function stays static and can be
 * inlined. The rules every part follows are in module.c's opening comment.
 */

/* -- what the Python side hands over once, at import ------------------------ */

/* Ordering members, by index: the order of enum _order below. */
enum { ORD_SEQCST, ORD_RELAXED, ORD_ACQUIRE, ORD_RELEASE, ORD_ACQREL, ORD_COUNT };

typedef struct {
    PyObject *orders[ORD_COUNT]; /* Ordering.SeqCst, .Relaxed, ... */
    PyObject *slow_operand;      /* _core._slow_operand(val, order, kind, convert) */
    PyObject *slow_operands;     /* _core._slow_operands(cur, new, succ, fail, convert) */
    PyObject *check_ordering;    /* _core._check_ordering(order, kind, param) */
    PyObject *result_type;       /* CompareExchangeResult */
    newfunc tuple_new;           /* tuple.__new__, to build a CompareExchangeResult */
    PyObject *str_any, *str_load, *str_store, *str_order;
    PyObject *str_convert;        /* "_native_convert": the class's converter */
    int ready;
} State;

/* Written once by _setup() while the importing thread holds the import lock,
 * before any atomic can exist; read-only afterwards. */
static State S;

static const memory_order C_ORDER[ORD_COUNT] = {
    memory_order_seq_cst, memory_order_relaxed, memory_order_acquire,
    memory_order_release, memory_order_acq_rel,
};

/* Which orderings each kind of operation accepts, as in _core._ALLOWED. */
#define ALLOW(o) (1u << (o))
#define ALLOW_ANY (ALLOW(ORD_SEQCST) | ALLOW(ORD_RELAXED) | ALLOW(ORD_ACQUIRE) | ALLOW(ORD_RELEASE) | ALLOW(ORD_ACQREL))
#define ALLOW_LOAD (ALLOW(ORD_SEQCST) | ALLOW(ORD_RELAXED) | ALLOW(ORD_ACQUIRE))
#define ALLOW_STORE (ALLOW(ORD_SEQCST) | ALLOW(ORD_RELAXED) | ALLOW(ORD_RELEASE))

/* The index of ``order`` if it is a member that ``allowed`` admits, else -1. */
static inline int
order_index(PyObject *order, unsigned allowed)
{
    for (int i = 0; i < ORD_COUNT; i++) {
        if (order == S.orders[i]) {
            return (allowed & ALLOW(i)) ? i : -1;
        }
    }
    return -1;
}

/* The success order of a compare-exchange, strong enough for its failure order. */
static inline memory_order
cas_success(int success, int failure)
{
    if (failure == ORD_SEQCST) {
        return memory_order_seq_cst;
    }
    if (failure == ORD_ACQUIRE) {
        if (success == ORD_RELAXED) {
            return memory_order_acquire;
        }
        if (success == ORD_RELEASE) {
            return memory_order_acq_rel;
        }
    }
    return C_ORDER[success];
}

/* An atomic's converter, for the reference's slow paths: its class's
 * _native_convert (the reference's _to_int with the type's name and bounds,
 * its _to_bool, or its _to_float). */
static PyObject *
converter(PyObject *self)
{
    return PyObject_GetAttr((PyObject *)Py_TYPE(self), S.str_convert);
}

/* -- what every type's objects share ---------------------------------------- */

/* The start of a tp_dealloc: out of the collector's lists (``gc``: the type
 * has Py_TPFLAGS_HAVE_GC), then every weak reference cleared, its callbacks
 * run, before anything of the object is freed (``weakreflist``: the
 * object's list, NULL for a type without weak references). */
static void
dealloc_begin(PyObject *self, int gc, PyObject *weakreflist)
{
    if (gc) {
        PyObject_GC_UnTrack(self);
    }
    if (weakreflist != NULL) {
        PyObject_ClearWeakRefs(self);
    }
}

/* The end of every tp_dealloc: free the object, then drop the reference
 * that each object of a heap type holds to its type. */
static void
dealloc_end(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* -- what the _setup_* functions share --------------------------------------- */

/* Whether ``arg`` is ``base`` or a subclass of it (the twin a _setup_* takes). */
static int
is_subtype(PyObject *arg, PyTypeObject *base)
{
    return PyType_Check(arg) && PyType_IsSubtype((PyTypeObject *)arg, base);
}

/* Whether ``arg`` is a tuple of ``n`` items. */
static int
is_tuple_of(PyObject *arg, Py_ssize_t n)
{
    return PyTuple_Check(arg) && PyTuple_GET_SIZE(arg) == n;
}

/* A new reference to each item of ``tuple`` (``is_tuple_of(tuple, n)``), in
 * ``slots``, in order: the errors and messages the reference hands over. */
static void
keep_items(PyObject *tuple, PyObject **slots[], Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        *slots[i] = Py_NewRef(PyTuple_GET_ITEM(tuple, i));
    }
}

/* -- what the guards share (mutex.c's GuardCore, rwlock.c's ReadGuardCore) -- */

/* A guard's tp_dealloc begins here: one still held runs its finaliser
 * (which releases it or reports it), and a finaliser that resurrected the
 * guard stops the dealloc (nonzero). A released guard, the common case,
 * skips the finaliser and the resurrection it costs. */
static int
guard_resurrected(PyObject *guard, int held)
{
    return held && PyObject_CallFinalizerFromDealloc(guard) < 0;
}

/* The result of a call a finaliser made into the reference: dropped, or its
 * error reported as unraisable (a finaliser cannot raise). */
static void
finalizer_call_done(PyObject *result, PyObject *guard)
{
    if (result == NULL) {
        PyErr_WriteUnraisable(guard);
    }
    else {
        Py_DECREF(result);
    }
}

/* The ResourceWarning of a guard that its finaliser released, in the
 * reference's words: ``usage`` is the ``with`` statement to write instead. */
static void
warn_released_when_collected(PyObject *guard, const char *guard_name, PyObject *lock,
                             const char *lock_name, const char *usage)
{
    if (PyErr_ResourceWarning(guard, 1,
                              "<%s at %p of %s at %p> was never released; it was released when "
                              "garbage-collected (use '%s' or call guard.unlock())",
                              guard_name, (void *)guard, lock_name, (void *)lock, usage) < 0) {
        PyErr_WriteUnraisable(guard);
    }
}
