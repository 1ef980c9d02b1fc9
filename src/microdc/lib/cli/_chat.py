"""``microdc chat``: a conversation in the terminal, replies streamed as they are written.

::

    microdc chat --model echo-1 --system "Be brief." --max-cost 0.50
    > What is MicroDC?
    echo: What is MicroDC?
    > /cost

Each line is one message (``client.jobs.conversation(...).stream(line)``); lines
starting with ``/`` are commands: ``/clear`` (forget the history, keep the system
message), ``/cost`` (what the conversation has spent), ``/model NAME`` (switch models,
keeping the history; a model that does not serve chat is refused then and there),
``/help``, ``/exit``.

When stdin is a terminal it prompts, with line editing and history (the arrow
keys, Ctrl-R, Tab for the ``/`` commands) where the platform has ``readline``; a
failed turn (budget, failed job, API error) is reported and the chat goes on;
Ctrl-C during a reply stops it (its job is cancelled on the server), at the
prompt it quits. When stdin is not a terminal it reads the messages from it
without prompting, so it scripts::

    printf 'hello\\n/cost\\n' | microdc chat --model echo-1

and the first failure ends it with the usual exit status. Replies go to stdout,
everything else to stderr.
"""

from __future__ import annotations

import sys
import asyncio
from typing import TYPE_CHECKING, TextIO, Optional

import click

from ._help import documented
from ._common import CommandError, settings as get_settings, describe_error
from ..._exceptions import MicroDCError, NotFoundError
from ..jobs._errors import BudgetExceededError

if TYPE_CHECKING:
    from ..jobs import Conversation
    from ..._client import AsyncMicroDC

__all__ = ["chat"]

CHAT_JOB_TYPE = "llm_chat"

COMMANDS = ("/clear", "/cost", "/model ", "/help", "/exit")

HELP = """Commands:
  /clear        forget the history (the system message stays)
  /cost         what this conversation has spent
  /model NAME   switch to another model (the history stays)
  /help         this list
  /exit         quit (Ctrl-D too)"""


class _ChatFailed(click.ClickException):
    """A turn failed in a scripted chat: one line on stderr, exit status 1."""


def enable_line_editing() -> None:
    """Editing, history and Tab completion of the ``/`` commands for ``input()``, where ``readline`` exists.

    The stdlib's ``readline`` (GNU readline or libedit) is there on Linux and macOS;
    on Windows the plain prompt stays. The history lives as long as the chat:
    messages may hold what should not be kept in a file.
    """
    try:
        import readline
    except ImportError:  # Windows, or a Python built without it
        return

    def complete(text: str, state: int) -> Optional[str]:
        matches = [command for command in COMMANDS if command.startswith(text)]
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.set_completer_delims(" \t\n")  # "/" starts a command: it is part of the word
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")


async def check_model(client: AsyncMicroDC, model: str) -> None:
    """Refuse, in the command line's terms, a model that is not there or does not serve chat."""
    try:
        found = await client.models.retrieve(model)
    except NotFoundError as exc:
        raise CommandError(f"{describe_error(exc)} ('microdc models list' shows the models.)") from None
    if CHAT_JOB_TYPE not in found.job_types:
        serves = ", ".join(str(job_type) for job_type in found.job_types) or "nothing"
        raise click.UsageError(
            f"Model {model!r} does not serve {CHAT_JOB_TYPE} jobs (it serves: {serves}); "
            "'microdc models list' shows which models do."
        )


def budget_message(exc: BudgetExceededError) -> str:
    """A refused turn, in terms of this command's options."""
    from ..progress import format_usd

    worst, limit = format_usd(exc.estimate.worst_case_usd), format_usd(exc.limit_usd)
    if exc.spent_usd:
        said = f"{format_usd(exc.spent_usd)} spent plus up to {worst} for this message could pass"
    else:
        said = f"this message could cost up to {worst}, more than"
    return (
        f"Not sent: {said} the --max-cost budget of {limit}. "
        "Raise --max-cost, lower --max-tokens, or /clear the history for a shorter input."
    )


class _Session:
    """Reads lines, runs turns on one event loop (``asyncio.Runner``), prints replies as they stream."""

    def __init__(
        self,
        runner: asyncio.Runner,
        client: AsyncMicroDC,
        conversation: Conversation,
        *,
        interactive: bool,
        stdin: TextIO,
    ) -> None:
        self.runner = runner
        self.client = client
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
            try:
                self.runner.run(check_model(self.client, argument))
            except (click.ClickException, MicroDCError) as exc:
                self.fail(exc if isinstance(exc, click.ClickException) else _ChatFailed(describe_error(exc)))
                return True
            self.conversation.model = argument
            click.echo(f"Model: {argument}.", err=True)
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
            self.fail(_ChatFailed(budget_message(exc) if isinstance(exc, BudgetExceededError) else describe_error(exc)))
            return
        click.echo()

    def fail(self, error: click.ClickException) -> None:
        """Say what went wrong; a scripted chat ends here (with the error's exit status)."""
        if not self.interactive:
            raise error
        click.echo(f"Error: {error.format_message()}", err=True)


@documented(
    "microdc chat --model echo-1 --system 'Be brief.' --max-cost 0.50",
    "printf 'hello\\n/cost\\n' | microdc chat --model echo-1",
    done="the chat ended (/exit, Ctrl-D, or the end of the input)",
    failed="a turn failed in a scripted chat (budget, failed job, API error), or the model is not there",
)
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
    interactive = stdin.isatty() and sys.stdout.isatty()
    with asyncio.Runner() as runner:
        try:
            runner.run(check_model(client, model))
            conversation = client.jobs.conversation(
                model, system=system, temperature=temperature, max_tokens=max_tokens, max_cost_usd=max_cost
            )
            if interactive:
                enable_line_editing()
            _Session(runner, client, conversation, interactive=interactive, stdin=stdin).run()
        finally:
            runner.run(client.close())
