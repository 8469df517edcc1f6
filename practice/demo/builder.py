"""Build the demo practice in bulk: deterministic for a given seed and day, and fast (bulk_create,
then the stock quantities and the report rollup derived from what was written)."""

from __future__ import annotations

import bisect
import json
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from practice import roles
from practice.models import (
    Category,
    ContactLensPrescription,
    ContactLensReplacement,
    LabJob,
    LabJobStatus,
    LensType,
    MovementKind,
    Patient,
    Payment,
    PaymentMethod,
    PrismBase,
    Product,
    Recall,
    RecallKind,
    RecallStatus,
    Sale,
    SaleLine,
    SaleStatus,
    SpectaclePrescription,
    StockMovement,
    lab_job_for_pair,
    sale_line_total,
    sale_totals,
)
from practice.services import sales_summary_rebuild

from .catalogue import build_catalogue
from .people import (
    FIRST_NAMES_FEMALE,
    FIRST_NAMES_MALE,
    LAST_NAMES,
    PATIENT_NOTES,
    PRESCRIBERS,
    STREETS,
    TOWNS,
)

D = Decimal
PENNY = D("0.01")
QUARTER = D("0.25")
ZERO = D("0.00")
DEMO_PREFIX = "DEMO-"
STAFF_FILE = "demo-staff.json"
# Seasonality of an optical practice: quiet after Christmas, busy before summer holidays and
# back to school.
MONTH_WEIGHT = {
    1: 0.80,
    2: 0.85,
    3: 1.00,
    4: 1.00,
    5: 1.05,
    6: 1.12,
    7: 1.18,
    8: 1.15,
    9: 1.10,
    10: 1.00,
    11: 0.95,
    12: 0.72,
}
WEEKDAY_WEIGHT = {0: 0.90, 1: 1.00, 2: 1.00, 3: 1.05, 4: 1.10, 5: 1.40, 6: 0.0}  # closed on Sundays
DEMO_STAFF = [
    ("manager", roles.MANAGER, "Morag", "Reid"),
    ("reception", roles.RECEPTION, "Rita", "Desai"),
    ("optometrist", roles.CLINICIAN, "Anil", "Patel"),
    ("dispenser", roles.CLINICIAN, "Dawn", "Ellis"),
    ("mladmin", roles.ML_ADMIN, "Max", "Lorenz"),
]


def _when(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment


def q(value: float) -> Decimal:
    """Round to the 0.25 D grid."""
    return (D(str(value)) / QUARTER).quantize(D("1"), ROUND_HALF_UP) * QUARTER


def demo_loaded() -> bool:
    return Patient.objects.filter(demo_key__startswith="demo:").exists()


# --- staff -----------------------------------------------------------------------------------


def ensure_demo_staff() -> tuple[dict[str, Any], str]:
    """The demo staff (one per role) with one shared password kept in OPTIQ_DATA_DIR."""
    path = settings.DATA_DIR / STAFF_FILE
    password = ""
    if path.exists():
        try:
            password = json.loads(path.read_text()).get("password", "")
        except (OSError, ValueError):
            password = ""
    if not password:
        password = secrets.token_urlsafe(9)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"usernames": [u for u, *_ in DEMO_STAFF], "password": password}, indent=2))
        path.chmod(0o600)
    User = get_user_model()
    users = {}
    for username, role, first, last in DEMO_STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                password=password,
                first_name=first,
                last_name=last,
                email=f"{username}@practice.example",
                is_staff=True,
            )
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        users[username] = user
    return users, password


# --- patients and prescriptions ---------------------------------------------------------------


@dataclass
class DemoPatient:
    patient: Patient
    age_today: int
    refraction: dict[str, Any]
    interval_years: int
    prescriptions: list[SpectaclePrescription] = field(default_factory=list)
    contact_lens: Product | None = None
    cl_prescription: ContactLensPrescription | None = None


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _random_dob(rng: random.Random, today: date) -> date:
    band = rng.choices([(6, 15), (16, 29), (30, 44), (45, 59), (60, 74), (75, 93)], [10, 12, 18, 25, 22, 13])[0]
    age = rng.randint(*band)
    return today - timedelta(days=age * 365 + rng.randint(0, 364))


