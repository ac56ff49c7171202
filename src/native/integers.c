/* fearless._native: the fixed-width integer atomics (IntegerCore), the argument parsing every part uses, and the compare-exchange result.
 *
 * A part of the compiled core: module.c includes every part, in order, into
 * one translation unit, so that every function stays static and can be
 * inlined. The rules every part follows are in module.c's opening comment.
 */

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
    PyObject *convert = converter((PyObject *)self);
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

/* The reference's slow path of a compare-exchange whose fast checks failed
 * (_slow_operands: it raises for an ordering, or converts both operands with
 * the type's converter): a new reference to the (current, new) pair, or
 * NULL with the exception set. ``a`` holds (current, new, success, failure). */
static PyObject *
slow_pair(PyObject *self, PyObject *const *a)
{
    PyObject *convert = converter(self);
    if (convert == NULL) {
        return NULL;
    }
    PyObject *pair = PyObject_CallFunctionObjArgs(S.slow_operands, a[0], a[1], a[2], a[3], convert, NULL);
    Py_DECREF(convert);
    if (pair != NULL && (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2)) {
        Py_DECREF(pair);
        PyErr_SetString(PyExc_SystemError, "fearless._native: _slow_operands returned no pair");
        return NULL;
    }
    return pair;
}

/* The _native_kind of a twin class, once the core is set up: 0, or -1 with
 * an exception set. */
static PyObject *str_kind;

static int
native_kind(PyTypeObject *type, long *kind)
{
    if (!S.ready) {
        PyErr_SetString(PyExc_RuntimeError, "fearless._native is not set up: import fearless.atomic");
        return -1;
    }
    PyObject *kind_obj = PyObject_GetAttr((PyObject *)type, str_kind);
    if (kind_obj == NULL) {
        return -1;
    }
    *kind = PyLong_AsLong(kind_obj);
    Py_DECREF(kind_obj);
    return (*kind == -1 && PyErr_Occurred()) ? -1 : 0;
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

/* The one argument ``(order=SeqCst)`` of ``load`` (``kind``: S.str_load) or
 * ``fetch_not`` (S.str_any), parsed and checked: 0 with *order_out set, -1
 * with an exception set. */
static inline int
order_argument(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
               unsigned allowed, PyObject *kind, int *order_out)
{
    PyObject *a[1] = {S.orders[ORD_SEQCST]};
    if ((nargs != 0 || kwnames != NULL) && parse_args(fname, args, nargs, kwnames, NAMES_ORDER, 1, 0, a) < 0) {
        return -1;
    }
    return order_only(a[0], allowed, kind, order_out);
}

/* -- the methods ------------------------------------------------------------- */

static PyObject *
IntegerCore_load(IntegerCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    int o;
    if (order_argument("load", args, nargs, kwnames, ALLOW_LOAD, S.str_load, &o) < 0) {
        return NULL;
    }
    return to_python(self, raw_load(self, C_ORDER[o]));
}

/* The arguments ``(val, order=SeqCst)`` of a one-operand operation named
 * ``fname``, parsed, checked and converted (see operand_and_order): 0 with
 * *bits and *order set, -1 with an exception set. */
static int
one_operand(IntegerCore *self, const char *fname, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames, unsigned allowed, PyObject *kind, uint64_t *bits, int *order)
{
    PyObject *a[2] = {NULL, S.orders[ORD_SEQCST]};
    if (nargs == 1 && kwnames == NULL) {
        a[0] = args[0];
    }
    else if (parse_args(fname, args, nargs, kwnames, NAMES_VAL_ORDER, 2, 1, a) < 0) {
        return -1;
    }
    return operand_and_order(self, a[0], a[1], allowed, kind, bits, order);
}

static PyObject *
IntegerCore_store(IntegerCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    uint64_t bits;
    int o;
    if (one_operand(self, "store", args, nargs, kwnames, ALLOW_STORE, S.str_store, &bits, &o) < 0) {
        return NULL;
    }
    raw_store(self, bits, C_ORDER[o]);
    Py_RETURN_NONE;
}

static PyObject *
IntegerCore_swap(IntegerCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    uint64_t bits;
    int o;
    if (one_operand(self, "swap", args, nargs, kwnames, ALLOW_ANY, S.str_any, &bits, &o) < 0) {
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
        PyObject *pair = slow_pair((PyObject *)self, a);
        if (pair == NULL) {
            return NULL;
        }
        int ok = fast_bits(self, PyTuple_GET_ITEM(pair, 0), &current)
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
        uint64_t bits;                                                                         \
        int o;                                                                                 \
        if (one_operand(self, #name, args, nargs, kwnames, ALLOW_ANY, S.str_any, &bits, &o) < 0) { \
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
    int o;
    if (order_argument("fetch_not", args, nargs, kwnames, ALLOW_ANY, S.str_any, &o) < 0) {
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

/* ``Name(value)``, an atomic's repr: its class's name and ``value`` (a new
 * reference, taken; NULL passes an error on), shown with repr(). */
static PyObject *
atomic_repr(PyObject *self, PyObject *value)
{
    if (value == NULL) {
        return NULL;
    }
    PyObject *name = PyType_GetName(Py_TYPE(self));
    PyObject *text = name == NULL ? NULL : PyUnicode_FromFormat("%U(%R)", name, value);
    Py_XDECREF(name);
    Py_DECREF(value);
    return text;
}

static PyObject *
IntegerCore_repr(IntegerCore *self)
{
    return atomic_repr((PyObject *)self, IntegerCore_get_value(self, NULL));
}

/* -- construction ------------------------------------------------------------- */

static PyObject *
IntegerCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    long kind;
    if (native_kind(type, &kind) < 0) {
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
        PyObject *convert = converter((PyObject *)self);
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
    dealloc_begin((PyObject *)self, 0, self->weakreflist);
    dealloc_end((PyObject *)self);
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
