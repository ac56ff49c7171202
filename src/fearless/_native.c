/* fearless._native: the compiled core (issue 15).
 *
 * The pure-Python implementation in fearless._atomic is the reference; this
 * module is its accelerator, the way CPython's _thread, multidict and
 * msgpack pair C with a Python twin. What it holds today:
 *
 *   IntegerCore  the fixed-width integer atomics (AtomicI8 ... AtomicU64,
 *                AtomicIsize, AtomicUsize), each on a C11 hardware atomic of
 *                its own width. fearless._atomic._native_twins subclasses it
 *                once per public type and sets the kind (_native_kind).
 *
 * Rules that every function here follows:
 *
 * - CPython's public C API only (no Py_BUILD_CORE, no _Py* names), so the
 *   module builds for 3.11 and later, GIL or free-threaded. It declares
 *   Py_MOD_GIL_NOT_USED where that exists: nothing here relies on the GIL.
 *   The value is a C11 atomic; every access to it is an atomic operation.
 * - Orderings: each operation uses the C11 order that Rust's names for
 *   (Relaxed -> memory_order_relaxed, Acquire, Release, AcqRel, SeqCst).
 *   A compare-exchange whose failure order is stronger than its success
 *   order runs with the success order strengthened to cover it (C11 wants
 *   failure <= success; Rust since 1.64 does not), which is always sound.
 * - Errors are the reference's: whenever an operand or an ordering is not
 *   the common case (an exact int in range, a valid Ordering member), the
 *   operation calls the reference's slow path (_slow_operand,
 *   _slow_operands, _check_ordering in fearless._atomic._core), which
 *   raises the very same exception with the very same message, or converts
 *   the operand (anything with __index__) for the fast path to use.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define Py_T_PYSSIZET T_PYSSIZET
#define Py_READONLY READONLY
#endif
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <sched.h>
#include <time.h>
#endif

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
    PyObject *str_any, *str_load, *str_store, *str_failure, *str_order;
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

/* -- the integer atomics ------------------------------------------------------ */

/* The kinds, as _native_kind gives them: bit 0..3 the width's log2 - 3
 * (8, 16, 32, 64 bits), bit 4 signedness. */
enum { K8 = 0, K16 = 1, K32 = 2, K64 = 3, KSIGNED = 16, KBOOL = 32 };

typedef struct {
    PyObject_HEAD
    PyObject *weakreflist;
    int kind;          /* K8..K64, | KSIGNED for signed types */
    unsigned bits;     /* 8, 16, 32 or 64 */
    int64_t min;       /* the range, for signed kinds */
    int64_t max;
    uint64_t umax;     /* the range's top, for unsigned kinds */
    union {
        _Atomic uint8_t u8;
        _Atomic uint16_t u16;
        _Atomic uint32_t u32;
        _Atomic uint64_t u64;
    } v;
} IntegerCore;

/* The stored bits are the value's two's complement, zero-extended to 64. */
static inline uint64_t
raw_load(IntegerCore *self, memory_order mo)
{
    switch (self->kind & 15) {
    case K8: return atomic_load_explicit(&self->v.u8, mo);
    case K16: return atomic_load_explicit(&self->v.u16, mo);
    case K32: return atomic_load_explicit(&self->v.u32, mo);
    default: return atomic_load_explicit(&self->v.u64, mo);
    }
}

static inline void
raw_store(IntegerCore *self, uint64_t bits, memory_order mo)
{
    switch (self->kind & 15) {
    case K8: atomic_store_explicit(&self->v.u8, (uint8_t)bits, mo); break;
    case K16: atomic_store_explicit(&self->v.u16, (uint16_t)bits, mo); break;
    case K32: atomic_store_explicit(&self->v.u32, (uint32_t)bits, mo); break;
    default: atomic_store_explicit(&self->v.u64, bits, mo); break;
    }
}

static inline uint64_t
raw_swap(IntegerCore *self, uint64_t bits, memory_order mo)
{
    switch (self->kind & 15) {
    case K8: return atomic_exchange_explicit(&self->v.u8, (uint8_t)bits, mo);
    case K16: return atomic_exchange_explicit(&self->v.u16, (uint16_t)bits, mo);
    case K32: return atomic_exchange_explicit(&self->v.u32, (uint32_t)bits, mo);
    default: return atomic_exchange_explicit(&self->v.u64, bits, mo);
    }
}

/* Strong compare-exchange; on return *expected holds the value found. */
static inline int
raw_cas(IntegerCore *self, uint64_t *expected, uint64_t desired, memory_order ok_mo,
        memory_order fail_mo)
{
    int ok;
    switch (self->kind & 15) {
    case K8: {
        uint8_t e = (uint8_t)*expected;
        ok = atomic_compare_exchange_strong_explicit(&self->v.u8, &e, (uint8_t)desired, ok_mo, fail_mo);
        *expected = e;
        return ok;
    }
    case K16: {
        uint16_t e = (uint16_t)*expected;
        ok = atomic_compare_exchange_strong_explicit(&self->v.u16, &e, (uint16_t)desired, ok_mo, fail_mo);
        *expected = e;
        return ok;
    }
    case K32: {
        uint32_t e = (uint32_t)*expected;
        ok = atomic_compare_exchange_strong_explicit(&self->v.u32, &e, (uint32_t)desired, ok_mo, fail_mo);
        *expected = e;
        return ok;
    }
    default:
        return atomic_compare_exchange_strong_explicit(&self->v.u64, expected, desired, ok_mo, fail_mo);
    }
}

typedef enum { OP_ADD, OP_SUB, OP_AND, OP_OR, OP_XOR, OP_NAND, OP_MAX, OP_MIN } Op;

/* The value the stored bits stand for, as a signed 64-bit number. */
static inline int64_t
as_signed(IntegerCore *self, uint64_t bits)
{
    switch (self->kind & 15) {
    case K8: return (int8_t)(uint8_t)bits;
    case K16: return (int16_t)(uint16_t)bits;
    case K32: return (int32_t)(uint32_t)bits;
    default: return (int64_t)bits;
    }
}

static inline uint64_t
mask(IntegerCore *self)
{
    return self->bits == 64 ? UINT64_MAX : ((UINT64_C(1) << self->bits) - 1);
}

