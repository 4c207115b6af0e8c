"""Map elements that carry a user's text only as data: never template text, never raw markup.

folium builds a page from Jinja2 templates, and branca (under folium) renders each element's
macros and then parses the *result* again as a template (``MacroElement.render`` wraps it in
``Element(text)``). Any name, id or reason that reached a folium template's output was therefore
evaluated on the server: ``Clinic {{7*7}}`` showed "Clinic 49", ``{{ unclosed`` broke every map
and worse ran code. streamlit-folium renders each element's script once more and rewrites
``{{'name'}}`` in it. The elements here close both doors:

- their templates hold no user text; data comes in through template variables as
  :func:`grid_planning.base.textsafe.script_json` (no ``{{``/``{%``/``{#``, no ``</script>``, whatever
  the text), and JavaScript turns it into DOM only through :data:`HELPERS_JS` (``gpEsc``,
  ``gpText``, ``gpFill``, ``gpLines``, ``gpLegend``: HTML-escaped text or ``textContent``, in
  ``<bdi>`` so that bidirectional controls stay inside the name);
- their rendered macros go into the page verbatim (:class:`SafeElement`): branca never parses
  them a second time.

Elements: :class:`Script` (code run with the Leaflet map bound to ``map``), :class:`DataLayer`
(one ``L.geoJson`` layer: polygons, lines, markers, labels) and :class:`LayerSwitcher` (the layer
control, names shown as text).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import folium
import numpy as np
import numpy.typing as npt
from branca.element import Element, Figure, MacroElement
from folium.elements import ElementAddToElement
from folium.template import Template
from folium.utilities import JsCode

from grid_planning.base.textsafe import script_json

#: Helpers every map defines once (:func:`grid_planning.maps.mapview.base_map` adds them first).
#:
#: - ``gpEsc(s)``: ``s`` as HTML text (``& < > " '`` escaped);
#: - ``gpText(s)``: ``gpEsc(s)`` in a ``<bdi>`` element, so that bidirectional controls in a name
#:   cannot reorder the text around it;
#: - ``gpFill(tpl, props)``: a trusted HTML template with ``{key}`` placeholders filled from a
#:   feature's properties, each value as ``gpText`` (numbers with thousands separators);
#: - ``gpLines(lines)``: tooltip/popup lines, each a string or ``[text, style]`` with style ``b``
#:   (bold), ``n`` (note) or ``m`` (muted), as ``gpText`` joined by ``<br>``;
#: - ``gpLegend(map, position, title, rows)``: a legend box; ``rows`` are ``[swatch_html, label]``
#:   where the swatch is the app's own markup and the title and labels are set as text;
#: - ``gpGeo(packed)``: the GeoJSON FeatureCollection :func:`pack_geojson` packed (data only: it
#:   rebuilds objects and numbers, never markup).
HELPERS_JS = r"""(function(w){
var E={'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'};
w.gpEsc=function(s){return String(s).replace(/[&<>"']/g,function(c){return E[c];});};
w.gpText=function(s){return '<bdi>'+w.gpEsc(s)+'</bdi>';};
w.gpFill=function(tpl,p){return tpl.replace(/\{(\w+)\}/g,function(_,k){var v=p[k];
if(v===null||v===undefined)return '';
if(typeof v==='number')return v.toLocaleString('en-US',{maximumFractionDigits:0});
return w.gpText(v);});};
var S={b:['<b>','</b>'],n:['<span class="gp-note">','</span>'],m:['<span style="color:#666">','</span>']};
w.gpLines=function(a){return (a||[]).map(function(l){
if(typeof l==='string')return w.gpText(l);
var s=S[l[1]]||['',''];return s[0]+w.gpText(l[0])+s[1];}).join('<br>');};
w.gpLegend=function(map,pos,title,rows){var c=L.control({position:pos});
c.onAdd=function(){var d=L.DomUtil.create('div','');
var box=L.DomUtil.create('details','gp-legend',d);box.open=true;
L.DomUtil.create('bdi','',L.DomUtil.create('summary','',box)).textContent=title;
rows.forEach(function(r){var row=L.DomUtil.create('div','gp-row',box);
row.insertAdjacentHTML('beforeend',r[0]);L.DomUtil.create('bdi','',row).textContent=r[1];});
L.DomEvent.disableClickPropagation(d);L.DomEvent.disableScrollPropagation(d);return d;};
c.addTo(map);};
w.gpGeo=function(d){var q=Math.pow(10,d.q),x=0,y=0;
function pt(a){x+=a[0];y+=a[1];return [x/q,y/q];}
function line(a){var o=[];for(var i=0;i<a.length;i+=2){x+=a[i];y+=a[i+1];o.push([x/q,y/q]);}return o;}
function geom(t,c){if(c===null)return null;switch(t){
case 'Point':return {type:t,coordinates:pt(c)};
case 'MultiPoint':case 'LineString':return {type:t,coordinates:line(c)};
case 'Polygon':case 'MultiLineString':return {type:t,coordinates:c.map(line)};
case 'MultiPolygon':return {type:t,coordinates:c.map(function(p){return p.map(line);})};
case 'GeometryCollection':return {type:t,geometries:c.map(function(g){return geom(g[0],g[1]);})};}
return null;}
var P=d.p,cols=Array.isArray(P)?null:Object.keys(P),f=[];
for(var i=0;i<d.n;i++){var p;
if(cols){p={};for(var j=0;j<cols.length;j++){p[cols[j]]=P[cols[j]][i];}}else{p=P[i];}
f.push({type:'Feature',properties:p,geometry:geom(typeof d.t==='string'?d.t:d.t[i],d.g[i])});}
return {type:'FeatureCollection',features:f};};
})(window);"""


class _Verbatim(Element):
    """Text that goes into the page exactly as given (branca's ``Element(text)`` would parse it
    as a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


def _render_verbatim(element: MacroElement, kwargs: Mapping[str, Any]) -> None:
    """What ``MacroElement.render`` does, without parsing the macros' output a second time."""
    figure = element.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("a map element can only be rendered inside a Figure")
    module = element._template.module
    for part in ("header", "html", "script"):
        macro = module.__dict__.get(part)
        if macro is not None:
            getattr(figure, part).add_child(
                _Verbatim(str(macro(element, kwargs))), name=element.get_name()
            )
    for child in list(element._children.values()):
        child.render(**kwargs)


class SafeElement(MacroElement):
    """A :class:`branca.element.MacroElement` whose rendered macros reach the page verbatim."""

    def render(self, **kwargs: Any) -> None:
        _render_verbatim(self, kwargs)


class Script(SafeElement):
    """JavaScript run once the map exists, with the Leaflet map bound to ``map``.

    ``code`` is the app's own code; data in it must be :func:`script_json` output.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function(map){\n{{ this.code }}\n})({{ this._parent.get_name() }});\n"
        "{% endmacro %}"
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "PlannerScript"
        self.code = code


def _js_options(options: Mapping[str, Any]) -> str:
    """A JavaScript object literal: :class:`JsCode` values as code, others as JSON."""
    parts = []
    for key, value in options.items():
        if value is None:
            continue
        code = value.js_code if isinstance(value, JsCode) else script_json(value)
        parts.append(f"{script_json(key)}:{code}")
    return "{" + ",".join(parts) + "}"


# ---- compact GeoJSON ---------------------------------------------------------------------------
#: Decimals kept by :func:`pack_geojson` unless told otherwise (6 decimals ~ 0.1 m).
PACK_PRECISION = 6


def _encode_points(points: npt.ArrayLike, q: float, cursor: np.ndarray) -> list[int]:
    """Points as integer steps from the previous point (``cursor``, updated in place)."""
    arr = np.asarray(points, dtype=float)
    if arr.size == 0:
        return []
    ints = np.rint(arr.reshape(-1, arr.shape[-1])[:, :2] * q).astype(np.int64)
    steps = np.diff(ints, axis=0, prepend=cursor[None, :])
    cursor[:] = ints[-1]
    return steps.ravel().tolist()


def _pack_geometry(geom: Mapping[str, Any] | None, q: float, cursor: np.ndarray) -> tuple[Any, Any]:
    if not geom:
        return None, None
    kind = geom["type"]
    if kind == "GeometryCollection":
        return kind, [list(_pack_geometry(g, q, cursor)) for g in geom["geometries"]]
    c = geom["coordinates"]
    if kind in ("Point", "MultiPoint", "LineString"):
        return kind, _encode_points(c, q, cursor)
    if kind in ("Polygon", "MultiLineString"):
        return kind, [_encode_points(r, q, cursor) for r in c]
    if kind == "MultiPolygon":
        return kind, [[_encode_points(r, q, cursor) for r in poly] for poly in c]
    raise ValueError(f"unsupported geometry type {kind!r}")


def pack_geojson(data: Mapping[str, Any], precision: int = PACK_PRECISION) -> dict:
    """A GeoJSON FeatureCollection in a compact form that ``gpGeo`` unpacks in the browser.

    Maps send thousands of unit polygons; plain GeoJSON repeats ``{"type":"Feature",...}`` and
    every property name per feature and writes each coordinate as a decimal. Packed, property
    values are columns (one list per name) and coordinates are integers (units of
    ``10**-precision`` degrees), each the step from the previous point of the layer, so a vertex
    of a simplified city polygon takes 4-8 characters instead of ~22. It is still JSON (written
    with :func:`~grid_planning.base.textsafe.script_json`); names stay data.

    Parameters
    ----------
    data : dict
        A FeatureCollection; features keep ``properties`` and ``geometry`` (other members are
        dropped). Coordinates should already be rounded to ``precision`` decimals or coarser.
    precision : int
        Decimals of longitude/latitude kept.

    Returns
    -------
    dict
        ``{"q": precision, "n": count, "t": type or [type per feature], "g": [coordinates per
        feature], "p": {name: [value per feature]} or [properties per feature]}``;
        :func:`unpack_geojson` (and ``gpGeo`` in the browser) give the collection back.
    """
    features = list(data.get("features", []))
    q = 10.0**precision
    cursor = np.zeros(2, dtype=np.int64)
    kinds, coords = [], []
    for f in features:
        kind, packed = _pack_geometry(f.get("geometry"), q, cursor)
        kinds.append(kind)
        coords.append(packed)
    props = [dict(f.get("properties") or {}) for f in features]
    keys = [tuple(p) for p in props]
    columnar = bool(props) and all(k == keys[0] for k in keys)
    return {
        "q": int(precision),
        "n": len(features),
        "t": kinds[0] if kinds and all(k == kinds[0] for k in kinds) else kinds,
        "g": coords,
        "p": {k: [p[k] for p in props] for k in keys[0]} if columnar else props,
    }


def _decode_points(steps: list[int], q: float, cursor: list[int]) -> list[list[float]]:
    out = []
    for i in range(0, len(steps), 2):
        cursor[0] += steps[i]
        cursor[1] += steps[i + 1]
        out.append([cursor[0] / q, cursor[1] / q])
    return out


def _unpack_geometry(kind: str | None, c: list | None, q: float, cursor: list[int]) -> dict | None:
    if c is None:
        return None
    if kind == "GeometryCollection":
        return {"type": kind, "geometries": [_unpack_geometry(k, g, q, cursor) for k, g in c]}
    if kind == "Point":
        return {"type": kind, "coordinates": _decode_points(c, q, cursor)[0]}
    if kind in ("MultiPoint", "LineString"):
        return {"type": kind, "coordinates": _decode_points(c, q, cursor)}
    if kind in ("Polygon", "MultiLineString"):
        return {"type": kind, "coordinates": [_decode_points(r, q, cursor) for r in c]}
    return {"type": kind, "coordinates": [[_decode_points(r, q, cursor) for r in p] for p in c]}


def unpack_geojson(packed: Mapping[str, Any]) -> dict:
    """The FeatureCollection of :func:`pack_geojson` (what ``gpGeo`` does in the browser)."""
    q = 10.0 ** packed["q"]
    cursor = [0, 0]
    props = packed["p"]
    feats = []
    for i in range(packed["n"]):
        kind = packed["t"] if isinstance(packed["t"], str) else packed["t"][i]
        p = {k: v[i] for k, v in props.items()} if isinstance(props, dict) else props[i]
        feats.append({"type": "Feature", "properties": p,
                      "geometry": _unpack_geometry(kind, packed["g"][i], q, cursor)})
    return {"type": "FeatureCollection", "features": feats}


class DataLayer(folium.map.Layer):
    """GeoJSON drawn as one Leaflet ``L.geoJson`` layer; the data reaches the page only as
    :func:`script_json` (folium's ``GeoJson`` writes it with ``tojson``, which keeps ``{{``),
    packed by :func:`pack_geojson` and unpacked in the browser by ``gpGeo``.

    Parameters
    ----------
    data : dict
        A GeoJSON FeatureCollection (JSON-serialisable; NaN must already be ``None``).
    name : str, optional
        Name in the layer switcher (the app's own wording; shown as text).
    show, control, overlay : bool
        As for :class:`folium.map.Layer`.
    style, point_to_layer, on_each_feature : JsCode, optional
        The app's own JavaScript functions (``style``, ``pointToLayer``, ``onEachFeature``).
        They read user text from ``feature.properties`` and put it into the DOM only through
        ``gpEsc`` / ``gpFill`` / ``gpLines`` or ``textContent``.
    precision : int
        Decimals of the coordinates sent (the data should be rounded to as many or fewer).
    **options
        Other ``L.geoJson`` options (``interactive``, ``smoothFactor`` ...), written as JSON.

    Attributes
    ----------
    data : dict
        The GeoJSON as given (tests read it back).
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = L.geoJson(null, {{ this.options_js() }});\n"
        "{{ this.get_name() }}.addData({{ this.data_js() }});\n"
        "{% endmacro %}"
    )

    def __init__(
        self,
        data: dict,
        *,
        name: str | None = None,
        show: bool = True,
        control: bool = True,
        overlay: bool = True,
        style: JsCode | None = None,
        point_to_layer: JsCode | None = None,
        on_each_feature: JsCode | None = None,
        precision: int = PACK_PRECISION,
        **options: Any,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "DataLayer"
        self.data = data
        self._options = {
            "style": style,
            "pointToLayer": point_to_layer,
            "onEachFeature": on_each_feature,
            **options,
        }
        self.precision = int(precision)
        self._data_js: str | None = None

    def options_js(self) -> str:
        """The layer's options as a JavaScript object literal."""
        return _js_options(self._options)

    def data_js(self) -> str:
        """The data, packed, as :func:`script_json` inside ``gpGeo(...)`` (computed once: a map
        is rendered several times)."""
        if self._data_js is None:
            self._data_js = "gpGeo(" + script_json(pack_geojson(self.data, self.precision)) + ")"
        return self._data_js

    def render(self, **kwargs: Any) -> None:
        if self.show:
            self.add_child(
                ElementAddToElement(
                    element_name=self.get_name(), element_parent_name=self._parent.get_name()
                ),
                name=self.get_name() + "_add",
            )
        _render_verbatim(self, kwargs)


class LayerSwitcher(SafeElement):
    """The layer control (folium's ``LayerControl``), with layer names shown as text.

    Leaflet writes a layer's name into the control as HTML; here every name is HTML-escaped and
    written with :func:`script_json`. Lists the :class:`folium.map.Layer` children of the map with
    ``control=True``, like folium's.
    """

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function(){var b={},o={};{{ this.entries() }}"
        "L.control.layers(b,o,{{ this.options_js() }}).addTo({{ this._parent.get_name() }});})();\n"
        "{% endmacro %}"
    )

    def __init__(self, *, position: str = "topright", collapsed: bool = True) -> None:
        super().__init__()
        self._name = "LayerSwitcher"
        self.options = {"position": position, "collapsed": collapsed, "autoZIndex": True}

    def options_js(self) -> str:
        return script_json(self.options)

    def entries(self) -> str:
        out = []
        for item in self._parent._children.values():
            if not isinstance(item, folium.map.Layer) or not item.control:
                continue
            target = "o" if item.overlay else "b"
            out.append(f"{target}[{script_json(html.escape(str(item.layer_name)))}]={item.get_name()};")
        return "".join(out)


def add_script(m: folium.Map, code: str) -> Script:
    """Add :class:`Script` ``code`` to ``m`` (runs after everything added before it)."""
    script = Script(code)
    script.add_to(m)
    return script
