/* fearless._native: what every part shares: the reference's orderings, slow paths and result type, handed over once at import, and the C11 orderings they map to.
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