/* The bits after ``op`` with ``operand``: Rust's wrapping arithmetic. */
static inline uint64_t
apply(IntegerCore *self, Op op, uint64_t old, uint64_t operand)
{
    switch (op) {
    case OP_ADD: return (old + operand) & mask(self);
    case OP_SUB: return (old - operand) & mask(self);
    case OP_AND: return old & operand;
    case OP_OR: return old | operand;
    case OP_XOR: return old ^ operand;
    case OP_NAND: return ~(old & operand) & mask(self);
    case OP_MAX:
        if (self->kind & KSIGNED) {
            return as_signed(self, operand) > as_signed(self, old) ? operand : old;
        }
        return operand > old ? operand : old;
    default: /* OP_MIN */
        if (self->kind & KSIGNED) {
            return as_signed(self, operand) < as_signed(self, old) ? operand : old;
        }
        return operand < old ? operand : old;
    }
}

static inline uint64_t
raw_rmw(IntegerCore *self, Op op, uint64_t operand, memory_order mo)
{
    /* The hardware's own instructions where C11 has them. */
    switch (op) {
    case OP_ADD:
    case OP_SUB:
    case OP_AND:
    case OP_OR:
    case OP_XOR:
        switch (self->kind & 15) {
#define RMW(field, type)                                                                 \
    switch (op) {                                                                        \
    case OP_ADD: return atomic_fetch_add_explicit(&self->v.field, (type)operand, mo);    \
    case OP_SUB: return atomic_fetch_sub_explicit(&self->v.field, (type)operand, mo);    \
    case OP_AND: return atomic_fetch_and_explicit(&self->v.field, (type)operand, mo);    \
    case OP_OR: return atomic_fetch_or_explicit(&self->v.field, (type)operand, mo);      \
    default: return atomic_fetch_xor_explicit(&self->v.field, (type)operand, mo);        \
    }
        case K8: RMW(u8, uint8_t)
        case K16: RMW(u16, uint16_t)
        case K32: RMW(u32, uint32_t)
        default: RMW(u64, uint64_t)
#undef RMW
        }
    default:
        break;
    }
    /* nand, max, min: a compare-exchange loop. */
    memory_order fail_mo = (mo == memory_order_release || mo == memory_order_relaxed)
                               ? memory_order_relaxed
                               : (mo == memory_order_seq_cst ? memory_order_seq_cst : memory_order_acquire);
    uint64_t old = raw_load(self, fail_mo);
    for (;;) {
        uint64_t new = apply(self, op, old, operand);
        if (raw_cas(self, &old, new, mo, fail_mo)) {
            return old;
        }
    }
}

static PyObject *
to_python(IntegerCore *self, uint64_t bits)
{
    if (self->kind & KBOOL) {
        return PyBool_FromLong((long)(bits & 1));
    }
    if (self->kind & KSIGNED) {
        return PyLong_FromLongLong(as_signed(self, bits));
    }
    return PyLong_FromUnsignedLongLong(bits);
}

/* Fast conversion of an exact int in range to its bits: 1, or 0 when the
 * operand needs the slow path (not an exact int, or out of range); never
 * raises. */
static inline int
fast_bits(IntegerCore *self, PyObject *val, uint64_t *bits)
{
    if (self->kind & KBOOL) { /* exactly True or False, as the reference's _to_bool */
        if (val == Py_True || val == Py_False) {
            *bits = val == Py_True;
            return 1;
        }
        return 0;
    }
    if (!PyLong_CheckExact(val)) {
        return 0;
    }
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(val, &overflow);
    if (overflow == 0) {
        if (x == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (self->kind & KSIGNED) {
            if (x < self->min || x > self->max) {
                return 0;
            }
        }
        else if (x < 0 || (uint64_t)x > self->umax) {
            return 0;
        }
        *bits = (uint64_t)x & mask(self);
        return 1;
    }
    if (overflow > 0 && !(self->kind & KSIGNED) && self->bits == 64) {
        unsigned long long u = PyLong_AsUnsignedLongLong(val);
        if (u == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        *bits = u;
        return 1;
    }
    return 0;
}

/* The class's converter: the reference's _to_int with this type's name and
 * bounds, or its _to_bool. */
static PyObject *
converter(IntegerCore *self)
{
    return PyObject_GetAttr((PyObject *)Py_TYPE(self), S.str_convert);
}

/* One operand and one order: the fast path, or the reference's slow path
 * (which raises, or converts). Returns 0 with *bits and *order set, -1 on error. */
static int
operand_and_order(IntegerCore *self, PyObject *val, PyObject *order, unsigned allowed,
                  PyObject *kind, uint64_t *bits, int *order_out)
{
    int o = order_index(order, allowed);
    if (o >= 0 && fast_bits(self, val, bits)) {
        *order_out = o;
        return 0;
    }
    PyObject *convert = converter(self);
    if (convert == NULL) {
        return -1;
    }
    PyObject *converted = PyObject_CallFunctionObjArgs(S.slow_operand, val, order, kind, convert, NULL);
    Py_DECREF(convert);
    if (converted == NULL) {
        return -1;
    }
    int ok = fast_bits(self, converted, bits);
    Py_DECREF(converted);
    o = order_index(order, allowed);
    if (!ok || o < 0) {
        PyErr_SetString(PyExc_SystemError, "fearless._native: the slow path let a bad operand through");
        return -1;
    }
    *order_out = o;
    return 0;
}

/* An order alone; the reference's _check_ordering raises when it is wrong. */
static int
order_only(PyObject *order, unsigned allowed, PyObject *kind, int *order_out)
{
    int o = order_index(order, allowed);
    if (o >= 0) {
        *order_out = o;
        return 0;
    }
    PyObject *r = PyObject_CallFunctionObjArgs(S.check_ordering, order, kind, S.str_order, NULL);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    PyErr_SetString(PyExc_SystemError, "fearless._native: _check_ordering accepted a bad ordering");
    return -1;
}

/* -- argument parsing: (val, order=SeqCst), with keywords ------------------- */

/* Fill ``out`` (size ``n``, defaults already there) from vectorcall arguments
 * named ``names``. The messages follow CPython's for Python functions. */
static int
parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
           const char *const *names, int n, int required, PyObject **out)
{
    if (nargs > n) {
        PyErr_Format(PyExc_TypeError, "%s() takes from %d to %d positional arguments but %zd were given",
                     fname, required + 1, n + 1, nargs + 1);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        out[i] = args[i];
    }
    if (kwnames != NULL) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t k = 0; k < nkw; k++) {
            PyObject *key = PyTuple_GET_ITEM(kwnames, k);
            int found = -1;
            for (int i = 0; i < n; i++) {
                if (PyUnicode_CompareWithASCIIString(key, names[i]) == 0) {
                    found = i;
                    break;
                }
            }
            if (found < 0) {
                PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname, key);
                return -1;
            }
            if (found < nargs) {
                PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname, names[found]);
                return -1;
            }
            out[found] = args[nargs + k];
        }
    }
    for (int i = 0; i < required; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing 1 required positional argument: '%s'", fname,
                         names[i]);
            return -1;
        }
    }
    return 0;
}

