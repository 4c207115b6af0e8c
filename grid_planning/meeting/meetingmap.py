"""Maps for a meeting: options side by side that pan and zoom together, the units that change grid,
and a full-screen presentation that switches between options in the browser.

Each view is **one self-contained HTML document** (shown in one iframe), so its maps can follow
each other and switching options needs no round trip to the server:

- :func:`compare_html`: two or three Leaflet maps in a row at the same extent; moving or zooming
  one moves the others (``window.gpMaps`` holds them, ``window.gpView()`` reports each map's
  centre and zoom);
- :func:`changes_html`: one map of the units that change grid between two options, coloured by the
  grid they join, over the second option's grids, with both options' grid borders;
- :func:`present_html`: one full-window map with every chosen option preloaded; the arrow keys
  (also Page Up/Down, as a presentation clicker sends, and the digits), the arrow buttons or the
  numbered tabs switch options instantly; the option's name, its number (``2 / 3``) and its key
  figures stay over the map in large type (``window.gpShow(i)``, ``window.gpCurrent()``).

Everything works offline and needs no tiles: the vendored Leaflet is inlined
(:func:`grid_planning.maps.htmlmap.inline_assets`), the background is plain, the grids are drawn from
GeoJSON. User text (scenario, hospital and unit names) reaches the page only as
:func:`grid_planning.base.textsafe.script_json` data and becomes DOM only through ``textContent`` or the
escaping helpers of :data:`grid_planning.maps.mapelements.HELPERS_JS`. Grids keep one colour per lead
hospital across all maps (:func:`grid_planning.meeting.compare.lead_colours`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from grid_planning.base import numfmt
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.textsafe import script_json
from grid_planning.city.planview import unit_grids
from grid_planning.domain.rules import any_illustrative, is_illustrative
from grid_planning.maps.htmlmap import inline_assets
from grid_planning.maps.mapelements import HELPERS_JS
from grid_planning.maps.mapview import display_geojson
from grid_planning.maps.offline import VENDOR_URL
from grid_planning.maps.planmap import (
    dissolve,
    grid_borders,
    grid_collection,
    grid_label_points,
    plan_facilities,
    short_name,
    unit_display,
)
from grid_planning.meeting.compare import (
    Option,
    check_counts,
    flag_text,
    key_figures,
    lead_colours,
    option_label,
)

if TYPE_CHECKING:
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan

_LEAFLET = "leaflet-1.9.3"


_FONT = ('"Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", '
         '"Microsoft YaHei", sans-serif')


# ---- data -----------------------------------------------------------------------------------------
def _population(layers: CityLayers) -> np.ndarray:
    return pd.to_numeric(layers.units["population"], errors="coerce").fillna(0).to_numpy(float)


def _ll(x: float, y: float) -> list[float]:
    return [round(float(y), 6), round(float(x), 6)]


def bounds(layers: CityLayers) -> list[list[float]]:
    """The city's extent as Leaflet bounds ``[[south, west], [north, east]]``."""
    minx, miny, maxx, maxy = (float(v) for v in layers.boundary.to_crs(4326).total_bounds)
    return [[miny, minx], [maxy, maxx]]


def context_data(layers: CityLayers) -> dict:
    """The city outline and district outlines (geometry only: no names) as GeoJSON."""
    boundary = layers.boundary.to_crs(4326)
    out = {"outline": display_geojson(boundary[[boundary.geometry.name]], tolerance_m=20.0)}
    districts = getattr(layers, "districts", None)
    if districts is not None and len(districts):
        shown = districts.to_crs(4326)
        out["districts"] = display_geojson(shown[[shown.geometry.name]], tolerance_m=20.0)
    return out


