"""A pickle reader that builds nothing but what an allowlist admits (``weights_only`` loading).

Python's ``pickle`` runs code by design: a pickle names globals (``GLOBAL os system``) and calls them
(``REDUCE``). This reader interprets the pickle opcodes itself, on a stack, and

* resolves a global only through ``allowed``, a table ``"module.name" -> object`` given by the caller;
  any other global raises :class:`Refused` naming it, before anything is built;
* calls (``REDUCE``, ``NEWOBJ``) only objects in ``callables``, by identity, with the arguments the
  pickle gives; an allowed global that is not callable (a class used as a marker) cannot be called;
* updates state (``BUILD``) only of an ``OrderedDict``/``Counter`` (attributes, as ``torch.save`` writes a
  state dict's ``_metadata``) or of a :class:`Pending` object the caller made (which then turns into its
  final value everywhere it is referenced); appends only to lists, adds only to sets, sets items only in
  dicts;
* beyond that, admits the globals a user marked safe (``user_allowed``, see
  :mod:`~nnzoo.serialization.user_globals`) as PyTorch's ``weights_only`` unpickler does: they may be named
  and called, a marked class instantiated by ``NEWOBJ`` (``cls.__new__(cls, *args)``, no ``__init__``) and
  its instances' state set by ``BUILD`` (``__setstate__``, or an update of ``__dict__`` and slots, or the
  caller's ``build``: a PyTorch module's state); a global the caller's ``resolve`` maps to a marked object
  is admitted too (a PyTorch class name of a marked nnzoo class); globals of ``sys``, ``os``, ``posix`` and
  ``nt`` are refused even when marked;
* hands persistent ids (``BINPERSID``: how ``torch.save`` refers to tensor storages) to the caller's
  ``persistent_load``.

It reads pickle protocols 0 to 5 apart from the opcodes that name or call objects without going through
the table (``INST``, ``OBJ``, the extension registry) and out-of-band buffers; those raise
:class:`Malformed`. Nothing here imports a module named in a file.

Example::

    >>> import pickle
    >>> from collections import OrderedDict
    >>> from nnzoo.serialization.unpickler import Refused, SafeUnpickler
    >>> allowed = {"collections.OrderedDict": OrderedDict}
    >>> SafeUnpickler(pickle.dumps(OrderedDict(a=[1, 2.5, "x"]), protocol=2), allowed, {OrderedDict}).load()
    OrderedDict([('a', [1, 2.5, 'x'])])
    >>> try:
    ...     SafeUnpickler(b"cos\\nsystem\\n(S'echo hi'\\ntR.", allowed, {OrderedDict}).load()
    ... except Refused as e:
    ...     print(e.name)
    os.system
"""
from __future__ import annotations

import codecs
import io
import struct
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["SafeUnpickler", "Refused", "Malformed", "Pending"]

# Python 2 module names a protocol-2 pickle may use (pickle's own compatibility mapping, the few that matter)
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
# modules whose globals stay refused even when a user marks them safe (torch's _blocklisted_modules)
_BLOCKED_MODULES = ("sys", "os", "posix", "nt")


class Refused(Exception):
    """The pickle names a global that the allowlist does not admit (``name``: ``"module.qualname"``)."""

    def __init__(self, name: str, why: str = "") -> None:
        super().__init__(name + (f" ({why})" if why else ""))
        self.name = name
        self.why = why


class Malformed(Exception):
    """The pickle is truncated, inconsistent, or uses an opcode this reader does not run."""


class Pending:
    """An object under construction (a NumPy array before its ``BUILD``). ``finish(state)`` returns the
    final object, which replaces this one on the stack and in the memo."""

    def finish(self, state: Any) -> Any:  # pragma: no cover - subclasses implement it
        raise NotImplementedError


class _Mark:
    pass


_MARK = _Mark()


