"""The symbol table a formula is read against: variables with shapes and aliases, sizes,
functions.

A formula never contains a name the namespace does not know. Aliases are resolved while
reading, so ``W^(1)`` is the variable ``W1`` when ``W1`` is declared (and a power of ``W``
only when it is not), and ``λ`` is ``lam``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .ast import Dim, StaticShape
from .functions import BUILTINS, ELEMENTWISE, TRANSPOSE_FUNCTION
from .limits import DEFAULT_LIMITS, Limits

SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉"

#: Spellings that mean the same name: a declared name in a group gets the others as aliases.
GREEK_SPELLINGS: tuple[tuple[str, ...], ...] = (
    ("lam", "lambda", "λ"),
    ("phi", "φ", "ϕ"),
    ("alpha", "α"),
    ("beta", "β"),
    ("gamma", "γ"),
    ("delta", "δ"),
    ("eps", "epsilon", "ε", "ϵ"),
    ("eta", "η"),
    ("theta", "θ"),
    ("mu", "μ"),
    ("sigma", "σ"),
    ("tau", "τ"),
    ("omega", "ω"),
)

_INDEXED = re.compile(r"^([^\W\d_]+)_?(\d+)$")

Functions = Mapping[str, int | tuple[int, int] | None]


def index_spellings(name: str) -> list[str]:
    """Return the indexed spellings of a name like ``W1`` (``W_1``, ``W_{1}``, ``W^(1)``,
    ``W^{(1)}``, ``W⁽¹⁾``, ``W₁``), or an empty list for a name without an index."""
    match = _INDEXED.match(name)
    if not match:
        return []
    base, index = match.groups()
    sup = index.translate(str.maketrans("0123456789", SUPERSCRIPT_DIGITS))
    sub = index.translate(str.maketrans("0123456789", SUBSCRIPT_DIGITS))
    return [
        f"{base}{index}",
        f"{base}_{index}",
        f"{base}_{{{index}}}",
        f"{base}^({index})",
        f"{base}^{{({index})}}",
        f"{base}⁽{sup}⁾",
        f"{base}{sub}",
    ]


def _greek_group(spelling: str) -> tuple[str, ...]:
    for group in GREEK_SPELLINGS:
        if spelling in group:
            return group
    return (spelling,)


def _spellings(name: str, explicit: Iterable[str]) -> list[str]:
    """Every spelling of ``name``: explicit aliases, Greek/ASCII twins and index forms."""
    words = [name, *explicit]
    for word in list(words):
        words.extend(_greek_group(word))
    result: list[str] = []
    for word in words:
        result.append(word)
        result.extend(index_spellings(word))
    return list(dict.fromkeys(result))


def normalize_shape(shape: Sequence[Dim] | None) -> StaticShape | None:
    """Turn a declared shape into a value shape: ``[]`` scalar, ``[d]`` the column
    ``(d, 1)``, ``[m, n]`` a matrix; None stays unknown."""
    if shape is None:
        return None
    dims = tuple(shape)
    if len(dims) > 2:
        raise ValueError(f"shapes have at most two dimensions, got {list(dims)}")
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, str | int):
            raise ValueError(f"a dimension is a size name or a positive integer, got {dim!r}")
        if isinstance(dim, int) and dim < 1:
            raise ValueError(f"a dimension must be positive, got {dim}")
    return (dims[0], 1) if len(dims) == 1 else dims


@dataclass(frozen=True, eq=False)
class Namespace:
    """The names a formula may use.

    ``variables`` maps each canonical name to its declared shape (``[]``, ``["d"]``,
    ``["h", "d"]`` or None if unknown); ``aliases`` maps a canonical name to extra
    spellings; ``sizes`` are the size names (``d h q``) that ``ones``/``eye`` accept and
    that shape messages use; ``functions`` declares caller-implemented functions with their
    number of arguments (an int, a ``(min, max)`` pair or None for any); ``activations`` are
    caller-bound elementwise functions with a derivative (``phi``, so ``phi'(z)`` and
    ``dphi(z)`` are accepted); ``builtins`` restricts the built-in functions (default all);
    ``identity`` is the size a bare ``I`` stands for (``I`` reads as ``eye(identity)``; ``I_q``
    works whenever ``q`` is a size); ``letter_products`` reads an unknown word made of
    single-letter variables as their product (``hn`` is ``h n``, for counts over sizes).

    Raises ValueError when two declarations claim the same spelling.
    """

    variables: Mapping[str, Sequence[Dim] | None] = field(default_factory=dict)
    aliases: Mapping[str, Sequence[str]] = field(default_factory=dict)
    sizes: Sequence[str] = ()
    functions: Functions = field(default_factory=dict)
    activations: Sequence[str] = ()
    builtins: Sequence[str] | None = None
    limits: Limits = DEFAULT_LIMITS
    identity: str | None = None
    letter_products: bool = False
    _shapes: dict[str, StaticShape | None] = field(init=False, repr=False, compare=False)
    _spelling: dict[str, str] = field(init=False, repr=False, compare=False)
    _function_spelling: dict[str, str] = field(init=False, repr=False, compare=False)
    _arity: dict[str, tuple[int, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shapes = {name: normalize_shape(shape) for name, shape in self.variables.items()}
        builtins = set(BUILTINS) if self.builtins is None else set(self.builtins)
        unknown = builtins - set(BUILTINS)
        if unknown:
            raise ValueError(f"not built-in functions: {sorted(unknown)}")
        arity: dict[str, tuple[int, int]] = {
            n: (BUILTINS[n].min_args, BUILTINS[n].max_args) for n in builtins
        }
        for name, spec in self.functions.items():
            if spec is None:
                arity[name] = (1, 16)
            elif isinstance(spec, int):
                arity[name] = (spec, spec)
            else:
                arity[name] = (int(spec[0]), int(spec[1]))
        for name in self.activations:
            arity[name] = (1, 1)
        for name in [*shapes, *arity, *self.sizes]:
            if not re.fullmatch(r"[^\W\d_][^\W_]*(_[^\W_]+)*", name):
                raise ValueError(f"{name!r} is not a valid name")
        clash = (set(shapes) & set(arity)) | {TRANSPOSE_FUNCTION} & (set(shapes) | set(arity))
        if clash:
            raise ValueError(f"names declared both as variables and functions: {sorted(clash)}")
        spelling = self._claim(shapes, self.aliases)
        arity[TRANSPOSE_FUNCTION] = (1, 1)
        function_spelling = self._claim(arity, {})
        object.__setattr__(self, "_shapes", shapes)
        object.__setattr__(self, "_spelling", spelling)
        object.__setattr__(self, "_function_spelling", function_spelling)
        object.__setattr__(self, "_arity", arity)

    @staticmethod
    def _claim(names: Iterable[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
        """Map each spelling to its canonical name: canonical names first, then explicit
        aliases, then automatic ones; an automatic spelling two names claim is dropped."""
        names = list(names)
        table: dict[str, str] = {name: name for name in names}
        for name, extra in aliases.items():
            if name not in table:
                raise ValueError(f"aliases given for undeclared name {name!r}")
            for alias in extra:
                if table.get(alias, name) != name:
                    raise ValueError(f"alias {alias!r} claimed by {table[alias]!r} and {name!r}")
                table[alias] = name
        automatic: dict[str, set[str]] = {}
        for name in names:
            for word in _spellings(name, aliases.get(name, ())):
                automatic.setdefault(word, set()).add(name)
        for word, owners in automatic.items():
            if word not in table and len(owners) == 1:
                table[word] = owners.pop()
        return table

    # -- lookups used while reading a formula -------------------------------------------

    def resolve_variable(self, spelling: str) -> str | None:
        """Return the canonical variable a spelling denotes, or None."""
        return self._spelling.get(spelling)

    def resolve_function(self, spelling: str) -> str | None:
        """Return the canonical function a spelling denotes (``φ`` -> ``phi``), or None."""
        return self._function_spelling.get(spelling)

    def resolve_size(self, spelling: str) -> str | None:
        """Return the size name a spelling denotes, or None."""
        return spelling if spelling in self.sizes else None

    def shape_of(self, name: str) -> StaticShape | None:
        """Return the declared shape of a canonical variable ((d, 1) for a vector)."""
        return self._shapes.get(name)

    def arity(self, function: str) -> tuple[int, int]:
        """Return (min, max) argument counts of a known function."""
        return self._arity[function]

    def has_derivative(self, function: str) -> bool:
        """True if ``function'(x)`` is meaningful: an activation or elementwise built-in."""
        return function in self.activations or (function in ELEMENTWISE and function in self._arity)

    def is_builtin(self, function: str) -> bool:
        """True if the evaluator implements ``function`` itself."""
        return function in BUILTINS and function not in self.functions and function in self._arity

    @property
    def variable_names(self) -> tuple[str, ...]:
        """The canonical variable names, sorted."""
        return tuple(sorted(self._shapes, key=str.lower))

    @property
    def function_names(self) -> tuple[str, ...]:
        """The functions a formula may call, sorted (``transpose`` included)."""
        return tuple(sorted(self._arity))

    def with_variables(self, variables: Mapping[str, Sequence[Dim] | None]) -> Namespace:
        """Return a namespace that also knows ``variables`` (e.g. earlier parts' answers)."""
        return Namespace(
            variables={**self.variables, **variables},
            aliases=self.aliases,
            sizes=self.sizes,
            functions=self.functions,
            activations=self.activations,
            builtins=self.builtins,
            limits=self.limits,
            identity=self.identity,
            letter_products=self.letter_products,
        )

    @classmethod
    def chapter(cls, limits: Limits = DEFAULT_LIMITS) -> Namespace:
        """The chapter's model: inputs, parameters, model quantities, sizes d, h, q, the
        activation ``phi``, the loss ``l(o, y)`` and the instructor calls ``grad``,
        ``hessian`` and ``hvp``."""
        return cls(
            variables={
                "x": ["d"],
                "y": ["q"],
                "W1": ["h", "d"],
                "b1": ["h"],
                "W2": ["q", "h"],
                "b2": ["q"],
                "lam": [],
                "z": ["h"],
                "h": ["h"],
                "o": ["q"],
                "L": [],
                "s": [],
                "J": [],
            },
            sizes=("d", "h", "q"),
            functions={"l": 2, "grad": 2, "hessian": 2, "hvp": 3},
            activations=("phi",),
            limits=limits,
        )