def plan_data(layers: CityLayers, plan: Plan, colours: Mapping[str, str],
              lang: str = DEFAULT_LANGUAGE) -> dict:
    """One plan as drawing data: dissolved grids (colour by lead, tooltip lines), grid borders,
    lead markers, grid labels and legend rows. Names are data, never markup."""
    display = unit_display(layers)
    labels = unit_grids(layers, plan)
    grids = [str(g) for g in plan.leads.index]
    pop = _population(layers)
    fac = plan_facilities(layers, plan).drop_duplicates("id").set_index("id")
    names = {g: str(fac.at[str(plan.leads[g]), "name"]) if str(plan.leads[g]) in fac.index
             else str(plan.leads[g]) for g in grids}
    colour = {g: colours.get(str(plan.leads[g]), "#cccccc") for g in grids}
    props = {}
    for g in grids:
        mask = labels == g
        props[g] = {
            "c": colour[g],
            "tip": [[f"{g} · {names[g]}", "b"],
                    t("meeting.map.residents", lang, n=numfmt.integer(pop[mask].sum(), lang)),
                    t("meeting.map.units", lang, n=numfmt.integer(int(mask.sum()), lang))],
        }
    data_grids = grid_collection(display, labels, grids, props)
    leads = []
    for g in grids:
        lead = str(plan.leads[g])
        if lead not in fac.index:
            continue
        geom = fac.at[lead, fac.geometry.name] if hasattr(fac, "geometry") else None
        if geom is None or geom.is_empty:
            continue
        row = fac.loc[lead]
        tip = [[names[g], "b"], t("meeting.map.lead_of", lang, grid=g)]
        if str(row.get("level_source", "")) == "assumed":
            tip.append([t("source.assumed", lang), "n"])
        if is_illustrative(row, part="facility"):
            tip.append([t("source.illustrative", lang), "n"])
        leads.append({"ll": _ll(geom.x, geom.y), "c": colour[g], "tip": tip})
    points = grid_label_points(display, labels, pop)
    # Most residents first: the larger grid keeps its label where labels would overlap.
    order = sorted((g for g in points if g in names), key=lambda g: -pop[labels == g].sum())
    label_rows = [{"ll": _ll(*points[g]), "text": f"{g} {short_name(names[g])}", "short": g} for g in order]
    return {
        "grids": data_grids,
        "borders": grid_borders(display, labels),
        "leads": leads,
        "labels": label_rows,
        "legend": [[colour[g], f"{g} · {short_name(names[g], 20)}"] for g in grids],
    }


def flow_data(layers: CityLayers, changes: pd.DataFrame, colours: Mapping[str, str],
              lang: str = DEFAULT_LANGUAGE) -> dict:
    """The changed units dissolved per (from lead, to lead), coloured by the grid they join, each
    with its tooltip lines (from, to, units, residents)."""
    display = unit_display(layers)
    pos = {u: i for i, u in enumerate(display.ids)}
    feats = []
    if len(changes):
        groups = changes.groupby(["from_lead", "to_lead"], sort=False)
        for (src, dst), sub in groups:
            idx = [pos[u] for u in sub["unit_id"] if u in pos]
            parts = display.geoms[idx]
            parts = parts[~shapely.is_empty(parts)]
            if not len(parts):
                continue
            shape = dissolve(parts)
            first = sub.iloc[0]
            src_text = f"{first['from_grid']} · {first['from_lead_name']}" if src else t("meeting.changes.unassigned", lang)
            dst_text = f"{first['to_grid']} · {first['to_lead_name']}" if dst else t("meeting.changes.unassigned", lang)
            feats.append({
                "type": "Feature",
                "geometry": json.loads(shapely.to_geojson(shape)),
                "properties": {
                    "c": colours.get(str(dst), "#cccccc"),
                    "tip": [[t("meeting.map.moved", lang), "b"],
                            t("meeting.map.from", lang, where=src_text),
                            t("meeting.map.to", lang, where=dst_text),
                            t("meeting.map.units", lang, n=numfmt.integer(len(sub), lang)),
                            t("meeting.map.residents", lang, n=numfmt.integer(sub["population"].sum(), lang))],
                },
            })
    return {"type": "FeatureCollection", "features": feats}


