"""HTTP pull connector: fetch a JSON or CSV API on the source's schedule, page by page (page
number, offset or a "next" link), with auth headers whose secrets come from environment variables,
and conditional requests (ETag / Last-Modified) so that an unchanged API costs a 304 and no work.

Each page is one ingest batch. The config never holds a secret: it names the environment variable
that does (`token_env`, `value_env`, `password_env`), read at run time.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from citymeter.connectors.base import BaseConnector, ConnectorContext, ConnectorResult, Mode
from citymeter.connectors.records import (
    RecordMapping,
    csv_records,
    field_value,
    json_document,
    json_items,
    to_reading,
)
from citymeter.errors import ConnectorError, InvalidInput

_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


class Auth(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bearer", "header", "basic"]
    token_env: str | None = Field(default=None, pattern=_ENV_NAME)
    name: str | None = Field(default=None, description="header: the header's name.")
    value_env: str | None = Field(default=None, pattern=_ENV_NAME)
    username: str | None = None
    password_env: str | None = Field(default=None, pattern=_ENV_NAME)

    @model_validator(mode="after")
    def _complete(self) -> Auth:
        needs = {
            "bearer": ("token_env",),
            "header": ("name", "value_env"),
            "basic": ("username", "password_env"),
        }[self.type]
        missing = [n for n in needs if getattr(self, n) is None]
        if missing:
            raise ValueError(f"auth type {self.type!r} needs {', '.join(missing)}")
        return self

    def headers(self) -> dict[str, str]:
        if self.type == "bearer":
            return {"Authorization": f"Bearer {_secret(self.token_env)}"}
        if self.type == "header":
            return {str(self.name): _secret(self.value_env)}
        pair = f"{self.username}:{_secret(self.password_env)}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _secret(env: str | None) -> str:
    value = os.environ.get(env or "")
    if not value:
        raise ConnectorError(
            f"The environment variable {env!r} holding this source's secret is not set."
        )
    return value


class Paging(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    style: Literal["none", "page", "offset", "link"] = "none"
    param: str | None = Field(
        default=None, description="Query parameter: the page number (page) or offset (offset)."
    )
    size_param: str | None = Field(default=None, description="Query parameter for page size.")
    size: int = Field(default=100, ge=1, le=100_000)
    start: int = Field(default=1, description="First page number (page style).")
    next_field: str | None = Field(
        default=None,
        description="link: path of the next URL in the JSON body; default the Link header.",
    )
    max_pages: int = Field(default=1000, ge=1)


class HttpPullConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://")
    format: Literal["json", "csv"] = "json"
    items: str | None = Field(default=None, description="JSON: path of the list of records.")
    readings: RecordMapping | None = None
    params: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    auth: Auth | None = None
    paging: Paging = Field(default_factory=Paging)
    conditional: bool = Field(default=True, description="Send If-None-Match/If-Modified-Since.")
    city: str | None = None
    delimiter: str = Field(default=",", min_length=1, max_length=1)

    @model_validator(mode="after")
    def _no_secrets(self) -> HttpPullConfig:
        for header in self.headers:
            if header.lower() in _SECRET_HEADERS:
                raise ValueError(
                    f"header {header!r} would store a secret in the config; use `auth` with "
                    "an environment variable name instead"
                )
        if self.format == "csv" and self.readings is None:
            raise ValueError("CSV needs a `readings` mapping (type, id_field, time_field, attrs)")
        if self.paging.style in ("page", "offset") and not self.paging.param:
            raise ValueError(f"paging style {self.paging.style!r} needs `param`")
        return self


def parse_http_config(config: Mapping[str, Any]) -> HttpPullConfig:
    try:
        return HttpPullConfig.model_validate(dict(config))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInput(f"The http_pull connector's config is not valid: {problems}") from None


class HttpPullConnector(BaseConnector):
    mode: ClassVar[Mode] = "poll"

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return parse_http_config(config).model_dump(exclude_none=True, exclude_defaults=True)

    def run(self, ctx: ConnectorContext) -> ConnectorResult:
        config = parse_http_config(ctx.config)
        headers = dict(config.headers)
        if config.auth is not None:
            headers.update(config.auth.headers())
        result = ConnectorResult()
        with httpx.Client(follow_redirects=True, headers=headers) as client:
            url: str | None = config.url
            params = dict(config.params)
            paging = config.paging
            if paging.size_param:
                params[paging.size_param] = str(paging.size)
            position = paging.start if paging.style == "page" else 0
            pages = 0
            while url is not None:
                ctx.check()
                if paging.style in ("page", "offset"):
                    params[str(paging.param)] = str(position)
                first = pages == 0
                response = self._get(ctx, client, config, url, params, conditional=first)
                if response.status_code == 304:
                    result.not_modified = True
                    result.message = "not modified"
                    return result
                if first:
                    self._remember_validators(ctx, response)
                records = self._records(config, response)
                pages += 1
                if records:
                    readings = [
                        to_reading(r, config.readings) if isinstance(r, Mapping) else {"raw": r}
                        for r in records
                    ]
                    result.add(ctx.ingest_readings(readings))
                url, params, position = self._next(
                    config, response, url, params, position, len(records)
                )
                if url is not None and pages >= paging.max_pages:
                    result.message = f"stopped after max_pages={paging.max_pages} pages"
                    break
        if not result.message:
            result.message = f"{pages} page(s)"
        return result

    def _get(
        self,
        ctx: ConnectorContext,
        client: httpx.Client,
        config: HttpPullConfig,
        url: str,
        params: dict[str, str],
        *,
        conditional: bool,
    ) -> httpx.Response:
        extra: dict[str, str] = {}
        if conditional and config.conditional:
            if ctx.state.get("etag"):
                extra["If-None-Match"] = str(ctx.state["etag"])
            if ctx.state.get("last_modified"):
                extra["If-Modified-Since"] = str(ctx.state["last_modified"])
        try:
            response = client.get(
                url, params=params or None, headers=extra, timeout=ctx.remaining()
            )
        except httpx.TimeoutException:
            raise ConnectorError(f"{url} did not answer within {ctx.remaining():.1f} s.") from None
        except httpx.HTTPError as exc:
            raise ConnectorError(f"Could not reach {url}: {exc}") from None
        if response.status_code == 304:
            return response
        if response.status_code >= 400:
            raise ConnectorError(
                f"{response.request.url} answered {response.status_code} "
                f"{response.reason_phrase}: {response.text[:200]}"
            )
        return response

    def _remember_validators(self, ctx: ConnectorContext, response: httpx.Response) -> None:
        for key, header in (("etag", "etag"), ("last_modified", "last-modified")):
            value = response.headers.get(header)
            if value:
                ctx.state[key] = value
            else:
                ctx.state.pop(key, None)

    def _records(self, config: HttpPullConfig, response: httpx.Response) -> list[Any]:
        label = str(response.request.url)
        if config.format == "csv":
            return csv_records(response.content, label, config.delimiter)
        return json_items(json_document(response.content, label), config.items, label)

    def _next(
        self,
        config: HttpPullConfig,
        response: httpx.Response,
        url: str,
        params: dict[str, str],
        position: int,
        count: int,
    ) -> tuple[str | None, dict[str, str], int]:
        paging = config.paging
        if paging.style == "none" or count == 0:
            return None, params, position
        if paging.style == "page":
            return (url if count >= paging.size else None), params, position + 1
        if paging.style == "offset":
            return (url if count >= paging.size else None), params, position + count
        # link: the next URL carries its own query; the first page's params are not repeated.
        next_url: Any = None
        if paging.next_field:
            next_url = field_value(json_document(response.content, url), paging.next_field)
        else:
            match = _LINK_NEXT.search(response.headers.get("link", ""))
            next_url = match.group(1) if match else None
        if not next_url:
            return None, params, position
        return str(response.url.join(str(next_url))), {}, position
