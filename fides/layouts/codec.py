"""Compile a layout description (model.Spec) into a codec: parse, render, check.

A line is cut according to its *shape*: the width variant of the fixed part (several only when a
field has `alt_lengths`, e.g. VIDHOSP V016 `nb_dmt`), the part (complet / restreint) and the count
of each repeated zone. Each shape is compiled once into absolute slices, then cached:

* `check` first runs a fast path: no control character (`str.isprintable`, or the reader's check of
  the whole block: `plain`), one precompiled regex over the whole line (digits where digits are
  due, real calendar dates, required fields not blank, no 'X' placeholder, enumerated values),
  then `set.issuperset` over the FINESS numbers already seen valid (a new one is validated once
  and remembered), the NIR key arithmetic and frozenset lookups for referential codes. Only when
  it fails is the line diagnosed field by field, which is what produces precise findings.
* `parse` runs a function generated for the fixed part and one per zone block: a dict display of
  slices, with parsed values taken from caches (values.py).
* `render` of a flat layout (B2 records) runs a generated function too (`_renderer`), and
  `Layout.keyword_renderer` compiles one that takes the fields as keyword arguments.
"""

from __future__ import annotations

import functools

import re
from datetime import date
from decimal import Decimal
from dataclasses import dataclass, replace
from operator import contains, itemgetter

from fides.errors import Finding
from fides.identifiers import finess_valid, nir_full_valid, nir_valid

from .model import PADDABLE, Field, LayoutError, Spec, Zone
from .values import DATE_PATTERNS, DATES, VALID_FINESS, Cache, EncodeError, converter, encode, is_digits, is_valid_date

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHAPES_MAX = 4096
_DATE_FORMS = {"D": "JJMMAAAA", "D6": "AAMMJJ", "D8": "AAAAMMJJ"}


class Record(dict):
    """A parsed line (a plain dict for consumers) that remembers how to be written back byte for
    byte when that is not the default: alternative width variant (`variant`), or a record that
    stops early (`length`: NOEMIE entity, control flow line). A right-trimmed line (FMT102) has no
    length: it renders padded to its full length, as it was checked."""

    __slots__ = ("variant", "length")


@dataclass(frozen=True)
class Item:
    """One field at its absolute place in a line of a given shape."""

    field: Field
    a: int  # 0-based start
    b: int  # 0-based end, exclusive
    prefix: str  # "DMT n°2 : " for a zone occurrence, "" in the fixed part


def _getter(items):
    """Callable line -> tuple of the items' raw texts (itemgetter over slices runs in C)."""
    if not items:
        return None
    if len(items) == 1:
        a, b = items[0].a, items[0].b
        return lambda line: (line[a:b],)
    return itemgetter(*[slice(it.a, it.b) for it in items])


_MEMO: dict = {}  # (type, length, decimals) -> Cache: value (an amount: its str) -> text
_MEMO_CLASS = {"N": int, "M": Decimal, **dict.fromkeys(DATES, date)}  # the class a memo is for


def _memo(f: Field) -> Cache:
    """Text of a number, amount or date, computed once per distinct value (an invoice's numbers
    recur in each of its records; dates and prices repeat a lot): a dict hit instead of range
    checks, Decimal arithmetic or date formatting. Only values of exactly the field type's class
    are looked up, since True == 1 == Decimal(1) hash alike; a value `encode` refuses is not
    remembered (EncodeError). An amount is looked up by its str, which gives the Decimal back
    exactly (sign, digits, exponent): hashing a new Decimal costs ~0.37 µs, its str ~0.04 µs, and
    a B2 invoice writes ~30 amounts."""
    key = (f.type, f.length, f.decimals or 0)
    memo = _MEMO.get(key)
    if memo is None:
        text = functools.partial(encode, *key)
        memo = _MEMO[key] = Cache((lambda raw: text(Decimal(raw))) if f.type == "M" else text)
    return memo


def _inline(f: Field, v: str, m: str):
    """Source of (condition on the value named `v`, its text) for a field's common case, or None;
    `m` names the field's memo."""
    if f.type == "A":  # as fast as a memo hit, and names are better not kept
        return f"{v}.__class__ is _str and _len({v}) <= {f.length}", f"{v}.ljust({f.length})"
    if f.type in _MEMO_CLASS:
        return f"{v}.__class__ is _{_MEMO_CLASS[f.type].__name__}", f"{m}[_str({v})]" if f.type == "M" else f"{m}[{v}]"
    return None