# ---- the page -------------------------------------------------------------------------------------
_DRAW_JS = r"""
(function(w){
w.gpContext=function(map,ctx){
  if(ctx.districts){L.geoJson(ctx.districts,{interactive:false,style:{color:'#6b6b6b',weight:1,dashArray:'4 4',fill:false}}).addTo(map);}
  if(ctx.outline){L.geoJson(ctx.outline,{interactive:false,style:{color:'#333',weight:2.2,fill:false}}).addTo(map);}
};
w.gpPlan=function(d,o){
  o=o||{};var g=L.layerGroup();
  if(o.grids!==false)L.geoJson(d.grids,{style:function(f){return {color:'#555',weight:0.6,fillColor:f.properties.c,
    fillOpacity:o.fill===undefined?0.72:o.fill};},
    onEachFeature:function(f,l){l.bindTooltip(function(){return gpLines(f.properties.tip);},{sticky:true,className:'gp-tip'});}
  }).addTo(g);
  if(o.borders!==false){L.geoJson(d.borders,{interactive:false,style:{color:o.borderColour||'#1b1b1b',
    weight:o.border||2.4,opacity:0.9,dashArray:o.dash||null}}).addTo(g);}
  if(o.leads!==false){d.leads.forEach(function(p){
    var r=o.leadRadius||8;
    L.circleMarker(p.ll,{radius:r,color:'#111',weight:3,fillColor:p.c,fillOpacity:1})
      .bindTooltip(function(){return gpLines(p.tip);},{className:'gp-tip'}).addTo(g);
    L.circleMarker(p.ll,{radius:Math.max(2.5,r*0.35),stroke:false,fillColor:'#111',fillOpacity:1,interactive:false}).addTo(g);});}
  if(o.labels!==false){var marks=d.labels.map(function(p){
    var mk=L.marker(p.ll,{interactive:false,keyboard:false,icon:L.divIcon({className:'gp-label '+(o.labelClass||''),
      html:'<div>'+gpText(p.text)+'</div>',iconSize:[0,0]})});mk.gpFull=p.text;mk.gpShort=p.short;mk.addTo(g);return mk;});
    // Placed again whenever the labels may have moved: the frame laid out or resized (a page's
    // iframe may be sized after this runs), a zoom, the web font arriving.
    var tidy=function(){if(g._map){gpDeclutter(marks);}};
    g.on('add',function(){tidy();g._map.on('zoomend moveend resize',tidy);
      if(document.fonts&&document.fonts.ready){document.fonts.ready.then(tidy);}});
    g.on('remove',function(){if(g._map){g._map.off('zoomend moveend resize',tidy);}});}
  return g;
};
// Grid labels that would overlap: the larger grid's (first) stays; a later one moves a line up
// or down, else shows its grid id only, else hides. Text is set with textContent.
w.gpDeclutter=function(marks){
  var placed=[];
  var gap=4;  // px kept between two labels
  function free(r){return !placed.some(function(p){return r.left<p.right+gap&&r.right+gap>p.left&&r.top<p.bottom+gap&&r.bottom+gap>p.top;});}
  marks.forEach(function(mk){var el=mk.getElement();if(!el||!el.firstChild)return;var d=el.firstChild;
    d.style.visibility='visible';
    var texts=[mk.gpFull,mk.gpShort],shifts=[0,-1.3,1.3,-2.6,2.6];
    for(var t=0;t<texts.length;t++){d.textContent=texts[t];
      for(var i=0;i<shifts.length;i++){d.style.marginTop=shifts[i]+'em';var r=d.getBoundingClientRect();
        if(free(r)){placed.push(r);return;}}}
    d.style.marginTop='0';d.style.visibility='hidden';});
};
w.gpNewMap=function(el,data,o){
  var m=L.map(el,Object.assign({preferCanvas:true,zoomSnap:0.25,attributionControl:false},o||{}));
  m.fitBounds(data.bounds);
  L.control.scale({imperial:false,position:'bottomright'}).addTo(m);
  // "Whole city": back to the extent the map opened at (maps that follow it follow again).
  var home=L.control({position:(o&&o.gpHome)||'topleft'});
  home.onAdd=function(){var bar=L.DomUtil.create('div','leaflet-bar leaflet-control');
    var a=L.DomUtil.create('a','gp-home',bar);a.href='#';a.setAttribute('role','button');
    a.title=data.home;a.setAttribute('aria-label',data.home);a.textContent='\u2302';
    L.DomEvent.on(a,'click',function(e){L.DomEvent.stop(e);if(o&&o.gpFit){o.gpFit();}else{m.fitBounds(data.bounds);}});
    L.DomEvent.disableClickPropagation(bar);return bar;};
  home.addTo(m);
  gpContext(m,data.context);
  return m;
};
w.gpLegendBox=function(parent,title,rows){
  var box=document.createElement('div');box.className='gp-legend';
  var h=document.createElement('div');h.className='gp-legend-title';h.textContent=title;box.appendChild(h);
  rows.forEach(function(r){var row=document.createElement('div');row.className='gp-row';
    var sw=document.createElement('span');sw.className='gp-sw';
    if(r[2]==='line'){sw.classList.add('gp-sw-line');sw.style.borderTopColor=r[0];sw.style.borderTopStyle=r[3]||'solid';}
    else if(r[2]==='outline'){sw.style.background='transparent';sw.style.borderColor=r[0];sw.style.borderWidth='3px';}
    else{sw.style.background=r[0];}
    var tx=document.createElement('bdi');tx.textContent=r[1];row.appendChild(sw);row.appendChild(tx);box.appendChild(row);});
  parent.appendChild(box);return box;
};
})(window);
"""


