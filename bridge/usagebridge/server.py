"""HTTP API of the bridge (docs/design.md §6): JSON in, JSON out, never a traceback."""

import ipaddress
import json
import resource
import re
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, FrozenSet, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from .log import log
from . import __version__
from .config_store import ConfigStore, validate, zone_for
from .report import sessions_payload, stats_payload
from .agents import AGENTS
from .reports import KINDS, WEEKDAYS
from .timeparse import iso_ms
from .service import UsageService

MAX_BODY = 64 * 1024
SAFE_SESSION_ID = re.compile(r"^[A-Za-z0-9._:+-]{1,128}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
REPORT_PARAMS = frozenset(("since", "until", "timezone", "project", "order", "start_of_week", "breakdown", "reset_hour", "agent"))
#: A report's `agent`: one agent's usage, or every agent's (`all`, the default, as `ccusage daily`).
AGENT_CHOICES = AGENTS + ("all",)

#: (method, path) -> (handler, the query parameters it takes (None: any, unread), its arguments).
#: A parameter it does not take is a 400 listed with the handler's own.
ROUTES: Dict[Tuple[str, str], Tuple[str, Optional[FrozenSet[str]], Tuple[object, ...]]] = {
    ("GET", "/health"): ("get_health", None, ()),
    ("GET", "/usage/stats"): ("get_stats", frozenset(("plan", "custom_limit_tokens", "timezone", "reset_hour", "theme")), ()),
    ("GET", "/usage/sessions"): ("get_sessions", frozenset(("hours_back", "limit", "session_id")), ()),
    ("GET", "/usage/claude-session"): ("get_claude_session", frozenset(("session_id",)), ()),
    ("GET", "/usage/window"): ("get_window", frozenset(("ranges", "agent")), ()),
    ("GET", "/usage/agent-limits"): ("get_agent_limits", frozenset(), ()),
    ("GET", "/usage/config"): ("get_config", None, ()),
    ("POST", "/usage/config"): ("post_config", None, ()),
    **{("GET", f"/usage/reports/{kind}"): ("get_report", REPORT_PARAMS, (kind,)) for kind in KINDS},
}
PATHS = frozenset(path for _, path in ROUTES)


def host_name(header: Optional[str]) -> Optional[str]:
    """The host name of a Host header (`name`, `name:port`, `[v6]:port`), lower case."""
    if not header:
        return None
    host = header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None
        host = host[1:end]
    elif ":" in host:
        if host.count(":") > 1:
            return None
        host = host.split(":", 1)[0]
    host = host[:-1] if host.endswith(".") else host
    return host or None


class HostAllowList:
    """DNS rebinding: a web page whose name is made to resolve to 127.0.0.1 reaches the bridge with
    its own name in Host. Served: IP address literals (a rebinding page always uses a name),
    `localhost` and `*.localhost`, and the names given (`.example.com` for a domain and its
    subdomains, `*` for any) — the gateway's rule (ALLOWED_HOSTS)."""

    def __init__(self, names: Optional[List[str]] = None) -> None:
        self.any = False
        self.exact = {"localhost"}
        self.suffixes = [".localhost"]
        for raw in names or []:
            name = raw.strip().lower()
            if not name:
                continue
            if name == "*":
                self.any = True
            elif name.startswith("."):
                self.suffixes.append(name)
                self.exact.add(name[1:])
            else:
                self.exact.add(name)

    def allows(self, header: Optional[str]) -> bool:
        if self.any:
            return True
        name = host_name(header)
        if name is None:
            return False
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            pass
        return name in self.exact or any(name.endswith(s) for s in self.suffixes)


#: How deeply a POSTed JSON body may nest: the gateway's limit (src/common/json-guard.ts).
MAX_JSON_DEPTH = 64


def json_text_depth(text: str, limit: int) -> int:
    """The nesting depth of a JSON text, read without parsing (strings skipped); stops past limit."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


def prototype_keys(value: object) -> List[Dict[str, str]]:
    """The places of the gateway's prototype keys: `__proto__`, or `constructor` holding `prototype`."""
    errors: List[Dict[str, str]] = []
    stack: List[Tuple[object, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, dict):
            for key, child in item.items():
                place = f"{path}.{key}" if path else key
                if key == "__proto__":
                    errors.append({"field": place, "message": 'the key "__proto__" is refused (it would set a prototype)'})
                elif key == "constructor" and isinstance(child, dict) and "prototype" in child:
                    errors.append({"field": place, "message": 'a "constructor" object holding "prototype" is refused (it would set a prototype)'})
                stack.append((child, place))
    return sorted(errors, key=lambda e: e["field"])


def parse_json_body(raw: bytes) -> object:
    """A POSTed body as the gateway's parser takes it: UTF-8, at most MAX_JSON_DEPTH levels, no prototype keys."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest([{"field": "body", "message": "the body is not valid UTF-8"}])
    if json_text_depth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise BadRequest([{"field": "body", "message": f"the body nests deeper than {MAX_JSON_DEPTH} levels"}])
    try:
        body = json.loads(text or "null")
    except ValueError:
        raise BadRequest([{"field": "body", "message": "malformed JSON"}])
    errors = prototype_keys(body)
    if errors:
        raise BadRequest(errors)
    return body


class BadRequest(Exception):
    def __init__(self, errors: List[Dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _int_param(query: Dict[str, List[str]], name: str, low: int, high: int, default: Optional[int]) -> Tuple[Optional[int], Optional[dict]]:
    values = query.get(name)
    if not values or values[-1] == "":
        return default, None
    raw = values[-1]
    if not re.fullmatch(r"-?\d+", raw) or not low <= int(raw) <= high:
        return None, {"field": name, "message": f"must be an integer from {low} to {high}"}
    return int(raw), None


class BridgeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # SO_REUSEADDR: a restarted bridge must bind its fixed port while connections of the one that
    # died sit in TIME-WAIT there (60 s on Linux). It does not let a second process *listen* on a
    # port that is taken (that needs SO_REUSEPORT, never set), so "address already in use" still
    # means another listener — the same meaning as the gateway's pre-flight probe (Node's listen
    # sets SO_REUSEADDR too).
    allow_reuse_address = True
    allow_reuse_port = False

    def __init__(self, address, service: UsageService, config: ConfigStore, hosts: Optional[HostAllowList] = None) -> None:
        super().__init__(address, Handler)
        self.service = service
        self.config_store = config
        self.hosts = hosts or HostAllowList()


class Handler(BaseHTTPRequestHandler):
    server: BridgeHTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm and the client's delayed ACK
    # every keep-alive answer would wait ~40 ms for the second segment.
    disable_nagle_algorithm = True
    server_version = f"usage-bridge/{__version__}"
    # A socket that sends nothing for this long is closed (its thread ends): a client that opens
    # connections and stalls cannot hold threads for ever. Set from --request-timeout.
    timeout = 60.0

    def log_message(self, format: str, *args) -> None:  # quiet: the gateway logs requests
        pass

    # -- plumbing ------------------------------------------------------------------------------

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, errors: Optional[List[Dict[str, str]]] = None) -> None:
        body: Dict[str, object] = {"error": message, "status": status}
        if errors:
            body["errors"] = errors
        self._send(status, body)

    def _dispatch(self, method: str) -> None:
        if not self.server.hosts.allows(self.headers.get("Host")):
            self._error(403, "this Host is not served here (DNS rebinding protection): add it to --allowed-hosts")
            return
        try:
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            path = url.path.rstrip("/") or "/"
            found = ROUTES.get((method, path))
            if found is None:
                known = path in PATHS
                self._error(405 if known else 404, "method not allowed" if known else f"no route {url.path}")
                return
            name, params, args = found
            errors = [] if params is None else [
                {"field": key, "message": "unknown parameter"} for key in query if key not in params
            ]
            getattr(self, name)(*args, query, errors)
        except BadRequest as error:
            self._error(400, str(error), error.errors)
        except Exception as error:  # never a traceback to the client; one line to stderr
            log(f"{method} {self.path} failed: {error!r}")
            self._error(500, "internal error")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- routes --------------------------------------------------------------------------------

    def get_health(self, _query, _errors) -> None:
        service = self.server.service
        view = service.view
        store = service.store
        self._send(
            200,
            {
                "status": "healthy",
                "timestamp": iso_ms(service.now_ms()),
                "uptime_seconds": round(service.clock() - service.started_at, 3),
                "version": __version__,
                "initial_scan_complete": view.ready,
                "data_dirs": [{"path": p, "exists": exists} for p, exists in store.projects_dirs()],
                "files": view.files,
                "entries": view.entries,
                "duplicates": view.duplicates,
                "malformed_lines": view.malformed_lines,
                "last_scan_ms": round(store.last_scan_ms, 3),
                "bytes_read_total": store.bytes_read_total,
                "last_refresh_bytes": store.last_refresh_bytes,
                "scans": store.scans,
                # Stores built again (in the background) after a file was deleted or rewritten.
                "rebuilds": service.rebuilds,
                # ru_maxrss is in KiB on Linux; for children it is the largest finished worker.
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
                # Other agents' data (docs/agents.md): their folders, sources and counted events.
                "agents": service.agents.health() if service.agents is not None else {},
            },
        )

    def _require_ready(self) -> bool:
        if not self.server.service.view.ready:
            self._error(503, "warming up: the first scan of the usage logs is still running")
            return False
        return True

    def get_stats(self, query, errors: List[Dict[str, str]]) -> None:
        overrides: Dict[str, object] = {}
        if "plan" in query:
            overrides["plan"] = query["plan"][-1]
        if "timezone" in query:
            overrides["timezone"] = query["timezone"][-1]
        if "theme" in query:
            overrides["theme"] = query["theme"][-1]
        limit, problem = _int_param(query, "custom_limit_tokens", 1, 10**12, None)
        if problem:
            errors.append(problem)
        elif limit is not None:
            overrides["custom_limit_tokens"] = limit
        hour, problem = _int_param(query, "reset_hour", 0, 23, None)
        if problem:
            errors.append(problem)
        elif hour is not None:
            overrides["reset_hour"] = hour
        clean, more = validate(overrides, partial=True)
        errors.extend(more)
        if errors:
            raise BadRequest(errors)
        if not self._require_ready():
            return
        config = self.server.config_store.get()
        config.update(clean)
        service = self.server.service
        view = service.view
        payload = stats_payload(
            view.blocks, view.models, service.now_ms(), config, zone_for(str(config["timezone"])), view.limit_resets_at_ms
        )
        self._send(200, payload)

    def get_sessions(self, query, errors: List[Dict[str, str]]) -> None:
        hours_back, problem = _int_param(query, "hours_back", 1, 720, 24)
        if problem:
            errors.append(problem)
        limit, problem = _int_param(query, "limit", 1, 1000, 100)
        if problem:
            errors.append(problem)
        session_id = query.get("session_id", [None])[-1] or None
        if session_id is not None and not SAFE_SESSION_ID.match(session_id):
            errors.append({"field": "session_id", "message": "must be 1-128 letters, digits or ._:+-"})
        if errors:
            raise BadRequest(errors)
        if not self._require_ready():
            return
        service = self.server.service
        view = service.view
        self._send(200, sessions_payload(view.blocks, view.models, service.now_ms(), hours_back, limit, session_id))  # type: ignore[arg-type]

    def get_claude_session(self, query, errors: List[Dict[str, str]]) -> None:
        """GET /usage/claude-session?session_id=<Claude Code session id>: that session's usage
        (its log file and its subagents' files, de-duplicated as everywhere), zeros if unknown."""
        session_id = (query.get("session_id") or [""])[-1]
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", session_id):
            errors.append({"field": "session_id", "message": "must be a session id (letters, digits, ._-)"})
        if errors:
            raise BadRequest(errors)
        if not self._require_ready():
            return
        self._send(200, self.server.service.claude_session(session_id))

    def get_agent_limits(self, _query, errors: List[Dict[str, str]]) -> None:
        """GET /usage/agent-limits: other agents' official windows as their logs last reported
        them (Codex: each limit's latest `rate_limits` — primary 5-hour, secondary weekly)."""
        if errors:
            raise BadRequest(errors)
        if not self._require_ready():
            return
        agents = self.server.service.agents
        self._send(200, {"codex": agents.codex_limits() if agents is not None else []})

    def get_window(self, query, errors: List[Dict[str, str]]) -> None:
        """GET /usage/window?ranges=<since>-<until>,… (epoch ms, at most 50 ranges, each at most
        31 days): the usage inside each range, in all and per model."""
        raw = (query.get("ranges") or [""])[-1]
        ranges: List[Tuple[int, int]] = []
        parts = [p for p in raw.split(",") if p] if len(raw) <= 2000 else []
        if not parts or len(parts) > 50:
            errors.append({"field": "ranges", "message": "1-50 ranges <since>-<until> in epoch ms, comma-separated"})
        for part in parts[:50]:
            match = re.fullmatch(r"(\d{1,15})-(\d{1,15})", part)
            if not match or int(match.group(1)) > int(match.group(2)) or int(match.group(2)) - int(match.group(1)) > 31 * 86_400_000:
                errors.append({"field": "ranges", "message": f"{part[:40]!r}: <since>-<until>, since <= until, at most 31 days"})
                break
            ranges.append((int(match.group(1)), int(match.group(2))))
        agent = (query.get("agent") or ["claude"])[-1]
        if agent not in AGENTS:
            errors.append({"field": "agent", "message": f"must be one of {', '.join(AGENTS)}"})
        if errors:
            raise BadRequest(errors)
        if not self._require_ready():
            return
        self._send(200, {"windows": self.server.service.window_sums(ranges, agent)})

    def get_report(self, kind: str, query, errors: List[Dict[str, str]]) -> None:
        """GET /usage/reports/{daily|weekly|monthly|sessions}: every bad parameter listed in one 400."""
        last = lambda name: (query.get(name) or [""])[-1]  # noqa: E731
        bounds = {}
        for name in ("since", "until"):
            raw = last(name)
            if raw == "":
                bounds[name] = None
                continue
            try:
                if not DATE.match(raw):
                    raise ValueError(raw)
                bounds[name] = datetime.strptime(raw, "%Y-%m-%d").date()
            except ValueError:
                errors.append({"field": name, "message": "must be a date YYYY-MM-DD"})
        if bounds.get("since") and bounds.get("until") and bounds["since"] > bounds["until"]:
            errors.append({"field": "until", "message": "must not be before since"})
        zone_name = last("timezone") or str(self.server.config_store.get().get("timezone") or "UTC")
        if zone_name == "auto":
            zone_name = "UTC"
        zone = zone_for(zone_name)
        if zone is None:
            errors.append({"field": "timezone", "message": "must be an IANA time zone such as Europe/Berlin"})
        order = last("order") or "asc"
        if order not in ("asc", "desc"):
            errors.append({"field": "order", "message": "must be asc or desc"})
        week = last("start_of_week") or "sunday"
        if week not in WEEKDAYS:
            errors.append({"field": "start_of_week", "message": f"must be one of {', '.join(WEEKDAYS)}"})
        breakdown = last("breakdown") or "true"
        if breakdown not in ("true", "false"):
            errors.append({"field": "breakdown", "message": "must be true or false"})
        project = last("project") or None
        if project is not None and (len(project) > 255 or "/" in project):
            errors.append({"field": "project", "message": "must be a project folder name (no /)"})
        agent = last("agent") or "all"
        if agent not in AGENT_CHOICES:
            errors.append({"field": "agent", "message": f"must be one of {', '.join(AGENT_CHOICES)}"})
        stored_hour = self.server.config_store.get().get("reset_hour")
        reset_hour, problem = _int_param(query, "reset_hour", 0, 23, stored_hour or 0)
        if problem:
            errors.append(problem)
        if errors:
            raise BadRequest(errors)
        if not self._require_ready():
            return
        payload = self.server.service.report(
            kind,
            zone,
            since=bounds.get("since"),
            until=bounds.get("until"),
            project=project,
            order=order,
            start_of_week=WEEKDAYS.index(week),
            breakdown=breakdown == "true",
            reset_hour=reset_hour,
            agent=agent,
        )
        payload.update({"timezone": zone_name, "order": order, "reset_hour": reset_hour, "agent": agent})
        self._send(200, payload)

    def get_config(self, _query, _errors) -> None:
        self._send(200, self.server.config_store.get())

    def post_config(self, _query, _errors) -> None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise BadRequest([{"field": "body", "message": "a JSON object with Content-Length is required"}])
        if int(length) > MAX_BODY:
            self._error(413, f"body larger than {MAX_BODY} bytes")
            return
        body = parse_json_body(self.rfile.read(int(length)))
        if not isinstance(body, dict):
            raise BadRequest([{"field": "body", "message": "must be a JSON object"}])
        clean, errors = validate(body, partial=True)
        if errors:
            raise BadRequest(errors)
        self._send(200, self.server.config_store.update(clean))
