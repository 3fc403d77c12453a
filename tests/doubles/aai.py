"""In-process test double of ONAP A&AI, speaking A&AI's REST protocol over real HTTP.

An HTTP(S) server on 127.0.0.1 (a free port by default) that serves the part of
A&AI Multicloud uses, with A&AI's rules (the schema slice is in
:mod:`tests.doubles.aai_schema`):

* paths ``/aai/{version}/{namespace}/{plural}/{singular}/{keys}[/{child...}]``,
  wrapper-less containers (``.../hpa-feature-attributes/{key}``), plurals, and
  ``{node}/relationship-list/relationship`` (PUT adds an edge, idempotently;
  DELETE with the relationship as body removes it);
* ``X-FromAppId`` and ``X-TransactionId`` required (400 AAI_4009 / AAI_4010),
  HTTP Basic credentials (401 otherwise);
* ``resource-version``: 412 AAI_6130 for an update or delete without it, 6131 for
  a stale one, 6135 for one sent on create; nested children are checked each
  against its own version; every write bumps the node, both ends of an added or
  removed edge, and the cousins of a deleted node;
* GET ``depth`` (0 default, N, ``all``; 400 AAI_4016 when neither; 403 AAI_3303 on
  the plurals with maximumDepth 0), ``nodes-only``, attribute filters on plurals,
  404 for an empty plural; related-links ``/aai/{version}/...`` with
  ``relationship-label``;
* PUT: required fields (400 AAI_3000 listing them) after defaults, URI/payload key
  mismatch (400), unknown properties silently dropped (``cloud-epa-caps`` only up
  to v13, ``openstack-region-id`` of esr-system-info from v14, ``in-maint`` and
  ``orchestration-disabled`` required from v16 with default false), a present
  ``relationship-list`` replaces the node's edges, a present child list that
  leaves children out is an implied delete (403 AAI_9109 unless the app id is
  whitelisted);
* DELETE: a cloud-region with tenants, flavors or images, a flavor with
  capabilities, a tenant with vservers, an AZ with member pservers, a pserver
  hosting vservers, a flavor or image in use cannot be deleted (400 AAI_6110);
  AZs and esr-system-info go with their region, feature attributes with their
  capability, l-interfaces (and their l3 address lists) with their vserver;
  vf-modules live under their generic-vnf; a vserver has at most one pserver,
  flavor, image, generic-vnf and vf-module (edge multiplicity, 400 AAI_6140);
* every error is A&AI's ``requestError`` envelope.

Faults, for tests: :meth:`FakeAai.down` / :meth:`up` (connections refused),
:meth:`slow` (each answer delayed), :meth:`down_after_writes` (goes down after n
more writes, for "A&AI down mid-job"), :meth:`concurrent_writer` (another writer
bumps the target's version just before each of the next n writes).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from tests.doubles.aai_schema import (
    ERRORS,
    REST_TEMPLATES,
    SHALLOW_PLURALS,
    TOP,
    TYPES,
    EdgeRule,
    NodeType,
    edge_rule,
    is_containment,
)
from tests.doubles.dmaap_mr import make_self_signed_cert

LOOPBACK = "127.0.0.1"
VERSION_PATH = re.compile(r"^/aai/v(\d+)(/.*)$")
RESERVED_PARAMS = {
    "depth",
    "nodes-only",
    "format",
    "resultIndex",
    "resultSize",
    "skip-related-to",
    "resource-version",
    "cleanup",
}
DISPOSITION_4 = {4009, 4010, 4016}


class AaiFault(Exception):
    """An A&AI error answer: an AAI error code and its detail text."""

    def __init__(self, code: int, detail: str = "", *template_args: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.template_args = template_args

    @property
    def status(self) -> int:
        return ERRORS[self.code][1]

    def body(self, method: str, path: str) -> dict[str, Any]:
        """A&AI's error envelope for this fault on ``method path``."""
        category, _, rest, short = ERRORS[self.code]
        template = REST_TEMPLATES[rest]
        count = len(set(re.findall(r"%\d", template)))
        given = [method, path.lstrip("/"), *self.template_args][:count]
        given += [""] * (count - len(given))
        disposition = 4 if self.code in DISPOSITION_4 else 5
        message = f"{short}:{self.detail}" if self.detail else short
        return {
            "requestError": {
                "serviceException": {
                    "messageId": f"{'POL' if category == 1 else 'SVC'}{rest}",
                    "text": f"{template} (msg=%{count + 1}) (ec=%{count + 2})",
                    "variables": [*given, message, f"ERR.{disposition}.{category}.{self.code}"],
                }
            }
        }