_BASE_CSS = """
html, body { height: 100%; margin: 0; padding: 0; overflow: hidden; font-family: FONT; color: #1f1f1f; }
.leaflet-container { background: #f3f2ee; font-family: FONT; }
.gp-label div { width: max-content; transform: translate(-50%, -50%); white-space: nowrap; font-size: 13px; font-weight: 600;
  color: #2b2a26; pointer-events: none; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
.gp-tip { font-size: 13px; }
.gp-tip .gp-note { color: #a04000; }
.gp-legend { background: rgba(255,255,255,0.94); padding: 6px 10px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-size: 12.5px; line-height: 1.45; max-height: 40vh; overflow-y: auto; }
.gp-legend-title { font-weight: 700; margin-bottom: 2px; }
.gp-row { display: flex; align-items: center; gap: 7px; white-space: nowrap; }
.gp-sw { display: inline-block; width: 16px; height: 12px; border: 1px solid #777; flex: none; }
.gp-sw-line { height: 0; border: none; border-top-width: 3px; width: 22px; }
.leaflet-bar a.gp-home { font-size: 20px; line-height: 30px; }
""".replace("FONT", _FONT)


def _document(lang: str, css: str, body: str, data: dict, script: str) -> str:
    head = (
        f'<link rel="stylesheet" href="{VENDOR_URL}/{_LEAFLET}/leaflet.css"/>'
        f'<script src="{VENDOR_URL}/{_LEAFLET}/leaflet.js"></script>'
    )
    page = (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8"/>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"/>{head}'
        f"<style>{_BASE_CSS}{css}</style></head><body>{body}"
        f"<script>{HELPERS_JS}{_DRAW_JS}</script>"
        f"<script>(function(){{var DATA={script_json(data)};\n{script}\n}})();</script>"
        "</body></html>"
    )
    return inline_assets(page)


# ---- compare: maps side by side ---------------------------------------------------------------------
_COMPARE_CSS = """
#row { display: flex; height: 100%; gap: 6px; overflow-x: auto; }
/* Narrower than this a map is unreadable: the row scrolls instead (three options at 1440 px fit). */
.panel { flex: 1 1 0; display: flex; flex-direction: column; min-width: 340px; border: 1px solid #d0d0d0;
  border-radius: 6px; overflow: hidden; background: #fff; }
.head { padding: 6px 10px; border-bottom: 1px solid #e2e2e2; }
.title { font-size: 17px; font-weight: 700; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.badge { display: inline-block; min-width: 24px; text-align: center; border-radius: 12px; background: #1f4e9c;
  color: #fff; font-size: 14px; margin-right: 6px; padding: 1px 6px; }
.sub { font-size: 13px; color: #555; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.flag { color: #a04000; }
.map { flex: 1 1 auto; }
.panel .gp-legend { font-size: 11.5px; padding: 4px 8px; max-height: 30vh; }
.panel .gp-sw { width: 13px; height: 10px; }
"""


_COMPARE_JS = r"""
var row=document.getElementById('row');var maps=[];var busy=false;
function follow(src){if(busy)return;busy=true;var c=src.getCenter(),z=src.getZoom();
  maps.forEach(function(m){if(m!==src){m.setView(c,z,{animate:false});}});busy=false;}
DATA.maps.forEach(function(d,i){
  var panel=document.createElement('div');panel.className='panel';
  var head=document.createElement('div');head.className='head';
  var title=document.createElement('div');title.className='title';
  var badge=document.createElement('span');badge.className='badge';badge.textContent=String(i+1);
  var name=document.createElement('bdi');name.textContent=d.name;title.appendChild(badge);title.appendChild(name);
  var sub=document.createElement('div');sub.className='sub';sub.textContent=d.sub;
  if(d.flag){var fl=document.createElement('span');fl.className='flag';fl.textContent=' · '+d.flag;sub.appendChild(fl);}
  head.appendChild(title);head.appendChild(sub);panel.appendChild(head);
  var el=document.createElement('div');el.className='map';panel.appendChild(el);row.appendChild(panel);
  var m=gpNewMap(el,DATA);gpPlan(d.plan).addTo(m);maps.push(m);
  var legend=L.control({position:'bottomleft'});
  legend.onAdd=function(){var div=L.DomUtil.create('div','');gpLegendBox(div,DATA.legend_title,d.plan.legend.map(function(r){return [r[0],r[1]];}));
    L.DomEvent.disableClickPropagation(div);L.DomEvent.disableScrollPropagation(div);return div;};
  legend.addTo(m);
});
// Every panel exists now: fit the city to the first map at its final size (it was fitted while
// it was the only panel, twice as wide, which cropped the city in all of them), then align.
maps.forEach(function(m){m.invalidateSize({animate:false});});
if(maps.length){maps[0].fitBounds(DATA.bounds,{animate:false});
  var c0=maps[0].getCenter(),z0=maps[0].getZoom();maps.forEach(function(m){m.setView(c0,z0,{animate:false});});}
maps.forEach(function(m){m.on('move moveend zoomend',function(){follow(m);});});
window.gpMaps=maps;
window.gpView=function(){return maps.map(function(m){var c=m.getCenter();return {lat:c.lat,lng:c.lng,zoom:m.getZoom()};});};
"""


