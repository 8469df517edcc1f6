"""Find a practice's patients in free text, before the text can reach a model or a search index.

The practice knows exactly who its patients are, so text is matched against their own records
rather than guessed at: names in any order and with titles or initials ("John Smith", "Smith,
John", "Mr Smith", "J. Smith", "Dr John A. Smith"), dates of birth (written in any common form,
next to a word such as "born" or the patient's surname), postcodes, phone numbers (Google's
libphonenumber, through `phonenumbers`, in any national or international format), e-mail
addresses (also written "name at host dot com"), and prescription values next to a patient's
surname. Text is compared after Unicode normalisation: compatibility forms (full-width letters,
ligatures), accents, invisible characters and Latin look-alike letters from other scripts do
not hide a name.

A surname on its own is not a finding (many are ordinary words: White, Green, Wood), nor is a
date without a birth context; a date of birth next to "born" is one even for someone who is
not a patient.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import phonenumbers

KIND_LABELS = {
    "name": "a patient's name",
    "date_of_birth": "a date of birth",
    "postcode": "a patient's postcode",
    "phone": "a patient's phone number",
    "email": "a patient's e-mail address",
    "prescription": "prescription values next to a patient's name",
}
PATIENT_PERMISSION = "practice.view_patient"

TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "doctor", "prof", "professor", "sir", "dame", "lady", "lord", "master"}
)
BIRTH_WORDS = re.compile(
    r"\b(?:born|birth|birthdate|birthday|dob|d\.o\.b)\b\.?(?:\s+(?:is|was|on|in|of|the|date))*\W*$", re.IGNORECASE
)
MIN_PHONE_DIGITS = 7
_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{5,}\d")
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPELLED_EMAIL = re.compile(
    r"([\w.+-]+)\s*(?:\[at\]|\(at\)|\bat\b)\s*([\w-]+(?:\s*(?:\.|\[dot\]|\(dot\)|\bdot\b)\s*[\w-]+)+)", re.IGNORECASE
)
_SPELLED_DOT = re.compile(r"\s*(?:\[dot\]|\(dot\)|\bdot\b)\s*|\s*\.\s*", re.IGNORECASE)
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\b", re.IGNORECASE)
# A sphere, cylinder or addition in dioptres (quarter steps), an axis after "x", or "Rx"/"sph"/"cyl".
_RX_VALUE = re.compile(
    r"(?<![\w.])[+-]\s?\d{1,2}[.,](?:00|25|50|75)\b|\bx\s?\d{1,3}\b(?=\s*(?:°|deg|\b))|\b(?:add|sph|cyl|axis)\b\s*[:=]?\s*[+-]?\d",
    re.IGNORECASE,
)
RX_WINDOW_CHARS = 60

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?[\s-]+({_MONTH})\.?,?[\s-]+(\d{{4}}|\d{{2}})\b", re.IGNORECASE
)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})\s?([/.-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")

# Letters of other scripts that look like Latin ones (Unicode's confusables for the letters
# names are made of); NFKC leaves them alone.
_LOOK_ALIKES = str.maketrans(
    "АВСЕНІЈКМОРЅТХУаеіјорсуухѕԁһԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧαιορυνχ",
    "ABCEHIJKMOPSTXYaeijopcyyxsdhqwABEZHIKMNOPTYXaiopuvx",
)
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-"))


def normalise(text: str) -> str:
    """Text as it reads: compatibility forms folded (NFKC), accents and invisible characters
    dropped, look-alike letters of other scripts read as Latin, apostrophes and dashes made plain.
    Case is kept."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")  # zero-width and other format characters
    return text.translate(_LOOK_ALIKES).translate(_APOSTROPHES).translate(_DASHES)


def fold(text: str) -> str:
    return normalise(text).casefold()


@dataclass(frozen=True)
class PatientRecord:
    """What identifies one patient."""

    pk: int | None
    first_name: str
    last_name: str
    date_of_birth: date | None = None
    phone: str = ""
    email: str = ""
    postcode: str = ""


@dataclass(frozen=True)
class PatientDataMatch:
    kind: str  # a key of KIND_LABELS
    value: str  # the matched text, normalised
    patient_id: int | None = None

    def describe(self, *, reveal: bool) -> str:
        """What was found; the matched value only for someone who may see patients."""
        label = KIND_LABELS[self.kind]
        return f"{label} ({self.value!r})" if reveal else label


def may_see_patients(user: Any) -> bool:
    return bool(user is None or user.has_perm(PATIENT_PERMISSION))


