"""Canonical encodings of numpy arrays and pandas objects: dtype + shape + raw buffer at memory speed.

C-contiguous buffers go to xxh3 without a copy; other layouts are copied in bounded chunks into
C order, so a value hashes alike whatever its memory layout. Object-dtype data is hashed element
by element through the general encoder (by value, never by pointer). numpy and pandas are never
imported here: an object can only be one of theirs if its library is already in ``sys.modules``.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from typing import Any

from xxhash import xxh3_128

from nbtrack.capture.canonical.encoder import DATA_HANDLERS, Encoder, Handler, str_token, u32, u64

CHUNK = 1 << 24
"""Bytes copied at a time when a non-contiguous array is brought into C order."""


def _data(f: Handler) -> Handler:
    DATA_HANDLERS.add(f)
    return f


def handler_for(t: type) -> Handler | None:
    """The handler for numpy/pandas type ``t``, or None when ``t`` is neither."""
    np = sys.modules.get("numpy")
    if np is not None:
        if issubclass(t, np.ndarray):
            return _ndarray
        if issubclass(t, np.generic):
            return _npscalar
        if issubclass(t, np.dtype):
            return _dtype
    pd = sys.modules.get("pandas")
    if pd is not None:
        if issubclass(t, pd.DataFrame):
            return _dataframe
        if issubclass(t, pd.Series):
            return _series
        if issubclass(t, pd.Index):
            return _index
        if issubclass(t, pd.api.extensions.ExtensionArray):
            return _extension_array
    return None


_DTYPES: dict[int, tuple[Any, bytes, bytes]] = {}
"""id -> (dtype, ``dtype_key``, ``dtype_name``) of plain numpy dtypes (``str(dt)`` alone takes 5
µs, a column's whole hash 10); structured ones are not kept, their field names can be set."""


def dtype_key(dt: Any) -> bytes:
    return _dtype_tokens(dt)[0]


def dtype_name(dt: Any) -> bytes:
    """``str(dt)`` as a token (pandas names its dtypes so: ``float64``, ``category``...)."""
    np = sys.modules["numpy"]
    if not isinstance(dt, np.dtype):
        return str_token(str(dt))
    return _dtype_tokens(dt)[1]


def _dtype_tokens(dt: Any) -> tuple[bytes, bytes]:
    """(``dtype_key``, ``dtype_name``) of numpy dtype ``dt``."""
    if (hit := _DTYPES.get(id(dt))) is not None and hit[0] is dt:
        return hit[1], hit[2]
    if dt.fields or dt.subdtype:
        return str_token(str(dt.descr)), str_token(str(dt))
    key, name = str_token(dt.str), str_token(str(dt))
    if len(_DTYPES) >= 256:
        _DTYPES.clear()
    _DTYPES[id(dt)] = (dt, key, name)
    return key, name


def write_ndarray(enc: Encoder, h: Any, arr: Any) -> None:
    """dtype, shape, then content in C order into ``h``."""
    np = sys.modules["numpy"]
    h.update(dtype_key(arr.dtype) + u32(arr.ndim) + b"".join(u64(n) for n in arr.shape))
    if arr.dtype.hasobject:
        enc.write_items(h, arr.ravel().tolist())
    elif arr.flags.c_contiguous:
        _write_contiguous(h, arr, np)
    else:
        step = max(1, CHUNK // max(1, arr[:1].nbytes))
        for start in range(0, arr.shape[0], step):
            _write_contiguous(h, np.ascontiguousarray(arr[start : start + step]), np)


def _write_contiguous(h: Any, arr: Any, np: Any) -> None:
    try:
        h.update(arr.reshape(-1).view(np.uint8))  # no copy: the array's own buffer
    except (ValueError, TypeError):  # zero-size items and the like
        h.update(arr.tobytes())


@_data
def _ndarray(enc: Encoder, arr: Any) -> Any:
    np = sys.modules["numpy"]
    if type(arr) is np.ndarray:
        h = xxh3_128(b"#ndarray\0")
        write_ndarray(enc, h, arr)
        return h
    h = xxh3_128(b"#ndarray-subclass\0" + enc.token(type(arr)))
    if isinstance(arr, np.ma.MaskedArray):
        write_ndarray(enc, h, np.ma.getmaskarray(arr))
    write_ndarray(enc, h, arr.view(np.ndarray))
    return h


def _npscalar(enc: Encoder, x: Any) -> Any:
    """A value like an int (not ``_data``: no memory to watch, so not the large-object hook's,
    which would cost each of a statsmodels result's many scalars more than its hash)."""
    if x.dtype.hasobject:
        return xxh3_128(b"#npobject\0" + enc.token(x.item()))
    return xxh3_128(b"#npscalar\0" + dtype_key(x.dtype) + x.tobytes())


def _dtype(enc: Encoder, dt: Any) -> Any:
    return xxh3_128(b"#dtype\0" + dtype_key(dt))


# ---------------------------------------------------------------- pandas


def write_values(enc: Encoder, h: Any, values: Any) -> None:
    """The values of an Index/Series/column (ndarray or ExtensionArray) by value, dtype first."""
    np = sys.modules["numpy"]
    h.update(dtype_name(values.dtype))
    if isinstance(values, np.ndarray):
        write_ndarray(enc, h, values)
        return
    pd = sys.modules["pandas"]
    if isinstance(values, pd.Categorical):
        h.update(b"cat" + (b"T" if values.ordered else b"F") + enc.token(values.categories))
        write_ndarray(enc, h, values.codes)
    elif hasattr(values, "_pa_array"):
        _write_arrow(enc, h, values)
    elif isinstance(getattr(values, "_mask", None), np.ndarray) and hasattr(values, "_data"):
        mask, data = values._mask, values._data
        if mask.any():  # values under the mask are arbitrary: zero them
            data = np.where(mask, np.zeros((), dtype=data.dtype), data)
        h.update(b"masked")
        write_ndarray(enc, h, mask)
        write_ndarray(enc, h, data)
    elif isinstance(getattr(values, "_ndarray", None), np.ndarray):
        h.update(b"ndarray")  # datetimes, timedeltas, periods, python-backed strings
        write_ndarray(enc, h, values._ndarray)
    else:
        h.update(b"object")
        write_ndarray(enc, h, np.asarray(values, dtype=object))


def _write_arrow(enc: Encoder, h: Any, values: Any) -> None:
    """pyarrow-backed arrays: strings as code-point lengths + UTF-8 straight from Arrow's buffers,
    other primitives through numpy, anything with nulls or nesting element by element."""
    np = sys.modules["numpy"]
    pa = sys.modules["pyarrow"]
    chunked = values._pa_array
    typ = chunked.type
    if chunked.null_count == 0 and (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        arr = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
        _write_strings(np, h, arr, pa.types.is_large_string(typ))
        return
    if chunked.null_count == 0 and pa.types.is_primitive(typ):
        h.update(b"arrow-primitive")
        write_ndarray(enc, h, np.asarray(chunked.to_numpy()))
        return
    h.update(b"arrow-object")
    write_ndarray(enc, h, np.asarray(values.to_numpy(dtype=object, na_value=None), dtype=object))


def _write_strings(np: Any, h: Any, arr: Any, large: bool) -> None:
    """Arrow string array ``arr`` (no nulls): its code-point lengths as ``<i8``, then its UTF-8,
    read from its buffers. ASCII text's lengths are its offsets' differences: no cast to
    ``large_string`` and no ``utf8_length``, which took 10-15 µs a call, most of a small
    column's hash (in pandas 3 every DataFrame's column names are such an array)."""
    n = len(arr)
    h.update(b"arrow-strs" + u64(n))
    if not n:
        return
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype="<i8" if large else "<i4")[
        arr.offset : arr.offset + n + 1
    ]
    start, stop = int(offsets[0]), int(offsets[-1])
    text = np.frombuffer(bufs[2] if stop > start else b"", dtype=np.uint8)[start:stop]
    sizes = np.diff(offsets).astype("<i8", copy=False)
    if text.size and int(text.max()) >= 0x80:  # multi-byte characters
        import pyarrow.compute as pc

        sizes = pc.utf8_length(arr).to_numpy().astype("<i8", copy=False)
    h.update(sizes)
    h.update(text)


@_data
def _extension_array(enc: Encoder, values: Any) -> Any:
    h = xxh3_128(b"#pdarray\0")
    write_values(enc, h, values)
    return h


@_data
def _index(enc: Encoder, idx: Any) -> Any:
    pd = sys.modules["pandas"]
    if isinstance(idx, pd.MultiIndex):
        h = xxh3_128(b"#pdmultiindex\0" + enc.token(tuple(idx.names)) + u32(idx.nlevels))
        for level in range(idx.nlevels):
            write_values(enc, h, idx.get_level_values(level)._values)
        return h
    if isinstance(idx, pd.RangeIndex):
        return xxh3_128(
            b"#pdrangeindex\0" + enc.token((idx.start, idx.stop, idx.step)) + enc.token(idx.name)
        )
    h = xxh3_128(b"#pdindex\0" + enc.token(idx.name))
    write_values(enc, h, idx._values)
    return h


@_data
def _series(enc: Encoder, s: Any) -> Any:
    h = xxh3_128(b"#pdseries\0" + enc.token(s.name) + enc.token(s.index))
    write_values(enc, h, s._values)
    return h


@_data
def _dataframe(enc: Encoder, df: Any) -> Any:
    """Columns (names included), index, then each column's values in order."""
    h = xxh3_128(b"#pddataframe\0" + enc.token(df.columns) + enc.token(df.index))
    ncols = df.shape[1]
    h.update(u64(ncols))
    for i in range(ncols):
        try:
            values = df._mgr.iget_values(i)
        except AttributeError:  # pandas internals moved
            values = df.iloc[:, i]._values
        write_values(enc, h, values)
    return h


# ---------------------------------------------------------------- sizes and shared memory


def nbytes_of(obj: Any) -> int:
    """Size of the data held by a numpy/pandas object (object arrays count their pointers;
    Arrow-backed data the whole of its buffers, whose ``nbytes`` takes 0.1 ms to work out)."""
    try:
        mgr = getattr(obj, "_mgr", None)
        if mgr is not None:  # a DataFrame or a Series
            return int(sum(map(_nbytes, mgr.arrays)))
        pd = sys.modules.get("pandas")
        if pd is not None and type(obj) is pd.Index:  # (a RangeIndex makes its _data)
            return _nbytes(obj._data)
        return _nbytes(obj)
    except Exception:
        return 0


def _nbytes(values: Any) -> int:
    arrow = getattr(values, "_pa_array", None)
    if arrow is not None:
        return int(arrow.get_total_buffer_size())
    return int(values.nbytes)


Span = tuple[int, int]
"""A byte range ``[start, stop)`` of process memory."""
NO_MEMORY: tuple[frozenset[int], tuple[Span, ...], tuple[Span, ...]] = (frozenset(), (), ())


def memory_of(obj: Any) -> tuple[frozenset[int], tuple[Span, ...] | None, tuple[Span, ...]]:
    """(ids of the objects that ultimately own the memory of numpy/pandas object ``obj``, the
    byte ranges of that memory), so a write through one view or alias can be matched with the
    others. Each numpy array counts with the whole extent of the last array of its ``.base``
    chain (a write through ``v.base`` is still a write through ``v``), a buffer exported by
    another object (``np.frombuffer``) with that object as a root too. The ranges are None
    when some memory cannot be located (an extension array of an unknown kind): the caller must
    then assume any write may reach ``obj``. Arrow-backed data's buffers come third: pandas
    never writes them in place, so a write through ``obj`` cannot reach them, but they may
    view a numpy array's memory (``pa.array(arr)`` does not copy) that a write through the
    array reaches."""
    np = sys.modules.get("numpy")
    if np is None:
        return NO_MEMORY
    if isinstance(obj, (np.generic, np.dtype)):
        return NO_MEMORY  # immutable values
    values: list[Any] = []
    if isinstance(obj, np.ndarray):
        values.append(obj)
        mask = getattr(obj, "_mask", None) if isinstance(obj, np.ma.MaskedArray) else None
        if isinstance(mask, np.ndarray):
            values.append(mask)
    else:
        try:
            if not _pandas_values(obj, values, sys.modules["pandas"]):
                return frozenset(), None, ()
        except Exception:
            return frozenset(), None, ()
    roots: set[int] = set()
    spans: list[Span] = []
    fixed: list[Span] = []
    i = 0
    while i < len(values):
        v = values[i]
        i += 1
        if isinstance(v, np.ndarray):
            _array_memory(v, np, roots, spans)
        elif hasattr(v, "_pa_array"):
            try:
                for chunk in v._pa_array.chunks:
                    for buf in chunk.buffers():
                        if buf is not None and buf.size:
                            fixed.append((buf.address, buf.address + buf.size))
            except Exception:
                return frozenset(roots), None, ()
        elif not _unpack(v, values, np):
            return frozenset(roots), None, ()
    return frozenset(roots), tuple(spans), tuple(fixed)


def _pandas_values(obj: Any, out: list[Any], pd: Any) -> bool:
    """Appends to ``out`` what holds the memory of pandas object ``obj``; False if unknown."""
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        out.extend(obj._mgr.arrays)
        out.append(obj.index)
        if isinstance(obj, pd.DataFrame):
            out.append(obj.columns)
        return True
    if isinstance(obj, (pd.Index, pd.api.extensions.ExtensionArray)):
        out.append(obj)
        return True
    return False


def _unpack(v: Any, out: list[Any], np: Any) -> bool:
    """Appends the parts of pandas container ``v`` (an Index or extension array) to ``out``."""
    pd = sys.modules["pandas"]
    if isinstance(v, pd.RangeIndex):
        return True
    if isinstance(v, pd.MultiIndex):
        out.extend(v.codes)
        out.extend(v.levels)
        return True
    if isinstance(v, pd.Index):
        out.append(v._values)
        return True
    if isinstance(v, pd.Categorical):
        out.append(v.codes)
        out.append(v.categories)
        return True
    found = False
    for attr in ("_ndarray", "_data", "_mask"):  # datetimes, periods, masked numbers...
        inner = getattr(v, attr, None)
        if isinstance(inner, np.ndarray):
            out.append(inner)
            found = True
    return found


def _array_memory(a: Any, np: Any, roots: set[int], spans: list[Span]) -> None:
    while isinstance(a.base, np.ndarray):
        a = a.base
    base = a.base
    if base is not None:  # a buffer exported by another object (bytes, bytearray, mmap, Arrow)
        roots.add(id(base))
        if isinstance(base, memoryview) and base.obj is not None:
            roots.add(id(base.obj))
    roots.add(id(a))
    if a.size == 0:
        return
    face = a.__array_interface__
    start = stop = face["data"][0]
    strides = face["strides"]
    if strides is None:
        spans.append((start, start + a.nbytes))
        return
    stop += a.itemsize
    for n, step in zip(a.shape, strides, strict=True):
        if step < 0:
            start += step * (n - 1)
        else:
            stop += step * (n - 1)
    spans.append((start, stop))


def overlaps(spans: tuple[Span, ...], starts: list[int], stops: list[int]) -> bool:
    """Whether a range of ``spans`` meets the sorted disjoint ranges ``zip(starts, stops)``."""
    n = len(stops)
    for lo, hi in spans:
        j = bisect_right(stops, lo)  # the first range ending after lo
        if j < n and starts[j] < hi:
            return True
    return False


def merged(spans: list[Span]) -> tuple[list[int], list[int]]:
    """``spans`` as sorted disjoint ranges: (starts, stops)."""
    starts: list[int] = []
    stops: list[int] = []
    for lo, hi in sorted(spans):
        if stops and lo <= stops[-1]:
            if hi > stops[-1]:
                stops[-1] = hi
        else:
            starts.append(lo)
            stops.append(hi)
    return starts, stops