def compare_html(layers: CityLayers, options: Sequence[Option], lang: str = DEFAULT_LANGUAGE) -> str:
    """Two or three options' maps in a row, at the same extent, panning and zooming together.

    Parameters
    ----------
    layers : CityLayers
    options : sequence of Option
    lang : {"zh", "en"}

    Returns
    -------
    str
        A standalone HTML document (no request leaves it).
    """
    colours = lead_colours(options)
    maps = []
    for o in options:
        sub = t("meeting.map.sub", lang, k=o.k, residents=numfmt.integer(o.figures.city["assigned_population"], lang))
        maps.append({"name": o.name, "sub": sub, "flag": flag_text(o.changed, lang),
                     "plan": plan_data(layers, o.plan, colours, lang)})
    data = {"bounds": bounds(layers), "context": context_data(layers), "home": t("meeting.map.home", lang), "maps": maps,
            "legend_title": t("meeting.map.legend_grids", lang)}
    return _document(lang, _COMPARE_CSS, '<div id="row"></div>', data, _COMPARE_JS)


# ---- changes: the units that change grid ------------------------------------------------------------
_CHANGES_CSS = "#map { height: 100%; }"


_CHANGES_JS = r"""
var m=gpNewMap(document.getElementById('map'),DATA);
// Order on the canvas: the second option's grids (faint), the moved units, both options' borders,
// then the second option's leads (labels sit in the marker pane above everything).
gpPlan(DATA.b,{fill:0.16,borders:false,labels:false,leads:false}).addTo(m);
var flows=L.geoJson(DATA.flows,{style:function(f){return {color:'#b00020',weight:2.2,fillColor:f.properties.c,fillOpacity:0.9};},
  onEachFeature:function(f,l){l.bindTooltip(function(){return gpLines(f.properties.tip);},{sticky:true,className:'gp-tip'});}}).addTo(m);
gpPlan(DATA.a,{grids:false,labels:false,leads:false,border:2.4,dash:'7 6',borderColour:'#444'}).addTo(m);
gpPlan(DATA.b,{grids:false,border:2.2}).addTo(m);
var legend=L.control({position:'bottomleft'});
legend.onAdd=function(){var div=L.DomUtil.create('div','');gpLegendBox(div,DATA.legend_title,DATA.legend);
  L.DomEvent.disableClickPropagation(div);L.DomEvent.disableScrollPropagation(div);return div;};
legend.addTo(m);
window.gpMaps=[m];window.gpFlows=flows;
"""


def changes_html(layers: CityLayers, a: Option, b: Option, changes: pd.DataFrame,
                 colours: Mapping[str, str] | None = None,
                 lang: str = DEFAULT_LANGUAGE) -> str:
    """The units that change grid from option ``a`` to option ``b`` on one map.

    The changed units are filled with the colour of the grid they join (outlined red), over
    ``b``'s grids (faint), ``b``'s grid borders (solid) and ``a``'s (dashed).

    Parameters
    ----------
    changes : DataFrame
        :func:`grid_planning.meeting.compare.changed_units` of ``a`` and ``b``.
    colours : mapping, optional
        Lead id -> colour (default: :func:`~grid_planning.meeting.compare.lead_colours` of ``a`` and ``b``;
        pass the comparison's so colours match the maps above).
    """
    colours = dict(colours or lead_colours([a, b]))
    data = {
        "bounds": bounds(layers),
        "context": context_data(layers),
        "home": t("meeting.map.home", lang),
        "a": plan_data(layers, a.plan, colours, lang),
        "b": plan_data(layers, b.plan, colours, lang),
        "flows": flow_data(layers, changes, colours, lang),
        "legend_title": t("meeting.map.legend_changes", lang),
        "legend": [
            ["#b00020", t("meeting.map.legend_moved", lang), "outline"],
            ["#1b1b1b", t("meeting.map.legend_borders_b", lang, name=b.name), "line", "solid"],
            ["#444444", t("meeting.map.legend_borders_a", lang, name=a.name), "line", "dashed"],
        ],
    }
    return _document(lang, _CHANGES_CSS, '<div id="map"></div>', data, _CHANGES_JS)