def _renderer(fields, if_none: dict[str, str], careful, keywords: bool):
    """Generated `render(*values)` for a flat layout (no zones, one width variant): the values of
    the fields in their order, each written inline in its common case; a value None writes
    `if_none[name]`. With `keywords`, `render(**values)` instead: each field is a keyword
    argument named as the field, None when left out.

    Why: B2 billing spends most of its time writing ~7.5 records of ~20 fields per invoice. What
    the inline code cannot write (too long, negative, too many decimals, out of range, a wrong
    type) raises in `encode` or the memo, and the whole record goes to `careful(values)`, the
    field-by-field path: same text, same errors naming the field. Every name the code uses but
    the arguments starts with '_', which no field name does (XSD): a field cannot hide one."""
    env: dict = {"_str": str, "_len": len, "_int": int, "_Decimal": Decimal, "_date": date,
                 "_EncodeError": EncodeError, "_TypeError": TypeError, "_careful": careful}
    pieces: list[str] = []  # source of the record: f-string parts, one JoinedStr
    args = [f.name if keywords else f"v{k}" for k, f in enumerate(fields)]
    for k, (f, v) in enumerate(zip(fields, args)):
        env[f"_t{k}"] = if_none[f.name]
        env[f"_e{k}"] = functools.partial(encode, f.type, f.length, f.decimals or 0)
        if f.type in _MEMO_CLASS:
            env[f"_m{k}"] = _memo(f)
        expr = f"_t{k} if {v} is None else _e{k}({v})"  # encode: same text as the careful path, or raises
        inline = _inline(f, v, f"_m{k}")
        if inline is not None:
            cond, text = inline
            expr = f"{text} if {cond} else {expr}"
        pieces.append("f'{" + expr + "}'")
    signature = ", ".join(f"{a}=None" for a in args) if keywords else ", ".join(args)
    src = (f"def render({'*, ' if keywords else ''}{signature}):\n    try:\n        return (\n            "
           + "\n            ".join(pieces)
           + "\n        )\n    except (_EncodeError, _TypeError):  # TypeError: a signaling NaN has no hash\n"
           + f"        return _careful(({', '.join(args)},))\n")
    exec(compile(src, f"<layout renderer {len(fields)} fields>", "exec"), env)  # names are XSD-checked
    return env["render"]


def _parser(fields, offset: bool):
    """Generated `parse(line[, o])` returning a dict display of the fields' values."""
    env: dict = {}
    parts = []
    for i, f in enumerate(fields):
        a, b = f.start - 1, f.end
        sl = f"line[o + {a}:o + {b}]" if offset else f"line[{a}:{b}]"
        conv = converter(f.type, f.decimals)
        if conv is None:
            parts.append(f"{f.name!r}: {sl}.rstrip(' ')")
        else:
            env[f"c{i}"] = conv
            parts.append(f"{f.name!r}: c{i}[{sl}]")
    src = f"def parse(line{', o' if offset else ''}):\n    return {{{', '.join(parts)}}}\n"
    exec(compile(src, f"<layout parser {len(fields)} fields>", "exec"), env)  # names are XSD-checked
    return env["parse"]


@functools.lru_cache(maxsize=None)
def _kept_parser(fields: tuple[Field, ...], keep: frozenset[str], offset: bool):
    """`_parser` of the fields named in `keep` only (compiled once, whatever the line's shape)."""
    return _parser(tuple(f for f in fields if f.name in keep), offset)


_tables: tuple = (None, {})  # (last refs object, {table: frozenset of stripped codes}), swapped whole


def _table(refs, name: str) -> frozenset[str] | None:
    """The codes of one referential table, stripped, or None when the caller gave no such table."""
    global _tables
    if refs is None or name not in refs:
        return None
    cache = _tables
    if cache[0] is not refs:
        cache = _tables = (refs, {})
    found = cache[1].get(name)
    if found is None:
        found = cache[1][name] = frozenset(str(c).strip() for c in refs[name])
    return found


def _finess_seen(raw: str) -> bool:
    """FINESS check with memory: valid numbers (as raw field text) join VALID_FINESS."""
    if raw in VALID_FINESS:
        return True
    if finess_valid(raw.rstrip(" ")):
        VALID_FINESS.add(raw)
        return True
    return False


