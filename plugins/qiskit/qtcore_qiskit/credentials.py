"""IBM Quantum credentials: whether they exist, read the way Qiskit reads them, never shown.

``QiskitRuntimeService`` looks for a token in ``QISKIT_IBM_TOKEN`` first and then in the
accounts saved by ``QiskitRuntimeService.save_account`` in ``~/.qiskit/qiskit-ibm.json``.
:func:`ibm_credentials_problem` applies the same rules to decide whether ``qiskit.ibm`` can
be offered, without importing ``qiskit_ibm_runtime`` and without returning, printing or
logging the token; :func:`redact` scrubs known tokens from any text we surface.

Example:
    >>> from qtcore_qiskit.credentials import ibm_credentials_problem
    >>> ibm_credentials_problem(environ={}, config_path="/nonexistent/qiskit-ibm.json")[:25]
    'no IBM Quantum credential'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["TOKEN_ENV", "default_config_path", "ibm_credentials_problem", "known_tokens", "redact"]

TOKEN_ENV = "QISKIT_IBM_TOKEN"


def default_config_path() -> Path:
    """Where ``QiskitRuntimeService.save_account`` stores accounts: ``~/.qiskit/qiskit-ibm.json``.

    Example:
        >>> from qtcore_qiskit.credentials import default_config_path
        >>> default_config_path().name
        'qiskit-ibm.json'
    """
    return Path(os.path.expanduser("~")) / ".qiskit" / "qiskit-ibm.json"


def _saved_tokens(config_path: str | os.PathLike[str] | None) -> tuple[list[str], str | None]:
    path = Path(config_path) if config_path is not None else default_config_path()
    if not path.is_file():
        return [], f"{path} does not exist"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        # Only the exception type: a parser's message could quote the file's content.
        return [], f"{path} could not be read ({type(exc).__name__})"
    if not isinstance(data, dict):
        return [], f"{path} is not a JSON object of saved accounts"
    tokens = [
        account["token"]
        for account in data.values()
        if isinstance(account, dict) and isinstance(account.get("token"), str) and account["token"]
    ]
    return tokens, None if tokens else f"{path} holds no account with a token"


def known_tokens(
    environ: Mapping[str, str] | None = None,
    config_path: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Every token this process could use (environment and saved accounts), for redaction.

    Example:
        >>> from qtcore_qiskit.credentials import known_tokens
        >>> known_tokens(environ={"QISKIT_IBM_TOKEN": "abc"}, config_path="/nonexistent")
        ['abc']
    """
    env = os.environ if environ is None else environ
    tokens = [env[TOKEN_ENV]] if env.get(TOKEN_ENV) else []
    return tokens + _saved_tokens(config_path)[0]


def ibm_credentials_problem(
    environ: Mapping[str, str] | None = None,
    config_path: str | os.PathLike[str] | None = None,
) -> str | None:
    """Why ``qiskit.ibm`` cannot run here, or ``None`` when a token is available.

    Cheap and never raises: it is the ``availability`` check of the ``qiskit.ibm`` entry.

    Args:
        environ: the environment to read (default ``os.environ``).
        config_path: the saved-accounts file (default :func:`default_config_path`).

    Example:
        >>> from qtcore_qiskit.credentials import ibm_credentials_problem
        >>> ibm_credentials_problem(environ={"QISKIT_IBM_TOKEN": "secret"}) is None
        True
    """
    env = os.environ if environ is None else environ
    if env.get(TOKEN_ENV):
        return None
    tokens, why = _saved_tokens(config_path)
    if tokens:
        return None
    return (
        f"no IBM Quantum credentials: {TOKEN_ENV} is not set and {why}; run "
        "QiskitRuntimeService.save_account(token=..., instance=...) once, or set "
        f"{TOKEN_ENV}"
    )


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``'***'``.

    Example:
        >>> from qtcore_qiskit.credentials import redact
        >>> redact("bad token abc123 for abc123", ["abc123"])
        'bad token *** for ***'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
