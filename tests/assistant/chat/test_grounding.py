"""The sentence gate between a model's own words and the answer."""

from __future__ import annotations

from assistant.chat.grounding import SentenceGate

SOURCES = (
    "Comparing 1.67 and 1.74 index lenses\n"
    "A 1.74 lens needs about 9-10% less curvature than a 1.67 lens of the same power, so it is a little thinner. "
    "1.74 material is denser, so 1.74 lenses weigh about the same as 1.67 lenses. "
    "Most wearers adapt to new lenses within two weeks."
)


def gated(text: str, *, step: int | None = None) -> tuple[list[str], SentenceGate]:
    gate = SentenceGate(SOURCES)
    out: list[str] = []
    pieces = [text] if step is None else [text[i : i + step] for i in range(0, len(text), step)]
    for piece in pieces:
        out += gate.feed(piece)
    return out + gate.close(), gate


def test_a_supported_sentence_passes_whole_with_its_decimals():
    out, gate = gated("A 1.74 lens is a little thinner than a 1.67 lens. ")
    assert out == ["A 1.74 lens is a little thinner than a 1.67 lens."] and gate.dropped == 0


def test_a_number_the_sources_do_not_have_is_dropped():
    out, _ = gated("1.74 lenses weigh about the same. Call the practice on 01481 201200 to order them.")
    assert out == ["1.74 lenses weigh about the same."]


def test_words_the_sources_do_not_use_are_dropped():
    out, _ = gated("A 1.74 lens is a little thinner. It is a good investment and keeps your eyes healthy.")
    assert out == ["A 1.74 lens is a little thinner."]


def test_repeats_are_dropped_and_the_answer_stops_after_three_sentences():
    text = "Most wearers adapt within two weeks. " * 3 + "1.74 is denser. 1.74 lenses weigh the same. 1.74 is thinner."
    out, gate = gated(text)
    assert out == ["Most wearers adapt within two weeks.", "1.74 is denser.", "1.74 lenses weigh the same."]
    assert gate.full and gate.dropped == 2


def test_a_sentence_cut_off_by_the_token_limit_is_dropped():
    out, _ = gated("1.74 material is denser. A 1.74 lens needs less curvature than a")
    assert out == ["1.74 material is denser."]


def test_streaming_in_small_pieces_gives_the_same_sentences():
    text = "A 1.74 lens needs less curvature. It is a little thinner! Call 0800 123 456. Most wearers adapt."
    assert (
        gated(text, step=3)[0]
        == gated(text)[0]
        == [
            "A 1.74 lens needs less curvature.",
            "It is a little thinner!",
            "Most wearers adapt.",
        ]
    )
