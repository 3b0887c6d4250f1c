"""XLIFF 2.1 and 1.2 exports: valid against the schemas, read back by translate-toolkit."""

from __future__ import annotations

import pytest
import xmlschema
from lxml import etree
from translate.storage import xliff as tt_xliff1
from translate.storage import xliff2 as tt_xliff2

from pipelines.exceptions import TranslationFileError
from pipelines.translation.units import TranslationDocument
from pipelines.translation.xliff import (
    NS2,
    NS12,
    SCHEMAS,
    SLR,
    read_xliff,
    schema_errors,
    write_xliff,
)
from tests.pipelines.translation.conftest import make_doc

SCHEMA_FILES = {"2.1": "xliff_2.1.xsd", "1.2": "xliff_core_1.2.xsd"}


@pytest.mark.parametrize("version", ["2.1", "1.2"])
def test_exports_are_valid_for_lxml_and_xmlschema(doc: TranslationDocument, version: str) -> None:
    data = write_xliff(doc, version)  # type: ignore[arg-type]
    assert schema_errors(data, version) == []  # type: ignore[arg-type]
    # A second, independent validator (pure Python) on the same schemas.
    xmlschema.XMLSchema10(str(SCHEMAS / SCHEMA_FILES[version])).validate(data.decode())


@pytest.mark.parametrize(("change", "expected"), [
    (lambda x: x.replace(b'slr:sizeRestriction="50"', b'slr:sizeRestriction="fifty"'), "sizeRestriction"),
    (lambda x: x.replace(b' srcLang="en"', b""), "srcLang"),
    (lambda x: x.replace(b'state="initial"', b'state="done"'), "state"),
    (lambda x: x.replace(b"<notes>", b"<notes><bogus/>", 1), "bogus"),
])
def test_the_schema_catches_broken_documents(doc: TranslationDocument, change, expected: str) -> None:  # type: ignore[no-untyped-def]
    data = write_xliff(doc, "2.1")
    assert b'slr:sizeRestriction="50"' in data  # cue 2: 3.0 s at 20 characters a second
    errors = schema_errors(change(data), "2.1")
    assert errors and expected in " ".join(errors)


def test_ids_are_stable_and_limits_are_standard_size_restrictions(doc: TranslationDocument) -> None:
    first, again = write_xliff(doc, "2.1"), write_xliff(make_doc(), "2.1")
    assert first == again
    root = etree.fromstring(first)
    units = root.findall(f".//{{{NS2}}}unit")
    assert [u.get("id") for u in units][:4] == ["cue-0001", "cue-0002", "cue-0003", "cue-0004"]
    assert [u.get(f"{{{SLR}}}sizeRestriction") for u in units][:4] == ["50", "60", "20", "20"]
    profiles = root.find(f".//{{{SLR}}}profiles")
    assert profiles is not None and profiles.get("generalProfile") == "xliff:codepoints"
    old = etree.fromstring(write_xliff(doc, "1.2"))
    tu = old.find(f".//{{{NS12}}}trans-unit")
    assert tu is not None and (tu.get("id"), tu.get("maxwidth"), tu.get("size-unit")) == ("cue-0001", "50", "char")
    assert old.find(f".//{{{NS12}}}file").get("target-language") == "de"  # type: ignore[union-attr]


def test_translate_toolkit_reads_back_the_same_segments(doc: TranslationDocument) -> None:
    store = tt_xliff2.Xliff2File.parsestring(write_xliff(doc, "2.1"))
    units = [u for u in store.units if not u.isheader()]
    assert [(u.getid(), u.source) for u in units] == [(u.id, u.source) for u in doc.units]
    assert (store.getsourcelanguage(), store.gettargetlanguage()) == ("en", "de")

    old = tt_xliff1.xlifffile.parsestring(write_xliff(doc, "1.2"))
    units1 = [u for u in old.units if not u.isheader()]
    # translate-toolkit prefixes 1.2 ids with the file's name ("original"), separated by \x04.
    assert [(u.getid().split("\x04")[-1], u.source) for u in units1] == [(u.id, u.source) for u in doc.units]
    assert "00:03.20 - 00:06.20" in units1[1].getnotes()
    assert (old.getsourcelanguage(), old.gettargetlanguage()) == ("en", "de")


