#!/usr/bin/env python3
"""Bounded fuzzing of Songnuan's GraphQL schema against a running server (called by .ci/fuzz.sh).

Issue 9: "0 server errors, 0 INTERNAL, and /health answering within 1 s throughout"; after it,
verifyAuditChain ok and RSS back within 2x of its idle figure.

Tool: hypothesis-graphql (the generator schemathesis uses for GraphQL), driven directly rather
than through the schemathesis CLI, because:
  * schemathesis' GraphQL checks follow Apollo's conventions: any error carrying a `path` is a
    "server error" (ST113) and any refused positive case a failure, so every FORBIDDEN,
    NOT_FOUND or VALIDATION this API answers by contract would be reported; all of its checks
    would have to be switched off and ours written as hooks anyway;
  * the run must not lock itself out: the ADMIN fuzzer may call disableUser / resetPassword with
    real ids (ids are small integers here), which would end the ADMIN, GRASSROOTS and audit
    sessions mid-run. Here those few cases are rejected before they are sent;
  * we want every request counted, every finding printed with its exact query, variables and
    answer, a wall-clock bound per run, and the same cases on every run (fixed seed, no example
    database, no shrinking: a finding is reported as found).

What is sent: for every Query and Mutation field, `--examples` schema-valid operations (half of
them, by draw, with the arguments moved into variables, which takes the JSON input path) and
`--negative-examples` operations with one schema violation (hypothesis-graphql's NEGATIVE mode),
as ADMIN and as GRASSROOTS. Scalars are drawn with bias toward this API's real values and edge
cases (real ids, demo category codes, valid ID numbers, dates at the ends of the calendar,
decimals with too many places or exponents, ...).

Checked in every answer: HTTP status < 500; a JSON object; no error with
extensions.code == "INTERNAL"; an answer within --request-timeout. Errors whose code is not one
of the contract's are listed too (they fail the run only with --strict-codes).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

import graphql
import hypothesis
import hypothesis_graphql as hg
from hypothesis import HealthCheck, Phase, given, reject, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

CONTRACT_CODES = {
    "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "VALIDATION", "CONFLICT", "DUPLICATE_RECIPIENT",
    "OVER_STANDARD", "BUDGET_EXCEEDED", "INVALID_STAGE", "INVALID_ID_NUMBER", "RATE_LIMITED",
    "INTERNAL",
}
# Mutations that would end a session the run itself needs when aimed at one of its users.
SESSION_ENDING = {"disableUser", "resetPassword"}


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------------------------
# HTTP


class Client:
    """One keep-alive connection; reconnects after any transport error."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        """(status, body bytes, seconds) or raises the transport error."""
        headers = dict(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                elapsed = time.perf_counter() - t0
                if resp.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, data, elapsed
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                # A kept-alive connection the server closed in between: retry once, fresh.
                self.conn.close()
                self.conn = None
                if attempt == 1 or time.perf_counter() - t0 > 1:
                    raise e
            except Exception:
                self.conn.close()
                self.conn = None
                raise
        raise AssertionError("unreachable")

    def graphql(self, query: str, variables=None, token: str | None = None):
        payload = {"query": query}
        if variables:
            payload["variables"] = variables
        headers = {"content-type": "application/json", "accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        return self.request("POST", "/graphql", json.dumps(payload).encode(), headers)

    def must(self, query: str, variables=None, token: str | None = None) -> dict:
        """A setup call that has to succeed."""
        status, body, _ = self.graphql(query, variables, token)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if status != 200 or not isinstance(doc, dict) or doc.get("errors") or not doc.get("data"):
            raise SystemExit(f"setup call failed (HTTP {status}): {query}\n  answer: {body[:600]!r}")
        return doc["data"]


# --------------------------------------------------------------------------------------------
# Value strategies (graphql ValueNodes), biased toward this API's real values and edges.


def id_number(birth: dt.date, seq: int) -> str:
    """A valid GB 11643 ID number (富民县 area code), check digit included."""
    body = f"530124{birth:%Y%m%d}{seq:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
    return body + check


def scalar_strategies(known_ids: list[str], strings: list[str]):
    S = nodes.String
    real_dates = st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)).map(lambda d: S(d.isoformat()))
    any_dates = st.dates().map(lambda d: S(d.isoformat()))
    date_edges = st.sampled_from([
        "1899-12-31", "1900-01-01", "1999-12-31", "2000-01-01", "2100-12-31", "2101-01-01",
        "2200-12-31", "2201-01-01", "2262-04-11", "2262-04-12",
        "0001-01-01", "9999-12-31", "0000-01-01", "-0001-01-01", "+10000-01-01", "10000-01-01",
        "-262144-01-01", "+262143-12-31", "2024-02-29", "2025-02-29", "2025-13-01", "2025-00-10",
        "2025-1-1", "20250115", "2025-01-15T00:00:00Z", " 2025-01-15", "", "今天",
    ]).map(S)
    date = st.one_of(real_dates, real_dates, any_dates, date_edges, st.text(max_size=12).map(S))

    utc = dt.timezone.utc
    real_dts = st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2027, 12, 31), timezones=st.just(utc))
    any_dts = st.datetimes(timezones=st.just(utc))
    dt_edges = st.sampled_from([
        "1899-12-31T23:59:59Z", "1900-01-01T00:00:00Z", "2200-12-31T23:59:59Z", "2201-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "+262143-12-31T23:59:59Z",
        "-262144-01-01T00:00:00Z", "2025-01-15T00:00:00+14:00", "2025-01-15T00:00:00-12:00",
        "2025-01-15T00:00:00", "2025-01-15", "2025-01-15T24:00:00Z", "1970-01-01T00:00:00Z",
        "2262-04-11T23:47:16.854775807Z", "2262-04-11T23:47:16.854775808Z", "",
    ])
    datetime = st.one_of(
        real_dts.map(lambda d: S(d.isoformat().replace("+00:00", "Z"))),
        any_dts.map(lambda d: S(d.isoformat().replace("+00:00", "Z"))),
        dt_edges.map(S),
        st.text(max_size=20).map(S),
    )

    money = st.decimals(min_value=0, max_value=200000, places=2, allow_nan=False, allow_infinity=False)
    decimal_edges = st.sampled_from([
        "0", "0.00", "-0.00", "-1.00", "-0.01", "0.001", "0.005", "1e3", "1E+2", "1.5e-2", "5E-324",
        "150000.00", "150000.01", "7750.00", "500.00", "300.00", "1000000000000.00",
        "92233720368547758.07", "92233720368547758.08", "184467440737095516.16",
        "79228162514264337593543950335", "79228162514264337593543950336",
        "99999999999999999999999999999999999999.99", "NaN", "Infinity", "-Infinity", " 1.00",
        "1,000.00", "１.００", "+1.00", "1.", ".5", "", "¥100",
    ])
    decimal = st.one_of(
        money.map(lambda d: S(f"{d:.2f}")), money.map(lambda d: S(f"{d:.2f}")),
        st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: S(str(d))),
        decimal_edges.map(S),
        st.integers(-(2**31), 2**31 - 1).map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.text(max_size=10).map(S),
    )

    small = st.integers(min_value=0, max_value=400)
    # Most rows of the demo have small ids: the campaign is 1, organisations 1-12, users 1-7,
    # categories 1-7; drawing these often reaches the code behind the look-ups.
    hot = st.integers(min_value=1, max_value=12)
    id_edges = st.sampled_from([
        "0", "-1", "2147483647", "2147483648", "9223372036854775807", "9223372036854775808",
        "18446744073709551616", "1e3", " 1", "1 ", "01", "+1", "1.0", "0x1", "", "１",
    ])
    ids = [st.sampled_from(known_ids).map(S)] if known_ids else []
    id_ = st.one_of(
        hot.map(lambda i: S(str(i))), hot.map(lambda i: S(str(i))), hot.map(nodes.Int),
        *ids, small.map(lambda i: S(str(i))), small.map(nodes.Int), id_edges.map(S),
        st.integers(-(2**31), 2**31 - 1).map(nodes.Int), st.text(max_size=8).map(S),
    )

    valid_ids = st.builds(id_number, st.dates(dt.date(1940, 1, 1), dt.date(2008, 12, 31)), st.integers(0, 999))
    string = st.one_of(
        st.text().map(S), st.text().map(S),
        st.sampled_from(strings).map(S),
        valid_ids.map(S),
        st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True).map(S),  # mobile numbers
        st.from_regex(r"62[0-9]{14,17}", fullmatch=True).map(S),  # bank accounts
        st.text(min_size=190, max_size=600).map(S),  # around the length limits
    )
    # Int: `first` (1-200), years, counts, quantities, participants, `days` (0-3660) and the
    # edges of each, besides the whole 32-bit range.
    int_ = st.one_of(
        st.integers(-(2**31), 2**31 - 1), st.integers(0, 250), st.integers(2020, 2030),
        st.sampled_from([0, 1, -1, 2, 199, 200, 201, 400, 401, 500, 501, 1000, 3660, 3661, 7999, 8000,
                         9999, 10000, 1899, 1900, 1999, 2000, 2100, 2101, 2200, 2201, 2**31 - 1, -(2**31)]),
    ).map(nodes.Int)
    return {
        "ID": id_, "Int": int_, "String": string, "Date": date, "DateTime": datetime, "Decimal": decimal,
        # A multipart upload cannot travel in a JSON body: these are refused (VALIDATION).
        "Upload": st.one_of(st.just(nodes.Null), st.text(max_size=5).map(S)),
    }


INTERESTING_STRINGS = [
    "", " ", "SERVICE_DEPT", "HARDSHIP", "COUNTY_HARDSHIP", "INJURED", "MODEL_WORKER",
    "NEW_EMPLOYMENT", "FRONTLINE", "admin", "yongding", "helpcentre", "finance", "富民县总工会",
    "永定街道工会联合会", "530124199001011234", "53012419900101123X", "530124199001011230",
    "13800138000", "6222020200112233445", "91530124MA6K8H3Q2H", "91530124ma6k8h3q2h ",
    "' OR '1'='1", "%", "_", "\\", "\x00", "a\x00b", "😀" * 50, "/1/", "{}", "null", "NaN",
    "x" * 10_000, "富" * 201, "createCampaign", "Campaign", "Recipient", "User",
]


def demo_strings(toml_path: Path, known: dict) -> list[str]:
    """Real values: page cursors, a few recipients' names (and prefixes) and ID numbers."""
    out = list(known.get("cursors", []))
    csv_path = toml_path.parent / tomllib.loads(toml_path.read_text())["campaign"].get("recipients", "")
    if csv_path.is_file():
        rows = [line.split(",") for line in csv_path.read_text(encoding="utf-8-sig").splitlines()[1:]]
        people = [r for r in rows if len(r) > 6 and r[3]][:8]
        for r in people:
            out += [r[2], r[2][:1], r[3], r[3].lower(), r[4], r[6]]
    return out


