/* fearless._native: AtomicBool (BoolCore): IntegerCore's object and code, one bit in a byte.
 *
 * A part of the compiled core: module.c includes every part, in order, into
 * one translation unit, so that every function stays static and can be
 * inlined. The rules every part follows are in module.c's opening comment.
 */

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
