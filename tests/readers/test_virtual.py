"""The virtual reader: a card store, one card in the reader, atomic verified writes, and a
write cut after N bytes as a pulled card would leave it."""

from __future__ import annotations

import pytest

from prepaid.core.card import codec
from prepaid.core.errors import InvalidInput, PrepaidError, ReaderError
from prepaid.readers.base import CARD_IMAGE_SIZE, CardReader
from prepaid.readers.virtual import CardStore, VirtualReader


@pytest.fixture
def store(tmp_path):
    return CardStore(tmp_path)


def test_one_card_at_a_time(store):
    reader = VirtualReader(store)
    assert isinstance(reader, CardReader)
    assert not reader.card_present()
    with pytest.raises(ReaderError) as empty:
        reader.read()
    assert empty.value.code == "no_card"
    store.create("a", codec.blank_image())
    store.create("b", codec.blank_image())
    store.insert("a")
    store.insert("b")
    assert store.inserted() == "b" and reader.serial() == "b"
    assert store.eject() == "b" and store.inserted() is None
    assert store.names() == ["a", "b"]


def test_write_replaces_the_file_atomically_and_reads_back(store):
    store.create("a", codec.blank_image())
    store.insert("a")
    reader = VirtualReader(store)
    reader.write(b"\x11" * 16, 0x40)
    image = reader.read()
    assert len(image) == CARD_IMAGE_SIZE and image[0x40:0x50] == b"\x11" * 16
    assert image[:0x40] == codec.blank_image()[:0x40]
    assert not list(store.root.glob(".*tmp*"))  # no temporary file left behind
    with pytest.raises(ValueError):
        reader.write(b"\0" * 20, 250)


@pytest.mark.parametrize("size", [0, 100, CARD_IMAGE_SIZE + 9])
def test_a_card_file_of_the_wrong_size_is_rewritten_whole(store, size):
    store.create("a", codec.blank_image())
    store.insert("a")
    store.path("a").write_bytes(b"\x33" * size)
    reader = VirtualReader(store)
    reader.write(b"\x11" * 16, 0x40)
    image = reader.read()
    assert len(image) == CARD_IMAGE_SIZE and image[0x40:0x50] == b"\x11" * 16
    kept = min(size, 0x40)
    assert image[:kept] == b"\x33" * kept and image[kept:0x40] == b"\0" * (0x40 - kept)


@pytest.mark.parametrize("cut", [0, 1, 7, 15])
def test_a_cut_write_leaves_the_first_bytes_new_and_the_rest_old(store, cut):
    store.create("a", codec.blank_image())
    store.insert("a")
    before = store.path("a").read_bytes()
    with pytest.raises(ReaderError) as pulled:
        VirtualReader(store, cut_after=cut).write(b"\x22" * 16, 0x40)
    assert pulled.value.code == "card_removed"
    assert store.inserted() is None  # the card left the reader
    after = store.path("a").read_bytes()
    assert after[0x40 : 0x40 + cut] == b"\x22" * cut
    assert after[0x40 + cut :] == before[0x40 + cut :]


@pytest.mark.parametrize("name", ["", "a b", "../x", "x.card", "设置 卡", "_x", ".x", "x" * 65])
def test_bad_card_names_are_refused(store, name):
    with pytest.raises(InvalidInput) as refused:
        store.create(name, codec.blank_image())
    assert refused.value.code == "bad_card_name"


@pytest.mark.parametrize("name", ["设置卡1", "张三-新卡", "é.2", "x" * 64])
def test_card_names_in_any_script_are_taken(store, name):
    store.create(name, codec.blank_image())
    store.insert(name)
    assert store.inserted() == name and name in store.names()
    assert store.path(name).parent == store.root


def test_unknown_and_duplicate_cards(store):
    with pytest.raises(InvalidInput) as refused:
        store.insert("ghost")
    assert refused.value.code == "unknown_card"
    store.create("a", codec.blank_image())
    with pytest.raises(PrepaidError) as refused:
        store.create("a", codec.blank_image())
    assert refused.value.code == "card_exists"
    assert refused.value.exit_status == 1  # a refusal, not bad usage


def test_the_reader_holds_no_card_when_its_slot_names_none_that_is_there(store):
    reader = VirtualReader(store)
    store.create("a", codec.blank_image())
    store.insert("a")
    assert reader.read() == codec.blank_image()
    for slot in ("", "  \n", "gone"):  # emptied, or naming a card since taken out of the store
        store.slot_file.write_text(slot)
        with pytest.raises(ReaderError) as refused:
            reader.read()
        assert refused.value.code == "no_card"
        assert not reader.card_present()
    (store.root / "folder.card").mkdir()  # not a card file
    store.slot_file.write_text("folder")
    with pytest.raises(ReaderError) as refused:
        reader.read()
    assert refused.value.code == "no_card"
    store.slot_file.write_text("a")  # put back by another process: read anew each time
    assert reader.read() == codec.blank_image()


def test_a_name_written_in_the_slot_by_hand_is_checked_as_any_name(store):
    store.slot_file.write_text("../secrets")
    with pytest.raises(InvalidInput) as refused:
        VirtualReader(store).read()
    assert refused.value.code == "bad_card_name"