def _base_refraction(rng: random.Random, age: int) -> dict[str, Any]:
    kind = rng.choices(["myope", "hyperope", "emmetrope"], [55, 30, 15])[0]
    if kind == "myope":
        sphere = -min(abs(rng.gauss(2.5, 2.0)) + 0.25, 12.0)
    elif kind == "hyperope":
        sphere = min(abs(rng.gauss(0.8 + max(age - 40, 0) * 0.03, 1.0)) + 0.25, 7.0)
    else:
        sphere = rng.choice([0.0, 0.0, 0.25, -0.25])
    has_cyl = rng.random() < 0.6
    cyl = -min(abs(rng.gauss(0.75, 0.6)) + 0.25, 4.0) if has_cyl else 0.0
    axis = rng.choice([rng.randint(165, 180), rng.randint(1, 15), rng.randint(80, 100), rng.randint(20, 160)])
    return {
        "kind": kind,
        "sphere": sphere,
        "cyl": cyl,
        "axis": axis,
        "aniso": rng.choice([0.0, 0.0, 0.25, -0.25, 0.5, -0.5]),
        "prism": rng.random() < 0.03,
        "mono_pd": rng.random() < 0.15,
    }


def _eye_values(rng: random.Random, base: dict[str, Any], age: int, drift: float, other: bool) -> dict[str, Any]:
    sphere = q(base["sphere"] + drift + (base["aniso"] if other else 0))
    cyl = q(base["cyl"] + (rng.choice([0, 0, 0.25, -0.25]) if other and base["cyl"] else 0))
    cyl = min(cyl, D("0.00"))
    axis = None
    if cyl != 0:
        axis = base["axis"] + (rng.randint(-10, 10) if other else 0)
        axis = ((axis - 1) % 180) + 1
    add = None
    if age >= 42:
        add = min(q(0.75 + (age - 42) * 0.1), D("3.00"))
    return {"sphere": sphere, "cylinder": cyl, "axis": axis, "add": add}


def build_patients(rng: random.Random, count: int, today: date, optometrist: Any) -> list[DemoPatient]:
    town_weights = [40, 15, 15, 12, 10, 8]
    patients: list[DemoPatient] = []
    phones: set[str] = set()
    for index in range(count):
        female = rng.random() < 0.54
        first = rng.choice(FIRST_NAMES_FEMALE if female else FIRST_NAMES_MALE)
        last = rng.choice(LAST_NAMES)
        dob = _random_dob(rng, today)
        age = _age_on(dob, today)
        town, area = rng.choices(TOWNS, town_weights)[0]
        phone = ""
        while not phone or phone in phones:
            phone = f"07{rng.randint(300, 999)} {rng.randint(100000, 999999)}"
        phones.add(phone)
        note = rng.choice(PATIENT_NOTES) if rng.random() < 0.15 else ""
        patient = Patient(
            first_name=first,
            last_name=last,
            date_of_birth=dob,
            phone=phone,
            phone_digits="".join(ch for ch in phone if ch.isdigit()),
            email=f"{first}.{last}{rng.randint(1, 99)}@example.com".lower().replace("'", "")
            if rng.random() < 0.8
            else "",
            address=f"{rng.randint(1, 180)} {rng.choice(STREETS)}, {town}",
            postcode=f"{area} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXY')}{rng.choice('ABDEFGHJLNPQRSTUWXY')}",
            notes=note,
            consent_marketing=rng.random() < 0.55,
            consent_data_sharing=rng.random() < 0.3,
            demo_key=f"demo:{index}",
        )
        interval = 1 if age < 16 or age >= 70 or "annual" in note else 2
        patients.append(DemoPatient(patient, age, _base_refraction(rng, age), interval))
    Patient.objects.bulk_create([p.patient for p in patients], batch_size=1000)

    prescriptions: list[SpectaclePrescription] = []
    for demo in patients:
        born = demo.patient.date_of_birth
        # The latest examination is up to one interval ago, up to 20% lapsed by another year.
        last_exam = today - timedelta(
            days=rng.randint(0, demo.interval_years * 365 + (365 if rng.random() < 0.2 else 0))
        )
        exams = [last_exam]
        while len(exams) < 4:
            earlier = exams[-1] - timedelta(days=demo.interval_years * 365 + rng.randint(-30, 60))
            if earlier < today - timedelta(days=6 * 365) or _age_on(born, earlier) < 5:
                break
            exams.append(earlier)
        for number, exam in enumerate(sorted(exams)):
            age = _age_on(born, exam)
            base = demo.refraction
            # Young myopes get more minus; older eyes drift towards plus.
            drift = -0.25 * number if base["kind"] == "myope" and age < 25 else (0.25 * number if age > 55 else 0.0)
            right = _eye_values(rng, base, age, drift, other=False)
            left = _eye_values(rng, base, age, drift, other=True)
            child = age < 16
            pd = D(rng.randint(48, 58) if child else rng.randint(56, 70))
            rx = SpectaclePrescription(
                patient=demo.patient,
                issue_date=exam,
                expiry_date=exam + timedelta(days=demo.interval_years * 365),
                issued_by=optometrist if exam >= today - timedelta(days=400) else None,
                prescriber_name="A. Patel MCOptom" if exam >= today - timedelta(days=400) else rng.choice(PRESCRIBERS),
                binocular_pd=None if base["mono_pd"] else pd,
                near_pd=(pd - 3) if right["add"] is not None and not base["mono_pd"] else None,
                back_vertex_distance=D("12.0") if abs(right["sphere"]) >= 5 else None,
            )
            for eye, values in (("right", right), ("left", left)):
                setattr(rx, f"{eye}_sphere", values["sphere"])
                setattr(rx, f"{eye}_cylinder", values["cylinder"])
                setattr(rx, f"{eye}_axis", values["axis"])
                setattr(rx, f"{eye}_add", values["add"])
                if base["mono_pd"]:
                    setattr(
                        rx,
                        f"{eye}_pd",
                        (pd / 2).quantize(D("0.5")) if eye == "right" else pd - (pd / 2).quantize(D("0.5")),
                    )
                if values["add"] is not None and values["add"] >= D("1.50") and rng.random() < 0.1:
                    setattr(rx, f"{eye}_intermediate_add", q(float(values["add"]) / 2))
            if base["prism"]:
                amount = rng.choice([D("0.50"), D("1.00"), D("1.50"), D("2.00")])
                base_dir = rng.choice([PrismBase.IN, PrismBase.OUT, PrismBase.UP, PrismBase.DOWN])
                rx.right_prism, rx.right_prism_base = amount, base_dir
                if base_dir in (PrismBase.IN, PrismBase.OUT):
                    rx.left_prism, rx.left_prism_base = amount, base_dir
            errors = rx.rule_errors()
            if errors:  # pragma: no cover - a generator bug, not a data problem
                raise AssertionError(f"demo prescription breaks the rules: {errors}")
            demo.prescriptions.append(rx)
            prescriptions.append(rx)
    SpectaclePrescription.objects.bulk_create(prescriptions, batch_size=1000)
    return patients