# ---- presentation -----------------------------------------------------------------------------------
_PRESENT_CSS = """
#map { position: absolute; inset: 0; }
.gp-label.big div { font-size: 19px; font-weight: 700; }
.top { position: absolute; top: 14px; left: 14px; right: 14px; z-index: 1000; display: flex;
  align-items: flex-start; justify-content: space-between; gap: 16px; pointer-events: none; }
.top > * { pointer-events: auto; }
.titlebox { background: rgba(255,255,255,0.95); border-radius: 10px; padding: 10px 18px 12px;
  box-shadow: 0 2px 8px rgba(0,0,0,0.25); max-width: 55%; }
.mark { font-size: 22px; font-weight: 700; color: #fff; background: #1f4e9c; border-radius: 18px;
  padding: 2px 14px; display: inline-block; margin-bottom: 4px; letter-spacing: 0.04em; }
.name { font-size: 38px; font-weight: 800; line-height: 1.15; overflow-wrap: anywhere; }
.flag { font-size: 18px; color: #a04000; margin-top: 4px; }
.tabs { display: flex; gap: 8px; flex-wrap: wrap; justify-content: flex-end; }
.tab { font: inherit; font-size: 18px; border: 2px solid #1f4e9c; background: rgba(255,255,255,0.95);
  color: #1f4e9c; border-radius: 22px; padding: 6px 16px; cursor: pointer; max-width: 320px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; box-shadow: 0 1px 4px rgba(0,0,0,0.2); }
.tab[aria-selected="true"] { background: #1f4e9c; color: #fff; font-weight: 700; }
/* The figures and the legend share one panel on the right; the map is fitted to what is left. */
.side { position: absolute; right: 14px; z-index: 1000; width: clamp(200px, 24vw, 330px);
  display: flex; flex-direction: column; gap: 8px; overflow-y: auto; }
.side.folded { width: auto; }
.side.folded .card, .side.folded .legendbox { display: none; }
.fold { align-self: flex-end; font: inherit; font-size: 15px; border: 1px solid #1f4e9c; border-radius: 14px;
  background: rgba(255,255,255,0.95); color: #1f4e9c; padding: 2px 12px; cursor: pointer; }
.card { background: rgba(255,255,255,0.95); border-radius: 10px; padding: 12px 20px;
  box-shadow: 0 2px 8px rgba(0,0,0,0.25); }
.fig { padding: 7px 0; border-bottom: 1px solid #e6e6e6; }
.fig:last-child { border-bottom: none; }
.fig .l { font-size: 17px; color: #555; }
.fig .v { font-size: 32px; font-weight: 800; line-height: 1.2; font-variant-numeric: tabular-nums; }
.fig.checks .v { font-size: 22px; }
.fig.checks.fail .v { color: #b00020; }
.fig.checks.ok .v { color: #1b7f3b; }
.nav { position: absolute; top: 50%; z-index: 1000; transform: translateY(-50%); font-size: 44px;
  width: 60px; height: 96px; border: none; border-radius: 10px; background: rgba(31,78,156,0.85);
  color: #fff; cursor: pointer; }
.nav:disabled { opacity: 0.25; cursor: default; }
#prev { left: 14px; }
#next { right: 360px; }
.legendbox .gp-legend { font-size: 18px; max-height: none; padding: 10px 14px; }
.legendbox .gp-sw { width: 22px; height: 16px; }
.foot { position: absolute; left: 0; right: 0; bottom: 0; z-index: 1000; font-size: 14px; color: #333;
  background: rgba(255,255,255,0.85); padding: 4px 14px; display: flex; justify-content: space-between; gap: 20px; }
.leaflet-bottom { bottom: 26px; }
/* Projectors of 1024x768 to 1440x900: the same page in smaller type. */
@media (max-width: 1500px), (max-height: 920px) {
  .name { font-size: 26px; } .mark { font-size: 16px; padding: 1px 10px; } .flag { font-size: 14px; }
  .titlebox { padding: 6px 12px 8px; }
  .tab { font-size: 14px; padding: 3px 10px; max-width: 220px; }
  .fig { padding: 3px 0; } .fig .l { font-size: 13px; } .fig .v { font-size: 21px; }
  .fig.checks .v { font-size: 15px; } .card { padding: 8px 12px; }
  .legendbox .gp-legend { font-size: 13px; padding: 6px 10px; } .legendbox .gp-sw { width: 16px; height: 12px; }
  .nav { font-size: 30px; width: 42px; height: 70px; }
  .gp-label.big div { font-size: 15px; }
}
"""


