"""
Providers that read documented public formats over HTTP, each built from a spec mapping.

A spec names its ``kind`` (a key of ``HTTP_KINDS``) and, for every kind, may set ``url`` (a
template), ``regions`` (the project's region -> the provider's region id or coordinates),
``name`` (the ``source`` shown on the values; the kind by default) and the HTTP settings of
``HttpOptions.from_spec`` (``timeout_s``, ``retries``, ``backoff_s``, ``backoff_max_s``,
``max_bytes``, ``api_key`` or ``api_key_env`` with ``api_key_header`` or ``api_key_param``).

URL placeholders: ``{start}``, ``{end}`` (UTC, ``2024-01-01T00:00Z``), ``{start_date}``,
``{end_date}`` (UTC days, the end's day included), ``{start_ms}``, ``{end_ms}`` (Unix
milliseconds), ``{region}`` (the mapped region id; the region itself when the spec maps none)
and, for ``open-meteo``, ``{latitude}`` and ``{longitude}``.

Kinds (README, "Grid signal providers", has examples):

- ``json-url``, ``csv-url``: any signal; a generic ``{start, end, value}`` list (or CSV with
  those columns) in the signal's unit times ``scale`` (default 1).
- ``uk-carbon-intensity``: carbon intensity from api.carbonintensity.org.uk, regional by
  region id (1..17) through ``regions``, national for a region mapped to ``"national"`` or
  for every region with ``"national": true``.
- ``open-meteo``: cloud cover or temperature from an Open-Meteo forecast, at the
  ``{"latitude", "longitude"}`` ``regions`` gives each region.
- ``awattar``: day-ahead wholesale prices (EUR/kWh) from aWATTar (``api.awattar.de`` or
  ``api.awattar.at``).
- ``octopus-agile``: Octopus Energy's Agile unit rates (GBP/kWh); ``url`` is required (the
  product and tariff codes change), ``regions`` maps a region to its letter (``A``..``P``),
  ``vat`` is ``"inc"`` (default) or ``"exc"``. One page of results is read: put
  ``page_size`` in the URL for ranges beyond 100 half-hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from grid.providers import parsers
from grid.providers.base import Point, Provider, ProviderError, Reason, Signal
from grid.providers.http import (
    HttpOptions,
    ProviderSpecError,
    http_get,
    url_render,
    url_template_check,
)

_TIME_PLACEHOLDERS = frozenset(
    {"start", "end", "start_date", "end_date", "start_ms", "end_ms", "region"}
)
_ALL_SIGNALS = frozenset(Signal)
_PRICES = frozenset({Signal.IMPORT_PRICE, Signal.EXPORT_PRICE})

Parse = Callable[[bytes], list[Point]]
ProviderFactory = Callable[[Signal, Mapping[str, Any]], Provider]


class HttpProvider:
    """A provider reading one signal from a URL template with one parser."""

    def __init__(
        self,
        *,
        name: str,
        signal: Signal,
        url: str,
        options: HttpOptions,
        regions: Mapping[str, object] | None,
        parse: Parse,
    ) -> None:
        self.name = name
        self.signal = signal
        self.url = url
        self.options = options
        self.regions = regions
        self.parse = parse

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.signal}>"

    def fetch(self, region: str, start: datetime, end: datetime) -> list[Point]:
        """The provider's points overlapping ``[start, end)``, sorted by start."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        url = url_render(self.url, self.placeholders(region, start, end))
        points = self.parse(http_get(url, options=self.options))
        return [point for point in points if point.end > start and point.start < end]

    def placeholders(self, region: str, start: datetime, end: datetime) -> dict[str, object]:
        """The values of the URL template's placeholders for one fetch."""
        start = start.astimezone(UTC)
        end = end.astimezone(UTC)
        start_minute = start.replace(second=0, microsecond=0)
        end_minute = end.replace(second=0, microsecond=0)
        if end_minute < end:
            end_minute += timedelta(minutes=1)
        last_day = (end - timedelta(microseconds=1)).date() if end > start else start.date()
        return {
            "start": start_minute.strftime("%Y-%m-%dT%H:%MZ"),
            "end": end_minute.strftime("%Y-%m-%dT%H:%MZ"),
            "start_date": start.date().isoformat(),
            "end_date": last_day.isoformat(),
            "start_ms": math.floor(start.timestamp() * 1000),
            "end_ms": math.ceil(end.timestamp() * 1000),
            "region": self.region_id(region),
        }

    def region_id(self, region: str) -> object:
        """The provider's id of ``region`` (the region itself when the spec maps none)."""
        if self.regions is None:
            return region
        if region not in self.regions:
            raise ProviderError(
                f"{self.name} has no mapping for region {region!r}", reason=Reason.UNKNOWN_REGION
            )
        return self.regions[region]