def build_contact_lens_prescriptions(
    rng: random.Random, patients: list[DemoPatient], products: list[Product], today: date, optometrist: Any
) -> list[DemoPatient]:
    lenses = [p for p in products if p.category == Category.CONTACT_LENS]
    by_kind: dict[str, list[Product]] = defaultdict(list)
    for lens in lenses:
        name = lens.model.lower()
        kind = (
            "toric"
            if "toric" in name or "astigmatism" in name
            else ("multifocal" if "multifocal" in name or "presbyopia" in name else "sphere")
        )
        if "misight" in name:
            kind = "myopia_control"
        by_kind[kind].append(lens)
    wearers: list[DemoPatient] = []
    clrx: list[ContactLensPrescription] = []
    for demo in patients:
        if not 10 <= demo.age_today <= 68 or rng.random() > 0.24 or not demo.prescriptions:
            continue
        latest = demo.prescriptions[-1]
        toric = latest.right_cylinder <= D("-1.00")
        multifocal = latest.right_add is not None
        kind = "toric" if toric else "multifocal" if multifocal else "sphere"
        if demo.age_today < 16:
            kind = "myopia_control" if latest.right_sphere < 0 else "sphere"
        product = rng.choice(by_kind[kind])
        name = product.model.lower()
        written = product.description.split(": ", 1)[1].split(" replacement", 1)[0]
        replacement = {"daily": ContactLensReplacement.DAILY, "two-weekly": ContactLensReplacement.TWO_WEEKLY}.get(
            written, ContactLensReplacement.MONTHLY
        )
        issue = latest.issue_date + timedelta(days=rng.randint(0, 20))
        if issue > today:
            issue = today
        rx = ContactLensPrescription(
            patient=demo.patient,
            issue_date=issue,
            expiry_date=issue + timedelta(days=365),
            issued_by=optometrist,
            brand=f"{product.brand} {product.model.rsplit(' ', 2)[0]}",
            replacement=replacement,
            material="silicone hydrogel" if "moist" not in name and "aquacomfort" not in name else "hydrogel",
        )
        for eye in ("right", "left"):
            sphere = getattr(latest, f"{eye}_sphere")
            cyl = getattr(latest, f"{eye}_cylinder")
            # Vertex-correct strong powers to the cornea, to the nearest 0.25 D.
            power = sphere if abs(sphere) < 4 else q(float(sphere) / (1 - 0.012 * float(sphere)))
            setattr(
                rx, f"{eye}_base_curve", rng.choice([D("8.40"), D("8.50"), D("8.60"), D("8.70"), D("8.80"), D("9.00")])
            )
            setattr(rx, f"{eye}_diameter", rng.choice([D("14.00"), D("14.20"), D("14.30"), D("14.50")]))
            setattr(rx, f"{eye}_power", power if kind == "toric" or cyl == 0 else q(float(sphere) + float(cyl) / 2))
            if kind == "toric" and cyl != 0:
                setattr(rx, f"{eye}_cylinder", max(min(cyl, D("-0.75")), D("-2.75")))
                setattr(rx, f"{eye}_axis", getattr(latest, f"{eye}_axis"))
            if kind == "multifocal":
                add = getattr(latest, f"{eye}_add")
                setattr(rx, f"{eye}_add", min(add, D("2.50")) if add is not None else None)
        errors = rx.rule_errors()
        if errors:  # pragma: no cover
            raise AssertionError(f"demo contact lens prescription breaks the rules: {errors}")
        demo.contact_lens = product
        demo.cl_prescription = rx
        clrx.append(rx)
        wearers.append(demo)
    ContactLensPrescription.objects.bulk_create(clrx, batch_size=1000)
    return wearers