_PRESENT_BODY = (
    '<div id="map"></div>'
    '<div class="top"><div class="titlebox"><div class="mark" id="mark"></div>'
    '<div class="name"><bdi id="name"></bdi></div><div class="flag" id="flag"></div></div>'
    '<div class="tabs" id="tabs" role="tablist"></div></div>'
    '<button class="nav" id="prev" type="button">&#8249;</button>'
    '<button class="nav" id="next" type="button">&#8250;</button>'
    '<div class="side" id="side"><button class="fold" id="fold" type="button" aria-expanded="true"></button>'
    '<div class="card" id="card" aria-live="polite"></div>'
    '<div class="legendbox" id="legend"></div></div>'
    '<div class="foot"><span id="hint"></span><span id="note"></span></div>'
)


_PRESENT_JS = r"""
var map=gpNewMap(document.getElementById('map'),DATA,{keyboard:false,gpHome:'topleft',zoomSnap:0.1,zoomDelta:0.5,
  gpFit:function(){fit();}});
var n=DATA.options.length,cur=-1,groups=[],tabs=[];
// The free area: below the title and tabs, above the footer, between the arrows and the figures
// panel. The city is fitted into it (at the start, on ⌂, when the window or the panel changes).
function freeArea(){
  var W=window.innerWidth,H=window.innerHeight;
  var top=document.querySelector('.top').getBoundingClientRect().bottom+8;
  var bottom=document.querySelector('.foot').getBoundingClientRect().top-8;
  var side=document.getElementById('side');
  side.style.top=top+'px';side.style.maxHeight=Math.max(bottom-top,60)+'px';
  var nx=document.getElementById('next');
  nx.style.right=(W-side.getBoundingClientRect().left+8)+'px';
  var corner=document.querySelector('.leaflet-top.leaflet-left');
  if(corner){corner.style.top=(top-8)+'px';}
  var left=document.getElementById('prev').getBoundingClientRect().right+8;
  if(corner){left=Math.max(left,corner.getBoundingClientRect().right+8);}
  var right=nx.getBoundingClientRect().left-8;
  return {left:left,top:top,right:right,bottom:bottom};
}
function fit(){
  var f=freeArea(),W=window.innerWidth,H=window.innerHeight;
  map.invalidateSize({animate:false});
  map.fitBounds(DATA.bounds,{paddingTopLeft:[f.left,f.top],paddingBottomRight:[W-f.right,H-f.bottom],animate:false});
}
DATA.options.forEach(function(o,i){
  groups.push(gpPlan(o.plan,{fill:0.75,labelClass:'big',leadRadius:10,border:3}));
  var b=document.createElement('button');b.type='button';b.className='tab';b.setAttribute('role','tab');
  b.textContent=(i+1)+' · '+o.name;b.title=o.name;b.addEventListener('click',function(){show(i);});
  document.getElementById('tabs').appendChild(b);tabs.push(b);
});
document.getElementById('hint').textContent=DATA.text.hint;
document.getElementById('note').textContent=DATA.text.note||'';
var prev=document.getElementById('prev'),next=document.getElementById('next');
prev.title=DATA.text.prev;prev.setAttribute('aria-label',DATA.text.prev);
next.title=DATA.text.next;next.setAttribute('aria-label',DATA.text.next);
prev.addEventListener('click',function(){show(cur-1);});
next.addEventListener('click',function(){show(cur+1);});
var fold=document.getElementById('fold'),side=document.getElementById('side');
function foldText(){var open=!side.classList.contains('folded');
  fold.textContent=open?DATA.text.fold:DATA.text.unfold;fold.setAttribute('aria-expanded',open?'true':'false');}
fold.addEventListener('click',function(){side.classList.toggle('folded');foldText();fit();});
foldText();
function show(i){
  if(i<0||i>=n||i===cur)return;
  if(cur>=0){map.removeLayer(groups[cur]);}
  cur=i;var o=DATA.options[i];groups[i].addTo(map);
  document.getElementById('mark').textContent=(i+1)+' / '+n;
  document.getElementById('name').textContent=o.name;
  document.getElementById('flag').textContent=o.flag||'';
  var card=document.getElementById('card');card.textContent='';
  o.figures.forEach(function(f){var d=document.createElement('div');d.className='fig';d.dataset.key=f[0];
    if(f[0]==='checks'){d.classList.add('checks');d.classList.add(o.fail?'fail':'ok');}
    var l=document.createElement('div');l.className='l';l.textContent=f[1];
    var v=document.createElement('div');v.className='v';v.textContent=f[2];d.appendChild(l);d.appendChild(v);card.appendChild(d);});
  var lg=document.getElementById('legend');lg.textContent='';gpLegendBox(lg,DATA.text.legend,o.plan.legend);
  tabs.forEach(function(b,j){b.setAttribute('aria-selected',j===i?'true':'false');});
  prev.disabled=i===0;next.disabled=i===n-1;
  try{window.sessionStorage.setItem(DATA.key,String(i));}catch(e){}
}
function onKey(e){
  var tg=e.target,tag=tg&&tg.tagName?tg.tagName.toLowerCase():'';
  if(tag==='input'||tag==='textarea'||tag==='select'||(tg&&tg.isContentEditable))return;
  if(e.altKey||e.ctrlKey||e.metaKey)return;
  var k=e.key,to=null;
  if(k==='ArrowRight'||k==='ArrowDown'||k==='PageDown')to=cur+1;
  else if(k==='ArrowLeft'||k==='ArrowUp'||k==='PageUp')to=cur-1;
  else if(k==='Home')to=0;else if(k==='End')to=n-1;
  else if(/^[1-9]$/.test(k))to=parseInt(k,10)-1;
  if(to===null)return;
  e.preventDefault();show(Math.max(0,Math.min(n-1,to)));
}
window.addEventListener('keydown',onKey);
// Keys pressed while the page around this frame has the focus (a click on it, the first load)
// reach that page's document: listen there too, once, and let go when this frame is gone.
try{var pw=window.parent;if(pw&&pw!==window&&pw.document){
  if(pw.__gpPresentKey){pw.document.removeEventListener('keydown',pw.__gpPresentKey);}
  var fe=window.frameElement;
  pw.__gpPresentKey=function(e){if(!fe||!fe.isConnected){pw.document.removeEventListener('keydown',pw.__gpPresentKey);return;}onKey(e);};
  pw.document.addEventListener('keydown',pw.__gpPresentKey);}}catch(err){}
var start=DATA.start;try{var s=window.sessionStorage.getItem(DATA.key);if(s!==null&&+s>=0&&+s<n)start=+s;}catch(e){}
show(start);
fit();
window.addEventListener('resize',fit);
if(document.fonts&&document.fonts.ready){document.fonts.ready.then(fit);}
window.gpShow=show;window.gpCurrent=function(){return cur;};window.gpMaps=[map];
window.gpFreeArea=freeArea;window.gpFit=fit;window.gpBounds=DATA.bounds;
"""