class UkCarbonIntensityProvider(HttpProvider):
    """Regional intensity for regions mapped to a region id, national for ``"national"``."""

    def __init__(self, *, national_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.national_url = national_url

    def fetch(self, region: str, start: datetime, end: datetime) -> list[Point]:
        if self.regions is not None and self.regions.get(region) == "national":
            national = HttpProvider(
                name=self.name,
                signal=self.signal,
                url=self.national_url,
                options=self.options,
                regions=None,
                parse=self.parse,
            )
            return national.fetch(region, start, end)
        return super().fetch(region, start, end)


class OpenMeteoProvider(HttpProvider):
    """Cloud cover or temperature at the coordinates mapped to each region."""

    def placeholders(self, region: str, start: datetime, end: datetime) -> dict[str, object]:
        values = super().placeholders(region, start, end)
        where = values.pop("region")
        assert isinstance(where, Mapping)
        values["latitude"] = where["latitude"]
        values["longitude"] = where["longitude"]
        return values


# -- construction from specs --------------------------------------------------------------


_COMMON_KEYS = frozenset(
    {
        "kind", "name", "signal", "url", "regions", "timeout_s", "retries", "backoff_s",
        "backoff_max_s", "max_bytes", "api_key", "api_key_env", "api_key_header", "api_key_param",
    }
)  # fmt: skip


def _keys_check(spec: Mapping[str, Any], signal: Signal, *extra: str) -> None:
    """Refuse a setting the kind does not know (a typo would otherwise be ignored quietly)."""
    unknown = set(spec) - _COMMON_KEYS - set(extra)
    if unknown:
        raise ProviderSpecError(f"{spec.get('kind')} has no settings {sorted(map(str, unknown))}")
    if "signal" in spec and spec["signal"] != str(signal):
        raise ProviderSpecError(f"the spec is for {spec['signal']!r}, asked for {signal}")


def _signal_check(kind: str, signal: Signal, allowed: frozenset[Signal]) -> None:
    if signal not in allowed:
        raise ProviderSpecError(f"{kind} answers {', '.join(sorted(allowed))}, not {signal}")


def _name(spec: Mapping[str, Any], kind: str) -> str:
    name = spec.get("name", kind)
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise ProviderSpecError("name must be a short non-empty string")
    return name


def _regions(
    spec: Mapping[str, Any], check: Callable[[str, Any], object]
) -> dict[str, object] | None:
    regions = spec.get("regions")
    if regions is None:
        return None
    if not isinstance(regions, Mapping) or not regions:
        raise ProviderSpecError("regions must map region names to the provider's ids")
    return {str(region): check(str(region), value) for region, value in regions.items()}


def _plain_id(region: str, value: Any) -> object:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ProviderSpecError(f"regions[{region!r}] must be a string or an integer")
    return value


def _scale(spec: Mapping[str, Any]) -> float:
    scale = spec.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
        raise ProviderSpecError("scale must be a finite number")
    if scale == 0:
        raise ProviderSpecError("scale must not be 0")
    return float(scale)


def _url(spec: Mapping[str, Any], default: str | None, allowed: frozenset[str]) -> str:
    url = spec.get("url", default)
    if url is None:
        raise ProviderSpecError(f"{spec.get('kind')} needs a url")
    return url_template_check(url, allowed)


def _generic_url_provider(kind: str, parse: Callable[..., list[Point]]) -> ProviderFactory:
    """The kind ``kind`` (``{"kind": …, "url": "https://host/path?start={start}&end={end}&region=
    {region}", "scale": 1}``): a URL answering the generic ``{start, end, value}`` format that
    ``parse`` reads, each value times ``scale``."""

    def build(signal: Signal, spec: Mapping[str, Any]) -> Provider:
        _keys_check(spec, signal, "scale")
        scale = _scale(spec)
        return HttpProvider(
            name=_name(spec, kind),
            signal=signal,
            url=_url(spec, None, _TIME_PLACEHOLDERS),
            options=HttpOptions.from_spec(spec),
            regions=_regions(spec, _plain_id),
            parse=lambda body: parse(body, signal=signal, scale=scale),
        )

    return build


#: A JSON list of ``{start, end, value}`` (bare or under ``"data"``).
json_url_provider = _generic_url_provider("json-url", parsers.generic_json_parse)
#: CSV with ``start,end,value`` columns.
csv_url_provider = _generic_url_provider("csv-url", parsers.generic_csv_parse)


UK_CARBON_INTENSITY_REGIONAL = (
    "https://api.carbonintensity.org.uk/regional/intensity/{start}/{end}/regionid/{region}"
)
UK_CARBON_INTENSITY_NATIONAL = "https://api.carbonintensity.org.uk/intensity/{start}/{end}"


def _uk_region_id(region: str, value: Any) -> object:
    if value == "national":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 17:
        raise ProviderSpecError(f'regions[{region!r}] must be a region id 1..17 or "national"')
    return value


def uk_carbon_intensity_provider(signal: Signal, spec: Mapping[str, Any]) -> Provider:
    """``{"kind": "uk-carbon-intensity", "regions": {"GB": "national", "GB-london": 13}}``, or
    ``"national": true`` for every region; ``url`` and ``national_url`` override the API's."""
    _keys_check(spec, signal, "national", "national_url")
    _signal_check("uk-carbon-intensity", signal, frozenset({Signal.CARBON_INTENSITY}))
    national = spec.get("national", False)
    if not isinstance(national, bool):
        raise ProviderSpecError("national must be true or false")
    regions = _regions(spec, _uk_region_id)
    if not national and regions is None:
        raise ProviderSpecError(
            "uk-carbon-intensity needs regions (region -> region id) or national: true"
        )
    national_url = url_template_check(
        spec.get("national_url", UK_CARBON_INTENSITY_NATIONAL), _TIME_PLACEHOLDERS - {"region"}
    )
    if national:
        url, regions = spec.get("url", national_url), None
    else:
        url = spec.get("url", UK_CARBON_INTENSITY_REGIONAL)
    return UkCarbonIntensityProvider(
        name=_name(spec, "uk-carbon-intensity"),
        signal=signal,
        url=url_template_check(url, _TIME_PLACEHOLDERS),
        national_url=national_url,
        options=HttpOptions.from_spec(spec),
        regions=regions,
        parse=parsers.uk_carbon_intensity_parse,
    )


OPEN_METEO_FORECAST = (
    "https://api.open-meteo.com/v1/forecast?latitude={latitude}&longitude={longitude}"
    "&hourly=cloud_cover,temperature_2m&timezone=GMT&start_date={start_date}&end_date={end_date}"
)


def _coordinates(region: str, value: Any) -> object:
    if not isinstance(value, Mapping):
        raise ProviderSpecError(f"regions[{region!r}] must be {{latitude, longitude}}")
    coordinates = {}
    for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
        number = value.get(name)
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
            or not -bound <= number <= bound
        ):
            raise ProviderSpecError(f"regions[{region!r}].{name} must be within ±{bound:g}")
        coordinates[name] = float(number)
    return coordinates


