"""Compare page: two or three saved options side by side — maps that pan and zoom together, one
table of figures with the differences marked, the units that change grid (map and list), and each
option's checks and exceptions. Widgets only: the figures are :mod:`grid_planning.meeting.compare`, the
maps :mod:`grid_planning.meeting.meetingmap`."""

from __future__ import annotations

import streamlit as st

from grid_planning.base.numfmt import integer
from grid_planning.meeting.compare import (
    MAX_OPTIONS,
    MIN_OPTIONS,
    attention,
    changes_frame,
    check_counts,
    check_rows,
    checks_text,
    exception_rows,
    flag_text,
    flows_frame,
    lead_colours,
    metrics_table,
    option_label,
)
from grid_planning.meeting.shared import shared_changes, shared_compare_html
from grid_planning.session.message_bound import map_refusal, text_bytes
from pages._common import (
    active_layers,
    city_name,
    ensure_navigation,
    lang,
    md_text,
    page_guard,
    tr,
    tr_md,
)
from pages._meeting import CHOSEN, label, options, remember_requested, requested_ids, saved_options
from pages._ws import go_plan

remember_requested()
ensure_navigation(__file__)

PICK = "cmp_pick"
PAIR = "cmp_pair"
WRITTEN = "cmp_ids_written"  # the ids this page last put into the address


def _frame(html: str, height: int, alt: str) -> None:
    """The options' maps, or why not when they are over the bound on one message (``max_message_mb``)."""
    if (refusal := map_refusal(text_bytes(html), lang(), what="compare")) is not None:
        st.warning(refusal)
    else:
        st.iframe(html, height=height, alt=tr(alt))


def _styled(table, part: str):
    frame = table.frame(part, lang())
    css = table.styles(part)
    css.index, css.columns = frame.index, frame.columns
    return frame.style.apply(lambda _: css, axis=None)


