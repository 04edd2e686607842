"""Modal screens of the monitor (y/n confirmation, server action menu) and the help panel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

__all__ = ["ConfirmScreen", "ActionMenu", "HelpPanel", "SERVER_ACTIONS", "help_text"]


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; anything but ``y`` means no (the default)."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: heavy $warning; background: $surface; padding: 1 2;
    }
    ConfirmScreen Static { width: 100%; height: auto; }
    ConfirmScreen #choices { margin-top: 1; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n", "answer(False)", "no"),
        Binding("escape", "answer(False)", "no"),
        Binding("enter", "answer(False)", "no", show=False),
        Binding("q", "answer(False)", "no", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question", markup=False)
            yield Static("[b]y[/b] yes    [b]n[/b] / Enter / Esc  no (default)", id="choices")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


# (id, label) of the server action menu opened by Enter.
SERVER_ACTIONS: tuple[tuple[str, str], ...] = (
    ("ready", "Set state READY"),
    ("drain", "Set state DRAIN (no new sessions)"),
    ("maint", "Set state MAINT (maintenance)"),
    ("weight", "Set weight... (absolute or %)"),
    ("weight_up", "Weight +10"),
    ("weight_down", "Weight -10"),
    ("weight_reset", "Restore configured weight (100%)"),
    ("enable_health", "Enable health checks"),
    ("disable_health", "Disable health checks"),
    ("shutdown", "Shutdown sessions on this server"),
    ("cancel", "Cancel"),
)


class ActionMenu(ModalScreen[str]):
    """List of actions for one server; dismisses with the chosen action id (or ``cancel``)."""

    DEFAULT_CSS = """
    ActionMenu { align: center middle; }
    ActionMenu > Vertical {
        width: 50; height: auto; border: heavy $accent; background: $surface; padding: 0 1;
    }
    ActionMenu OptionList { height: auto; max-height: 16; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("q", "cancel", "cancel", show=False),
    ]

    def __init__(self, target: str, read_only: bool = False) -> None:
        super().__init__()
        self.target = target
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Server [b]{self.target}[/b]" + ("  (read-only)" if self.read_only else ""))
            yield OptionList(
                *[
                    Option(label, id=aid, disabled=self.read_only and aid != "cancel")
                    for aid, label in SERVER_ACTIONS
                ],
                id="actions",
            )

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ol.focus()
        ol.highlighted = len(SERVER_ACTIONS) - 1 if self.read_only else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "cancel")

    def action_cancel(self) -> None:
        self.dismiss("cancel")


def help_text(keys: list[tuple[str, str]], note: str = "") -> str:
    """The help's text (Rich markup), generated from the app's key table."""
    lines = ["[b]haproxy-py top: keys[/b]", ""]
    for k, desc in keys:
        k_esc = k.replace("[", "\\[")
        lines.append(f"  [b]{k_esc:<18}[/b] {desc}")
    if note:
        lines += ["", note]
    lines += ["", "Esc, q or ? closes this help."]
    return "\n".join(lines)


class HelpPanel(VerticalScroll):
    """The help, built once with the app and shown over the tables on a layer of its own: opening
    it repaints only its own box (a pushed screen repainted the whole terminal, ~50 ms through
    tmux against ~20 ms for a key that changes one line). While it is shown the app refuses every
    other action (TopApp.check_action), so it is as modal as a screen."""

    DEFAULT_CSS = """
    HelpPanel {
        layer: help; dock: top; display: none;
        width: 76; height: auto; max-height: 90%; border: heavy $primary;
        background: $surface; padding: 0 1;
    }
    HelpPanel.-open { display: block; }
    """
    BINDINGS = [
        Binding("escape", "close", "close", show=False),
        Binding("question_mark", "close", "close", show=False),
        Binding("q", "close", "close", show=False),
        Binding("enter", "close", "close", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__(id="help")
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(self.text, id="help-text")

    def set_text(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.query_one("#help-text", Static).update(text)

    def action_close(self) -> None:
        app = self.app
        close = getattr(app, "close_help", None)
        if close is not None:
            close()
