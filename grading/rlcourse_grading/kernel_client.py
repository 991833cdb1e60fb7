"""Starting the sandboxed kernel and talking to it: jupyter_client's manager, nbclient's client.

The manager starts the sandbox's command (not ``python -m ipykernel``) and interrupts by message;
the client caps each cell's output by its serialized size and stays quiet when its kernel dies.
"""

from __future__ import annotations

import json

import nbformat

OUTPUT_CAP_CHARS = 50_000  # per cell, while it runs; nbgrader's LimitOutput trims lines after


def output_size(content: dict) -> int:
    """An output message's size in characters, each MIME value serialized (an
    ``application/json`` value is a dict, and counts by its JSON text)."""
    data = content.get("data", {})
    values = data.values() if isinstance(data, dict) else [data]
    return len(str(content.get("text", ""))) + sum(
        len(v) if isinstance(v, str) else len(json.dumps(v, default=str)) for v in values)


def _kernel_manager_class():
    from jupyter_client.manager import AsyncKernelManager

    class SandboxedKernelManager(AsyncKernelManager):
        """Starts ``command`` (the sandboxed kernel) and interrupts it by message: a signal to
        the sandbox's outer process would stop bubblewrap, not the kernel inside."""

        command: tuple[str, ...] = ()

        def format_kernel_cmd(self, extra_arguments=None):
            return [a.replace("{connection_file}", self.connection_file) for a in self.command]

        async def interrupt_kernel(self) -> None:
            if self.has_kernel:
                msg = self.session.msg("interrupt_request", content={})
                self._connect_control_socket()
                self.session.send(self._control_socket, msg)

    return SandboxedKernelManager


def _client_class():
    from nbclient import NotebookClient

    class _Client(NotebookClient):
        """nbclient that caps each cell's output and stays quiet when its kernel is killed."""

        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] in ("stream", "display_data", "execute_result"):
                size = output_size(msg["content"])
                used = self._used.get(cell_index, 0)
                self._used[cell_index] = used + size
                if used + size > OUTPUT_CAP_CHARS:
                    if used <= OUTPUT_CAP_CHARS:
                        outs.append(nbformat.v4.new_output(
                            "stream", name="stdout",
                            text=f"\n[rlcourse grade: output beyond {OUTPUT_CAP_CHARS} "
                                 "characters dropped]\n"))
                    return None
            return super().output(outs, msg, display_id, cell_index)

        async def _async_poll_kernel_alive(self):
            try:
                await super()._async_poll_kernel_alive()
            except (AssertionError, AttributeError, RuntimeError):
                return  # the kernel was killed and its client removed

    return _Client


async def _shutdown(client, km) -> None:
    try:
        if await km.is_alive():
            await km.shutdown_kernel(now=True)
    except Exception:
        pass
    try:
        if client.kc is not None:
            client.kc.stop_channels()
        await km.cleanup_resources()
    except Exception:
        pass
