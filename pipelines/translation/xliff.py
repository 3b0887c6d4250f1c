"""XLIFF 2.1 and 1.2 documents for a job's translation units, and reading translated ones back.

XLIFF 2.1 (the default): core namespace ``urn:oasis:names:tc:xliff:document:2.0`` with
``version="2.1"``; a group ``subtitles`` with one unit per cue, a group ``captions`` with one
per burned-in caption and a group ``screen`` with one unit per distinct on-screen text; each unit has notes for the translator and its length limit
as ``slr:sizeRestriction`` under the file's ``xliff:codepoints`` profile (NFC): the Size and
Length Restriction module. Times, scene and place are also given as Metadata module entries
(``mda:metaGroup category="lessonlens"``) for tools that read them.

XLIFF 1.2 (``version="1.2"``, for older tools): ``trans-unit`` elements with
``maxwidth`` and ``size-unit="char"``, notes, and a ``context-group`` with the times.

Both carry the job in the file's ``original`` attribute, so a file exported from another job is
recognised on the way back. Reading accepts either version, whatever a CAT tool added around
our units (other namespaces, inline codes in targets: their text is kept, a line break's code
separates the words it stands between).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from pipelines.exceptions import TranslationFileError, UnitProblem
from pipelines.translation.units import TranslationDocument, TranslationUnit

XliffVersion = Literal["2.1", "1.2"]
VERSIONS: tuple[XliffVersion, ...] = ("2.1", "1.2")
NS2 = "urn:oasis:names:tc:xliff:document:2.0"
NS12 = "urn:oasis:names:tc:xliff:document:1.2"
SLR = "urn:oasis:names:tc:xliff:sizerestriction:2.0"
MDA = "urn:oasis:names:tc:xliff:metadata:2.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
_SCHEMA_FILES = {"2.1": "xliff_2.1.xsd", "1.2": "xliff_core_1.2.xsd"}
GROUP_NAMES = {"cue": "subtitles", "caption": "captions", "screen": "screen"}


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _meta(unit: TranslationUnit) -> list[tuple[str, str]]:
    out = [("kind", unit.kind), ("start", f"{unit.start:.3f}"), ("end", f"{unit.end:.3f}")]
    if unit.scene is not None:
        out.append(("scene", str(unit.scene)))
    if unit.box is not None:
        out.append(("box", ",".join(f"{v:.4f}" for v in unit.box)))
    if unit.limit.max_lines is not None:
        out += [("max_lines", str(unit.limit.max_lines)), ("max_line_chars", str(unit.limit.max_line_chars))]
    if unit.limit.max_words is not None:
        out.append(("max_words", str(unit.limit.max_words)))
    return out


def _units_by_group(doc: TranslationDocument) -> Iterator[tuple[str, list[TranslationUnit]]]:
    for kind, name in GROUP_NAMES.items():
        units = [u for u in doc.units if u.kind == kind]
        if units:
            yield name, units


def _write_21(doc: TranslationDocument, targets: Mapping[str, str]) -> etree._Element:
    root = etree.Element(_q(NS2, "xliff"), nsmap={None: NS2, "slr": SLR, "mda": MDA})
    root.set("version", "2.1")
    root.set("srcLang", doc.source_language)
    if doc.target_language:
        root.set("trgLang", doc.target_language)
    file = etree.SubElement(root, _q(NS2, "file"), id=f"job-{doc.job_id}", original=doc.original,
                            canResegment="no")
    profiles = etree.SubElement(file, _q(SLR, "profiles"), generalProfile="xliff:codepoints")
    etree.SubElement(profiles, _q(SLR, "normalization"), general="nfc")
    notes = etree.SubElement(file, _q(NS2, "notes"))
    etree.SubElement(notes, _q(NS2, "note"), category="lessonlens").text = (
        f"Exported by lessonlens from job {doc.job_id} (subtitle profile {doc.profile}). Length "
        "limits (slr:sizeRestriction) count characters; a target over its limit is shortened on "
        "import, so keep within it to keep your wording.")
    for name, units in _units_by_group(doc):
        group = etree.SubElement(file, _q(NS2, "group"), id=name, name=name)
        for unit in units:
            el = etree.SubElement(group, _q(NS2, "unit"), id=unit.id)
            if not unit.translate:
                el.set("translate", "no")
            el.set(_q(SLR, "sizeRestriction"), str(unit.limit.max_chars))
            metadata = etree.SubElement(el, _q(MDA, "metadata"))
            meta_group = etree.SubElement(metadata, _q(MDA, "metaGroup"), category="lessonlens")
            for key, value in _meta(unit):
                etree.SubElement(meta_group, _q(MDA, "meta"), type=key).text = value
            unit_notes = etree.SubElement(el, _q(NS2, "notes"))
            for note in unit.notes:
                etree.SubElement(unit_notes, _q(NS2, "note"), category=note.category).text = note.text
            target = targets.get(unit.id)
            segment = etree.SubElement(el, _q(NS2, "segment"), state="translated" if target else "initial")
            etree.SubElement(segment, _q(NS2, "source")).text = unit.source
            if target:
                etree.SubElement(segment, _q(NS2, "target")).text = target
    return root


def _write_12(doc: TranslationDocument, targets: Mapping[str, str]) -> etree._Element:
    root = etree.Element(_q(NS12, "xliff"), nsmap={None: NS12})
    root.set("version", "1.2")
    file = etree.SubElement(root, _q(NS12, "file"), original=doc.original, datatype="plaintext")
    file.set("source-language", doc.source_language)
    if doc.target_language:
        file.set("target-language", doc.target_language)
    file.set("product-name", "lessonlens")
    header = etree.SubElement(file, _q(NS12, "header"))
    etree.SubElement(header, _q(NS12, "tool"), {"tool-id": "lessonlens", "tool-name": "lessonlens"})
    etree.SubElement(header, _q(NS12, "note"), {"from": "lessonlens"}).text = (
        f"Exported from job {doc.job_id} (subtitle profile {doc.profile}). maxwidth counts characters.")
    body = etree.SubElement(file, _q(NS12, "body"))
    for name, units in _units_by_group(doc):
        group = etree.SubElement(body, _q(NS12, "group"), id=name, resname=name)
        for unit in units:
            el = etree.SubElement(group, _q(NS12, "trans-unit"), id=unit.id)
            if not unit.translate:
                el.set("translate", "no")
            el.set("maxwidth", str(unit.limit.max_chars))
            el.set("size-unit", "char")
            etree.SubElement(el, _q(NS12, "source")).text = unit.source
            target = targets.get(unit.id)
            if target:
                etree.SubElement(el, _q(NS12, "target"), state="translated").text = target
            context = etree.SubElement(el, _q(NS12, "context-group"), name="lessonlens", purpose="information")
            for key, value in _meta(unit):
                etree.SubElement(context, _q(NS12, "context"), {"context-type": f"x-{key}"}).text = value
            for note in unit.notes:
                etree.SubElement(el, _q(NS12, "note"), {"from": f"lessonlens:{note.category}"}).text = note.text
    return root


def write_xliff(doc: TranslationDocument, version: XliffVersion = "2.1",
                targets: Mapping[str, str] | None = None) -> bytes:
    """The XLIFF document (UTF-8 bytes) for ``doc``; ``targets`` (unit id -> text) pre-fills targets."""
    if version not in VERSIONS:
        raise ValueError(f"XLIFF version must be one of {', '.join(VERSIONS)}, not {version!r}")
    root = (_write_21 if version == "2.1" else _write_12)(doc, targets or {})
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@lru_cache(maxsize=2)
def _schema(version: XliffVersion) -> Any:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / _SCHEMA_FILES[version])))


def schema_errors(data: bytes, version: XliffVersion) -> list[str]:
    """Schema violations of an XLIFF document (empty when valid), with line numbers."""
    schema = _schema(version)
    root = _parse(data)
    if schema.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


# ---------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ReadUnit:
    """A unit as a translated file has it: source, target (None when absent), whether to translate,
    and the times the file gives it, in seconds (None where it gives none)."""

    id: str
    source: str
    target: str | None
    translate: bool = True
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class TranslatedFile:
    """A translated file, read: its format, the job it names, its languages and its units in order."""

    format: str
    original: str | None
    source_language: str | None
    target_language: str | None
    units: tuple[ReadUnit, ...]


def _parse(data: bytes) -> Any:
    # No DTDs, entities or network: a translated file comes from outside.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        raise TranslationFileError(
            f"The file is not well-formed XML ({err}); send the XLIFF file your tool exported.",
            (UnitProblem(None, f"not well-formed XML: {err}"),)) from None


_CODE_TEXT = {"ph", "sc", "ec", "sm", "em", "x", "bx", "ex"}  # placeholders: their equiv text, if any
_NATIVE_CODE = {"bpt", "ept", "it"}  # XLIFF 1.2 native code: not text
# A code standing for a line break: XLIFF 2 ``subType="xlf:lb"``, XLIFF 1.2 ``ctype="lb"``, or one
# whose text equivalent, display text or (1.2) native code is a break. CAT tools write
# ``<ph id="1" disp="\n"/>`` (a backslash and an n), ``equiv="&#10;"``, ``<ph id="1">&lt;br/&gt;</ph>``.
_LINE_BREAK_TYPES = {"xlf:lb", "lb"}
_LINE_BREAK_TEXTS = {"\n", "\r\n", "\r", "\\n", "\\r\\n", "<br>", "<br/>", "<br />", "\u2028", "\u21b5"}


def _is_line_break(code: Any) -> bool:
    if code.get("subType") in _LINE_BREAK_TYPES or code.get("ctype") in _LINE_BREAK_TYPES:
        return True
    texts = (code.get("equiv"), code.get("equiv-text"), code.get("disp"), code.text)
    return any(t is not None and t.strip(" \t").lower() in _LINE_BREAK_TEXTS for t in texts)


def _text(el: Any) -> str:
    """The plain text of a source or target, inline codes included as the text they stand for (a
    line break's code as a space: the import breaks the lines to fit the slot)."""
    parts = [el.text or ""]
    for child in el:
        tag = etree.QName(child).localname if isinstance(child.tag, str) else ""
        if tag == "cp":
            with contextlib.suppress(ValueError):  # a malformed code point is left out
                parts.append(chr(int(child.get("hex", ""), 16)))
        elif tag in _CODE_TEXT | _NATIVE_CODE and _is_line_break(child):
            parts.append("\n")
        elif tag in _CODE_TEXT:
            parts.append(child.get("equiv") or child.get("equiv-text") or "")
        elif tag in _NATIVE_CODE:
            pass
        else:  # pc, mrk, g, sub: their content is text
            parts.append(_text(child))
        parts.append(child.tail or "")
    # XML whitespace collapses; a no-break space (French "Speichern\u00a0!") is the translator's.
    return unicodedata.normalize("NFC", re.sub(r"[ \t\r\n]+", " ", "".join(parts)).strip())


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _times(entries: dict[str, str]) -> tuple[float | None, float | None]:
    return _seconds(entries.get("start")), _seconds(entries.get("end"))


def _read_21(root: Any) -> TranslatedFile:
    units: list[ReadUnit] = []
    files = root.findall(_q(NS2, "file"))
    for unit in root.iter(_q(NS2, "unit")):
        parts = [p for p in unit if p.tag in (_q(NS2, "segment"), _q(NS2, "ignorable"))]
        sources = [_text(p.find(_q(NS2, "source"))) for p in parts if p.find(_q(NS2, "source")) is not None]
        targets = [p.find(_q(NS2, "target")) for p in parts]
        target = None
        if any(t is not None for t in targets):
            target = " ".join(_text(t) for t in targets if t is not None).strip()
        translate = unit.get("translate", "yes") != "no"
        groups = unit.iterfind(f"{_q(MDA, 'metadata')}/{_q(MDA, 'metaGroup')}")
        meta = {m.get("type", ""): (m.text or "").strip() for g in groups if g.get("category") == "lessonlens"
                for m in g.iterfind(_q(MDA, "meta"))}
        units.append(ReadUnit(unit.get("id", ""), " ".join(sources).strip(), target, translate, *_times(meta)))
    return TranslatedFile(
        format=f"xliff-{root.get('version', '2')}",
        original=files[0].get("original") if files else None,
        source_language=root.get("srcLang"),
        target_language=root.get("trgLang"),
        units=tuple(units),
    )


def _read_12(root: Any) -> TranslatedFile:
    units: list[ReadUnit] = []
    files = root.findall(_q(NS12, "file"))
    file = files[0] if files else None
    for tu in root.iter(_q(NS12, "trans-unit")):
        source, target = tu.find(_q(NS12, "source")), tu.find(_q(NS12, "target"))
        context = {c.get("context-type", "").removeprefix("x-"): (c.text or "").strip()
                   for g in tu.iterfind(_q(NS12, "context-group")) if g.get("name") == "lessonlens"
                   for c in g.iterfind(_q(NS12, "context"))}
        units.append(ReadUnit(tu.get("id", ""), _text(source) if source is not None else "",
                              _text(target) if target is not None else None, tu.get("translate", "yes") != "no",
                              *_times(context)))
    target_language = file.get("target-language") if file is not None else None
    if target_language is None:
        langs = {t.get(_q(XML_NS, "lang")) for t in root.iter(_q(NS12, "target"))} - {None}
        target_language = langs.pop() if len(langs) == 1 else None
    return TranslatedFile(
        format="xliff-1.2",
        original=file.get("original") if file is not None else None,
        source_language=file.get("source-language") if file is not None else None,
        target_language=target_language,
        units=tuple(units),
    )


def read_xliff(data: bytes) -> TranslatedFile:
    """Read a translated XLIFF 2.x or 1.2 file.

    Raises:
        TranslationFileError: not well-formed XML, or XML that is not XLIFF 1.2 or 2.x.
    """
    root = _parse(data)
    tag = etree.QName(root)
    if tag.localname != "xliff" or tag.namespace not in (NS2, NS12):
        found = f"<{tag.localname}>" + (f" in namespace {tag.namespace}" if tag.namespace else "")
        raise TranslationFileError(
            f"The file is XML but not XLIFF 1.2 or 2.x (its root is {found}); send the XLIFF file "
            "exported by lessonlens, translated.", (UnitProblem(None, f"not XLIFF: root is {found}"),))
    return _read_21(root) if tag.namespace == NS2 else _read_12(root)