def _is_placeholder(raw: str) -> bool:
    t = raw.rstrip(" ")
    return bool(t) and t.strip("X") == ""


class Variant:
    """The fixed part with one choice of field widths."""

    def __init__(self, index: int, fields: tuple[Field, ...], zones: tuple[Zone, ...], restreint: int | None):
        self.index = index
        self.fields = fields
        self.length = fields[-1].end
        by_name = {f.name: f for f in fields}
        self.counters = tuple(by_name[z.counter] for z in zones)
        self.parse_fixed = _parser(fields, False)
        self.restreint_fields = tuple(f for f in fields if restreint is not None and f.end <= restreint)
        self.parse_restreint = _parser(self.restreint_fields, False) if restreint is not None else None


def _variants(spec: Spec) -> list[tuple[Field, ...]]:
    """Fixed-part field tuples, primary widths first, then every alternative combination."""
    combos: list[list[int]] = [[]]
    for f in spec.fields:
        combos = [c + [w] for c in combos for w in (f.length, *f.alt_lengths)]
    out = []
    for widths in combos:
        pos, fields = 1, []
        for f, w in zip(spec.fields, widths):
            fields.append(f if (f.start, f.length) == (pos, w) else replace(f, start=pos, length=w))
            pos += w
        out.append(tuple(fields))
    return out