# --- sales -----------------------------------------------------------------------------------


@dataclass
class DemoSale:
    sale: Sale
    lines: list[SaleLine]
    payments: list[Payment]
    kind: str
    age_days: int
    patient: DemoPatient | None = None


def _sale_days(rng: random.Random, count: int, today: date) -> list[date]:
    """``count`` sale dates over the 365 days ending today, weighted by season and weekday."""
    days = [today - timedelta(days=offset) for offset in range(364, -1, -1)]
    weights = [MONTH_WEIGHT[d.month] * WEEKDAY_WEIGHT[d.weekday()] * rng.uniform(0.85, 1.15) for d in days]
    total = sum(weights)
    result: list[date] = []
    carry = 0.0
    for day, weight in zip(days, weights, strict=True):
        carry += count * weight / total
        whole = int(carry)
        carry -= whole
        result.extend([day] * whole)
    while len(result) < count:
        result.append(today if WEEKDAY_WEIGHT[today.weekday()] else today - timedelta(days=1))
    return result[:count]


def _money(value: Decimal) -> Decimal:
    return value.quantize(PENNY, ROUND_HALF_UP)


def _line(product: Product, quantity: int = 1, discount: Decimal = ZERO) -> SaleLine:
    discount = _money(discount)
    return SaleLine(
        product=product,
        quantity=quantity,
        unit_price=product.price,
        discount=discount,
        line_total=sale_line_total(unit_price=product.price, quantity=quantity, discount=discount),
        tax_rate=product.tax_rate,
        category=product.category,
        lens_type=product.lens_type,
    )


def _totals(sale: Sale, lines: list[SaleLine], payments: list[Payment]) -> None:
    sale_totals(lines).apply(sale)
    sale.amount_paid = sum((p.amount for p in payments), ZERO)