# --------------------------------------------------------------------------------------------
# Operations


def variables_form(query: str, root: graphql.GraphQLObjectType):
    """The same operation with its top-level arguments passed as variables ($v0, $v1, ...)."""
    doc = graphql.parse(query)
    op = doc.definitions[0]
    defs, variables, selections = [], {}, []
    for sel in op.selection_set.selections:
        if not isinstance(sel, graphql.FieldNode) or sel.name.value not in root.fields:
            selections.append(sel)
            continue
        field = root.fields[sel.name.value]
        args = []
        for arg in sel.arguments or ():
            decl = field.args.get(arg.name.value)
            if decl is None:
                args.append(arg)
                continue
            name = f"v{len(defs)}"
            variables[name] = graphql.value_from_ast_untyped(arg.value)
            var = graphql.VariableNode(name=graphql.NameNode(value=name))
            defs.append(graphql.VariableDefinitionNode(variable=var, type=graphql.parse_type(str(decl.type))))
            args.append(graphql.ArgumentNode(name=arg.name, value=var))
        selections.append(copy_node(sel, arguments=tuple(args)))
    if not defs:
        return query, None
    op = copy_node(op, variable_definitions=tuple(defs),
                   selection_set=copy_node(op.selection_set, selections=tuple(selections)))
    return graphql.print_ast(copy_node(doc, definitions=(op, *doc.definitions[1:]))), variables