class SafeUnpickler:
    """Reads one pickle from ``data`` (bytes or a binary file object) with only ``allowed`` globals.

    Args:
        data: the pickle bytes, or a binary file object positioned at its start (several pickles can be
            read from one file object, one ``load`` each, as PyTorch's legacy format needs).
        allowed: ``"module.name" -> object`` pushed for a ``GLOBAL``/``STACK_GLOBAL``.
        callables: the objects (of ``allowed``'s values) that ``REDUCE``/``NEWOBJ`` may call.
        persistent_load: called with each persistent id; None refuses persistent ids.
        user_allowed: ``"module.qualname" -> object``, globals the user marked safe (looked up after
            ``allowed``): callable, and for classes instantiable by ``NEWOBJ`` and buildable by ``BUILD``.
        resolve: ``(module, name) -> object or None``: another name of a global; a global that is not in
            ``allowed`` or ``user_allowed`` is admitted when this gives one of ``user_allowed``'s objects (a
            PyTorch class name of an nnzoo class the user marked). Nothing else is done with its result.
        build: ``(obj, state) -> bool``: a ``BUILD`` of an object of a marked class that the caller does
            itself (returns True), before the default (``__setstate__`` or the attributes).
    """

    def __init__(self, data: bytes | io.BufferedIOBase, allowed: dict[str, Any], callables: Iterable[Any],
                 persistent_load: Callable[[Any], Any] | None = None,
                 user_allowed: dict[str, Any] | None = None,
                 resolve: Callable[[str, str], Any] | None = None,
                 build: Callable[[Any, Any], bool] | None = None) -> None:
        self._file = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
        self._allowed = allowed
        self._callables = {id(c): c for c in callables}
        self._user = dict(user_allowed or {})
        self._user_types = {id(c): c for c in self._user.values() if isinstance(c, type)}
        self._callables.update((id(c), c) for c in self._user.values() if callable(c))
        self._persistent_load = persistent_load
        self._resolve, self._build_hook = resolve, build
        self.globals_seen: list[str] = []

    # ---- reading bytes -------------------------------------------------------------------------------
    def _read(self, n: int) -> bytes:
        b = self._file.read(n)
        if len(b) != n:
            raise Malformed("the pickle ends in the middle of an opcode (a truncated file?)")
        return b

    def _readline(self) -> bytes:
        line = self._file.readline()
        if not line.endswith(b"\n"):
            raise Malformed("the pickle ends in the middle of an opcode (a truncated file?)")
        return line[:-1]

    def _u(self, fmt: str) -> int:
        return struct.unpack(fmt, self._read(struct.calcsize(fmt)))[0]

    # ---- the stack -----------------------------------------------------------------------------------
    def _pop_mark(self) -> list:
        stack = self._stack
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is _MARK:
                items = stack[i + 1:]
                del stack[i:]
                return items
        raise Malformed("the pickle pops a MARK it never set")

    def _pop(self) -> Any:
        if not self._stack or self._stack[-1] is _MARK:
            raise Malformed("the pickle pops from an empty stack")
        return self._stack.pop()

    def _top(self) -> Any:
        if not self._stack or self._stack[-1] is _MARK:
            raise Malformed("the pickle reads an empty stack")
        return self._stack[-1]

    def _global(self, module: str, name: str) -> Any:
        module = _PY2_MODULES.get(module, module)
        full = f"{module}.{name}"
        self.globals_seen.append(full)
        if full in self._allowed:
            return self._allowed[full]
        if module in _BLOCKED_MODULES:
            raise Refused(full, f"the module {module} is blocked even when marked safe")
        if full in self._user:
            return self._user[full]
        if self._resolve is not None:
            other = self._resolve(module, name)
            if other is not None and any(other is v for v in self._user.values()):
                return other
        raise Refused(full)

    def _new(self, cls: Any, args: Any) -> Any:
        """``NEWOBJ``: a marked class as ``cls.__new__(cls, *args)`` (as pickle and PyTorch do), anything else
        through :meth:`_call` (the allowlist's rebuild functions stand in for PyTorch's classes)."""
        if self._user_types.get(id(cls)) is cls:
            if not isinstance(args, tuple):
                raise Malformed("the pickle creates an object with arguments that are not a tuple")
            return cls.__new__(cls, *args)
        return self._call(cls, args)

    def _call(self, func: Any, args: Any) -> Any:
        if self._callables.get(id(func)) is not func:
            raise Malformed(f"the pickle calls {type(func).__name__} {func!r:.60}, which is not an allowed "
                            "function")
        if not isinstance(args, tuple):
            raise Malformed("the pickle calls a function with arguments that are not a tuple")
        return func(*args)

    def _memo_put(self, i: int) -> None:
        obj = self._top()
        self._memo[i] = obj
        if isinstance(obj, Pending):
            self._pending_keys.setdefault(id(obj), []).append(i)

    def _memo_get(self, i: int) -> None:
        if i not in self._memo:
            raise Malformed(f"the pickle reads memo entry {i}, which it never wrote")
        self._stack.append(self._memo[i])

    def _build(self) -> None:
        state = self._pop()
        inst = self._top()
        if isinstance(inst, Pending):
            done = inst.finish(state)
            self._stack[-1] = done
            for i in self._pending_keys.pop(id(inst), ()):
                self._memo[i] = done
        elif type(inst) in (OrderedDict, Counter) and isinstance(state, dict) \
                and all(isinstance(k, str) for k in state):
            inst.__dict__.update(state)  # torch.save's state dicts carry a _metadata attribute
        elif self._user_types.get(id(type(inst))) is type(inst):
            if self._build_hook is None or not self._build_hook(inst, state):
                _set_state(inst, state)
        else:
            raise Malformed(f"the pickle sets the state of a {type(inst).__name__}; only an OrderedDict's "
                            "attributes, or objects of classes marked safe (add_safe_globals), can be set")

    # ---- the opcodes ---------------------------------------------------------------------------------
    def load(self) -> Any:
        """The object the pickle describes (:class:`Refused` for a global the table does not admit,
        :class:`Malformed` for a damaged pickle; exceptions of the allowed functions pass through)."""
        try:
            return self._run()
        except (TypeError, ValueError, KeyError, IndexError, OverflowError, struct.error) as e:
            raise Malformed(f"{type(e).__name__}: {e}") from None

    def _run(self) -> Any:
        self._stack: list[Any] = []
        self._memo: dict[int, Any] = {}
        self._pending_keys: dict[int, list[int]] = {}
        stack = self._stack
        push = stack.append
        while True:
            op = self._read(1)
            if op in _SIMPLE:
                push(_SIMPLE[op]())
            elif op == b"K":  # BININT1
                push(self._read(1)[0])
            elif op == b"M":  # BININT2
                push(self._u("<H"))
            elif op == b"J":  # BININT
                push(self._u("<i"))
            elif op == b"\x8a":  # LONG1
                push(int.from_bytes(self._read(self._read(1)[0]), "little", signed=True))
            elif op == b"\x8b":  # LONG4
                n = self._u("<i")
                if n < 0:
                    raise Malformed("negative LONG4 length")
                push(int.from_bytes(self._read(n), "little", signed=True))
            elif op == b"G":  # BINFLOAT
                push(self._u(">d"))
            elif op == b"X":  # BINUNICODE
                push(str(self._read(self._u("<I")), "utf-8", "surrogatepass"))
            elif op == b"\x8c":  # SHORT_BINUNICODE
                push(str(self._read(self._read(1)[0]), "utf-8", "surrogatepass"))
            elif op == b"\x8d":  # BINUNICODE8
                push(str(self._read(self._u("<Q")), "utf-8", "surrogatepass"))
            elif op == b"U":  # SHORT_BINSTRING (a Python 2 str): decoded as torch.load does (utf-8)
                push(self._read(self._read(1)[0]).decode("utf-8", "surrogateescape"))
            elif op == b"T":  # BINSTRING
                n = self._u("<i")
                if n < 0:
                    raise Malformed("negative BINSTRING length")
                push(self._read(n).decode("utf-8", "surrogateescape"))
            elif op == b"C":  # SHORT_BINBYTES
                push(self._read(self._read(1)[0]))
            elif op == b"B":  # BINBYTES
                push(self._read(self._u("<I")))
            elif op == b"\x8e":  # BINBYTES8
                push(self._read(self._u("<Q")))
            elif op == b"\x96":  # BYTEARRAY8
                push(bytearray(self._read(self._u("<Q"))))
            elif op in (b"I", b"L"):  # INT, LONG (protocol 0 text)
                text = self._readline().rstrip(b"L")
                push({b"00": False, b"01": True}.get(text) if text in (b"00", b"01") else int(text))
            elif op == b"F":  # FLOAT (text)
                push(float(self._readline()))
            elif op == b"V":  # UNICODE (text)
                push(self._readline().decode("raw-unicode-escape"))
            elif op == b"S":  # STRING (a quoted Python 2 str)
                text = self._readline()
                if len(text) < 2 or text[:1] != text[-1:] or text[:1] not in b"'\"":
                    raise Malformed("the pickle has an unquoted STRING")
                push(codecs.escape_decode(text[1:-1])[0].decode("utf-8", "surrogateescape"))
            elif op == b"(":  # MARK
                push(_MARK)
            elif op == b"t":  # TUPLE
                push(tuple(self._pop_mark()))
            elif op in (b"\x85", b"\x86", b"\x87"):  # TUPLE1..3
                n = op[0] - 0x84
                items = [self._pop() for _ in range(n)][::-1]
                push(tuple(items))
            elif op == b"l":  # LIST
                push(self._pop_mark())
            elif op == b"d":  # DICT
                items = self._pop_mark()
                push(self._dict_from(items))
            elif op == b"a":  # APPEND
                item = self._pop()
                self._target(list).append(item)
            elif op == b"e":  # APPENDS
                items = self._pop_mark()
                self._target(list).extend(items)
            elif op == b"s":  # SETITEM
                v = self._pop()
                k = self._pop()
                self._dict_target()[k] = v
            elif op == b"u":  # SETITEMS
                items = self._pop_mark()
                target = self._dict_target()
                if len(items) % 2:
                    raise Malformed("SETITEMS with an odd number of items")
                for i in range(0, len(items), 2):
                    target[items[i]] = items[i + 1]
            elif op == b"\x90":  # ADDITEMS
                items = self._pop_mark()
                self._target(set).update(items)
            elif op == b"\x91":  # FROZENSET
                push(frozenset(self._pop_mark()))
            elif op == b"0":  # POP
                if stack and stack[-1] is _MARK:
                    self._pop_mark()
                else:
                    self._pop()
            elif op == b"1":  # POP_MARK
                self._pop_mark()
            elif op == b"2":  # DUP
                push(self._top())
            elif op == b"q":  # BINPUT
                self._memo_put(self._read(1)[0])
            elif op == b"r":  # LONG_BINPUT
                self._memo_put(self._u("<I"))
            elif op == b"p":  # PUT
                self._memo_put(int(self._readline()))
            elif op == b"\x94":  # MEMOIZE
                self._memo_put(len(self._memo))
            elif op == b"h":  # BINGET
                self._memo_get(self._read(1)[0])
            elif op == b"j":  # LONG_BINGET
                self._memo_get(self._u("<I"))
            elif op == b"g":  # GET
                self._memo_get(int(self._readline()))
            elif op == b"c":  # GLOBAL
                module = self._readline().decode("utf-8")
                name = self._readline().decode("utf-8")
                push(self._global(module, name))
            elif op == b"\x93":  # STACK_GLOBAL
                name = self._pop()
                module = self._pop()
                if not (isinstance(module, str) and isinstance(name, str)):
                    raise Malformed("STACK_GLOBAL needs two strings")
                push(self._global(module, name))
            elif op == b"R":  # REDUCE
                args = self._pop()
                func = self._pop()
                push(self._call(func, args))
            elif op == b"\x81":  # NEWOBJ: cls.__new__(cls, *args)
                args = self._pop()
                cls = self._pop()
                push(self._new(cls, args))
            elif op == b"\x92":  # NEWOBJ_EX
                kwargs = self._pop()
                args = self._pop()
                cls = self._pop()
                if kwargs:
                    raise Malformed("NEWOBJ_EX with keyword arguments")
                push(self._new(cls, args))
            elif op == b"b":  # BUILD
                self._build()
            elif op == b"Q":  # BINPERSID
                pid = self._pop()
                if self._persistent_load is None:
                    raise Malformed("the pickle refers to external data (a persistent id) where none is expected")
                push(self._persistent_load(pid))
            elif op == b"\x80":  # PROTO
                if self._read(1)[0] > 5:
                    raise Malformed("pickle protocol above 5")
            elif op == b"\x95":  # FRAME: its length; the frame's opcodes follow inline
                self._u("<Q")
            elif op == b".":  # STOP
                result = self._pop()
                if isinstance(result, Pending):
                    raise Malformed("the pickle ends with an object it never finished building")
                return result
            else:
                raise Malformed(f"the pickle uses opcode {op!r}, which weights_only loading does not run")

    def _target(self, kind: type) -> Any:
        target = self._top()
        if type(target) is not kind:
            raise Malformed(f"the pickle adds items to a {type(target).__name__}, not a {kind.__name__}")
        return target

    def _dict_target(self) -> dict:
        target = self._top()
        if type(target) not in (dict, OrderedDict, Counter):
            raise Malformed(f"the pickle sets items of a {type(target).__name__}, not a dict")
        return target

    @staticmethod
    def _dict_from(items: list) -> dict:
        if len(items) % 2:
            raise Malformed("DICT with an odd number of items")
        return {items[i]: items[i + 1] for i in range(0, len(items), 2)}


def _set_state(inst: Any, state: Any) -> None:
    """``BUILD`` of an object of a marked class, as pickle's ``load_build`` and PyTorch's weights_only
    unpickler do it: ``inst.__setstate__(state)``, else ``state`` (or ``(state, slotstate)``) set as attributes."""
    setstate = getattr(inst, "__setstate__", None)
    if setstate is not None:
        setstate(state)
        return
    slotstate = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
    for part in (state, slotstate):
        if part is not None and not (isinstance(part, dict) and all(isinstance(k, str) for k in part)):
            raise Malformed(f"the pickle sets the state of a {type(inst).__name__} from a "
                            f"{type(part).__name__}, not a dict of attributes")
    if state:
        inst.__dict__.update(state)
    if slotstate:
        for k, v in slotstate.items():
            setattr(inst, k, v)


_SIMPLE = {b"N": lambda: None, b"\x88": lambda: True, b"\x89": lambda: False, b")": tuple, b"]": list,
           b"}": dict, b"\x8f": set}
