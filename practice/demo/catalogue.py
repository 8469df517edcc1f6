"""A believable optical catalogue (GBP, VAT-inclusive retail prices) with descriptions written
the way a practice would, because the assistant searches and quotes them."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from practice.models import Category, Coating, LensMaterial, LensType

D = Decimal

FRAME_BRANDS: list[tuple[str, str, list[str], tuple[int, int], str]] = [
    # brand, supplier, model names, price range (GBP), style note
    (
        "Ray-Ban",
        "Luxottica UK",
        [
            "RB5154 Clubmaster",
            "RB2140 Wayfarer Optics",
            "RB6335",
            "RB7047",
            "RB5228",
            "RB3447V Round Metal",
            "RB7140",
            "RB5279",
        ],
        (129, 189),
        "classic",
    ),
    (
        "Oakley",
        "Luxottica UK",
        ["OX8046 Airdrop", "OX3227 Holbrook RX", "OX8081 Pitchman R", "OX5038 Crosslink"],
        (139, 199),
        "sporty",
    ),
    ("Tom Ford", "Marcolin UK", ["FT5401", "FT5634-B", "FT5178", "FT5294"], (259, 349), "luxury"),
    ("Prada", "Luxottica UK", ["PR 16MV", "PR 08WV", "PR 17WV"], (219, 289), "luxury"),
    (
        "Silhouette",
        "Silhouette UK",
        ["Momentum 5529", "TMA Icon 5541", "Illusion Lite 1590", "SPX Illusion 2943"],
        (249, 389),
        "rimless",
    ),
    ("Lindberg", "Lindberg UK", ["Strip 9704", "Air Titanium Rim Morgan", "Spirit 2010"], (329, 389), "titanium"),
    ("Hugo Boss", "Safilo UK", ["BOSS 1104", "BOSS 1185", "BOSS 1291"], (159, 219), "business"),
    (
        "Ted Baker",
        "Ted Baker Eyewear",
        ["TB8197 Rufus", "TB9153 Saskia", "TB4264 Marcus", "TB9200 Isla"],
        (119, 169),
        "fashion",
    ),
    ("Radley", "Radley Eyewear", ["RDO Amalie", "RDO Fenella", "RDO Harriet"], (99, 149), "fashion"),
    ("Superdry", "Superdry Eyewear", ["SDO Kabu", "SDO Tokyo", "SDO Ayami"], (89, 129), "casual"),
    ("Barbour", "Barbour Eyewear", ["BAO 1007", "BAO 1012"], (109, 149), "country"),
    ("Jaeger", "Jaeger Optical", ["Jaeger 342", "Jaeger 349", "Jaeger 8111"], (139, 189), "classic"),
    ("Orla Kiely", "Orla Kiely Optical", ["Cecily", "Marlowe"], (119, 159), "fashion"),
    (
        "OptiQ Essentials",
        "Central Optical Supplies",
        [
            "Essentials 101",
            "Essentials 102",
            "Essentials 205",
            "Essentials 310",
            "Essentials Kids 12",
            "Essentials Kids 14",
        ],
        (49, 79),
        "value",
    ),
    ("Hook LDN", "Hook Optical", ["Hook Kids Tiger", "Hook Kids Rocket"], (69, 89), "children"),
]
FRAME_COLOURS = [
    "Black",
    "Tortoiseshell",
    "Havana",
    "Gunmetal",
    "Gold",
    "Silver",
    "Crystal",
    "Navy",
    "Burgundy",
    "Matte Black",
    "Blonde Tortoise",
    "Rose Gold",
    "Grey Horn",
    "Olive",
]
FRAME_MATERIAL = {
    "classic": "acetate",
    "sporty": "O Matter nylon",
    "luxury": "hand-polished acetate",
    "rimless": "titanium (rimless, drill-mounted)",
    "titanium": "pure titanium",
    "business": "stainless steel",
    "fashion": "acetate",
    "casual": "acetate",
    "country": "acetate with metal temples",
    "value": "acetate",
    "children": "flexible TR90 nylon",
}

LENS_LINES: list[dict[str, Any]] = [
    # Single vision
    {
        "brand": "OptiQ",
        "model": "Single Vision 1.50",
        "type": LensType.SINGLE_VISION,
        "index": "1.50",
        "material": LensMaterial.CR39,
        "price": 60,
        "supplier": "Central Optical Lab",
    },
    {
        "brand": "OptiQ",
        "model": "Single Vision 1.60 Thin",
        "type": LensType.SINGLE_VISION,
        "index": "1.60",
        "material": LensMaterial.HIGH_INDEX,
        "price": 120,
        "supplier": "Central Optical Lab",
    },
    {
        "brand": "OptiQ",
        "model": "Single Vision 1.67 Extra Thin",
        "type": LensType.SINGLE_VISION,
        "index": "1.67",
        "material": LensMaterial.HIGH_INDEX,
        "price": 170,
        "supplier": "Central Optical Lab",
    },
    {
        "brand": "OptiQ",
        "model": "Single Vision 1.74 Ultra Thin",
        "type": LensType.SINGLE_VISION,
        "index": "1.74",
        "material": LensMaterial.HIGH_INDEX,
        "price": 240,
        "supplier": "Central Optical Lab",
    },
    {
        "brand": "Hoya",
        "model": "Hilux Trivex 1.53",
        "type": LensType.SINGLE_VISION,
        "index": "1.53",
        "material": LensMaterial.TRIVEX,
        "price": 110,
        "supplier": "Hoya Lens UK",
    },
    {
        "brand": "Zeiss",
        "model": "SmartLife Single Vision 1.59 Polycarbonate",
        "type": LensType.SINGLE_VISION,
        "index": "1.59",
        "material": LensMaterial.POLYCARBONATE,
        "price": 150,
        "supplier": "Carl Zeiss Vision UK",
    },
    {
        "brand": "Zeiss",
        "model": "ClearView Single Vision 1.67",
        "type": LensType.SINGLE_VISION,
        "index": "1.67",
        "material": LensMaterial.HIGH_INDEX,
        "price": 210,
        "supplier": "Carl Zeiss Vision UK",
    },
    # Progressives
    {
        "brand": "OptiQ",
        "model": "Progressive Standard 1.50",
        "type": LensType.PROGRESSIVE,
        "index": "1.50",
        "material": LensMaterial.CR39,
        "price": 195,
        "supplier": "Central Optical Lab",
    },
    {
        "brand": "Essilor",
        "model": "Varilux Comfort Max 1.50",
        "type": LensType.PROGRESSIVE,
        "index": "1.50",
        "material": LensMaterial.CR39,
        "price": 345,
        "supplier": "Essilor UK",
    },
    {
        "brand": "Essilor",
        "model": "Varilux Comfort Max 1.60",
        "type": LensType.PROGRESSIVE,
        "index": "1.60",
        "material": LensMaterial.HIGH_INDEX,
        "price": 395,
        "supplier": "Essilor UK",
    },
    {
        "brand": "Essilor",
        "model": "Varilux XR Series 1.67",
        "type": LensType.PROGRESSIVE,
        "index": "1.67",
        "material": LensMaterial.HIGH_INDEX,
        "price": 545,
        "supplier": "Essilor UK",
    },
    {
        "brand": "Essilor",
        "model": "Varilux XR Series 1.74",
        "type": LensType.PROGRESSIVE,
        "index": "1.74",
        "material": LensMaterial.HIGH_INDEX,
        "price": 595,
        "supplier": "Essilor UK",
    },
    {
        "brand": "Zeiss",
        "model": "SmartLife Progressive 1.60",
        "type": LensType.PROGRESSIVE,
        "index": "1.60",
        "material": LensMaterial.HIGH_INDEX,
        "price": 425,
        "supplier": "Carl Zeiss Vision UK",
    },
    {
        "brand": "Hoya",
        "model": "Hoyalux iD MyStyle V+ 1.67",
        "type": LensType.PROGRESSIVE,
        "index": "1.67",
        "material": LensMaterial.HIGH_INDEX,
        "price": 495,
        "supplier": "Hoya Lens UK",
    },
    # Bifocals
    {
        "brand": "OptiQ",
        "model": "Bifocal D28 1.50",
        "type": LensType.BIFOCAL,
        "index": "1.50",
        "material": LensMaterial.CR39,
        "price": 120,
        "supplier": "Central Optical Lab",
    },
    {
        "brand": "OptiQ",
        "model": "Bifocal D28 1.60",
        "type": LensType.BIFOCAL,
        "index": "1.60",
        "material": LensMaterial.HIGH_INDEX,
        "price": 175,
        "supplier": "Central Optical Lab",
    },
    {
        "brand": "Zeiss",
        "model": "Executive Bifocal 1.50",
        "type": LensType.BIFOCAL,
        "index": "1.50",
        "material": LensMaterial.CR39,
        "price": 220,
        "supplier": "Carl Zeiss Vision UK",
    },
    # Occupational
    {
        "brand": "Zeiss",
        "model": "Officelens Room 1.60",
        "type": LensType.OCCUPATIONAL,
        "index": "1.60",
        "material": LensMaterial.HIGH_INDEX,
        "price": 265,
        "supplier": "Carl Zeiss Vision UK",
    },
    {
        "brand": "Essilor",
        "model": "Eyezen Start Desk 1.60",
        "type": LensType.OCCUPATIONAL,
        "index": "1.60",
        "material": LensMaterial.HIGH_INDEX,
        "price": 215,
        "supplier": "Essilor UK",
    },
    {
        "brand": "Hoya",
        "model": "Hoyalux Tact 1.50",
        "type": LensType.OCCUPATIONAL,
        "index": "1.50",
        "material": LensMaterial.CR39,
        "price": 180,
        "supplier": "Hoya Lens UK",
    },
]
COATING_PACKAGES: list[tuple[str, list[str], int]] = [
    # name suffix, coatings, price uplift (GBP per pair)
    ("Hard Coat", [Coating.HARD_COAT, Coating.UV], 0),
    ("Anti-Reflective", [Coating.ANTI_REFLECTIVE, Coating.HARD_COAT, Coating.UV], 35),
    ("Blue Filter", [Coating.BLUE_FILTER, Coating.ANTI_REFLECTIVE, Coating.HARD_COAT, Coating.UV], 55),
    ("Transitions", [Coating.PHOTOCHROMIC, Coating.ANTI_REFLECTIVE, Coating.HARD_COAT, Coating.UV], 95),
]
LENS_TYPE_TEXT = {
    LensType.SINGLE_VISION: "one power across the whole lens, for distance, reading or computer use",
    LensType.PROGRESSIVE: "a smooth corridor from distance through intermediate to near with no visible line, "
    "for presbyopes who want one pair for everything",
    LensType.BIFOCAL: "a distance lens with a visible D-shaped reading segment; quick to adapt to and good value",
    LensType.OCCUPATIONAL: "an enhanced reader tuned for the desk and the room (screen and meeting distances), "
    "wider intermediate and near zones than a progressive",
}
COATING_TEXT: dict[str, str] = {
    Coating.ANTI_REFLECTIVE: "multi-layer anti-reflective coating (fewer reflections, less night-driving glare)",
    Coating.BLUE_FILTER: "blue-violet light filter for heavy screen users",
    Coating.PHOTOCHROMIC: "photochromic (darkens outdoors in UV, clear indoors)",
    Coating.HARD_COAT: "scratch-resistant hard coat",
    Coating.UV: "full UV400 protection",
}

CONTACT_LENSES: list[tuple[str, str, str, int, str]] = [
    # brand, model/pack, replacement, price, note
    (
        "Johnson & Johnson",
        "Acuvue Oasys 6 pack",
        "two-weekly",
        27,
        "silicone hydrogel, very comfortable for screen users",
    ),
    ("Johnson & Johnson", "Acuvue Oasys 1-Day 30 pack", "daily", 32, "daily disposable silicone hydrogel"),
    (
        "Johnson & Johnson",
        "Acuvue Oasys 1-Day 90 pack",
        "daily",
        85,
        "daily disposable silicone hydrogel, 3-month supply",
    ),
    ("Johnson & Johnson", "Acuvue Moist 1-Day 30 pack", "daily", 25, "daily hydrogel with lacreon wetting agent"),
    ("Johnson & Johnson", "Acuvue Oasys for Astigmatism 6 pack", "two-weekly", 36, "toric for astigmatism"),
    ("Johnson & Johnson", "Acuvue Moist Multifocal 30 pack", "daily", 38, "daily multifocal for presbyopes"),
    ("Alcon", "Dailies Total1 30 pack", "daily", 39, "water-gradient silicone hydrogel daily"),
    ("Alcon", "Dailies Total1 90 pack", "daily", 105, "water-gradient daily, 3-month supply"),
    ("Alcon", "Dailies AquaComfort Plus 30 pack", "daily", 22, "value daily hydrogel"),
    ("Alcon", "Dailies AquaComfort Plus Toric 30 pack", "daily", 29, "daily toric for astigmatism"),
    ("Alcon", "Dailies AquaComfort Plus Multifocal 30 pack", "daily", 32, "daily multifocal"),
    ("Alcon", "Air Optix plus HydraGlyde 6 pack", "monthly", 34, "monthly silicone hydrogel"),
    ("Alcon", "Air Optix for Astigmatism 6 pack", "monthly", 42, "monthly toric"),
    ("Alcon", "Air Optix Night & Day Aqua 6 pack", "monthly", 48, "approved for continuous wear up to 30 nights"),
    ("CooperVision", "Biofinity 6 pack", "monthly", 29, "monthly silicone hydrogel, Aquaform technology"),
    ("CooperVision", "Biofinity Toric 6 pack", "monthly", 38, "monthly toric"),
    ("CooperVision", "Biofinity Multifocal 6 pack", "monthly", 45, "monthly multifocal"),
    ("CooperVision", "MyDay 30 pack", "daily", 33, "daily silicone hydrogel"),
    ("CooperVision", "MyDay 90 pack", "daily", 89, "daily silicone hydrogel, 3-month supply"),
    ("CooperVision", "MyDay Toric 30 pack", "daily", 38, "daily toric"),
    ("CooperVision", "clariti 1 day 30 pack", "daily", 19, "value daily silicone hydrogel"),
    ("CooperVision", "MiSight 1 day 30 pack", "daily", 45, "myopia control for children"),
    ("Bausch + Lomb", "Biotrue ONEday 30 pack", "daily", 21, "daily hydrogel matching the eye's water content"),
    ("Bausch + Lomb", "Ultra 6 pack", "monthly", 32, "monthly silicone hydrogel with MoistureSeal"),
    ("Bausch + Lomb", "Ultra for Astigmatism 6 pack", "monthly", 40, "monthly toric"),
    ("Bausch + Lomb", "Ultra for Presbyopia 6 pack", "monthly", 44, "monthly multifocal"),
    ("Bausch + Lomb", "SofLens Daily Disposable 30 pack", "daily", 18, "value daily hydrogel"),
    ("Menicon", "Miru 1day Flat Pack 30 pack", "daily", 26, "ultra-thin flat-pack daily"),
    ("Menicon", "Miru 1month 6 pack", "monthly", 30, "monthly silicone hydrogel"),
    ("Johnson & Johnson", "1-Day Acuvue Define 30 pack", "daily", 29, "cosmetic limbal-ring daily"),
]

SOLUTIONS: list[tuple[str, str, int, str]] = [
    ("Alcon", "Opti-Free PureMoist 300ml", 12, "multipurpose soft lens solution, 300 ml with case"),
    ("Alcon", "Opti-Free PureMoist travel pack 90ml", 5, "travel-size multipurpose solution"),
    ("Alcon", "AOSept Plus HydraGlyde 360ml", 13, "hydrogen peroxide one-step cleaning system with neutraliser case"),
    ("Bausch + Lomb", "Biotrue multipurpose 300ml", 11, "multipurpose solution matched to tear pH"),
    ("Bausch + Lomb", "ReNu MultiPlus 360ml", 10, "multipurpose solution"),
    ("Bausch + Lomb", "Boston Simplus 105ml", 14, "one-bottle solution for rigid gas-permeable lenses"),
    ("Abbott", "Complete RevitaLens 360ml", 11, "multipurpose disinfecting solution"),
    ("Sauflon", "All in One Light 360ml", 8, "value multipurpose solution"),
    ("Hycosan", "Hycosan Original eye drops 7.5ml", 10, "preservative-free hyaluronate lubricating drops for dry eye"),
    ("Hycosan", "Hycosan Extra eye drops 7.5ml", 12, "higher-viscosity lubricating drops for moderate dry eye"),
    ("Théa", "Thealoz Duo eye drops 10ml", 14, "trehalose and hyaluronate drops for dry eye"),
    ("Théa", "Blephaclean eyelid wipes x20", 13, "sterile eyelid wipes for blepharitis"),
    ("Optase", "Optase Moist Heat Mask", 22, "reusable heated eye mask for meibomian gland dysfunction"),
    ("Alcon", "Systane Ultra eye drops 10ml", 11, "lubricating drops for dry eye"),
    ("Scope", "Hyabak eye drops 10ml", 12, "preservative-free lubricating drops, suitable with contact lenses"),
]

ACCESSORIES: list[tuple[str, str, int, str]] = [
    ("OptiQ", "Hard clamshell spectacle case", 8, "protective hard case"),
    ("OptiQ", "Slim folding spectacle case", 10, "folding case that packs flat"),
    ("OptiQ", "Kids' zip case", 6, "bright zip case for children's glasses"),
    ("OptiQ", "Microfibre cleaning cloth", 3, "lint-free cloth"),
    ("OptiQ", "Lens cleaning spray 30ml", 5, "alcohol-free spray safe on coated lenses"),
    ("OptiQ", "Lens cleaning spray 60ml with cloth", 8, "spray and cloth kit"),
    ("Zeiss", "Lens cleaning wipes x30", 6, "individually wrapped pre-moistened wipes"),
    ("OptiQ", "Anti-fog wipes x10", 7, "reduces mask and steam fogging"),
    ("OptiQ", "Spectacle cord, black", 5, "adjustable neck cord"),
    ("OptiQ", "Leather spectacle chain, tan", 12, "leather chain with rubber loops"),
    ("OptiQ", "Sports strap (kids)", 9, "adjustable strap that keeps glasses on during sport"),
    ("OptiQ", "Spectacle repair kit", 6, "mini screwdriver and screws"),
    ("OptiQ", "Contact lens case, triple pack", 4, "screw-top lens cases"),
    ("OptiQ", "Contact lens tweezers", 4, "soft-tip tweezers"),
    ("OptiQ", "Polarised clip-on sun lenses", 35, "clip-ons cut to fit, polarised grey"),
    ("OptiQ", "Magnetic clip-on (Essentials range)", 25, "magnetic sun clip for Essentials frames"),
    ("OptiQ", "Ready readers +1.50", 15, "off-the-shelf readers; not a substitute for an eye exam"),
    ("OptiQ", "Ready readers +2.00", 15, "off-the-shelf readers; not a substitute for an eye exam"),
    ("OptiQ", "Ready readers +2.50", 15, "off-the-shelf readers; not a substitute for an eye exam"),
    ("Eschenbach", "Illuminated hand magnifier 3x", 39, "LED hand magnifier for low vision"),
    ("Eschenbach", "Stand magnifier 4x", 45, "stand magnifier for reading"),
    ("OptiQ", "Swimming goggles with prescription", 49, "ready-made prescription goggles in -1.50 to -8.00"),
    ("OptiQ", "Gift voucher £25", 25, "practice gift voucher"),
    ("OptiQ", "Nose pads replacement pair", 3, "silicone push-on nose pads"),
    ("OptiQ", "Blue-light clip-on", 19, "blue-filter clip for existing frames"),
]


def build_catalogue(rng: random.Random, target: int = 300) -> list[dict[str, Any]]:
    """About ``target`` products across every category, each with a description."""
    products: list[dict[str, Any]] = []

    def add(**fields: Any) -> None:
        fields.setdefault("coatings", [])
        fields.setdefault("colour", "")
        products.append(fields)

    # Contact lenses, solutions and accessories are fixed lists; frames and lenses fill the rest.
    for brand, model, replacement, price, note in CONTACT_LENSES:
        add(
            category=Category.CONTACT_LENS,
            brand=brand,
            model=model,
            price=D(price),
            tax_rate=D("20.00"),
            cost_price=(D(price) * D("0.52")).quantize(D("0.01")),
            supplier=f"{brand} UK",
            reorder_level=6,
            description=f"{brand} {model}: {replacement} replacement contact lenses, {note}. Sold by the box; "
            f"fitted to a current contact lens specification with aftercare.",
        )
    for brand, model, price, note in SOLUTIONS:
        add(
            category=Category.SOLUTION,
            brand=brand,
            model=model,
            price=D(price),
            tax_rate=D("20.00"),
            cost_price=(D(price) * D("0.45")).quantize(D("0.01")),
            supplier=f"{brand} UK",
            reorder_level=8,
            description=f"{brand} {model}: {note}.",
        )
    for brand, model, price, note in ACCESSORIES:
        add(
            category=Category.ACCESSORY,
            brand=brand,
            model=model,
            price=D(price),
            tax_rate=D("0.00") if "voucher" in model.lower() else D("20.00"),
            cost_price=(D(price) * D("0.35")).quantize(D("0.01")),
            supplier="Central Optical Supplies",
            reorder_level=3 if price > 20 else 10,
            description=f"{brand} {model}: {note}.",
        )

    for line in LENS_LINES:
        for suffix, coatings, uplift in COATING_PACKAGES:
            if line["type"] == LensType.BIFOCAL and suffix == "Transitions" and line["brand"] == "Zeiss":
                continue
            pair_price = D(line["price"] + uplift)
            coating_text = "; ".join(COATING_TEXT[c] for c in coatings)
            add(
                category=Category.SPECTACLE_LENS,
                brand=line["brand"],
                model=f"{line['model']} {suffix}",
                lens_type=line["type"],
                lens_material=line["material"],
                lens_index=D(line["index"]),
                coatings=list(coatings),
                price=pair_price,
                tax_rate=D("20.00"),
                cost_price=(pair_price * D("0.30")).quantize(D("0.01")),
                supplier=line["supplier"],
                reorder_level=4,
                description=(
                    f"{line['brand']} {line['model']} {suffix} — {LensType(line['type']).label.lower()} spectacle "
                    f"lenses (priced per pair): {LENS_TYPE_TEXT[line['type']]}. Material "
                    f"{LensMaterial(line['material']).label}, index {line['index']}"
                    + (" (thinner and lighter for stronger prescriptions)" if D(line["index"]) >= D("1.60") else "")
                    + f". Includes {coating_text}."
                ),
            )

    remaining = max(target - len(products), 12)  # a catalogue always has some frames
    frames: list[dict[str, Any]] = []
    while len(frames) < remaining:
        for brand, supplier, models, (low, high), style in FRAME_BRANDS:
            for model in models:
                if len(frames) >= remaining:
                    break
                colour = rng.choice(FRAME_COLOURS)
                if any(f["brand"] == brand and f["model"] == model and f["colour"] == colour for f in frames):
                    continue
                child = style == "children" or "Kids" in model
                eye = rng.randint(40, 46) if child else rng.choice([49, 50, 51, 52, 53, 54, 55, 56])
                bridge = rng.randint(14, 16) if child else rng.randint(16, 21)
                temple = rng.choice([125, 130]) if child else rng.choice([135, 140, 145, 150])
                frame_price = D(rng.randrange(low, high + 1, 10))
                frame_price = (frame_price // 10) * 10 + 9  # retail prices end in 9
                frames.append(
                    dict(
                        category=Category.FRAME,
                        brand=brand,
                        model=model,
                        colour=colour,
                        frame_eye_size=eye,
                        frame_bridge=bridge,
                        frame_temple=temple,
                        price=frame_price,
                        tax_rate=D("20.00"),
                        cost_price=(frame_price * D("0.40")).quantize(D("0.01")),
                        supplier=supplier,
                        reorder_level=1,
                        coatings=[],
                        description=(
                            f"{brand} {model} in {colour.lower()}, size {eye}-{bridge}-{temple} (eye-bridge-temple). "
                            f"{style.capitalize()} {'children' if child else 'adult'} frame in {FRAME_MATERIAL[style]}"
                            + (
                                ", sized for small faces"
                                if child or eye <= 49
                                else ", suits wider faces"
                                if eye >= 55
                                else ""
                            )
                            + ". Takes single vision, bifocal and progressive lenses."
                        ),
                    )
                )
    products.extend(frames)
    prefixes = {
        Category.FRAME: "FR",
        Category.SPECTACLE_LENS: "SL",
        Category.CONTACT_LENS: "CL",
        Category.ACCESSORY: "AC",
        Category.SOLUTION: "SO",
    }
    counters: dict[str, int] = {}
    for product in products:
        prefix = prefixes[product["category"]]
        counters[prefix] = counters.get(prefix, 0) + 1
        brand_code = "".join(ch for ch in product["brand"].upper() if ch.isalpha())[:3]
        product["sku"] = f"{prefix}-{brand_code}-{counters[prefix]:04d}"
    return products