def copy_node(node, **changes):
    """A copy of an AST node with some attributes changed (graphql-core 3.3 nodes are frozen)."""
    if dataclasses.is_dataclass(node):
        return dataclasses.replace(node, **changes)
    new = copy.copy(node)
    for k, v in changes.items():
        setattr(new, k, v)
    return new


def ends_a_session(query: str, protected: set[str]) -> bool:
    try:
        doc = graphql.parse(query)
    except graphql.GraphQLError:
        return False
    for op in doc.definitions:
        if getattr(op, "operation", None) != graphql.OperationType.MUTATION:
            continue
        for sel in op.selection_set.selections:
            if isinstance(sel, graphql.FieldNode) and sel.name.value in SESSION_ENDING:
                for arg in sel.arguments or ():
                    if arg.name.value == "id":
                        v = graphql.value_from_ast_untyped(arg.value)
                        if str(v).strip().lstrip("+0") in protected or v is None:
                            return True
    return False


# --------------------------------------------------------------------------------------------
# Fuzzing


class Run:
    def __init__(self, args, client: Client):
        self.args, self.client = args, client
        self.requests = Counter()  # role -> requests
        self.codes = {}  # role -> Counter of extensions.code ("ok" when no errors)
        self.op_codes = {}  # "role operation" -> Counter of extensions.code
        self.samples = {}  # "role operation code" -> a few [message, query, variables] (report only)
        self.failures = Counter()  # (role, kind) -> count
        self.findings = {}  # key -> finding (first occurrence, with count)
        self.contract = {}  # key -> finding for unknown/missing codes
        self.slowest = (0.0, "", "")
        self.ops_done = Counter()
        self.ops_skipped = {}  # role -> [op names not reached in time]
        self.started = time.monotonic()

    def record(self, store: dict, kind: str, role: str, op: str, mode: str, query, variables, status, body, note):
        key = (kind, op, note[:160])
        if key in store:
            store[key]["count"] += 1
            store[key]["roles"] = sorted(set(store[key]["roles"]) | {role})
            return
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        store[key] = {
            "kind": kind, "operation": op, "role": role, "roles": [role], "mode": mode, "count": 1,
            "note": note, "status": status, "query": query, "variables": variables,
            "response": text[:2000],
        }

    def check(self, role, op, mode, query, variables, token):
        self.requests[role] += 1
        codes = self.codes.setdefault(role, Counter())
        op_codes = self.op_codes.setdefault(f"{role} {op}", Counter())
        try:
            status, body, elapsed = self.client.graphql(query, variables, token)
        except Exception as e:  # timeout, refused, reset
            self.failures[(role, "no answer")] += 1
            self.record(self.findings, "no answer", role, op, mode, query, variables, None,
                        f"{type(e).__name__}: {e}", f"{type(e).__name__}: {e}")
            codes["(no answer)"] += 1
            return
        if elapsed > self.slowest[0]:
            self.slowest = (elapsed, role, op)
        if status >= 500:
            self.failures[(role, "HTTP 5xx")] += 1
            self.record(self.findings, "HTTP 5xx", role, op, mode, query, variables, status, body, f"HTTP {status}")
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or ("data" not in doc and "errors" not in doc):
            codes["(not GraphQL JSON)"] += 1
            if status >= 500:
                return  # counted as a 5xx already
            self.failures[(role, "not a GraphQL JSON answer")] += 1
            self.record(self.findings, "not a GraphQL JSON answer", role, op, mode, query, variables,
                        status, body, f"HTTP {status} {body[:80]!r}")
            return
        errors = doc.get("errors") or []
        if not errors:
            codes["ok"] += 1
            op_codes["ok"] += 1
        for err in errors:
            ext = err.get("extensions") if isinstance(err, dict) else None
            code = ext.get("code") if isinstance(ext, dict) else None
            codes[str(code)] += 1
            op_codes[str(code)] += 1
            sample = self.samples.setdefault(f"{role} {op} {code}", [])
            if len(sample) < 4:
                sample.append([err.get("message") if isinstance(err, dict) else None, query, variables])
            message = err.get("message", "") if isinstance(err, dict) else repr(err)
            if code == "INTERNAL":
                self.failures[(role, "INTERNAL")] += 1
                self.record(self.findings, "INTERNAL", role, op, mode, query, variables, status, body,
                            f"{message} path={err.get('path')}")
            elif code not in CONTRACT_CODES:
                if self.args.strict_codes:
                    self.failures[(role, "code outside the contract")] += 1
                # Group by message shape (digits and quoted names vary from case to case).
                shape = re.sub(r'"[^"]*"|\d+', "…", message)
                self.record(self.contract, f"code {code!r} outside the contract", role, op, mode, query,
                            variables, status, body, shape)

    def fuzz(self, role: str, token: str, role_seed: int, schema: graphql.GraphQLSchema, scalars, protected, deadline):
        a = self.args
        plan = []
        for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
            if root is None:
                continue
            for name in sorted(root.fields):
                plan.append((kind, root, name))
        log(f"-- fuzzing as {role}: {len(plan)} operations, up to {a.examples} valid + "
            f"{a.negative_examples} invalid cases each, seed {role_seed}, for at most {a.max_seconds:.0f} s")
        cfg = settings(
            database=None, deadline=None, derandomize=False, print_blob=False,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        )
        for i, (kind, root, name) in enumerate(plan):
            if time.monotonic() > deadline:
                self.ops_skipped[role] = [n for _, _, n in plan[i:]]
                log(f"   time budget spent: {len(plan) - i} operations not reached")
                break
            make = hg.queries if kind == "query" else hg.mutations
            before = self.requests[role]
            for mode, count in ((hg.Mode.POSITIVE, a.examples), (hg.Mode.NEGATIVE, a.negative_examples)):
                if count <= 0 or (mode is hg.Mode.NEGATIVE and not root.fields[name].args):
                    continue  # nothing to violate in a field without arguments
                try:
                    strategy = make(schema, fields=[name], custom_scalars=scalars, mode=mode)
                except Exception as e:  # a field the generator cannot build (negative mode without args)
                    log(f"   {kind} {name} {mode.name.lower()}: no strategy ({type(e).__name__}: {e})")
                    continue
                mode_name = mode.name.lower()

                @settings(cfg, max_examples=count)
                @seed(role_seed)
                @given(query=strategy, as_variables=st.booleans())
                def case(query, as_variables):
                    if time.monotonic() > deadline:
                        return
                    if ends_a_session(query, protected):
                        reject()
                    variables = None
                    try:
                        if as_variables and mode is hg.Mode.POSITIVE:
                            query, variables = variables_form(query, root)
                        self.check(role, name, mode_name, query, variables, token)
                    except Exception as e:  # a bug of this script: fail the run, keep fuzzing
                        self.failures[(role, "fuzz driver error")] += 1
                        self.record(self.findings, "fuzz driver error", role, name, mode_name, query, variables,
                                    None, repr(e), repr(e))

                try:
                    case()
                except hypothesis.errors.Unsatisfiable:
                    pass
                except Exception as e:  # the generator could not build cases for this field
                    log(f"   {kind} {name} {mode_name}: generator stopped ({type(e).__name__}: {str(e)[:200]})")
            self.ops_done[role] += 1
            if a.verbose:
                oc = ", ".join(f"{c} {n}" for c, n in self.op_codes.get(f"{role} {name}", Counter()).most_common())
                log(f"   {kind} {name}: {self.requests[role] - before} requests: {oc}")
        codes = ", ".join(f"{c} {n}" for c, n in self.codes.get(role, Counter()).most_common())
        log(f"   {self.requests[role]} requests; answers by code: {codes}")