@dataclass
class Node:
    type: str
    uri: str
    parent: str | None
    container: str
    attrs: dict[str, Any]
    version: str = ""


@dataclass
class Target:
    """What a path names: a node, a plural, or a node's relationship list."""

    kind: str  # "node", "plural" or "relationship"
    type: str
    uri: str
    parent: str | None
    container: str
    keys: dict[str, str] = field(default_factory=dict)


def _quote(value: str) -> str:
    return quote(value, safe="")


def parse_path(path: str) -> Target:
    """Resolve a version-less A&AI path; AaiFault 3001 for one A&AI does not serve."""
    segments = [unquote(s) for s in path.strip("/").split("/")]
    if len(segments) < 2 or (segments[0], segments[1]) not in TOP:
        raise AaiFault(3001, f"no such resource: {path}")
    type_name, container, parent, index = TOP[(segments[0], segments[1])], segments[1], None, 1
    prefix = f"/{segments[0]}"
    while True:
        node_type = TYPES[type_name]
        base = f"{prefix}/{container}"
        if index + 1 == len(segments):
            return Target("plural", type_name, base, parent, container)
        at = index + 1
        wrapperless = container == type_name
        if not wrapperless:
            if segments[at] != type_name:
                raise AaiFault(3001, f"no such resource: {path}")
            at += 1
            base = f"{base}/{type_name}"
        keys = segments[at : at + len(node_type.keys)]
        if len(keys) < len(node_type.keys) or not all(keys):
            raise AaiFault(3001, f"no such resource: {path}")
        uri = base + "".join(f"/{_quote(k)}" for k in keys)
        at += len(node_type.keys)
        key_map = dict(zip(node_type.keys, keys, strict=True))
        if at == len(segments):
            return Target("node", type_name, uri, parent, container, key_map)
        if segments[at:] == ["relationship-list", "relationship"]:
            return Target("relationship", type_name, uri, parent, container, key_map)
        child = node_type.children.get(segments[at])
        if child is None:
            raise AaiFault(3001, f"no such resource: {path}")
        parent, prefix, type_name, container, index = uri, uri, child, segments[at], at