static const char *const NAMES_ORDER[] = {"order"};
static const char *const NAMES_VAL_ORDER[] = {"val", "order"};
static const char *const NAMES_CAS[] = {"current", "new", "success", "failure"};

/* -- the methods ------------------------------------------------------------- */

static PyObject *
IntegerCore_load(IntegerCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[1] = {S.orders[ORD_SEQCST]};
    if ((nargs != 0 || kwnames != NULL) && parse_args("load", args, nargs, kwnames, NAMES_ORDER, 1, 0, a) < 0) {
        return NULL;
    }
    int o;
    if (order_only(a[0], ALLOW_LOAD, S.str_load, &o) < 0) {
        return NULL;
    }
    return to_python(self, raw_load(self, C_ORDER[o]));
}

static PyObject *
IntegerCore_store(IntegerCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[2] = {NULL, S.orders[ORD_SEQCST]};
    if (parse_args("store", args, nargs, kwnames, NAMES_VAL_ORDER, 2, 1, a) < 0) {
        return NULL;
    }
    uint64_t bits;
    int o;
    if (operand_and_order(self, a[0], a[1], ALLOW_STORE, S.str_store, &bits, &o) < 0) {
        return NULL;
    }
    raw_store(self, bits, C_ORDER[o]);
    Py_RETURN_NONE;
}

static PyObject *
IntegerCore_swap(IntegerCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[2] = {NULL, S.orders[ORD_SEQCST]};
    if (parse_args("swap", args, nargs, kwnames, NAMES_VAL_ORDER, 2, 1, a) < 0) {
        return NULL;
    }
    uint64_t bits;
    int o;
    if (operand_and_order(self, a[0], a[1], ALLOW_ANY, S.str_any, &bits, &o) < 0) {
        return NULL;
    }
    return to_python(self, raw_swap(self, bits, C_ORDER[o]));
}

static PyObject *
new_result(int ok, PyObject *value)
{
    if (value == NULL) {
        return NULL;
    }
    PyObject *pair = PyTuple_Pack(2, ok ? Py_True : Py_False, value);
    Py_DECREF(value);
    if (pair == NULL) {
        return NULL;
    }
    PyObject *args = PyTuple_Pack(1, pair);
    Py_DECREF(pair);
    if (args == NULL) {
        return NULL;
    }
    PyObject *result = S.tuple_new((PyTypeObject *)S.result_type, args, NULL);
    Py_DECREF(args);
    return result;
}

static PyObject *
compare_exchange(IntegerCore *self, const char *fname, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    PyObject *a[4] = {NULL, NULL, S.orders[ORD_SEQCST], S.orders[ORD_SEQCST]};
    if (parse_args(fname, args, nargs, kwnames, NAMES_CAS, 4, 2, a) < 0) {
        return NULL;
    }
    uint64_t current = 0, desired = 0;
    int success = order_index(a[2], ALLOW_ANY);
    int failure = order_index(a[3], ALLOW_LOAD);
    if (success < 0 || failure < 0 || !fast_bits(self, a[0], &current) || !fast_bits(self, a[1], &desired)) {
        PyObject *convert = converter(self);
        if (convert == NULL) {
            return NULL;
        }
        PyObject *pair = PyObject_CallFunctionObjArgs(S.slow_operands, a[0], a[1], a[2], a[3], convert, NULL);
        Py_DECREF(convert);
        if (pair == NULL) {
            return NULL;
        }
        int ok = PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2
                 && fast_bits(self, PyTuple_GET_ITEM(pair, 0), &current)
                 && fast_bits(self, PyTuple_GET_ITEM(pair, 1), &desired);
        Py_DECREF(pair);
        success = order_index(a[2], ALLOW_ANY);
        failure = order_index(a[3], ALLOW_LOAD);
        if (!ok || success < 0 || failure < 0) {
            PyErr_SetString(PyExc_SystemError, "fearless._native: the slow path let a bad operand through");
            return NULL;
        }
    }
    uint64_t found = current;
    int ok = raw_cas(self, &found, desired, cas_success(success, failure), C_ORDER[failure]);
    return new_result(ok, to_python(self, found));
}

static PyObject *
IntegerCore_compare_exchange(IntegerCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return compare_exchange(self, "compare_exchange", args, nargs, kwnames);
}

static PyObject *
IntegerCore_compare_exchange_weak(IntegerCore *self, PyObject *const *args, Py_ssize_t nargs,
                                  PyObject *kwnames)
{
    /* Never fails spuriously, as the reference: the strong form. */
    return compare_exchange(self, "compare_exchange_weak", args, nargs, kwnames);
}