class Shape:
    """A layout compiled for one (variant, part, zone counts)."""

    def __init__(self, layout: "Layout", variant: Variant, part: str, counts: tuple[int, ...]):
        self.variant = variant
        self.part = part
        self.counts = counts
        if part == "restreint":
            fields, self.parse_fixed = variant.restreint_fields, variant.parse_restreint
        else:
            fields, self.parse_fixed = variant.fields, variant.parse_fixed
        self.fixed_fields = fields
        items = [Item(f, f.start - 1, f.end, "") for f in fields]
        o = fields[-1].end
        self._zones = []  # (zone, its blocks' starts)
        for z, n in zip(layout.zones if part == "complet" else (), counts):
            self._zones.append((z, range(o, o + n * z.length, z.length)))
            for i in range(n):
                items.extend(Item(f, o + f.start - 1, o + f.end, f"{z.name} n°{i + 1} : ") for f in z.fields)
                o += z.length
        self.expected = o
        self.zone_plan = [(z.name, layout._zone_parsers[z.name], starts) for z, starts in self._zones]
        self.items = tuple(items)
        # a shorter line may be padded only if everything missing is space-padded text or dates
        self.floor = 0 if layout.short == "absent" else max((it.b for it in items if it.field.type not in PADDABLE), default=0)
        self._subsets: dict = {}  # field names wanted -> (parse_fixed, zone plan)

    def parse(self, line: str, zones=None, fields=None) -> dict:
        parse_fixed, plan = self.parse_fixed, self.zone_plan
        if fields is not None:
            parse_fixed, plan = self._subsets.get(fields) or self._subset(fields)
        rec = parse_fixed(line)
        for name, zparse, starts in plan:
            if zones is None or name in zones:
                rec[name] = [zparse(line, o) for o in starts]
        return rec

    def _subset(self, fields: frozenset[str]):
        """(fixed-part parser, zone plan) cutting only the fields named `fields`."""
        found = self._subsets[fields] = (
            _kept_parser(self.fixed_fields, fields, False),
            [(z.name, _kept_parser(z.fields, fields, True), starts) for z, starts in self._zones])
        return found

    # --- fast path ------------------------------------------------------------------------
    @functools.cached_property
    def fast(self):
        """`fast(line, refs, plain=False)` (`_compile_fast_function`), compiled with the rest of the
        check on first use: a process that only parses lines (validation, billing and their
        helpers) never compiles the whole-line regexes (56 ms of a billing helper's start)."""
        self._compile_fast()
        return self._compile_fast_function()

    def _compile_fast(self) -> None:
        """One regex for the whole line (digits, real dates, required fields not blank, no 'X'
        where a placeholder is possible, enumerated values; text is any character: `fast` refuses
        the control characters first, in C, 1.2 µs a VIDHOSP line less than a character class per
        field), then what a regex cannot say: NIR and FINESS keys, referential codes."""
        its = self.items
        runs: list[list] = []  # [pattern, repeat]; consecutive simple classes are merged
        for it in its:
            f, n = it.field, it.field.length
            cls = full = None
            if f.values is not None:  # N fields may be enumerated too (entity numbers, months)
                alts = [re.escape(v.ljust(n)) for v in sorted(f.values) if len(v) <= n]
                full = "(?:" + "|".join(alts + ([" " * n] if f.required != "O" else [])) + ")"
            elif f.type in DATES:  # real dates only (the model keeps each at its format's length)
                full = DATE_PATTERNS[f.type] if f.required == "O" else f"(?:{DATE_PATTERNS[f.type]}| {{{n}}})"
            elif f.type != "A":  # a required one is never blank here (blank_if_unknown: diagnose decides)
                cls = "[0-9]" if f.required == "O" else None
                full = None if cls else f"(?:[0-9]{{{n}}}| {{{n}}})"
            else:  # control characters are refused before the regex (`fast`): any other is text here
                cls = "[^X]" if f.placeholder else "."
                if f.required == "O":
                    full, cls = f"(?! {{{n}}}){cls}{{{n}}}", None
            if cls is None:
                runs.append([full, 0])
            elif runs and runs[-1][0] == cls:
                runs[-1][1] += n
            else:
                runs.append([cls, n])
        self.template = re.compile("".join(p if k == 0 else f"{p}{{{k}}}" for p, k in runs), re.DOTALL).fullmatch
        at = {(it.prefix, it.field.name): it for it in its}
        self.spans = {key: (it.a, it.b) for key, it in at.items()}
        self.nir_items = tuple(it for it in its if it.field.check == "nir")
        self.beyond_template = tuple(it for it in its if it.field.check or (it.field.values is None and it.field.ref))
        nirs = []
        for it in its:
            if it.field.check == "nir":
                body = at.get((it.prefix, it.field.body)) or at.get(("", it.field.body)) if it.field.body else None
                if it.field.body is None:
                    nirs.append((it.a, it.b - 2, it.b))
                elif body is not None and body.b == it.a:  # body + key side by side, as everywhere today
                    nirs.append((body.a, body.b, it.b))
                elif body is not None:  # pragma: no cover - no such layout yet: let diagnose decide
                    nirs.append((None, None, None))
        self.nirs = tuple(nirs)
        fin = [it for it in its if it.field.check == "finess"]
        VALID_FINESS.update(" " * it.field.length for it in fin)
        self.g_finess = _getter(fin)
        self._codes = None

    def _codes_for(self, refs) -> tuple:
        """(refs, getter, allowed padded raw values) of the fields checked against `refs` tables,
        kept for the last `refs` object (the same mapping for a whole file)."""
        items, sets = [], []
        for it in self.items:
            f = it.field
            table = _table(refs, f.ref) if f.values is None and f.ref else None
            if table is not None:
                padded = {c.ljust(f.length) for c in table if len(c) <= f.length}
                if f.required != "O":
                    padded.add(" " * f.length)
                items.append(it)
                sets.append(frozenset(padded))
        self._codes = found = (refs, _getter(items), tuple(sets))  # one assignment: thread-safe
        return found

    def _compile_fast_function(self):
        """`fast(line, refs, plain=False)`: True only when the line has no finding at all
        (conservative: False sends it to diagnose); `plain`: the reader already knows the line has
        only characters str.isprintable accepts. Generated for the shape: each NIR key check
        written out with its slices, no loop nor attribute to look up (a VIDHOSP line has three)."""
        # isprintable (in C) refuses the control characters, and a few printable-looking ones
        # (NBSP, soft hyphen, C1 controls) that then go to diagnose, which accepts them
        src = ["if not (plain or line.isprintable()) or _template(line) is None:", "    return False"]
        for a, m, b in self.nirs:
            if a is None:  # pragma: no cover - body and key apart: no such layout yet, diagnose decides
                src.append("return False")
                break
            src += [f"key = line[{m}:{b}]",
                    "if key.isdigit() and key.isascii():",
                    f"    body = line[{a}:{m}]",
                    "    if not (body.isdigit() and body.isascii()) or 97 - int(body) % 97 != int(key):",
                    "        return False",
                    f"elif key.strip(' ') or line[{a}:{m}].strip(' '):",
                    "    return False"]
        if self.g_finess:  # numbers seen valid, or validated once and remembered
            src += ["numbers = _g_finess(line)",
                    "if not _VALID_FINESS.issuperset(numbers) and not all(map(_finess_seen, numbers)):",
                    "    return False"]
        src += ["if refs is not None:",
                "    codes = _shape._codes",
                "    if codes is None or codes[0] is not refs:",
                "        codes = _shape._codes_for(refs)",
                "    if codes[1] and not all(map(_contains, codes[2], codes[1](line))):",
                "        return False",
                "return True"]
        env = {"_template": self.template, "_g_finess": self.g_finess, "_VALID_FINESS": VALID_FINESS,
               "_finess_seen": _finess_seen, "_shape": self, "_contains": contains}
        code = "def fast(line, refs, plain=False):\n" + "".join(f"    {line}\n" for line in src)
        exec(compile(code, f"<layout fast path {len(self.items)} fields>", "exec"), env)
        return env["fast"]

    # --- slow path: every finding, field by field -------------------------------------------
    def diagnose(self, line: str, refs, line_no: int, sensitive: frozenset[str],
                 every_field: bool = False) -> list[Finding]:
        """Every finding of `line`. When the whole-line regex matches, only the fields it cannot
        judge (referential codes, keys) are looked at, unless `every_field` (the reference
        the tests compare against): measured 31 → 23 µs per bad VIDHOSP line."""
        out = _controls(line, line_no)
        self.fast  # noqa: B018 - compiles the check (template, spans…) if nothing did yet
        spans = self.spans

        def raw_of(prefix: str, name: str) -> str:
            at = spans.get((prefix, name)) or spans.get(("", name))
            return line[at[0] : at[1]] if at else ""

        def say(code: str, it: Item, text: str) -> None:
            out.append(Finding(code, f"{it.prefix}{it.field.label} : {text}", line_no, it.a + 1))

        def shown(f: Field, raw: str) -> str:
            return "valeur" if f.name in sensitive else f"« {raw.rstrip(' ')} »"  # never a NIR

        unknown = []
        for it in self.items if every_field or self.template(line) is None else self.beyond_template:
            f, raw = it.field, line[it.a : it.b]
            if f.placeholder and _is_placeholder(raw):
                unknown.append(it)
                continue
            if raw.strip(" ") == "":
                relaxed = f.blank_if_unknown and _is_placeholder(raw_of(it.prefix, f.blank_if_unknown))
                if f.required == "O" and not relaxed:
                    say(f.missing, it, f"champ obligatoire vide (positions {it.a + 1}-{it.b})")
                continue
            if f.type == "N" and not is_digits(raw):
                say("FMT003", it, f"{shown(f, raw)} n'est pas un nombre (positions {it.a + 1}-{it.b})")
                continue
            if f.type == "M" and not is_digits(raw):
                say("FMT010", it, f"montant {shown(f, raw)} invalide (chiffres sans virgule attendus, positions {it.a + 1}-{it.b})")
                continue
            if f.type in DATES and not is_valid_date(f.type, raw):
                say("FMT004", it, f"{shown(f, raw)} n'est pas une date réelle ({_DATE_FORMS[f.type]})")
                continue
            allowed = f.values if f.values is not None else (_table(refs, f.ref) if f.ref else None)
            if allowed is not None and raw.rstrip(" ") not in allowed:
                if f.values is None:
                    hint = f"absent du référentiel {f.ref}"
                else:
                    hint = "attendu : " + ", ".join(sorted(f.values)[:12]) + (", …" if len(f.values) > 12 else "")
                say("FMT006", it, f"code {shown(f, raw)} inconnu ({hint})")
            if f.check == "finess" and not _finess_seen(raw):
                say("FMT008", it, f"N° FINESS {shown(f, raw)} invalide (format ou clé)")
            if f.check == "nir" and not f.body and not nir_full_valid(raw):
                say("FMT007", it, "la clé ne correspond pas au numéro")
        skip = {(it.prefix, it.field.name) for it in unknown} | {("", it.field.name) for it in unknown}
        for it in self.nir_items:  # NIR key against its body, once both are known
            f = it.field
            if not f.body or (it.prefix, f.name) in skip or (it.prefix, f.body) in skip:
                continue
            body, key = raw_of(it.prefix, f.body), line[it.a : it.b]
            if (body.strip(" ") or key.strip(" ")) and not nir_valid(body, key):
                say("FMT007", it, "la clé ne correspond pas au NIR")
        if unknown:
            labels = ", ".join(f"{it.prefix}{it.field.label}" for it in unknown)
            out.append(Finding("FMT101", f"'X' = pas d'information : {labels}", line_no, unknown[0].a + 1))
        return out


