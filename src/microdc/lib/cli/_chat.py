"""``microdc chat``: a conversation in the terminal, replies streamed as they are written.

::

    microdc chat --model echo-1 --system "Be brief." --max-cost 0.50
    > What is MicroDC?
    echo: What is MicroDC?
    > /cost

Each line is one message (``client.jobs.conversation(...).stream(line)``); lines
starting with ``/`` are commands: ``/clear`` (forget the history, keep the system
message), ``/cost`` (what the conversation has spent), ``/model NAME`` (switch models,
keeping the history), ``/help``, ``/exit``.

When stdin is a terminal it prompts, and a failed turn (budget, failed job, API
error) is reported and the chat goes on; Ctrl-C during a reply stops it (its job is
cancelled on the server), at the prompt it quits. When stdin is not a terminal it
reads the messages from it without prompting, so it scripts::

    printf 'hello\\n/cost\\n' | microdc chat --model echo-1

and the first failure ends it with the usual exit status. Replies go to stdout,
everything else to stderr.
"""

from __future__ import annotations

import sys
import asyncio
from typing import TYPE_CHECKING, TextIO, Optional

import click

from ._common import settings as get_settings, describe_error
from ..._exceptions import MicroDCError
from ..jobs._errors import BudgetExceededError

if TYPE_CHECKING:
    from ..jobs import Conversation

__all__ = ["chat"]

HELP = """Commands:
  /clear        forget the history (the system message stays)
  /cost         what this conversation has spent
  /model NAME   switch to another model (the history stays)
  /help         this list
  /exit         quit (Ctrl-D too)"""


class _ChatFailed(click.ClickException):
    """A turn failed in a scripted chat: one line on stderr, exit status 1."""


class _Session:
    """Reads lines, runs turns on one event loop (``asyncio.Runner``), prints replies as they stream."""

    def __init__(self, runner: asyncio.Runner, conversation: Conversation, *, interactive: bool, stdin: TextIO) -> None:
        self.runner = runner
        self.conversation = conversation
        self.interactive = interactive
        self.stdin = stdin

    def read(self) -> Optional[str]:
        """The next line without its newline; ``None`` at the end of input."""
        if self.interactive:
            try:
                return input("> ")
            except EOFError:
                click.echo(err=True)
                return None
        line = self.stdin.readline()
        return line.rstrip("\r\n") if line else None

    def run(self) -> None:
        if self.interactive:
            click.echo(
                f"Chatting with {self.conversation.model}. /help lists the commands; Ctrl-D quits.",
                err=True,
            )
        while True:
            line = self.read()
            if line is None:
                return
            text = line.strip()
            if not text:
                continue
            if text.startswith("/"):
                if not self.command(text):
                    return
                continue
            self.turn(line)

    def command(self, text: str) -> bool:
        """Run a ``/command``; False when the chat should end."""
        name, _, argument = text.partition(" ")
        argument = argument.strip()
        if name in ("/exit", "/quit"):
            return False
        if name == "/help":
            click.echo(HELP, err=True)
        elif name == "/clear":
            self.conversation.clear()
            click.echo("History cleared.", err=True)
        elif name == "/cost":
            click.echo(self.cost())
        elif name == "/model" and argument:
            self.conversation.model = argument
            click.echo(f"Model: {argument} (checked with the next message).", err=True)
        elif name == "/model":
            self.fail(click.UsageError(f"/model needs a model id, e.g. /model {self.conversation.model}"))
        else:
            self.fail(click.UsageError(f"Unknown command {name}; /help lists the commands."))
        return True

    def cost(self) -> str:
        from ..progress import format_usd

        chat = self.conversation
        usage = chat.usage
        line = (
            f"{format_usd(chat.cost_usd)} spent ({usage.input_tokens} tokens in, {usage.output_tokens} out, "
            f"{len(chat.messages)} messages in the history)"
        )
        if chat.max_cost_usd is not None:
            line += f" of a {format_usd(chat.max_cost_usd)} budget"
        return line

    def turn(self, text: str) -> None:
        started = False

        async def stream() -> None:
            nonlocal started
            async for delta in self.conversation.stream(text):
                started = True
                click.echo(delta, nl=False)

        try:
            self.runner.run(stream())
        except KeyboardInterrupt:
            if not self.interactive:
                raise
            click.echo("\n(stopped; the job was cancelled)" if started else "(stopped)", err=True)
            return
        except (MicroDCError, ValueError) as exc:
            if started:
                click.echo()
            message = describe_error(exc)
            if isinstance(exc, BudgetExceededError):
                message += " (Here: a larger --max-cost, a smaller --max-tokens, or /clear for a shorter history.)"
            self.fail(_ChatFailed(message))
            return
        click.echo()

    def fail(self, error: click.ClickException) -> None:
        """Say what went wrong; a scripted chat ends here (with the error's exit status)."""
        if not self.interactive:
            raise error
        click.echo(f"Error: {error.format_message()}", err=True)


@click.command()
@click.option("--model", "-m", envvar="MICRODC_MODEL", show_envvar=True, required=True, help="The model to chat with.")
@click.option("--system", help="A system message that opens the conversation (/clear keeps it).")
@click.option(
    "--max-cost",
    type=click.FloatRange(min=0),
    help="Budget in US dollars for the whole chat: a message that could pass it is not sent.",
)
@click.option("--max-tokens", type=click.IntRange(min=1), help="Most tokens per reply (default: the model's limit).")
@click.option(
    "--temperature", type=click.FloatRange(0, 2), default=0.7, show_default=True, help="Sampling temperature."
)
@click.pass_context
def chat(
    ctx: click.Context,
    model: str,
    system: Optional[str],
    max_cost: Optional[float],
    max_tokens: Optional[int],
    temperature: float,
) -> None:
    """Chat with a model: replies stream as they are written; reads stdin when it is not a terminal."""
    current = get_settings(ctx)
    client = current.client()
    stdin = sys.stdin
    with asyncio.Runner() as runner:
        try:
            conversation = client.jobs.conversation(
                model, system=system, temperature=temperature, max_tokens=max_tokens, max_cost_usd=max_cost
            )
            _Session(runner, conversation, interactive=stdin.isatty() and sys.stdout.isatty(), stdin=stdin).run()
        finally:
            runner.run(client.close())