# --------------------------------------------------------------------------------------------
# Hostile requests around the schema: bodies a GraphQL client would never send. Fixed cases, each
# sent once as ADMIN: the same checks (no 5xx, no INTERNAL, an answer in time), plus every error
# answered as JSON with a contract code (listed, failing only with --strict-codes).


def protocol_cases():
    j = lambda o: json.dumps(o).encode()  # noqa: E731
    deep = "organizations{" + "children{" * 12 + "id" + "}" * 12 + "}"
    bomb = ["fragment F0 on Query { me { id } }"] + [
        f"fragment F{i} on Query {{ " + " ".join(f"...F{i - 1}" for _ in range(10)) + " }" for i in range(1, 31)]
    first_var = 'query($n:Int){recipients(campaignId:"1",first:$n){totalCount}}'
    return [
        ("invalid JSON", b'{"query":'),
        ("batch (JSON array)", b'[{"query":"{me{id}}"},{"query":"{me{id}}"}]'),
        ("empty body", b""),
        ("JSON string body", b'"{me{id}}"'),
        ("JSON null body", b"null"),
        ("query not a string", j({"query": 1})),
        ("variables not an object", j({"query": "{me{id}}", "variables": [1]})),
        ("duplicate keys", b'{"query":"{me{id}}","query":"{me{username}}"}'),
        ("invalid UTF-8", b'{"query":"{me{id}}\xff"}'),
        ("nested JSON 10000 deep", b'{"query":"{me{id}}","variables":{"a":' + b"[" * 10000 + b"]" * 10000 + b"}}"),
        ("variable of the wrong type", j({"query": "query($id:ID!){campaign(id:$id){id}}", "variables": {"id": {"a": 1}}})),
        ("Int variable 1e400", ('{"query":%s,"variables":{"n":1e400}}' % json.dumps(first_var)).encode()),
        ("Int variable 10^23", ('{"query":%s,"variables":{"n":99999999999999999999999}}' % json.dumps(first_var)).encode()),
        ("Int variable 2^31", j({"query": first_var, "variables": {"n": 2**31}})),
        ("two operations, no name", j({"query": "query A{me{id}} query B{me{id}}"})),
        ("unknown operationName", j({"query": "query A{me{id}}", "operationName": "Z"})),
        ("syntax error", j({"query": "{me{id}"})),
        ("NUL in the query", j({"query": "{me{id}}\u0000"})),
        ("subscription", j({"query": "subscription{me{id}}"})),
        ("depth 13", j({"query": "{" + deep + "}"})),
        ("500 aliases", j({"query": "{" + " ".join(f"a{i}:campaigns{{categories{{id}}}}" for i in range(500)) + "}"})),
        ("fragment bomb 10^30", j({"query": "{ ...F30 } " + " ".join(bomb)})),
        ("fragment cycle", j({"query": "fragment A on Query{...B} fragment B on Query{...A} {...A}"})),
        ("duplicate directive", j({"query": "{me @include(if:true) @include(if:true){id}}"})),
        ("deep introspection", j({"query": "{__schema{types{fields{type{ofType{ofType{ofType{ofType{ofType{name}}}}}}}}}}"})),
        ("1 MB string argument", j({"query": 'query($s:String){recipients(campaignId:"1",filter:{search:$s}){totalCount}}',
                                    "variables": {"s": "富" * 330_000}})),
    ]