#define FETCH(name, op)                                                                        \
    static PyObject *IntegerCore_##name(IntegerCore *self, PyObject *const *args,             \
                                        Py_ssize_t nargs, PyObject *kwnames)                  \
    {                                                                                          \
        PyObject *a[2] = {NULL, S.orders[ORD_SEQCST]};                                         \
        if (nargs == 1 && kwnames == NULL) {                                                   \
            a[0] = args[0];                                                                    \
        }                                                                                      \
        else if (parse_args(#name, args, nargs, kwnames, NAMES_VAL_ORDER, 2, 1, a) < 0) {      \
            return NULL;                                                                       \
        }                                                                                      \
        uint64_t bits;                                                                         \
        int o;                                                                                 \
        if (operand_and_order(self, a[0], a[1], ALLOW_ANY, S.str_any, &bits, &o) < 0) {        \
            return NULL;                                                                       \
        }                                                                                      \
        return to_python(self, raw_rmw(self, op, bits, C_ORDER[o]));                          \
    }

FETCH(fetch_add, OP_ADD)
FETCH(fetch_sub, OP_SUB)
FETCH(fetch_and, OP_AND)
FETCH(fetch_or, OP_OR)
FETCH(fetch_xor, OP_XOR)
FETCH(fetch_nand, OP_NAND)
FETCH(fetch_max, OP_MAX)
FETCH(fetch_min, OP_MIN)
#undef FETCH

static PyObject *
IntegerCore_fetch_not(IntegerCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    /* AtomicBool.fetch_not(order=SeqCst): an "xor" with True. */
    PyObject *a[1] = {S.orders[ORD_SEQCST]};
    if ((nargs != 0 || kwnames != NULL) && parse_args("fetch_not", args, nargs, kwnames, NAMES_ORDER, 1, 0, a) < 0) {
        return NULL;
    }
    int o;
    if (order_only(a[0], ALLOW_ANY, S.str_any, &o) < 0) {
        return NULL;
    }
    return to_python(self, raw_rmw(self, OP_XOR, 1, C_ORDER[o]));
}

static PyObject *
IntegerCore_get_value(IntegerCore *self, void *closure)
{
    /* A snapshot, as the reference's _value: repr never blocks. */
    return to_python(self, raw_load(self, memory_order_relaxed));
}

static PyObject *
IntegerCore_repr(IntegerCore *self)
{
    PyObject *name = PyType_GetName(Py_TYPE(self));
    if (name == NULL) {
        return NULL;
    }
    PyObject *value = IntegerCore_get_value(self, NULL);
    if (value == NULL) {
        Py_DECREF(name);
        return NULL;
    }
    PyObject *text = PyUnicode_FromFormat("%U(%S)", name, value);
    Py_DECREF(name);
    Py_DECREF(value);
    return text;
}

/* -- construction ------------------------------------------------------------- */

static PyObject *str_kind;

static PyObject *
IntegerCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (!S.ready) {
        PyErr_SetString(PyExc_RuntimeError, "fearless._native is not set up: import fearless.atomic");
        return NULL;
    }
    PyObject *kind_obj = PyObject_GetAttr((PyObject *)type, str_kind);
    if (kind_obj == NULL) {
        return NULL;
    }
    long kind = PyLong_AsLong(kind_obj);
    Py_DECREF(kind_obj);
    if (kind == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if ((kind & ~(15 | KSIGNED | KBOOL)) != 0 || (kind & 15) > K64
        || ((kind & KBOOL) && kind != (K8 | KBOOL))) {
        PyErr_Format(PyExc_ValueError, "bad _native_kind %ld", kind);
        return NULL;
    }
    IntegerCore *self = (IntegerCore *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->weakreflist = NULL;
    self->kind = (int)kind;
    self->bits = 8u << (kind & 15);
    if (kind & KBOOL) { /* one bit, in a byte */
        self->bits = 1;
        self->min = self->max = 0;
        self->umax = 1;
    }
    else if (kind & KSIGNED) {
        self->max = self->bits == 64 ? INT64_MAX : (INT64_C(1) << (self->bits - 1)) - 1;
        self->min = -self->max - 1;
        self->umax = 0;
    }
    else {
        self->min = 0;
        self->max = 0;
        self->umax = mask(self);
    }
    atomic_init(&self->v.u64, 0); /* the whole union, then the width's own field */
    switch (self->kind & 15) {
    case K8: atomic_init(&self->v.u8, 0); break;
    case K16: atomic_init(&self->v.u16, 0); break;
    case K32: atomic_init(&self->v.u32, 0); break;
    default: break;
    }
    return (PyObject *)self;
}

static int
IntegerCore_init(IntegerCore *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"value", NULL};
    PyObject *value = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:__init__", kwlist, &value)) {
        return -1;
    }
    uint64_t bits = 0;
    if (value != NULL && !fast_bits(self, value, &bits)) {
        PyObject *convert = converter(self);
        if (convert == NULL) {
            return -1;
        }
        PyObject *converted = PyObject_CallOneArg(convert, value);
        Py_DECREF(convert);
        if (converted == NULL) {
            return -1;
        }
        int ok = fast_bits(self, converted, &bits);
        Py_DECREF(converted);
        if (!ok) {
            PyErr_SetString(PyExc_SystemError, "fearless._native: the converter let a bad value through");
            return -1;
        }
    }
    raw_store(self, bits, memory_order_seq_cst);
    return 0;
}

