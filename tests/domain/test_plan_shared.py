"""A plan and its figures are shared by every session of a server that asked for them (the plan and
figure caches): no session can change them in place."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest

from grid_planning.base.frozen import FrozenDict, FrozenList
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.request import PlanRequest
from grid_planning.session.workspace import SHARED_FIGURES, SHARED_PLANS, Workspace


@pytest.fixture(scope="module")
def sessions():
    SHARED_PLANS.clear()
    SHARED_FIGURES.clear()
    city = synthetic_city(n_units=150, n_facilities=30, n_eligible=4, seed=3)
    a, b = Workspace(city, request=PlanRequest(k=3)), Workspace(city, request=PlanRequest(k=3))
    assert a.run().ok and b.run().ok
    return a, b


def _snapshot(plan, fig):
    return (dict(plan.assignment), dict(plan.leads), plan.roles.to_dict(), plan.params,
            fig.units.to_dict(), fig.grids.to_dict(), json.dumps(fig.city, default=str),
            [(c.code, c.status, json.dumps(c.params, default=str)) for c in fig.checks])


def test_a_session_cannot_change_the_plan_or_figures_another_session_shares(sessions):
    a, b = sessions
    assert len(SHARED_PLANS) == 1  # one planning run, shared
    fa, fb = a.figures("zh"), b.figures("zh")
    assert fa is fb
    before = _snapshot(b.plan, fb)
    plan = a.plan
    # Writing through numpy: numpy storage refuses (ValueError), Arrow-backed strings hand out a
    # copy; either way the shared value stays as it was (checked at the end).
    writes = [lambda: plan.assignment.to_numpy().__setitem__(0, "G9"),
              lambda: plan.leads.to_numpy().__setitem__(0, "F0"),
              lambda: plan.roles["role"].to_numpy().__setitem__(0, "member"),
              lambda: fa.units["t_lead"].to_numpy().__setitem__(slice(None), 0.0),
              lambda: fa.grids["population"].to_numpy().__setitem__(0, -1.0)]
    refused = 0
    for write in writes:
        try:
            write()
        except ValueError as exc:
            assert "read-only" in str(exc)
            refused += 1
    assert refused >= 3  # leads (object) and the figures' numbers are numpy
    # What a session read and changed through pandas is its own copy.
    mine = plan.assignment
    mine.iloc[0] = "G9"
    mine[mine.index[1]] = "G9"
    roles = plan.roles
    roles["role"] = "member"
    roles.loc[roles.index[0], "grid_id"] = "G9"
    units = fa.units
    units["t_lead"] = 0.0
    units.loc[units.index[0], "grid_id"] = "G9"
    grids = fa.grids
    grids.iloc[0, 0] = "G9"
    assert mine.iloc[0] == "G9" and roles["role"].eq("member").all()
    # Nested values refuse every change.
    with pytest.raises(TypeError):
        fa.city["population"] = 0
    with pytest.raises(TypeError):
        fa.checks.append(fa.checks[0])
    with pytest.raises(TypeError):
        fa.checks[0].params["n"] = 99  # a check's own numbers
    with pytest.raises(TypeError):
        dict(plan.params)["cost"]["mode"] = "road"
    assert _snapshot(b.plan, fb) == before
    assert _snapshot(a.plan, a.figures("zh")) == before


def test_frozen_values_read_serialise_and_copy_as_plain_ones(sessions):
    a, _ = sessions
    cost = a.plan.param_map["cost"]
    assert isinstance(cost, FrozenDict) and cost == dict(cost)
    assert json.loads(json.dumps(a.plan.param_map, default=str))["cost"] == dict(cost)
    assert repr(cost) == repr(dict(cost))  # content keys see the same text
    thawed = copy.deepcopy(cost)
    thawed["mode"] = "road"  # a deep copy is the user's own, changeable
    assert a.plan.param_map["cost"]["mode"] != "road"
    again = pickle.loads(pickle.dumps(a.plan))
    assert dict(again.assignment) == dict(a.plan.assignment)
    assert isinstance(a.figures("zh").checks, FrozenList)
    # Editing gives a new plan and leaves the shared one as it was.
    moved = a.plan.assignment
    first = moved.index[0]
    moved[first] = "G2" if moved[first] != "G2" else "G1"
    edited = a.plan.with_assignment(moved)
    assert edited.assignment[first] == moved[first] != a.plan.assignment[first]
    assert not edited.assignment.to_numpy().flags.writeable or edited.assignment.dtype != object
    assert np.array_equal(a.plan.leads.to_numpy(), edited.leads.to_numpy())