def send_raw(host: str, port: int, body: bytes, timeout: float, content_type: str = "application/json",
             token: str | None = None):
    """POST a body as is; a body the server refuses midway (413) may end in a closed socket."""
    import socket
    head = (f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n"
            + (f"Authorization: Bearer {token}\r\n" if token else "") + "\r\n").encode()
    t0 = time.perf_counter()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(head + body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    raw = b"".join(chunks)
    elapsed = time.perf_counter() - t0
    if not raw:
        return None, b"", elapsed
    header, _, payload = raw.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in header.lower():
        out, rest = b"", payload
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        payload = out
    return status, payload, elapsed


def run_protocol(run: "Run", token: str) -> None:
    a = run.args
    cases = protocol_cases() + [("3 MiB body (limit 2 MiB)", json.dumps({"query": "{me{id}}", "variables": {"s": "x" * (3 << 20)}}).encode())]
    log(f"-- hostile requests: {len(cases)} fixed cases as ADMIN")
    for name, body in cases:
        run.requests["protocol"] += 1
        codes = run.op_codes.setdefault(f"protocol {name}", Counter())
        shown = body[:300].decode("utf-8", "replace") + (f"… ({len(body)} bytes)" if len(body) > 300 else "")
        try:
            status, payload, _ = send_raw(a.host, a.port, body, a.request_timeout, token=token)
        except Exception as e:
            run.failures[("protocol", "no answer")] += 1
            run.record(run.findings, "no answer", "protocol", name, "raw", shown, None, None, repr(e), repr(e))
            continue
        if status is None:  # closed without an answer: only acceptable for the oversize body
            codes["(closed)"] += 1
            if "limit" not in name:
                run.failures[("protocol", "no answer")] += 1
                run.record(run.findings, "no answer", "protocol", name, "raw", shown, None, None, "", "connection closed")
            continue
        if status >= 500:
            run.failures[("protocol", "HTTP 5xx")] += 1
            run.record(run.findings, "HTTP 5xx", "protocol", name, "raw", shown, None, status, payload, f"HTTP {status}")
        if status == 413:
            codes["HTTP 413"] += 1
            if a.verbose:
                log(f"   {name}: HTTP 413")
            continue
        try:
            doc = json.loads(payload)
        except ValueError:
            doc = None
        errors = doc.get("errors") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or ("data" not in doc and "errors" not in doc):
            codes["(not GraphQL JSON)"] += 1
            run.record(run.contract, "answer is not GraphQL JSON", "protocol", name, "raw", shown, None, status,
                       payload, f"HTTP {status}")
            if a.strict_codes:
                run.failures[("protocol", "code outside the contract")] += 1
            continue
        for err in errors or []:
            ext = err.get("extensions") if isinstance(err, dict) else None
            code = ext.get("code") if isinstance(ext, dict) else None
            codes[str(code)] += 1
            if code == "INTERNAL":
                run.failures[("protocol", "INTERNAL")] += 1
                run.record(run.findings, "INTERNAL", "protocol", name, "raw", shown, None, status, payload,
                           str(err.get("message")))
            elif code not in CONTRACT_CODES:
                if a.strict_codes:
                    run.failures[("protocol", "code outside the contract")] += 1
                run.record(run.contract, f"code {code!r} outside the contract", "protocol", name, "raw", shown, None,
                           status, payload, str(err.get("message"))[:160])
        if not errors:
            codes["ok"] += 1
        if a.verbose:
            log(f"   {name}: HTTP {status}, " + ", ".join(f"{c} {n}" for c, n in codes.most_common()))


# --------------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"no VmRSS for pid {pid}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True, help="the server's process id (RSS)")
    p.add_argument("--admin-password", required=True)
    p.add_argument("--demo", default="demo/fumin-2025.toml", help="demo data: GRASSROOTS user and password")
    p.add_argument("--examples", type=int, default=100, help="valid cases per operation and role")
    p.add_argument("--negative-examples", type=int, default=25, help="invalid cases per operation and role")
    p.add_argument("--max-seconds", type=float, default=240, help="wall-clock bound of each role's run")
    p.add_argument("--request-timeout", type=float, default=10)
    p.add_argument("--seed", type=int, default=9)
    p.add_argument("--settle-seconds", type=float, default=5)
    p.add_argument("--report", default="target/fuzz-report", help="directory for findings.json")
    p.add_argument("--strict-codes", action="store_true", help="fail on error codes outside the contract")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()

    client = Client(a.host, a.port, a.request_timeout)
    here = Path(__file__).resolve().parent
    report_dir = Path(a.report)
    report_dir.mkdir(parents=True, exist_ok=True)
    probe_out = report_dir / "health.json"
    probe_out.unlink(missing_ok=True)
    # SIGTERM (the step's timeout) ends the run through `finally`, so the probe is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))
    probe = subprocess.Popen([sys.executable, str(here / "health_probe.py"), a.host, str(a.port), str(probe_out),
                              "0.2", str(2 * a.max_seconds + 600)])
    t_start = time.monotonic()
    results = []  # (check, passed, detail)
    run = Run(a, client)
    try:
        # ---- sessions: ADMIN (fuzzed), GRASSROOTS (fuzzed), a second ADMIN kept for the checks
        demo = tomllib.loads(Path(a.demo).read_text())
        grass = next(u for u in demo["users"] if "GRASSROOTS" in u["roles"])
        login = "mutation($u:String!,$p:String!){login(username:$u,password:$p){token user{id organization{id}}}}"
        admin = client.must(login, {"u": "admin", "p": a.admin_password})["login"]
        gr = client.must(login, {"u": grass["username"], "p": demo["demo_password"]})["login"]
        checker_password = os.urandom(12).hex()
        checker = client.must(
            "mutation($i:CreateUserInput!){createUser(input:$i){id}}",
            {"i": {"username": "ci-fuzz-checker", "password": checker_password, "displayName": "CI fuzz checker",
                   "roles": ["ADMIN"], "organizationId": admin["user"]["organization"]["id"]}},
            admin["token"],
        )["createUser"]
        check_token = client.must(login, {"u": "ci-fuzz-checker", "p": checker_password})["login"]["token"]
        protected = {admin["user"]["id"], gr["user"]["id"], checker["id"]}
        log(f"sessions: ADMIN admin (id {admin['user']['id']}), GRASSROOTS {grass['username']} "
            f"(id {gr['user']['id']}), checker ADMIN (id {checker['id']})")

        # ---- the schema the server serves (introspection), and the ids that exist
        intro = client.must(graphql.get_introspection_query(), None, admin["token"])
        schema = graphql.build_client_schema(intro)
        known = client.must(
            "{organizations{id} users{id} campaigns{id categories{id}} apiTokens{id}"
            " auditLog(first:20){edges{node{id}}}}", None, admin["token"])
        ids = {o["id"] for o in known["organizations"]} | {u["id"] for u in known["users"]}
        for c in known["campaigns"]:
            ids.add(c["id"])
            ids |= {k["id"] for k in c["categories"]}
            recs = client.must(f'{{recipients(campaignId:"{c["id"]}",first:200){{edges{{node{{id disbursements{{id}}}}}}}}}}',
                               None, admin["token"])
            for e in recs["recipients"]["edges"]:
                ids.add(e["node"]["id"])
                ids |= {d["id"] for d in e["node"]["disbursements"]}
        ids |= {e["node"]["id"] for e in known["auditLog"]["edges"]}
        pages = client.must('{recipients(campaignId:"1",first:3){pageInfo{endCursor}} '
                            'disbursements(campaignId:"1",first:3){pageInfo{endCursor}} '
                            'auditLog(first:3){pageInfo{endCursor}}}', None, admin["token"])
        known["cursors"] = [v["pageInfo"]["endCursor"] for v in pages.values() if v["pageInfo"]["endCursor"]]
        known_ids = sorted(ids, key=lambda s: (len(s), s))
        log(f"schema: {len(schema.query_type.fields)} queries, {len(schema.mutation_type.fields)} mutations; "
            f"{len(known_ids)} known ids")

        # ---- idle RSS after a warm-up
        warm = ["{me{id username roles}}", "{organizations{id name kind children{id}}}",
                "{campaigns{id name stage budget progress{committed spent}}}", "{verifyAuditChain{ok}}"]
        for _ in range(5):
            for q in warm:
                client.must(q, None, admin["token"])
                client.must(q if "verify" not in q else "{me{id}}", None, gr["token"])
        time.sleep(a.settle_seconds)
        rss_idle = rss_kib(a.pid)
        log(f"RSS idle: {rss_idle / 1024:.1f} MiB")

        # ---- fuzz
        scalars = scalar_strategies(known_ids, INTERESTING_STRINGS + demo_strings(Path(a.demo), known))
        for i, (role, token) in enumerate((("ADMIN", admin["token"]), ("GRASSROOTS", gr["token"]))):
            run.fuzz(role, token, a.seed + i, schema, scalars, protected, time.monotonic() + a.max_seconds)
        run_protocol(run, admin["token"])

        # ---- after
        for role, token in (("ADMIN", admin["token"]), ("GRASSROOTS", gr["token"])):
            status, body, _ = client.graphql("{me{id}}", None, token)
            alive = status == 200 and b'"errors"' not in body
            results.append((f"{role} session still valid after its run", alive, "" if alive else body[:300]))
        time.sleep(a.settle_seconds)
        rss_after = rss_kib(a.pid)
        ratio = rss_after / rss_idle
        results.append(("RSS after the fuzzing within 2x idle", ratio <= 2.0,
                        f"idle {rss_idle / 1024:.1f} MiB, after {rss_after / 1024:.1f} MiB ({ratio:.2f}x)"))
        chain = client.must("{verifyAuditChain{ok checked firstBrokenId}}", None, check_token)["verifyAuditChain"]
        results.append(("verifyAuditChain ok", chain["ok"] is True,
                        f"checked {chain['checked']}, first broken {chain['firstBrokenId']}"))
    finally:
        probe.send_signal(signal.SIGTERM)
        try:
            probe.wait(timeout=10)
        except subprocess.TimeoutExpired:
            probe.kill()

    total = sum(run.requests.values())
    health = json.loads(probe_out.read_text()) if probe_out.exists() else None
    fail_kinds = Counter()
    for (role, kind), n in run.failures.items():
        fail_kinds[kind] += n
    n5xx, ninternal = fail_kinds["HTTP 5xx"], fail_kinds["INTERNAL"]
    nother = sum(fail_kinds.values()) - n5xx - ninternal
    results.insert(0, ("0 HTTP 5xx answers", n5xx == 0, f"{n5xx}"))
    results.insert(1, ("0 errors with extensions.code INTERNAL", ninternal == 0, f"{ninternal}"))
    results.insert(2, ("every request answered with GraphQL JSON in time", nother == 0,
                       ", ".join(f"{k} {n}" for k, n in fail_kinds.items() if k not in ("HTTP 5xx", "INTERNAL")) or "0"))
    if health is None:
        results.append(("/health within 1 s throughout", False, "the probe wrote no summary"))
    else:
        ok = not health["failures"] and not health["slow"] and health["probes"] > 0
        results.append(("/health within 1 s throughout", ok,
                        f"{health['probes']} probes, max {1000 * (health['max_seconds'] or 0):.0f} ms, "
                        f"p99 {1000 * (health['p99_seconds'] or 0):.0f} ms, {len(health['slow'])} ≥ 1 s, "
                        f"{len(health['failures'])} failed"))
    for role, skipped in run.ops_skipped.items():
        log(f"note: {role} run hit its time bound; not reached: {', '.join(skipped)}")

    # ---- findings
    report = {
        "requests": dict(run.requests), "codes": {r: dict(c) for r, c in run.codes.items()},
        "codes_by_operation": {k: dict(c) for k, c in run.op_codes.items()},
        "samples": run.samples,
        "findings": list(run.findings.values()), "contract": list(run.contract.values()),
        "health": health, "results": [{"check": c, "passed": p, "detail": d} for c, p, d in results],
        "seed": a.seed, "examples": a.examples, "negative_examples": a.negative_examples,
    }
    (report_dir / "findings.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))

    def show(title, items):
        if not items:
            return
        log(f"\n==== {title}: {len(items)} distinct")
        for f in sorted(items, key=lambda f: (f["kind"], f["operation"])):
            log(f"-- [{f['kind']}] {f['operation']} ({'/'.join(f['roles'])}, {f['mode']}, seen {f['count']}x): {f['note']}")
            log(f"   query: {f['query'].strip()[:1500]}")
            if f["variables"]:
                log(f"   variables: {json.dumps(f['variables'], ensure_ascii=False)[:800]}")
            log(f"   answer (HTTP {f['status']}): {f['response'][:800]}")

    show("findings (server errors)", list(run.findings.values()))
    show("errors with a code outside the contract" + ("" if a.strict_codes else " (listed, not failing)"),
         list(run.contract.values()))
    if health and (health["failures"] or health["slow"]):
        log(f"\n/health problems (seconds into the run): slow {health['slow'][:20]} failed {health['failures'][:20]}")

    log("\n==== fuzz summary")
    log(f"tool: hypothesis-graphql {getattr(hg, '__version__', '0.13.5')}, hypothesis {hypothesis.__version__}, "
        f"graphql-core {graphql.__version__}; seed {a.seed}; per operation and role: {a.examples} valid + "
        f"{a.negative_examples} invalid cases, each role at most {a.max_seconds:.0f} s")
    log(f"requests: {total} ({', '.join(f'{r} {n}' for r, n in run.requests.items())}); "
        f"slowest answer {run.slowest[0] * 1000:.0f} ms ({run.slowest[1]} {run.slowest[2]}); "
        f"{time.monotonic() - t_start:.0f} s")
    passed = sum(1 for _, ok, _ in results if ok)
    for check, ok, detail in results:
        log(f"{'PASS' if ok else 'FAIL'}  {check}: {detail}")
    log(f"fuzz: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