static void
IntegerCore_dealloc(IntegerCore *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

#define METHOD(name, doc) {#name, (PyCFunction)(void (*)(void))IntegerCore_##name, METH_FASTCALL | METH_KEYWORDS, doc}

static PyMethodDef IntegerCore_methods[] = {
    METHOD(load, "Read the value."),
    METHOD(store, "Replace the value."),
    METHOD(swap, "Replace the value and return the previous one, atomically."),
    METHOD(compare_exchange, "Store ``new`` if the value equals ``current``, atomically."),
    METHOD(compare_exchange_weak, ":meth:`compare_exchange`, which Rust allows to fail spuriously."),
    METHOD(fetch_add, "Add ``val``, wrapping around on overflow; return the previous value."),
    METHOD(fetch_sub, "Subtract ``val``, wrapping around on overflow; return the previous value."),
    METHOD(fetch_and, "Bitwise \"and\" with ``val``; return the previous value."),
    METHOD(fetch_or, "Bitwise \"or\" with ``val``; return the previous value."),
    METHOD(fetch_xor, "Bitwise \"xor\" with ``val``; return the previous value."),
    METHOD(fetch_nand, "Bitwise \"nand\" with ``val``; return the previous value."),
    METHOD(fetch_max, "Store the larger of the value and ``val``; return the previous value."),
    METHOD(fetch_min, "Store the smaller of the value and ``val``; return the previous value."),
    {NULL, NULL, 0, NULL},
};
#undef METHOD

static PyGetSetDef IntegerCore_getset[] = {
    {"_value", (getter)IntegerCore_get_value, NULL, "The value, read without ordering (a snapshot).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef IntegerCore_members[] = {
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(IntegerCore, weakreflist), Py_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot IntegerCore_slots[] = {
    {Py_tp_doc, "The compiled core of the fixed-width integer atomics (fearless.atomic)."},
    {Py_tp_new, IntegerCore_new},
    {Py_tp_init, IntegerCore_init},
    {Py_tp_dealloc, IntegerCore_dealloc},
    {Py_tp_repr, IntegerCore_repr},
    {Py_tp_methods, IntegerCore_methods},
    {Py_tp_getset, IntegerCore_getset},
    {Py_tp_members, IntegerCore_members},
    {0, NULL},
};

static PyType_Spec IntegerCore_spec = {
    .name = "fearless._native.IntegerCore",
    .basicsize = sizeof(IntegerCore),
    .itemsize = 0,
    /* No references to other objects: no garbage-collector support needed. */
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = IntegerCore_slots,
};

/* -- AtomicFloat ----------------------------------------------------------------
 *
 * The double's bits in one 64-bit hardware atomic. compare_exchange compares
 * bit patterns, as the reference does (0.0 and -0.0 differ, a NaN matches
 * the same NaN); fetch_add/sub are compare-exchange loops on the bits;
 * fetch_max/min follow Rust's f64::max/min (a NaN operand is ignored, a
 * NaN value is replaced), as the reference does. */

typedef struct {
    PyObject_HEAD
    PyObject *weakreflist;
    _Atomic uint64_t bits;
} FloatCore;

static inline uint64_t
double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline double
bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* An exact float operand, or the reference's slow path (which raises or
 * converts). 0 with *out and *order_out set, -1 on error. */
static int
float_operand(FloatCore *self, PyObject *val, PyObject *order, unsigned allowed, PyObject *kind,
              double *out, int *order_out)
{
    int o = order_index(order, allowed);
    if (o >= 0 && PyFloat_CheckExact(val)) {
        *out = PyFloat_AS_DOUBLE(val);
        *order_out = o;
        return 0;
    }
    PyObject *convert = PyObject_GetAttr((PyObject *)Py_TYPE(self), S.str_convert);
    if (convert == NULL) {
        return -1;
    }
    PyObject *converted = PyObject_CallFunctionObjArgs(S.slow_operand, val, order, kind, convert, NULL);
    Py_DECREF(convert);
    if (converted == NULL) {
        return -1;
    }
    o = order_index(order, allowed);
    if (!PyFloat_CheckExact(converted) || o < 0) {
        Py_DECREF(converted);
        PyErr_SetString(PyExc_SystemError, "fearless._native: the slow path let a bad operand through");
        return -1;
    }
    *out = PyFloat_AS_DOUBLE(converted);
    Py_DECREF(converted);
    *order_out = o;
    return 0;
}

static PyObject *
FloatCore_load(FloatCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[1] = {S.orders[ORD_SEQCST]};
    if ((nargs != 0 || kwnames != NULL) && parse_args("load", args, nargs, kwnames, NAMES_ORDER, 1, 0, a) < 0) {
        return NULL;
    }
    int o;
    if (order_only(a[0], ALLOW_LOAD, S.str_load, &o) < 0) {
        return NULL;
    }
    return PyFloat_FromDouble(bits_double(atomic_load_explicit(&self->bits, C_ORDER[o])));
}

static PyObject *
FloatCore_store(FloatCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[2] = {NULL, S.orders[ORD_SEQCST]};
    if (parse_args("store", args, nargs, kwnames, NAMES_VAL_ORDER, 2, 1, a) < 0) {
        return NULL;
    }
    double v;
    int o;
    if (float_operand(self, a[0], a[1], ALLOW_STORE, S.str_store, &v, &o) < 0) {
        return NULL;
    }
    atomic_store_explicit(&self->bits, double_bits(v), C_ORDER[o]);
    Py_RETURN_NONE;
}

static PyObject *
FloatCore_swap(FloatCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[2] = {NULL, S.orders[ORD_SEQCST]};
    if (parse_args("swap", args, nargs, kwnames, NAMES_VAL_ORDER, 2, 1, a) < 0) {
        return NULL;
    }
    double v;
    int o;
    if (float_operand(self, a[0], a[1], ALLOW_ANY, S.str_any, &v, &o) < 0) {
        return NULL;
    }
    return PyFloat_FromDouble(bits_double(atomic_exchange_explicit(&self->bits, double_bits(v), C_ORDER[o])));
}

static PyObject *
float_compare_exchange(FloatCore *self, const char *fname, PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames)
{
    PyObject *a[4] = {NULL, NULL, S.orders[ORD_SEQCST], S.orders[ORD_SEQCST]};
    if (parse_args(fname, args, nargs, kwnames, NAMES_CAS, 4, 2, a) < 0) {
        return NULL;
    }
    int success = order_index(a[2], ALLOW_ANY);
    int failure = order_index(a[3], ALLOW_LOAD);
    double current = 0, desired = 0;
    if (success >= 0 && failure >= 0 && PyFloat_CheckExact(a[0]) && PyFloat_CheckExact(a[1])) {
        current = PyFloat_AS_DOUBLE(a[0]);
        desired = PyFloat_AS_DOUBLE(a[1]);
    }
    else {
        PyObject *convert = PyObject_GetAttr((PyObject *)Py_TYPE(self), S.str_convert);
        if (convert == NULL) {
            return NULL;
        }
        PyObject *pair = PyObject_CallFunctionObjArgs(S.slow_operands, a[0], a[1], a[2], a[3], convert, NULL);
        Py_DECREF(convert);
        if (pair == NULL) {
            return NULL;
        }
        int ok = PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2 && PyFloat_CheckExact(PyTuple_GET_ITEM(pair, 0))
                 && PyFloat_CheckExact(PyTuple_GET_ITEM(pair, 1));
        if (ok) {
            current = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(pair, 0));
            desired = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(pair, 1));
        }
        Py_DECREF(pair);
        success = order_index(a[2], ALLOW_ANY);
        failure = order_index(a[3], ALLOW_LOAD);
        if (!ok || success < 0 || failure < 0) {
            PyErr_SetString(PyExc_SystemError, "fearless._native: the slow path let a bad operand through");
            return NULL;
        }
    }
    uint64_t found = double_bits(current);
    int ok = atomic_compare_exchange_strong_explicit(&self->bits, &found, double_bits(desired),
                                                     cas_success(success, failure), C_ORDER[failure]);
    return new_result(ok, PyFloat_FromDouble(bits_double(found)));
}