@pytest.mark.parametrize("version", ["2.1", "1.2"])
def test_a_file_translated_with_translate_toolkit_is_read_and_still_valid(
        doc: TranslationDocument, version: str) -> None:
    data = write_xliff(doc, version)  # type: ignore[arg-type]
    store = (tt_xliff2.Xliff2File if version == "2.1" else tt_xliff1.xlifffile).parsestring(data)
    for unit in store.units:
        if not unit.isheader():
            unit.target = f"DE {unit.source}"
    translated = bytes(store)
    assert schema_errors(translated, version) == []  # type: ignore[arg-type]
    read = read_xliff(translated)
    assert read.original == doc.original and read.target_language == "de"
    assert {u.id: u.target for u in read.units} == {u.id: f"DE {u.source}" for u in doc.units}


def test_inline_codes_in_a_target_keep_their_text(doc: TranslationDocument) -> None:
    data = write_xliff(doc, "2.1", targets={"cue-0003": "X"}).replace(
        b"<target>X</target>",
        b'<target>Klicken Sie auf <pc id="1">Speichern</pc><cp hex="00A0"/><ph id="2" equiv="!"/></target>')
    assert schema_errors(data, "2.1") == []
    read = {u.id: u for u in read_xliff(data).units}
    assert read["cue-0003"].target == "Klicken Sie auf Speichern\u00a0!"
    assert read["cue-0001"].target is None


@pytest.mark.parametrize(("version", "code"), [
    ("2.1", b'<ph id="1" disp="\\n"/>'),  # as a CAT tool wrote it: a backslash and an n
    ("2.1", b'<ph id="1" type="fmt" subType="xlf:lb"/>'),
    ("2.1", b'<ph id="1" equiv="&#10;"/>'),
    ("1.2", b'<x id="1" ctype="lb"/>'),
    ("1.2", b'<ph id="1">&lt;br/&gt;</ph>'),
    ("1.2", b'<x id="1" equiv-text="&#10;"/>'),
])
def test_a_line_break_code_in_a_target_separates_its_words(doc: TranslationDocument, version: str,
                                                            code: bytes) -> None:
    """A line break from a CAT tool is a code, not a character: read as the break between two words
    (the import breaks the lines to fit the slot), never as nothing ("einkaufen.Willst")."""
    translated = write_xliff(doc, version, targets={"cue-0002": "X"})  # type: ignore[arg-type]
    target = b"<target>X</target>" if version == "2.1" else b'<target state="translated">X</target>'
    assert target in translated
    data = translated.replace(target, target.replace(b">X<", b">Ich gehe einkaufen." + code + b"Willst du Milch?<"))
    assert schema_errors(data, version) == []  # type: ignore[arg-type]
    read = {u.id: u for u in read_xliff(data).units}
    assert read["cue-0002"].target == "Ich gehe einkaufen. Willst du Milch?"


@pytest.mark.parametrize(("data", "says"), [
    (b"<html><body>hello</body></html>", "root is <html>"),
    (b"<xliff version='2.1'", "not well-formed"),
])
def test_what_is_not_xliff_is_refused_with_the_reason(data: bytes, says: str) -> None:
    with pytest.raises(TranslationFileError) as err:
        read_xliff(data)
    assert says in str(err.value.problems[0].problem)


def test_entities_of_a_translated_file_are_never_expanded(doc: TranslationDocument) -> None:
    data = write_xliff(doc, "2.1", {u.id: "T" for u in doc.units}).replace(
        b"<?xml version='1.0' encoding='UTF-8'?>",
        b'<?xml version="1.0"?><!DOCTYPE xliff [<!ENTITY file SYSTEM "file:///etc/hostname">'
        b'<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>')
    data = data.replace(b"<target>T</target>", b"<target>T &file; &b;</target>", 1)
    assert read_xliff(data).units[0].target == "T &file; &b;"  # no file read, no expansion
