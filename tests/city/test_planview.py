"""Reading a plan's assignment in the layers' unit order (planview.assignment_for)."""

import numpy as np
import pandas as pd
from plan_fixtures import make_layers, make_plan

from grid_planning.city.planview import assignment_for


def test_a_plan_in_layer_order_reads_as_the_same_plan_listed_otherwise():
    # A plan listing every unit once in layer order is read without a reindex; it must read as
    # the same plan listed in another order, and the reindex must still place units, drop a
    # second listing and mark unlisted units unassigned.
    layers, plan = make_layers(), make_plan()
    ids = layers.units["id"].astype(str).tolist()
    grids = plan.assignment.reindex(ids).astype(object)
    grids.iloc[3] = None  # an unassigned unit
    in_order = assignment_for(layers, plan.with_assignment(grids))
    shuffled = grids.iloc[np.random.default_rng(1).permutation(len(grids))]
    assert list(shuffled.index) != ids
    other = assignment_for(layers, plan.with_assignment(shuffled))
    assert in_order.equals(other) and in_order.dtype == other.dtype == object
    assert in_order.index.tolist() == ids
    assert in_order.iloc[3] is None and other.iloc[3] is None
    assert in_order.tolist()[:3] == grids.tolist()[:3]

    twice = pd.concat([grids.iloc[:1].replace({grids.iloc[0]: "G9"}), grids.iloc[1:], grids.iloc[:1]])
    first = assignment_for(layers, plan.with_assignment(twice))
    assert first.iloc[0] == "G9"  # a unit listed twice counts with its first grid
    missing = assignment_for(layers, plan.with_assignment(grids.iloc[1:]))
    assert missing.iloc[0] is None and missing.index.tolist() == ids