def present_html(layers: CityLayers, options: Sequence[Option], lang: str = DEFAULT_LANGUAGE, *,
                 start: int = 0,
                 key: str = "") -> str:
    """A full-window presentation of the options: one map, every option preloaded, switched in the
    browser by the arrow keys (Page Up/Down, Home/End, digits), the arrow buttons or the tabs.

    Over the map: the option's number (``2 / 3``) and name, what changed in the layers since it
    was saved, its key figures (:func:`grid_planning.meeting.compare.key_figures`: grids, residents, mean
    minutes, share within 30 minutes, balance, checks), and its grids' legend in large type.

    Parameters
    ----------
    layers : CityLayers
    options : sequence of Option
    lang : {"zh", "en"}
    start : int
        The option shown first (the browser tab remembers the last one shown under ``key``).
    key : str
        Names the presentation in the tab's session storage (e.g. the scenario ids).
    """
    colours = lead_colours(options)
    illustrative = any_illustrative(layers.facilities)
    data = {
        "bounds": bounds(layers),
        "context": context_data(layers),
        "home": t("meeting.map.home", lang),
        "key": "gp-present:" + str(key),
        "start": int(min(max(start, 0), max(len(options) - 1, 0))),
        "options": [{
            "name": o.name,
            "label": option_label(i, o.name),
            "flag": flag_text(o.changed, lang),
            "figures": [list(f) for f in key_figures(o, lang)],
            "fail": check_counts(o.figures.checks)["fail"] > 0,
            "plan": plan_data(layers, o.plan, colours, lang),
        } for i, o in enumerate(options)],
        "text": {
            "prev": t("meeting.present.prev", lang),
            "next": t("meeting.present.next", lang),
            "hint": t("meeting.present.hint", lang, n=len(options)),
            "legend": t("meeting.map.legend_grids", lang),
            "fold": t("meeting.present.fold", lang),
            "unfold": t("meeting.present.unfold", lang),
            "note": t("meeting.note.illustrative_data", lang) if illustrative else "",
        },
    }
    return _document(lang, _PRESENT_CSS, _PRESENT_BODY, data, _PRESENT_JS)