def _phone_key(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_digit_forms(raw: str) -> set[str]:
    digits = re.sub(r"\D", "", raw)
    if len(digits) < MIN_PHONE_DIGITS:
        return set()
    forms = {digits}
    if digits.startswith("44"):
        forms.add("0" + digits[2:])
    elif digits.startswith("0"):
        forms.add("44" + digits[1:])
    return forms


def _postcode_key(raw: str) -> str:
    return re.sub(r"\s+", "", raw).upper()


def _words(text: str) -> list[str]:
    return [match.group() for match in _WORD.finditer(text)]


@dataclass
class _Token:
    text: str  # as written (normalised), possessive 's dropped
    folded: str
    start: int
    end: int

    @property
    def is_initial(self) -> bool:
        return len(self.text) == 1 and self.text.isupper()

    @property
    def is_capitalised(self) -> bool:
        return self.text[:1].isupper()


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _WORD.finditer(text):
        word = match.group()
        if word.lower().endswith("'s"):
            word = word[:-2]
        tokens.append(_Token(word, word.casefold(), match.start(), match.start() + len(word)))
    return tokens


def _dates_in(text: str) -> list[tuple[date, int, int, str]]:
    """Every full date written in `text` (day-month and month-day readings of numeric dates)."""
    found: list[tuple[date, int, int, str]] = []

    def add(year: int, month: int, day: int, match: re.Match[str]) -> None:
        if year < 100:
            year += 1900 if year > date.today().year % 100 else 2000
        with contextlib.suppress(ValueError):  # 31 February and the like are no dates
            found.append((date(year, month, day), match.start(), match.end(), match.group()))

    for match in _DAY_MONTH_YEAR.finditer(text):
        add(int(match.group(3)), _MONTHS[match.group(2).lower()], int(match.group(1)), match)
    for match in _MONTH_DAY_YEAR.finditer(text):
        add(int(match.group(3)), _MONTHS[match.group(1).lower()], int(match.group(2)), match)
    for match in _NUMERIC_DATE.finditer(text):
        first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        add(year, second, first, match)  # the UK reading, day first
        if first <= 12 and first != second:
            add(year, first, second, match)
    for match in _ISO_DATE.finditer(text):
        add(int(match.group(1)), int(match.group(2)), int(match.group(3)), match)
    return found


@dataclass
class PatientIndex:
    """The practice's patients, indexed for matching text against them."""

    by_surname: dict[tuple[str, ...], list[PatientRecord]] = field(default_factory=lambda: defaultdict(list))
    by_birth_date: dict[date, list[PatientRecord]] = field(default_factory=lambda: defaultdict(list))
    phones: dict[str, PatientRecord] = field(default_factory=dict)
    phone_digits: dict[str, PatientRecord] = field(default_factory=dict)
    emails: dict[str, PatientRecord] = field(default_factory=dict)
    postcodes: dict[str, PatientRecord] = field(default_factory=dict)
    longest_surname: int = 1

    @classmethod
    def from_records(cls, records: Iterable[PatientRecord]) -> PatientIndex:
        index = cls()
        for record in records:
            surname = tuple(w.casefold() for w in _words(normalise(record.last_name)))
            if surname and _words(normalise(record.first_name)):
                index.by_surname[surname].append(record)
                index.longest_surname = max(index.longest_surname, len(surname))
            if record.date_of_birth:
                index.by_birth_date[record.date_of_birth].append(record)
            if record.phone:
                key = _phone_key(record.phone)
                if key:
                    index.phones[key] = record
                for digits in _phone_digit_forms(record.phone):
                    index.phone_digits[digits] = record
            if record.email:
                index.emails[fold(record.email).strip()] = record
            if record.postcode:
                index.postcodes[_postcode_key(normalise(record.postcode))] = record
        return index

    @classmethod
    def from_database(cls) -> PatientIndex:
        from practice.models import Patient

        rows = Patient.objects.values_list(
            "pk", "first_name", "last_name", "date_of_birth", "phone", "email", "postcode"
        ).iterator(chunk_size=2000)
        return cls.from_records(PatientRecord(*row) for row in rows)

    def __bool__(self) -> bool:
        return bool(self.by_surname or self.by_birth_date or self.phones or self.emails or self.postcodes)

    # --- names ---------------------------------------------------------------------------

    def _surname_at(self, tokens: list[_Token], i: int) -> tuple[int, list[PatientRecord]]:
        for length in range(min(self.longest_surname, len(tokens) - i), 0, -1):
            key = tuple(t.folded for t in tokens[i : i + length])
            if key in self.by_surname:
                return i + length, self.by_surname[key]
        return i, []

    @staticmethod
    def _given(record: PatientRecord) -> tuple[str, str]:
        words = [w.casefold() for w in _words(normalise(record.first_name))]
        return words[0], words[0][0]

    def _names(self, tokens: list[_Token], text: str) -> list[tuple[PatientDataMatch, int, int, PatientRecord | None]]:
        """(match, start, end, patient) for every name written in any of the accepted forms, and
        (None-kind) bare capitalised surnames, which only count next to prescription values."""
        found: list[tuple[PatientDataMatch, int, int, PatientRecord | None]] = []
        for i in range(len(tokens)):
            end, patients = self._surname_at(tokens, i)
            if not patients:
                continue
            surname_start, surname_end = tokens[i].start, tokens[end - 1].end
            before = tokens[max(0, i - 3) : i]
            after = tokens[end : end + 2]
            between_after = text[surname_end : after[0].start] if after else ""
            named: tuple[int, PatientRecord] | None = None
            for record in patients:
                given, initial = self._given(record)
                # "John Smith", "John A. Smith", "J. Smith", "J Smith", "Mr J Smith"
                for offset, token in enumerate(reversed(before), start=1):
                    if token.folded == given or (token.is_initial and token.folded == initial):
                        named = (tokens[i - offset].start, record)
                        break
                    if not token.is_initial:
                        break  # one middle initial may stand between, nothing else
                # "Smith, John", "Smith John", "SMITH, J."
                if named is None and after and between_after.strip() in ("", ","):
                    first_after = after[0]
                    if first_after.folded == given or (first_after.is_initial and first_after.folded == initial):
                        named = (surname_start, record)
                        surname_end = first_after.end
                if named is not None:
                    break
            title = before[-1] if before and before[-1].folded in TITLES else None
            if named is not None:
                start, record = named
                if title is not None and title.end <= start:
                    start = title.start
                found.append((PatientDataMatch("name", text[start:surname_end], record.pk), start, surname_end, record))
            elif title is not None:
                # "Mr Smith", "Dr O'Brien": a title before a patient's surname names someone.
                found.append(
                    (
                        PatientDataMatch("name", text[title.start : surname_end], patients[0].pk),
                        title.start,
                        surname_end,
                        patients[0],
                    )
                )
            elif tokens[i].is_capitalised:
                found.append(
                    (PatientDataMatch("surname", text[surname_start:surname_end]), surname_start, surname_end, None)
                )
        return found

    # --- the rest ------------------------------------------------------------------------

    def find(self, text: str) -> list[PatientDataMatch]:
        """Every piece of patient data in `text` (each value once)."""
        if not text:
            return []
        plain = normalise(text)
        folded = plain.casefold()
        tokens = _tokens(plain)
        matches: list[PatientDataMatch] = []
        names = self._names(tokens, plain) if self.by_surname else []
        surnames_written = {t.folded for t in tokens}
        matches += [m for m, *_ in names if m.kind == "name"]

        rx_positions = [m.start() for m in _RX_VALUE.finditer(plain)]
        if rx_positions:
            for name, start, end, record in names:
                if any(start - RX_WINDOW_CHARS <= p <= end + RX_WINDOW_CHARS for p in rx_positions):
                    matches.append(PatientDataMatch("prescription", name.value, record.pk if record else None))

        for day, start, _end, written in _dates_in(plain):
            context = plain[max(0, start - 30) : start]
            born = bool(BIRTH_WORDS.search(context))
            patients = self.by_birth_date.get(day, [])
            named = [p for p in patients if _words(normalise(p.last_name))[-1].casefold() in surnames_written]
            if born or named:
                who = (named or patients)[0] if (named or patients) else None
                matches.append(PatientDataMatch("date_of_birth", written, who.pk if who else None))

        for hit in _POSTCODE.finditer(plain):
            record = self.postcodes.get(_postcode_key(hit.group()))
            if record is not None:
                matches.append(PatientDataMatch("postcode", hit.group(), record.pk))

        seen_phones: set[str] = set()
        for number in phonenumbers.PhoneNumberMatcher(plain, "GB", leniency=phonenumbers.Leniency.POSSIBLE):
            key = phonenumbers.format_number(number.number, phonenumbers.PhoneNumberFormat.E164)
            if key in self.phones:
                seen_phones.add(key)
                matches.append(PatientDataMatch("phone", number.raw_string, self.phones[key].pk))
        for hit in _PHONE_LIKE.finditer(plain):
            digits = re.sub(r"\D", "", hit.group())
            record = self.phone_digits.get(digits)
            if record is not None and (_phone_key(hit.group()) not in seen_phones):
                matches.append(PatientDataMatch("phone", hit.group().strip(), record.pk))

        for hit in _EMAIL.finditer(folded):
            record = self.emails.get(hit.group().strip("."))
            if record is not None:
                matches.append(PatientDataMatch("email", hit.group(), record.pk))
        for hit in _SPELLED_EMAIL.finditer(folded):
            address = f"{hit.group(1)}@{_SPELLED_DOT.sub('.', hit.group(2))}"
            record = self.emails.get(address)
            if record is not None:
                matches.append(PatientDataMatch("email", hit.group(), record.pk))

        unique: dict[tuple[str, str], PatientDataMatch] = {}
        for m in matches:
            unique.setdefault((m.kind, m.value.casefold()), m)
        return list(unique.values())
