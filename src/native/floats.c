/* fearless._native: AtomicFloat (FloatCore): the double's bits in one 64-bit atomic.
 *
 * A part of the compiled core: module.c includes every part, in order, into
 * one translation unit, so that every function stays static and can be
 * inlined. The rules every part follows are in module.c's opening comment.
 */

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
    PyObject *convert = converter((PyObject *)self);
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
    int o;
    if (order_argument("load", args, nargs, kwnames, ALLOW_LOAD, S.str_load, &o) < 0) {
        return NULL;
    }
    return PyFloat_FromDouble(bits_double(atomic_load_explicit(&self->bits, C_ORDER[o])));
}

/* The arguments ``(val, order=SeqCst)`` of a one-operand operation named
 * ``fname``, parsed, checked and converted (see float_operand). */
static int
float_one_operand(FloatCore *self, const char *fname, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames, unsigned allowed, PyObject *kind, double *v, int *order)
{
    PyObject *a[2] = {NULL, S.orders[ORD_SEQCST]};
    if (nargs == 1 && kwnames == NULL) {
        a[0] = args[0];
    }
    else if (parse_args(fname, args, nargs, kwnames, NAMES_VAL_ORDER, 2, 1, a) < 0) {
        return -1;
    }
    return float_operand(self, a[0], a[1], allowed, kind, v, order);
}

static PyObject *
FloatCore_store(FloatCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    double v;
    int o;
    if (float_one_operand(self, "store", args, nargs, kwnames, ALLOW_STORE, S.str_store, &v, &o) < 0) {
        return NULL;
    }
    atomic_store_explicit(&self->bits, double_bits(v), C_ORDER[o]);
    Py_RETURN_NONE;
}

static PyObject *
FloatCore_swap(FloatCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    double v;
    int o;
    if (float_one_operand(self, "swap", args, nargs, kwnames, ALLOW_ANY, S.str_any, &v, &o) < 0) {
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
        PyObject *pair = slow_pair((PyObject *)self, a);
        if (pair == NULL) {
            return NULL;
        }
        int ok = PyFloat_CheckExact(PyTuple_GET_ITEM(pair, 0)) && PyFloat_CheckExact(PyTuple_GET_ITEM(pair, 1));
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
        double v;                                                                               \
        int o;                                                                                  \
        if (float_one_operand(self, #name, args, nargs, kwnames, ALLOW_ANY, S.str_any, &v, &o) < 0) { \
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
    /* The value's own repr runs outside any section: it may run any code. */
    return atomic_repr((PyObject *)self, FloatCore_get_value(self, NULL));
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
            PyObject *convert = converter((PyObject *)self);
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
    dealloc_begin((PyObject *)self, 0, self->weakreflist);
    dealloc_end((PyObject *)self);
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
