"""The Salesforce sandbox: the subset of the REST, SOAP login and OAuth APIs the connector uses.

Served over TLS (simple-salesforce builds https URLs). Login URLs carry a path prefix: a connector
with `domain: "127.0.0.1:8443/login"` makes simple-salesforce post to
https://127.0.0.1:8443/login.salesforce.com/services/Soap/u/59.0, which lands here unchanged.

Answers: SOAP login, OAuth token (password, client credentials, JWT bearer), userinfo, query and
queryMore (2,000 a page, or the Sforce-Query-Options batchSize), describe, limits, single-record
get/create/update/upsert, sObject Collections update/upsert (200 a call), Composite (25 subrequests,
one call), Tooling API CustomField/CustomObject create. Every /services/data request counts against a
daily quota reported in Sforce-Limit-Info; once spent, 403 REQUEST_LIMIT_EXCEEDED.
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from connectors.sandbox.faults import FaultInjector, RequestStats, install_faults
from connectors.sandbox.salesforce_schema import SfField, field_from_metadata
from connectors.sandbox.salesforce_store import SalesforceStore, StoreError, Write
from connectors.sandbox.soql import Query, SoqlError, matches, parse, sort_records

ORG_ID = "00DZZ0000000001"
MAX_PAGE = 2000
COLLECTION_LIMIT = 200
COMPOSITE_LIMIT = 25
_PARTNER_NS = "urn:partner.soap.sforce.com"
_VERSION = re.compile(r"^v\d{2,3}\.0$")


def sf_error(status: int, code: str, message: str) -> JSONResponse:
    """A Salesforce REST error body: a list of {errorCode, message}."""
    return JSONResponse([{"errorCode": code, "message": message}], status_code=status)


def fault_body(status: int, message: str) -> Any:
    """Salesforce-shaped body of an injected 429 or 500."""
    code = "TOO_MANY_REQUESTS" if status == 429 else "SERVER_ERROR"
    return [{"errorCode": code, "message": message}]


def endpoint_name(method: str, path: str) -> str:
    """The stats name of a request: login, oauth_token, query, query_more, composite, collections_update, ..."""
    if "/services/Soap/u/" in path:
        return "login"
    if path.endswith("/services/oauth2/token"):
        return "oauth_token"
    if path.startswith("/services/oauth2/"):
        return path.rsplit("/", 1)[-1]
    match = re.match(r"^/services/data/v[\d.]+/(.*?)/?$", path)
    if not match:
        return "other"
    rest = match.group(1)
    parts = rest.split("/") if rest else []
    if not parts:
        return "versions"
    head = parts[0]
    if head in ("query", "queryAll"):
        return "query" if len(parts) == 1 else "query_more"
    if head == "composite":
        if len(parts) == 1:
            return "composite"
        if len(parts) >= 4:
            return "collections_upsert"
        return {"PATCH": "collections_update", "POST": "collections_create"}.get(method, "collections")
    if head == "sobjects":
        if len(parts) == 1:
            return "describe_global"
        if len(parts) >= 3 and parts[2] == "describe":
            return "describe"
        if len(parts) == 2:
            return "sobject_create" if method == "POST" else "sobject_metadata"
        if len(parts) >= 4:
            return "sobject_upsert"
        return {"GET": "sobject_get", "PATCH": "sobject_update", "DELETE": "sobject_delete"}.get(method, "sobject")
    if head == "tooling":
        return "tooling"
    return head


@dataclass
class _Cursor:
    rows: list[dict[str, Any]]
    version: str


class SalesforceSandbox:
    """Request handling over a `SalesforceStore`; `app` is the FastAPI application."""

    def __init__(self, store: SalesforceStore, injector: FaultInjector, stats: RequestStats,
                 page_size: int = MAX_PAGE):
        self.store = store
        self.injector = injector
        self.stats = stats
        self.page_size = page_size
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._cursor_ids = itertools.count(1)
        self._lock = threading.Lock()
        self.app = self._build()

    # -- app ------------------------------------------------------------------------------------
    def _build(self) -> FastAPI:
        app = FastAPI(title="leadpilot Salesforce sandbox", docs_url=None, redoc_url=None, openapi_url=None)
        install_faults(app, self.injector, self.stats, name_of=endpoint_name)

        @app.post("/services/Soap/u/{version}")
        @app.post("/{prefix:path}/services/Soap/u/{version}")
        async def soap_login(request: Request, version: str) -> Response:
            return self._soap_login(await request.body(), version, _base_url(request))

        @app.post("/services/oauth2/token")
        @app.post("/{prefix:path}/services/oauth2/token")
        async def oauth_token(request: Request) -> Response:
            # urlencoded form, parsed here: python-multipart is not a dependency
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
            return self._oauth_token(form, request.headers.get("authorization"), _base_url(request))

        @app.get("/services/oauth2/userinfo")
        def userinfo(request: Request) -> Response:
            user_id = self._auth(request)
            if user_id is None:
                return JSONResponse({"error": "invalid_token", "error_description": "invalid session"}, status_code=403)
            user = self.store.get("User", user_id) or {}
            return JSONResponse({"user_id": user_id, "organization_id": ORG_ID,
                                 "preferred_username": user.get("Username"), "email": user.get("Email"),
                                 "name": user.get("Name")})

        @app.api_route("/services/data/{version}/{rest:path}", methods=["GET", "POST", "PATCH", "DELETE"])
        async def data_api(request: Request, version: str, rest: str) -> Response:
            if not _VERSION.match(version):
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            user_id = self._auth(request)
            if user_id is None:
                return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            allowed, used, limit = self.store.charge()
            headers = {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}
            if not allowed:
                return JSONResponse([{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
                                    status_code=403, headers=headers)
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                return sf_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
            status, payload = self.dispatch(request.method, version, rest.strip("/"), dict(request.query_params),
                                            body, user_id, request.headers.get("sforce-query-options", ""))
            if status == 204:
                return Response(status_code=204, headers=headers)
            return JSONResponse(payload, status_code=status, headers=headers)

        return app

    def _auth(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith(("bearer ", "oauth ")):
            return None
        return self.store.session_user(header.split(" ", 1)[1].strip())

    # -- login ----------------------------------------------------------------------------------
    def _soap_login(self, body: bytes, version: str, base: str) -> Response:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return _soap_fault("INVALID_LOGIN", "Malformed login request")
        username = root.findtext(f".//{{{_PARTNER_NS}}}username") or ""
        secret = root.findtext(f".//{{{_PARTNER_NS}}}password") or ""
        user_id = self.store.check_login(username, secret)
        if user_id is None:
            return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        token = self.store.create_session(user_id)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{base}/services/Soap/m/{version}/{ORG_ID}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{base}/services/Soap/u/{version}/{ORG_ID}</serverUrl>"
            f"<sessionId>{escape(token)}</sessionId><userId>{user_id}</userId>"
            f"<userInfo><organizationId>{ORG_ID}</organizationId><userName>{escape(username)}</userName></userInfo>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(xml, media_type="text/xml")

    def _oauth_token(self, form: dict[str, str], authorization: str | None, base: str) -> Response:
        grant = form.get("grant_type", "")
        user_id: str | None = None
        if grant == "password":
            app = self.store.oauth_app(form.get("client_id", ""))
            if app is None or app[0] != form.get("client_secret"):
                return _oauth_error("invalid_client", "invalid client credentials")
            user_id = self.store.check_login(form.get("username", ""), form.get("password", ""))
        elif grant == "client_credentials":
            try:
                decoded = base64.b64decode((authorization or "").split(" ", 1)[1]).decode()
                client_id, client_secret = decoded.split(":", 1)
            except (IndexError, ValueError):
                client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
            app = self.store.oauth_app(client_id)
            if app is None or app[0] != client_secret:
                return _oauth_error("invalid_client", "invalid client credentials")
            user_id = app[1]
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            user_id = self._jwt_user(form.get("assertion", ""))
            if user_id is None:
                return _oauth_error("invalid_grant", "invalid assertion")
        else:
            return _oauth_error("unsupported_grant_type", f"grant type not supported: {grant}")
        if user_id is None:
            return _oauth_error("invalid_grant", "authentication failure")
        token = self.store.create_session(user_id)
        return JSONResponse({"access_token": token, "instance_url": base, "id": f"{base}/id/{ORG_ID}/{user_id}",
                             "token_type": "Bearer", "issued_at": str(int(datetime.now(UTC).timestamp() * 1000)),
                             "signature": "sandbox"})

    def _jwt_user(self, assertion: str) -> str | None:
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        app = self.store.oauth_app(str(claims.get("iss", "")))
        if app is None or not app[2]:
            return None
        try:
            claims = jwt.decode(assertion, app[2], algorithms=["RS256"], options={"verify_aud": False,
                                                                                   "require": ["exp", "sub"]})
        except jwt.PyJWTError:
            return None
        if not str(claims.get("aud", "")).rstrip("/").endswith(".salesforce.com"):
            return None
        return self.store.user_id(str(claims["sub"]))

    # -- data API -------------------------------------------------------------------------------
    def dispatch(self, method: str, version: str, rest: str, params: dict[str, str], body: Any,
                 user_id: str, query_options: str = "") -> tuple[int, Any]:
        """Handle one data API call (also each Composite subrequest): (status, JSON body)."""
        parts = rest.split("/") if rest else []
        try:
            if not parts:
                return 200, [{"label": "Sandbox", "url": f"/services/data/{version}", "version": version[1:]}]
            head = parts[0]
            if head in ("query", "queryAll") and method == "GET":
                if len(parts) == 1:
                    return self._query(params.get("q", ""), version, query_options)
                return self._query_more(parts[1], version)
            if head == "limits" and method == "GET":
                used, limit = self.store.usage()
                return 200, {"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)}}
            if head == "sobjects":
                return self._sobjects(method, version, parts[1:], body, user_id)
            if head == "composite":
                if len(parts) == 1 and method == "POST":
                    return self._composite(version, body, user_id)
                if len(parts) >= 2 and parts[1] == "sobjects":
                    return self._collections(method, parts[2:], body, user_id)
            if head == "tooling" and len(parts) >= 3 and parts[1] == "sobjects" and method == "POST":
                return self._tooling_create(parts[2], body)
        except SoqlError as exc:
            return 400, [{"errorCode": exc.code, "message": str(exc)}]
        except StoreError as exc:
            return (404 if exc.code in ("NOT_FOUND", "INVALID_TYPE") else 400), [{"errorCode": exc.code,
                                                                                  "message": str(exc)}]
        return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

    # queries
    def _getter(self, sobject: str) -> Any:
        fields_by_object: dict[str, dict[str, SfField]] = {}

        def specs(obj: str) -> dict[str, SfField]:
            if obj not in fields_by_object:
                fields_by_object[obj] = self.store.fields(obj) or {}
            return fields_by_object[obj]

        def get(record: dict[str, Any], dotted: str) -> Any:
            obj, value = sobject, record
            names = dotted.split(".")
            for name in names[:-1]:
                ref = next((f for f in specs(obj).values() if f.relationship_name == name), None)
                if ref is None or value.get(ref.name) is None:
                    return None
                obj = ref.reference_to or ""
                value = self.store.get(obj, value[ref.name]) or {}
            return value.get(names[-1])

        def check(dotted: str) -> None:
            obj = sobject
            names = dotted.split(".")
            for name in names[:-1]:
                ref = next((f for f in specs(obj).values() if f.relationship_name == name), None)
                if ref is None:
                    raise SoqlError("INVALID_FIELD", f"Didn't understand relationship '{name}' in field path. "
                                    f"If you are attempting to use a custom relationship, be sure to append the "
                                    f"'__r' after the custom relationship name.")
                obj = ref.reference_to or ""
            if names[-1] not in specs(obj):
                raise SoqlError("INVALID_FIELD", f"No such column '{names[-1]}' on entity '{obj}'. If you are "
                                "attempting to use a custom field, be sure to append the '__c' after the custom "
                                "field name.")

        return get, check

    def _query(self, soql: str, version: str, query_options: str) -> tuple[int, Any]:
        query = parse(soql)
        if self.store.object_info(query.sobject) is None:
            raise SoqlError("INVALID_TYPE", f"sObject type '{query.sobject}' is not supported.")
        get, check = self._getter(query.sobject)
        for name in query.fields + [o[0] for o in query.order_by] + _where_fields(query.where):
            check(name)
        rows = [r for r in self.store.records(query.sobject) if matches(query.where, r, get)]
        if query.order_by:
            sort_records(rows, query.order_by, get)
        if query.limit is not None:
            rows = rows[:query.limit]
        shaped = [self._shape(query, r, get, version) for r in rows]
        page = self.page_size
        match = re.search(r"batchSize=(\d+)", query_options)
        if match:
            page = max(200, min(int(match.group(1)), self.page_size))
        return 200, self._page(shaped, 0, page, version, None)

    def _page(self, rows: list[dict[str, Any]], offset: int, page: int, version: str,
              cursor_id: str | None) -> dict[str, Any]:
        chunk = rows[offset:offset + page]
        done = offset + page >= len(rows)
        out: dict[str, Any] = {"totalSize": len(rows), "done": done, "records": chunk}
        if not done:
            with self._lock:
                if cursor_id is None:
                    cursor_id = f"01gZZ{next(self._cursor_ids):010d}"
                    self._cursors[cursor_id] = _Cursor(rows, version)
                    while len(self._cursors) > 100:
                        self._cursors.popitem(last=False)
            out["nextRecordsUrl"] = f"/services/data/{version}/query/{cursor_id}-{offset + page}-{page}"
        return out

    def _query_more(self, locator: str, version: str) -> tuple[int, Any]:
        try:
            cursor_id, offset, page = locator.rsplit("-", 2)
            cursor = self._cursors[cursor_id]
        except (ValueError, KeyError):
            return 400, [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}]
        return 200, self._page(cursor.rows, int(offset), int(page), version, cursor_id)

    def _shape(self, query: Query, record: dict[str, Any], get: Any, version: str) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": query.sobject,
                                              "url": f"/services/data/{version}/sobjects/{query.sobject}/{record['Id']}"}}
        for name in query.fields:
            if "." not in name:
                out[name] = record.get(name)
                continue
            rel, _, leaf = name.partition(".")
            if rel not in out:
                specs = self.store.fields(query.sobject) or {}
                ref = next(f for f in specs.values() if f.relationship_name == rel)
                target = record.get(ref.name)
                out[rel] = None if target is None else {"attributes": {
                    "type": ref.reference_to, "url": f"/services/data/{version}/sobjects/{ref.reference_to}/{target}"}}
            if out[rel] is not None:
                out[rel][leaf.split(".")[0]] = get(record, name)
        return out

    # sObjects
    def _sobjects(self, method: str, version: str, parts: list[str], body: Any, user_id: str) -> tuple[int, Any]:
        if not parts:
            return 200, {"sobjects": [{"name": n, "label": (self.store.object_info(n) or ("",))[0],
                                       "custom": n.endswith("__c")} for n in self.store.object_names()]}
        sobject = parts[0]
        info = self.store.object_info(sobject)
        if info is None:
            return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
        if len(parts) >= 2 and parts[1] == "describe" and method == "GET":
            specs = self.store.fields(sobject) or {}
            return 200, {"name": sobject, "label": info[0], "custom": info[1], "keyPrefix": info[2],
                         "updateable": True, "createable": True, "queryable": True,
                         "fields": [f.describe() for f in specs.values()]}
        if len(parts) == 1 and method == "POST":
            outcome = self.store.apply([Write("insert", sobject, dict(body or {}))], user_id)[0]
            return (201, outcome.to_json()) if outcome.success else (400, _errors_to_rest(outcome.errors))
        if len(parts) == 2 and method == "GET":
            record = self.store.get(sobject, parts[1])
            if record is None:
                return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
            return 200, {"attributes": {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{parts[1]}"},
                         **record}
        if len(parts) == 2 and method == "PATCH":
            outcome = self.store.apply([Write("update", sobject, dict(body or {}), record_id=parts[1])], user_id)[0]
            return (204, None) if outcome.success else (400, _errors_to_rest(outcome.errors))
        if len(parts) == 3 and method == "PATCH":
            values = dict(body or {}, **{parts[1]: parts[2]})
            outcome = self.store.apply([Write("upsert", sobject, values, external_field=parts[1])], user_id)[0]
            if not outcome.success:
                return 400, _errors_to_rest(outcome.errors)
            return (201 if outcome.created else 200), outcome.to_json(with_created=True)
        return 405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": f"HTTP method '{method}' not allowed"}]

    def _collections(self, method: str, parts: list[str], body: Any, user_id: str) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return 400, [{"errorCode": "JSON_PARSER_ERROR", "message": "expected {allOrNone, records: [...]}"}]
        records: list[dict[str, Any]] = body["records"]
        if len(records) > COLLECTION_LIMIT:
            return 400, [{"errorCode": "EXCEEDED_ID_LIMIT",
                          "message": f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call"}]
        all_or_none = bool(body.get("allOrNone", False))
        writes: list[Write] = []
        for record in records:
            sobject = str((record.get("attributes") or {}).get("type") or (parts[0] if parts else ""))
            if method == "PATCH" and len(parts) >= 2:
                write = Write("upsert", parts[0], record, external_field=parts[1])
            elif method == "PATCH":
                write = Write("update", sobject, record, record_id=record.get("Id"))
            elif method == "POST":
                write = Write("insert", sobject, record)
            else:
                return 405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": f"HTTP method '{method}' not allowed"}]
            if self.injector.partial_failure():
                write.fail_with = ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records")
            writes.append(write)
        outcomes = self.store.apply(writes, user_id, all_or_none=all_or_none)
        upsert = method == "PATCH" and len(parts) >= 2
        return 200, [o.to_json(with_created=upsert) for o in outcomes]

    def _composite(self, version: str, body: Any, user_id: str) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            return 400, [{"errorCode": "JSON_PARSER_ERROR", "message": "expected {allOrNone, compositeRequest: [...]}"}]
        subrequests: list[dict[str, Any]] = body["compositeRequest"]
        if len(subrequests) > COMPOSITE_LIMIT:
            return 400, [{"errorCode": "INVALID_FIELD",
                          "message": f"a composite request holds at most {COMPOSITE_LIMIT} subrequests"}]
        if body.get("allOrNone"):
            return 400, [{"errorCode": "INVALID_FIELD", "message": "the sandbox supports allOrNone=false only"}]
        responses = []
        for sub in subrequests:
            url = str(sub.get("url", ""))
            match = re.match(r"^/services/data/(v[\d.]+)/([^?]*)(?:\?(.*))?$", url)
            if not match:
                status, payload = 404, [{"errorCode": "NOT_FOUND", "message": f"unknown subrequest url {url}"}]
            else:
                params = dict(parse_qsl(match.group(3) or ""))
                status, payload = self.dispatch(str(sub.get("method", "GET")).upper(), match.group(1),
                                                match.group(2).strip("/"), params, sub.get("body"), user_id)
            responses.append({"body": payload, "httpHeaders": {}, "httpStatusCode": status,
                              "referenceId": sub.get("referenceId")})
        return 200, {"compositeResponse": responses}

    def _tooling_create(self, kind: str, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or "FullName" not in body or not isinstance(body.get("Metadata"), dict):
            return 400, [{"errorCode": "JSON_PARSER_ERROR", "message": "expected {FullName, Metadata}"}]
        full_name = str(body["FullName"])
        meta: dict[str, Any] = body["Metadata"]
        try:
            if kind == "CustomField":
                sobject, _, name = full_name.partition(".")
                try:
                    spec = field_from_metadata(name, meta)
                except ValueError as exc:
                    return 400, [{"errorCode": "FIELD_INTEGRITY_EXCEPTION", "message": str(exc), "fields": []}]
                new_id = self.store.create_field(sobject, spec)
            elif kind == "CustomObject":
                new_id = self.store.create_object(full_name, str(meta.get("label") or full_name))
            else:
                return 404, [{"errorCode": "NOT_FOUND", "message": f"the sandbox cannot create {kind}"}]
        except StoreError as exc:
            return 400, [{"errorCode": exc.code, "message": str(exc), "fields": []}]
        return 201, {"id": new_id, "success": True, "errors": [], "warnings": [], "infos": []}


def _where_fields(expr: Any) -> list[str]:
    if expr is None:
        return []
    if expr[0] in ("and", "or"):
        return [n for e in expr[1] for n in _where_fields(e)]
    if expr[0] == "not":
        return _where_fields(expr[1])
    return [expr[1]]


def _errors_to_rest(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"errorCode": e["statusCode"], "message": e["message"], "fields": e.get("fields", [])} for e in errors]


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _soap_fault(code: str, message: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}"
        f'</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    )
    return Response(xml, status_code=500, media_type="text/xml")


def _oauth_error(code: str, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=400)


def create_salesforce_app(db_path: str | Path | SalesforceStore, injector: FaultInjector | None = None,
                          stats: RequestStats | None = None, *, page_size: int = MAX_PAGE) -> FastAPI:
    """The sandbox as a FastAPI app over the store at `db_path` (created and given standard objects if new)."""
    store = db_path if isinstance(db_path, SalesforceStore) else SalesforceStore(db_path)
    sandbox = SalesforceSandbox(store, injector or FaultInjector(error_body=fault_body), stats or RequestStats(),
                                page_size=page_size)
    sandbox.app.state.sandbox = sandbox
    return sandbox.app