static PyObject *
FloatCore_compare_exchange(FloatCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return float_compare_exchange(self, "compare_exchange", args, nargs, kwnames);
}

static PyObject *
FloatCore_compare_exchange_weak(FloatCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return float_compare_exchange(self, "compare_exchange_weak", args, nargs, kwnames);
}

/* A read-modify-write on the bits, by a compare-exchange loop. */
static double
float_rmw(FloatCore *self, Op op, double val, memory_order mo)
{
    memory_order fail_mo = (mo == memory_order_release || mo == memory_order_relaxed)
                               ? memory_order_relaxed
                               : (mo == memory_order_seq_cst ? memory_order_seq_cst : memory_order_acquire);
    uint64_t old_bits = atomic_load_explicit(&self->bits, fail_mo);
    for (;;) {
        double old = bits_double(old_bits), new;
        switch (op) {
        case OP_ADD: new = old + val; break;
        case OP_SUB: new = old - val; break;
        case OP_MAX:
            if (!(val > old || old != old)) {
                return old; /* nothing to store */
            }
            new = val;
            break;
        default: /* OP_MIN */
            if (!(val < old || old != old)) {
                return old;
            }
            new = val;
            break;
        }
        if (atomic_compare_exchange_weak_explicit(&self->bits, &old_bits, double_bits(new), mo, fail_mo)) {
            return old;
        }
    }
}

#define FLOAT_FETCH(name, op)                                                                   \
    static PyObject *FloatCore_##name(FloatCore *self, PyObject *const *args, Py_ssize_t nargs, \
                                      PyObject *kwnames)                                        \
    {                                                                                           \
        PyObject *a[2] = {NULL, S.orders[ORD_SEQCST]};                                          \
        if (nargs == 1 && kwnames == NULL) {                                                    \
            a[0] = args[0];                                                                     \
        }                                                                                       \
        else if (parse_args(#name, args, nargs, kwnames, NAMES_VAL_ORDER, 2, 1, a) < 0) {       \
            return NULL;                                                                        \
        }                                                                                       \
        double v;                                                                               \
        int o;                                                                                  \
        if (float_operand(self, a[0], a[1], ALLOW_ANY, S.str_any, &v, &o) < 0) {                \
            return NULL;                                                                        \
        }                                                                                       \
        return PyFloat_FromDouble(float_rmw(self, op, v, C_ORDER[o]));                          \
    }

FLOAT_FETCH(fetch_add, OP_ADD)
FLOAT_FETCH(fetch_sub, OP_SUB)
FLOAT_FETCH(fetch_max, OP_MAX)
FLOAT_FETCH(fetch_min, OP_MIN)
#undef FLOAT_FETCH

static PyObject *
FloatCore_get_value(FloatCore *self, void *closure)
{
    return PyFloat_FromDouble(bits_double(atomic_load_explicit(&self->bits, memory_order_relaxed)));
}

static PyObject *
FloatCore_repr(FloatCore *self)
{
    PyObject *name = PyType_GetName(Py_TYPE(self));
    if (name == NULL) {
        return NULL;
    }
    PyObject *value = FloatCore_get_value(self, NULL);
    if (value == NULL) {
        Py_DECREF(name);
        return NULL;
    }
    PyObject *text = PyUnicode_FromFormat("%U(%R)", name, value);
    Py_DECREF(name);
    Py_DECREF(value);
    return text;
}

static PyObject *
FloatCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (!S.ready) {
        PyErr_SetString(PyExc_RuntimeError, "fearless._native is not set up: import fearless.atomic");
        return NULL;
    }
    FloatCore *self = (FloatCore *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->weakreflist = NULL;
    atomic_init(&self->bits, double_bits(0.0));
    return (PyObject *)self;
}

static int
FloatCore_init(FloatCore *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"value", NULL};
    PyObject *value = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:__init__", kwlist, &value)) {
        return -1;
    }
    double v = 0.0;
    if (value != NULL) {
        if (PyFloat_CheckExact(value)) {
            v = PyFloat_AS_DOUBLE(value);
        }
        else {
            PyObject *convert = PyObject_GetAttr((PyObject *)Py_TYPE(self), S.str_convert);
            if (convert == NULL) {
                return -1;
            }
            PyObject *converted = PyObject_CallOneArg(convert, value);
            Py_DECREF(convert);
            if (converted == NULL) {
                return -1;
            }
            v = PyFloat_AsDouble(converted);
            Py_DECREF(converted);
            if (v == -1.0 && PyErr_Occurred()) {
                return -1;
            }
        }
    }
    atomic_store_explicit(&self->bits, double_bits(v), memory_order_seq_cst);
    return 0;
}