class _Clock:
    """resource-versions: epoch milliseconds, strictly increasing."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> str:
        self.last = max(int(time.time() * 1000), self.last + 1)
        return str(self.last)


class Graph:
    """A&AI's data: nodes by canonical path and the cousin edges between them."""

    def __init__(self, version: int, whitelist: set[str]):
        self.version = version
        self.whitelist = whitelist
        self.nodes: dict[str, Node] = {}
        self.edges: dict[frozenset[str], tuple[str, str, str]] = {}
        self.clock = _Clock()

    # ------------------------------------------------------------------ reading

    def children(self, uri: str, container: str | None = None) -> list[Node]:
        found = [n for n in self.nodes.values() if n.parent == uri]
        if container is not None:
            found = [n for n in found if n.container == container]
        return sorted(found, key=lambda n: n.uri)

    def edges_of(self, uri: str) -> list[tuple[str, str, str]]:
        return [edge for pair, edge in self.edges.items() if uri in pair]

    def other_end(self, uri: str, edge: tuple[str, str, str]) -> Node:
        return self.nodes[edge[1] if edge[0] == uri else edge[0]]

    def render(self, node: Node, depth: int, nodes_only: bool) -> dict[str, Any]:
        out: dict[str, Any] = {**node.attrs, "resource-version": node.version}
        relationships = [] if nodes_only else self.relationships(node)
        if relationships:
            out["relationship-list"] = {"relationship": relationships}
        if depth <= 0:
            return out
        for container, child_type in TYPES[node.type].children.items():
            kids = [
                self.render(k, depth - 1, nodes_only) for k in self.children(node.uri, container)
            ]
            if kids:
                out[container] = kids if container == child_type else {child_type: kids}
        return out

    def relationships(self, node: Node) -> list[dict[str, Any]]:
        found = []
        for edge in self.edges_of(node.uri):
            other = self.other_end(node.uri, edge)
            rel: dict[str, Any] = {"related-to": other.type}
            if self.version >= 12:
                rel["relationship-label"] = edge[2]
            rel["related-link"] = f"/aai/v{self.version}{other.uri}"
            rel["relationship-data"] = self.key_data(other)
            found.append(rel)
        return sorted(found, key=lambda r: r["related-link"])

    def key_data(self, node: Node) -> list[dict[str, str]]:
        chain, current = [], node
        while current is not None:
            chain.insert(0, current)
            current = self.nodes.get(current.parent) if current.parent else None
        return [
            {"relationship-key": f"{n.type}.{key}", "relationship-value": str(n.attrs[key])}
            for n in chain
            for key in TYPES[n.type].keys
        ]

    # ------------------------------------------------------------------ writing

    def bump(self, node: Node) -> None:
        node.version = self.clock.next()

    def check_version(self, existing: Node | None, given: Any, uri: str) -> None:
        if existing is None:
            if given not in (None, ""):
                raise AaiFault(6135, f"resource-version passed for create of {uri}")
            return
        if given in (None, ""):
            raise AaiFault(6130, f"resource-version not passed for update of {uri}")
        if str(given) != existing.version:
            raise AaiFault(
                6131,
                f"resource-version MISMATCH for update of {uri}",
            )

    def clean(self, node_type: NodeType, body: dict[str, Any], keys: dict[str, str]):
        known = node_type.known(self.version)
        attrs = {k: v for k, v in body.items() if k in known}
        attrs.update(keys)
        for name, (default, _since) in node_type.defaults.items():
            if name in known:
                attrs.setdefault(name, default)
        missing = sorted(
            n for n in node_type.required_in(self.version) if attrs.get(n) in (None, "")
        )
        if missing:
            raise AaiFault(3000, f"Missing required property: {', '.join(missing)}")
        return attrs

    def validate(self, target: Target, body: Any, app_id: str, nested: bool = False) -> None:
        """Every check of a PUT, before anything is written (all or nothing)."""
        if not isinstance(body, dict):
            raise AaiFault(3102, "the payload is not a JSON object")
        node_type = TYPES[target.type]
        for key, value in target.keys.items():
            if key in body and str(body[key]) != value:
                raise AaiFault(3000, "uri and payload keys don't match")
        if target.parent and not nested and target.parent not in self.nodes:
            raise AaiFault(6114, f"No Node of type parent found at: {target.parent}")
        existing = self.nodes.get(target.uri)
        self.check_version(existing, body.get("resource-version"), target.uri)
        self.clean(node_type, body, target.keys)
        for container, child_type, items in self.child_lists(node_type, body):
            given = set()
            for item in items:
                child = self.child_target(target, container, child_type, item)
                given.add(child.uri)
                self.validate(child, item, app_id, nested=True)
            if existing is not None:
                omitted = [c for c in self.children(target.uri, container) if c.uri not in given]
                if omitted and app_id not in self.whitelist:
                    raise AaiFault(
                        9109,
                        f"User is not allowed to perform implicit delete on {container}",
                    )
        if "relationship-list" in body:
            for rel in self.relationship_items(body):
                self.check_edge(self.edge_target(rel), TYPES[target.type].name, target.uri)

    def child_lists(self, node_type: NodeType, body: dict[str, Any]):
        for container, child_type in node_type.children.items():
            if container not in body:
                continue
            value = body[container]
            items = value if container == child_type else (value or {}).get(child_type, [])
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise AaiFault(3102, f"{container} is not a list of objects")
            yield container, child_type, items

    def child_target(self, parent: Target, container: str, child_type: str, item: dict) -> Target:
        node_type = TYPES[child_type]
        missing = [k for k in node_type.keys if item.get(k) in (None, "")]
        if missing:
            raise AaiFault(3000, f"Missing required property: {', '.join(missing)}")
        keys = {k: str(item[k]) for k in node_type.keys}
        wrapper = "" if container == child_type else f"/{child_type}"
        uri = f"{parent.uri}/{container}{wrapper}" + "".join(f"/{_quote(v)}" for v in keys.values())
        return Target("node", child_type, uri, parent.uri, container, keys)

    def apply(self, target: Target, body: dict[str, Any]) -> bool:
        """Write a validated PUT; True when the node was created."""
        node_type = TYPES[target.type]
        attrs = self.clean(node_type, body, target.keys)
        node = self.nodes.get(target.uri)
        created = node is None
        if created:
            node = Node(target.type, target.uri, target.parent, target.container, attrs)
            self.nodes[target.uri] = node
        else:
            node.attrs = attrs
        self.bump(node)
        for container, child_type, items in self.child_lists(node_type, body):
            given = set()
            for item in items:
                child = self.child_target(target, container, child_type, item)
                given.add(child.uri)
                self.apply(child, item)
            for omitted in self.children(target.uri, container):
                if omitted.uri not in given:
                    self.remove(omitted)
        if "relationship-list" in body:
            self.replace_edges(node, [self.edge_target(r) for r in self.relationship_items(body)])
        return created

    def relationship_items(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        items = (body.get("relationship-list") or {}).get("relationship", [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise AaiFault(3102, "relationship-list.relationship is not a list of objects")
        return items

    def edge_target(self, rel: dict[str, Any]) -> Node:
        """The node a relationship points at (its related-link, else its relationship-data)."""
        related_to = str(rel.get("related-to", ""))
        if related_to not in TYPES:
            raise AaiFault(6120, f"unknown related-to {related_to!r}")
        link = rel.get("related-link")
        uri = self.link_uri(str(link)) if link else self.uri_from_data(related_to, rel)
        node = self.nodes.get(uri) if uri else None
        if node is None or node.type != related_to:
            keys = json.dumps(rel.get("relationship-data", []))
            raise AaiFault(
                6129,
                f"Node of type {related_to}. Could not find object at: {uri or link}",
                related_to,
                keys,
            )
        return node

    def link_uri(self, link: str) -> str | None:
        path = urlsplit(link).path
        match = VERSION_PATH.match(path)
        try:
            return parse_path(match.group(2) if match else path).uri
        except AaiFault:
            return None

    def uri_from_data(self, related_to: str, rel: dict[str, Any]) -> str | None:
        data = {
            d.get("relationship-key"): d.get("relationship-value")
            for d in rel.get("relationship-data", [])
            if isinstance(d, dict)
        }
        for node in self.nodes.values():
            if node.type == related_to and all(
                data.get(d["relationship-key"]) == d["relationship-value"]
                for d in self.key_data(node)
            ):
                return node.uri
        return None

    def check_edge(self, other: Node, node_type: str, uri: str) -> tuple[str, str, EdgeRule]:
        if is_containment(node_type, other.type):
            raise AaiFault(6145, f"{node_type} and {other.type} are parent and child, not cousins")
        found = edge_rule(node_type, other.type)
        if found is None:
            raise AaiFault(
                6120, f"No EdgeRule found for passed nodeTypes: {node_type}, {other.type}"
            )
        return found

    def add_edge(self, node: Node, other: Node) -> bool:
        """Add a cousin edge; False when it was there already (a no-op)."""
        start, end, rule = self.check_edge(other, node.type, node.uri)
        pair = frozenset((node.uri, other.uri))
        if pair in self.edges:
            return False
        single = node if start == node.type else other
        far_type = end if single is node else start
        if rule.multiplicity == "ONE2MANY":
            single = other if start == node.type else node
            far_type = start
        clash = [
            e for e in self.edges_of(single.uri) if self.other_end(single.uri, e).type == far_type
        ]
        if clash:
            raise AaiFault(6140, f"multiplicity rule {rule.multiplicity} from {start} to {end}")
        source, sink = (node, other) if start == node.type else (other, node)
        self.edges[pair] = (source.uri, sink.uri, rule.label)
        self.bump(node)
        self.bump(other)
        return True

    def drop_edge(self, node: Node, other: Node) -> None:
        pair = frozenset((node.uri, other.uri))
        if pair not in self.edges:
            raise AaiFault(6127, f"No edge between {node.uri} and {other.uri}")
        del self.edges[pair]
        self.bump(node)
        self.bump(other)

    def replace_edges(self, node: Node, wanted: list[Node]) -> None:
        wanted_uris = {w.uri for w in wanted}
        for edge in self.edges_of(node.uri):
            other = self.other_end(node.uri, edge)
            if other.uri not in wanted_uris:
                self.drop_edge(node, other)
        for other in wanted:
            self.add_edge(node, other)

    def check_delete(self, node: Node) -> None:
        node_type = TYPES[node.type]
        blockers = sorted({k.type for c in node_type.blocking for k in self.children(node.uri, c)})
        for edge in self.edges_of(node.uri):
            other = self.other_end(node.uri, edge)
            found = edge_rule(node.type, other.type)
            if found and found[2].prevents_delete_of == node.type:
                blockers.append(other.type)
        if blockers:
            raise AaiFault(
                6110,
                f"Object is being reference by additional objects preventing it from being "
                f"deleted. Please clean up references from the following types "
                f"{sorted(set(blockers))}",
            )
        for child in self.children(node.uri):
            self.check_delete(child)

    def remove(self, node: Node) -> None:
        """Delete a node, its children, its edges; bump its cousins."""
        for child in self.children(node.uri):
            self.remove(child)
        for edge in self.edges_of(node.uri):
            other = self.other_end(node.uri, edge)
            del self.edges[frozenset((node.uri, other.uri))]
            self.bump(other)
        del self.nodes[node.uri]


class _Faults:
    def __init__(self) -> None:
        self.slow = 0.0
        self.slow_methods: tuple[str, ...] = ()
        self.down_after_writes: int | None = None
        self.bump_writes = 0
        self.bump_filter = ""
        self.bumped: set[str] = set()
        self.bump_once = True


class FakeAai:
    """A faithful, in-process A&AI double for tests.

    Args:
        version: the schema version served (``/aai/v{version}/``); 13 by default.
        basic_auth: ``(user, password)`` every request must carry (OOM's ``AAI:AAI``).
        tls: serve HTTPS with a self-signed cert; clients verify with ``ca_file``.
        implied_delete_whitelist: X-FromAppId values allowed implied deletes.
    """

    def __init__(
        self,
        version: int = 13,
        basic_auth: tuple[str, str] = ("AAI", "AAI"),
        tls: bool = False,
        implied_delete_whitelist: tuple[str, ...] = (),
        port: int = 0,
    ) -> None:
        self.version = version
        self.basic_auth = basic_auth
        self.tls = tls
        self.port = port
        self.ca_file: str | None = None
        self.graph = Graph(version, set(implied_delete_whitelist))
        self.lock = threading.RLock()
        self.faults = _Faults()
        self.log: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None
        self._conns: set[Any] = set()
        self._ssl: ssl.SSLContext | None = None
        self._tmpdir: Path | None = None
        #: A shutdown started from a request thread (down_after_writes), if any.
        self._going_down: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{LOOPBACK}:{self.port}"

    @property
    def base(self) -> str:
        """The versioned root, e.g. ``http://127.0.0.1:PORT/aai/v13``."""
        return f"{self.url}/aai/v{self.version}"

    def start(self) -> FakeAai:
        if self.tls and self._ssl is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="fake-aai-tls-"))
            cert, key = make_self_signed_cert(self._tmpdir)
            self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl.load_cert_chain(cert, key)
            self.ca_file = str(cert)
        self._listen()
        return self

    def stop(self) -> None:
        self.down()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def down(self) -> None:
        """A&AI is down: the port refuses connections; open ones are dropped."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self.lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def up(self) -> None:
        """Back on the same port, with the data it held."""
        going_down = self._going_down
        if going_down is not None:
            # NOTE: a client may see the dropped connection before that shutdown has
            # released the port; coming back up waits for it.
            going_down.join()
            self._going_down = None
        if self._server is None:
            self._listen()

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> None:
        server = _Server(self, self.port)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-aai-{self.port}",
            daemon=True,
        ).start()

    # ------------------------------------------------------------------ faults

    def slow(self, seconds: float, methods: tuple[str, ...] = ()) -> None:
        """Delay every answer (or those to ``methods``) by ``seconds`` (0 ends it)."""
        self.faults.slow = seconds
        self.faults.slow_methods = methods

    def down_after_writes(self, n: int) -> None:
        """Serve ``n`` more writes, then go down (the n+1th write is refused)."""
        self.faults.down_after_writes = n

    def concurrent_writer(
        self, times: int, path_contains: str = "", once_per_node: bool = True
    ) -> None:
        """Another writer updates the next ``times`` existing nodes (whose path contains
        ``path_contains``) just before this client writes each, so its version moves on;
        each node once, or before every write with ``once_per_node=False``."""
        self.faults.bump_writes = times
        self.faults.bump_filter = path_contains
        self.faults.bump_once = once_per_node
        self.faults.bumped = set()

    def clear_faults(self) -> None:
        self.faults = _Faults()

    # ------------------------------------------------------------------ direct access

    def seed(self, path: str, body: dict[str, Any]) -> None:
        """Write ``body`` at ``path`` as another component would (no version rules)."""
        with self.lock:
            target = parse_path(path)
            existing = self.graph.nodes.get(target.uri)
            sent = {**body, "resource-version": existing.version} if existing else dict(body)
            if not existing:
                sent.pop("resource-version", None)
            self.graph.validate(target, sent, "test")
            self.graph.apply(target, sent)

    def seed_edge(self, path: str, other: str) -> None:
        with self.lock:
            node = self.graph.nodes[parse_path(path).uri]
            self.graph.add_edge(node, self.graph.nodes[parse_path(other).uri])

    def get(self, path: str, depth: int = 0) -> dict[str, Any] | None:
        """The object at ``path`` as A&AI would answer it; None when absent."""
        with self.lock:
            node = self.graph.nodes.get(parse_path(path).uri)
            return None if node is None else self.graph.render(node, depth, False)

    def exists(self, path: str) -> bool:
        return self.get(path) is not None

    def paths(self, node_type: str) -> list[str]:
        with self.lock:
            return sorted(n.uri for n in self.graph.nodes.values() if n.type == node_type)

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.log if method is None or r["method"] == method]

    # ------------------------------------------------------------------ serving

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes):
        """One request → (status, JSON body or None)."""
        if self.faults.slow and method in (self.faults.slow_methods or (method,)):
            time.sleep(self.faults.slow)
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        with self.lock:
            entry = {"method": method, "path": split.path, "query": query, "headers": headers}
            self.log.append(entry)
            try:
                path = self._check_request(split.path, headers)
                status, payload = self._dispatch(method, path, query, headers, body)
            except AaiFault as fault:
                status, payload = fault.status, fault.body(method, _short(split.path))
            entry["status"] = status
            return status, payload

    def _check_request(self, raw: str, headers: dict[str, str]) -> str:
        if not self._authorised(headers.get("authorization", "")):
            raise AaiFault(3302, "invalid or missing HTTP Basic credentials")
        if not headers.get("x-fromappid"):
            raise AaiFault(4009, "X-FromAppId header is missing")
        if not headers.get("x-transactionid"):
            raise AaiFault(4010, "X-TransactionId header is missing")
        match = VERSION_PATH.match(raw)
        if not match or int(match.group(1)) != self.version:
            raise AaiFault(3001, f"this A&AI serves /aai/v{self.version}/, not {raw}")
        return match.group(2)

    def _authorised(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:]).decode()
        except ValueError:
            return False
        return given == ":".join(self.basic_auth)

    def _dispatch(self, method, path, query, headers, body):
        target = parse_path(path)
        if method == "GET":
            return 200, self._get(target, query)
        if method in ("PUT", "DELETE", "PATCH"):
            return self._write(method, target, query, headers, body)
        raise AaiFault(3000, f"method {method} is not supported")

    def _get(self, target: Target, query: dict[str, str]) -> dict[str, Any]:
        depth = _depth(query.get("depth"))
        nodes_only = "nodes-only" in query
        graph = self.graph
        if target.kind == "node":
            node = graph.nodes.get(target.uri)
            if node is None:
                raise AaiFault(6114, f"No Node of type {target.type} found at: {target.uri}")
            return graph.render(node, depth, nodes_only)
        if target.kind == "plural":
            if depth > 0 and target.container in SHALLOW_PLURALS:
                raise AaiFault(3303, f"maximum depth of {target.container} is 0")
            members = self._members(target, query)
            if not members:
                raise AaiFault(6114, f"No Node of type {target.type} found at: {target.uri}")
            return {target.type: [graph.render(n, depth, nodes_only) for n in members]}
        raise AaiFault(3001, "a relationship list cannot be read on its own")

    def _members(self, target: Target, query: dict[str, str]) -> list[Node]:
        graph = self.graph
        if target.parent is None:
            members = [n for n in graph.nodes.values() if n.type == target.type and not n.parent]
        else:
            members = graph.children(target.parent, target.container)
        filters = {k: v for k, v in query.items() if k not in RESERVED_PARAMS}
        return sorted(
            (n for n in members if all(str(n.attrs.get(k)) == v for k, v in filters.items())),
            key=lambda n: n.uri,
        )

    def _write(self, method, target, query, headers, body):
        existing = self.graph.nodes.get(target.uri)
        faults = self.faults
        node_write = target.kind == "node" and existing is not None
        if faults.bump_writes and node_write and faults.bump_filter in target.uri:
            if not (faults.bump_once and target.uri in faults.bumped):
                faults.bump_writes -= 1
                faults.bumped.add(target.uri)
                self.graph.bump(existing)  # NOTE: another writer got there first.
        if self.faults.down_after_writes is not None:
            if self.faults.down_after_writes <= 0:
                self.faults.down_after_writes = None
                self._going_down = threading.Thread(target=self.down, daemon=True)
                self._going_down.start()
                raise _DropConnection
            self.faults.down_after_writes -= 1
        payload = _json(body) if body else None
        app_id = headers.get("x-fromappid", "")
        if target.kind == "relationship":
            return self._relationship(method, target, payload)
        if method == "PUT":
            self.graph.validate(target, payload, app_id)
            created = self.graph.apply(target, payload)
            return (201 if created else 200), None
        if method == "PATCH":
            return self._patch(target, payload, headers)
        return self._delete(target, query)

    def _relationship(self, method, target, payload):
        graph = self.graph
        node = graph.nodes.get(target.uri)
        if node is None:
            raise AaiFault(6114, f"No Node of type {target.type} found at: {target.uri}")
        if not isinstance(payload, dict):
            raise AaiFault(3102, "the relationship is not a JSON object")
        other = graph.edge_target(payload)
        if method == "PUT":
            graph.add_edge(node, other)
            return 200, None
        if method == "DELETE":
            graph.drop_edge(node, other)
            return 204, None
        raise AaiFault(3000, f"{method} is not supported on a relationship")

    def _patch(self, target, payload, headers):
        if "merge-patch+json" not in headers.get("content-type", ""):
            raise AaiFault(3000, "PATCH needs Content-Type application/merge-patch+json")
        node = self.graph.nodes.get(target.uri)
        if node is None:
            raise AaiFault(6114, f"No Node of type {target.type} found at: {target.uri}")
        if not isinstance(payload, dict) or any(
            isinstance(v, dict | list) for v in payload.values()
        ):
            raise AaiFault(3000, "PATCH takes the object's own properties only")
        given = payload.get("resource-version")
        if given not in (None, "") and str(given) != node.version:
            raise AaiFault(6131, f"resource-version MISMATCH for update of {target.uri}")
        known = TYPES[node.type].known(self.version)
        for key, value in payload.items():
            if key in known and key not in target.keys:
                if value is None:
                    node.attrs.pop(key, None)
                else:
                    node.attrs[key] = value
        self.graph.bump(node)
        return 200, None

    def _delete(self, target, query):
        node = self.graph.nodes.get(target.uri)
        version = query.get("resource-version")
        if not version:
            raise AaiFault(6130, f"resource-version not passed for delete of {target.uri}")
        if node is None:
            raise AaiFault(6114, f"No Node of type {target.type} found at: {target.uri}")
        if version != node.version:
            raise AaiFault(6131, f"resource-version MISMATCH for delete of {target.uri}")
        self.graph.check_delete(node)
        self.graph.remove(node)
        return 204, None


class _DropConnection(Exception):
    """Close the connection without answering (the process went away)."""


def _short(path: str) -> str:
    match = VERSION_PATH.match(path)
    return match.group(2) if match else path


def _depth(raw: str | None) -> int:
    if raw in (None, ""):
        return 0
    if raw == "all":
        return 1000
    if not raw.isdigit():
        raise AaiFault(4016, f"depth={raw}")
    return int(raw)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise AaiFault(3102, "the payload is not valid JSON") from None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, aai: FakeAai, port: int):
        self.aai = aai
        super().__init__((LOOPBACK, port), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn = request
        if self.aai._ssl is not None:
            try:
                request.settimeout(5)
                conn = self.aai._ssl.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                request.close()
                return
        with self.aai.lock:
            self.aai._conns.add(conn)
        try:
            super().finish_request(conn, client_address)
        finally:
            with self.aai.lock:
                self.aai._conns.discard(conn)
            conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that went away are not errors."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAAI/1.0"
    timeout = 15
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, payload = self.server.aai.handle(self.command, self.path, headers, body)
        except _DropConnection:
            self.close_connection = True
            return
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST = _serve  # noqa: N815
