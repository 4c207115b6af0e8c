"""Scenarios page: the team's saved options — list, open, rename, duplicate, delete, notes, and
exchange as the plan GeoPackage. Widgets only: the store is :mod:`grid_planning.store.scenarios`, the
table and texts :mod:`grid_planning.session.team`, the files :mod:`grid_planning.store.exchange`."""

from __future__ import annotations

import streamlit as st

from grid_planning.base.i18n import CatalogueError
from grid_planning.base.textsafe import escape_markdown
from grid_planning.session.team import (
    changes_text,
    markdown_message,
    person,
    scenario_table,
    user_label,
)
from grid_planning.store.exchange import import_gpkg, scenario_gpkg
from pages._common import PAGE_NAMES, city_name, ensure_navigation, lang, page_guard, tr
from pages._ws import current_user, loaded_flag, store, workspace

ensure_navigation(__file__)

FLASH = "scn_flash"  # (kind, markdown) shown once after an action and its rerun
PICK = "scn_pick"
NEXT_PICK = "scn_pick_next"  # the scenario to select after the rerun (a widget's key is frozen once drawn)


def _flash(kind: str, text: str, *, pick: int | None = None) -> None:
    st.session_state[FLASH] = (kind, text)
    if pick is not None:
        st.session_state[NEXT_PICK] = pick
    st.rerun()


def _failed(exc: Exception) -> None:
    st.error(markdown_message(exc, lang()))