def _controls(line: str, line_no: int) -> list[Finding]:
    """FMT014 for each control character (an embedded CR, LF, tab, EOF …)."""
    return [
        Finding("FMT014", f"caractère de contrôle (code {ord(m.group()):#04x}) en position {m.start() + 1}", line_no, m.start() + 1)
        for m in _CONTROL.finditer(line)
    ]


class Layout:
    """The compiled codec of one record layout (one XML <layout>)."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.name, self.flux, self.version, self.record = spec.name, spec.flux, spec.version, spec.record
        self.family, self.status, self.short = spec.family, spec.status, spec.short
        self.zones = spec.zones
        self.fields = spec.fields + tuple(f for z in spec.zones for f in z.fields)
        self.length = spec.length  # fixed part, primary widths
        self.restreint_length = spec.restreint
        self._zone_parsers = {z.name: _parser(z.fields, True) for z in spec.zones}
        self._variants = [Variant(i, fs, spec.zones, spec.restreint) for i, fs in enumerate(_variants(spec))]
        self._shapes: dict = {}
        # exact-length lines: (length, counters' text) -> shape, skipping the counter arithmetic
        counters = [c for v in self._variants for c in v.counters]
        self._span = (min(c.start for c in counters) - 1, max(c.end for c in counters)) if counters else (0, 0)
        self._exact: dict = {}
        self._known = frozenset(f.name for f in self.fields) | {z.name for z in spec.zones}
        r = spec.restreint
        self._complet_names = frozenset(f.name for f in self.fields if r is None or f.zone or f.end > r) | {z.name for z in spec.zones}
        bodies = {f.body for f in self.fields if f.check == "nir" and f.body}
        self._sensitive = frozenset(f.name for f in self.fields if f.check == "nir") | bodies

    def __repr__(self) -> str:
        return f"<Layout {self.name}>"

    # --- cutting ----------------------------------------------------------------------------
    def _shape(self, variant: int, part: str, counts: tuple[int, ...]) -> Shape:
        key = (variant, part, counts)
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) >= _SHAPES_MAX:
                self._shapes.clear()
            shape = self._shapes[key] = Shape(self, self._variants[variant], part, counts)
        return shape

    def _resolve(self, line: str, line_no: int):
        """(shape, line padded to the shape's length, original length if it was shorter)."""
        n = len(line)
        key = (n, line[self._span[0] : self._span[1]])
        hit = self._exact.get(key)
        if hit is not None:
            return hit, line, None
        found = self._cut(line, line_no)
        if found[2] is None:
            if len(self._exact) >= _SHAPES_MAX:
                self._exact.clear()
            self._exact[key] = found[0]
        return found

    def _cut(self, line: str, line_no: int):
        n = len(line)
        r = self.restreint_length
        if r is not None and n <= r:
            shape = self._shape(0, "restreint", ())
            if n == r:
                return shape, line, None
            if n >= shape.floor:
                return shape, line.ljust(r), n
            raise LayoutError(self._length_findings(line, line_no))
        padded = None
        for var in self._variants:
            counts = []
            for c in var.counters:
                raw = line[c.start - 1 : c.end]
                if len(raw) < c.length or not is_digits(raw):
                    break
                counts.append(int(raw))
            if len(counts) != len(self.zones):
                continue
            expected = var.length + sum(k * z.length for k, z in zip(counts, self.zones))
            if n == expected:
                return self._shape(var.index, "complet", tuple(counts)), line, None
            if n < expected and padded is None and n >= self._floor(var, counts, expected):
                padded = (self._shape(var.index, "complet", tuple(counts)), line.ljust(expected), n)
        if padded is not None:
            return padded
        raise LayoutError(self._length_findings(line, line_no))

    def _floor(self, var: Variant, counts: list[int], expected: int) -> int:
        """Shortest length a trimmed line of this shape may have: past the last digit field, and
        (so that a wrong counter never passes for trimmed blanks) inside the last block."""
        if self.short == "absent":
            return 0
        floor, o, last = max((f.end for f in var.fields if f.type not in PADDABLE), default=0), var.length, 0
        for z, k in zip(self.zones, counts):
            if k:
                last = z.length
                tail = max((f.end for f in z.fields if f.type not in PADDABLE), default=0)
                if tail:
                    floor = o + (k - 1) * z.length + tail
            o += k * z.length
        return max(floor, expected - last + 1) if last else floor

    def _length_findings(self, line: str, line_no: int) -> list[Finding]:
        n, var, r = len(line), self._variants[0], self.restreint_length
        what = f"{self.flux} {self.version}"
        out = _controls(line, line_no)
        if r is not None and n < var.length:
            msg = f"ligne de {n} caractères : ni restreinte ({r} au plus) ni complète ({var.length} et plus)"
            if n <= r:
                msg = f"ligne de {n} caractères, trop courte même pour la forme restreinte ({r})"
            return out + [Finding("FMT002", f"{what} : {msg}", line_no, 0)]
        if not self.zones or n < var.length:
            expected = var.length if not self.zones else f"{var.length} au moins"
            return out + [Finding("FMT002", f"{what} : ligne de {n} caractères, {expected} attendus", line_no, 0)]
        said, expected = [], var.length
        for c, z in zip(var.counters, self.zones):
            raw = line[c.start - 1 : c.end]
            if not is_digits(raw):
                return out + [Finding("FMT003", f"{c.label} : « {raw} » n'est pas un nombre, la ligne ne peut être découpée", line_no, c.start)]
            said.append(f"{int(raw)} bloc(s) {z.name} annoncé(s) ({c.name})")
            expected += int(raw) * z.length
        msg = f"{', '.join(said)} : {expected} caractères attendus, la ligne en a {n}"
        if not self._reachable(n):  # no count of blocks gives this length: the length is wrong
            return out + [Finding("FMT002", f"{what} : ligne de {n} caractères, aucune longueur possible ({msg})", line_no, 0)]
        return out + [Finding("FMT009", f"{what} : {msg}", line_no, var.counters[0].start)]

    def _reachable(self, n: int) -> bool:
        """True when fixed part + some whole numbers of blocks make `n` characters (any variant)."""
        blocks = [z.length for z in self.zones]
        for var in self._variants:
            rest = n - var.length
            if rest < 0 or rest > 200_000:  # far beyond any real line: a length error anyway
                continue
            can = [True] + [False] * rest  # can[k]: k characters are whole blocks
            for k in range(1, rest + 1):
                can[k] = any(b <= k and can[k - b] for b in blocks)
            if can[rest]:
                return True
        return False

    # --- API ---------------------------------------------------------------------------------
    def part(self, line: str) -> str:
        """'restreint' for a VIDHOSP line of the restreint length or shorter, else 'complet'."""
        return "restreint" if self.restreint_length is not None and len(line) <= self.restreint_length else "complet"

    def fits(self, line: str) -> int:
        """2 = the line has exactly one of this layout's lengths, 1 = it does once padded, 0 = no."""
        try:
            _, _, short = self._resolve(line, 0)
        except LayoutError:
            return 0
        return 2 if short is None else 1

    def parse(self, line: str, zones=None, fields: frozenset[str] | None = None) -> dict:
        """The line's values by field name, each repeated zone as a list of dicts; `zones`: the
        names of the zones wanted (None: all; the others are left out, not parsed); `fields`: a
        frozenset of the names of the fields wanted, in the fixed part and in the zones (None:
        all; the others are not cut, which is most of the time of a parse)."""
        shape, full, short = self._resolve(line, 0)
        rec = shape.parse(full, zones, fields)
        if shape.variant.index or self.short == "absent":
            rec = Record(rec)
            rec.variant = shape.variant.index
            if self.short == "absent":  # an entity that stops early keeps its length
                rec.length = len(line)
                for it in shape.items:
                    if it.a >= len(line) and (fields is None or it.field.name in fields):
                        rec[it.field.name] = None  # the record stopped before this field
        return rec

    def check(self, line: str, refs=None, line_no: int = 0, plain: bool = False) -> list[Finding]:
        """Every finding of `line`; `plain`: it is known to have only characters str.isprintable
        accepts (engine.process.read_blocks tells it for a whole block)."""
        known = self._exact.get((len(line), line[self._span[0] : self._span[1]]))
        if known is not None and known.part == "complet" and known.fast(line, refs, plain):
            return []  # the hot path: a known shape, nothing to say
        try:
            shape, full, short = self._resolve(line, line_no)
        except LayoutError as e:
            return e.findings
        pre = []
        if short is not None and self.short == "pad":
            pre.append(Finding("FMT102", f"ligne de {short} caractères complétée à {len(full)} par des espaces", line_no, short + 1))
        if shape.part == "restreint":
            pre.append(Finding("FMT103", f"forme restreinte (positions 1-{self.restreint_length}) : pas de partie FIDES ni de DMT", line_no, 0))
        tried = shape is known and shape.part == "complet" and full == line  # fast said no just above
        if not tried and shape.fast(full, refs, plain):  # padding adds spaces only
            return pre
        return pre + shape.diagnose(full, refs, line_no, self._sensitive)

    def render(self, rec) -> str:
        fast = self._fast_render
        if fast is not None and rec.__class__ is dict and not (rec.keys() - self._known):
            return fast(*map(rec.get, self._flat_names))
        return self._render_careful(rec)

    @functools.cached_property
    def _flat_names(self) -> tuple[str, ...] | None:
        """The field names of a flat layout (no zones, no restreint form, fixed length, one width
        variant: e.g. B2 records), the only kind with generated renderers; else None."""
        if self.zones or self.restreint_length is not None or self.short == "absent" or len(self._variants) != 1:
            return None
        return tuple(f.name for f in self._variants[0].fields)

    @functools.cached_property
    def _fast_render(self):
        names = self._flat_names
        if names is None:
            return None
        blank = {f.name: self._encode(f, None) for f in self._variants[0].fields}
        # careful gets a dict of every field: the same as `rec` here, where absent means None
        return _renderer(self._variants[0].fields, blank, lambda values: self._render_careful(dict(zip(names, values))),
                         keywords=False)

    def keyword_renderer(self, none: dict):
        """`render` of a flat layout (see `_flat_names`) compiled once as a function of keyword
        arguments, one per field, for a writer that calls it with literal keywords (no dict built
        per record): `keyword_renderer(none)(**values)` is `render(rec)` of the record `values`
        in which a field left out, or None, takes `none[name]` if there is one (else blank). Same
        text and same errors as `render`; an unknown field name is a TypeError. Compile once and
        keep it."""
        names = self._flat_names
        if names is None:
            raise TypeError(f"{self.name}: no keyword renderer for a layout with zones or variants")
        fields = self._variants[0].fields
        if_none = {f.name: self._encode(f, none.get(f.name)) for f in fields}
        return _renderer(fields, if_none, lambda values: self._render_careful(
            {n: none.get(n) if v is None else v for n, v in zip(names, values)}), keywords=True)

    def _render_careful(self, rec) -> str:
        var = self._variants[getattr(rec, "variant", 0)]
        unknown = rec.keys() - self._known
        if unknown:
            raise LayoutError([Finding("FMT002", f"{self.name} : champs inconnus {sorted(unknown)}")])
        restreint = self.restreint_length is not None and rec.keys().isdisjoint(self._complet_names)
        fields = var.restreint_fields if restreint else var.fields
        zones = () if restreint else self.zones
        counts = {z.counter: len(rec.get(z.name) or ()) for z in zones}
        out = []
        for f in fields:
            v = rec.get(f.name)
            if f.name in counts:
                if v is None:
                    v = counts[f.name]
                elif v != counts[f.name]:
                    raise LayoutError([Finding("FMT009", f"{f.label} = {v} mais {counts[f.name]} blocs fournis", 0, f.start)])
            out.append(self._encode(f, v))
        for z in zones:
            for block in rec.get(z.name) or ():
                extra = block.keys() - {f.name for f in z.fields}
                if extra:
                    raise LayoutError([Finding("FMT002", f"{self.name} zone {z.name} : champs inconnus {sorted(extra)}")])
                out.extend(self._encode(f, block.get(f.name)) for f in z.fields)
        text = "".join(out)
        length = getattr(rec, "length", None)
        if length is not None:
            return text[:length]
        if self.short == "absent":
            return text[: max((f.end for f in fields if rec.get(f.name) is not None), default=0)]
        return text

    def _encode(self, f: Field, value) -> str:
        try:
            return encode(f.type, f.length, f.decimals, value)
        except EncodeError as e:
            shown = "" if f.name in self._sensitive else f" {value!r}"
            raise LayoutError([Finding(e.code, f"{f.label} ({f.name}) :{shown} {e}", 0, f.start)]) from None
