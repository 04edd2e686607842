"""``haproxy.pyz top``: an interactive monitor for a HAProxy (or haproxy-py) stats socket.

Entry point: :func:`main` (``python -m haproxy_py top ARGS`` and ``python -m tui ARGS``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from collections.abc import Sequence

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Input, RichLog, Static

from .client import (
    ConnectFailed,
    PermissionDenied,
    StatsClient,
    StatsError,
    escape_arg,
    parse_info,
    parse_servers_state,
    parse_stat_lines,
)
from .locate import SocketNotFound, search_sockets, sockets_of_config
from .model import (
    FILTER_FIELDS,
    PROXY_COLUMNS,
    RATE_VIEWS,
    VIEW_KEYS,
    VIEWS,
    History,
    ServerRows,
    SortText,
    detail_text,
    info_summary,
    per_second,
    proxy_cells,
    row_matches,
    view_cells,
)
from .screens import ActionMenu, ConfirmScreen, HelpPanel, help_text
from .table import VirtualTable

# -i not given: the interval is the first of these that keeps a refresh under AUTO_BUDGET of a core
AUTO_STEPS = (1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0)
AUTO_BUDGET = 0.15

__all__ = ["TopApp", "main", "KEYS", "build_parser"]

# (keys shown in help, binding keys, action, description). One table feeds both the
# bindings and the help overlay, so they cannot drift apart.
KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("Up/Down j/k", "j", "cursor_down", "move the selection down / up (k)"),
    ("", "k", "cursor_up", ""),
    ("Tab", "", "", "switch between the proxies and the servers tables"),
    ("Enter", "", "", "servers: action menu / proxies: jump to its servers"),
    ("d  F3", "d,f3", "state('drain')", "drain the server (asks y/n, default no)"),
    ("m  F10", "m,f10", "state('maint')", "maintenance (asks y/n, default no)"),
    ("r  F9", "r,f9", "state('ready')", "ready: back into service"),
    ("F1 / F2", "f1", "state_all('ready')", "ready / maint this server name in every backend"),
    ("", "f2", "state_all('maint')", ""),
    ("w", "w", "weight_prompt", "set weight (absolute 0-256 or N%)"),
    ("+ / -  F8 / F5", "plus,f8", "weight_step(10)", "weight +10 / -10"),
    ("", "minus,f5", "weight_step(-10)", ""),
    ("F7 / F6", "f7", "weight_step(1)", "weight +1 / -1"),
    ("", "f6", "weight_step(-1)", ""),
    ("0  F4", "0,f4", "weight_reset", "restore the configured weight (100%)"),
    ("1 2 3 4 5", "1", "view('status')", "views: 1 status, 2 traffic, 3 HTTP, 4 errors, 5 timings"),
    ("", "2", "view('traffic')", ""),
    ("", "3", "view('http')", ""),
    ("", "4", "view('errors')", ""),
    ("", "5", "view('timings')", ""),
    ("i", "i", "detail", "detail pane of the selected server or proxy (again: close)"),
    ("/", "slash", "filter_prompt", "filter servers (Enter applies, Esc clears)"),
    ("s / S", "s", "sort_next", "sort by the next column / reverse the order"),
    ("", "S,shift+s", "sort_reverse", ""),
    (":", "colon", "command_prompt", "runtime API command (Up/Down: history)"),
    ("p", "p", "pause", "pause / resume refreshing"),
    ("Space", "space", "refresh_now", "refresh now"),
    ("?  F11", "question_mark,f11", "help", "this help"),
    ("q  F12", "q,f12", "quit", "quit"),
)

READ_ONLY_VERBS = ("show", "get", "help")
LEVEL_USER_REASON = (
    "the stats socket has level 'user' (actions need 'level admin' on its 'stats socket' line)"
)


class PromptInput(Input):
    """The bottom line used for ``:`` commands, ``/`` filters and ``w`` weights."""

    BINDINGS = [
        Binding("escape", "cancel", "cancel", show=False),
        Binding("up", "history(-1)", "previous", show=False),
        Binding("down", "history(1)", "next", show=False),
    ]

    def action_cancel(self) -> None:
        app = self.app
        if isinstance(app, TopApp):
            app.close_prompt(cancelled=True)

    def action_history(self, step: int) -> None:
        app = self.app
        if isinstance(app, TopApp):
            app.history_step(step)


class TopApp(App[int]):
    """The monitor. ``client`` is any object with an async ``command(str) -> str``."""

    TITLE = "haproxy-py top"
    CSS = """
    Screen { layout: vertical; layers: default help; }
    #info { height: auto; max-height: 2; background: $primary-background; color: $text; padding: 0 1; }
    #conn { height: 1; padding: 0 1; }
    #proxies { height: 1fr; min-height: 4; }
    #main { height: 2fr; min-height: 5; }
    #servers { width: 1fr; height: 100%; }
    #detail { width: 50; max-width: 60%; height: 100%; display: none; border-left: solid $primary; padding: 0 1; }
    #detail.-open { display: block; }
    #log { height: 5; border-top: solid $primary; }
    #status { height: 1; background: $panel; padding: 0 1; }
    #prompt { height: 1; border: none; padding: 0 1; display: none; }
    #prompt.-active { display: block; }
    DataTable > .datatable--cursor { text-style: bold reverse; }
    """
    BINDINGS = [Binding(keys, action, desc or action, show=False) for _, keys, action, desc in KEYS if keys]

    def __init__(
        self,
        client: StatsClient,
        interval: float | None = 1.0,
        read_only: bool = False,
        label: str | None = None,
        ansi: bool | None = None,
        read_only_reason: str = "",
    ) -> None:
        super().__init__()
        self.client = client
        # None: pick the interval from what a refresh costs (shown as "(auto)")
        self.auto_interval = interval is None
        self.interval = 1.0 if interval is None else interval
        self._timer: Timer | None = None
        self._cost: float | None = None
        self._wall: float | None = None
        self.read_only = read_only
        self.read_only_reason = read_only_reason or ("--read-only was given" if read_only else "")
        self.label = label or client.address
        self._ansi = ansi
        self.paused = False
        self.level = ""
        self.connected = False
        self.conn_error = ""
        self.failures = 0
        self.refreshes = 0
        self.last_reply = ""
        self.last_error = ""
        self.filter = ""
        self.sort: dict[str, tuple[int, bool] | None] = {"proxies": None, "servers": None}
        self.servers = ServerRows()
        # key -> (view, raw fields, cells) of the rows drawn so far
        self._srv_cache: dict[str, tuple[str, list[str], list[SortText]]] = {}
        self.view = "status"
        self.prev_servers = ServerRows()
        self._prev_proxies: dict[str, dict[str, str]] = {}
        self._order: list[str] = []  # every row key (proxies and servers) in show stat's order
        self._dt = 0.0
        self._last_apply = 0.0
        self.detail_open = False
        self.detail_hist = History(maxlen=30)
        self._detail_seen: dict[str, int] = {}
        self._help_focus: Widget | None = None
        self.help_open = False
        self.proxies: dict[str, dict[str, str]] = {}
        self.info: dict[str, str] = {}
        self.history = History()
        self._cells: dict[str, dict[str, list[SortText]]] = {"proxies": {}, "servers": {}}
        self._prompt_mode = ""
        self._prompt_target = ""
        self._cmd_history: list[str] = []
        self._hist_pos = 0
        self._fetching = False
        self._stopping = False
        self._last_ok = 0.0
        self._action_lock: asyncio.Lock | None = None
        self._iweights: dict[str, dict[str, str]] = {}
        self._iweight_keys: list[str] = []

    # ---- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("connecting...", id="info", markup=False)
        yield Static("", id="conn")
        proxies: DataTable[SortText] = DataTable(id="proxies", cursor_type="row", zebra_stripes=False)
        servers = VirtualTable(VIEWS[self.view], self._server_cells, id="servers")
        for col in PROXY_COLUMNS:
            proxies.add_column(col.label, key=col.key)
        yield proxies
        with Horizontal(id="main"):
            yield servers
            yield Static("", id="detail", markup=False)
        log = RichLog(id="log", max_lines=500, markup=False, wrap=False)
        log.can_focus = False  # Tab switches between the two tables only (nothing to do in the log)
        yield log
        yield PromptInput(id="prompt")
        yield Static("", id="status")
        # built once, here: '?' only shows it
        yield HelpPanel(help_text(self._help_keys(), self._help_note_text()))

    def on_mount(self) -> None:
        if self._ansi or (self._ansi is None and _few_colours()):
            try:
                self.theme = "ansi-dark"
            except Exception:  # noqa: BLE001 - theme names vary between Textual versions
                pass
        self.query_one("#servers", VirtualTable).focus()
        self._update_status()
        self.action_refresh_now()
        if self.interval > 0:
            self._timer = self.set_interval(self.interval, self._tick)

    def on_unmount(self) -> None:
        self._stopping = True

    def _tick(self) -> None:
        if not self.paused:
            self.action_refresh_now()

    # ---- refresh ------------------------------------------------------------------------

    def action_refresh_now(self) -> None:
        if self._stopping or self._fetching:
            return
        self._fetching = True
        self._refresh_worker()

    @work(exclusive=True, group="refresh")
    async def _refresh_worker(self) -> None:
        try:
            await self._fetch()
        finally:
            self._fetching = False

    async def _fetch(self) -> None:
        client = self.client
        try:
            if not self.level:
                try:
                    self.level = await client.cli_level()
                except PermissionDenied:
                    self.level = "unknown"
                if self.level == "user" and not self.read_only:
                    self.read_only = True
                    self.read_only_reason = LEVEL_USER_REASON
                    self.log_line(f"* read-only: {LEVEL_USER_REASON}")
            cpu0, wall0 = time.process_time(), time.monotonic()
            stat_text, info_text = await asyncio.gather(
                client.command("show stat"), client.command("show info")
            )
            if len(stat_text) > 100_000:
                # in a thread: the GIL is handed back every few ms, so keys keep answering
                header, proxies, fields, order = await asyncio.to_thread(_parse_stat, stat_text)
            else:
                header, proxies, fields, order = _parse_stat(stat_text)
            del stat_text
            info = parse_info(info_text)
            await self._configured_weights(fields)
        except (StatsError, ValueError) as exc:
            if self._stopping:
                return
            self.failures += 1
            was = self.connected
            self.connected = False
            self.level = ""
            self.conn_error = str(exc).replace(self.client.address, self.label)
            if was:
                self.log_line(f"! lost the stats socket: {self.conn_error}")
            self._update_status()
            return
        if self._stopping:
            return
        if not self.connected and self.failures:
            self.log_line(f"* reconnected to {self.label}")
        self.connected = True
        self.failures = 0
        self.conn_error = ""
        self._last_ok = time.monotonic()
        self.refreshes += 1
        if self.refreshes == 2:
            # what exists after the first refreshes (Textual's widgets, the app) lives as long as
            # the app: out of the collector's way, so a full collection scans only the snapshots
            gc.freeze()
        try:
            self._apply(header, proxies, fields, info, order)
        except NoMatches:  # the app is shutting down
            return
        self._adapt_interval(time.process_time() - cpu0, time.monotonic() - wall0)

    async def _configured_weights(self, fields: dict[str, list[str]]) -> None:
        """Read the configured weights (``srv_iweight`` of ``show servers state``).

        2.6's CSV has the effective ``weight`` and the user ``uweight`` only. The configured
        weight changes only with the configuration, so the state is read again only when the
        set of servers changes (first refresh, reload, add/del server).
        """
        keys = list(fields)
        if keys != self._iweight_keys:
            try:
                state = parse_servers_state(await self.client.command("show servers state"))
            except PermissionDenied:
                state = []
            self._iweights = {
                f"{r.get('be_name', '')}/{r.get('srv_name', '')}": {"iweight": r.get("srv_iweight", "")}
                for r in state
            }
            self._iweight_keys = keys
            cache = self._srv_cache
            for k in [k for k in cache if k not in fields]:
                del cache[k]

    def _apply(
        self,
        header: list[str],
        proxies: list[dict[str, str]],
        fields: dict[str, list[str]],
        info: dict[str, str],
        order: list[str] | None = None,
    ) -> None:
        now = time.monotonic()
        self._dt = now - self._last_apply if self._last_apply else 0.0
        self._last_apply = now
        self._order = order if order is not None else list(fields)
        self.info = info
        self.query_one("#info", Static).update(info_summary(info))
        hist = self.history
        pcells = [proxy_cells(r, hist) for r in proxies]
        self._prev_proxies = self.proxies
        self.proxies = {k: r for (k, _), r in zip(pcells, proxies, strict=False)}
        # Only the server rows on screen are turned into cells (VirtualTable asks _server_cells).
        self.prev_servers = self.servers
        self.servers = ServerRows(header, fields, self._iweights)
        self._sync_table("proxies", pcells)
        self._show_servers()
        self._update_status()

    def _row(self, key: str) -> tuple[dict[str, str] | None, dict[str, str] | None]:
        """(row, the same row at the previous refresh) of a server or a FRONTEND/BACKEND key."""
        if key in self.servers:
            prev = self.prev_servers[key] if key in self.prev_servers else None
            return self.servers[key], prev
        row = self.proxies.get(key)
        return row, self._prev_proxies.get(key) if row is not None else None

    def _server_cells(self, key: str) -> list[SortText]:
        """Cells of one row in the current view; asked only for the rows on screen, rebuilt
        only when the row's fields changed (or, in a view with rates, at each refresh)."""
        view = self.view
        rec: object = self.servers.fields.get(key)
        if rec is None:
            rec = self.proxies.get(key)
        cached = self._srv_cache.get(key)
        if rec is None:
            return cached[2] if cached else [SortText("", "") for _ in VIEWS[view]]
        if cached is not None and cached[0] == view:
            if cached[1] is rec or (view not in RATE_VIEWS and cached[1] == rec):
                self._srv_cache[key] = (view, rec, cached[2])
                return cached[2]
        row, prev = self._row(key)
        assert row is not None
        cells = view_cells(view, row, prev, self._dt)
        self._srv_cache[key] = (view, rec, cells)  # type: ignore[assignment]
        return cells

    def _server_keys(self) -> list[str]:
        """The rows to show, filtered and sorted: the servers, and in the views other than
        status the FRONTEND and BACKEND rows too (in show stat's order, as hatop lists them)."""
        rows = self.servers
        if self.view == "status":
            keys = list(rows.fields)
        else:
            keys = [k for k in self._order if k in rows.fields or k in self.proxies]
        if self.filter:
            needle = self.filter
            keys = [
                k
                for k in keys
                if row_matches(rows.mini(k, FILTER_FIELDS) if k in rows.fields else self.proxies[k], needle)
            ]
        s = self.sort["servers"]
        cols = VIEWS[self.view]
        if s is not None and s[0] < len(cols):
            col = cols[s[0]]
            sk = {}
            for k in keys:
                row, prev = self._row(k)
                sk[k] = _sort_key(col.build(row or {}, prev, self._dt))
            keys.sort(key=sk.__getitem__, reverse=s[1])
        return keys

    def _show_servers(self, first: bool = False) -> None:
        table = self.query_one("#servers", VirtualTable)
        if table.columns is not VIEWS[self.view]:
            table.set_columns(VIEWS[self.view])
        keys = self._server_keys()
        if keys == table.keys:
            table.refresh()
        else:
            table.set_keys(keys)
        if first:
            table.move_cursor(0)
        self._update_detail()

    def _adapt_interval(self, cost: float, wall: float = 0.0) -> None:
        """With no -i, pick the refresh interval so that refreshing takes at most AUTO_BUDGET of
        a core: 1 s while a refresh costs under 150 ms of CPU, longer for bigger proxies; and at
        least 1.5 times as long as the proxy takes to answer, so that a proxy with 50,000 servers is
        not kept dumping its statistics back to back."""
        if self.refreshes <= 2:  # the first refreshes build everything: not a steady cost
            return
        self._cost = cost if self._cost is None else 0.7 * self._cost + 0.3 * cost
        self._wall = wall if self._wall is None else 0.7 * self._wall + 0.3 * wall
        if not self.auto_interval:
            return
        want = max(self._cost / AUTO_BUDGET, 1.5 * self._wall)
        pick = next((i for i in AUTO_STEPS if i >= want), AUTO_STEPS[-1])
        if pick != self.interval:
            self.interval = pick
            if self._timer is not None:
                self._timer.stop()
            self._timer = self.set_interval(pick, self._tick)
            self.log_line(
                f"* refreshing every {pick:g}s (a refresh costs {self._cost * 1000:.0f} ms of CPU,"
                f" the proxy answers in {self._wall * 1000:.0f} ms)"
            )
            self._update_status()

    def _sync_table(self, name: str, rows: list[tuple[str, list[SortText]]], rebuild: bool = False) -> None:
        """Update the table in place when the set of rows is unchanged, else rebuild it."""
        table = self.query_one(f"#{name}", DataTable)
        cols = PROXY_COLUMNS
        old = self._cells[name]
        selected = self._selected_key(table)
        new = dict(rows)
        changed_sort = False
        sort = self.sort[name]
        if rebuild or len(new) != len(old) or any(k not in old for k in new):
            table.clear()
            for key, cells in rows:
                table.add_row(*cells, key=key)
            changed_sort = True
        else:
            sort_col = sort[0] if sort else -1
            for key, cells in rows:
                prev = old[key]
                if prev is cells:
                    continue
                for i, (a, b) in enumerate(zip(prev, cells, strict=False)):
                    if a.plain != b.plain or a.style != b.style:
                        table.update_cell(key, cols[i].key, b, update_width=len(b.plain) > len(a.plain))
                        if i == sort_col:
                            changed_sort = True
        self._cells[name] = new
        if sort and changed_sort:
            table.sort(cols[sort[0]].key, key=_sort_key, reverse=sort[1])
        if selected is not None and selected in new:
            idx = table.get_row_index(selected)
            if idx != table.cursor_row:
                table.move_cursor(row=idx, animate=False)

    @staticmethod
    def _selected_key(table: DataTable) -> str | None:
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - cursor outside the table
            return None

    # ---- status lines -------------------------------------------------------------------

    def _update_status(self) -> None:
        try:
            conn = self.query_one("#conn", Static)
            status = self.query_one("#status", Static)
        except NoMatches:
            return
        if self.connected:
            lvl = self.level or "?"
            warn = (
                ""
                if lvl in ("admin", "unknown", "?")
                else "  (actions need level admin: they will be denied)"
            )
            conn.update(Text.assemble(("● ", "green"), f"{self.label}  level {lvl}{warn}"))
        elif self.failures:
            conn.update(
                Text.assemble(
                    ("● DISCONNECTED ", "bold red"),
                    f"retrying every {self.interval or 1:g}s (attempt {self.failures}): {self.conn_error}",
                )
            )
        else:
            conn.update(Text(f"connecting to {self.label}..."))
        parts = []
        if self.paused:
            parts.append(("PAUSED ", "bold yellow"))
        if self.read_only:
            parts.append(("READ-ONLY ", "bold cyan"))
        view_key = next(k for k, v in VIEW_KEYS.items() if v == self.view)
        parts.append((f"[{view_key}] {self.view}  ", "bold"))
        if self.filter:
            parts.append((f"filter: {self.filter}  ", "bold"))
        for name in ("proxies", "servers"):
            s = self.sort[name]
            if s:
                cols = PROXY_COLUMNS if name == "proxies" else VIEWS[self.view]
                parts.append((f"{name} sort: {cols[s[0]].label} {'desc' if s[1] else 'asc'}  ", ""))
        total = len(self.servers)
        shown = self._shown_count() if self.filter else total
        count = f"{shown} of {total} servers" if self.filter else f"{total} servers"
        auto = " (auto)" if self.auto_interval else ""
        parts.append((f"{count}  every {self.interval:g}s{auto}  ", ""))
        parts.append(("? help  q quit", "dim"))
        status.update(Text.assemble(*parts))

    def _shown_count(self) -> int:
        try:
            return self.query_one("#servers", VirtualTable).row_count
        except NoMatches:
            return len(self.servers)

    def log_line(self, line: str) -> None:
        try:
            self.query_one("#log", RichLog).write(Text(line))
        except NoMatches:
            pass

    # ---- selection helpers --------------------------------------------------------------

    def selected_server(self) -> tuple[str, str] | None:
        try:
            table = self.query_one("#servers", VirtualTable)
        except NoMatches:
            return None
        key = table.selected_key()
        if key is None:
            return None
        be, _, sv = key.partition("/")
        return be, sv

    def _target(self) -> tuple[str, str] | None:
        if self.read_only:
            self.log_line(f"read-only: actions are disabled ({self.read_only_reason})")
            self.bell()
            return None
        tgt = self.selected_server()
        if tgt is None:
            self.log_line("no server selected")
            self.bell()
        elif tgt[1] in ("FRONTEND", "BACKEND"):
            self.log_line(f"{tgt[0]}/{tgt[1]} is a proxy row: select a server for actions")
            self.bell()
            return None
        return tgt

    def _focused_table(self) -> DataTable[SortText] | VirtualTable:
        f = self.focused
        if isinstance(f, (DataTable, VirtualTable)):
            return f
        return self.query_one("#servers", VirtualTable)

    # ---- commands -----------------------------------------------------------------------

    def run_command(self, command: str, expect_empty: bool = True) -> None:
        """Send one runtime API command in a worker; its reply goes to the log."""
        self.run_commands([command], expect_empty)

    def run_commands(self, commands: list[str], expect_empty: bool = True) -> None:
        """Send commands one after the other (one connection each), in the order given.

        Workers share a lock, so commands from quick successive key presses also reach the
        proxy in the order the keys were pressed.
        """
        for c in commands:
            self.log_line(f"> {c}")
        self._command_worker(list(commands), expect_empty)

    @work(group="action")
    async def _command_worker(self, commands: list[str], expect_empty: bool) -> None:
        if self._action_lock is None:
            self._action_lock = asyncio.Lock()
        async with self._action_lock:
            for command in commands:
                if not await self._send_one(command, expect_empty):
                    break
        if not self._fetching and not self._stopping:
            self.action_refresh_now()

    async def _send_one(self, command: str, expect_empty: bool) -> bool:
        try:
            reply = await self.client.command(command)
        except PermissionDenied as exc:
            self.last_error = str(exc)
            self.log_line(f"! {exc}")
            self.notify(str(exc), title="Permission denied", severity="error")
            return False
        except ConnectFailed as exc:
            self.last_error = str(exc).replace(self.client.address, self.label)
            self.log_line(f"! cannot send {command!r}: {self.last_error}")
            return False
        except StatsError as exc:
            self.last_error = str(exc)
            self.log_line(f"! {exc}")
            return False
        self.last_reply = reply
        text = reply.rstrip("\n")
        if not text:
            self.log_line("  ok" if expect_empty else "  (empty reply)")
        else:
            lines = text.split("\n")
            for ln in lines[:300]:
                self.log_line(f"  {ln}")
            if len(lines) > 300:
                self.log_line(f"  ... {len(lines) - 300} more lines")
            if expect_empty:
                self.last_error = text
        return True

    def _srv_arg(self, tgt: tuple[str, str]) -> str:
        return f"{escape_arg(tgt[0])}/{escape_arg(tgt[1])}"

    def _confirm_then(self, question: str, command: str) -> None:
        def done(yes: bool | None) -> None:
            if yes:
                self.run_command(command)
            else:
                self.log_line(f"cancelled: {command}")

        self.push_screen(ConfirmScreen(question), done)

    def action_state(self, state: str) -> None:
        tgt = self._target()
        if tgt is None:
            return
        cmd = f"set server {self._srv_arg(tgt)} state {state}"
        if state in ("drain", "maint"):
            what = "Drain" if state == "drain" else "Put into maintenance"
            self._confirm_then(f"{what} server {tgt[0]}/{tgt[1]}?", cmd)
        else:
            self.run_command(cmd)

    def action_state_all(self, state: str) -> None:
        tgt = self._target()
        if tgt is None:
            return
        name = tgt[1]
        keys = [k for k in self.servers if k.partition("/")[2] == name]
        cmds = [
            f"set server {escape_arg(k.partition('/')[0])}/{escape_arg(name)} state {state}" for k in keys
        ]

        def go(yes: bool | None = True) -> None:
            if not yes:
                self.log_line(f"cancelled: {state} {name} in every backend")
                return
            self.run_commands(cmds)

        if state == "ready":
            go()
        else:
            self.push_screen(
                ConfirmScreen(f"Set {state.upper()} for server {name} in {len(cmds)} backend(s)?"), go
            )

    def _weight_of(self, tgt: tuple[str, str]) -> int | None:
        row = self.servers.get(f"{tgt[0]}/{tgt[1]}")
        if not row:
            return None
        w = row.get("uweight") or row.get("weight") or ""
        return int(w) if w.isdigit() else None

    def action_weight_step(self, step: int) -> None:
        tgt = self._target()
        if tgt is None:
            return
        cur = self._weight_of(tgt)
        if cur is None:
            self.log_line(f"weight of {tgt[0]}/{tgt[1]} unknown yet")
            return
        new = max(0, min(256, cur + step))
        self.run_command(f"set weight {self._srv_arg(tgt)} {new}")

    def action_weight_reset(self) -> None:
        tgt = self._target()
        if tgt is not None:
            self.run_command(f"set weight {self._srv_arg(tgt)} 100%")

    def action_weight_prompt(self) -> None:
        tgt = self._target()
        if tgt is not None:
            cur = self._weight_of(tgt)
            self.open_prompt("weight", f"weight {tgt[0]}/{tgt[1]} (now {cur}; 0-256 or N%): ", target=tgt)

    def action_health(self, enable: bool) -> None:
        tgt = self._target()
        if tgt is None:
            return
        verb = "enable" if enable else "disable"
        cmd = f"{verb} health {self._srv_arg(tgt)}"
        if enable:
            self.run_command(cmd)
        else:
            self._confirm_then(f"Disable health checks of {tgt[0]}/{tgt[1]}?", cmd)

    def action_shutdown_sessions(self) -> None:
        tgt = self._target()
        if tgt is not None:
            self._confirm_then(
                f"Kill every active session on {tgt[0]}/{tgt[1]}?",
                f"shutdown sessions server {self._srv_arg(tgt)}",
            )

    # ---- server menu and proxies table --------------------------------------------------

    @on(VirtualTable.RowSelected, "#servers")
    def _server_selected(self, event: VirtualTable.RowSelected) -> None:
        key = event.key
        menu = ActionMenu(key, read_only=self.read_only)
        self.push_screen(menu, self._menu_done)

    def _menu_done(self, choice: str | None) -> None:
        handlers = {
            "ready": lambda: self.action_state("ready"),
            "drain": lambda: self.action_state("drain"),
            "maint": lambda: self.action_state("maint"),
            "weight": self.action_weight_prompt,
            "weight_up": lambda: self.action_weight_step(10),
            "weight_down": lambda: self.action_weight_step(-10),
            "weight_reset": self.action_weight_reset,
            "enable_health": lambda: self.action_health(True),
            "disable_health": lambda: self.action_health(False),
            "shutdown": self.action_shutdown_sessions,
        }
        h = handlers.get(choice or "")
        if h is not None:
            h()

    @on(DataTable.RowSelected, "#proxies")
    def _proxy_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value or ""
        name = key.partition("/")[0]
        servers = self.query_one("#servers", VirtualTable)
        for i, rk in enumerate(servers.keys):
            if rk.partition("/")[0] == name:
                servers.move_cursor(row=i)
                break
        servers.focus()

    # ---- views and the detail pane --------------------------------------------------------

    def action_view(self, view: str) -> None:
        if view == self.view:
            return
        self.view = view
        self.sort["servers"] = None  # columns differ from one view to another
        self._show_servers()
        self._update_status()

    def action_detail(self) -> None:
        self.detail_open = not self.detail_open
        pane = self.query_one("#detail", Static)
        pane.set_class(self.detail_open, "-open")
        self._update_detail()

    def _detail_key(self) -> str | None:
        f = self.focused
        if isinstance(f, DataTable) and f.id == "proxies":
            return self._selected_key(f)
        return self.query_one("#servers", VirtualTable).selected_key()

    def _update_detail(self) -> None:
        if not self.detail_open:
            return
        try:
            pane = self.query_one("#detail", Static)
        except NoMatches:
            return
        key = self._detail_key()
        row, prev = self._row(key) if key else (None, None)
        if key is None or row is None:
            pane.update("(nothing selected)")
            return
        r5 = per_second(row, prev, self._dt, "hrsp_5xx")
        hist = self.detail_hist
        if self._detail_seen.get(key) != self.refreshes:
            self._detail_seen[key] = self.refreshes
            hist.add(key, int(r5 * 100), _int0(row.get("rtime")))
        pane.update(detail_text(key, row, hist, prev, self._dt))

    @on(VirtualTable.CursorMoved, "#servers")
    def _servers_cursor(self, event: VirtualTable.CursorMoved) -> None:
        self._update_detail()

    @on(DataTable.RowHighlighted, "#proxies")
    def _proxies_cursor(self, event: DataTable.RowHighlighted) -> None:
        self._update_detail()

    # ---- navigation, sort, pause, help --------------------------------------------------

    def action_cursor_down(self) -> None:
        self._focused_table().action_cursor_down()

    def action_cursor_up(self) -> None:
        self._focused_table().action_cursor_up()

    def action_sort_next(self) -> None:
        table = self._focused_table()
        name = table.id or "servers"
        cols = PROXY_COLUMNS if name == "proxies" else VIEWS[self.view]
        cur = self.sort[name]
        nxt = 0 if cur is None else cur[0] + 1
        if nxt >= len(cols):
            self.sort[name] = None
            self._resync(name)
        else:
            self.sort[name] = (nxt, cur[1] if cur else False)
            self._apply_sort(name)
        self._update_status()

    def action_sort_reverse(self) -> None:
        table = self._focused_table()
        name = table.id or "servers"
        cur = self.sort[name] or (0, False)
        self.sort[name] = (cur[0], not cur[1])
        self._apply_sort(name)
        self._update_status()

    def _apply_sort(self, name: str) -> None:
        if name == "servers":
            self._show_servers()
            return
        table = self.query_one(f"#{name}", DataTable)
        cols = PROXY_COLUMNS
        s = self.sort[name]
        if s is None:
            return
        selected = self._selected_key(table)
        table.sort(cols[s[0]].key, key=_sort_key, reverse=s[1])
        if selected is not None:
            table.move_cursor(row=table.get_row_index(selected), animate=False)

    def _resync(self, name: str) -> None:
        """Rebuild a table from the last data (after a filter or an unsorted order change)."""
        if name == "proxies":
            rows = [proxy_cells(r) for r in self.proxies.values()]
            # keep the sparklines already computed
            old = self._cells["proxies"]
            rows = [(k, old.get(k, c)) for k, c in rows]
            self._sync_table(name, rows, rebuild=True)
        else:
            self._show_servers()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.log_line("* paused" if self.paused else "* resumed")
        self._update_status()

    @staticmethod
    def _help_keys() -> list[tuple[str, str]]:
        return [(shown, desc) for shown, _, _, desc in KEYS if shown]

    def _help_note_text(self) -> str:
        return f"Read-only: actions are disabled ({self.read_only_reason})." if self.read_only else ""

    def action_help(self) -> None:
        panel = self.query_one(HelpPanel)
        if self.help_open:
            self.close_help()
            return
        panel.set_text(help_text(self._help_keys(), self._help_note_text()))  # the note may have changed
        self._place_help(panel)
        self._help_focus = self.focused
        self.help_open = True
        panel.add_class("-open")
        panel.focus()

    def _place_help(self, panel: HelpPanel) -> None:
        """Centred, as the modal screen it replaces was: its height is its text's (+ the border),
        at most 90% of the terminal."""
        w, h = self.size.width, self.size.height
        tall = min(panel.text.count("\n") + 3, int(h * 0.9))
        panel.styles.offset = (max(0, (w - 76) // 2), max(0, (h - tall) // 2))

    def close_help(self) -> None:
        panel = self.query_one(HelpPanel)
        panel.remove_class("-open")
        self.help_open = False
        back = self._help_focus
        self._help_focus = None
        if back is not None and back.is_attached:
            back.focus()
        else:
            self.query_one("#servers", VirtualTable).focus()

    def on_resize(self, event: events.Resize) -> None:
        if self.help_open:
            self._place_help(self.query_one(HelpPanel))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the help is shown only '?' (which closes it) acts: it is modal."""
        if self.help_open and action != "help":
            return False
        return True

    # ---- prompt (: / w) ---------------------------------------------------------------

    def action_command_prompt(self) -> None:
        self.open_prompt("command", ": ")

    def action_filter_prompt(self) -> None:
        self.open_prompt("filter", "/ ", value=self.filter)

    def open_prompt(
        self, mode: str, placeholder: str, value: str = "", target: tuple[str, str] | None = None
    ) -> None:
        inp = self.query_one("#prompt", PromptInput)
        self._prompt_mode = mode
        self._prompt_target = f"{target[0]}/{target[1]}" if target else ""
        self._hist_pos = len(self._cmd_history)
        inp.placeholder = placeholder
        inp.value = value
        inp.add_class("-active")
        inp.focus()

    def close_prompt(self, cancelled: bool = False) -> None:
        inp = self.query_one("#prompt", PromptInput)
        mode = self._prompt_mode
        inp.remove_class("-active")
        inp.value = ""
        self._prompt_mode = ""
        if cancelled and mode == "filter" and self.filter:
            self.filter = ""
            self._resync("servers")
            self._update_status()
        self.query_one("#servers", VirtualTable).focus()

    def history_step(self, step: int) -> None:
        if self._prompt_mode != "command" or not self._cmd_history:
            return
        self._hist_pos = max(0, min(len(self._cmd_history), self._hist_pos + step))
        inp = self.query_one("#prompt", PromptInput)
        inp.value = self._cmd_history[self._hist_pos] if self._hist_pos < len(self._cmd_history) else ""
        inp.cursor_position = len(inp.value)

    @on(Input.Submitted, "#prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        mode = self._prompt_mode
        target = self._prompt_target
        self.close_prompt()
        if mode == "filter":
            self.filter = value
            self._show_servers(first=True)
            self._update_status()
        elif mode == "command" and value:
            if not self._cmd_history or self._cmd_history[-1] != value:
                self._cmd_history.append(value)
            verb = value.split()[0]
            if self.read_only and verb not in READ_ONLY_VERBS:
                self.log_line(
                    f"read-only ({self.read_only_reason}): only {', '.join(READ_ONLY_VERBS)} commands are sent"
                )
                return
            self.run_command(value, expect_empty=False)
        elif mode == "weight" and value and target:
            w = value
            if not (w[:-1] if w.endswith("%") else w).isdigit():
                self.log_line(f"not a weight: {value!r} (use 0-256 or N%)")
                return
            be, _, sv = target.partition("/")
            self.run_command(f"set weight {escape_arg(be)}/{escape_arg(sv)} {w}")

    def on_key(self, event: events.Key) -> None:
        # Textual reports Shift+S as "S" on some terminals and "shift+s" on others.
        if event.character == "S" and not isinstance(self.focused, Input):
            event.stop()
            event.prevent_default()
            self.action_sort_reverse()

    async def action_quit(self) -> None:
        self._stopping = True
        self.exit(0)


def _parse_stat(
    text: str,
) -> tuple[list[str], list[dict[str, str]], dict[str, list[str]], list[str]]:
    header, records = parse_stat_lines(text)
    return (header, *_split_records(header, records))


def _split_records(
    header: list[str], records: list[list[str]]
) -> tuple[list[dict[str, str]], dict[str, list[str]], list[str]]:
    """(frontend and backend rows as dicts, server fields by ``backend/server``); listeners skipped."""
    ti = header.index("type") if "type" in header else -1
    proxies: list[dict[str, str]] = []
    servers: dict[str, list[str]] = {}
    order: list[str] = []
    for rec in records:
        if len(rec) < 2:
            continue
        t = rec[ti] if 0 <= ti < len(rec) else ""
        if not t:
            sv = rec[1]
            t = "0" if sv == "FRONTEND" else "1" if sv == "BACKEND" else "2"
        if t == "2":
            key = f"{rec[0]}/{rec[1]}"
            servers[key] = rec
            order.append(key)
        elif t in ("0", "1"):
            proxies.append(dict(zip(header, rec, strict=False)))
            order.append(f"{rec[0]}/{rec[1]}")
    return proxies, servers, order


def _int0(v: str | None) -> int:
    try:
        return int(v or 0)
    except ValueError:
        return 0


def _sort_key(cell: object) -> tuple[int, object]:
    sk = getattr(cell, "sk", cell)
    if isinstance(sk, (int, float, bool)):
        return (0, sk)
    if isinstance(sk, tuple):
        return (1, tuple(str(x) if not isinstance(x, int) else f"{x:012d}" for x in sk))
    return (2, str(sk))


def _few_colours() -> bool:
    """True when the terminal likely has only the 8/16 basic colours."""
    if os.environ.get("COLORTERM") in ("truecolor", "24bit"):
        return False
    term = os.environ.get("TERM", "")
    return "256" not in term and "direct" not in term


# ---- command line -----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="haproxy.pyz top",
        description="Interactive monitor for a HAProxy or haproxy-py stats socket.",
    )
    p.add_argument("address", nargs="?", help="stats socket: a unix socket path or HOST:PORT")
    p.add_argument("-s", "--socket", help="unix socket path (or HOST:PORT) of the stats socket")
    p.add_argument("-f", "--config", help="read the 'stats socket' line of this haproxy.cfg")
    p.add_argument(
        "-i",
        "--interval",
        type=float,
        default=None,
        help="refresh interval in seconds (default: 1, longer for proxies with so many servers that a "
        "refresh costs over 15%% of a core; the status line shows it)",
    )
    p.add_argument("--read-only", action="store_true", help="disable every action (monitor only)")
    p.add_argument("--ansi", action="store_true", help="use only the terminal's basic ANSI colours")
    p.add_argument("--timeout", type=float, default=5.0, help="socket timeout in seconds (default 5)")
    return p


async def _probe(client: StatsClient) -> str:
    return await client.cli_level()


def _connect(args: argparse.Namespace) -> tuple[StatsClient, str] | str:
    """Find and reach the stats socket: ``(client, level)``, or the message to print."""
    explicit = args.socket or args.address
    tried: list[str] = []
    if explicit:
        cands = [(explicit, "")]
    elif args.config:
        try:
            cands = [(a, args.config) for a, _lvl in sockets_of_config(args.config)]
        except SocketNotFound as exc:
            return str(exc)
    else:
        cands, tried = search_sockets()
    for addr, origin in cands:
        client = StatsClient(addr, timeout=args.timeout)
        try:
            return client, asyncio.run(_probe(client))
        except PermissionDenied:
            return client, "unknown"
        except StatsError as exc:
            reason = exc.reason if isinstance(exc, ConnectFailed) else str(exc)
            where = f" (from {origin})" if origin else ""
            if len(cands) == 1 and (explicit or args.config):
                return f"cannot connect to the stats socket {addr}{where}: {reason}"
            tried.append(f"{addr}{where} ({reason})")
    detail = (
        f"no stats socket of {args.config} answers." if args.config else "no HAProxy stats socket found."
    )
    return str(SocketNotFound(tried, detail))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the monitor; returns the process exit status (0 ok, 1 cannot connect, 2 usage)."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.interval is not None and args.interval <= 0:
        print("top: the refresh interval must be positive", file=sys.stderr)
        return 2
    got = _connect(args)
    if isinstance(got, str):
        print(f"top: {got}", file=sys.stderr)
        return 1
    client, level = got
    read_only = args.read_only
    reason = "--read-only was given" if read_only else ""
    if level == "user" and not read_only:
        print(f"top: {client.address} has level 'user': starting read-only", file=sys.stderr)
        read_only = True
        reason = LEVEL_USER_REASON
    app = TopApp(
        client,
        interval=args.interval,
        read_only=read_only,
        read_only_reason=reason,
        ansi=True if args.ansi else None,
    )
    rc = app.run()
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