def open_meteo_provider(signal: Signal, spec: Mapping[str, Any]) -> Provider:
    """``{"kind": "open-meteo", "regions": {"london": {"latitude": 51.5, "longitude": -0.1}}}``."""
    _keys_check(spec, signal)
    _signal_check("open-meteo", signal, frozenset(parsers.OPEN_METEO_VARIABLES))
    regions = _regions(spec, _coordinates)
    if regions is None:
        raise ProviderSpecError("open-meteo needs regions (region -> {latitude, longitude})")
    allowed = (_TIME_PLACEHOLDERS - {"region"}) | {"latitude", "longitude"}
    return OpenMeteoProvider(
        name=_name(spec, "open-meteo"),
        signal=signal,
        url=_url(spec, OPEN_METEO_FORECAST, allowed),
        options=HttpOptions.from_spec(spec),
        regions=regions,
        parse=lambda body: parsers.open_meteo_parse(body, signal=signal),
    )


AWATTAR_MARKETDATA = "https://api.awattar.de/v1/marketdata?start={start_ms}&end={end_ms}"


def awattar_provider(signal: Signal, spec: Mapping[str, Any]) -> Provider:
    """``{"kind": "awattar"}`` (``url`` for api.awattar.at): wholesale prices in EUR/kWh."""
    _keys_check(spec, signal)
    _signal_check("awattar", signal, _PRICES)
    return HttpProvider(
        name=_name(spec, "awattar"),
        signal=signal,
        url=_url(spec, AWATTAR_MARKETDATA, _TIME_PLACEHOLDERS),
        options=HttpOptions.from_spec(spec),
        regions=_regions(spec, _plain_id),
        parse=lambda body: parsers.awattar_parse(body, signal=signal),
    )


def octopus_agile_provider(signal: Signal, spec: Mapping[str, Any]) -> Provider:
    """``{"kind": "octopus-agile", "url": "https://api.octopus.energy/v1/products/AGILE-24-10-01/
    electricity-tariffs/E-1R-AGILE-24-10-01-{region}/standard-unit-rates/?period_from={start}
    &period_to={end}", "regions": {"london": "C"}}``: unit rates in GBP/kWh."""
    _keys_check(spec, signal, "vat")
    _signal_check("octopus-agile", signal, _PRICES)
    vat = spec.get("vat", "inc")
    if vat not in ("inc", "exc"):
        raise ProviderSpecError('vat must be "inc" or "exc"')
    include_vat = vat == "inc"
    return HttpProvider(
        name=_name(spec, "octopus-agile"),
        signal=signal,
        url=_url(spec, None, _TIME_PLACEHOLDERS),
        options=HttpOptions.from_spec(spec),
        regions=_regions(spec, _plain_id),
        parse=lambda body: parsers.octopus_parse(body, signal=signal, include_vat=include_vat),
    )


#: The HTTP kinds: spec ``kind`` -> a function building the provider of a signal from a spec.
HTTP_KINDS: dict[str, ProviderFactory] = {
    "json-url": json_url_provider,
    "csv-url": csv_url_provider,
    "uk-carbon-intensity": uk_carbon_intensity_provider,
    "open-meteo": open_meteo_provider,
    "awattar": awattar_provider,
    "octopus-agile": octopus_agile_provider,
}