with page_guard():
    st.title(tr("team.title"))
    ws = workspace()
    user = current_user()
    try:
        scen = store()
    except CatalogueError as exc:
        _failed(exc)
        st.stop()
    st.caption(tr("team.caption", store=escape_markdown(scen.label),
                  user=escape_markdown(user_label(user, lang()))))
    # Streamlit sign-in configured ([auth] in secrets.toml) and this visitor not signed in yet.
    signed_out = user.anonymous and dict(st.user).get("is_logged_in") is False
    if signed_out and st.button(tr("team.sign_in"), key="scn_login"):
        st.login()
    if (flash := st.session_state.pop(FLASH, None)) is not None:
        getattr(st, flash[0])(flash[1])
    loaded_flag(ws)

    saved = scen.list()
    if saved.empty:
        st.info(tr("team.none", page=tr(PAGE_NAMES["pages/plan.py"])))
    else:
        st.dataframe(scenario_table(saved, ws.layers, lang()), hide_index=True, width="stretch",
                     key="scn_table")
        with st.container(horizontal=True):  # the meeting pages: compare options, present them
            st.page_link("pages/compare.py", label=tr("meeting.compare.link"), icon=":material/compare:")
            st.page_link("pages/present.py", label=tr("meeting.present.link"), icon=":material/slideshow:")
        labels = {int(r.id): f"{r.name} · k={r.k} · {person(r.owner, r.owner_name, lang())}"
                  for r in saved.itertuples()}
        if (nxt := st.session_state.pop(NEXT_PICK, None)) in labels:
            st.session_state[PICK] = nxt
        # The scenario chosen before was deleted in another session meanwhile:
        # a button clicked in this run was meant for it, never for whichever one is shown now.
        gone = st.session_state.get(PICK) is not None and st.session_state.get(PICK) not in labels
        if st.session_state.get(PICK) not in labels:
            st.session_state.pop(PICK, None)
        if gone:
            st.warning(tr("team.gone"))
        sid = st.selectbox(tr("team.pick"), options=list(labels), format_func=labels.__getitem__, key=PICK)
        info = scen.info(int(sid))
        can_change = user.can_change(info.owner)
        owner = person(info.owner, info.owner_name, lang())
        if can_change:
            st.caption(tr("team.yours" if info.owner == user.id else "team.as_admin", owner=escape_markdown(owner)))
        else:
            st.caption(tr("team.read_only", owner=escape_markdown(owner)))

        c_open, c_export = st.columns(2)
        with c_open:
            if st.button(tr("team.open"), key="scn_open", type="primary") and not gone:
                try:
                    ws.load(scen, info.id)
                except (CatalogueError, ValueError) as exc:
                    _failed(exc)
                else:  # a change of layers since it was saved is flagged by loaded_flag above
                    _flash("success", tr("team.opened", name=escape_markdown(info.name)), pick=info.id)
            st.page_link("pages/plan.py", label=tr("team.to_plan"), icon=":material/map:")
        with c_export:
            if st.button(tr("team.export"), key="scn_export") and not gone:
                try:
                    with st.spinner(tr("team.exporting")):
                        st.session_state["scn_export_data"] = (
                            info.id, scenario_gpkg(scen, info.id, ws.layers, ws.costs(), lang=lang()))
                except (CatalogueError, ValueError) as exc:
                    _failed(exc)
            ready = st.session_state.get("scn_export_data")
            if ready is not None and ready[0] == info.id:
                st.download_button(tr("team.download"), data=ready[1], file_name=f"scenario_{info.id}.gpkg",
                                   mime="application/geopackage+sqlite3", key="scn_download",
                                   on_click="ignore")  # no rerun that could cancel the download

        with st.expander(tr("team.edit_title"), expanded=True):
            c_left, c_right = st.columns(2)
        with c_left:
            new_name = st.text_input(tr("team.rename_to"), value=info.name, key=f"scn_rename_to_{info.id}")
            # Who may change what is the store's rule (one implementation): the caption above says
            # it, and a refused action says why; the page does not second-guess it.
            if st.button(tr("team.rename"), key="scn_rename") and not gone:
                try:
                    scen.rename(info.id, new_name, user=user)
                except (CatalogueError, ValueError) as exc:
                    _failed(exc)
                else:
                    _flash("success", tr("team.renamed", name=escape_markdown(scen.info(info.id).name)))
            note = st.text_area(tr("team.note"), value=info.note, key=f"scn_note_{info.id}")
            if st.button(tr("team.save_note"), key="scn_note_save") and not gone:
                try:
                    scen.set_note(info.id, note, user=user)
                except (CatalogueError, ValueError) as exc:
                    _failed(exc)
                else:
                    _flash("success", tr("team.note_saved"))
        with c_right:
            dup_name = st.text_input(tr("team.duplicate_as"), value=tr("team.copy_of", name=info.name),
                                     key=f"scn_dup_name_{info.id}")
            if st.button(tr("team.duplicate"), key="scn_dup", disabled=user.anonymous) and not gone:
                try:
                    new_id = scen.duplicate(info.id, dup_name, user=user)
                except (CatalogueError, ValueError) as exc:
                    _failed(exc)
                else:
                    _flash("success", tr("team.duplicated", name=escape_markdown(scen.info(new_id).name)),
                           pick=new_id)
            confirm = st.checkbox(tr("team.delete_confirm", name=escape_markdown(info.name)),
                                  key=f"scn_delete_confirm_{info.id}")
            if st.button(tr("team.delete"), key="scn_delete", disabled=not confirm) and not gone:
                try:
                    scen.delete(info.id, user=user)
                except (CatalogueError, ValueError) as exc:
                    _failed(exc)
                else:
                    _flash("success", tr("team.deleted", name=escape_markdown(info.name)))

    st.subheader(tr("team.import_title"))
    st.caption(tr("team.import_caption", city=escape_markdown(city_name(ws.layers.name))))
    upload = st.file_uploader(tr("team.import_file"), type=["gpkg"], key="scn_import_file")
    import_name = st.text_input(tr("team.import_name"), key="scn_import_name")
    if st.button(tr("team.import"), key="scn_import", disabled=upload is None or user.anonymous):
        try:
            with st.spinner(tr("team.importing")):
                done = import_gpkg(scen, upload.getvalue(), upload.name, ws.layers, user=user,
                                   name=import_name or None)
        except (CatalogueError, ValueError) as exc:
            _failed(exc)
        else:
            text = tr("team.imported", name=escape_markdown(done.name), city=escape_markdown(city_name(done.city)))
            if done.changed:
                _flash("warning", text + " " + changes_text(done.changed, lang()), pick=done.id)
            _flash("success", text, pick=done.id)
