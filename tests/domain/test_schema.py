"""Vocabulary: aliases and value normalisation, Chinese and English."""

import numpy as np
import pandas as pd
import pytest

from grid_planning.domain import rules, schema


@pytest.mark.parametrize("code", schema.TYPES)
def test_every_canonical_type_maps_to_itself(code):
    assert schema.normalise_type(code) == code
    assert schema.normalise_type(code.upper()) == code


@pytest.mark.parametrize("code", schema.LEVELS)
def test_every_canonical_level_maps_to_itself(code):
    assert schema.normalise_level(code) == code


@pytest.mark.parametrize("code", schema.OWNER_LEVELS)
def test_every_canonical_owner_maps_to_itself(code):
    assert schema.normalise_owner(code) == code


@pytest.mark.parametrize(
    ("raw", "level"),
    [("三级甲等", "tertiary"), ("三甲", "tertiary"), ("三乙", "tertiary"), ("二级甲等", "secondary"),
     ("二甲", "secondary"), ("一级", "primary"), ("未定级", "unknown"), ("Tertiary", "tertiary"),
     (None, "unknown"), ("gold", None)],
)
def test_levels(raw, level):
    assert schema.normalise_level(raw) == level


@pytest.mark.parametrize(
    ("raw", "type_"),
    [("综合医院", "general"), ("中医医院", "tcm"), ("中西医结合医院", "tcm"), ("妇幼保健院", "maternal_child"),
     ("康复医院", "rehabilitation"), ("护理院", "nursing"), ("疾控中心", "public_health"),
     ("社区卫生服务中心", "community_health_center"), ("乡镇卫生院", "township_health_center"),
     ("诊所", "clinic"), ("区妇幼保健计划生育服务中心", "maternal_child"), ("spaceport", None)],
)
def test_types(raw, type_):
    assert schema.normalise_type(raw) == type_


def test_owner_levels():
    assert [schema.normalise_owner(v) for v in ("省属", "市属", "区属", "县属", "军队", None, "？？")] == [
        "provincial", "municipal", "district", "county", "other", "unknown", None]


def test_column_aliases_any_language_and_case():
    cols = ["机构名称", "LEVEL", "经度", "纬度", "床位数", "Type", "隶属", "extra"]
    assert schema.resolve_columns(cols, schema.FACILITY_ALIASES) == {
        "机构名称": "name", "LEVEL": "level", "经度": "lon", "纬度": "lat", "床位数": "beds",
        "Type": "type", "隶属": "owner_level"}


def test_eligible_leads_exclude_provincial_specialty_and_campuses():
    df = pd.DataFrame({
        "level": ["tertiary", "tertiary", "tertiary", "secondary", "tertiary", "tertiary"],
        "type": ["general", "tcm", "specialty", "general", "general", "general"],
        "owner_level": ["municipal", "district", "municipal", "district", "provincial", "municipal"],
        "parent_id": ["", None, "", "", "", "H1"],
    })
    assert rules.g4_eligible(df).tolist() == [True, True, False, False, False, False]
    assert rules.g5_qualifies(pd.DataFrame({"level": ["secondary", "other", "secondary"],
                                        "type": ["general", "nursing", "specialty"]})).tolist() == [True, True, False]


def test_campus_is_one_rule_for_the_plan_and_for_the_reason_given():
    """Whether a row names a parent institution is decided once: the eligibility mask and the
    fields a refusal names agree on every way a file leaves it empty, and on a real parent."""
    values = ["", None, np.nan, pd.NA, "nan", "None", " none ", "H1", " H2 ", "0"]
    df = pd.DataFrame({"level": "tertiary", "type": "general", "owner_level": "municipal",
                       "parent_id": pd.Series(values, dtype=object)})
    campus = rules.is_campus(df).tolist()
    assert campus == [False] * 7 + [True] * 3
    named = ["parent_id" in rules.g4_ineligible_fields(row) for _, row in df.iterrows()]
    assert named == campus
    assert rules.g4_eligible(df).tolist() == [not c for c in campus]
