"""Data: upload the city's own layers, validate them, and choose sample or uploaded data."""

from __future__ import annotations

import streamlit as st

from grid_planning.base.textsafe import escape_markdown
from grid_planning.city.layers import roads_line
from grid_planning.geo.coords import COORD_SYSTEMS
from grid_planning.session.data_page import water_line
from grid_planning.session.ui_state import (
    ENCODING_CHOICES,
    UPLOAD_SLOTS,
    load_uploads,
    report_table,
    seed_widget,
    upload_layers,
)
from pages._common import (
    DATA_CHOICE,
    LAST_CHECK,
    UPLOAD_RESULT,
    active_layers,
    city_name,
    ensure_navigation,
    fmt,
    kept,
    lang,
    md_text,
    page_guard,
    tr,
    tr_md,
)

ensure_navigation(__file__)


#: Session key: (slot, uploaded file id) -> the layers/sheets of that file to choose from.
LAYER_LISTS = "_upload_layer_lists"
#: The radio showing DATA_CHOICE (the choice itself lives in DATA_CHOICE, which every page reads).
CHOICE_WIDGET = "data_choice_widget"


def _chosen() -> None:
    # A callback runs before the script: app.py's sidebar already names the data just chosen.
    st.session_state[DATA_CHOICE] = st.session_state[CHOICE_WIDGET]


def _layer_choice(slot: str, upload) -> str | None:
    """A select box of the file's layers or sheets when it holds several (inside the form: the
    choice is sent with the next "validate"); ``None`` means automatic."""
    if upload is None:
        return None
    lists = st.session_state.setdefault(LAYER_LISTS, {})
    key = (slot, upload.file_id)
    if key not in lists:
        lists[key] = upload_layers(slot, upload.name, upload.getvalue())
    names = lists[key]
    if not names:
        return None
    choice = st.selectbox(
        tr("input.layer.label", file=escape_markdown(upload.name)),
        options=["", *names],
        format_func={"": tr("input.layer.auto"), **{n: n for n in names}}.__getitem__,
        key=f"layer_{slot}",
        help=tr("input.layer.help"),
    )
    return choice or None


def _report(result_report) -> None:
    if result_report.findings:
        st.dataframe(report_table(result_report, lang()), hide_index=True, width="stretch")
    else:
        st.caption(tr("data.report.empty"))


with page_guard():
    st.title(tr("data.title"))
    st.markdown(tr("data.intro"))

    with st.form("upload_form"):
        uploads = {}
        choices = {}
        for slot, (_required, suffixes) in UPLOAD_SLOTS.items():
            uploads[slot] = st.file_uploader(
                tr(f"data.slot.{slot}"), type=list(suffixes), key=f"upload_{slot}"
            )
            choices[slot] = _layer_choice(slot, uploads[slot])
        c1, c2 = st.columns(2)
        coords = kept(
            c1.radio,
            tr("data.coords"),
            key="data_coords",
            options=list(COORD_SYSTEMS),
            format_func=fmt("data.coords."),
            horizontal=True,
        )
        typed_name = kept(c2.text_input, tr("data.city_name"), key="data_city_name", default="")
        encoding = kept(
            st.selectbox,
            tr("data.encoding"),
            options=list(ENCODING_CHOICES),
            format_func={**ENCODING_CHOICES, "": tr("data.encoding.auto")}.__getitem__,
            key="data_encoding",
            help=tr("data.encoding.help"),
        )
        submitted = st.form_submit_button(tr("data.validate"), type="primary")

    if submitted:
        files = {
            slot: (f.name, f.getvalue()) if f is not None else None for slot, f in uploads.items()
        }
        with st.spinner(tr("data.validating")):
            result = load_uploads(
                files,
                coords=coords,
                city_name=typed_name.strip() or None,
                layers=choices,
                encoding=encoding or None,
            )
        st.session_state[LAST_CHECK] = result
        if result.usable:
            st.session_state[UPLOAD_RESULT] = result
        # A refused upload changes nothing in use: the city and the plan made on it stay.

    checked = st.session_state.get(LAST_CHECK)
    result = st.session_state.get(UPLOAD_RESULT)
    if checked is not None:
        st.subheader(tr("data.report.title"))
        errors, warnings = len(checked.report.errors), len(checked.report.warnings)
        if checked.usable:
            st.success(
                tr(
                    "data.result.ok",
                    units=f"{len(checked.layers.units):,}",
                    facilities=f"{len(checked.layers.facilities):,}",
                    warnings=warnings,
                )
            )
        else:
            st.error(tr("data.result.errors", errors=errors, warnings=warnings))
            st.info(tr_md("data.result.kept", name=city_name(active_layers()[0].name)))
        _report(checked.report)
        if checked.usable and (line := roads_line(checked.layers, lang())):
            st.caption(escape_markdown(line))
        if checked.usable and (line := water_line(checked.layers, lang())):
            st.caption(escape_markdown(line))

    st.subheader(tr("data.use.title"))
    options = ["sample"]
    if result is not None and result.usable:
        options.append("uploaded")
    elif checked is not None:
        st.caption(tr("data.use.blocked"))
    else:
        st.caption(tr("data.use.none"))
    if st.session_state.get(DATA_CHOICE) not in options:
        st.session_state[DATA_CHOICE] = "sample"
    choice = st.session_state[DATA_CHOICE]
    seed_widget(st.session_state, CHOICE_WIDGET, choice, lang=lang(), revision=choice)
    st.radio(
        tr("data.use.title"),
        options=options,
        format_func={
            "sample": tr("data.use.sample"),
            "uploaded": tr_md("data.use.uploaded", name=city_name(result.layers.name)) if "uploaded" in options else "",
        }.__getitem__,
        key=CHOICE_WIDGET,
        on_change=_chosen,
        label_visibility="collapsed",
    )

    layers, is_sample = active_layers()
    with st.expander(tr("data.current.title") + f" · {md_text(city_name(layers.name))}"):
        _report(layers.report)
        for line in (roads_line(layers, lang()), water_line(layers, lang())):
            if line:
                st.caption(escape_markdown(line))
