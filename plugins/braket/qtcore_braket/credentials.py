"""AWS credentials for ``braket.aws``: whether boto3 would find some, without showing them.

:func:`aws_credentials_problem` asks botocore's own credential chain (the one boto3 and
``AwsDevice`` use) whether it resolves credentials, with the providers that would reach the
network or start a process left out, so the check stays cheap and offline: the environment
(``AWS_ACCESS_KEY_ID``…), ``~/.aws/credentials`` and ``~/.aws/config`` profiles, SSO and
assumed-role profiles (their tokens are fetched lazily, not here). Instance and container
roles (EC2 metadata, ECS) and ``credential_process`` are not probed: on such hosts name a
profile that uses them (``AWS_PROFILE``) so that the profile is found. Nothing here returns,
prints or logs a key; :func:`redact` scrubs known secrets from text we surface.

Example:
    >>> from qtcore_braket.credentials import aws_credentials_problem
    >>> aws_credentials_problem(environ={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    ...                                  "AWS_SECRET_ACCESS_KEY": "secret"}) is None
    True
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["OFFLINE_PROVIDERS", "aws_credentials_problem", "known_secrets", "redact"]

#: botocore credential providers consulted (the others need the network or a subprocess).
OFFLINE_PROVIDERS = (
    "env",
    "assume-role",
    "assume-role-with-web-identity",
    "sso",
    "shared-credentials-file",
    "config-file",
    "ec2-credentials-file",
    "boto-config",
)

_ENV_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _resolve(environ: Mapping[str, str] | None) -> tuple[Any, str | None]:
    """(credentials or None, why not) from botocore's chain restricted to offline providers."""
    import botocore.session

    session = botocore.session.Session()
    if environ is not None:
        # The variables by which the environment steers botocore's files and profile.
        for var, env_name, default in (
            ("credentials_file", "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
            ("config_file", "AWS_CONFIG_FILE", "~/.aws/config"),
            ("profile", "AWS_PROFILE", None),
        ):
            session.set_config_variable(var, environ.get(env_name, default))
    resolver = session.get_component("credential_provider")
    if environ is not None:
        resolver.get_provider("env").environ = environ
    for provider in list(resolver.providers):
        if provider.METHOD not in OFFLINE_PROVIDERS:
            resolver.remove(provider.METHOD)
    try:
        credentials = resolver.load_credentials()
    except Exception as exc:  # a malformed profile: say which kind of error, never its text
        return None, f"the AWS configuration could not be read ({type(exc).__name__})"
    if credentials is None:
        return None, None
    return credentials, None


def aws_credentials_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """Why ``braket.aws`` cannot run here, or ``None`` when AWS credentials are configured.

    Cheap, offline and never raises: it is the ``availability`` check of ``braket.aws``.

    Args:
        environ: the environment to read (default ``os.environ``).

    Example:
        >>> import os, tempfile
        >>> from qtcore_braket.credentials import aws_credentials_problem
        >>> empty = tempfile.mkdtemp()
        >>> env = {"AWS_SHARED_CREDENTIALS_FILE": os.path.join(empty, "c"),
        ...        "AWS_CONFIG_FILE": os.path.join(empty, "f")}
        >>> aws_credentials_problem(environ=env)[:23]
        'no AWS credentials were'
    """
    try:
        import botocore  # noqa: F401
    except ImportError:
        return "botocore is not installed: pip install qtcore-braket (it depends on boto3)"
    try:
        credentials, why = _resolve(environ)
    except Exception as exc:
        return f"the AWS credential check failed ({type(exc).__name__})"
    if credentials is not None:
        return None
    return why or (
        "no AWS credentials were found (environment variables AWS_ACCESS_KEY_ID / "
        "AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials or ~/.aws/config); run "
        "`aws configure` or set AWS_PROFILE, then Braket devices can be used as "
        "'braket.aws:<device ARN>'"
    )


def known_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """The AWS secrets this process could use (environment and resolved keys), for redaction.

    Example:
        >>> from qtcore_braket.credentials import known_secrets
        >>> known_secrets(environ={"AWS_SECRET_ACCESS_KEY": "s3cr3t"})[0]
        's3cr3t'
    """
    env = os.environ if environ is None else environ
    secrets = [env[k] for k in _ENV_SECRETS if env.get(k)]
    with contextlib.suppress(Exception):  # redaction must never be the thing that fails
        credentials, _ = _resolve(environ)
        if credentials is not None and not hasattr(credentials, "_refresh_using"):
            frozen = credentials.get_frozen_credentials()
            secrets += [s for s in (frozen.access_key, frozen.secret_key, frozen.token) if s]
    return secrets


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``'***'``.

    Example:
        >>> from qtcore_braket.credentials import redact
        >>> redact("bad key AKIA123 (AKIA123)", ["AKIA123"])
        'bad key *** (***)'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
