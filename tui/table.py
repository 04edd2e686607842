"""A table that renders only its visible rows (10,000+ servers at a 1 s refresh).

Textual's DataTable keeps a cell object per row and column and re-measures on every update:
with 10,000 servers whose ``lastchg`` ticks every second that is 10,000 updates a refresh. This
widget holds only the ordered row keys; the cells of a row are asked from ``cells_of(key)`` when
the row is drawn, so a refresh costs what is on screen. The first line is a sticky header.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .model import Column, SortText, fit_columns

__all__ = ["VirtualTable"]

_CURSOR_FOCUS = Style(reverse=True, bold=True)
_CURSOR = Style(reverse=True)
CellsOf = Callable[[str], Sequence[SortText]]


@lru_cache(maxsize=256)
def _style(spec: str) -> Style:
    return Style.parse(spec) if spec else Style()


def _fit(text: str, width: int, justify: str | None) -> str:
    n = cell_len(text)
    if n > width:
        return text[: max(0, width - 1)] + "…" if width > 0 else ""
    pad = width - n
    return " " * pad + text if justify == "right" else text + " " * pad


class VirtualTable(ScrollView, can_focus=True):
    """Rows by key, drawn on demand. ``cursor_row`` is the selected row's index."""

    DEFAULT_CSS = """
    VirtualTable { background: $surface; }
    """
    BINDINGS = [
        Binding("up", "cursor_up", "up", show=False),
        Binding("down", "cursor_down", "down", show=False),
        Binding("pageup", "page_up", "page up", show=False),
        Binding("pagedown", "page_down", "page down", show=False),
        Binding("home", "first", "first", show=False),
        Binding("end", "last", "last", show=False),
        Binding("enter", "select", "select", show=False),
    ]

    class CursorMoved(Message):
        def __init__(self, table: VirtualTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(Message):
        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, columns: Sequence[Column], cells_of: CellsOf, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = tuple(columns)
        self.cells_of = cells_of
        self.keys: list[str] = []
        self._index: dict[str, int] | None = {}
        self.cursor_row = 0
        self.widths = [cell_len(c.label) for c in self.columns]
        self.rendered_rows = 0  # rows drawn since start (tests and the benchmark read it)
        self._shown: list[int] = list(range(len(self.columns)))
        self._shown_for: tuple[int, tuple[int, ...]] | None = None

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Another view: new columns, widths measured again from what is drawn."""
        self.columns = tuple(columns)
        self.widths = [cell_len(c.label) for c in self.columns]
        self._shown_for = None
        self.virtual_size = Size(self._total_width(), len(self.keys) + 1)
        self.refresh()

    def shown_columns(self) -> list[int]:
        """Indexes of the columns drawn at the current width (narrow terminals drop the
        columns of lowest priority, see model.fit_columns)."""
        sig = (self.size.width, tuple(self.widths))
        if sig != self._shown_for:
            cols = self.columns
            if all(hasattr(c, "prio") for c in cols) and self.size.width > 0:
                self._shown = fit_columns(cols, self.widths, self.size.width)  # type: ignore[arg-type]
            else:
                self._shown = list(range(len(cols)))
            self._shown_for = sig
        return self._shown

    # ---- data ---------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.keys)

    def set_keys(self, keys: list[str], keep: str | None = None) -> None:
        """Replace the rows; the cursor follows ``keep`` (default: the selected key)."""
        if keep is None:
            keep = self.selected_key()
        self.keys = keys
        self._index = None
        if keep is not None:
            idx = self.row_index(keep)
            if idx is not None:
                self.cursor_row = idx
        self.cursor_row = max(0, min(self.cursor_row, len(keys) - 1))
        self.virtual_size = Size(self._total_width(), len(keys) + 1)
        self._scroll_to_cursor()
        self.refresh()

    def row_index(self, key: str) -> int | None:
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.keys)}
        return self._index.get(key)

    def selected_key(self) -> str | None:
        if 0 <= self.cursor_row < len(self.keys):
            return self.keys[self.cursor_row]
        return None

    def get_cell(self, key: str, column: str) -> SortText:
        i = next(i for i, c in enumerate(self.columns) if c.key == column)
        return self.cells_of(key)[i]

    def visible_keys(self) -> list[str]:
        top = round(self.scroll_y)
        return self.keys[top : top + max(0, self.size.height - 1)]

    # ---- cursor -------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        if not self.keys:
            return
        row = max(0, min(row, len(self.keys) - 1))
        if row != self.cursor_row:
            self.cursor_row = row
            self.refresh()
            self.post_message(self.CursorMoved(self))
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        body = max(1, self.size.height - 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, force=True)
        elif self.cursor_row >= top + body:
            self.scroll_to(y=self.cursor_row - body + 1, animate=False, force=True)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + max(1, self.size.height - 2))

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.keys) - 1)

    def action_select(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.keys):
            self.move_cursor(row)

    # ---- drawing ------------------------------------------------------------------------

    def _total_width(self) -> int:
        return sum(self.widths[i] + 2 for i in self.shown_columns()) + 1

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        shown = self.shown_columns()
        if y == 0:
            segs = [Segment(" ")]
            for i in shown:
                c, w = self.columns[i], self.widths[i]
                segs.append(Segment(_fit(c.label, w, "right" if c.numeric else None) + "  "))
            strip = Strip(segs).apply_style(base + Style(bold=True, underline=True))
            return strip.crop_extend(scroll_x, scroll_x + width, base)
        row = scroll_y + y - 1
        if row >= len(self.keys):
            return Strip.blank(width, base)
        key = self.keys[row]
        cells = self.cells_of(key)
        self.rendered_rows += 1
        grow = False
        segs = [Segment(" ", base)]
        for i in shown:
            if i >= len(cells):
                break
            cell = cells[i]
            text = cell.plain
            n = cell_len(text)
            if n > self.widths[i] and n <= 60:
                self.widths[i] = n
                grow = True
            segs.append(Segment(_fit(text, self.widths[i], cell.justify), base + _style(str(cell.style))))
            segs.append(Segment("  ", base))
        if grow:
            self.virtual_size = Size(self._total_width(), len(self.keys) + 1)
            self.refresh()
        strip = Strip(segs)
        if row == self.cursor_row:
            strip = Strip([Segment(t, (s or Style()) + _CURSOR_FOCUS if self.has_focus else (s or Style()) + _CURSOR)
                           for t, s, _ in segs])
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