static void
FloatCore_dealloc(FloatCore *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

#define FLOAT_METHOD(name, doc) {#name, (PyCFunction)(void (*)(void))FloatCore_##name, METH_FASTCALL | METH_KEYWORDS, doc}

static PyMethodDef FloatCore_methods[] = {
    FLOAT_METHOD(load, "Read the value."),
    FLOAT_METHOD(store, "Replace the value."),
    FLOAT_METHOD(swap, "Replace the value and return the previous one."),
    FLOAT_METHOD(compare_exchange, "Store ``new`` if the value has the same bit pattern as ``current``."),
    FLOAT_METHOD(compare_exchange_weak, ":meth:`compare_exchange`, which Rust allows to fail spuriously."),
    FLOAT_METHOD(fetch_add, "Add ``val`` (IEEE 754 addition); return the previous value."),
    FLOAT_METHOD(fetch_sub, "Subtract ``val``; return the previous value."),
    FLOAT_METHOD(fetch_max, "Store the larger of the value and ``val``; return the previous value."),
    FLOAT_METHOD(fetch_min, "Store the smaller of the value and ``val``; return the previous value."),
    {NULL, NULL, 0, NULL},
};
#undef FLOAT_METHOD

static PyGetSetDef FloatCore_getset[] = {
    {"_value", (getter)FloatCore_get_value, NULL, "The value, read without ordering (a snapshot).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef FloatCore_members[] = {
    {"__weaklistoffset__", Py_T_PYSSIZET, offsetof(FloatCore, weakreflist), Py_READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot FloatCore_slots[] = {
    {Py_tp_doc, "The compiled core of fearless.atomic.AtomicFloat."},
    {Py_tp_new, FloatCore_new},
    {Py_tp_init, FloatCore_init},
    {Py_tp_dealloc, FloatCore_dealloc},
    {Py_tp_repr, FloatCore_repr},
    {Py_tp_methods, FloatCore_methods},
    {Py_tp_getset, FloatCore_getset},
    {Py_tp_members, FloatCore_members},
    {0, NULL},
};

static PyType_Spec FloatCore_spec = {
    .name = "fearless._native.FloatCore",
    .basicsize = sizeof(FloatCore),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = FloatCore_slots,
};

/* -- Mutex and its guard -------------------------------------------------------
 *
 * MutexCore is the mutex; GuardCore its guard. The raw lock is a
 * PyThread lock (what threading.Lock is made of), with the holder's thread
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
    PyObject *deadlock_error, *would_block_error, *guard_released_error, *wrong_thread_error;
    PyObject *msg_deadlock, *msg_would_block, *msg_released, *msg_wrong_thread;
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
    PyThread_type_lock lock;
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
    if (PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        atomic_store_explicit(&self->owner, me, memory_order_relaxed);
        return 1;
    }
    return 0;
}

static inline void
mutex_give_back(MutexCore *self)
{
    atomic_store_explicit(&self->owner, 0, memory_order_relaxed);
    PyThread_release_lock(self->lock);
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
        taken = PyThread_acquire_lock(self->lock, NOWAIT_LOCK);
    }
    Py_END_ALLOW_THREADS
    /* Then block, in slices as the reference does (fearless._park): a
     * signal handler's exception -- Ctrl-C, and _thread.interrupt_main(),
     * which interrupts no system call -- ends the wait within a slice. */
    double deadline = timeout > 0 ? monotonic_seconds() + timeout : 0;
    while (!taken) {
        PY_TIMEOUT_T wait_us = SLICE_US;
        if (timeout > 0) {
            double left = deadline - monotonic_seconds();
            if (left <= 0) {
                break;
            }
            if (left * 1e6 < SLICE_US) {
                wait_us = (PY_TIMEOUT_T)(left * 1e6) + 1;
            }
        }
        PyLockStatus status;
        Py_BEGIN_ALLOW_THREADS
        status = PyThread_acquire_lock_timed(self->lock, wait_us, 1);
        Py_END_ALLOW_THREADS
        if (status == PY_LOCK_ACQUIRED) {
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
    if (self->lock == NULL) {
        self->lock = PyThread_allocate_lock();
        if (self->lock == NULL) {
            PyErr_NoMemory();
            return -1;
        }
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
    self->lock = NULL;
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
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    Py_CLEAR(self->data);
    Py_CLEAR(self->waiting);
    if (self->lock != NULL) {
        /* A lock still held (a guard dropped on another thread, or a
         * thread that died holding it) must be released before it is freed. */
        if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
            /* held: nobody can release it any more */
        }
        PyThread_release_lock(self->lock);
        PyThread_free_lock(self->lock);
    }
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
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
        if (PyErr_ResourceWarning((PyObject *)self, 1,
                                  "<MutexGuard at %p of Mutex at %p> was never released; it was "
                                  "released when garbage-collected (use 'with mutex.lock() as "
                                  "guard:' or call guard.unlock())",
                                  (void *)self, (void *)mutex) < 0) {
            PyErr_WriteUnraisable((PyObject *)self);
        }
    }
    else {
        /* Held by another thread (or never taken): the reference says so,
         * and leaves the mutex as it is. */
        PyObject *r = PyObject_CallOneArg(M.drop_unreleased, (PyObject *)self);
        if (r == NULL) {
            PyErr_WriteUnraisable((PyObject *)self);
        }
        else {
            Py_DECREF(r);
        }
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
    PyTypeObject *tp = Py_TYPE(self);
    if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0) {
        return; /* resurrected by the finaliser */
    }
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->home);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
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
    /* _setup_mutex(guard_twin, errors, messages, drop_unreleased) with
     * errors = (DeadlockError, WouldBlockError, GuardReleasedError, WrongThreadError)
     * and messages in the same order. */
    if (nargs != 5 || !PyModule_Check(args[4]) || !PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], GuardCore_type)
        || !PyTuple_Check(args[1]) || PyTuple_GET_SIZE(args[1]) != 4 || !PyTuple_Check(args[2])
        || PyTuple_GET_SIZE(args[2]) != 4 || !PyCallable_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "_setup_mutex(guard_twin, errors, messages, drop_unreleased, seam)");
        return NULL;
    }
    if (M.ready) {
        Py_RETURN_NONE;
    }
    M.guard_type = (PyTypeObject *)Py_NewRef(args[0]);
    M.deadlock_error = Py_NewRef(PyTuple_GET_ITEM(args[1], 0));
    M.would_block_error = Py_NewRef(PyTuple_GET_ITEM(args[1], 1));
    M.guard_released_error = Py_NewRef(PyTuple_GET_ITEM(args[1], 2));
    M.wrong_thread_error = Py_NewRef(PyTuple_GET_ITEM(args[1], 3));
    M.msg_deadlock = Py_NewRef(PyTuple_GET_ITEM(args[2], 0));
    M.msg_would_block = Py_NewRef(PyTuple_GET_ITEM(args[2], 1));
    M.msg_released = Py_NewRef(PyTuple_GET_ITEM(args[2], 2));
    M.msg_wrong_thread = Py_NewRef(PyTuple_GET_ITEM(args[2], 3));
    M.drop_unreleased = Py_NewRef(args[3]);
    M.seam = Py_NewRef(args[4]);
    M.ready = 1;
    Py_RETURN_NONE;
}

/* AtomicBool: the same object and code, one bit in a byte, and only the
 * operations Rust's AtomicBool has. */
#define BOOL_METHOD(name, doc) {#name, (PyCFunction)(void (*)(void))IntegerCore_##name, METH_FASTCALL | METH_KEYWORDS, doc}