with page_guard():
    st.title(tr("meeting.compare.title"))
    layers, _ = active_layers()
    st.caption(tr_md("meeting.compare.caption", city=city_name(layers.name)))
    scen, found, others = saved_options(layers)
    if others:
        st.caption(tr("meeting.compare.other_data", n=others))
    if len(found) < MIN_OPTIONS:
        go_plan("meeting.compare.too_few")
        st.stop()

    flags = {int(r.id): flag_text(r.changed, lang()) for r in found.itertuples()}
    labels = {int(r.id): label(r, flags[int(r.id)]) for r in found.itertuples()}
    asked = [i for i in requested_ids() if i in labels][:MAX_OPTIONS]
    # Options handed over (the address, the presentation) replace the picker's; the address this
    # page writes itself does not (it would undo the planner's own change of the picker).
    if PICK not in st.session_state or (len(asked) >= MIN_OPTIONS and asked != st.session_state.get(WRITTEN)):
        st.session_state[PICK] = asked if len(asked) >= MIN_OPTIONS else list(labels)[:MIN_OPTIONS]
    else:
        st.session_state[PICK] = [i for i in st.session_state[PICK] if i in labels]
    chosen = st.multiselect(tr("meeting.compare.pick"), options=list(labels), format_func=labels.__getitem__,
                            max_selections=MAX_OPTIONS, key=PICK)
    if len(chosen) < MIN_OPTIONS:
        st.info(tr("meeting.compare.pick_two"))
        st.stop()
    ids = [int(i) for i in chosen]
    st.session_state[CHOSEN] = st.session_state[WRITTEN] = ids
    st.query_params["ids"] = ",".join(map(str, ids))  # the comparison can be bookmarked and shared
    st.page_link("pages/present.py", label=tr("meeting.compare.present"), icon=":material/slideshow:",
                 query_params={"ids": ",".join(map(str, ids))})

    with st.spinner(tr("meeting.computing")):
        opts = options(scen, layers, found, ids, lang())
    for o in opts:
        if o.changed:
            st.warning(tr_md("meeting.compare.flag", name=o.name, what=flag_text(o.changed, lang())))
    # What the cached maps depend on: each option's version and the layers they are drawn on.
    version = (layers.fingerprint(),) + tuple((o.key, o.info.updated if o.info else "") for o in opts)

    st.subheader(tr("meeting.compare.maps"))
    st.caption(tr("meeting.compare.maps_caption"))
    _frame(shared_compare_html(version, layers, opts, lang()), 600, "meeting.compare.frame")

    st.subheader(tr("meeting.compare.metrics"))
    st.caption(tr("meeting.compare.metrics_caption"))
    table = metrics_table(opts, lang())
    st.dataframe(_styled(table, "city"), hide_index=True, width="stretch", key="cmp_metrics",
                 height=36 * (len(table.city()) + 1) + 4)
    with st.expander(tr("meeting.compare.grids"), expanded=False):
        st.dataframe(_styled(table, "grids"), hide_index=True, width="stretch", key="cmp_grid_metrics")
    for note in table.notes:
        st.caption(md_text(note))

    st.subheader(tr("meeting.compare.changes"))
    pairs = [(0, j) for j in range(1, len(opts))] + [(i, j) for i in range(1, len(opts)) for j in range(i + 1, len(opts))]
    if len(pairs) > 1:
        a_pos, b_pos = st.selectbox(tr("meeting.compare.pair"), pairs, key=PAIR,
                                    format_func=lambda p: tr("meeting.compare.pair_option", a=p[0] + 1, b=p[1] + 1))
    else:
        a_pos, b_pos = pairs[0]
    a, b = opts[a_pos], opts[b_pos]
    changes, summary, html = shared_changes((a_pos, b_pos, version), layers, a, b, lead_colours(opts),
                                            lang())
    st.markdown(md_text(summary.text(lang(), a=option_label(a_pos, a.name), b=option_label(b_pos, b.name))))
    map_col, flow_col = st.columns([11, 9])
    with map_col:
        _frame(html, 520, "meeting.compare.changes_frame")
    with flow_col:
        st.markdown(f"**{tr('meeting.compare.flows')}**")
        st.dataframe(flows_frame(summary, lang()), hide_index=True, width="stretch", key="cmp_flows",
                     column_config={tr("meeting.col.residents"): st.column_config.NumberColumn(format="localized"),
                                    tr("meeting.col.n_units"): st.column_config.NumberColumn(format="localized")})
    if len(changes):
        st.markdown(f"**{tr('meeting.compare.unit_list', n=integer(len(changes), lang()))}**")
        st.dataframe(changes_frame(changes, lang()), hide_index=True, width="stretch", height=420,
                     key="cmp_changes",
                     column_config={tr("meeting.col.residents"): st.column_config.NumberColumn(format="localized")})

    st.subheader(tr("meeting.compare.checks"))
    for col, (i, o) in zip(st.columns(len(opts)), enumerate(opts), strict=True):
        with col:
            st.markdown(f"**{md_text(option_label(i, o.name))}**")
            failed = check_counts(o.figures.checks)["fail"] > 0
            (st.error if failed else st.success)(md_text(checks_text(o.figures.checks, lang())))
            # What needs attention is spelled out in full (reasons included); passes are a table away.
            for icon, head, message in attention(o, lang()):
                st.markdown(f"{icon} **{md_text(head)}** — {md_text(message)}")
            rows = check_rows(o, lang())
            with st.expander(tr("meeting.compare.all_checks", n=len(rows))):
                st.dataframe(rows, hide_index=True, width="stretch", key=f"cmp_checks_{i}")
            st.markdown(f"**{tr('meeting.compare.exceptions')}**")
            exc = exception_rows(layers, o, lang())
            if len(exc):
                for rec in exc.itertuples(index=False):
                    st.markdown(md_text(" · ".join(str(v) for v in rec[:3] if str(v)) + " — " + str(rec[3])))
            else:
                st.caption(tr("meeting.compare.no_exceptions"))
