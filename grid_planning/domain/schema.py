"""Vocabulary of the planner: canonical columns, their Chinese/English aliases, and value normalisation.

Everything that reads user data goes through this module so that a column called ``机构名称`` or ``Name``
becomes ``name`` and a level written ``三级甲等`` becomes ``tertiary`` in exactly one place.

The canonical vocabularies follow ``data-format.md``:

- ``level``: tertiary / secondary / primary / other / unknown
- ``type``: general, tcm, specialty, maternal_child, rehabilitation, nursing, public_health,
  community_health_center, township_health_center, clinic, other
- ``owner_level``: national / provincial / municipal / district / county / other / unknown
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

import pandas as pd

LEVELS: tuple[str, ...] = ("tertiary", "secondary", "primary", "other", "unknown")


TYPES: tuple[str, ...] = (
    "general",
    "tcm",
    "specialty",
    "maternal_child",
    "rehabilitation",
    "nursing",
    "public_health",
    "community_health_center",
    "township_health_center",
    "clinic",
    "other",
)


OWNER_LEVELS: tuple[str, ...] = (
    "national",
    "provincial",
    "municipal",
    "district",
    "county",
    "other",
    "unknown",
)


ROLES: tuple[str, ...] = ("lead", "member", "primary", "cross_grid", "collaborator", "outside")


# The rules themselves (who may lead, which members count for G5, who collaborates) live in
# grid_planning.domain.rules; these are the vocabularies they are written in.
#: Types that count as "general" for the lead rule G4 (TCM hospitals count as general).
LEAD_TYPES = frozenset({"general", "tcm"})


#: Owner levels a lead may have (G4); provincial/national hospitals are collaborators (G8).
LEAD_OWNER_LEVELS = frozenset({"municipal", "district", "county"})


#: Owner levels whose hospitals are external collaborators (G8).
COLLABORATOR_OWNER_LEVELS = frozenset({"national", "provincial"})


#: Continuing-care types that satisfy G5 on their own (any level).
CONTINUING_CARE_TYPES = frozenset({"rehabilitation", "nursing"})


#: Types that may serve across grids (G7).
CROSS_GRID_TYPES = frozenset({"maternal_child", "public_health", "rehabilitation", "nursing"})


#: Primary-care types: each belongs to the one grid it lies in (G6).
PRIMARY_CARE_TYPES = frozenset({"community_health_center", "township_health_center", "clinic"})


#: Levels counted as "secondary or higher" for coverage metrics.
SECONDARY_OR_HIGHER = frozenset({"secondary", "tertiary"})


# --- column aliases ---------------------------------------------------------------------------
# Keys are canonical names; values are accepted spellings (compared case-insensitively after
# stripping spaces, underscores and full-width characters).
FACILITY_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "机构编码", "机构代码", "code", "fid"),
    "name": ("name", "名称", "机构名称", "医院名称", "单位名称"),
    "level": ("level", "等级", "级别", "医院等级", "grade"),
    "type": ("type", "类型", "机构类别", "机构类型", "类别", "category"),
    "owner_level": ("owner_level", "owner", "隶属", "主管级别", "隶属关系", "隶属级别"),
    "beds": ("beds", "床位", "床位数", "编制床位", "实有床位", "bed_count"),
    "lon": ("lon", "lng", "long", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "source": ("source", "来源", "数据来源"),
    "level_source": ("level_source", "等级来源"),
    "district": ("district", "区", "所在区", "区县"),
    "outpatient_slots": ("outpatient_slots", "门诊号源", "门诊号源数", "日门诊号源"),
    # what the lead actually sends down to primary care (checklist item 8), when an office records it
    "beds_down": ("beds_down", "beds_sent_down", "下沉床位", "下沉床位数"),
    "slots_down": ("slots_down", "slots_sent_down", "下沉号源", "下沉号源数", "下沉门诊号源"),
    "parent_id": ("parent_id", "所属机构", "院区所属", "parent"),
}


UNIT_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "代码", "code", "unit_id"),
    "name": ("name", "名称", "街道", "乡镇", "街道名称"),
    "population": ("population", "pop", "人口", "常住人口", "人口数"),
    "pop_65plus": ("pop_65plus", "age_65_plus", "65岁以上", "65岁及以上", "老年人口"),
    "district": ("district", "区", "所在区", "区县"),
}


POINT_POPULATION_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": FACILITY_ALIASES["lon"],
    "lat": FACILITY_ALIASES["lat"],
    "population": UNIT_ALIASES["population"],
    "pop_65plus": UNIT_ALIASES["pop_65plus"],
}


ROAD_ALIASES: dict[str, tuple[str, ...]] = {
    "highway": ("highway", "class", "fclass", "道路等级", "等级", "road_class"),
    "speed_kmh": ("speed_kmh", "speed", "maxspeed", "速度", "限速", "设计速度"),
}


def fold_text(text: object) -> str:
    """Fold a header or value for comparison: NFKC (full-width -> ASCII), lower case, no separators."""
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return re.sub(r"[\s_\-\.()（）]+", "", s)


#: A dBase (.dbf) field name holds at most this many bytes: Shapefile writers cut longer names.
DBF_NAME_BYTES = 10


def dbf_truncations(spelling: str) -> set[str]:
    """The names a Shapefile writer leaves of ``spelling`` when it is longer than 10 bytes.

    The cut is in bytes of the file's encoding: ``outpatient_slots`` becomes ``outpatient``,
    ``常住人口`` (12 bytes in UTF-8) becomes ``常住人`` plus a partial character, which readers drop
    (GBK keeps 5 Chinese characters). Returns an empty set when the name fits.
    """
    out: set[str] = set()
    for codec in ("utf-8", "gb18030"):
        raw = spelling.encode(codec)
        if len(raw) > DBF_NAME_BYTES:
            cut = raw[:DBF_NAME_BYTES].decode(codec, errors="ignore").strip()
            if cut:
                out.add(cut)
    return out


def _fold_cut(text: object) -> str:
    # A reader may show the cut character as U+FFFD instead of dropping it.
    return fold_text(str(text).rstrip("\ufffd?"))


def resolve_columns(
    columns: Iterable[object], aliases: Mapping[str, tuple[str, ...]]
) -> dict[object, str]:
    """Map the columns of a table onto canonical names.

    Parameters
    ----------
    columns : iterable
        Column labels as read from the file (any language, any case).
    aliases : mapping
        Canonical name -> accepted spellings, e.g. :data:`FACILITY_ALIASES`.

    Returns
    -------
    dict
        ``{original_label: canonical_name}`` for every column recognised. The first column that
        matches a canonical name wins; later duplicates are left under their own name so they are
        carried through untouched. A Shapefile's 10-byte cut of a spelling (``owner_leve``,
        ``level_sour``, ``常住人``; see :func:`dbf_truncations`) is recognised too, after every
        exact spelling, and only when it is not the cut of two different canonical names.
    """
    lookup: dict[str, str] = {}
    for canonical, spellings in aliases.items():
        for spelling in spellings:
            lookup.setdefault(fold_text(spelling), canonical)
    cut_lookup: dict[str, str | None] = {}
    for canonical, spellings in aliases.items():
        for spelling in spellings:
            for cut in dbf_truncations(spelling):
                key = fold_text(cut)
                if key in lookup:
                    continue
                if cut_lookup.get(key, canonical) != canonical:
                    cut_lookup[key] = None  # the cut of two canonical names: not recognised
                else:
                    cut_lookup[key] = canonical
    mapping: dict[object, str] = {}
    taken: set[str] = set()
    columns = list(columns)
    for col in columns:
        canonical = lookup.get(fold_text(col))
        if canonical is not None and canonical not in taken:
            mapping[col] = canonical
            taken.add(canonical)
    for col in columns:
        if col in mapping:
            continue
        canonical = cut_lookup.get(_fold_cut(col))
        if canonical is not None and canonical not in taken:
            mapping[col] = canonical
            taken.add(canonical)
    return mapping


# --- value normalisation ---------------------------------------------------------------------
_LEVEL_EXACT: dict[str, str] = {
    "tertiary": "tertiary",
    "3": "tertiary",
    "iii": "tertiary",
    "secondary": "secondary",
    "2": "secondary",
    "ii": "secondary",
    "primary": "primary",
    "1": "primary",
    "i": "primary",
    "other": "other",
    "unknown": "unknown",
    "未定级": "unknown",
    "未评级": "unknown",
    "无": "unknown",
    "": "unknown",
}


_LEVEL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("三级", "tertiary"),
    ("三甲", "tertiary"),
    ("三乙", "tertiary"),
    ("三丙", "tertiary"),
    ("三", "tertiary"),
    ("二级", "secondary"),
    ("二甲", "secondary"),
    ("二乙", "secondary"),
    ("二丙", "secondary"),
    ("二", "secondary"),
    ("一级", "primary"),
    ("一甲", "primary"),
    ("一乙", "primary"),
    ("一", "primary"),
    ("tertiary", "tertiary"),
    ("secondary", "secondary"),
    ("primary", "primary"),
    ("level3", "tertiary"),
    ("level2", "secondary"),
    ("level1", "primary"),
    ("grade3", "tertiary"),
    ("grade2", "secondary"),
    ("grade1", "primary"),
)


_TYPE_EXACT: dict[str, str] = {t: t for t in TYPES} | {
    "tcm_hospital": "tcm",
    "chc": "community_health_center",
    "thc": "township_health_center",
    "cdc": "public_health",
    "综合": "general",
    "综合医院": "general",
    "中医": "tcm",
    "中医院": "tcm",
    "中医医院": "tcm",
    "中西医结合医院": "tcm",
    "民族医医院": "tcm",
    "专科": "specialty",
    "专科医院": "specialty",
    "妇幼": "maternal_child",
    "妇幼保健院": "maternal_child",
    "妇幼保健机构": "maternal_child",
    "妇幼保健计划生育服务中心": "maternal_child",
    "康复": "rehabilitation",
    "康复医院": "rehabilitation",
    "护理": "nursing",
    "护理院": "nursing",
    "护理中心": "nursing",
    "护理站": "nursing",
    "公共卫生": "public_health",
    "疾控中心": "public_health",
    "疾病预防控制中心": "public_health",
    "专业公共卫生机构": "public_health",
    "社区卫生服务中心": "community_health_center",
    "社区卫生服务站": "community_health_center",
    "社区卫生院": "community_health_center",
    "乡镇卫生院": "township_health_center",
    "卫生院": "township_health_center",
    "中心卫生院": "township_health_center",
    "诊所": "clinic",
    "门诊部": "clinic",
    "卫生室": "clinic",
    "村卫生室": "clinic",
    "其他": "other",
}


_TYPE_KEYWORDS: tuple[tuple[str, str], ...] = (
    # Order matters: the most specific keyword first.
    ("社区卫生服务", "community_health_center"),
    ("乡镇卫生院", "township_health_center"),
    ("卫生院", "township_health_center"),
    ("妇幼", "maternal_child"),
    ("疾控", "public_health"),
    ("疾病预防", "public_health"),
    ("康复", "rehabilitation"),
    ("护理", "nursing"),
    ("中西医", "tcm"),
    ("中医", "tcm"),
    ("综合", "general"),
    ("专科", "specialty"),
    ("诊所", "clinic"),
    ("卫生室", "clinic"),
)


_OWNER_EXACT: dict[str, str] = {o: o for o in OWNER_LEVELS} | {
    "national": "national",
    "国家": "national",
    "国家级": "national",
    "委属": "national",
    "部属": "national",
    "中央": "national",
    "省": "provincial",
    "省属": "provincial",
    "省级": "provincial",
    "省管": "provincial",
    "province": "provincial",
    "市": "municipal",
    "市属": "municipal",
    "市级": "municipal",
    "地市级": "municipal",
    "city": "municipal",
    "区": "district",
    "区属": "district",
    "区级": "district",
    "县": "county",
    "县属": "county",
    "县级": "county",
    "县级市": "county",
    "军队": "other",
    "部队": "other",
    "企业": "other",
    "民营": "other",
    "社会办": "other",
    "私立": "other",
    "其他": "other",
    "": "unknown",
    "未知": "unknown",
}


# The exact tables are looked up with folded values, so fold their keys the same way once
# (otherwise "community_health_center" would never match its own canonical code).
_LEVEL_EXACT = {fold_text(k): v for k, v in _LEVEL_EXACT.items()}


_TYPE_EXACT = {fold_text(k): v for k, v in _TYPE_EXACT.items()}


_OWNER_EXACT = {fold_text(k): v for k, v in _OWNER_EXACT.items()}


_LEVEL_PREFIXES = tuple((fold_text(k), v) for k, v in _LEVEL_PREFIXES)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def normalise_level(value: object) -> str | None:
    """Canonical hospital level for a raw value, or ``None`` when it cannot be read.

    Examples
    --------
    >>> normalise_level("三级甲等"), normalise_level("二甲"), normalise_level("未定级")
    ('tertiary', 'secondary', 'unknown')
    >>> normalise_level(None)
    'unknown'
    >>> normalise_level("gold") is None
    True
    """
    if _is_missing(value):
        return "unknown"
    folded = fold_text(value)
    if folded in _LEVEL_EXACT:
        return _LEVEL_EXACT[folded]
    for prefix, level in _LEVEL_PREFIXES:
        if folded.startswith(prefix):
            return level
    return None


def normalise_type(value: object) -> str | None:
    """Canonical facility type for a raw value (English code or Chinese category), or ``None``.

    Examples
    --------
    >>> normalise_type("社区卫生服务中心"), normalise_type("TCM"), normalise_type("妇幼保健院")
    ('community_health_center', 'tcm', 'maternal_child')
    """
    if _is_missing(value):
        return "other"
    folded = fold_text(value)
    if folded in _TYPE_EXACT:
        return _TYPE_EXACT[folded]
    for keyword, type_ in _TYPE_KEYWORDS:
        if keyword in folded:
            return type_
    return None


def normalise_owner(value: object) -> str | None:
    """Canonical owner level (省属 -> provincial, 区属 -> district, ...), or ``None``.

    Examples
    --------
    >>> normalise_owner("省属"), normalise_owner("Municipal"), normalise_owner(None)
    ('provincial', 'municipal', 'unknown')
    """
    if _is_missing(value):
        return "unknown"
    folded = fold_text(value)
    if folded in _OWNER_EXACT:
        return _OWNER_EXACT[folded]
    return None