static PyMethodDef BoolCore_methods[] = {
    BOOL_METHOD(load, "Read the value."),
    BOOL_METHOD(store, "Replace the value."),
    BOOL_METHOD(swap, "Replace the value and return the previous one."),
    BOOL_METHOD(compare_exchange, "Store ``new`` if the value is ``current``."),
    BOOL_METHOD(compare_exchange_weak, ":meth:`compare_exchange`, which Rust allows to fail spuriously."),
    BOOL_METHOD(fetch_and, "Logical \"and\" with ``val``; return the previous value."),
    BOOL_METHOD(fetch_or, "Logical \"or\" with ``val``; return the previous value."),
    BOOL_METHOD(fetch_xor, "Logical \"xor\" with ``val``; return the previous value."),
    BOOL_METHOD(fetch_nand, "Logical \"nand\" with ``val``; return the previous value."),
    BOOL_METHOD(fetch_not, "Logical \"not\"; return the previous value."),
    {NULL, NULL, 0, NULL},
};
#undef BOOL_METHOD

static PyType_Slot BoolCore_slots[] = {
    {Py_tp_doc, "The compiled core of fearless.atomic.AtomicBool."},
    {Py_tp_new, IntegerCore_new},
    {Py_tp_init, IntegerCore_init},
    {Py_tp_dealloc, IntegerCore_dealloc},
    {Py_tp_repr, IntegerCore_repr},
    {Py_tp_methods, BoolCore_methods},
    {Py_tp_getset, IntegerCore_getset},
    {Py_tp_members, IntegerCore_members},
    {0, NULL},
};

static PyType_Spec BoolCore_spec = {
    .name = "fearless._native.BoolCore",
    .basicsize = sizeof(IntegerCore),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = BoolCore_slots,
};

/* -- the module ------------------------------------------------------------- */

static PyObject *
native_setup(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    /* _setup(orders, slow_operand, slow_operands, check_ordering, result_type) */
    if (nargs != 5 || !PyTuple_Check(args[0]) || PyTuple_GET_SIZE(args[0]) != ORD_COUNT
        || !PyType_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError,
                        "_setup((SeqCst, Relaxed, Acquire, Release, AcqRel), slow_operand, "
                        "slow_operands, check_ordering, CompareExchangeResult)");
        return NULL;
    }
    if (S.ready) {
        Py_RETURN_NONE; /* set up already (a second import of fearless.atomic) */
    }
    for (int i = 0; i < ORD_COUNT; i++) {
        S.orders[i] = Py_NewRef(PyTuple_GET_ITEM(args[0], i));
    }
    S.slow_operand = Py_NewRef(args[1]);
    S.slow_operands = Py_NewRef(args[2]);
    S.check_ordering = Py_NewRef(args[3]);
    S.result_type = Py_NewRef(args[4]);
    S.tuple_new = (newfunc)PyType_GetSlot(&PyTuple_Type, Py_tp_new);
    S.ready = 1;
    Py_RETURN_NONE;
}

static PyObject *
native_fence(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    atomic_thread_fence(memory_order_seq_cst);
    Py_RETURN_NONE;
}

static PyMethodDef native_methods[] = {
    {"_fence", (PyCFunction)native_fence, METH_NOARGS,
     "atomic_thread_fence(memory_order_seq_cst): fearless.atomic.fence's barrier."},
    {"_setup", (PyCFunction)(void (*)(void))native_setup, METH_FASTCALL,
     "Hand the reference's orderings, slow paths and result type to the core (once)."},
    {"_setup_mutex", (PyCFunction)(void (*)(void))native_setup_mutex, METH_FASTCALL,
     "Hand the Mutex core its guard class, errors, messages and finaliser (once)."},
    {NULL, NULL, 0, NULL},
};

static int
native_exec(PyObject *module)
{
#define INTERN(field, text)                                     \
    if ((field) == NULL && ((field) = PyUnicode_InternFromString(text)) == NULL) { \
        return -1;                                              \
    }
    INTERN(S.str_any, "any");
    INTERN(S.str_load, "load");
    INTERN(S.str_store, "store");
    INTERN(S.str_failure, "failure");
    INTERN(S.str_order, "order");
    INTERN(S.str_convert, "_native_convert");
    INTERN(str_kind, "_native_kind");
    INTERN(M.str_refuse, "_refuse");
    INTERN(M.str_acquire_slow, "_acquire_slow");
    INTERN(M.str_refuse_busy, "_refuse_busy");
    INTERN(M.str_forked_away, "forked_away");
    INTERN(M.str_remove, "remove");
    INTERN(M.str_value, "value");
#undef INTERN
    PyObject *integer_core = PyType_FromModuleAndSpec(module, &IntegerCore_spec, NULL);
    if (integer_core == NULL) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "IntegerCore", integer_core) < 0) {
        Py_DECREF(integer_core);
        return -1;
    }
    Py_DECREF(integer_core);
    PyObject *bool_core = PyType_FromModuleAndSpec(module, &BoolCore_spec, NULL);
    if (bool_core == NULL) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "BoolCore", bool_core) < 0) {
        Py_DECREF(bool_core);
        return -1;
    }
    Py_DECREF(bool_core);
    PyObject *float_core = PyType_FromModuleAndSpec(module, &FloatCore_spec, NULL);
    if (float_core == NULL) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "FloatCore", float_core) < 0) {
        Py_DECREF(float_core);
        return -1;
    }
    Py_DECREF(float_core);
    PyObject *mutex_core = PyType_FromModuleAndSpec(module, &MutexCore_spec, NULL);
    if (mutex_core == NULL) {
        return -1;
    }
    MutexCore_type = (PyTypeObject *)mutex_core; /* the module keeps it alive */
    if (PyModule_AddObjectRef(module, "MutexCore", mutex_core) < 0) {
        Py_DECREF(mutex_core);
        return -1;
    }
    Py_DECREF(mutex_core);
    PyObject *guard_core = PyType_FromModuleAndSpec(module, &GuardCore_spec, NULL);
    if (guard_core == NULL) {
        return -1;
    }
    GuardCore_type = (PyTypeObject *)guard_core;
    if (PyModule_AddObjectRef(module, "GuardCore", guard_core) < 0) {
        Py_DECREF(guard_core);
        return -1;
    }
    Py_DECREF(guard_core);
    return 0;
}

static PyModuleDef_Slot native_slots[] = {
    {Py_mod_exec, native_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "fearless._native",
    .m_doc = "The compiled core of fearless; fearless._atomic and friends are its reference.",
    .m_size = 0,
    .m_methods = native_methods,
    .m_slots = native_slots,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModuleDef_Init(&native_module);
}