class SaleGenerator:
    def __init__(
        self,
        rng: random.Random,
        today: date,
        products: list[Product],
        patients: list[DemoPatient],
        wearers: list[DemoPatient],
        staff: dict[str, Any],
    ) -> None:
        self.rng, self.today, self.tz = rng, today, ZoneInfo(settings.TIME_ZONE)
        self.now = min(timezone.now(), datetime.combine(today, time(23, 59), self.tz))
        self.by_category: dict[str, list[Product]] = defaultdict(list)
        for product in products:
            self.by_category[product.category].append(product)
        self.lenses: dict[tuple[str, Decimal], list[Product]] = defaultdict(list)
        for lens in self.by_category[Category.SPECTACLE_LENS]:
            if lens.lens_index is not None:
                self.lenses[(lens.lens_type, lens.lens_index)].append(lens)
        frames = self.by_category[Category.FRAME]
        self.kid_frames = [f for f in frames if "Kids" in f.model]
        self.adult_frames = [f for f in frames if "Kids" not in f.model]
        self.patients, self.wearers = patients, wearers
        # Prescriptions by issue date, to find who had an examination shortly before a sale.
        pairs = sorted(((rx.issue_date, i) for i, p in enumerate(patients) for rx in p.prescriptions))
        self.rx_dates = [d for d, _ in pairs]
        self.rx_patients = [i for _, i in pairs]
        self.staff = staff
        self.sellers = [
            staff["reception"],
            staff["reception"],
            staff["dispenser"],
            staff["dispenser"],
            staff["optometrist"],
            staff["manager"],
        ]

    def moment(self, day: date) -> datetime:
        minutes = self.rng.randint(9 * 60, 17 * 60 + 20)
        at = datetime.combine(day, time(minutes // 60, minutes % 60, self.rng.randint(0, 59)), self.tz)
        return min(at, self.now - timedelta(minutes=self.rng.randint(5, 90)))  # nothing in the future

    def recent_examinee(self, day: date) -> DemoPatient | None:
        low = bisect.bisect_left(self.rx_dates, day - timedelta(days=45))
        high = bisect.bisect_right(self.rx_dates, day)
        if high > low:
            return self.patients[self.rx_patients[self.rng.randrange(low, high)]]
        return None

    def with_valid_rx(self, day: date) -> DemoPatient | None:
        for _ in range(30):
            demo = self.rng.choice(self.patients)
            if any(rx.issue_date <= day <= rx.expiry_date for rx in demo.prescriptions):
                return demo
        return None

    def lens_for(self, demo: DemoPatient, day: date) -> Product:
        rx = max((r for r in demo.prescriptions if r.issue_date <= day), key=lambda r: r.issue_date)
        age = _age_on(demo.patient.date_of_birth, day)
        lens_type = LensType.SINGLE_VISION
        if rx.right_add is not None and age >= 45:
            lens_type = self.rng.choices(
                [LensType.PROGRESSIVE, LensType.SINGLE_VISION, LensType.BIFOCAL, LensType.OCCUPATIONAL], [60, 20, 7, 13]
            )[0]
        power = max(abs(rx.right_sphere), abs(rx.left_sphere)) + abs(min(rx.right_cylinder, rx.left_cylinder))
        wanted = D("1.74") if power >= 8 else D("1.67") if power >= 5 else D("1.60") if power >= 3 else D("1.50")
        if age < 16:
            wanted = D("1.59") if power < 5 else D("1.67")
        if wanted == D("1.50") and self.rng.random() < 0.35:
            wanted = D("1.60")
        options = self.lenses.get((lens_type, wanted))
        if not options:
            indexes = sorted({i for (t, i) in self.lenses if t == lens_type}, key=lambda i: abs(i - wanted))
            options = self.lenses[(lens_type, indexes[0])]
        package = self.rng.choices(["Hard Coat", "Anti-Reflective", "Blue Filter", "Transitions"], [15, 45, 25, 15])[0]
        matching = [lens for lens in options if lens.model.endswith(package)] or options
        return self.rng.choice(matching)

    def make(self, day: date, reference: str) -> DemoSale | None:
        rng = self.rng
        kind = rng.choices(
            ["spectacles", "reglaze", "contact_lenses", "solution", "accessory", "frame_only"],
            [27, 4, 36, 15, 15, 3],
        )[0]
        demo: DemoPatient | None = None
        lines: list[SaleLine] = []
        if kind in ("spectacles", "reglaze"):
            demo = self.recent_examinee(day) if rng.random() < 0.8 else None
            demo = demo or self.with_valid_rx(day)
            if demo is None:
                return None
            age = _age_on(demo.patient.date_of_birth, day)
            if kind == "spectacles":
                frame = rng.choice(self.kid_frames if age < 16 and self.kid_frames else self.adult_frames)
                off = D("0")
                if rng.random() < 0.12:
                    off = _money(frame.price * rng.choice([D("0.10"), D("0.20")]))
                lines.append(_line(frame, 1, off))
            lines.append(_line(self.lens_for(demo, day)))
            if rng.random() < 0.3:
                lines.append(_line(rng.choice(self.by_category[Category.ACCESSORY][:9])))
        elif kind == "contact_lenses":
            demo = rng.choice(self.wearers) if self.wearers else None
            if demo is None or demo.contact_lens is None:
                return None
            boxes = rng.choices([1, 2, 3, 4], [35, 35, 15, 15])[0]
            lines.append(_line(demo.contact_lens, boxes))
            if (
                "daily" not in (demo.cl_prescription.replacement if demo.cl_prescription else "")
                and rng.random() < 0.45
            ):
                lines.append(_line(rng.choice(self.by_category[Category.SOLUTION][:8])))
        elif kind == "solution":
            demo = rng.choice(self.patients) if rng.random() < 0.5 else None
            for product in rng.sample(self.by_category[Category.SOLUTION], rng.choice([1, 1, 2])):
                lines.append(_line(product, rng.choice([1, 1, 2, 3])))
        elif kind == "accessory":
            demo = rng.choice(self.patients) if rng.random() < 0.4 else None
            for product in rng.sample(self.by_category[Category.ACCESSORY], rng.choice([1, 1, 2])):
                lines.append(_line(product, 1))
        else:
            demo = rng.choice(self.patients) if rng.random() < 0.7 else None
            lines.append(_line(rng.choice(self.adult_frames)))
        moment = self.moment(day)
        staff = rng.choice(self.sellers)
        sale = Sale(
            reference=reference,
            patient=demo.patient if demo else None,
            staff=staff,
            status=SaleStatus.COMPLETED,
            created_at=moment,
            completed_at=moment,
            sale_date=day,
        )
        if kind in ("spectacles", "reglaze") and demo is not None:
            sale.prescription = max((r for r in demo.prescriptions if r.issue_date <= day), key=lambda r: r.issue_date)
        return DemoSale(sale, lines, [], kind, (self.today - day).days, demo)


def _payments(rng: random.Random, demo_sale: DemoSale) -> None:
    sale = demo_sale.sale
    total = sale_totals(demo_sale.lines).total
    taken_by = sale.staff
    at = _when(sale.completed_at)
    remaining = total
    child = demo_sale.patient is not None and demo_sale.patient.age_today < 16
    if demo_sale.kind in ("spectacles", "reglaze") and child:
        voucher = min(D("44.00"), remaining)
        demo_sale.payments.append(
            Payment(method=PaymentMethod.NHS_VOUCHER, amount=voucher, taken_at=at, taken_by=taken_by)
        )
        remaining -= voucher
    if remaining <= 0:
        return
    method = rng.choices([PaymentMethod.CARD, PaymentMethod.CASH, PaymentMethod.BANK_TRANSFER], [82, 15, 3])[0]
    if demo_sale.kind in ("spectacles", "reglaze") and demo_sale.age_days <= 14 and rng.random() < 0.45:
        # A deposit now, the balance on collection.
        deposit = _money(remaining / 2)
        demo_sale.payments.append(Payment(method=method, amount=deposit, taken_at=at, taken_by=taken_by))
        return
    demo_sale.payments.append(Payment(method=method, amount=remaining, taken_at=at, taken_by=taken_by))


def build_sales(
    rng: random.Random,
    count: int,
    today: date,
    products: list[Product],
    patients: list[DemoPatient],
    wearers: list[DemoPatient],
    staff: dict[str, Any],
) -> list[DemoSale]:
    generator = SaleGenerator(rng, today, products, patients, wearers, staff)
    sales: list[DemoSale] = []
    for number, day in enumerate(_sale_days(rng, count, today), start=1):
        demo_sale = None
        while demo_sale is None:
            demo_sale = generator.make(day, f"{DEMO_PREFIX}S{number:06d}")
        _payments(rng, demo_sale)
        sales.append(demo_sale)
    # About 1.5% of older sales are refunded a few days later; a few drafts were voided.
    for demo_sale in sales:
        if demo_sale.age_days > 10 and rng.random() < 0.015:
            sale = demo_sale.sale
            sale.status = SaleStatus.REFUNDED
            refunded_at = _when(sale.completed_at) + timedelta(days=rng.randint(1, 8))
            sale.refunded_at = refunded_at
            sale.notes = "Refunded: " + rng.choice(
                ["changed mind", "non-tolerance", "wrong size", "duplicate purchase"]
            )
            refunds = [
                Payment(method=p.method, amount=-p.amount, taken_at=refunded_at, taken_by=p.taken_by)
                for p in demo_sale.payments
            ]
            demo_sale.payments.extend(refunds)
    moment = generator.now - timedelta(hours=1)
    for number in range(1, 4):
        demo = rng.choice(patients)
        draft = Sale(
            reference=f"{DEMO_PREFIX}D{number:03d}",
            patient=demo.patient,
            staff=staff["reception"],
            status=SaleStatus.DRAFT,
            created_at=moment + timedelta(minutes=17 * number),
        )
        sales.append(
            DemoSale(draft, [_line(rng.choice(generator.by_category[Category.SOLUTION]))], [], "draft", 0, demo)
        )
    for number in range(1, 9):
        day = today - timedelta(days=rng.randint(5, 360))
        voided = Sale(
            reference=f"{DEMO_PREFIX}V{number:03d}",
            staff=staff["reception"],
            status=SaleStatus.VOIDED,
            created_at=generator.moment(day),
            voided_at=generator.moment(day) + timedelta(minutes=5),
        )
        sales.append(
            DemoSale(
                voided, [_line(rng.choice(generator.by_category[Category.ACCESSORY]))], [], "void", (today - day).days
            )
        )
    for demo_sale in sales:
        _totals(demo_sale.sale, demo_sale.lines, demo_sale.payments)
    Sale.objects.bulk_create([s.sale for s in sales], batch_size=1000)
    for demo_sale in sales:
        for line in demo_sale.lines:
            line.sale = demo_sale.sale
        for payment in demo_sale.payments:
            payment.sale = demo_sale.sale
    SaleLine.objects.bulk_create([line for s in sales for line in s.lines], batch_size=2000)
    Payment.objects.bulk_create([p for s in sales for p in s.payments], batch_size=2000)
    return sales


# --- lab jobs ---------------------------------------------------------------------------------


def build_lab_jobs(rng: random.Random, sales: list[DemoSale], now: datetime) -> list[LabJob]:
    jobs: list[LabJob] = []
    for demo_sale in sales:
        sale = demo_sale.sale
        if demo_sale.kind not in ("spectacles", "reglaze") or sale.status == SaleStatus.DRAFT:
            continue
        lens_line = next(line for line in demo_sale.lines if line.category == Category.SPECTACLE_LENS)
        frame_line = next((line for line in demo_sale.lines if line.category == Category.FRAME), None)
        ordered = _when(sale.completed_at)
        assert sale.prescription is not None  # spectacle sales are made to one
        job = lab_job_for_pair(
            sale=sale,
            number=1,
            prescription=sale.prescription,
            lens_line=lens_line,
            frame_line=frame_line,
            ordered_at=ordered,
        )
        job.lab_name = rng.choice(["Central Optical Lab", "Central Optical Lab", "Essilor Rx Lab", "Zeiss Rx Lab"])
        sent = ordered + timedelta(hours=rng.randint(3, 30))
        ready = sent + timedelta(days=rng.randint(4, 9))
        collected = ready + timedelta(days=rng.randint(1, 10))
        roll = rng.random()
        if sale.status == SaleStatus.REFUNDED:
            job.status, job.cancelled_at, job.sent_at = LabJobStatus.CANCELLED, sale.refunded_at, sent
            job.notes = "Sale refunded"
        elif sent > now:
            pass
        elif ready > now:
            job.status, job.sent_at = LabJobStatus.AT_LAB, sent
        elif collected > now or roll < 0.02:
            job.status, job.sent_at, job.ready_at = LabJobStatus.READY, sent, ready
        elif roll < 0.035:
            job.status, job.sent_at, job.ready_at = LabJobStatus.REMAKE, sent, ready
            job.remake_at, job.remake_count = ready + timedelta(days=1), 1
            job.notes = "Remake: " + rng.choice(
                ["axis out of tolerance", "scratched on glazing", "wrong fitting height"]
            )
        elif roll < 0.045:
            job.status, job.sent_at, job.cancelled_at = LabJobStatus.CANCELLED, sent, sent + timedelta(days=2)
            job.notes = "Cancelled: patient changed frame choice"
        else:
            job.status, job.sent_at, job.ready_at, job.collected_at = LabJobStatus.COLLECTED, sent, ready, collected
            if roll > 0.985:
                job.remake_count, job.remake_at = 1, ready - timedelta(days=2)
        jobs.append(job)
    # Every status is shown somewhere in the demo, whatever the seed.
    present = {job.status for job in jobs}
    spare = [j for j in jobs if j.status == LabJobStatus.COLLECTED]
    for status in LabJobStatus.values:
        if status not in present and spare:
            job = spare.pop()
            job.status = status
            if status == LabJobStatus.ORDERED:
                job.sent_at = job.ready_at = job.collected_at = None
                job.ordered_at = now - timedelta(hours=2)
            elif status == LabJobStatus.AT_LAB:
                job.ready_at = job.collected_at = None
            elif status == LabJobStatus.READY:
                job.collected_at = None
            elif status == LabJobStatus.REMAKE:
                job.collected_at, job.remake_at, job.remake_count = None, job.ready_at, 1
            elif status == LabJobStatus.CANCELLED:
                job.collected_at, job.cancelled_at = None, job.ready_at
    LabJob.objects.bulk_create(jobs, batch_size=1000)
    return jobs


# --- stock -----------------------------------------------------------------------------------


def build_stock(
    rng: random.Random, products: list[Product], sales: list[DemoSale], today: date, manager: Any
) -> list[StockMovement]:
    """Replay the year: opening stock, deliveries when a product reaches its reorder level,
    sales, refunds; about 8% of products are left low at the end."""
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(today - timedelta(days=366), time(8, 0), tz)
    now = datetime.combine(today, time(8, 0), tz)
    events: dict[int, list[tuple[datetime, int, int, Any, SaleLine | None]]] = defaultdict(list)
    for demo_sale in sales:
        sale = demo_sale.sale
        if sale.completed_at is None:
            continue
        for line in demo_sale.lines:
            events[line.product_id].append((sale.completed_at, 0, -line.quantity, sale.staff, line))
            if sale.status == SaleStatus.REFUNDED:
                events[line.product_id].append((_when(sale.refunded_at), 1, line.quantity, sale.staff, line))
    movements: list[StockMovement] = []
    low_ids = {p.pk for p in rng.sample(products, max(len(products) * 8 // 100, 1))}
    for product in products:
        level = product.reorder_level
        top_up = max(level * 3, level + 2, 3)
        balance = 0

        def move(
            kind: str,
            quantity: int,
            at: datetime,
            user: Any,
            note: str = "",
            line: SaleLine | None = None,
            product: Product = product,
        ) -> None:
            nonlocal balance
            balance += quantity
            movements.append(
                StockMovement(
                    product=product,
                    kind=kind,
                    quantity=quantity,
                    balance_after=balance,
                    sale_line=line,
                    note=note,
                    created_by=user,
                    created_at=at,
                )
            )

        move(MovementKind.RECEIPT, top_up, start, manager, "Opening stock")
        pending_at: datetime | None = None
        for at, _, quantity, user, sold_line in sorted(events[product.pk], key=lambda e: (e[0], e[1])):
            if pending_at is not None and pending_at <= at:
                move(
                    MovementKind.RECEIPT,
                    max(top_up - balance, 1),
                    pending_at,
                    manager,
                    f"Delivery from {product.supplier}",
                )
                pending_at = None
            if balance + quantity < 0:
                move(
                    MovementKind.RECEIPT, top_up - balance - quantity, at - timedelta(hours=1), manager, "Urgent order"
                )
            kind = MovementKind.SALE if quantity < 0 else MovementKind.RETURN
            note = f"{'Sale' if quantity < 0 else 'Refund of'} {sold_line.sale.reference}" if sold_line else ""
            move(kind, quantity, at, user, note, sold_line)
            if (
                balance <= level
                and pending_at is None
                and not (product.pk in low_ids and at > now - timedelta(days=45))
            ):
                pending_at = at + timedelta(days=rng.randint(2, 5))
        if pending_at is not None and pending_at <= now and product.pk not in low_ids:
            move(
                MovementKind.RECEIPT, max(top_up - balance, 1), pending_at, manager, f"Delivery from {product.supplier}"
            )
        if product.pk in low_ids and balance > level:
            target = rng.randint(0, level)
            move(
                MovementKind.ADJUSTMENT if rng.random() < 0.5 else MovementKind.WRITE_OFF,
                target - balance,
                now - timedelta(days=rng.randint(1, 20)),
                manager,
                "Stock take: damaged or missing",
            )
        product.quantity_on_hand = balance
    StockMovement.objects.bulk_create(movements, batch_size=5000)
    Product.objects.bulk_update(products, ["quantity_on_hand"], batch_size=1000)
    return movements


# --- recalls -----------------------------------------------------------------------------------


def build_recalls(
    rng: random.Random, patients: list[DemoPatient], wearers: list[DemoPatient], today: date
) -> list[Recall]:
    recalls: list[Recall] = []
    for demo in patients:
        if not demo.prescriptions:
            continue
        latest = demo.prescriptions[-1]
        due = latest.issue_date + timedelta(days=365 * demo.interval_years)
        status = RecallStatus.PENDING
        if due <= today + timedelta(days=21) and rng.random() < 0.12:
            status = RecallStatus.BOOKED
        recalls.append(
            Recall(
                patient=demo.patient,
                kind=RecallKind.EYE_EXAM,
                due_date=due,
                status=status,
                notes="Annual: clinical need" if demo.interval_years == 1 else "",
            )
        )
    for demo in wearers:
        assert demo.cl_prescription is not None
        recalls.append(
            Recall(
                patient=demo.patient,
                kind=RecallKind.CL_AFTERCARE,
                due_date=demo.cl_prescription.issue_date + timedelta(days=365),
            )
        )
    Recall.objects.bulk_create(recalls, batch_size=2000)
    return recalls


# --- the whole demo -----------------------------------------------------------------------------


@transaction.atomic
def build_demo(
    *, patients: int, sales: int, products: int = 300, seed: int = 42, today: date | None = None
) -> dict[str, int]:
    """Create the demo practice in one transaction (all of it or none)."""
    today = today or timezone.localdate()
    rng = random.Random(seed)
    staff, _ = ensure_demo_staff()
    catalogue = build_catalogue(rng, target=products)
    product_rows = [Product(**fields) for fields in catalogue]
    for product in product_rows:
        product.full_clean(validate_unique=False)
    Product.objects.bulk_create(product_rows, batch_size=1000)
    demo_patients = build_patients(rng, patients, today, staff["optometrist"])
    wearers = build_contact_lens_prescriptions(rng, demo_patients, product_rows, today, staff["optometrist"])
    demo_sales = build_sales(rng, sales, today, product_rows, demo_patients, wearers, staff)
    # A demo built for a past day is that day's practice: nothing happens after its evening.
    now = min(timezone.now(), datetime.combine(today, time(23, 59), ZoneInfo(settings.TIME_ZONE)))
    jobs = build_lab_jobs(rng, demo_sales, now)
    movements = build_stock(rng, product_rows, demo_sales, today, staff["manager"])
    recalls = build_recalls(rng, demo_patients, wearers, today)
    sales_summary_rebuild()
    return {
        "patients": len(demo_patients),
        "spectacle_prescriptions": sum(len(p.prescriptions) for p in demo_patients),
        "contact_lens_prescriptions": len(wearers),
        "products": len(product_rows),
        "sales": sum(1 for s in demo_sales if s.sale.status == SaleStatus.COMPLETED),
        "sale_lines": sum(len(s.lines) for s in demo_sales),
        "lab_jobs": len(jobs),
        "stock_movements": len(movements),
        "recalls": len(recalls),
    }
